"""The models: what they accept, what they refuse, and how they say it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coco_convert.errors import Issue
from coco_convert.schemas import KINDS, check_document
from coco_convert.schemas.export import schema_path, schema_text


def _doc(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "info": {"description": "t", "year": 2017},
        "licenses": [{"id": 1, "name": "CC", "url": "http://x"}],
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[10, 10, 20, 10, 20, 20]],
                "area": 50.0,
                "bbox": [10, 10, 10, 10],
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"counts": [0, 4, 307196], "size": [480, 640]},
                "area": 4,
                "bbox": [0, 0, 1, 4],
                "iscrowd": 1,
            },
        ],
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    }
    document.update(overrides)
    return document


def _issues(document: Any, kind: str = "instances") -> list[Issue]:
    issues, total = check_document(document, kind)  # type: ignore[arg-type]
    assert total == len(issues)
    return issues


def test_a_valid_document_has_no_issues() -> None:
    assert _issues(_doc()) == []


def test_extra_keys_are_allowed_everywhere() -> None:
    document = _doc(type="instances", extra={"anything": [1, 2]})
    document["annotations"][0]["attributes"] = {"occluded": False, "rotation": 0.0}
    document["images"][0]["coco_annotator"] = {"annotated": True}
    document["annotations"][1]["segmentation"]["extra"] = 1
    assert _issues(document) == []


@pytest.mark.parametrize(
    ("mutate", "pointer", "message"),
    [
        (
            lambda d: d["annotations"][1].update(bbox=[1, 2, 3]),
            "/annotations/1/bbox",
            "expected 4 numbers, got 3",
        ),
        (
            lambda d: d["annotations"][0].update(bbox=[1, 2, 3, 4, 5]),
            "/annotations/0/bbox",
            "expected 4 numbers, got 5",
        ),
        (
            lambda d: d["annotations"][0]["bbox"].__setitem__(2, "10"),
            "/annotations/0/bbox/2",
            'expected a number, got the string "10"',
        ),
        (
            lambda d: d["annotations"][0].update(id=1.0),
            "/annotations/0/id",
            "expected an integer, got 1.0",
        ),
        (
            lambda d: d["annotations"][0].update(iscrowd=True),
            "/annotations/0/iscrowd",
            "expected an integer, got true",
        ),
        (
            lambda d: d["annotations"][0].update(iscrowd="false"),
            "/annotations/0/iscrowd",
            'expected an integer, got the string "false"',
        ),
        (
            lambda d: d["annotations"][0].update(iscrowd=2),
            "/annotations/0/iscrowd",
            "expected a value <= 1, got 2",
        ),
        (
            lambda d: d["annotations"][0].update(area=-1),
            "/annotations/0/area",
            "expected a value >= 0, got -1",
        ),
        (
            lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4]]),
            "/annotations/0/segmentation/0",
            "a polygon needs at least 3 points (6 coordinates), got 4 coordinates",
        ),
        (
            lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5, 6, 7]]),
            "/annotations/0/segmentation/0",
            "expected an even number of coordinates (x, y pairs), got 7",
        ),
        (
            lambda d: d["annotations"][0].update(segmentation="polygon"),
            "/annotations/0/segmentation",
            'expected a list of polygons or an RLE object, got the string "polygon"',
        ),
        (
            lambda d: d["annotations"][1]["segmentation"].update(size=[480]),
            "/annotations/1/segmentation/size",
            "expected 2 integers [height, width], got 1",
        ),
        (
            lambda d: d["annotations"][1]["segmentation"].update(counts=12),
            "/annotations/1/segmentation/counts",
            "expected a compressed RLE string or a list of run lengths, got 12",
        ),
        (
            lambda d: d["annotations"][1]["segmentation"].update(counts=[1, -2]),
            "/annotations/1/segmentation/counts/1",
            "expected a value >= 0, got -2",
        ),
        (
            lambda d: d["annotations"][0].pop("category_id"),
            "/annotations/0",
            "missing required key 'category_id'",
        ),
        (lambda d: d.pop("images"), "", "missing required key 'images'"),
        (
            lambda d: d.update(annotations={"1": {}}),
            "/annotations",
            "expected a list, got an object",
        ),
        (
            lambda d: d["images"][0].update(width="640"),
            "/images/0/width",
            'expected an integer, got the string "640"',
        ),
        (
            lambda d: d["info"].update(year=[2017]),
            "/info/year",
            "expected a string or a number, got a list of 1",
        ),
        (
            lambda d: d["categories"][0].update(name=None),
            "/categories/0/name",
            "expected a string, got null",
        ),
    ],
)
def test_problems_are_named_by_pointer_in_plain_words(
    mutate: Any, pointer: str, message: str
) -> None:
    document = _doc()
    mutate(document)
    assert _issues(document) == [Issue(pointer, message)]


def test_tolerated_variants_of_real_tools_are_valid() -> None:
    """What real exports write and training frameworks accept: info null (mmdet), null
    license fields (labelme2coco), date_captured 0 (CVAT), empty segmentation (CVAT and
    Roboflow boxes), missing iscrowd/segmentation (detection-only files), ints as numbers."""
    document = _doc(info=None, licenses=[{"id": 0, "name": None, "url": None}])
    document["images"][0]["date_captured"] = 0
    document["annotations"][0]["segmentation"] = []
    del document["annotations"][0]["iscrowd"]
    del document["annotations"][1]["segmentation"]
    assert _issues(document) == []


def test_pointers_escape_slashes_and_tildes_in_keys() -> None:
    document = {"images": [], "annotations": [], "categories": [], "info": {"a/b~c": 1}}
    document["info"]["year"] = {}
    assert _issues(document)[0].pointer == "/info/year"
    from coco_convert.schemas.check import pointer

    assert pointer(["info", "a/b~c", 0]) == "/info/a~1b~0c/0"


def test_long_lists_are_checked_in_chunks_with_document_indices() -> None:
    from coco_convert.schemas.check import CHUNK

    template = _doc()["annotations"][0]
    annotations = [dict(template, id=i) for i in range(CHUNK * 2 + 5)]
    annotations[CHUNK + 7] = dict(template, id=CHUNK + 7, bbox=[1, 2])
    annotations[2 * CHUNK + 4] = dict(template, id="x")
    issues = _issues(_doc(annotations=annotations))
    assert issues == [
        Issue(f"/annotations/{CHUNK + 7}/bbox", "expected 4 numbers, got 2"),
        Issue(f"/annotations/{2 * CHUNK + 4}/id", 'expected an integer, got the string "x"'),
    ]


def test_issue_counting_goes_on_past_the_kept_limit() -> None:
    annotations = [dict(_doc()["annotations"][0], id=str(i)) for i in range(30)]
    issues, total = check_document(_doc(annotations=annotations), "instances", limit=5)
    assert len(issues) == 5
    assert total == 30


def test_keypoints_come_in_triples_and_skeletons_in_pairs() -> None:
    document = _doc()
    document["categories"][0].update(keypoints=["nose", "left_eye"], skeleton=[[1, 2, 3]])
    document["annotations"][0].update(keypoints=[1, 2, 2, 3, 4], num_keypoints=2)
    assert _issues(document, "keypoints") == [
        Issue("/annotations/0/keypoints", "expected (x, y, v) triples, got 5 numbers"),
        Issue("/categories/0/skeleton/0", "expected 2 keypoint indices, got 3"),
    ]


def test_results_need_some_geometry_and_a_score() -> None:
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},
        {"image_id": 1, "category_id": 1, "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
    ]
    assert _issues(results, "results") == [
        Issue("/1", "a result needs a bbox, a segmentation or keypoints"),
        Issue("/2", "missing required key 'score'"),
    ]


def test_panoptic_segments_and_colors() -> None:
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "annotations": [
            {
                "image_id": 1,
                "file_name": "a.png",
                "segments_info": [{"id": 1, "category_id": 1, "bbox": [0, 0, 1], "iscrowd": 0}],
            }
        ],
        "categories": [{"id": 1, "name": "a", "isthing": 1, "color": [255, 0, 256]}],
    }
    assert _issues(document, "panoptic") == [
        Issue("/annotations/0/segments_info/0/bbox", "expected 4 numbers, got 3"),
        Issue("/categories/0/color/2", "expected a value <= 255, got 256"),
    ]


def test_stuff_needs_rle() -> None:
    document = _doc()
    assert _issues(document, "stuff") == [
        Issue("/annotations/0/segmentation", "expected an object, got a list of 1"),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_checked_in_json_schemas_are_current(kind: str) -> None:
    path = schema_path(kind)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == schema_text(kind), (  # type: ignore[arg-type]
        f"{path.name} is stale: run python -m coco_convert.schemas.generate"
    )


def test_documents_are_not_modified_by_checking() -> None:
    document = _doc()
    document["annotations"][0]["bbox"] = [1, 2, 3, 4]
    before = copy.deepcopy(document)
    check_document(document, "instances")
    assert document == before
