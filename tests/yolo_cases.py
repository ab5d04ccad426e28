"""Inputs shared by the YOLO tests and fixtures/yolo/record_ultralytics.py (which records what
ultralytics says about our output on them)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from PIL import Image

from .conftest import FIXTURES, REALDATA

CASES: dict[str, dict[str, Any]] = {
    # Real COCO val2014 excerpt (fixtures/coco): a two-part polygon, a crowd RLE.
    "val2014": {
        "source": str(FIXTURES / "coco" / "instances.json"),
        "tasks": ("detect", "segment"),
        "cls91to80": True,
    },
    # Real COCO val2017 person keypoints (fixtures/coco): persons with 0 labelled keypoints.
    "kp2017": {
        "source": str(FIXTURES / "coco" / "person_keypoints.json"),
        "tasks": ("pose",),
        "cls91to80": True,
    },
    # gen_coco.py: COCO's 80 categories with their 91-set ids, crowd RLE, person keypoints.
    "gen20": {
        "source": str(FIXTURES / "yolo" / "person_keypoints_gen20.json"),
        "tasks": ("detect", "segment", "pose"),
        "cls91to80": True,
    },
    # labelme2coco: category id 0 (_background_), multi-part polygons, JPEGImages/ paths.
    "labelme": {
        "source": str(REALDATA / "coco_labelme" / "labelme2coco-annotations.json"),
        "tasks": ("detect", "segment"),
        "cls91to80": False,
    },
    # Hand-written: Label Studio style paths, backslashes, boxes outside, duplicates, ...
    "edge": {
        "source": str(FIXTURES / "yolo" / "instances_edge.json"),
        "tasks": ("detect", "segment"),
        "cls91to80": False,
    },
}


def make_images(dataset: Any, folder: Path) -> Path:
    """Small solid images at each COCO file_name (its size, or 32x16 without one)."""
    for image in dataset.images:
        text = image["file_name"].replace("\\", "/")
        if text.startswith("/") or text[1:2] == ":":
            text = text.rsplit("/", 1)[-1]
        path = folder / text
        path.parent.mkdir(parents=True, exist_ok=True)
        size = (image.get("width", 32), image.get("height", 16))
        fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
        Image.new("RGB", size, (90, 120, 150)).save(path, fmt)
    return folder


def dataset_digest(root: Path) -> str:
    """SHA-256 of a written YOLO dataset: every path, and the bytes of every file but the
    images (which are copies of ``make_images``' output)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode() + b"\0")
        if not relative.startswith("images/"):
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
