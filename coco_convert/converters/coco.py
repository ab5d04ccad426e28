"""COCO JSON itself as a format: the hub's own reader and writer.

Reading is :func:`coco_convert.load` (every record validated, nothing changed); writing is
:meth:`~coco_convert.dataset.Dataset.save`. Nothing is lost either way, so the report only
counts. One split is one file; several go to a folder as ``instances_<split>.json`` (the
names the COCO dataset itself uses, which :func:`~coco_convert.converters.base.split_name`
reads back).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..dataset import AnyDataset, CocoDataset, load
from ..errors import UsageError
from ..io import atomic_files, peek
from .base import Format, Option, Read, named_splits, split_name
from .loss import LossReport

__all__ = ["FORMAT", "detect", "read_coco", "write_coco"]

_SUFFIXES = (".json", ".json.gz")
#: A COCO dataset is a JSON object with one of these lists (the first 64 KB always show one:
#: info, licenses and the categories come first, or the images).
_DATASET = re.compile(rb'"(?:images|annotations|categories)"\s*:\s*\[')
#: Detection results: a JSON array of objects about images.
_RESULTS = re.compile(rb'"image_id"\s*:')
#: What labeling tools' arrays of tasks hold and results never do (Label Studio's tasks,
#: whose data may well have an image_id, and its JSON-MIN records).
_TASKS = re.compile(rb'"(?:annotations|predictions|completions)"\s*:\s*\[|"annotation_id"\s*:')
#: One image's record of SA-1B (``{"image": {...}, "annotations": [...]}``): not COCO.
_ONE_IMAGE = re.compile(rb'\{\s*"image"\s*:\s*\{')


def detect(path: Path) -> bool:
    """A ``.json`` (or ``.json.gz``) file holding a COCO object or a results array."""
    if not path.is_file() or not path.name.lower().endswith(_SUFFIXES):
        return False
    head = peek(path).lstrip()
    if head.startswith(b"{"):
        return _DATASET.search(head) is not None and _ONE_IMAGE.match(head) is None
    if head.startswith(b"["):
        rest = head[1:].lstrip()
        if rest.startswith(b"]"):
            return True
        return rest.startswith(b"{") and bool(_RESULTS.search(rest)) and not _TASKS.search(rest)
    return False


def read_coco(
    src: str | os.PathLike[str],
    *,
    split: str | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Load a COCO file (any kind; every record checked against the schema): one split,
    named ``split`` or after the file (``instances_val2017.json`` -> ``val2017``).
    ``strict`` and ``jobs`` are accepted for the contract (a COCO file has nothing to warn
    about that is not a schema error)."""
    report = LossReport("coco") if report is None else report
    name = os.fspath(src)
    dataset = load(name)
    if isinstance(dataset, CocoDataset):
        report.count("images", len(dataset.images))
        report.count("annotations", len(dataset.annotations))
    else:
        report.count("results", len(dataset.results))
    report.raise_if_strict(strict)
    return {split or split_name(name): dataset}, report


def write_coco(
    datasets: AnyDataset | Mapping[str, AnyDataset],
    out: str | os.PathLike[str],
    *,
    indent: int | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write each split as COCO JSON: ``out`` ending in ``.json`` or ``.json.gz`` is the one
    file of a single split, anything else a folder that gets ``instances_<split>.json`` per
    split. The output appears whole: one file atomically, or all the files of a folder or
    none (other files in the folder are left alone); ``indent`` pretty-prints."""
    report = LossReport("coco") if report is None else report
    splits = named_splits(datasets)
    target = Path(out)
    single = target.name.lower().endswith(_SUFFIXES)
    if single and len(splits) > 1:
        raise UsageError(
            f"{target}: the input has the splits {', '.join(splits)}; pass --split NAME for "
            "one file, or an output folder for one file per split"
        )
    report.raise_if_strict(strict)
    if single:
        next(iter(splits.values())).save(target, indent=indent)
    else:  # one file per split, all of them or none
        with atomic_files(target) as stage:
            for name, dataset in splits.items():
                dataset.save(stage / f"instances_{name}.json", indent=indent)
    report.count("files_written", len(splits))
    return report


FORMAT = Format(
    name="coco",
    title="COCO JSON",
    limits=(
        "The hub: every kind (instances, keypoints, captions, panoptic, stuff, detection "
        "results) is read and written as it is, key order and extra keys included. Panoptic "
        "PNGs are not copied."
    ),
    kinds=("instances", "keypoints", "captions", "panoptic", "stuff", "results"),
    patterns=("*.json", "*.json.gz"),
    detect=detect,
    read=read_coco,
    write=write_coco,
    read_options=(
        Option(
            "split",
            "Split name of a single input (default: from its file name, "
            "instances_val2017.json -> val2017).",
            metavar="NAME",
        ),
    ),
    write_options=(
        Option("indent", "Pretty-print the JSON with this indent.", type="int", minimum=0),
    ),
    output="file or folder",
    docs="docs/coco.md",
)
