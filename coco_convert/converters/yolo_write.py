"""COCO -> YOLO: the writer of the ``yolo`` format (:mod:`coco_convert.converters.yolo`).

:func:`write` writes the layout ultralytics trains on, ``images/<split>/`` and
``labels/<split>/*.txt`` with a ``data.yaml``, or darknet's ``obj.data`` / ``obj.names`` /
``<split>.txt``.

Conventions, and where we differ from ``ultralytics.data.converter.convert_coco`` on purpose:

* Class indices are ``0..N-1`` in category-id order and written out (``names`` and
  ``coco_category_ids`` in ``data.yaml``); for COCO's 80 categories (ids 1..90 with gaps) this
  is exactly ultralytics' ``coco91_to_coco80_class``. ultralytics' default ``cls91to80=True``
  applies the COCO table to *any* dataset, and ``False`` gives ``category_id - 1``, which
  leaves gaps and breaks on id 0.
* Every image gets a label file; an empty file marks a background image (ultralytics writes
  files only for images with annotations).
* Label paths are derived from image paths with ultralytics' own rule (``img2label_paths``:
  the last ``/images/`` becomes ``/labels/``, the suffix ``.txt``). A leading ``images/`` in a
  ``file_name`` (Label Studio) is dropped, so ``images/<split>/x.jpg`` pairs with
  ``labels/<split>/x.txt``; ultralytics' converter keeps it and its labels are then not found.
* Rows use 6 fixed decimals (ultralytics writes ``%g``: 6 significant digits, ``1e-05``) and
  are clipped to the image; the clips are counted. Unclipped rows beyond 1.01 make ultralytics
  drop the whole label file as corrupt.
* Multi-part polygons are joined into one ring with ultralytics' ``merge_multi_segment``,
  point for point. An object with no usable polygon becomes the rectangle of its box (as in
  ultralytics); both are reported as losses.
* Pose: every annotation is kept; one without labelled keypoints keeps its box with ``0 0 0``
  keypoints (ultralytics drops it, which teaches the box head that the person is background).
* Crowd regions are left out unless asked for; exact duplicate rows are written once.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import yaml

from .. import __version__
from ..dataset import AnyDataset, CocoDataset, InstancesDataset, KeypointsDataset, StuffDataset
from ..errors import GeometryError, InputError, Location, UsageError, printable
from ..images import (
    ImageFileError,
    ImageOutsideFolderError,
    find_image,
    is_image_name,
    place_images,
    read_sizes,
)
from ..io import atomic_directory, atomic_write, files_written_behind, gc_paused
from ..parallel import map_tasks
from ..progress import track
from ..streaming import CocoStream
from .base import named_splits
from .loss import LossReport
from .yolo_rows import (
    FloatArray,
    IntArray,
    as_float_array,
    darknet_label_path,
    flip_indices,
    format_rows,
    label_path,
    merge_multi_segment,
)

if TYPE_CHECKING:  # (the format module imports this one when it writes)
    from .yolo import ImageMode, Layout, Task

__all__ = ["ClassMap", "class_map", "label_path", "merge_multi_segment", "write"]

#: Rows formatted per batch: bounds the memory of the formatter (about 40 bytes per number).
_BATCH_VALUES = 2_000_000


# --- classes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMap:
    """YOLO class indices of COCO categories: index ``i`` is the ``i``-th category by id."""

    category_ids: list[int]
    names: list[str]
    index: dict[int, int]
    #: Keypoint names shared by the categories that have keypoints (pose), else empty.
    keypoint_names: list[str] = field(default_factory=list)
    #: Class indices of the categories that carry keypoint names.
    keypoint_classes: list[int] = field(default_factory=list)
    skeleton_categories: int = 0


def class_map(datasets: Iterable[CocoDataset[Any, Any]]) -> ClassMap:
    """Class indices ``0..N-1`` in category-id order over the categories of all ``datasets``
    (which must agree on the name of each id)."""
    by_id: dict[int, dict[str, Any]] = {}
    for dataset in datasets:
        for category in dataset.categories:
            seen = by_id.get(category["id"])
            if seen is not None and seen.get("name") != category.get("name"):
                raise InputError(
                    dataset.source or "<dataset>",
                    f"category id {category['id']} is {category.get('name')!r} here but "
                    f"{seen.get('name')!r} in another input",
                    hint="convert files that share one category list",
                )
            if seen is None or ("keypoints" in category and "keypoints" not in seen):
                by_id[category["id"]] = cast("dict[str, Any]", category)
    ids = sorted(by_id)
    names = [str(by_id[i].get("name", i)) for i in ids]
    keypoint_names: list[str] = []
    keypoint_classes: list[int] = []
    skeletons = 0
    for index, category_id in enumerate(ids):
        category = by_id[category_id]
        names_here = category.get("keypoints") or []
        if category.get("skeleton"):
            skeletons += 1
        if not names_here:
            continue
        if keypoint_names and len(names_here) != len(keypoint_names):
            raise InputError(
                "<categories>",
                f"categories have different numbers of keypoints ({len(keypoint_names)} and "
                f"{len(names_here)} for {category.get('name')!r}); YOLO pose has one kpt_shape",
            )
        keypoint_names = keypoint_names or [str(name) for name in names_here]
        keypoint_classes.append(index)
    return ClassMap(
        category_ids=ids,
        names=names,
        index={category_id: i for i, category_id in enumerate(ids)},
        keypoint_names=keypoint_names,
        keypoint_classes=keypoint_classes,
        skeleton_categories=skeletons,
    )


# --- paths ----------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _relative_image_path(file_name: str) -> tuple[str, bool]:
    """A COCO ``file_name`` as a safe relative POSIX path, and whether it had to be reduced to
    its base name (absolute paths and ``..`` cannot be placed inside the output folder)."""
    text = file_name.replace("\\", "/")
    absolute = text.startswith("/") or bool(_DRIVE.match(text))
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if absolute or ".." in parts:
        return (parts[-1] if parts else ""), True
    if len(parts) > 1 and parts[0] == "images":
        parts = parts[1:]
    return "/".join(parts), False


def _yaml_key(split: str) -> str:
    lower = split.lower()
    if lower.startswith(("val", "valid")):
        return "val"
    if lower.startswith("test"):
        return "test"
    return "train"


# --- COCO -> YOLO -----------------------------------------------------------------------------


@dataclass
class _Rows:
    """Label rows of one split in COCO pixel units, before normalisation."""

    image: list[int] = field(default_factory=list)
    cls: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    #: Flat numbers per row: a bbox (detect), ring coordinates (segment) or a bbox then
    #: keypoint triples (pose). Lists of Python numbers or arrays (joined rings).
    values: list[Any] = field(default_factory=list)


def write(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
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
    """:func:`coco_convert.converters.yolo.write_yolo` (which documents it, and checks
    ``task`` and ``layout``)."""
    if layout == "darknet" and task != "detect":
        raise UsageError("the darknet layout holds boxes only: use --task detect")
    if (images is None) != (image_mode is None):
        raise UsageError("--images DIR goes with --copy or --symlink (how to place the images)")
    given: dict[str, Any] = dict(named_splits(datasets))  # type: ignore[arg-type]
    streams: dict[str, CocoStream] = {
        name: d for name, d in given.items() if isinstance(d, CocoStream)
    }
    splits = cast(
        "dict[str, CocoDataset[Any, Any]]",
        {
            name: streams[name].header_dataset() if name in streams else d
            for name, d in given.items()
        },
    )
    for dataset in splits.values():
        if not isinstance(dataset, InstancesDataset | KeypointsDataset | StuffDataset):
            raise UsageError(
                f"{dataset.source or '<dataset>'}: a COCO {dataset.kind} file has no objects "
                "to write as YOLO labels (use an instances or person_keypoints file)"
            )
    classes = class_map(splits.values())
    if task == "pose" and not classes.keypoint_names:
        raise UsageError(
            "--task pose needs categories with keypoint names (a person_keypoints file)"
        )
    report = LossReport("coco2yolo") if report is None else report
    writer = _SplitWriter(
        classes=classes,
        task=task,
        layout=layout,
        images=Path(images) if images is not None else None,
        image_mode=image_mode,
        include_crowd=include_crowd,
        report=report,
        jobs=jobs,
    )
    # The cyclic GC would re-scan the whole dataset (millions of objects) again and again
    # while rows are gathered; nothing here makes reference cycles.
    inputs = [d.source for d in splits.values() if d.source]
    if images is not None:
        inputs.append(os.fspath(images))
    with gc_paused(), atomic_directory(out, overwrite=overwrite, inputs=inputs) as tmp:
        lists: dict[str, list[str]] = {}
        for name, dataset in splits.items():
            if name in streams:
                lists[name] = writer.write_stream(streams[name], name, tmp)
            else:
                lists[name] = writer.write(dataset, name, tmp)
                writer.tally(dataset)
        report.raise_if_strict(strict)
        if layout == "ultralytics":
            _write_data_yaml(tmp, splits, classes, task, report)
        else:
            _write_darknet_files(tmp, lists, classes)
    _report_dataset_losses(report, splits, classes, task, writer.tallies)
    return report


@dataclass
class _LabelTotals:
    """What writing label files wrote and dropped, reported once at the end."""

    written: int = 0
    rows: int = 0
    clipped: int = 0
    duplicates: int = 0
    bad_visibility: int = 0


@dataclass
class _SplitWriter:
    classes: ClassMap
    task: Task
    layout: Layout
    images: Path | None
    image_mode: ImageMode | None
    include_crowd: bool
    report: LossReport
    jobs: int | None
    #: Images, annotations, and annotations with a segmentation or keypoints, over every
    #: split (what the format drops as a whole is reported from these).
    tallies: Counter[str] = field(default_factory=Counter)
    #: The RLE masks of the rows being gathered, traced (:func:`_trace_masks_of`).
    _traced: dict[int, Any] = field(default_factory=dict)

    def tally(self, dataset: CocoDataset[Any, Any]) -> None:
        self._tally_annotations(dataset.annotations)
        self.tallies["images"] += len(dataset.images)

    def _tally_annotations(self, annotations: Sequence[Any]) -> None:
        self.tallies["annotations"] += len(annotations)
        for key in ("segmentation", "num_keypoints"):
            self.tallies[key] += sum(1 for ann in annotations if ann.get(key))

    def _folders(self, split: str) -> tuple[str, str]:
        """The split's image and label folders in this layout."""
        if self.layout == "ultralytics":
            return f"images/{split}", f"labels/{split}"
        return f"obj_{split}_data", f"obj_{split}_data"

    def _finish(
        self,
        root: Path,
        image_dir: str,
        image_paths: list[str],
        keep: np.ndarray,
        sources: list[str | ImageFileError] | None,
        readable: np.ndarray,
    ) -> list[str]:
        """The image folder made (and the images placed, with --images); the kept images'
        paths for a list file."""
        (root / image_dir).mkdir(parents=True, exist_ok=True)
        if sources is not None:
            self._place_images(sources, image_paths, root, keep & readable)
        prefix = "data/" if self.layout == "darknet" else "./"
        return [
            prefix + path for path, kept in zip(image_paths, keep.tolist(), strict=True) if kept
        ]

    def write_stream(self, stream: CocoStream, split: str, root: Path) -> list[str]:
        """:meth:`write` for a file read a chunk at a time (``--stream``): the images first
        (only what a label file needs of each), then the annotations in file order, their
        rows kept by image range (in memory while the file keeps each image's annotations
        together, else in a temporary folder) and written a range at a time. The same
        files and report as :meth:`write`."""
        name = stream.name
        image_dir, label_dir = self._folders(split)
        images = [
            {key: image[key] for key in ("file_name", "width", "height") if key in image}
            for _, records in stream.checked("images")
            for image in records
        ]
        self.tallies["images"] += len(images)
        image_paths, label_paths, keep = self._paths(images, name, image_dir, label_dir)
        sources = None if self.images is None else [self._source_image(image) for image in images]
        width, height, readable = self._sizes(images, name, keep, sources)
        del images
        positions = stream.image_positions(last=True)
        ranges = _RowRanges(positions, len(label_paths))
        usable = keep.tolist()
        totals = _LabelTotals()
        crowd = 0
        try:
            for first, records in stream.checked("annotations"):
                self._tally_annotations(records)
                where = positions[first : first + len(records)].tolist()
                rows, found = self._gather(
                    ((first + j, ann) for j, ann in enumerate(records)),
                    lambda a, _, where=where, first=first: (  # type: ignore[misc]
                        None if where[a - first] < 0 else where[a - first]
                    ),
                    name,
                    width,
                    height,
                    usable,
                )
                crowd += found
                ranges.add(_packed(rows))
                del records, rows
                for span, rows_here in ranges.complete(first + len(where)):
                    self._write_labels(
                        root, rows_here, label_paths, width, height, keep, totals, span
                    )
            for span, rows_here in ranges.rest():
                self._write_labels(root, rows_here, label_paths, width, height, keep, totals, span)
        finally:
            ranges.close()
        self._report_crowd(crowd)
        self._report_labels(totals)
        return self._finish(root, image_dir, image_paths, keep, sources, readable)

    def write(self, dataset: CocoDataset[Any, Any], split: str, root: Path) -> list[str]:
        """Write one split's label files (and images); returns the image paths for a list
        file (darknet). The records are schema-valid: the readers check them (the COCO reader
        validates every record before anything is written)."""
        name = dataset.source or f"<{split}>"
        images = dataset.images
        image_dir, label_dir = self._folders(split)
        image_paths, label_paths, keep = self._paths(images, name, image_dir, label_dir)
        # Each image's file under --images, found once: its size is read, then it is placed.
        sources = None if self.images is None else [self._source_image(image) for image in images]
        width, height, readable = self._sizes(images, name, keep, sources)
        index_of = {image["id"]: i for i, image in enumerate(images)}
        rows, crowd = self._gather(
            enumerate(track(dataset.annotations, desc="annotations", unit="ann")),
            lambda _, ann: index_of.get(ann["image_id"]),
            name,
            width,
            height,
            keep.tolist(),
        )
        self._report_crowd(crowd)
        totals = _LabelTotals()
        self._write_labels(root, rows, label_paths, width, height, keep, totals)
        self._report_labels(totals)
        return self._finish(root, image_dir, image_paths, keep, sources, readable)

    # Paths ----------------------------------------------------------------------------------

    def _paths(
        self, images: Sequence[Any], name: str, image_dir: str, label_dir: str
    ) -> tuple[list[str], list[str], np.ndarray]:
        report = self.report
        image_paths: list[str] = []
        label_paths: list[str] = []
        keep = np.ones(len(images), dtype=bool)
        owner: dict[str, int] = {}
        for i, image in enumerate(images):
            relative, reduced = _relative_image_path(image["file_name"])
            if reduced:
                report.count("file_names_reduced_to_base_name")
            if not relative or not is_image_name(relative):
                report.warn(
                    "not_an_image_name",
                    "images whose file_name has no image suffix that ultralytics loads "
                    "(jpg, png, ...): left out",
                    where=Location(name, pointer=f"/images/{i}/file_name"),
                )
                keep[i] = False
            image_path = f"{image_dir}/{relative}"
            if self.layout == "ultralytics":
                label = label_path(image_path)
                if not label.startswith(label_dir + "/"):
                    # A folder named `images` inside file_name: ultralytics looks there.
                    report.count("labels_beside_inner_images_folder")
            else:
                label = darknet_label_path(image_path)
            first = owner.setdefault(label, i)
            if first != i and keep[i]:
                report.warn(
                    "label_path_collision",
                    "images that share a label file with an earlier image (same folder and "
                    "stem, e.g. a.jpg and a.png): left out",
                    where=Location(name, pointer=f"/images/{i}/file_name"),
                )
                keep[i] = False
            image_paths.append(image_path)
            label_paths.append(label)
        return image_paths, label_paths, keep

    # Sizes ----------------------------------------------------------------------------------

    def _sizes(
        self,
        images: Sequence[Any],
        name: str,
        keep: np.ndarray,
        sources: list[str | ImageFileError] | None,
    ) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """Each image's width and height (COCO's, else its file's header), and whether its
        file under --images could be read (only readable files are placed)."""
        n = len(images)
        width = np.zeros(n, dtype=np.float64)
        height = np.zeros(n, dtype=np.float64)
        readable = np.ones(n, dtype=bool)
        for i, image in enumerate(images):
            w, h = image.get("width"), image.get("height")
            if type(w) is int and type(h) is int and w > 0 and h > 0:
                width[i], height[i] = w, h
        if sources is not None:
            paths = [source for source in sources if isinstance(source, str)]
            sizes = iter(read_sizes(paths, jobs=self.jobs))
            for i, source in enumerate(sources):
                found = next(sizes) if isinstance(source, str) else source
                if not keep[i]:
                    continue
                if isinstance(found, ImageOutsideFolderError):
                    readable[i] = False
                    self.report.warn(
                        "image_outside_folder",
                        "images whose file_name leads out of --images (.. or a symbolic "
                        "link): labels written, image not placed",
                        where=Location(name, pointer=f"/images/{i}/file_name"),
                        detail=str(found),
                    )
                    continue
                if isinstance(found, str | ImageFileError):
                    readable[i] = False
                    self.report.warn(
                        "image_unreadable",
                        "images missing from --images or unreadable: labels written, "
                        "image not placed",
                        where=Location(str(source)),
                        detail=str(found),
                    )
                    continue
                if width[i] == 0:
                    width[i], height[i] = found
                    self.report.count("sizes_from_image_headers")
                elif (width[i], height[i]) != found:
                    self.report.warn(
                        "size_mismatch",
                        "images whose file is not the size COCO gives (after EXIF rotation, "
                        "as ultralytics loads it): the labels follow COCO's size",
                        where=Location(name, pointer=f"/images/{i}"),
                        detail=f"{int(width[i])}x{int(height[i])} here, "
                        f"{source} is {found[0]}x{found[1]}",
                    )
        missing = keep & (width == 0)
        for i in np.flatnonzero(missing).tolist():
            self.report.warn(
                "image_size_unknown",
                "images without width and height (pass --images to read them from the "
                "files): left out with their annotations",
                where=Location(name, pointer=f"/images/{i}"),
            )
        keep &= ~missing
        return width, height, readable

    def _source_image(self, image: Any) -> str | ImageFileError:
        """The image's file under --images (inside it: see :func:`find_image`), or why none."""
        assert self.images is not None
        try:
            return str(find_image(self.images, image["file_name"]))
        except ImageFileError as exc:
            return exc

    # Annotations -> rows --------------------------------------------------------------------

    def _gather(
        self,
        annotations: Iterable[tuple[int, Any]],
        image_of: Callable[[int, Any], int | None],
        name: str,
        width: FloatArray,
        height: FloatArray,
        usable: list[bool],
    ) -> tuple[_Rows, int]:
        """Label rows of ``(index, annotation)``s (``image_of`` gives the index of an
        annotation's image, None for none); returns them and the crowd annotations left
        out (reported by the caller, once)."""
        report, task = self.report, self.task
        class_of = self.classes.index
        rows = _Rows()
        row_image, row_cls, row_count = rows.image.append, rows.cls.append, rows.count.append
        add_values = rows.values.append
        include_crowd = self.include_crowd
        n_keypoints = len(self.classes.keypoint_names)
        crowd = 0
        if task == "segment":
            annotations = list(annotations)
            self._traced = _trace_masks_of(
                annotations, image_of, width, height, usable, include_crowd
            )
        for a, ann in annotations:
            i = image_of(a, ann)
            if i is None:
                report.warn(
                    "unknown_image",
                    "annotations whose image_id is not an image of the file: left out",
                    where=Location(name, pointer=f"/annotations/{a}/image_id"),
                )
                continue
            if not usable[i]:
                report.lose(
                    "annotation_of_left_out_image",
                    "annotations of images that were left out (see the warnings)",
                )
                continue
            c = class_of.get(ann["category_id"])
            if c is None:
                report.warn(
                    "unknown_category",
                    "annotations whose category_id is not a category of the file: left out",
                    where=Location(name, pointer=f"/annotations/{a}/category_id"),
                )
                continue
            if ann.get("iscrowd") and not include_crowd:
                crowd += 1
                continue
            bbox = ann.get("bbox")
            segmentation = ann.get("segmentation") if task == "segment" or bbox is None else None
            if bbox is None:
                bbox = _polygon_bbox(segmentation)
                if bbox is None:
                    report.lose(
                        "no_bbox",
                        "annotations without a bbox or a polygon to take one from",
                        where=Location(name, pointer=f"/annotations/{a}"),
                    )
                    continue
            if not (bbox[2] > 0 and bbox[3] > 0):
                report.warn(
                    "empty_box",
                    "annotations whose box has no width or height: left out",
                    where=Location(name, pointer=f"/annotations/{a}/bbox"),
                )
                continue
            if task == "detect":
                values: Any = bbox
            elif task == "segment":
                ring = segmentation[0] if type(segmentation) is list and segmentation else None
                if len(segmentation or ()) == 1 and type(ring) is list and _is_ring(ring):
                    values = ring  # the common case: one polygon
                else:
                    values = self._ring(
                        a,
                        segmentation,
                        bbox,
                        (int(width[i]), int(height[i])),
                        Location(name, pointer=f"/annotations/{a}/segmentation"),
                    )
            else:
                keypoints = ann.get("keypoints")
                if keypoints is None:
                    keypoints = [0] * (3 * n_keypoints)
                    report.count("pose_rows_without_keypoints")
                elif len(keypoints) != 3 * n_keypoints:
                    report.warn(
                        "keypoint_count",
                        f"annotations whose keypoints are not {n_keypoints} (x, y, v) triples: "
                        "left out",
                        where=Location(name, pointer=f"/annotations/{a}/keypoints"),
                    )
                    continue
                values = [*bbox, *keypoints]
            row_image(i)
            row_cls(c)
            row_count(len(values))
            add_values(values)
        return rows, crowd

    def _report_crowd(self, crowd: int) -> None:
        if crowd:
            self.report.lose(
                "crowd",
                "crowd annotations (iscrowd=1) left out: YOLO has no ignore regions "
                "(--include-crowd keeps them as objects)",
                count=crowd,
            )

    def _ring(
        self,
        index: int,
        segmentation: Any,
        bbox: Sequence[float],
        size: tuple[int, int],
        where: Location,
    ) -> Any:
        """One polygon ring in pixels for a segment row."""
        report = self.report
        if isinstance(segmentation, list):
            rings = [ring for ring in segmentation if isinstance(ring, list) and _is_ring(ring)]
            if len(rings) < len(segmentation):
                report.warn(
                    "bad_polygon",
                    "polygons with fewer than 3 points or an odd number of coordinates: "
                    "left out of their object",
                    where=where,
                )
            if rings:
                return self._joined(rings, where)
        elif isinstance(segmentation, dict):
            traced = self._trace(index, segmentation, size, where)
            if traced is not None:
                return traced
        report.lose(
            "box_as_polygon",
            "objects without a polygon, written as the rectangle of their box",
            where=where,
        )
        return _box_ring(bbox)

    def _joined(self, rings: list[Any], where: Location) -> Any:
        if len(rings) == 1:
            return rings[0]
        self.report.lose(
            "multi_part_joined",
            "objects in several polygons, joined into one ring by zero-width bridges "
            "(ultralytics' merge_multi_segment); YOLO holds one polygon per object",
            where=where,
        )
        return merge_multi_segment([as_float_array(ring) for ring in rings]).ravel()

    def _trace(
        self, index: int, rle: dict[str, Any], size: tuple[int, int], where: Location
    ) -> Any:
        """The outline of an RLE mask as one ring (pixel-edge tracing, holes joined by
        zero-width cuts: exact), or None to fall back to the box. (Traced ahead, in tasks:
        :func:`_trace_masks_of`.)"""
        width, height = size
        if rle.get("size") != [height, width]:
            self.report.warn(
                "rle_size_mismatch",
                "RLE masks whose size is not their image's: written as the rectangle of their box",
                where=Location(where.file, pointer=f"{where.pointer}/size"),
            )
            return None
        polygons = self._traced[index]
        if isinstance(polygons, str):
            self.report.warn(
                "bad_rle",
                "RLE masks that cannot be decoded: written as the rectangle of their box",
                where=where,
                detail=polygons,
            )
            return None
        if not polygons:
            return None
        self.report.count("rle_traced_to_polygons")
        return self._joined(polygons, where)

    # Rows -> files --------------------------------------------------------------------------

    def _write_labels(
        self,
        root: Path,
        rows: _Rows,
        label_paths: list[str],
        width: FloatArray,
        height: FloatArray,
        keep: np.ndarray,
        totals: _LabelTotals,
        images: range | None = None,
    ) -> None:
        """Write the label files of ``images`` (default: all) from their ``rows`` (values as
        lists, or one flat array); adds what it wrote and dropped to ``totals``."""
        first_image, end_image = (
            (0, len(label_paths)) if images is None else (images.start, images.stop)
        )
        n_rows = len(rows.image)
        image = np.asarray(rows.image, dtype=np.int64)
        cls = np.asarray(rows.cls, dtype=np.int64)
        counts = np.asarray(rows.count, dtype=np.int64)
        values = rows.values
        flat_values = values if isinstance(values, np.ndarray) else None
        value_starts = np.concatenate([[0], np.cumsum(counts)])
        if n_rows and np.any(image[1:] < image[:-1]):  # group the rows by image
            order = np.argsort(image, kind="stable")
            if flat_values is not None:
                flat_values = np.concatenate(
                    [flat_values[value_starts[k] : value_starts[k + 1]] for k in order.tolist()]
                    or [flat_values[:0]]
                )
            else:
                values = [values[k] for k in order.tolist()]
            image, cls, counts = image[order], cls[order], counts[order]
            value_starts = np.concatenate([[0], np.cumsum(counts)])
        n_images = end_image - first_image
        row_ends = np.searchsorted(image, np.arange(first_image, end_image + 1))
        folders = {path.rpartition("/")[0] for path in label_paths[first_image:end_image]}
        for folder in sorted(folders):
            (root / folder).mkdir(parents=True, exist_ok=True)
        written = 0
        image_values = value_starts[row_ends]  # values before each image's first row
        batches: list[tuple[int, int]] = []
        first = 0
        while first < n_images:
            target = image_values[first] + _BATCH_VALUES
            last = int(np.searchsorted(image_values, target, side="right")) - 1
            last = min(max(last, first + 1), n_images)
            batches.append((first, last))
            first = last
        duplicates = clipped = 0
        base = str(root)
        row_list, kept = row_ends.tolist(), keep[first_image:end_image].tolist()
        # One thread creates the files of a batch while the next batch is formatted: file
        # system calls release the GIL, so the disk work overlaps the numpy work.
        with files_written_behind() as write:
            for first, last in track(batches, desc="label files", unit="batch"):
                r0, r1 = int(row_ends[first]), int(row_ends[last])
                v0, v1 = int(value_starts[r0]), int(value_starts[r1])
                # Batch by batch: the arrays stay small (cache- and memory-friendly).
                if flat_values is not None:
                    flat = flat_values[v0:v1]
                else:
                    flat = np.fromiter(
                        itertools.chain.from_iterable(values[r0:r1]),
                        dtype=np.float64,
                        count=v1 - v0,
                    )
                flat, digit_mask, batch_clipped = self._normalise(
                    flat, image[r0:r1], counts[r0:r1], width, height, totals
                )
                clipped += batch_clipped
                data, ends = format_rows(cls[r0:r1], flat, counts[r0:r1], digit_mask=digit_mask)
                blob = data.tobytes()
                files: list[tuple[str, bytes]] = []
                local_ends = [0, *ends.tolist()]
                for i in range(first, last):
                    if not kept[i]:
                        continue
                    a, b = row_list[i] - r0, row_list[i + 1] - r0
                    text = blob[local_ends[a] : local_ends[b]]
                    if b - a > 1:
                        lines = text.splitlines(keepends=True)
                        unique = dict.fromkeys(lines)
                        if len(unique) < len(lines):
                            duplicates += len(lines) - len(unique)
                            text = b"".join(unique)
                    files.append((f"{base}/{label_paths[first_image + i]}", text))
                written += len(files)
                write(files)
        totals.clipped += clipped
        totals.duplicates += duplicates
        totals.written += written
        totals.rows += n_rows - duplicates

    def _report_labels(self, totals: _LabelTotals) -> None:
        if totals.bad_visibility:
            self.report.warn(
                "keypoint_visibility",
                "keypoints whose visibility is not 0, 1 or 2: written as 2 if positive",
                count=totals.bad_visibility,
            )
        if totals.clipped:
            self.report.lose(
                "clipped",
                "objects reaching outside their image, clipped to it (normalised values "
                "must lie in [0, 1])",
                count=totals.clipped,
            )
        if totals.duplicates:
            self.report.lose(
                "duplicate_rows",
                "rows identical to another row of the same image, written once (ultralytics "
                "drops duplicates when it loads labels)",
                count=totals.duplicates,
            )
        self.report.count("label_files", totals.written)
        self.report.count("rows", totals.rows)

    def _normalise(
        self,
        flat: FloatArray,
        image: IntArray,
        counts: IntArray,
        width: FloatArray,
        height: FloatArray,
        totals: _LabelTotals,
    ) -> tuple[FloatArray, np.ndarray | None, int]:
        """Pixel values -> normalised, clipped values; the visibility mask (pose); the number
        of rows that were clipped."""
        n_rows = len(counts)
        if n_rows == 0:
            return flat, None, 0
        row_w, row_h = width[image], height[image]
        if self.task == "segment":
            points = counts // 2
            out = flat.reshape(-1, 2) / np.stack(
                [np.repeat(row_w, points), np.repeat(row_h, points)], axis=1
            )
            outside = ((out < 0) | (out > 1)).any(axis=1)
            clipped = int(np.logical_or.reduceat(outside, np.cumsum(points) - points).sum())
            np.clip(out, 0.0, 1.0, out=out)
            return out.ravel(), None, clipped
        width_of_row = counts[0]
        table = flat.reshape(n_rows, width_of_row)
        x1, y1 = table[:, 0], table[:, 1]
        x2, y2 = x1 + table[:, 2], y1 + table[:, 3]
        cx1, cy1 = np.clip(x1, 0, row_w), np.clip(y1, 0, row_h)
        cx2, cy2 = np.clip(x2, 0, row_w), np.clip(y2, 0, row_h)
        outside = (cx1 != x1) | (cy1 != y1) | (cx2 != x2) | (cy2 != y2)
        out = np.empty_like(table)
        out[:, 0] = (cx1 + cx2) / 2 / row_w
        out[:, 1] = (cy1 + cy2) / 2 / row_h
        out[:, 2] = (cx2 - cx1) / row_w
        out[:, 3] = (cy2 - cy1) / row_h
        digit_mask: np.ndarray | None = None
        if self.task == "pose":
            triples = table[:, 4:].reshape(n_rows, -1, 3)
            px, py, v = (
                triples[..., 0] / row_w[:, None],
                triples[..., 1] / row_h[:, None],
                triples[..., 2],
            )
            outside |= ((px < 0) | (px > 1) | (py < 0) | (py > 1)).any(axis=1)
            kp = out[:, 4:].reshape(n_rows, -1, 3)
            kp[..., 0], kp[..., 1] = np.clip(px, 0, 1), np.clip(py, 0, 1)
            bad_v = (v != 0) & (v != 1) & (v != 2)
            totals.bad_visibility += int(bad_v.sum())
            kp[..., 2] = np.where(v > 0, np.where(bad_v, 2, v), 0)
            digits = np.zeros(table.shape, dtype=bool)
            digits[:, 6::3] = True
            digit_mask = digits.ravel()
        np.clip(out[:, :4], 0.0, 1.0, out=out[:, :4])
        return out.ravel(), digit_mask, int(outside.sum())

    # Images ---------------------------------------------------------------------------------

    def _place_images(
        self,
        sources: list[str | ImageFileError],
        image_paths: list[str],
        root: Path,
        keep: np.ndarray,
    ) -> None:
        # Only files find_image found (regular files inside --images, symbolic links
        # followed) whose header could be read are placed.
        jobs = [
            (Path(source), root / image_paths[i])
            for i, source in enumerate(sources)
            if keep[i] and isinstance(source, str)
        ]
        assert self.image_mode is not None  # sources are found only with an image mode
        place_images(jobs, self.image_mode)
        self.report.count(
            "images_copied" if self.image_mode == "copy" else "images_linked", len(jobs)
        )


#: Label rows kept together before a range of images is written (``--stream``).
_RANGE_ROWS = 200_000


def _packed(rows: _Rows) -> _Rows:
    """``rows`` with numpy columns and one flat array of values (a fraction of the memory
    of the lists, and what a spill file holds)."""
    counts = np.asarray(rows.count, dtype=np.int64)
    return _Rows(
        image=np.asarray(rows.image, dtype=np.int64),  # type: ignore[arg-type]
        cls=np.asarray(rows.cls, dtype=np.int64),  # type: ignore[arg-type]
        count=counts,  # type: ignore[arg-type]
        values=np.fromiter(  # type: ignore[arg-type]
            itertools.chain.from_iterable(rows.values), dtype=np.float64, count=int(counts.sum())
        ),
    )


class _RowRanges:
    """Label rows by image range, until each range is complete. While the annotations come
    in image order a range is complete once a later image's annotation has been read, and
    its rows stay in memory until then; otherwise every range waits for the end of the
    file, in a temporary folder (removed by :meth:`close`)."""

    def __init__(self, positions: IntArray, n_images: int) -> None:
        known = positions[positions >= 0]
        per_image = np.bincount(known, minlength=n_images)
        ends = np.searchsorted(
            np.cumsum(per_image), np.arange(_RANGE_ROWS, len(known) + 1, _RANGE_ROWS)
        )
        bounds = sorted({0, n_images, *(int(e) + 1 for e in ends if 0 < e + 1 < n_images)})
        self.bounds = bounds
        self.positions = positions
        self.in_order = not np.any(known[1:] < known[:-1])
        self.parts: list[list[_Rows]] = [[] for _ in bounds[:-1]]
        self.written = 0  # ranges before this one are written
        self.folder: Path | None = None
        if not self.in_order:
            self.folder = Path(tempfile.mkdtemp(prefix="coco-convert-rows."))

    def add(self, rows: _Rows) -> None:
        image = cast("IntArray", rows.image)
        if not len(image):
            return
        which = np.searchsorted(self.bounds, image, side="right") - 1
        starts = np.concatenate([[0], np.cumsum(cast("IntArray", rows.count))])
        for part in np.unique(which).tolist():
            picked = np.flatnonzero(which == part)
            values = cast("FloatArray", rows.values)
            piece = _Rows(
                image=image[picked],  # type: ignore[arg-type]
                cls=cast("IntArray", rows.cls)[picked],  # type: ignore[arg-type]
                count=cast("IntArray", rows.count)[picked],  # type: ignore[arg-type]
                values=np.concatenate(  # type: ignore[arg-type]
                    [values[starts[k] : starts[k + 1]] for k in picked.tolist()]
                )
                if len(picked) != len(image)
                else values,
            )
            if self.folder is None:
                self.parts[part].append(piece)
            else:
                with (self.folder / f"{part}.npy").open("ab") as handle:
                    for column in (piece.image, piece.cls, piece.count, piece.values):
                        np.save(handle, column)

    def complete(self, annotations_read: int) -> Iterator[tuple[range, _Rows]]:
        """The ranges that no annotation still to come can reach (in image order only)."""
        if self.folder is not None or not annotations_read:
            return
        known = self.positions[:annotations_read]
        latest = int(known.max()) if len(known) else -1
        while self.written < len(self.parts) and self.bounds[self.written + 1] <= latest:
            yield self._take(self.written)
            self.written += 1

    def rest(self) -> Iterator[tuple[range, _Rows]]:
        while self.written < len(self.parts):
            yield self._take(self.written)
            self.written += 1

    def _take(self, part: int) -> tuple[range, _Rows]:
        pieces = self.parts[part]
        self.parts[part] = []
        if self.folder is not None:
            path = self.folder / f"{part}.npy"
            if path.exists():
                with path.open("rb") as handle:
                    size = path.stat().st_size
                    while handle.tell() < size:
                        columns = [np.load(handle) for _ in range(4)]
                        pieces.append(_Rows(*columns))
                path.unlink()
        span = range(self.bounds[part], self.bounds[part + 1])
        if not pieces:
            return span, _Rows()
        return span, _Rows(
            image=np.concatenate([p.image for p in pieces]),  # type: ignore[arg-type]
            cls=np.concatenate([p.cls for p in pieces]),  # type: ignore[arg-type]
            count=np.concatenate([p.count for p in pieces]),  # type: ignore[arg-type]
            values=np.concatenate([p.values for p in pieces]),  # type: ignore[arg-type]
        )

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


#: RLE masks per tracing task.
_MASKS_PER_TASK = 2000


def _trace_masks_of(
    annotations: list[tuple[int, Any]],
    image_of: Callable[[int, Any], int | None],
    width: FloatArray,
    height: FloatArray,
    usable: list[bool],
    include_crowd: bool,
) -> dict[int, Any]:
    """The RLE masks that segment rows will hold, traced to polygons ahead of the rows (by
    annotation index: the polygons, or why they cannot be had), in tasks of
    :data:`_MASKS_PER_TASK` masks: in this process, or on a Dask cluster (--scheduler)."""
    masks: list[tuple[int, Any]] = []
    for a, ann in annotations:
        segmentation = ann.get("segmentation")
        if not isinstance(segmentation, dict) or (ann.get("iscrowd") and not include_crowd):
            continue
        i = image_of(a, ann)
        if (
            i is not None
            and usable[i]
            and segmentation.get("size")
            == [
                int(height[i]),
                int(width[i]),
            ]
        ):
            masks.append((a, segmentation))
    chunks = (masks[k : k + _MASKS_PER_TASK] for k in range(0, len(masks), _MASKS_PER_TASK))
    traced: dict[int, Any] = {}
    for results in map_tasks(_trace_masks, chunks):
        traced.update(results)
    return traced


def _trace_masks(masks: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Each mask's exact polygons (:func:`coco_convert.geometry.rle_to_polygons`), or the
    message saying why it has none."""
    from ..geometry import rle_to_polygons

    out: list[tuple[int, Any]] = []
    for index, rle in masks:
        try:
            out.append((index, rle_to_polygons(rle)))
        except GeometryError as exc:
            out.append((index, exc.message))
    return out


def _is_ring(ring: list[Any]) -> bool:
    return len(ring) >= 6 and not len(ring) % 2


def _box_ring(bbox: Sequence[float]) -> list[float]:
    x, y, w, h = (float(v) for v in bbox)
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def _polygon_bbox(segmentation: Any) -> list[float] | None:
    if not isinstance(segmentation, list) or not segmentation:
        return None
    points = [as_float_array(ring).reshape(-1, 2) for ring in segmentation if len(ring) >= 6]
    if not points:
        return None
    every = np.concatenate(points)
    low, high = every.min(axis=0), every.max(axis=0)
    return [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])]


# --- data.yaml and darknet files -------------------------------------------------------------


def _write_data_yaml(
    root: Path,
    splits: Mapping[str, CocoDataset[Any, Any]],
    classes: ClassMap,
    task: Task,
    report: LossReport,
) -> None:
    by_key: dict[str, list[str]] = defaultdict(list)
    for name in splits:
        by_key[_yaml_key(name)].append(f"images/{name}")
    notes = []
    for key, other in (("train", "val"), ("val", "train")):
        if key not in by_key:
            by_key[key] = list(by_key[other])
            notes.append(f"# {key}: no {key} split was converted; it repeats {other}")
            report.stats[f"{key}_split"] = f"none given; data.yaml repeats {other}"
    document: dict[str, Any] = {}
    for key in ("train", "val", "test"):
        if key in by_key:
            paths = by_key[key]
            document[key] = paths[0] if len(paths) == 1 else paths
    document["nc"] = len(classes.names)
    document["names"] = dict(enumerate(classes.names))
    if task == "pose":
        flip, pairs = flip_indices(classes.keypoint_names)
        document["kpt_shape"] = [len(classes.keypoint_names), 3]
        document["flip_idx"] = flip
        document["kpt_names"] = {
            index: list(classes.keypoint_names) for index in classes.keypoint_classes
        }
        report.stats["flip_idx_pairs"] = pairs
    document["coco_category_ids"] = classes.category_ids
    sources = ", ".join(
        printable(PurePosixPath((d.source or "<dataset>").replace("\\", "/")).name)
        for d in splits.values()
    )
    header = [
        f"# YOLO {task} dataset written by coco-convert {__version__} from {sources}",
        "# No `path:` key: ultralytics then resolves train/val/test from this file's folder.",
        "# coco_category_ids[i] is the COCO category id of class i (read back by yolo2coco).",
        *notes,
    ]
    body = yaml.dump(document, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=100)
    text = "\n".join(header) + "\n" + body
    atomic_write(root / "data.yaml", text.encode("utf-8"))


class _YamlDumper(yaml.SafeDumper):
    """Mappings in block style (``names:`` one class a line), lists inline (``[17, 3]``)."""


_YamlDumper.add_representer(
    list,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def _write_darknet_files(root: Path, lists: Mapping[str, list[str]], classes: ClassMap) -> None:
    atomic_write(root / "obj.names", "".join(f"{n}\n" for n in classes.names).encode("utf-8"))
    lines = [f"classes = {len(classes.names)}"]
    for name, paths in lists.items():
        atomic_write(root / f"{name}.txt", "".join(f"{p}\n" for p in paths).encode("utf-8"))
        lines.append(f"{name} = data/{name}.txt")
    lines += ["names = data/obj.names", "backup = backup/"]
    atomic_write(root / "obj.data", ("\n".join(lines) + "\n").encode("utf-8"))


def _report_dataset_losses(
    report: LossReport,
    splits: Mapping[str, CocoDataset[Any, Any]],
    classes: ClassMap,
    task: Task,
    tallies: Counter[str],
) -> None:
    n_images, n_annotations = tallies["images"], tallies["annotations"]
    report.lose("image_ids", "image ids (YOLO names images by file)", count=n_images)
    if n_annotations:
        report.lose("annotation_ids", "annotation ids (YOLO rows have none)", count=n_annotations)
    with_info = sum(1 for d in splits.values() if d.info or d.licenses)
    if with_info:
        report.lose(
            "info_licenses", "info and licenses (YOLO has no place for them)", count=with_info
        )
    if task == "pose" and classes.skeleton_categories:
        report.lose(
            "skeleton",
            "keypoint skeletons (YOLO pose has kpt_shape and flip_idx only)",
            count=classes.skeleton_categories,
        )
    dropped = (
        ("segment", "segmentation", f"segmentations (the {task} task keeps boxes)"),
        ("pose", "num_keypoints", f"annotations' keypoints (the {task} task has none)"),
    )
    for needed, key, message in dropped:
        if task == needed:
            continue
        found = tallies[key]
        if found:
            name = "keypoints" if key == "num_keypoints" else key
            report.lose(name, f"{message}; use --task {needed}", count=found)
