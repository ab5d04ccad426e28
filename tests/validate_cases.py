"""Small COCO documents for the validator's tests: clean bases, and per rule a corruption
that must trigger it (applied to a copy of a base)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Doc = Any


def _runs(height: int, width: int, top: int, left: int, size: int) -> list[int]:
    """Uncompressed RLE (column-major) of a size x size square at (left, top)."""
    flat = [
        1 if left <= col < left + size and top <= row < top + size else 0
        for col in range(width)
        for row in range(height)
    ]
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts


def _rectangle() -> dict[str, Any]:
    """Annotation 1: a 20 x 10 rectangle on image 1, with pycocotools' area and box."""
    return {
        "id": 1,
        "image_id": 1,
        "category_id": 1,
        "segmentation": [[10.0, 10.0, 30.0, 10.0, 30.0, 20.0, 10.0, 20.0]],
        "area": 200.0,
        "bbox": [10.0, 10.0, 20.0, 10.0],
        "iscrowd": 0,
    }


def instances() -> Doc:
    return {
        "info": {"description": "validator test", "version": "1"},
        "licenses": [],
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.jpg", "width": 50, "height": 50},
        ],
        "annotations": [
            _rectangle(),
            {
                "id": 2,
                "image_id": 2,
                "category_id": 2,
                "segmentation": {"counts": _runs(50, 50, 10, 10, 10), "size": [50, 50]},
                "area": 100.0,
                "bbox": [10.0, 10.0, 10.0, 10.0],
                "iscrowd": 1,
            },
        ],
        "categories": [
            {"id": 1, "name": "cat", "supercategory": "animal"},
            {"id": 2, "name": "dog", "supercategory": "animal"},
        ],
    }


def keypoints() -> Doc:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
        "annotations": [
            {**_rectangle(), "keypoints": [12, 12, 2, 20, 15, 1, 0, 0, 0], "num_keypoints": 2}
        ],
        "categories": [
            {
                "id": 1,
                "name": "person",
                "supercategory": "person",
                "keypoints": ["head", "hip", "foot"],
                "skeleton": [[1, 2], [2, 3]],
            }
        ],
    }


def panoptic() -> Doc:
    return {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
        ],
        "annotations": [
            {
                "image_id": 1,
                "file_name": "a.png",
                "segments_info": [
                    {"id": 1, "category_id": 1, "area": 10, "bbox": [0, 0, 5, 2], "iscrowd": 0},
                    {"id": 2, "category_id": 2, "area": 20, "bbox": [0, 2, 5, 4], "iscrowd": 0},
                ],
            },
            {"image_id": 2, "file_name": "b.png", "segments_info": []},
        ],
        "categories": [
            {"id": 1, "name": "person", "isthing": 1, "color": [220, 20, 60]},
            {"id": 2, "name": "sky", "isthing": 0, "color": [70, 130, 180]},
        ],
    }


def results() -> Doc:
    return [
        {"image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5},
        {"image_id": 2, "category_id": 1, "bbox": [5.0, 6.0, 7.0, 8.0], "score": 0.9},
    ]


BASES: dict[str, Callable[[], Doc]] = {
    "instances": instances,
    "keypoints": keypoints,
    "panoptic": panoptic,
    "results": results,
}


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A corruption that sets ``value`` at a slash path such as ``annotations/0/bbox``."""

    def apply(doc: Doc) -> None:
        *parents, last = path.split("/")
        target = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


def _delete(path: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        *parents, last = path.split("/")
        target = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return apply


def _all(*steps: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        for step in steps:
            step(doc)

    return apply


def _append(key: str, value: Callable[[Doc], Any]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        doc[key].append(value(doc))

    return apply


def _category_zero(doc: Doc) -> None:
    doc["categories"][0]["id"] = 0
    doc["annotations"][0]["category_id"] = 0


def _roboflow(doc: Doc) -> None:
    for category in doc["categories"]:
        category["supercategory"] = "pets"
    doc["categories"].insert(0, {"id": 3, "name": "pets", "supercategory": "none"})


POLYGON = "annotations/0/segmentation"


def _append_polygon(polygon: list[float]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        doc["annotations"][0]["segmentation"].append(polygon)

    return apply


#: code -> (base, corruption). Each corruption must make its rule report.
CASES: dict[str, tuple[str, Callable[[Doc], None]]] = {
    "S001": ("instances", _delete("images/0/file_name")),
    "S002": ("instances", _set("annotations/0/id", 1.0)),
    "S003": ("instances", _set("images/0/width", "100")),
    "S004": ("instances", _set("annotations/0/iscrowd", False)),
    "S005": ("instances", _set(POLYGON, [10.0, 10.0, 30.0, 10.0, 30.0, 20.0, 10.0, 20.0])),
    "S006": ("instances", _set("annotations/0/id", 10**30)),
    "S101": ("instances", _delete("annotations/0/iscrowd")),
    "S102": ("instances", _delete("annotations/0/area")),
    "S103": ("instances", _delete("annotations/0/bbox")),
    "R001": ("instances", _set("images/1/id", 1)),
    "R002": ("instances", _set("annotations/1/id", 1)),
    "R003": ("instances", _set("categories/1/id", 1)),
    "R004": ("instances", _set("annotations/0/image_id", 99)),
    "R005": ("instances", _set("annotations/0/category_id", 99)),
    "R006": ("instances", _category_zero),
    "R007": ("instances", _set("categories/1/name", "cat")),
    "R008": ("instances", _append("categories", lambda d: {"id": 3, "name": "bird"})),
    "R009": ("instances", _set("annotations/0/id", 0)),
    "R010": (
        "instances",
        _append("annotations", lambda d: {**copy.deepcopy(d["annotations"][0]), "id": 3}),
    ),
    "G101": ("instances", _set("annotations/0/bbox", [10.0, 10.0, 0.0, 10.0])),
    "G102": (
        "instances",
        _all(_delete(POLYGON), _set("annotations/0/bbox", [90.0, 10.0, 20.0, 10.0])),
    ),
    "G103": ("instances", _set("annotations/0/bbox", [200.0, 10.0, 20.0, 10.0])),
    "G104": ("instances", _set("annotations/0/bbox", [10.0, 10.0, 25.0, 10.0])),
    "G105": ("instances", _set("annotations/0/area", 500.0)),
    "G106": ("instances", _append_polygon([0.0, 0.0, 10.0, 0.0, 20.0, 0.0])),
    "G107": ("instances", _set(POLYGON, [[10.0, 10.0, 30.0, 20.0, 30.0, 10.0, 10.0, 20.0]])),
    "G108": ("instances", _set("annotations/1/segmentation/size", [40, 60])),
    "G109": ("instances", _set("annotations/1/segmentation/counts", [100, 10, 5])),
    "G110": ("instances", _set("annotations/0/iscrowd", 1)),
    "G111": ("instances", _set(f"{POLYGON}/0/2", 120.0)),
    "G112": ("instances", _set(POLYGON, [])),
    "K001": ("keypoints", _set("annotations/0/keypoints", [12, 12, 2, 20, 15, 1])),
    "K002": ("keypoints", _set("annotations/0/num_keypoints", 3)),
    "K003": ("keypoints", _set("annotations/0/keypoints/5", 3)),
    "K004": ("keypoints", _set("categories/0/skeleton/1", [0, 1])),
    "K005": ("keypoints", _set("annotations/0/keypoints/0", 95)),
    "K006": ("keypoints", _set("annotations/0/keypoints/6", 40)),
    "I001": ("instances", _delete("images/0/height")),
    "I002": ("instances", _set("images/1/file_name", "a.jpg")),
    "I003": ("instances", _set("images/0/file_name", "/home/me/a.jpg")),
    "I004": ("instances", _set("images/0/file_name", "train\\a.jpg")),
    "I007": ("instances", _set("images/0/width", -1)),
    "I009": ("instances", _set("images/0/width", 2**31 - 1)),
    "P001": ("panoptic", _set("annotations/0/segments_info/1/id", 1)),
    "P003": ("panoptic", _set("annotations/1/image_id", 1)),
    "P004": ("panoptic", _set("annotations/0/segments_info/0/id", 0)),
    "D001": ("results", _set("0/score", 1.5)),
    "D002": ("results", lambda doc: doc.clear()),
    "T001": ("instances", _roboflow),
    "T002": ("instances", _append("categories", lambda d: {"id": 3, "name": "_background_"})),
    "T003": (
        "instances",
        _set("annotations/0/attributes", {"occluded": False, "rotation": 30.0}),
    ),
    "T004": (
        "instances",
        _all(
            _set("info", {"contributor": "Label Studio", "year": 2024}),
            _set("images/0/file_name", "images/8e2d31b2-a.jpg"),
        ),
    ),
    "T005": (
        "instances",
        _all(
            _set("info", {"description": "my-project-name"}),
            _delete("licenses"),
            _delete("annotations/0/category_id"),
        ),
    ),
    "T006": (
        "instances",
        _all(
            _set("info", {"description": "Exported using VGG Image Annotator (via)"}),
            _set("annotations/0/image_id", "1"),
        ),
    ),
}


def corrupted(code: str) -> tuple[str, Doc]:
    """(kind, document) that must trigger ``code``."""
    base, corrupt = CASES[code]
    doc = BASES[base]()
    corrupt(doc)
    return base, doc
