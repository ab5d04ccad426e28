"""The bundled COCO fixtures: each loads as its kind with coco-convert and with pycocotools,
results evaluate against their ground truth, panoptic PNGs match their segments, and the RLE
areas and boxes are pycocotools' own. pycocotools is the oracle throughout."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import coco_convert
from coco_convert import to_pycocotools
from coco_convert.summary import summarize

from .conftest import FIXTURES

COCO_DIR = FIXTURES / "coco"

#: Every fixture and the kind coco_convert.load detects for it.
KINDS = {
    "instances.json": "instances",
    "person_keypoints.json": "keypoints",
    "captions.json": "captions",
    "panoptic.json": "panoptic",
    "stuff.json": "stuff",
    "results_bbox.json": "results",
    "results_segm.json": "results",
    "results_keypoints.json": "results",
    "tools/datumaro-instances.json": "instances",
    "tools/datumaro-labels.json": "instances",
    "tools/datumaro-person_keypoints.json": "keypoints",
    "tools/datumaro-captions.json": "captions",
    "tools/datumaro-panoptic.json": "panoptic",
    # datumaro's coco_stuff exporter renumbers the stuff classes 1..40, so nothing in the file
    # says "stuff" any more; it still fits the stuff model (test below).
    "tools/datumaro-stuff.json": "instances",
    "tools/globox-instances.json": "instances",
    "tools/label-studio-converter-instances.json": "instances",
    "tools/labelme2coco-instances.json": "instances",
    "tools/supervision-instances.json": "instances",
    "tools/pylabel-instances.json": "instances",
}
#: Detection results and the ground truth they were made for.
RESULTS = {
    "results_bbox.json": ("instances.json", "bbox"),
    "results_segm.json": ("instances.json", "segm"),
    "results_keypoints.json": ("person_keypoints.json", "keypoints"),
}
PANOPTIC = {"panoptic.json": "panoptic", "tools/datumaro-panoptic.json": "tools/datumaro-panoptic"}
#: COCO's own crowd boxes are one pixel narrower and shorter than their masks (last pixel
#: minus first, where pycocotools' toBbox counts pixels); tools that copy the box keep that.
#: (fixture, annotation id): the crowd of instances.json and the tools' copies of it.
COCO_CROWD_BOX_ONE_PIXEL_SHORT = {
    ("instances.json", 900100001176),
    ("tools/datumaro-instances.json", 900100001176),
    ("tools/supervision-instances.json", 3),
}
DATASETS = [name for name, kind in KINDS.items() if kind not in ("results", "panoptic")]


def read(name: str) -> Any:
    return json.loads((COCO_DIR / name).read_text(encoding="utf-8"))


def quiet_coco(source: str | Path | None = None) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(None if source is None else str(source))


def evaluate(gt: COCO, results: Any, iou_type: str) -> np.ndarray:
    """COCOeval's 12 (or 10) summary numbers; ``results`` as ``loadRes`` takes them, or a COCO
    object of results already loaded."""
    with contextlib.redirect_stdout(io.StringIO()):
        dt = results if isinstance(results, COCO) else gt.loadRes(results)
        evaluation = COCOeval(gt, dt, iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return np.asarray(evaluation.stats)


def to_rle(segmentation: dict[str, Any]) -> Any:
    """pycocotools' RLE object of either RLE form (uncompressed counts are a list)."""
    h, w = segmentation["size"]
    if isinstance(segmentation["counts"], list):
        return mask_utils.frPyObjects(segmentation, h, w)
    return {"size": [h, w], "counts": segmentation["counts"].encode("ascii")}


# --- every fixture: loads as its kind, round-trips, is documented ----------------------------


def test_every_fixture_is_listed() -> None:
    found = {p.relative_to(COCO_DIR).as_posix() for p in COCO_DIR.rglob("*.json")}
    assert found - {"conformance.json"} == set(KINDS)  # (the conformance suite's sample list)


@pytest.mark.parametrize(("name", "kind"), KINDS.items())
def test_fixture_loads_as_its_kind(name: str, kind: str) -> None:
    dataset = coco_convert.load(COCO_DIR / name)
    assert dataset.kind == kind
    assert not dataset.issues()


@pytest.mark.parametrize("name", KINDS)
def test_load_then_save_keeps_the_json_and_its_key_order(name: str, tmp_path: Path) -> None:
    original = read(name)
    coco_convert.load(COCO_DIR / name).save(tmp_path / "out.json")
    saved = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert json.dumps(saved) == json.dumps(original)


def test_datumaro_stuff_export_still_fits_the_stuff_model() -> None:
    dataset = coco_convert.load(COCO_DIR / "tools/datumaro-stuff.json", kind="stuff")
    assert {ann["category_id"] for ann in dataset.annotations} <= set(range(1, 41))


@pytest.mark.parametrize("name", KINDS)
def test_fixture_is_documented(name: str) -> None:
    assert f"`{name}`" in (FIXTURES / "README.md").read_text(encoding="utf-8")


def test_pylabel_null_segmentation_means_none() -> None:
    dataset = coco_convert.load(COCO_DIR / "tools/pylabel-instances.json")
    assert [ann["segmentation"] for ann in dataset.annotations] == [None]  # type: ignore[typeddict-item]
    assert summarize(dataset)["segmentation"] == {"none": 1}


# --- pycocotools reads the same datasets -----------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_pycocotools_indexes_the_same_records(name: str) -> None:
    coco = quiet_coco(COCO_DIR / name)
    dataset = coco_convert.load(COCO_DIR / name)
    assert sorted(coco.getImgIds()) == sorted(dataset.get_img_ids())
    assert coco.getAnnIds() == dataset.get_ann_ids()
    if "categories" in dataset.document:  # pycocotools needs the key (captions files lack it)
        assert coco.getCatIds() == dataset.get_cat_ids()
    if dataset.categories:
        some = dataset.categories[0]["id"]
        assert sorted(coco.getImgIds(catIds=[some])) == dataset.get_img_ids(cat_ids=[some])
        assert coco.getAnnIds(catIds=[some], iscrowd=None) == dataset.get_ann_ids(cat_ids=[some])


@pytest.mark.parametrize(("name", "gt_and_type"), RESULTS.items())
def test_results_evaluate_against_their_ground_truth(
    name: str, gt_and_type: tuple[str, str]
) -> None:
    gt_name, iou_type = gt_and_type
    gt = to_pycocotools(coco_convert.load(COCO_DIR / gt_name))
    results = coco_convert.load(COCO_DIR / name)
    assert set(results.get_img_ids()) <= set(gt.getImgIds())
    stats = evaluate(gt, to_pycocotools(results, gt=gt), iou_type)
    assert 0.2 < stats[0] < 1.0  # AP: imperfect detections that do match the ground truth
    reference = evaluate(quiet_coco(COCO_DIR / gt_name), str(COCO_DIR / name), iou_type)
    assert np.array_equal(stats, reference)


@pytest.mark.parametrize(
    ("gt_name", "iou_type"),
    [
        ("instances.json", "bbox"),
        ("instances.json", "segm"),
        ("person_keypoints.json", "keypoints"),
    ],
)
def test_ground_truth_as_results_scores_perfectly(gt_name: str, iou_type: str) -> None:
    """Areas, boxes, segmentations and keypoints of the ground truth agree with each other:
    its own annotations, as detections, get AP 1 from COCOeval."""
    gt = quiet_coco(COCO_DIR / gt_name)
    geometry = {
        "bbox": lambda ann: {"bbox": ann["bbox"]},
        "segm": lambda ann: {"segmentation": gt.annToRLE(ann)},  # loadRes takes RLE only
        "keypoints": lambda ann: {"bbox": ann["bbox"], "keypoints": ann["keypoints"]},
    }[iou_type]
    results = [
        {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0}
        | geometry(ann)
        for ann in gt.dataset["annotations"]
        if not ann["iscrowd"] and ann.get("num_keypoints", 1) > 0
    ]
    assert evaluate(gt, results, iou_type)[0] == 1.0


# --- geometry: what the fixtures cover, and pycocotools agrees -------------------------------


def test_instances_is_the_official_structure() -> None:
    document = read("instances.json")
    assert list(document) == ["info", "licenses", "images", "annotations", "categories"]
    ids = [cat["id"] for cat in document["categories"]]
    assert len(ids) == 80
    assert set(range(1, 91)) - set(ids) == {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
    assert all(cat["supercategory"] for cat in document["categories"])
    keys = ["segmentation", "area", "iscrowd", "image_id", "bbox", "category_id", "id"]
    assert all(list(ann) == keys for ann in document["annotations"])


def test_instances_covers_polygons_multipart_and_uncompressed_crowd_rle() -> None:
    anns = read("instances.json")["annotations"]
    polygons = [a for a in anns if isinstance(a["segmentation"], list)]
    crowds = [a for a in anns if a["iscrowd"] == 1]
    assert polygons
    assert all(a["iscrowd"] == 0 for a in polygons)
    assert any(len(a["segmentation"]) > 1 for a in polygons)
    assert crowds
    assert all(isinstance(a["segmentation"]["counts"], list) for a in crowds)


def test_instances_polygon_areas_and_boxes_are_the_originals() -> None:
    """COCO's polygon areas are the polygons' own (shoelace) areas and the boxes their
    extents: a changed coordinate in the excerpt would show here."""
    for ann in read("instances.json")["annotations"]:
        if not isinstance(ann["segmentation"], list):
            continue
        area = 0.0
        for ring in ann["segmentation"]:
            xs, ys = np.array(ring[0::2]), np.array(ring[1::2])
            area += abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2
        assert math.isclose(area, ann["area"], abs_tol=1e-6)
        xs = [x for ring in ann["segmentation"] for x in ring[0::2]]
        ys = [y for ring in ann["segmentation"] for y in ring[1::2]]
        extent = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        assert np.allclose(extent, ann["bbox"], atol=0.005)


def test_keypoints_cover_the_person_skeleton_and_a_crowd() -> None:
    document = read("person_keypoints.json")
    (person,) = document["categories"]
    assert len(person["keypoints"]) == 17
    assert len(person["skeleton"]) == 19
    assert all(1 <= i <= 17 for edge in person["skeleton"] for i in edge)
    anns = document["annotations"]
    assert any(a["num_keypoints"] > 0 for a in anns)
    assert any(a["iscrowd"] == 1 for a in anns)
    for ann in anns:
        assert len(ann["keypoints"]) == 3 * 17
        assert ann["num_keypoints"] == sum(1 for v in ann["keypoints"][2::3] if v > 0)


def _rle_annotations() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name in DATASETS:
        for ann in read(name)["annotations"]:
            if isinstance(ann.get("segmentation"), dict):
                found.append((name, ann))
    return found


def test_rle_fixtures_cover_both_forms() -> None:
    counts = [ann["segmentation"]["counts"] for _, ann in _rle_annotations()]
    assert any(isinstance(c, list) for c in counts)
    assert any(isinstance(c, str) for c in counts)


@pytest.mark.parametrize(
    ("name", "ann"), _rle_annotations(), ids=lambda v: v if isinstance(v, str) else str(v["id"])
)
def test_rle_area_and_bbox_agree_with_pycocotools(name: str, ann: dict[str, Any]) -> None:
    rle = to_rle(ann["segmentation"])
    assert float(mask_utils.area(rle)) == ann["area"]
    offset = (mask_utils.toBbox(rle) - np.asarray(ann["bbox"])).tolist()
    if (name, ann["id"]) in COCO_CROWD_BOX_ONE_PIXEL_SHORT:
        assert offset == [0, 0, 1, 1]
    else:
        assert offset == [0, 0, 0, 0]


@pytest.mark.parametrize("name", ["stuff.json", "tools/datumaro-stuff.json"])
def test_stuff_regions_do_not_overlap(name: str) -> None:
    masks = [mask_utils.decode(to_rle(a["segmentation"])) for a in read(name)["annotations"]]
    assert int(np.max(np.sum(masks, axis=0))) == 1


def test_segm_results_are_compressed_rle_of_their_image() -> None:
    sizes = {img["id"]: [img["height"], img["width"]] for img in read("instances.json")["images"]}
    for result in read("results_segm.json"):
        assert isinstance(result["segmentation"]["counts"], str)
        assert result["segmentation"]["size"] == sizes[result["image_id"]]
        assert mask_utils.area(to_rle(result["segmentation"])) > 0


# --- panoptic: the PNGs hold exactly the segments ---------------------------------------------


@pytest.mark.parametrize(("name", "folder"), PANOPTIC.items())
def test_panoptic_png_ids_match_segments_info(name: str, folder: str) -> None:
    dataset = coco_convert.load(COCO_DIR / name, kind="panoptic")
    sizes = {img["id"]: (img["height"], img["width"]) for img in dataset.images}
    for ann in dataset.annotations:
        rgb = np.asarray(Image.open(COCO_DIR / folder / ann["file_name"]).convert("RGB"))
        assert rgb.shape[:2] == sizes[ann["image_id"]]
        r, g, b = (rgb[..., channel].astype(np.uint32) for channel in range(3))
        ids = r + 256 * g + 256**2 * b
        present = set(np.unique(ids).tolist()) - {0}  # 0 is void (unlabelled)
        assert present == {segment["id"] for segment in ann["segments_info"]}
        for segment in ann["segments_info"]:
            ys, xs = np.nonzero(ids == segment["id"])
            assert len(xs) == segment["area"]
            extent = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert extent == segment["bbox"]


def test_panoptic_covers_things_stuff_and_a_crowd() -> None:
    document = read("panoptic.json")
    isthing = {cat["id"]: cat["isthing"] for cat in document["categories"]}
    segments = [s for ann in document["annotations"] for s in ann["segments_info"]]
    assert {isthing[s["category_id"]] for s in segments} == {0, 1}
    assert any(s["iscrowd"] for s in segments)


def test_datumaro_panoptic_export_loses_isthing_and_category_ids() -> None:
    """Quirks converters must not trust: datumaro writes isthing 0 for every category and
    renumbers the categories 1..133."""
    ours, theirs = read("panoptic.json")["categories"], read("tools/datumaro-panoptic.json")
    assert {cat["isthing"] for cat in ours} == {0, 1}
    assert {cat["isthing"] for cat in theirs["categories"]} == {0}
    names = {cat["id"]: cat["name"] for cat in theirs["categories"]}
    assert sorted(names) == list(range(1, 134))
    assert names[117] == "tree-merged"


def test_datumaro_keypoints_export_loses_the_crowd() -> None:
    ours = {a["id"]: a for a in read("person_keypoints.json")["annotations"]}
    theirs = {a["id"]: a for a in read("tools/datumaro-person_keypoints.json")["annotations"]}
    assert ours[900100139099]["iscrowd"] == 1
    assert theirs[900100139099]["iscrowd"] == 0
