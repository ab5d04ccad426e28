"""What the dataset-operation tests share: small COCO documents built by hand or by
hypothesis, the generated train2017-shaped file, and a self-evaluation with COCOeval."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import coco_convert
from coco_convert import InstancesDataset

from .conftest import REALDATA

CVAT = REALDATA / "coco_cvat/cvat-coco-street-instances_default.json"
ROBOFLOW = REALDATA / "coco_roboflow/roboflow-badminton-train-_annotations.coco.json"
LABELME = REALDATA / "coco_labelme/labelme2coco-annotations.json"
KEYPOINTS = REALDATA / "coco_keypoints/datumaro-person_keypoints_val.json"
CAPTIONS = REALDATA / "coco_captions/datumaro-captions_val.json"
PANOPTIC = REALDATA / "coco_panoptic/panopticapi-panoptic_examples.json"
MMDET = REALDATA / "coco_mmdet_d2/mmdet-coco_sample.json"
RESULTS = REALDATA / "coco_results/cocoapi-fakebbox100_results.json"


def generate(path: Path, *args: str) -> Path:
    """A file from ``shared/bench/gen_coco.py`` (train2017-shaped: 80 categories, ~7
    annotations per image, 30% of them person, crowd RLEs)."""
    subprocess.run(
        [sys.executable, str(REALDATA.parent / "bench" / "gen_coco.py"), str(path), *args],
        check=True,
        capture_output=True,
    )
    return path


def document(
    images: list[tuple[int, str]] | int,
    annotations: list[tuple[int, int, int]],
    categories: list[tuple[int, str]],
    **extra: Any,
) -> dict[str, Any]:
    """A small instances document: ``images`` as (id, file_name) or a count,
    ``annotations`` as (id, image_id, category_id), ``categories`` as (id, name)."""
    if isinstance(images, int):
        images = [(i, f"{i:04d}.jpg") for i in range(1, images + 1)]
    return {
        **extra,
        "images": [{"id": i, "file_name": name, "width": 64, "height": 48} for i, name in images],
        "annotations": [
            {
                "id": a,
                "image_id": image,
                "category_id": category,
                "bbox": [float(a % 7), 2.0, 10.0 + a % 5, 8.0],
                "area": 80.0 + a % 5 * 8,
                "iscrowd": 0,
                "segmentation": [],
            }
            for a, image, category in annotations
        ],
        "categories": [{"id": c, "name": name, "supercategory": ""} for c, name in categories],
    }


def dataset(doc: dict[str, Any], source: str | None = None) -> InstancesDataset:
    found = coco_convert.from_document(doc, kind="instances", source=source)
    assert isinstance(found, InstancesDataset)
    return found


def pycoco(doc: Any) -> COCO:
    coco = COCO()
    coco.dataset = doc
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def self_ap(doc: dict[str, Any]) -> float:
    """COCOeval bbox AP of the dataset's own boxes as detections: 1.0 for a consistent
    dataset (every annotation on an image of the file, of a category of the file)."""
    gt = pycoco(doc)
    detections = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in doc["annotations"]
        if not a.get("iscrowd")
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(detections)
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


# --- hypothesis ------------------------------------------------------------------------------

NAMES = ["person", "car", "dog", "cat", "traffic light", "bicycle", "kite", "keyboard"]


@st.composite
def documents(
    draw: st.DrawFn,
    *,
    prefix: str = "",
    max_images: int = 12,
    max_annotations: int = 30,
    min_images: int = 0,
) -> dict[str, Any]:
    """A valid instances document: distinct ids (not necessarily from 1), file names under
    ``prefix``, categories drawn from :data:`NAMES` with arbitrary distinct ids."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    category_ids = draw(
        st.lists(st.integers(0, 40), min_size=len(names), max_size=len(names), unique=True)
    )
    image_ids = draw(
        st.lists(st.integers(0, 500), min_size=min_images, max_size=max_images, unique=True)
    )
    images = [(i, f"{prefix}{i}.jpg") for i in image_ids]
    annotations: list[tuple[int, int, int]] = []
    if image_ids:
        count = draw(st.integers(0, max_annotations))
        ann_ids = draw(st.lists(st.integers(0, 5000), min_size=count, max_size=count, unique=True))
        for ann_id in ann_ids:
            annotations.append(
                (ann_id, draw(st.sampled_from(image_ids)), draw(st.sampled_from(category_ids)))
            )
    return document(images, annotations, list(zip(category_ids, names, strict=True)))
