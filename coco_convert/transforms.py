"""Dataset transforms: segmentations from polygons to RLE and back, over whole datasets.

These change a COCO dataset into another COCO dataset; they are not formats (the formats are
in :mod:`coco_convert.converters`). ``poly2rle(dataset)`` and ``rle2poly(dataset)`` return a
new dataset (the input is not modified: changed annotations are new dicts, the others are
shared) and a :class:`~coco_convert.converters.loss.LossReport` that says what changed: counts,
vertices, the IoU of every polygon set against the mask it came from, what could not be
converted and why.

The per-segmentation geometry is :mod:`coco_convert.geometry` (pycocotools' C code does the
rasterising); the work runs image by image, over every core for large inputs
(:mod:`coco_convert.parallel`). Annotations keep their ``area`` and ``bbox``: the pixels are
those of the input (IoU 1.0 unless ``tolerance``, ``min_area`` or ``holes="fill"`` say
otherwise, and then the report gives the IoU it cost).
"""

from __future__ import annotations

import array
import itertools
import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

import numpy as np
import numpy.typing as npt

from . import geometry
from .converters.loss import LossReport
from .dataset import CocoDataset, Dataset, ResultsDataset, from_document
from .errors import GeometryError, Location, UsageError
from .io import gc_paused, write_document
from .parallel import choose_jobs, map_tasks
from .progress import track

if TYPE_CHECKING:
    from .streaming import CocoStream

__all__ = [
    "RleHoles",
    "poly2rle",
    "poly2rle_stream",
    "rle2poly",
    "rle2poly_stream",
    "summarize_ious",
]

#: A dataset whose segmentations are converted: COCO annotations, or (rle2poly) results.
DatasetT = TypeVar("DatasetT", bound=Dataset)

#: ``rle2poly``'s choice for masks with holes: cut them into the ring, fill them, keep RLE.
RleHoles = Literal["cut", "fill", "rle"]

#: Below these amounts of work one process is faster than starting workers.
_POLYGONS_WORTH_WORKERS = 100_000
_MASKS_WORTH_WORKERS = 2_000
#: Images per chunk of parallel work.
_CHUNK = 500


class _Indexed(Protocol):
    """Records by their index in the file: a list, or one chunk of it (:class:`_Offset`)."""

    def __getitem__(self, index: int, /) -> Any: ...


# --- shared: which annotations, in which image ------------------------------------------------


@dataclass
class _Plan:
    """The annotations to convert, grouped by image: ``groups[i]`` is ``(height, width,
    [annotation index, ...])``."""

    groups: list[tuple[int, int, list[int]]] = field(default_factory=list)
    size: int = 0  # polygons or masks to convert
    annotations: int = 0


def _records(dataset: Dataset) -> list[Any]:
    """The records whose segmentations are converted: annotations, or a results list."""
    if isinstance(dataset, ResultsDataset):
        return dataset.results
    return cast("CocoDataset[Any, Any]", dataset).annotations


def _pointer(dataset: Dataset, index: int, field: str = "") -> Location:
    """``file:/annotations/i[/field]`` (or ``file:/i[/field]`` in a results list)."""
    return _place(_name(dataset), isinstance(dataset, ResultsDataset), index, field)


def _place(name: str, results: bool, index: int, field: str = "") -> Location:
    prefix = "" if results else "/annotations"
    return Location(name, pointer=f"{prefix}/{index}{field}")


def _plan_by_rle_size(dataset: ResultsDataset, report: LossReport, wanted: Any) -> _Plan:
    """Results carry no images: each RLE is traced in the size it carries (polygons need no
    image record), grouped by that size."""
    by_size: dict[tuple[int, int], list[int]] = {}
    plan = _Plan()
    for index, result in enumerate(dataset.results):
        if not wanted(result):
            continue
        h, w = cast("dict[str, Any]", result["segmentation"])["size"]
        if not (h > 0 and w > 0):
            _warn_empty_rle_size(report, _pointer(dataset, index))
            continue
        by_size.setdefault((h, w), []).append(index)
        plan.size += 1
        plan.annotations += 1
    plan.groups = [(h, w, indices) for (h, w), indices in by_size.items()]
    report.stats["masks_to_convert"] = plan.size
    return plan


def _plan(dataset: Dataset, report: LossReport, wanted: Any, *, unit: str) -> _Plan:
    """Group the annotations ``wanted(ann)`` selects by image; those whose image is unknown or
    has no size are reported and left as they are."""
    if not isinstance(dataset, CocoDataset) or not _convertible(dataset.kind):
        raise _kind_error(report, getattr(dataset, "kind", type(dataset).__name__))
    sizes = {image["id"]: _image_size(image) for image in dataset.images}
    by_image: dict[Any, list[int]] = {}
    plan = _Plan()
    for index, ann in enumerate(dataset.annotations):
        count = wanted(ann)
        if not count:
            continue
        image_id = ann.get("image_id")
        size = sizes.get(image_id, ())
        if size:
            by_image.setdefault(image_id, []).append(index)
            plan.size += count
            plan.annotations += 1
            continue
        _warn_unplanned(report, _pointer(dataset, index), known=size != ())
    for image_id, indices in by_image.items():
        h, w = cast("tuple[int, int]", sizes[image_id])
        plan.groups.append((h, w, indices))
    report.stats[f"{unit}_to_convert"] = plan.size
    return plan


def _convertible(kind: str) -> bool:
    return kind in ("instances", "keypoints", "stuff")


def _kind_error(report: LossReport, kind: str) -> UsageError:
    return UsageError(
        f"{report.conversion} works on instances, keypoints or stuff datasets, not {kind}"
    )


def _image_size(image: Any) -> tuple[int, int] | None:
    """An image's ``(height, width)``, None when it has none (or not positive integers)."""
    h, w = image.get("height"), image.get("width")
    ok = isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0
    return (cast(int, h), cast(int, w)) if ok else None


def _warn_unplanned(report: LossReport, where: Location, *, known: bool) -> None:
    """An annotation to convert whose image is not in the file (or has no size)."""
    if not known:
        report.warn(
            "unknown_image",
            "annotations of an image not in the file (left as they were)",
            where=where,
        )
    else:
        report.warn(
            "image_without_size",
            "annotations of an image without height and width (left as they were)",
            where=where,
        )


def _warn_empty_rle_size(report: LossReport, where: Location) -> None:
    report.warn("empty_rle_size", "RLEs of size 0 (no pixels to trace)", where=where)


def _name(dataset: Dataset) -> str:
    return dataset.source or "<dataset>"


_BAD_SEGMENTATION = "segmentations that cannot be rasterised (left as they were)"


def _replaced(dataset: DatasetT, segmentations: dict[int, Any]) -> DatasetT:
    """A new dataset: the annotations (results) at these indices get new segmentations."""
    records = list(_records(dataset))
    for index, segmentation in segmentations.items():
        records[index] = {**records[index], "segmentation": segmentation}
    return _with_annotations(dataset, records)


def _with_annotations(dataset: DatasetT, records: list[Any]) -> DatasetT:
    """A new dataset: the same document with these annotations (or results)."""
    document = (
        records
        if isinstance(dataset, ResultsDataset)
        else {
            **dataset.document,
            "annotations": records,
        }
    )
    return cast(
        "DatasetT",
        from_document(document, kind=dataset.kind, validate=False, source=dataset.source),
    )


def summarize_ious(ious: Sequence[float]) -> dict[str, float]:
    """``iou_min``, ``iou_p1`` (1st percentile), ``iou_median``, ``iou_mean`` of a list."""
    if not ious:
        return {}
    values = np.asarray(ious, dtype=np.float64)
    return {
        "iou_min": float(values.min()),
        "iou_p1": float(np.percentile(values, 1)),
        "iou_median": float(np.median(values)),
        "iou_mean": float(values.mean()),
    }


# --- polygons -> RLE --------------------------------------------------------------------------


def poly2rle(
    dataset: CocoDataset[Any, Any],
    *,
    crowd_only: bool = False,
    compress: bool = False,
    jobs: int | None = None,
) -> tuple[CocoDataset[Any, Any], LossReport]:
    """Every polygon segmentation as a compressed RLE (pycocotools' ``frPyObjects`` +
    ``merge``: the pixels COCO evaluation sees). ``crowd_only``: only ``iscrowd`` 1
    annotations (COCO stores crowd regions as RLE). ``compress``: uncompressed RLEs are
    compressed too. ``jobs``: processes (default: every core for large inputs)."""
    report = LossReport("poly2rle")
    wanted = _polygons_wanted(crowd_only=crowd_only, compress=compress)
    plan = _plan(dataset, report, wanted, unit="polygons")
    annotations = dataset.annotations
    groups = plan.groups
    n_jobs = choose_jobs(jobs, plan.size, worth_it=_POLYGONS_WORTH_WORKERS)
    new = list(annotations)
    failed = _Failed()
    chunks = map_tasks(_encode_task, _encode_tasks(annotations, groups, n_jobs), jobs=n_jobs)
    progress = track(chunks, total=-(-len(groups) // _CHUNK), desc="poly2rle", unit="chunk")
    with gc_paused():  # (millions of new dicts, no cycles: the collector would only rescan)
        for results in progress:
            for indices, rles in results:
                for index, rle in zip(indices, rles, strict=True):
                    if type(rle) is dict:
                        new[index] = {**annotations[index], "segmentation": rle}
                    else:
                        failed.add(annotations[index], wanted)
                        _warn_bad(report, _pointer(dataset, index, "/segmentation"), rle)
    compressed = sum(
        1
        for _, _, indices in groups
        for i in indices
        if isinstance(annotations[i]["segmentation"], dict)
    )
    _report_poly2rle(report, plan, compressed, failed, n_jobs)
    return _with_annotations(dataset, new), report


def _polygons_wanted(*, crowd_only: bool, compress: bool) -> Callable[[Any], int]:
    """What poly2rle converts of an annotation: its polygons (a count), or 1 for an
    uncompressed RLE to compress (``compress``); 0: nothing."""

    def wanted(ann: Any) -> int:
        if crowd_only and not ann.get("iscrowd"):
            return 0
        segmentation = ann.get("segmentation")
        if type(segmentation) is list:
            return len(segmentation)
        if compress and isinstance(segmentation, dict):
            return int(isinstance(segmentation.get("counts"), list))
        return 0

    return wanted


def _encode_tasks(
    annotations: _Indexed, groups: Sequence[tuple[int, int, list[int]]], n_jobs: int
) -> Iterator[_ImagesTask]:
    """poly2rle's tasks: the polygons of :data:`_CHUNK` images each."""
    for start in range(0, len(groups), _CHUNK):
        chunk = groups[start : start + _CHUNK]
        packed = _pack_polygons(annotations, chunk) if n_jobs > 1 else None
        if packed is not None:
            yield "packed", packed
        else:  # in this process, or a chunk with something unusual: the objects themselves
            plain = [
                (h, w, indices, [annotations[i]["segmentation"] for i in indices])
                for h, w, indices in chunk
            ]
            yield "plain", plain


@dataclass
class _Failed:
    """The annotations poly2rle could not convert: how many, their polygons, their RLEs."""

    annotations: int = 0
    polygons: int = 0
    rles: int = 0

    def add(self, ann: Any, wanted: Callable[[Any], int]) -> None:
        self.annotations += 1
        self.polygons += wanted(ann)
        self.rles += isinstance(ann["segmentation"], dict)


def _warn_bad(report: LossReport, where: Location, detail: str) -> None:
    report.warn("bad_segmentation", _BAD_SEGMENTATION, where=where, detail=detail)


def _report_poly2rle(
    report: LossReport,
    plan: _Plan | _StreamPlan,
    compressed: int,
    failed: _Failed,
    n_jobs: int,
) -> None:
    """What poly2rle converted (``compressed``: uncompressed RLEs among the planned), once
    the work is done."""
    compressed -= failed.rles
    converted = plan.annotations - failed.annotations - compressed
    polygons = plan.size - failed.polygons - compressed
    for key, n in (
        ("annotations", converted),
        ("polygons", polygons),
        ("rle_compressed", compressed),
    ):
        if n:
            report.count(key, n)
    if polygons:
        report.lose(
            "polygon_vertices",
            "polygons stored as pixels: their exact vertices are not kept (the pixels are the "
            "ones pycocotools rasterises)",
            count=polygons,
        )
    report.stats["processes"] = n_jobs


#: What a poly2rle worker gets: ("packed", _pack_polygons(...)) or ("plain", [(h, w, annotation
#: indices, their segmentations), ...]).
_ImagesTask = tuple[str, Any]


def _encode_task(task: _ImagesTask) -> list[tuple[list[int], Sequence[Any]]]:
    """poly2rle's work on some images: their RLEs (or why not), by annotation index."""
    kind, payload = task
    images = _unpack_polygons(payload) if kind == "packed" else payload
    out: list[tuple[list[int], Sequence[Any]]] = []
    for h, w, indices, segmentations in images:
        try:
            out.append((indices, geometry.encode_image(segmentations, h, w)))
        except GeometryError:
            out.append((indices, [_encode_one(s, h, w) for s in segmentations]))
    return out


def _pack_polygons(
    annotations: _Indexed, groups: Sequence[tuple[int, int, list[int]]]
) -> tuple[list[tuple[int, int, list[int], list[int]]], Any, Any] | None:
    """The polygons of some images as one float64 array (plus how to cut it): what a worker
    process needs, in a form that pickles as a memory copy. None when a segmentation is not a
    plain list of number lists (the chunk's segmentation objects are then pickled as they are)."""
    images = []
    polygons: list[Any] = []
    for h, w, indices in groups:
        per_annotation = []
        for index in indices:
            segmentation = annotations[index]["segmentation"]
            if type(segmentation) is not list:
                return None
            per_annotation.append(len(segmentation))
            polygons.extend(segmentation)
        images.append((h, w, indices, per_annotation))
    lengths = np.fromiter(map(len, polygons), dtype=np.int64, count=len(polygons))
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(polygons), dtype=np.float64, count=int(lengths.sum())
        )
    except (TypeError, ValueError):
        return None
    return images, flat, lengths


def _unpack_polygons(
    packed: tuple[list[tuple[int, int, list[int], list[int]]], Any, Any],
) -> list[tuple[int, int, list[int], list[Any]]]:
    images, flat, lengths = packed
    polygons = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    out = []
    at = 0
    for h, w, indices, per_annotation in images:
        segmentations = []
        for count in per_annotation:
            segmentations.append(polygons[at : at + count])
            at += count
        out.append((h, w, indices, segmentations))
    return out


def _encode_one(segmentation: Any, h: int, w: int) -> Any:
    """The RLE, or the message saying why there is none."""
    try:
        return geometry.to_rle(segmentation, h, w)
    except GeometryError as error:
        return error.message


# --- RLE -> polygons --------------------------------------------------------------------------


@dataclass
class _Traced:
    """What tracing one mask gave (sent back from the workers)."""

    polygons: list[list[float]] | None  # None: keep the RLE
    iou: float = 1.0
    vertices_exact: int = 0
    vertices: int = 0
    holes: int = 0
    parts_dropped: int = 0
    error: str | None = None


def rle2poly(
    dataset: DatasetT,
    *,
    tolerance: float = 0.0,
    min_area: float = 0.0,
    holes: RleHoles = "cut",
    jobs: int | None = None,
) -> tuple[DatasetT, LossReport]:
    """Every RLE segmentation as COCO polygons that rasterise back to the same pixels
    (:func:`coco_convert.geometry.rle_to_polygons`). ``tolerance`` (px) simplifies outlines,
    ``min_area`` (px) drops smaller parts, ``holes`` cuts holes into the ring, fills them, or
    (``"rle"``) keeps masks with holes as RLE. The report gives the IoU of each mask's
    polygons against the mask, and the vertices a tolerance saved. ``dataset`` may also be
    a segmentation results file: each RLE is traced in the ``size`` it carries."""
    _check_polygon_options(tolerance, min_area, holes)
    report = LossReport("rle2poly")
    if isinstance(dataset, ResultsDataset):
        plan = _plan_by_rle_size(dataset, report, _masks_wanted)
    else:
        plan = _plan(dataset, report, _masks_wanted, unit="masks")
    annotations = _records(dataset)
    groups = plan.groups
    n_jobs = choose_jobs(jobs, plan.size, worth_it=_MASKS_WORTH_WORKERS)
    tracings = _Tracings(report, tolerance, min_area, holes)
    changed: dict[int, Any] = {}
    total = -(-len(groups) // _CHUNK)
    tasks = _trace_tasks(annotations, groups, (tolerance, min_area, holes))
    chunks = map_tasks(_trace_task, tasks, jobs=n_jobs)
    with gc_paused():
        for results in track(chunks, total=total, desc="rle2poly", unit="chunk"):
            for index, traced in results:
                if tracings.add(_pointer(dataset, index, "/segmentation"), traced):
                    changed[index] = traced.polygons
    tracings.finish(n_jobs)
    return _replaced(dataset, changed), report


def _check_polygon_options(tolerance: float, min_area: float, holes: str) -> None:
    if holes not in ("cut", "fill", "rle"):
        raise UsageError(f"holes must be cut, fill or rle, not {holes!r}")
    if not (tolerance >= 0 and math.isfinite(tolerance)) or not min_area >= 0:
        raise UsageError("tolerance and min-area must be non-negative numbers of pixels")


def _masks_wanted(ann: Any) -> int:
    """What rle2poly converts of an annotation: 1 for an RLE, else 0."""
    return int(isinstance(ann.get("segmentation"), dict))


#: rle2poly's options as its workers get them: tolerance, min_area, holes.
_TraceOptions = tuple[float, float, RleHoles]


def _trace_tasks(
    annotations: _Indexed, groups: Sequence[tuple[int, int, list[int]]], options: _TraceOptions
) -> Iterator[tuple[_TraceOptions, list[Any]]]:
    """rle2poly's tasks: the masks of :data:`_CHUNK` images (or RLE sizes) each (the masks
    themselves travel to the workers: mostly short strings)."""
    for start in range(0, len(groups), _CHUNK):
        masks = [
            (h, w, index, annotations[index]["segmentation"])
            for h, w, indices in groups[start : start + _CHUNK]
            for index in indices
        ]
        yield options, masks


@dataclass
class _Tracings:
    """What tracing the masks gave, added up into rle2poly's report (in the order of the
    plan's groups: the places and firsts of the report depend on it)."""

    report: LossReport
    tolerance: float
    min_area: float
    holes: RleHoles
    ious: list[float] = field(default_factory=list)
    vertices_exact: int = 0
    vertices: int = 0

    def add(self, where: Location, traced: _Traced) -> bool:
        """Count one mask's tracing; True when its polygons replace the RLE."""
        report = self.report
        if traced.error is not None:
            _warn_bad(report, where, traced.error)
            return False
        if traced.polygons is None:
            report.count("kept_as_rle")
            report.lose(
                "holes_kept_as_rle", "masks with holes kept as RLE (--holes rle)", where=where
            )
            return False
        report.count("masks")
        report.count("polygons", len(traced.polygons))
        if traced.holes:
            report.count(f"holes_{'cut' if self.holes == 'cut' else 'filled'}", traced.holes)
        if traced.parts_dropped:
            report.lose(
                "parts_below_min_area",
                f"mask parts smaller than {self.min_area:g} px dropped (--min-area)",
                where=where,
                count=traced.parts_dropped,
            )
        if not traced.polygons:
            report.lose(
                "empty_mask",
                "masks without any polygon left (segmentation is now [])",
                where=where,
            )
        self.ious.append(traced.iou)
        self.vertices_exact += traced.vertices_exact
        self.vertices += traced.vertices
        return True

    def finish(self, n_jobs: int) -> None:
        """The report's totals, once every mask is added."""
        report, tolerance = self.report, self.tolerance
        if self.holes == "fill" and report.counts.get("holes_filled"):
            report.lose(
                "holes_filled",
                "holes filled (--holes fill)",
                count=report.counts["holes_filled"],
            )
        if tolerance and self.vertices_exact:
            report.lose(
                "simplified",
                f"outlines simplified within {tolerance:g} px (--tolerance): see the IoU",
                count=len(self.ious),
            )
        report.stats.update(summarize_ious(self.ious))
        report.stats["vertices"] = self.vertices
        if tolerance:
            exact = self.vertices_exact
            report.stats["vertices_exact"] = exact
            report.stats["vertices_saved"] = 1 - self.vertices / exact if exact else 0.0
        report.stats["processes"] = n_jobs


def _trace_task(
    task: tuple[tuple[float, float, RleHoles], list[tuple[int, int, int, Any]]],
) -> list[tuple[int, _Traced]]:
    """rle2poly's work on some masks, by annotation index: all of them traced in one batch
    (:func:`coco_convert.geometry.trace_rles`), then their polygons rasterised back per
    image size to measure the IoU."""
    (tolerance, min_area, holes), masks = task
    traced = [_Traced(None) for _ in masks]
    sized: list[int] = []  # the masks of their image's size
    for k, (h, w, _, rle) in enumerate(masks):
        try:
            geometry.check_rle_size(rle, h, w)
        except GeometryError as error:
            traced[k].error = error.message
            continue
        sized.append(k)
    outlines: list[list[geometry.Outline]] = [[] for _ in masks]
    for k, found in zip(sized, geometry.trace_rles([masks[k][3] for k in sized]), strict=True):
        if isinstance(found, GeometryError):
            traced[k].error = found.message
        else:
            outlines[k] = found
    checks: list[int] = []  # masks whose polygons are rasterised back
    for k in range(len(masks)):
        if traced[k].error is None:
            traced[k] = _polygons_of(outlines[k], tolerance, min_area, holes)
            if traced[k].polygons is not None:
                checks.append(k)
    # the IoU of each mask's polygons against the mask, one pycocotools call per image size
    for (h, w), group in itertools.groupby(checks, key=lambda k: masks[k][:2]):
        members = list(group)
        encoded = geometry.encode_image([traced[k].polygons or [] for k in members], h, w)
        for k, rle in zip(members, encoded, strict=True):
            original = masks[k][3]
            if not isinstance(original["counts"], str):
                original = geometry.compress_rle(original)
            # identical counts are identical masks (IoU 1.0, the usual case): no merging
            if rle["counts"] != original["counts"]:
                traced[k].iou = geometry.iou(rle, original)
    return [(index, found) for (_, _, index, _), found in zip(masks, traced, strict=True)]


def _polygons_of(
    outlines: list[geometry.Outline], tolerance: float, min_area: float, holes: RleHoles
) -> _Traced:
    """The polygons of one mask's outlines, and what they cost (the IoU comes later)."""
    n_holes = sum(len(o.holes) for o in outlines)
    if holes == "rle" and n_holes:
        return _Traced(None)
    mode: geometry.HoleMode = "fill" if holes == "fill" else "cut"
    dropped = sum(1 for o in outlines if min_area and o.area < min_area)
    polygons = geometry.outlines_to_polygons(
        outlines, holes=mode, tolerance=tolerance, min_area=min_area
    )
    vertices = geometry.polygon_vertices(polygons)
    exact = vertices
    if tolerance:
        exact_polygons = geometry.outlines_to_polygons(outlines, holes=mode, min_area=min_area)
        exact = geometry.polygon_vertices(exact_polygons)
    return _Traced(
        polygons,
        vertices_exact=exact,
        vertices=vertices,
        holes=n_holes,
        parts_dropped=dropped,
    )


# --- files read a chunk at a time (--stream) ----------------------------------------------------


def poly2rle_stream(
    stream: CocoStream,
    output: str | os.PathLike[str],
    *,
    crowd_only: bool = False,
    compress: bool = False,
    jobs: int | None = None,
    source: str | None = None,
) -> LossReport:
    """:func:`poly2rle` on a COCO file read a chunk at a time (``--stream``), written to
    ``output``: the same file and report in bounded memory. The file is read twice (the
    plan, then the conversion); ``source`` names it in the report (default: its path)."""
    report = LossReport("poly2rle")
    wanted = _polygons_wanted(crowd_only=crowd_only, compress=compress)
    plan = _StreamPlan.make(stream, report, wanted, unit="polygons", source=source)
    n_jobs = choose_jobs(jobs, plan.size, worth_it=_POLYGONS_WORTH_WORKERS)
    failed = _Failed()
    bad: list[tuple[int, int, str]] = []  # (group, annotation, why): reported in plan order
    compressed = 0

    def tasks_of(first: int, records: list[Any]) -> list[Any]:
        nonlocal compressed
        groups = plan.groups(first, records)
        compressed += sum(
            1
            for _, _, indices in groups
            for i in indices
            if isinstance(records[i - first]["segmentation"], dict)
        )
        return list(_encode_tasks(_Offset(first, records), groups, n_jobs))

    def take(results: Any, records: _Offset) -> Iterator[tuple[int, Any]]:
        for indices, rles in results:
            for index, rle in zip(indices, rles, strict=True):
                rank = plan.rank_of.pop(index)
                if type(rle) is dict:
                    yield index, rle
                else:
                    failed.add(records[index], wanted)
                    bad.append((rank, index, rle))

    _write_converted(stream, output, plan, tasks_of, _encode_task, take, n_jobs, "poly2rle")
    for _, index, detail in sorted(bad):
        _warn_bad(report, plan.place(index, "/segmentation"), detail)
    _report_poly2rle(report, plan, compressed, failed, n_jobs)
    return report


def rle2poly_stream(
    stream: CocoStream,
    output: str | os.PathLike[str],
    *,
    tolerance: float = 0.0,
    min_area: float = 0.0,
    holes: RleHoles = "cut",
    jobs: int | None = None,
    source: str | None = None,
) -> LossReport:
    """:func:`rle2poly` on a COCO file (or segmentation results) read a chunk at a time
    (``--stream``), written to ``output``: the same file and report in bounded memory. The
    file is read twice (the plan, then the tracing); ``source`` names it in the report.

    The report adds the masks up in the plan's order (image by image, in the order the
    images first appear). When the file keeps each image's annotations together (as
    exporters write it) that is the file's order; otherwise what each mask gave is logged
    (about 70 bytes a mask) and added up in that order at the end."""
    _check_polygon_options(tolerance, min_area, holes)
    report = LossReport("rle2poly")
    plan = _StreamPlan.make(stream, report, _masks_wanted, unit="masks", source=source)
    n_jobs = choose_jobs(jobs, plan.size, worth_it=_MASKS_WORTH_WORKERS)
    tracings = _Tracings(report, tolerance, min_area, holes)
    log = None if plan.in_order else _TraceLog()

    def tasks_of(first: int, records: list[Any]) -> list[Any]:
        groups = plan.groups(first, records)
        return list(_trace_tasks(_Offset(first, records), groups, (tolerance, min_area, holes)))

    def take(results: Any, records: _Offset) -> Iterator[tuple[int, Any]]:
        for index, traced in results:
            rank = plan.rank_of.pop(index)
            if log is None:
                keep = tracings.add(plan.place(index, "/segmentation"), traced)
            else:
                keep = traced.error is None and traced.polygons is not None
                log.add(rank, index, traced)
            if keep:
                yield index, traced.polygons

    _write_converted(stream, output, plan, tasks_of, _trace_task, take, n_jobs, "rle2poly")
    if log is not None:
        for index, traced in log.replay():
            tracings.add(plan.place(index, "/segmentation"), traced)
    tracings.finish(n_jobs)
    return report


_NEVER = np.iinfo(np.int64).max


@dataclass
class _StreamPlan:
    """:func:`_plan` (or :func:`_plan_by_rle_size`) for a file read a chunk at a time. The
    first pass (:meth:`make`) checks the records, reports what will not be converted and
    counts what will, keeping per image its size and the first annotation to convert (the
    order of the groups); the second gives each chunk's groups (:meth:`groups`)."""

    stream: CocoStream
    name: str
    wanted: Callable[[Any], int]
    #: COCO: each annotation's image (by index; -1: none), each image's height and width
    #: (0: none), the first annotation of each image that is converted.
    positions: npt.NDArray[np.int64]
    heights: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int64]
    first_seen: npt.NDArray[np.int64]
    #: Results: the first result of each RLE size.
    first_of_size: dict[tuple[int, int], int] = field(default_factory=dict)
    size: int = 0
    annotations: int = 0
    #: Whether the file's order is the plan's (each image's annotations together).
    in_order: bool = True
    #: The group order of the annotations handed out by :meth:`groups`, until their results
    #: are taken.
    rank_of: dict[int, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return "" if self.stream.results else "annotations"

    def place(self, index: int, field: str = "") -> Location:
        return _place(self.name, self.stream.results, index, field)

    @classmethod
    def make(
        cls,
        stream: CocoStream,
        report: LossReport,
        wanted: Callable[[Any], int],
        *,
        unit: str,
        source: str | None,
    ) -> _StreamPlan:
        empty = np.zeros(0, dtype=np.int64)
        if stream.results:
            plan = cls(stream, source or stream.name, wanted, empty, empty, empty, empty)
        else:
            _refuse_stream_kind(report, stream)
            sizes = [
                _image_size(image) for _, images in stream.checked("images") for image in images
            ]
            heights = np.array([s[0] if s else 0 for s in sizes], dtype=np.int64)
            widths = np.array([s[1] if s else 0 for s in sizes], dtype=np.int64)
            del sizes
            plan = cls(
                stream,
                source or stream.name,
                wanted,
                stream.image_positions(last=True),
                heights,
                widths,
                np.full(len(heights), _NEVER, dtype=np.int64),
            )
        last_rank = -1
        with gc_paused():
            for first, records in stream.checked(plan.key):
                for j, record in enumerate(records):
                    count = wanted(record)
                    if not count:
                        continue
                    rank = plan._first(first + j, record, report)
                    if rank is None:
                        continue
                    plan.size += count
                    plan.annotations += 1
                    plan.in_order = plan.in_order and rank >= last_rank
                    last_rank = rank
        report.stats[f"{unit}_to_convert"] = plan.size
        return plan

    def _first(self, index: int, record: Any, report: LossReport) -> int | None:
        """The first pass over one record to convert: its group's rank (None: reported and
        left as it is)."""
        if self.stream.results:
            h, w = record["segmentation"]["size"]
            if not (h > 0 and w > 0):
                _warn_empty_rle_size(report, self.place(index))
                return None
            return self.first_of_size.setdefault((h, w), index)
        position = int(self.positions[index])
        if position < 0 or not self.heights[position]:
            _warn_unplanned(report, self.place(index), known=position >= 0)
            return None
        if self.first_seen[position] == _NEVER:
            self.first_seen[position] = index
        return int(self.first_seen[position])

    def groups(self, first: int, records: list[Any]) -> list[tuple[int, int, list[int]]]:
        """The records of one chunk to convert, by image (or RLE size) in the order they
        first appear: ``(height, width, [index, ...])``."""
        by_group: dict[Any, tuple[int, int, list[int]]] = {}
        for j, record in enumerate(records):
            if not self.wanted(record):
                continue
            index = first + j
            if self.stream.results:
                h, w = record["segmentation"]["size"]
                if not (h > 0 and w > 0):
                    continue
                group: Any = (h, w)
                rank = self.first_of_size[group]
            else:
                group = int(self.positions[index])
                if group < 0 or not self.heights[group]:
                    continue
                h, w = int(self.heights[group]), int(self.widths[group])
                rank = int(self.first_seen[group])
            by_group.setdefault(group, (h, w, []))[2].append(index)
            self.rank_of[index] = rank
        return list(by_group.values())


def _refuse_stream_kind(report: LossReport, stream: CocoStream) -> None:
    if not _convertible(stream.kind):
        stream.check()  # (load's errors first, as loading the file would)
        raise _kind_error(report, stream.kind)


class _Offset:
    """One chunk of records, indexed by their place in the whole list."""

    __slots__ = ("first", "records")

    def __init__(self, first: int, records: list[Any]) -> None:
        self.first = first
        self.records = records

    def __getitem__(self, index: int) -> Any:
        return self.records[index - self.first]


@dataclass
class _Pending:
    """A chunk whose tasks are out: the results still to come, the new segmentations."""

    records: _Offset
    tasks: int
    new: list[tuple[int, Any]] = field(default_factory=list)

    def done(self) -> list[Any]:
        records = self.records.records
        for index, segmentation in self.new:
            j = index - self.records.first
            records[j] = {**records[j], "segmentation": segmentation}
        return records


def _write_converted(
    stream: CocoStream,
    output: str | os.PathLike[str],
    plan: _StreamPlan,
    tasks_of: Callable[[int, list[Any]], list[Any]],
    function: Callable[[Any], Any],
    take: Callable[[Any, _Offset], Iterator[tuple[int, Any]]],
    n_jobs: int,
    desc: str,
) -> None:
    """The second pass: each chunk's tasks (``tasks_of``) run by ``function`` in order (on
    every core, or a cluster: :func:`~coco_convert.parallel.map_tasks`), the new
    segmentations ``take`` gives from each result put in place, and the file written as
    the in-memory path writes it (:func:`~coco_convert.io.write_document`). At most a few
    chunks are held at a time."""
    key = plan.key
    pending: deque[_Pending] = deque()

    def tasks() -> Iterator[tuple[Callable[[Any], Any], Any] | None]:
        chunks = stream.records(key)
        total = len(stream.chunks.get(key, ())) or None
        for first, records in track(chunks, total=total, desc=desc, unit="chunk"):
            work = tasks_of(first, records)
            pending.append(_Pending(_Offset(first, records), max(1, len(work))))
            if not work:
                yield None  # (a chunk with nothing to convert goes through in its turn)
            for task in work:
                yield function, task

    def converted() -> Iterator[list[Any]]:
        for result in map_tasks(_run_task, tasks(), jobs=n_jobs):
            entry = next(p for p in pending if p.tasks)
            if result is not None:
                entry.new.extend(take(result, entry.records))
            entry.tasks -= 1
            while pending and not pending[0].tasks:
                yield pending.popleft().done()

    document = stream.document()
    lists: dict[str, Any] = {"": converted} if stream.results else {}
    if not stream.results:
        document = {**document, "annotations": document.get("annotations", [])}
        for name in ("images", "annotations"):
            if name in document:
                lists[name] = (
                    converted
                    if name == "annotations"
                    else lambda: (records for _, records in stream.records("images"))
                )
    write_document(output, document, lists)


def _run_task(item: tuple[Callable[[Any], Any], Any] | None) -> Any:
    """A task of :func:`_write_converted` (None: nothing to do)."""
    return None if item is None else item[0](item[1])


class _TraceLog:
    """What tracing gave each mask, compactly, to be added up in the plan's order at the end
    (for files that do not keep each image's annotations together)."""

    def __init__(self) -> None:
        self.keys = array.array("q")  # rank, index; pairs
        self.ints = array.array("q")  # polygons (-1: kept as RLE), holes, parts dropped,
        #                               vertices exact, vertices
        self.ious = array.array("d")
        self.errors: dict[int, str] = {}

    def add(self, rank: int, index: int, traced: _Traced) -> None:
        self.keys.extend((rank, index))
        polygons = -1 if traced.polygons is None else len(traced.polygons)
        self.ints.extend(
            (polygons, traced.holes, traced.parts_dropped, traced.vertices_exact, traced.vertices)
        )
        self.ious.append(traced.iou)
        if traced.error is not None:
            self.errors[index] = traced.error

    def replay(self) -> Iterator[tuple[int, _Traced]]:
        keys = np.frombuffer(self.keys, dtype=np.int64).reshape(-1, 2)
        ints = np.frombuffer(self.ints, dtype=np.int64).reshape(-1, 5)
        for row in np.lexsort((keys[:, 1], keys[:, 0])).tolist():
            index = int(keys[row, 1])
            polygons, holes, dropped, exact, vertices = ints[row].tolist()
            yield (
                index,
                _Traced(
                    # (only their number counts from here on)
                    None if polygons < 0 else [[]] * polygons,
                    iou=self.ious[row],
                    vertices_exact=exact,
                    vertices=vertices,
                    holes=holes,
                    parts_dropped=dropped,
                    error=self.errors.get(index),
                ),
            )
