"""YOLO label folders to and from COCO: detect, segment and pose (the ``yolo`` format).

:func:`read_yolo` reads the layouts ultralytics accepts (a ``data.yaml``, a dataset folder
with ``images/<split>`` and ``labels/<split>``, Roboflow's ``<split>/images``, or a labels
folder beside an images folder) and darknet's (``obj.data``, ``obj.names``, list files);
:func:`write_yolo` writes either layout. The work is in :mod:`.yolo_read`,
:mod:`.yolo_write` and :mod:`.yolo_rows`, which need numpy and are imported when a dataset is
read or written, not when the registry lists this format.

Conventions, and where we differ from ultralytics' own converter on purpose, are in
:mod:`.yolo_write`; docs/yolo.md says the same for users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

from ..dataset import AnyDataset
from ..errors import InputError, UsageError
from ..images import ImageMode
from ..io import open_file
from .base import Format, Option, Read
from .loss import LossReport

__all__ = [
    "FORMAT",
    "LAYOUTS",
    "TASKS",
    "ImageMode",
    "Layout",
    "Task",
    "detect",
    "read_yolo",
    "write_yolo",
]

Task = Literal["detect", "segment", "pose"]
Layout = Literal["ultralytics", "darknet"]

TASKS: tuple[Task, ...] = get_args(Task)
LAYOUTS: tuple[Layout, ...] = get_args(Layout)

#: Files that describe a YOLO dataset.
_DESCRIPTIONS = ("data.yaml", "data.yml", "dataset.yaml", "obj.data")
#: What a YOLO data.yaml holds near its top (ultralytics, Roboflow, CVAT, Label Studio).
_YAML_KEYS = re.compile(rb"^(?:names|nc|train|val|path)\s*:", re.M)


def read_yolo(
    src: str | os.PathLike[str],
    *,
    split: str | None = None,
    images: str | os.PathLike[str] | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read a YOLO dataset as COCO: one dataset per split, and the report of what was wrong.

    ``src`` is a ``data.yaml`` (or darknet ``obj.data``), a dataset folder, or a labels folder
    (with ``images``, the folder of its images). ``split`` keeps only the split of that name
    (with a labels folder: names it). Rows that cannot be read (a class index beyond the
    names, a wrong number of values, non-numbers, values far outside [0, 1]) and images no
    reader can open are warnings at ``file:line``; with ``strict`` they are an error.
    Image sizes come from the image headers, EXIF rotation applied as training frameworks
    load the images. Categories get ids 1..N, or the ids a ``data.yaml`` written by
    coco-convert recorded (``coco_category_ids``)."""
    from . import yolo_read

    return yolo_read.read(src, split=split, images=images, report=report, strict=strict, jobs=jobs)


def write_yolo(
    datasets: AnyDataset | Mapping[str, AnyDataset],
    out: str | os.PathLike[str],
    *,
    task: Task = "detect",
    layout: Layout = "ultralytics",
    images: str | os.PathLike[str] | None = None,
    image_mode: ImageMode | None = None,
    include_crowd: bool = False,
    overwrite: bool = False,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write COCO ``datasets`` (by split name; one dataset is named after its file,
    ``instances_val2017.json`` -> ``val2017``) as a YOLO dataset in ``out`` and report what
    it could not carry.

    Class ``i`` is the ``i``-th category by id (COCO's 91 ids give the usual 80 classes);
    ``data.yaml`` records the mapping. ``images`` is the folder the COCO ``file_name``\\ s
    are relative to: with ``image_mode`` ``"copy"`` or ``"symlink"`` the images are placed
    beside the labels, and their headers are read to check (and, where COCO has none,
    supply) each image's size. The output folder is written atomically; an existing
    non-empty one is replaced only with ``overwrite``. The records must fit the COCO schema
    (every reader checks them; a document loaded with ``validate=False`` is not)."""
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r} (choose {', '.join(TASKS)})")
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r} (choose {', '.join(LAYOUTS)})")
    from . import yolo_write

    return yolo_write.write(
        datasets,
        out,
        task=task,
        layout=layout,
        images=images,
        image_mode=image_mode,
        include_crowd=include_crowd,
        overwrite=overwrite,
        report=report,
        strict=strict,
        jobs=jobs,
    )


def detect(path: Path) -> bool:
    """A ``data.yaml`` (YOLO keys near its top) or darknet ``obj.data``; or a folder holding
    one, or laid out as ``images/`` + ``labels/`` or ``<split>/images`` + ``<split>/labels``."""
    if path.is_file():
        if path.name == "obj.data":
            return True
        if path.suffix.lower() not in (".yaml", ".yml"):
            return False
        try:
            with open_file(path) as handle:  # (never blocks on a named pipe)
                return _YAML_KEYS.search(handle.read(8192)) is not None
        except (InputError, OSError):
            return False
    if not path.is_dir():
        return False
    if any((path / name).is_file() for name in _DESCRIPTIONS):
        return True
    if (path / "images").is_dir() and (path / "labels").is_dir():
        return True
    try:  # one listing; DirEntry.is_dir() needs no stat on the common file systems
        with os.scandir(path) as entries:
            folders = [Path(entry.path) for entry in entries if entry.is_dir()]
    except OSError:
        return False
    return any((sub / "images").is_dir() and (sub / "labels").is_dir() for sub in folders)


FORMAT = Format(
    name="yolo",
    title="YOLO (ultralytics and darknet layouts)",
    limits=(
        "One class index and normalised numbers per row: a box (detect), one polygon "
        "(segment: several parts are joined into one ring, holes cut in) or a box with "
        "keypoints (pose). No crowd regions (left out unless --include-crowd), image or "
        "annotation ids, info, licenses, supercategories or skeletons; coordinates keep 6 "
        "decimals and are clipped to the image. Image sizes come from the image files."
    ),
    kinds=("instances", "keypoints"),
    patterns=(
        "data.yaml",
        "images/<split>/*.jpg",
        "labels/<split>/*.txt",
        "obj.data",
        "obj.names",
    ),
    detect=detect,
    read=read_yolo,
    write=write_yolo,
    read_options=(
        Option(
            "split",
            "Convert only this split (with a labels folder: its name).",
            metavar="NAME",
        ),
        Option("images", "The images of a labels folder SRC.", type="dir"),
    ),
    write_options=(
        Option(
            "task",
            "Rows to write: boxes, polygons, or boxes with keypoints.",
            type="choice",
            choices=TASKS,
            default="detect",
        ),
        Option(
            "images",
            "Folder the COCO file_names are relative to; needs --copy or --symlink.",
            type="dir",
        ),
        Option(
            "image_mode",
            "How to place the images of --images in the dataset.",
            type="choice",
            choices=get_args(ImageMode),
            switches=(
                ("--copy", "copy", "Copy the images into the dataset."),
                ("--symlink", "symlink", "Link the images into the dataset."),
            ),
        ),
        Option(
            "layout",
            "ultralytics: images/ + labels/ + data.yaml; darknet: obj.data, obj.names, train.txt.",
            type="choice",
            choices=LAYOUTS,
            default="ultralytics",
        ),
        Option("include_crowd", "Keep crowd annotations as objects.", type="flag"),
        Option("overwrite", "Replace the output folder if it exists.", type="flag"),
    ),
    output="folder",
    aliases=("ultralytics", "darknet"),
    rules={
        "class_out_of_range": "Y002",
        "out_of_range": "Y003",
        "bad_row": "Y004",
        "empty_box": "Y005",
        "duplicate_row": "Y006",
        "image_unreadable": "Y007",
        "label_unreadable": "Y008",
        "label_without_image": "Y009",
        "names_disagree": "Y010",
        "splits_share_images": "Y011",
        "no_names": "Y012",
        "path_not_here": "Y013",
        "split_missing": "Y014",
        "similar_class_names": "Y016",
    },
    unreadable="Y001",
    other="Y015",
    line_fixes={"duplicate_row": "drop the repeated row"},
    docs="docs/yolo.md",
    streams=True,
)
