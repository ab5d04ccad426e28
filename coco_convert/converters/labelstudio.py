"""Label Studio JSON exports (full JSON and JSON-MIN) to and from COCO (``labelstudio``).

:func:`read_labelstudio` reads what Label Studio's "Export" gives as JSON or JSON-MIN (a list
of tasks, each an image with its annotations and predictions) as a COCO dataset, or with
``predictions`` as a COCO results file; :func:`write_labelstudio` writes COCO datasets as
tasks to import (pre-annotations as ``predictions``, or ``annotations``) with the labeling
config they need. What each region becomes is in :mod:`.labelstudio_read` and
:mod:`.labelstudio_write`; brush masks are Label Studio's own run-length code
(:mod:`.labelstudio_brush`). Those modules need numpy and are imported when a file is read
or written, not when the registry lists this format. docs/labelstudio.md says the same for
users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset import AnyDataset
from ..io import peek
from .base import Format, Option, Read
from .loss import LossReport

if TYPE_CHECKING:
    from ..streaming import CocoStream

__all__ = ["FORMAT", "detect", "read_labelstudio", "write_labelstudio"]

_SUFFIXES = (".json", ".json.gz")
#: A task of a full export: its annotations or predictions (Label Studio < 1.0:
#: completions), and its data or its first result.
_TASK_LISTS = re.compile(rb'"(?:annotations|predictions|completions)"\s*:\s*\[')
_TASK_BODY = re.compile(rb'"data"\s*:\s*\{|"result"\s*:\s*\[')
#: A JSON-MIN record: the annotation's id and annotator beside the task's data.
_MIN_RECORD = re.compile(rb'"annotation_id"\s*:')
_MIN_ANNOTATOR = re.compile(rb'"annotator"\s*:')


def detect(path: Path) -> bool:
    """A ``.json`` file whose first bytes hold a list of Label Studio tasks (with
    ``annotations`` or ``predictions``, and ``data`` or a ``result``), or of JSON-MIN
    records (``annotation_id`` and ``annotator``)."""
    if not path.is_file() or not path.name.lower().endswith(_SUFFIXES):
        return False
    head = peek(path).lstrip()
    if not head.startswith(b"["):
        return False
    rest = head[1:].lstrip()
    if not rest.startswith(b"{"):
        return False
    if _TASK_LISTS.search(rest) and _TASK_BODY.search(rest):
        return True
    return bool(_MIN_RECORD.search(rest) and _MIN_ANNOTATOR.search(rest))


def read_labelstudio(
    src: str | os.PathLike[str],
    *,
    annotation: str = "latest",
    predictions: bool = False,
    config: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    image_root_url: str | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read a Label Studio JSON or JSON-MIN export as COCO (one split, ``default``).

    Of several annotations of a task ``annotation`` takes the ``latest`` (by creation),
    the ``first``, ``all`` (each annotation's regions then carry ``attributes.annotator``
    and ``attributes.annotation_id``) or the latest by one annotator (a user id or
    e-mail); those left out, and cancelled ones, are reported. ``predictions`` reads the
    tasks' predictions instead, as a COCO results file (each region's ``score``, else its
    prediction's). ``config`` is the project's labeling config: its labels give the
    category ids 1..N in its order (default: ``<export>.label_config.xml`` beside the
    file, else the labels used, sorted). ``images`` is read (headers only) for the size of
    images no region gives. ``image_root_url`` is cut from image URLs to make file names.
    ``jobs`` is accepted for the contract."""
    from . import labelstudio_read

    return labelstudio_read.read(
        src,
        annotation=annotation,
        predictions=predictions,
        config=config,
        images=images,
        image_root_url=image_root_url,
        report=report,
        strict=strict,
    )


def write_labelstudio(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    as_annotations: bool = False,
    model_version: str = "coco-convert",
    image_root_url: str | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write COCO datasets as Label Studio tasks to import: ``out`` ending in ``.json`` is
    the tasks file of one split, anything else a folder with ``<split>.json`` per split;
    each has its labeling config beside it (``<name>.label_config.xml``), and all appear
    together or not at all.

    Objects become ``predictions`` (pre-annotations to review, ``model_version``) or with
    ``as_annotations`` finished ``annotations``. A detection results file given with the
    dataset it was made on becomes the predictions (with scores) of that dataset's tasks,
    whose objects are then their annotations. Image URLs are ``image_root_url`` + the
    file name; without it, an image's ``coco_url``, else Label Studio's local-files URL
    (``/data/local-files/?d=`` + the file name).

    A split may be a COCO file read a chunk at a time
    (:class:`~coco_convert.streaming.CocoStream`, ``--stream``): its tasks are written as
    they are made, the same bytes and report in bounded memory (image ids must be unique)."""
    from . import labelstudio_write

    return labelstudio_write.write(
        datasets,
        out,
        as_annotations=as_annotations,
        model_version=model_version,
        image_root_url=image_root_url,
        report=report,
        strict=strict,
    )


FORMAT = Format(
    name="labelstudio",
    title="Label Studio JSON export (JSON and JSON-MIN)",
    limits=(
        "Regions in percent of the image: rectangles (turned about their top-left corner), "
        "polygons of one ring (several parts become several regions), brush masks (written "
        "in Label Studio's RLE, read back to the pixel), ellipses, keypoints linked to their "
        "rectangle. No category ids (the labeling config's order gives 1..N), crowd flags, "
        "annotation attributes other than rotation, skeleton edges, or the segmentation of a "
        "keypoint annotation (its box and points are written); image attributes only as "
        "text choices."
    ),
    kinds=("instances", "keypoints", "results"),
    patterns=("*.json", "*.label_config.xml"),
    detect=detect,
    read=read_labelstudio,
    write=write_labelstudio,
    read_options=(
        Option(
            "annotation",
            "Which annotation of a task: latest, first, all, or an annotator's id or e-mail.",
            default="latest",
            metavar="WHICH",
        ),
        Option(
            "predictions",
            "Read the tasks' predictions as a COCO results file (scores) instead.",
            type="flag",
        ),
        Option(
            "config",
            "The project's labeling config XML: label order (default: "
            "<export>.label_config.xml beside the export).",
            type="file",
        ),
        Option(
            "images",
            "Image folder, read (headers only) for tasks no region gives a size.",
            type="dir",
        ),
        Option(
            "image_root_url",
            "URL prefix of the images: cut from task URLs (read), put before file names "
            "(write; default: coco_url, else /data/local-files/?d=).",
            metavar="URL",
        ),
    ),
    write_options=(
        Option(
            "as_annotations",
            "Write finished annotations instead of predictions (pre-annotations to review).",
            type="flag",
        ),
        Option(
            "model_version",
            "model_version of the predictions written.",
            default="coco-convert",
            metavar="NAME",
        ),
        Option(
            "image_root_url",
            "URL prefix of the images: cut from task URLs (read), put before file names "
            "(write; default: coco_url, else /data/local-files/?d=).",
            metavar="URL",
        ),
    ),
    output="file or folder",
    aliases=("ls", "label-studio"),
    rules={
        "region_without_label": "L002",
        "keypoint_without_parent": "L003",
        "label_not_in_config": "L004",
        "size_mismatch": "L005",
        "region_without_size": "L005",
        "image_without_size": "L006",
        "image_unreadable": "L006",
        "region_outside_image": "L007",
        "degenerate_region": "L008",
        "duplicate_keypoint": "L009",
        "task_id": "L010",
        "image_rotation": "L011",
        "prediction_without_score": "L012",
    },
    unreadable="L001",
    other="L013",
    docs="docs/labelstudio.md",
    streams=True,
)
