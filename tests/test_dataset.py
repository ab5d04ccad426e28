"""The central model: load every real export, save it back losslessly, query it as pycocotools
does, and hand it to pycocotools and back."""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import coco_convert
from coco_convert import (
    InstancesDataset,
    KeypointsDataset,
    ResultsDataset,
    SchemaError,
    from_pycocotools,
    load,
    to_pycocotools,
)

from .conftest import REALDATA

#: Every COCO file of the real exports, with the kind it is.
REAL_KINDS = {
    "coco_captions/datumaro-captions_val.json": "captions",
    "coco_cvat/cvat-coco-street-instances_default.json": "instances",
    "coco_keypoints/cocoapi-fakekeypoints100_results.json": "results",
    "coco_keypoints/datumaro-person_keypoints_val.json": "keypoints",
    "coco_labelme/labelme2coco-annotations.json": "instances",
    "coco_makesense/makesense-labels_my-project-name_2025-04-03.json": "instances",
    "coco_mmdet_d2/mmdet-coco_sample.json": "instances",
    "coco_other/coco-annotator-export-ls-sdk-import.json": "instances",
    "coco_panoptic/datumaro-panoptic_val.json": "panoptic",
    "coco_panoptic/panopticapi-panoptic_coco_detection_format.json": "instances",
    "coco_panoptic/panopticapi-panoptic_examples.json": "panoptic",
    "coco_results/cocoapi-fakebbox100_results.json": "results",
    "coco_roboflow/roboflow-badminton-train-_annotations.coco.json": "instances",
}
#: The real exports that break the COCO format, and the first place they break it.
REAL_INVALID = {
    "coco_makesense/makesense-labels_my-project-name_2025-04-03.json": (
        "/annotations/0",
        "missing required key 'category_id'",
    ),
    "coco_other/coco-annotator-export-ls-sdk-import.json": (
        "/annotations/0/iscrowd",
        'expected an integer, got the string "false"',
    ),
}


def _typed(value: Any) -> Any:
    """A JSON value with its number types and key order made explicit, for exact comparison."""
    if isinstance(value, dict):
        return [(key, _typed(child)) for key, child in value.items()]
    if isinstance(value, list):
        return [_typed(child) for child in value]
    if isinstance(value, bool) or value is None:
        return value
    return (type(value).__name__, value)


def test_every_real_coco_export_is_listed(realdata: Path) -> None:
    assert sorted(str(p.relative_to(realdata)) for p in realdata.glob("coco_*/*.json")) == sorted(
        REAL_KINDS
    )


@pytest.mark.parametrize("name", sorted(REAL_KINDS))
def test_real_exports_load_as_their_kind_and_save_back_losslessly(
    name: str, tmp_path: Path
) -> None:
    path = REALDATA / name
    original = path.read_bytes()
    dataset = load(path, validate=name not in REAL_INVALID)
    assert dataset.kind == REAL_KINDS[name]
    out = tmp_path / "out.json"
    dataset.save(out)
    assert _typed(json.loads(out.read_bytes())) == _typed(json.loads(original))
    assert path.read_bytes() == original  # the input is only read


@pytest.mark.parametrize("name", sorted(REAL_INVALID))
def test_real_exports_that_break_the_format_are_refused_by_pointer(name: str) -> None:
    with pytest.raises(SchemaError) as err:
        load(REALDATA / name)
    pointer, message = REAL_INVALID[name]
    assert (err.value.issues[0].pointer, err.value.issues[0].message) == (pointer, message)
    assert str(err.value).startswith(f"{REALDATA / name}:{pointer}: {message}")


def test_save_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    dataset = load(REALDATA / "coco_labelme/labelme2coco-annotations.json")
    dataset.save(tmp_path / "a.json")
    dataset.save(tmp_path / "b.json")
    load(tmp_path / "a.json").save(tmp_path / "c.json")
    first = (tmp_path / "a.json").read_bytes()
    assert first == (tmp_path / "b.json").read_bytes() == (tmp_path / "c.json").read_bytes()


def test_numbers_keep_their_type_and_value() -> None:
    # mmdet writes "area": 400.00 and integer boxes; both must come back as the same values.
    text = (
        b'{"images":[],"categories":[],"annotations":[{"id":1,"image_id":1,"category_id":1,'
        b'"bbox":[0,0,20,20],"area":400.00,"x":0.30000000000000004,"y":1e-7}]}'
    )
    assert load(text).to_json() == text.replace(b"400.00", b"400.0")


def test_gzip_and_bytes_sources(tmp_path: Path) -> None:
    path = REALDATA / "coco_cvat/cvat-coco-street-instances_default.json"
    plain = load(path)
    plain.save(tmp_path / "x.json.gz")
    assert gzip.decompress((tmp_path / "x.json.gz").read_bytes()) == plain.to_json()
    assert load(tmp_path / "x.json.gz").document == plain.document
    from_bytes = load(path.read_bytes())
    assert from_bytes.document == plain.document
    assert from_bytes.source is None


def test_errors_from_bytes_name_the_source() -> None:
    with pytest.raises(SchemaError, match=r"^<bytes>:/images/0: missing required key 'id'"):
        load(b'{"images": [{"file_name": "a.jpg"}], "annotations": [], "categories": []}')


def test_top_level_must_be_an_object_or_an_array() -> None:
    with pytest.raises(SchemaError, match=r"^<bytes>: expected a JSON object"):
        load(b'"just a string"')


def test_explicit_kind_overrides_detection() -> None:
    dataset = load(REALDATA / "coco_cvat/cvat-coco-street-instances_default.json", kind="keypoints")
    assert isinstance(dataset, KeypointsDataset)


def test_edits_are_checked_on_request() -> None:
    dataset = load(REALDATA / "coco_cvat/cvat-coco-street-instances_default.json")
    assert isinstance(dataset, InstancesDataset)
    assert dataset.issues() == []
    dataset.annotations[3]["bbox"] = [1, 2]
    with pytest.raises(SchemaError, match=r":/annotations/3/bbox: expected 4 numbers, got 2"):
        dataset.validate()


# --- queries, against pycocotools -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "gen.json"
    subprocess.run(
        [
            sys.executable,
            str(REALDATA.parent / "bench" / "gen_coco.py"),
            str(path),
            "--images",
            "300",
            "--crowd-frac",
            "0.1",
            "--keypoints",
        ],
        check=True,
        capture_output=True,
    )
    return path


def _pycoco(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


QUERY_FILES = [
    "coco_labelme/labelme2coco-annotations.json",
    "coco_panoptic/panopticapi-panoptic_coco_detection_format.json",
    "coco_roboflow/roboflow-badminton-train-_annotations.coco.json",
    "coco_keypoints/datumaro-person_keypoints_val.json",
]


@pytest.mark.parametrize("name", [*QUERY_FILES, "generated"])
def test_queries_match_pycocotools(name: str, generated: Path) -> None:
    path = generated if name == "generated" else REALDATA / name
    ours, theirs = load(path), _pycoco(path)
    assert isinstance(ours, InstancesDataset | KeypointsDataset)
    cat_ids = theirs.getCatIds()
    img_ids = sorted(theirs.getImgIds())
    some_cats, some_imgs = cat_ids[::3][:4], img_ids[::7][:20]
    supers = sorted({c.get("supercategory") or "" for c in theirs.dataset["categories"]})[:2]
    names = [c["name"] for c in theirs.dataset["categories"][:3]]

    assert ours.get_cat_ids() == cat_ids
    assert ours.get_cat_ids(cat_nms=names) == theirs.getCatIds(catNms=names)
    assert ours.get_cat_ids(sup_nms=supers) == theirs.getCatIds(supNms=supers)
    assert ours.get_cat_ids(cat_ids=some_cats) == theirs.getCatIds(catIds=some_cats)
    assert sorted(ours.get_img_ids()) == img_ids
    for cats in ([some_cats[0]], some_cats[:2]) if some_cats else ():
        assert ours.get_img_ids(cat_ids=cats) == sorted(theirs.getImgIds(catIds=cats))
        assert ours.get_img_ids(img_ids=some_imgs, cat_ids=cats) == sorted(
            theirs.getImgIds(imgIds=some_imgs, catIds=cats)
        )
    for kwargs, theirs_kwargs in [
        ({}, {}),
        ({"img_ids": some_imgs}, {"imgIds": some_imgs}),
        ({"cat_ids": some_cats}, {"catIds": some_cats}),
        ({"area_rng": [100, 5000]}, {"areaRng": [100, 5000]}),
        ({"iscrowd": False}, {"iscrowd": False}),
        ({"iscrowd": True}, {"iscrowd": True}),
        (
            {"img_ids": some_imgs, "cat_ids": some_cats, "area_rng": [0, 1e10], "iscrowd": False},
            {"imgIds": some_imgs, "catIds": some_cats, "areaRng": [0, 1e10], "iscrowd": False},
        ),
    ]:
        expected = theirs.getAnnIds(**theirs_kwargs)
        assert ours.get_ann_ids(**kwargs) == expected, kwargs
        assert ours.load_anns(expected) == theirs.loadAnns(expected)
    assert ours.load_imgs(img_ids[:5]) == theirs.loadImgs(img_ids[:5])
    assert ours.load_cats(cat_ids[:5]) == theirs.loadCats(cat_ids[:5])


def test_scalar_arguments_and_names_are_not_split_into_characters() -> None:
    dataset = load(REALDATA / "coco_labelme/labelme2coco-annotations.json")
    assert isinstance(dataset, InstancesDataset)
    # pycocotools treats catNms="person" as a sequence of letters; we take it as one name.
    assert dataset.get_cat_ids(cat_nms="person") == [15]
    assert dataset.get_ann_ids(img_ids=0, cat_ids=15) == dataset.get_ann_ids(
        img_ids=[0], cat_ids=[15]
    )


def test_missing_iscrowd_counts_as_zero() -> None:
    dataset = load(REALDATA / "coco_mmdet_d2/mmdet-coco_sample.json")
    assert isinstance(dataset, InstancesDataset)
    assert dataset.get_ann_ids(iscrowd=False) == [1, 2, 3]
    assert dataset.get_ann_ids(iscrowd=True) == []


def test_reindex_after_edits() -> None:
    dataset = load(REALDATA / "coco_mmdet_d2/mmdet-coco_sample.json")
    assert isinstance(dataset, InstancesDataset)
    assert dataset.get_ann_ids(img_ids=2) == []
    dataset.annotations.append({"id": 9, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]})
    dataset.reindex()
    assert dataset.get_ann_ids(img_ids=2) == [9]


# --- pycocotools interop ----------------------------------------------------------------------


def test_to_pycocotools_shares_records_and_evaluates(generated: Path) -> None:
    gt = load(generated)
    assert isinstance(gt, KeypointsDataset)
    coco = to_pycocotools(gt)
    assert coco.dataset is gt.document
    assert coco.anns[gt.annotations[0]["id"]] is gt.annotations[0]
    # Perfect detections: every ground-truth box back as a result scores AP 1.0.
    results = ResultsDataset(
        [
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": a["bbox"],
                "score": 0.9,
            }
            for a in gt.annotations
            if not a.get("iscrowd")
        ]
    )
    before = copy.deepcopy(results.document)
    dt = to_pycocotools(results, gt=gt)
    assert results.document == before  # loadRes adds keys to copies, not to our results
    evaluator = COCOeval(coco, dt, "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


def test_results_need_their_ground_truth() -> None:
    results = load(REALDATA / "coco_results/cocoapi-fakebbox100_results.json")
    with pytest.raises(coco_convert.UsageError, match="ground truth"):
        to_pycocotools(results)


def test_from_pycocotools_wraps_without_copy() -> None:
    coco = _pycoco(REALDATA / "coco_roboflow/roboflow-badminton-train-_annotations.coco.json")
    dataset = from_pycocotools(coco)
    assert isinstance(dataset, InstancesDataset)
    assert dataset.document is coco.dataset
    assert dataset.get_ann_ids(img_ids=0) == coco.getAnnIds(imgIds=0)
