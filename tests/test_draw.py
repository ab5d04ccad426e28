"""Pictures of annotations (``Dataset.draw``, ``coco_convert.visual.render``), checked pixel by
pixel: masks paint exactly pycocotools' ``annToMask`` pixels, nothing far from an annotation
changes, keypoints sit on their coordinates, EXIF orientation is applied."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import coco_convert
from coco_convert import geometry
from coco_convert.dataset import CocoDataset
from coco_convert.errors import UsageError
from coco_convert.parallel import map_tasks
from coco_convert.visual import DrawWarning
from coco_convert.visual.render import BLANK, paint, render
from coco_convert.visual.scene import (
    COMPARE_COLOURS,
    DrawOptions,
    Layer,
    RenderJob,
    category_colour,
    keypoint_radius,
    label_position,
)

from .conftest import FIXTURES, REALDATA

COCO = FIXTURES / "coco"
#: A canvas colour that no category colour comes near (they are saturated and bright).
GREY = (90, 90, 90)
MASKS_ONLY = DrawOptions(labels=False, boxes=False)


def canvas(size: tuple[int, int], colour: tuple[int, int, int] = GREY) -> Image.Image:
    return Image.new("RGB", size, colour)


def changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    """Pixels that differ in any channel."""
    return np.any(np.asarray(before) != np.asarray(after)[: before.height, : before.width], axis=2)


def one(dataset: CocoDataset[Any, Any], ann: Any, options: DrawOptions = MASKS_ONLY) -> RenderJob:
    """The job of drawing a single annotation of ``dataset`` on its image."""
    image = dataset.index.imgs[ann["image_id"]]
    layer = Layer(dataset.kind, [ann], dataset.index.cats)
    return RenderJob(image=image, path=None, layers=(layer,), options=options)


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


# --- masks -------------------------------------------------------------------------------------


MASK_FILES = [
    COCO / "instances.json",  # polygons, a two-part polygon, a crowd in uncompressed RLE
    COCO / "stuff.json",  # compressed RLE
    REALDATA / "coco_panoptic/panopticapi-panoptic_coco_detection_format.json",  # RLE
    REALDATA / "coco_labelme/labelme2coco-annotations.json",  # multi-part polygons
    REALDATA / "coco_keypoints/datumaro-person_keypoints_val.json",  # tiny image, list RLE
]


@pytest.mark.parametrize("path", MASK_FILES, ids=lambda p: p.name)
def test_painted_pixels_are_annToMask(path: Path) -> None:
    """Drawn alone, each annotation changes exactly the pixels of pycocotools' annToMask:
    holes stay open, nothing spills over the edge (crowd hatching included)."""
    dataset = coco_convert.load(path)
    assert isinstance(dataset, CocoDataset)
    coco = coco_convert.to_pycocotools(dataset)
    checked = 0
    for ann in dataset.annotations:
        if not ann.get("segmentation"):
            continue
        image = dataset.index.imgs[ann["image_id"]]
        blank = canvas((image["width"], image["height"]))
        mask_only = {key: value for key, value in ann.items() if key != "keypoints"}
        picture, notes = paint(one(dataset, mask_only), blank)
        assert notes == []
        assert picture is not None
        expected = coco.annToMask(ann).astype(bool)
        assert np.array_equal(changed(blank, picture), expected), ann["id"]
        checked += 1
    assert checked


def test_mask_holes_stay_open() -> None:
    """A ring-shaped RLE: the hole's pixels are not painted."""
    mask = np.zeros((40, 50), dtype=np.uint8)
    mask[5:35, 5:45] = 1
    mask[15:25, 15:35] = 0
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": geometry.mask_to_rle(mask)}
    dataset = coco_convert.from_document(
        {
            "images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40}],
            "annotations": [ann],
            "categories": [{"id": 1, "name": "ring"}],
        }
    )
    blank = canvas((50, 40))
    with pytest.warns(DrawWarning, match="blank canvas"):
        dataset.draw(1)
    picture, _ = paint(one(dataset, ann), blank)
    assert picture is not None
    painted = changed(blank, picture)
    assert np.array_equal(painted, mask.astype(bool))
    assert not painted[15:25, 15:35].any()


def test_crowd_regions_are_hatched() -> None:
    """A crowd region's pixels alternate between a strong and a light tint (stripes), and
    every one of them is painted."""
    dataset = coco_convert.load(COCO / "instances.json")
    crowd = next(a for a in dataset.annotations if a.get("iscrowd"))
    image = dataset.index.imgs[crowd["image_id"]]
    blank = canvas((image["width"], image["height"]))
    picture, _ = paint(one(dataset, crowd), blank)
    assert picture is not None
    mask = coco_convert.to_pycocotools(dataset).annToMask(crowd).astype(bool)
    inner = mask & np.roll(mask, 3, 0) & np.roll(mask, -3, 0) & np.roll(mask, 3, 1)
    colours = {tuple(p) for p in np.asarray(picture)[inner & np.roll(inner, -3, 1)]}
    assert len(colours) == 2  # stripes and the tint between them
    plain = paint(one(dataset, {**crowd, "iscrowd": 0}), blank)[0]
    assert plain is not None
    assert len({tuple(p) for p in np.asarray(plain)[inner & np.roll(inner, -3, 1)]}) == 1


def test_alpha_sets_the_fill() -> None:
    """``alpha``: 0 leaves a mask's inside untouched (outline only), 1 paints it solid."""
    dataset = coco_convert.load(COCO / "instances.json")
    ann = next(a for a in dataset.annotations if a["id"] == 1044545)  # a large banana
    image = dataset.index.imgs[ann["image_id"]]
    blank = canvas((image["width"], image["height"]))
    mask = coco_convert.to_pycocotools(dataset).annToMask(ann).astype(bool)
    inside = mask.copy()
    for axis in (0, 1):
        for shift in (-3, 3):
            inside &= np.roll(mask, shift, axis)
    colour = category_colour(ann["category_id"])
    clear = paint(one(dataset, ann, DrawOptions(labels=False, boxes=False, alpha=0.0)), blank)[0]
    solid = paint(one(dataset, ann, DrawOptions(labels=False, boxes=False, alpha=1.0)), blank)[0]
    assert clear is not None
    assert solid is not None
    assert not changed(blank, clear)[inside].any()
    assert changed(blank, clear)[mask & ~inside].any()  # the outline
    assert (np.asarray(solid)[mask] == colour).all()


def test_pixels_far_from_every_annotation_are_untouched() -> None:
    """Everything drawn (masks, boxes, keypoints, labels) stays near its annotation: pixels
    outside every box grown by the keypoint radius, and off the labels, keep their value."""
    dataset = coco_convert.load(COCO / "person_keypoints.json")
    image = dataset.images[0]
    size = (image["width"], image["height"])
    photo = noise(size)
    options = DrawOptions(labels=False)
    layer = Layer(dataset.kind, dataset.annotations, dataset.index.cats)
    picture, _ = paint(RenderJob(image, None, (layer,), options), photo)
    assert picture is not None
    near = np.zeros((size[1], size[0]), dtype=bool)
    margin = keypoint_radius(2) + 2
    for ann in dataset.annotations:
        xs = [ann["bbox"][0], ann["bbox"][0] + ann["bbox"][2]]
        ys = [ann["bbox"][1], ann["bbox"][1] + ann["bbox"][3]]
        kps = ann.get("keypoints", [])
        xs += [kps[i] for i in range(0, len(kps), 3) if kps[i + 2] > 0]
        ys += [kps[i + 1] for i in range(0, len(kps), 3) if kps[i + 2] > 0]
        x0, x1 = int(min(xs)) - margin, int(max(xs)) + margin + 1
        y0, y1 = int(min(ys)) - margin, int(max(ys)) + margin + 1
        near[max(y0, 0) : y1, max(x0, 0) : x1] = True
    moved = changed(photo, picture)
    assert moved.any()
    assert not moved[~near].any()
    assert (~near).sum() > 0.2 * near.size  # the check covers a good part of the picture


# --- boxes, keypoints, labels ------------------------------------------------------------------


def test_boxes_are_drawn_on_their_border_pixels() -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 60, "height": 40}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 3, "bbox": [10, 5, 30, 20]}],
        "categories": [{"id": 3, "name": "car"}],
    }
    dataset = coco_convert.from_document(doc)
    blank = canvas((60, 40))
    picture = paint(one(dataset, doc["annotations"][0], DrawOptions(labels=False)), blank)[0]
    assert picture is not None
    painted = changed(blank, picture)
    expected = np.zeros((40, 60), dtype=bool)
    expected[5:25, 10:40] = True
    expected[7:23, 12:38] = False  # 2 px inwards: the border is inside the box
    assert np.array_equal(painted, expected)
    assert (np.asarray(picture)[5, 10] == category_colour(3)).all()


def test_keypoints_sit_on_their_coordinates() -> None:
    """Visible keypoints (v=2) are filled discs centred on (x, y); labelled but hidden ones
    (v=1) are rings with the picture left inside; v=0 is not drawn."""
    dataset = coco_convert.load(COCO / "person_keypoints.json")
    colour = category_colour(1)
    radius = keypoint_radius(2)
    seen = {1: 0, 2: 0}
    for ann in dataset.annotations:
        kps = ann.get("keypoints") or []
        if not any(kps[2::3]):
            continue
        image = dataset.index.imgs[ann["image_id"]]
        blank = canvas((image["width"], image["height"]))
        picture, _ = paint(one(dataset, ann, DrawOptions(labels=False, boxes=False)), blank)
        assert picture is not None
        pixels = np.asarray(picture)
        points = [(kps[i], kps[i + 1], kps[i + 2]) for i in range(0, len(kps), 3)]
        for x, y, v in points:
            crowded = any(
                (x - ox) ** 2 + (y - oy) ** 2 < (2 * radius + 2) ** 2
                for ox, oy, ov in points
                if ov and (ox, oy) != (x, y)
            )
            col, row = int(x), int(y)
            if v == 0 or crowded or not (0 <= col < blank.width and 0 <= row < blank.height):
                continue
            if v == 2:
                assert (pixels[row, col] == colour).all(), (ann["id"], x, y)
            else:
                assert (pixels[row, col] == GREY).all(), (ann["id"], x, y)  # hollow
                ring = pixels[row, min(col + radius - 1, blank.width - 1)]
                assert (ring == colour).all(), (ann["id"], x, y)
            seen[v] += 1
    assert seen[1]
    assert seen[2]


def test_skeleton_edges_join_labelled_points() -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "keypoints": [10.5, 50.5, 2, 90.5, 50.5, 1, 50.5, 90.5, 0],
            }
        ],
        "categories": [
            {"id": 1, "name": "p", "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]}
        ],
    }
    dataset = coco_convert.from_document(doc)
    blank = canvas((100, 100))
    picture = paint(one(dataset, doc["annotations"][0], DrawOptions(labels=False)), blank)[0]
    assert picture is not None
    painted = changed(blank, picture)
    assert painted[50, 50]  # the edge a-b, half-way
    assert not painted[70, 50]  # no edge to c (v=0)
    assert not painted[88:93, 48:53].any()  # c is not drawn


def test_keypoint_markers_are_centred_on_the_coordinates() -> None:
    """COCO measures from the image's corner (pixel i spans [i, i+1]): a marker at x=20.5 is
    centred on pixel 20's centre, one at x=20.0 on the corner between pixels 19 and 20."""
    for x, y in ((20.5, 30.5), (20.0, 30.0), (33.25, 12.75)):
        doc = {
            "images": [{"id": 1, "file_name": "a.jpg", "width": 60, "height": 50}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [x, y, 2]}],
            "categories": [{"id": 1, "name": "p", "keypoints": ["a"], "skeleton": []}],
        }
        dataset = coco_convert.from_document(doc)
        blank = canvas((60, 50))
        picture = paint(one(dataset, doc["annotations"][0], DrawOptions(labels=False)), blank)[0]
        assert picture is not None
        rows, cols = np.nonzero(changed(blank, picture))
        assert abs(cols.mean() + 0.5 - x) <= 0.3, (x, y)
        assert abs(rows.mean() + 0.5 - y) <= 0.3, (x, y)


def test_labels_say_category_crowd_and_score() -> None:
    from coco_convert.visual.scene import marks

    cats = {1: {"id": 1, "name": "person"}}
    gt = Layer(
        "instances", [{"id": 1, "category_id": 1, "iscrowd": 1}, {"id": 2, "category_id": 9}], cats
    )
    assert [m.label for m in marks(gt)] == ["person (crowd)", "category 9"]
    results = Layer(
        "results", [{"image_id": 1, "category_id": 1, "score": 0.876, "bbox": [0, 0, 1, 1]}], cats
    )
    assert [m.label for m in marks(results)] == ["person 0.88"]


def test_labels_are_placed_inside_the_image() -> None:
    """A box touching the top edge gets its label inside the box, moved left to fit; the
    label is the category's colour."""
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 100}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [185, 0, 15, 40]}],
        "categories": [{"id": 5, "name": "airplane"}],
    }
    dataset = coco_convert.from_document(doc)
    blank = canvas((200, 100))
    picture = paint(one(dataset, doc["annotations"][0], DrawOptions(boxes=False)), blank)[0]
    assert picture is not None
    painted = changed(blank, picture)
    rows, cols = np.nonzero(painted)
    assert rows.min() == 0
    assert cols.max() == 199
    assert cols.min() < 185  # wider than the box: moved left, not cut off
    assert (np.asarray(picture)[rows.min() + 1, cols.max() - 1] == category_colour(5)).all()


@given(
    x=st.floats(-50, 250),
    y=st.floats(-50, 150),
    w=st.floats(0, 300),
    h=st.floats(0, 300),
    tw=st.floats(1, 200),
    th=st.floats(1, 100),
    where=st.sampled_from(["above", "below", "centre"]),
)
def test_labels_are_placed_inside_the_canvas(
    x: float, y: float, w: float, h: float, tw: float, th: float, where: Any
) -> None:
    left, top = label_position((x, y, w, h), (tw, th), (200, 100), where)
    assert left >= 0
    assert left + tw <= 200 or left == 0
    assert top >= 0
    assert top + th <= 100 or top == 0


def test_colours_are_stable_per_category() -> None:
    """The same category id has the same colour in every picture; panoptic categories keep
    the colour the dataset gives them."""
    assert category_colour(18) == category_colour(18)
    assert len({category_colour(i) for i in range(1, 91)}) == 90
    assert all(max(c) - min(c) > 30 for c in map(category_colour, range(200)))  # never grey
    panoptic = coco_convert.load(COCO / "panoptic.json")
    person = panoptic.index.cats[1]
    picture = panoptic.draw(panoptic.images[0]["id"], canvas((640, 427)), labels=False)
    assert tuple(person["color"]) in {tuple(p) for p in np.asarray(picture).reshape(-1, 3)}


# --- panoptic, captions, results, compare ---------------------------------------------------------


def test_panoptic_segments_come_from_the_png() -> None:
    dataset = coco_convert.load(COCO / "panoptic.json")
    ann = dataset.annotations[0]
    png = np.asarray(
        Image.open(COCO / "panoptic" / ann["file_name"]).convert("RGB"), dtype=np.int64
    )
    ids = png[..., 0] + 256 * png[..., 1] + 65536 * png[..., 2]
    image = dataset.index.imgs[ann["image_id"]]
    blank = canvas((image["width"], image["height"]))
    for segment in ann["segments_info"][:6]:
        single = {**ann, "segments_info": [segment]}
        layer = Layer(
            "panoptic",
            [single],
            dataset.index.cats,
            panoptic_png=str(COCO / "panoptic" / ann["file_name"]),
        )
        picture, notes = paint(RenderJob(image, None, (layer,), MASKS_ONLY), blank)
        assert notes == []
        assert picture is not None
        assert np.array_equal(changed(blank, picture), ids == segment["id"]), segment["id"]


def test_panoptic_without_its_png_draws_boxes_and_warns(tmp_path: Path) -> None:
    dataset = coco_convert.load(COCO / "panoptic.json")
    image_id = dataset.images[0]["id"]
    with pytest.warns(DrawWarning, match="panoptic PNGs not found"):
        picture = dataset.draw(image_id, canvas((640, 427)), panoptic_dir=tmp_path)
    assert changed(canvas((640, 427)), picture).any()


def test_captions_go_under_the_image() -> None:
    dataset = coco_convert.load(COCO / "captions.json")
    image = dataset.images[0]
    picture = dataset.draw(image["id"], canvas((image["width"], image["height"])))
    assert picture.width == image["width"]
    assert picture.height > image["height"]
    band = np.asarray(picture)[image["height"] :]
    assert (band < 60).any()
    assert (band == 255).any()
    assert not changed(canvas((image["width"], image["height"])), picture).any()


def test_caption_results_are_compared_under_the_image() -> None:
    """Generated captions ({image_id, caption} results) go in the band with the dataset's, in
    the compare set's colour."""
    dataset = coco_convert.load(COCO / "captions.json")
    image = dataset.images[0]
    generated = coco_convert.from_document([{"image_id": image["id"], "caption": "A chef."}])
    blank = canvas((image["width"], image["height"]))
    alone = dataset.draw(image["id"], blank)
    both = dataset.draw(image["id"], blank, compare=generated)
    assert both.height > alone.height  # one more line
    band = {tuple(p) for p in np.asarray(both)[image["height"] :].reshape(-1, 3)}
    assert COMPARE_COLOURS[0] in band
    assert COMPARE_COLOURS[1] in band


def test_results_are_labelled_with_their_score_over_the_dataset() -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    results = coco_convert.load(COCO / "results_bbox.json")
    blank = canvas((500, 375))
    both = dataset.draw(1153, blank, compare=results, min_score=0.5)
    pixels = np.asarray(both).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert COMPARE_COLOURS[0] in colours
    assert COMPARE_COLOURS[1] in colours
    alone = dataset.draw(1153, blank, compare=results, min_score=1.01)  # every result filtered
    assert COMPARE_COLOURS[1] not in {tuple(p) for p in np.asarray(alone).reshape(-1, 3)}


def test_results_alone_need_the_picture(tmp_path: Path) -> None:
    results = coco_convert.load(COCO / "results_segm.json")
    with pytest.raises(UsageError, match="carry no image size"):
        results.draw(1153)
    blank = canvas((500, 375))
    picture = results.draw(1153, blank, labels=False, boxes=False)
    expected = np.zeros((375, 500), dtype=bool)
    for result in results.for_image(1153):
        expected |= geometry.rle_to_mask(result["segmentation"]).astype(bool)
    assert np.array_equal(changed(blank, picture), expected)
    path = tmp_path / "blank.png"
    blank.save(path)
    assert results.draw(1153, path).size == (500, 375)


def test_a_bad_segmentation_is_left_out_with_a_warning() -> None:
    doc = json.loads((COCO / "instances.json").read_text())
    doc["annotations"][0]["segmentation"] = {"size": [10, 10], "counts": [3, 4]}
    dataset = coco_convert.from_document(doc, validate=False)
    with pytest.warns(DrawWarning, match="cannot be rasterised"):
        picture = dataset.draw(doc["annotations"][0]["image_id"], canvas((500, 375)))
    assert changed(canvas((500, 375)), picture).any()  # the others are drawn


# --- images: files, EXIF, blank canvases ---------------------------------------------------------


def test_without_the_image_a_blank_canvas_and_a_warning() -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    with pytest.warns(DrawWarning, match="not found: drawn on a blank canvas"):
        picture = dataset.draw(1176)
    assert picture.size == (426, 640)
    assert tuple(np.asarray(picture)[0, 0]) == BLANK


def test_the_image_is_found_in_a_folder_or_given(tmp_path: Path) -> None:
    dataset = coco_convert.load(REALDATA / "coco_labelme/labelme2coco-annotations.json")
    image = dataset.images[0]  # file_name "JPEGImages/....jpg"
    folder = tmp_path / "JPEGImages"
    folder.mkdir()
    photo = noise((image["width"], image["height"]))
    photo.save(folder / Path(image["file_name"]).name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DrawWarning)
        from_folder = dataset.draw(image["id"], tmp_path, labels=False)
        from_file = dataset.draw(image["id"], folder / Path(image["file_name"]).name, labels=False)
    assert np.array_equal(np.asarray(from_folder), np.asarray(from_file))
    with pytest.warns(DrawWarning, match="not found"):
        dataset.draw(image["id"], tmp_path / "nowhere")


def exif_image(path: Path, orientation: int) -> None:
    """A 60x40 stored bitmap with a red top-left corner, shown turned by its EXIF tag."""
    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Orientation 6 (turn 90 degrees clockwise to view): the upright picture is 40x60 and
    its red corner is at the top right, where annotations made on it expect it."""
    exif_image(tmp_path / "turned.jpg", 6)
    doc = {
        "images": [{"id": 1, "file_name": "turned.jpg", "width": 40, "height": 60}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [30, 0, 10, 10]}],
        "categories": [{"id": 1, "name": "corner"}],
    }
    dataset = coco_convert.from_document(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DrawWarning)
        picture = dataset.draw(1, tmp_path, labels=False, boxes=False)
    pixels = np.asarray(picture).astype(int)
    assert picture.size == (40, 60)
    assert pixels[4, 35, 0] > 200
    assert pixels[4, 35, 1] < 60
    assert pixels[4, 4, 0] < 60  # not top left


def test_a_file_of_another_size_is_drawn_with_a_warning(tmp_path: Path) -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    noise((300, 200)).save(tmp_path / "small.png")
    with pytest.warns(DrawWarning, match="not the size"):
        picture = dataset.draw(1153, tmp_path / "small.png")
    assert picture.size == (300, 200)


def test_show_displays_in_a_notebook_and_saves_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    blank = canvas((500, 375))
    saved = dataset.show(1153, blank, path=tmp_path / "a.png")
    assert saved == tmp_path / "a.png"
    assert Image.open(saved).size == (500, 375)
    default = dataset.show(1153, blank)
    assert default is not None
    assert default.is_file()
    default.unlink()

    shown: list[Any] = []

    class ZMQInteractiveShell:  # what a Jupyter kernel runs
        pass

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")
    display.display = shown.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert dataset.show(1153, blank) is None
    assert len(shown) == 1
    assert shown[0].size == (500, 375)


def test_draw_names_unknown_images_and_categories() -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    with pytest.raises(UsageError, match="no image with id 5"):
        dataset.draw(5)
    with pytest.raises(UsageError, match=r"no category named 'bananna' \(did you mean 'banana'"):
        dataset.draw(1153, cat_names="bananna")


def test_cat_names_draw_only_those_categories() -> None:
    dataset = coco_convert.load(COCO / "instances.json")
    blank = canvas((500, 375))
    picture = dataset.draw(1153, blank, cat_names=["spoon"], labels=False)
    coco = coco_convert.to_pycocotools(dataset)
    spoons = np.zeros((375, 500), dtype=bool)
    others = np.zeros((375, 500), dtype=bool)
    for ann in dataset.annotations:
        if ann["image_id"] == 1153:
            mask = coco.annToMask(ann).astype(bool)
            if ann["category_id"] == 50:
                x, y, w, h = (round(v) for v in ann["bbox"])
                spoons[y : y + h, x : x + w] = True
                spoons |= mask
            else:
                others |= mask
    painted = changed(blank, picture)
    assert painted[spoons].any()
    assert not painted[others & ~spoons].any()


# --- the render job -------------------------------------------------------------------------------


def test_render_jobs_are_picklable_and_give_the_same_bytes_in_workers() -> None:
    """The per-image unit of work is a pure function of a picklable job: the same bytes in
    this process and in spawned workers (as a Dask cluster would run it)."""
    from coco_convert.visual.plan import Plan

    dataset = coco_convert.load(COCO / "instances.json")
    plan = Plan(dataset, options=DrawOptions(format="png"))
    jobs = list(plan.jobs(dataset.get_img_ids()))
    assert pickle.loads(pickle.dumps(jobs)) == jobs
    here = [render(job).data for job in jobs]
    there = [r.data for r in map_tasks(render, copy.deepcopy(jobs), jobs=2)]
    assert here == there
    assert all(data.startswith(b"\x89PNG") for data in here)
    jpeg = render(RenderJob(jobs[0].image, None, jobs[0].layers, DrawOptions(format="jpg")))
    assert jpeg.data.startswith(b"\xff\xd8")
    assert jpeg.notes[0][0] == "image_missing"
