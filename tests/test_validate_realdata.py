"""The real exports in ../shared/realdata: every quirk that breaks training is named by a rule,
and the tool that wrote each file is recognised."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from coco_convert.validate import Settings, validate_path
from coco_convert.validate.checks.profiles import recognise_tool
from tests.conftest import REALDATA

#: file -> codes that must be among its findings (its quirks, as realdata/README.md notes them).
EXPECTED = {
    # '_background_' category id 0; annotation id 0
    "coco_labelme/labelme2coco-annotations.json": {"T002", "R006", "R009"},
    # placeholder superclass with id 0; annotation id 0; 36 empty segmentations
    "coco_roboflow/roboflow-badminton-train-_annotations.coco.json": {
        "T001",
        "R006",
        "R009",
        "G112",
    },
    # iscrowd is the string 'false'; annotation id 0
    "coco_other/coco-annotator-export-ls-sdk-import.json": {"S003", "R009"},
    # box-only export: segmentation []
    "coco_cvat/cvat-coco-street-instances_default.json": {"G112"},
    # no iscrowd (COCOeval's KeyError)
    "coco_mmdet_d2/mmdet-coco_sample.json": {"S101"},
    # empty keypoint names with a 0-based skeleton
    "coco_keypoints/datumaro-person_keypoints_val.json": {"K004", "K001"},
    # unlabelled shapes without category_id, empty categories; annotation id 0
    "coco_makesense/makesense-labels_my-project-name_2025-04-03.json": {"T005", "S001", "R009"},
    # the tools' own formats, not COCO
    "labelme_json/labelme-instseg-2011_000003.json": {"F004"},
    "labelme_json/labelme-primitives.json": {"F004"},
    "via_json/via-fire-via_region_data.json": {"F004"},
    "via_json/via2-project-empty-regions.json": {"F004"},
}

#: Files whose quirks do not break training: no finding at error level.
NO_ERRORS = [
    "coco_results/cocoapi-fakebbox100_results.json",
    "coco_keypoints/cocoapi-fakekeypoints100_results.json",
    "coco_panoptic/panopticapi-panoptic_examples.json",
    "coco_panoptic/panopticapi-panoptic_coco_detection_format.json",
    "coco_panoptic/datumaro-panoptic_val.json",
    "coco_captions/datumaro-captions_val.json",
]

TOOLS = {
    "coco_labelme/labelme2coco-annotations.json": "labelme2coco",
    "coco_roboflow/roboflow-badminton-train-_annotations.coco.json": "Roboflow",
    "coco_other/coco-annotator-export-ls-sdk-import.json": "COCO Annotator",
    "coco_cvat/cvat-coco-street-instances_default.json": "CVAT",
    "coco_makesense/makesense-labels_my-project-name_2025-04-03.json": "makesense.ai",
    "coco_mmdet_d2/mmdet-coco_sample.json": None,
}


def _codes(path: Path) -> set[str]:
    return {d.code for d in validate_path(path, Settings()).diagnostics}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quirks_are_named(name: str) -> None:
    found = _codes(REALDATA / name)
    assert EXPECTED[name] <= found, sorted(found)
    assert "X001" not in found


@pytest.mark.parametrize("name", NO_ERRORS)
def test_no_errors(name: str) -> None:
    result = validate_path(REALDATA / name, Settings())
    assert [d for d in result.diagnostics if d.severity == "error"] == []


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_is_recognised(name: str) -> None:
    assert recognise_tool(orjson.loads((REALDATA / name).read_bytes())) == TOOLS[name]


@pytest.mark.parametrize(
    ("info", "tool"),
    [
        (
            {"description": "Exported from FiftyOne", "url": "https://voxel51.com/fiftyone"},
            "FiftyOne",
        ),
        ({"contributor": "Label Studio", "year": 2024}, "Label Studio"),
        (
            {"description": "Exported using VGG Image Annotator (http://www.robots.ox.ac.uk/~vgg)"},
            "VGG Image Annotator",
        ),
    ],
)
def test_tools_recognised_by_info(info: dict[str, object], tool: str) -> None:
    assert recognise_tool({"info": info, "images": [], "annotations": []}) == tool


def test_real_exports_are_only_read(tmp_path: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in REALDATA.glob("*/*.json")}
    for path in before:
        validate_path(path, Settings())
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before}
