"""Label Studio JSON and JSON-MIN to and from COCO (coco_convert/converters/labelstudio*.py).

The fixtures in fixtures/labelstudio are exports of a real Label Studio server
(fixtures/labelstudio/record.py: what was imported, and how); the regions' expected pixels are
computed here from the same numbers, as Label Studio defines them (percent of
original_width/original_height, rectangles turned about their top-left corner)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import coco_convert
from coco_convert import geometry, registry
from coco_convert.converters.labelstudio import read_labelstudio, write_labelstudio
from coco_convert.converters.labelstudio_brush import (
    brush_to_rle,
    decode,
    encode,
    header,
    rle_to_brush,
)
from coco_convert.converters.labelstudio_read import file_name_of
from coco_convert.errors import GeometryError, InputError, UsageError
from coco_convert.validate import Settings
from coco_convert.validate.runner import validate_target

from .conftest import FIXTURES, REALDATA

EXPORT = FIXTURES / "labelstudio" / "export.json"
EXPORT_MIN = FIXTURES / "labelstudio" / "export-min.json"
REAL = REALDATA / "label_studio_json"


def mask(height: int, width: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """What record.py drew: the xor of the boxes (y0, x0, y1, x1)."""
    out = np.zeros((height, width), dtype=np.uint8)
    for y0, x0, y1, x1 in boxes:
        out[y0:y1, x0:x1] ^= 1
    return out


def by_category(dataset: Any) -> dict[str, list[dict[str, Any]]]:
    names = {c["id"]: c["name"] for c in dataset.categories}
    found: dict[str, list[dict[str, Any]]] = {}
    for ann in dataset.annotations:
        found.setdefault(names[ann["category_id"]], []).append(ann)
    return found


# --- reading the real server's export ---------------------------------------------------------


@pytest.fixture(scope="module")
def export() -> Any:
    datasets, report = read_labelstudio(EXPORT)
    return datasets["default"], report


def test_export_images_and_categories(export: Any) -> None:
    dataset, report = export
    dataset.validate()
    assert dataset.kind == "keypoints"
    # the config beside the export gives the order
    assert [c["name"] for c in dataset.categories] == ["cat", "dog", "person"]
    assert report.stats["labeling_config"].endswith("export.label_config.xml")
    names = [(i["file_name"], i.get("width"), i.get("height")) for i in dataset.images]
    assert names[:2] == [("images/street a.png", 64, 48), ("images/wide.png", 100, 50)]
    assert dataset.images[0]["coco_url"] == "/data/local-files/?d=images/street%20a.png"
    assert dataset.images[0]["attributes"] == {"weather": ["sunny"]}
    # task ids are the image ids
    raw = json.loads(EXPORT.read_bytes())
    assert [i["id"] for i in dataset.images] == [task["id"] for task in raw]


def test_boxes_and_turned_boxes_land_exactly(export: Any) -> None:
    dataset, _ = export
    first = [a for a in dataset.annotations if a["image_id"] == dataset.images[0]["id"]]
    person = next(a for a in first if a["category_id"] == 3)
    assert person["bbox"] == [10.0 * 64 / 100, 12.5 * 48 / 100, 25.0 * 64 / 100, 50.0 * 48 / 100]
    assert person["segmentation"] == []
    assert person["attributes"] == {"pose": ["standing"]}  # the per-region choice
    dog = next(a for a in first if a["category_id"] == 2 and isinstance(a["segmentation"], list))
    x, y, w, h, r = 50.0 * 64 / 100, 10.0 * 48 / 100, 30.0 * 64 / 100, 20.0 * 48 / 100, 30.0
    c, s = math.cos(math.radians(r)), math.sin(math.radians(r))
    corners = [
        x,
        y,
        x + w * c,
        y + w * s,
        x + w * c - h * s,
        y + w * s + h * c,
        x - h * s,
        y + h * c,
    ]
    assert dog["segmentation"][0] == pytest.approx(corners, abs=1e-9)
    xs, ys = corners[0::2], corners[1::2]
    assert dog["bbox"] == pytest.approx([min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])
    assert dog["attributes"] == {"rotation": 30.0}
    assert dog["area"] == pytest.approx(w * h)


def test_polygon_brush_ellipse(export: Any) -> None:
    dataset, _ = export
    image = dataset.images[0]["id"]
    first = by_category(dataset)
    cat_polygon = next(a for a in first["cat"] if a["image_id"] == image and "shape" not in a)
    points = [[60.0, 60.0], [90.0, 62.5], [80.0, 95.0], [62.5, 90.0]]
    assert cat_polygon["segmentation"] == [
        [v * size / 100 for x, y in points for v, size in ((x, 64), (y, 48))]
    ]
    brush = next(a for a in first["dog"] if isinstance(a["segmentation"], dict))
    expected = mask(48, 64, [(10, 10, 40, 50), (20, 20, 30, 30), (2, 55, 6, 62)])
    assert (geometry.rle_to_mask(brush["segmentation"]) == expected).all()  # holes, islands
    assert brush["area"] == int(expected.sum())
    assert brush["bbox"] == geometry.bbox(brush["segmentation"], 48, 64)
    ellipse = next(a for a in first["cat"] if "shape" in a)
    assert ellipse["shape"] == {
        "type": "ellipse",
        "center": [30.0 * 64 / 100, 70.0 * 48 / 100],
        "radii": [10.0 * 64 / 100, 8.0 * 48 / 100],
        "rotation": 15.0,
    }


def test_keypoints_grouped_under_their_rectangle(export: Any) -> None:
    dataset, report = export
    person = next(c for c in dataset.categories if c["name"] == "person")
    assert person["keypoints"] == ["nose", "left_hand", "right_hand"]  # model_index order
    (ann,) = [a for a in dataset.annotations if a.get("num_keypoints")]
    assert ann["keypoints"] == [20.0 * 64 / 100, 20.0 * 48 / 100, 2, 0, 0, 0, 12.5 * 64 / 100,
                                40.0 * 48 / 100, 2]  # fmt: skip
    assert ann["num_keypoints"] == 2
    (lost,) = report.warnings["keypoint_without_parent"].examples
    assert lost.location.pointer.endswith("/result/9")


def test_annotations_chosen_and_reported(export: Any) -> None:
    _, report = export
    assert report.losses["other_annotations"].count == 1
    assert report.losses["cancelled_annotations"].count == 1
    first, _ = read_labelstudio(EXPORT, annotation="first")
    boxes = [a["bbox"] for a in first["default"].annotations if a["image_id"] == 1]
    assert boxes == [[5.0 * 64 / 100, 5.0 * 48 / 100, 40.0 * 64 / 100, 40.0 * 48 / 100]]
    every, _ = read_labelstudio(EXPORT, annotation="all")
    annotators = {a["attributes"]["annotator"] for a in every["default"].annotations}
    assert annotators == {1}
    ids = {a["attributes"]["annotation_id"] for a in every["default"].annotations}
    assert len(ids) == 3
    mine, report = read_labelstudio(EXPORT, annotation="someone@else")
    assert mine["default"].annotations == []
    assert report.losses["other_annotations"].count == 3


def test_json_min_gives_the_same_boxes(export: Any) -> None:
    dataset, _ = export
    datasets, report = read_labelstudio(EXPORT_MIN)
    small = datasets["default"]
    small.validate()
    assert "json_min" in report.losses
    # the same objects; the keypoints' rectangle is a box of its own (nothing links them)
    keep = [(a["category_id"], a["bbox"]) for a in dataset.annotations]
    assert sorted(keep) == sorted((a["category_id"], a["bbox"]) for a in small.annotations)
    assert report.warnings["keypoint_without_parent"].count == 3


def test_empty_task_has_no_size_unless_images(tmp_path: Path) -> None:
    datasets, report = read_labelstudio(EXPORT)
    empty = [i for i in datasets["default"].images if i["file_name"] == "images/empty.png"]
    assert "width" not in empty[0]
    # that task, and the one whose only annotation was cancelled
    assert report.warnings["image_without_size"].count == 2
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.new("RGB", (33, 22)).save(tmp_path / "images" / "empty.png")
    datasets, report = read_labelstudio(EXPORT, images=tmp_path)
    empty = [i for i in datasets["default"].images if i["file_name"] == "images/empty.png"]
    assert (empty[0]["width"], empty[0]["height"]) == (33, 22)
    assert report.warnings["image_without_size"].count == 1


# --- the real exports of ../shared/realdata -------------------------------------------------


def test_real_polygon_export_lands_exactly() -> None:
    raw = json.loads((REAL / "ls-converter-polygons.json").read_bytes())
    result = raw[0]["annotations"][0]["result"][0]
    datasets, report = read_labelstudio(
        REAL / "ls-converter-polygons.json", config=REAL / "ls-converter-label_config.xml"
    )
    dataset = datasets["default"]
    (ann,) = dataset.annotations
    assert ann["segmentation"] == [
        [v * size / 100 for x, y in result["value"]["points"] for v, size in ((x, 640), (y, 426))]
    ]
    # the config lists parasites and white; Airplane was used all the same
    assert [c["name"] for c in dataset.categories] == ["parasites", "white", "Airplane"]
    assert report.warnings["label_not_in_config"].count == 1


def test_real_keypoint_export() -> None:
    datasets, report = read_labelstudio(
        REAL / "ls-sdk-keypoints-data.json", config=REAL / "ls-sdk-keypoints-label_config.xml"
    )
    dataset = datasets["default"]
    (ann,) = dataset.annotations
    assert dataset.categories[0]["keypoints"][:3] == ["nose", "left_eye", "right_eye"]
    assert ann["keypoints"][:9] == [
        64.44444444444444 * 216 / 100,
        39.290780141843975 * 174 / 100,
        2,
        58.38849487785658 * 216 / 100,
        30.78014184397163 * 174 / 100,
        2,
        70.50039401103231 * 216 / 100,
        32.19858156028369 * 174 / 100,
        2,
    ]
    assert ann["bbox"] == [
        38.849487785658 * 216 / 100,
        7.65957446808511 * 174 / 100,
        47.304964539007095 * 216 / 100,
        50.92198581560283 * 174 / 100,
    ]
    assert report.losses["relations"].count == 5
    assert dataset.images[0]["file_name"] == "image1.jpg"


@pytest.mark.parametrize("name", ["ls-converter-polygons.json", "ls-sdk-keypoints-data.json"])
def test_real_exports_are_validated_as_label_studio(name: str) -> None:
    (result,) = validate_target(REAL / name, Settings())
    assert result.format == "labelstudio"
    assert all(d.code.startswith("L") for d in result.diagnostics)


# --- coco2labelstudio ---------------------------------------------------------------------------


def test_round_trip_is_exact_for_boxes_polygons_and_masks(tmp_path: Path) -> None:
    dataset, _ = read_labelstudio(EXPORT)
    original = dataset["default"]
    report = write_labelstudio(original, tmp_path / "tasks.json", as_annotations=True)
    assert (tmp_path / "tasks.label_config.xml").is_file()
    back, _ = read_labelstudio(tmp_path / "tasks.json")
    again = back["default"]
    assert [c["name"] for c in again.categories] == [c["name"] for c in original.categories]
    assert [i["file_name"] for i in again.images] == [i["file_name"] for i in original.images]
    pairs = list(zip(original.annotations, again.annotations, strict=True))
    for before, after in pairs:
        assert after["category_id"] == before["category_id"]
        assert after["bbox"] == pytest.approx(before["bbox"], abs=1e-9)
        if isinstance(before["segmentation"], dict):
            assert after["segmentation"] == before["segmentation"]  # the same pixels
        elif before["segmentation"]:
            assert after["segmentation"][0] == pytest.approx(before["segmentation"][0], abs=1e-9)
        assert after.get("keypoints") == pytest.approx(before.get("keypoints"), abs=1e-9)
    assert "annotation_attributes" in report.losses  # the per-region choice


def test_predictions_with_scores(tmp_path: Path) -> None:
    truth = coco_convert.load(FIXTURES / "coco" / "instances.json")
    results = [
        {
            "image_id": ann["image_id"],
            "category_id": ann["category_id"],
            "bbox": ann["bbox"],
            "score": 0.5 + i / 100,
        }
        for i, ann in enumerate(truth.annotations)
    ]
    scored = coco_convert.from_document(results, kind="results")
    write_labelstudio({"val": truth, "results": scored}, tmp_path / "review.json")
    tasks = json.loads((tmp_path / "review.json").read_bytes())
    assert all(task["annotations"] and task["predictions"] for task in tasks)
    back, _ = read_labelstudio(tmp_path / "review.json", predictions=True)
    found = back["default"].results
    assert sorted(r["score"] for r in found) == sorted(r["score"] for r in results)
    for result in found:
        assert result["bbox"] == pytest.approx(
            next(r["bbox"] for r in results if r["score"] == result["score"]), abs=1e-9
        )
    with pytest.raises(UsageError, match="give the COCO dataset"):
        write_labelstudio(scored, tmp_path / "alone.json")


def test_default_writes_predictions_and_urls(tmp_path: Path) -> None:
    truth = coco_convert.load(FIXTURES / "coco" / "instances.json")
    write_labelstudio(truth, tmp_path / "t.json", image_root_url="s3://bucket/val/")
    tasks = json.loads((tmp_path / "t.json").read_bytes())
    assert tasks[0]["data"]["image"] == "s3://bucket/val/" + truth.images[0]["file_name"]
    assert tasks[0]["predictions"][0]["model_version"] == "coco-convert"
    assert "annotations" not in tasks[0]
    datasets, report = read_labelstudio(tmp_path / "t.json")
    assert datasets["default"].annotations == []
    assert report.losses["predictions_not_read"].count == len(tasks)
    # the prefix back off
    datasets, _ = read_labelstudio(
        tmp_path / "t.json", predictions=True, image_root_url="s3://bucket/val/"
    )
    assert {r["image_id"] for r in datasets["default"].results} <= {1, 2}


# --- the brush code ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 20), st.integers(1, 20)), elements=st.integers(0, 1))
)
def test_brush_round_trip(m: np.ndarray) -> None:
    rle = geometry.mask_to_rle(m)
    stream = rle_to_brush(rle)
    assert brush_to_rle(stream, *m.shape) == rle
    values = decode(stream)
    assert values.tolist() == np.repeat(m.ravel() * 255, 4).tolist()
    assert encode(values) == stream


def test_brush_long_runs_and_literals() -> None:
    values = np.concatenate([np.zeros(200_001, np.uint8), [7, 8, 9], np.full(300, 255, np.uint8)])
    assert decode(encode(values)).tolist() == values.tolist()
    assert header(encode(values)).values == values.size


def test_brush_of_another_image_is_refused(tmp_path: Path) -> None:
    stream = rle_to_brush(geometry.mask_to_rle(np.ones((4, 5), np.uint8)))
    with pytest.raises(GeometryError, match="decodes to 80 values; a 6 x 4 RGBA image has 96"):
        brush_to_rle(stream, 4, 6)
    with pytest.raises(GeometryError, match="truncated"):
        brush_to_rle(stream[:8], 4, 5)
    raw = json.loads(EXPORT.read_bytes())
    result = raw[0]["annotations"][1]["result"][6]
    assert result["type"] == "brushlabels"
    result["original_width"] = 65
    result["value"]["rle"] = rle_to_brush(geometry.mask_to_rle(np.ones((48, 64), np.uint8)))
    raw[0]["annotations"][1]["result"] = [result]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError) as caught:
        read_labelstudio(path)
    assert caught.value.location.pointer == "/0/annotations/1/result/0/value/rle"
    assert "65 x 48 RGBA image" in str(caught.value)


def test_nan_points_are_named_by_pointer(tmp_path: Path) -> None:
    text = EXPORT.read_text().replace("[60.0,60.0]", "[NaN,60.0]", 1)
    assert "NaN" in text
    path = tmp_path / "nan.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_labelstudio(path)
    assert caught.value.location.pointer == "/0/annotations/1/result/5/value/points/0/0"


# --- detection and names ---------------------------------------------------------------------


def test_detection_tells_tasks_from_results(tmp_path: Path) -> None:
    assert [f.name for f in registry.detect(EXPORT)] == ["labelstudio"]
    assert [f.name for f in registry.detect(EXPORT_MIN)] == ["labelstudio"]
    results = REALDATA / "coco_results" / "cocoapi-fakebbox100_results.json"
    assert [f.name for f in registry.detect(results)] == ["coco"]
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"data": {"image": "a.jpg", "image_id": 3}, "annotations": []}]))
    assert [f.name for f in registry.detect(tasks)] == ["labelstudio"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"data": {"x": 1}}, {"id": 1}]))
    assert registry.detect(other) == []


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/data/local-files/?d=images/a%20b.jpg", "images/a b.jpg"),
        ("/data/upload/18/3a5d2c1e-cat.jpg", "3a5d2c1e-cat.jpg"),
        ("s3://bucket/train/x.png", "train/x.png"),
        ("https://host.example/img/y.jpg", "img/y.jpg"),
        ("plain/z.jpg", "plain/z.jpg"),
    ],
)
def test_file_names_from_urls(url: str, name: str) -> None:
    assert file_name_of(url) == name


def test_image_root_url_is_cut() -> None:
    assert file_name_of("https://cdn.example/set/a/b.jpg", "https://cdn.example/set/") == "a/b.jpg"
