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

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import numpy as np

from . import geometry
from .converters.loss import LossReport
from .dataset import CocoDataset, Dataset, ResultsDataset, from_document
from .errors import GeometryError, Location, UsageError
from .io import gc_paused
from .parallel import choose_jobs, map_tasks
from .progress import track

__all__ = ["RleHoles", "poly2rle", "rle2poly", "summarize_ious"]

#: A dataset whose segmentations are converted: COCO annotations, or (rle2poly) results.
DatasetT = TypeVar("DatasetT", bound=Dataset)

#: ``rle2poly``'s choice for masks with holes: cut them into the ring, fill them, keep RLE.
RleHoles = Literal["cut", "fill", "rle"]

#: Below these amounts of work one process is faster than starting workers.
_POLYGONS_WORTH_WORKERS = 100_000
_MASKS_WORTH_WORKERS = 2_000
#: Images per chunk of parallel work.
_CHUNK = 500


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
    prefix = "" if isinstance(dataset, ResultsDataset) else "/annotations"
    return Location(_name(dataset), pointer=f"{prefix}/{index}{field}")


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
            report.warn(
                "empty_rle_size",
                "RLEs of size 0 (no pixels to trace)",
                where=_pointer(dataset, index),
            )
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
    if not isinstance(dataset, CocoDataset) or dataset.kind not in (
        "instances",
        "keypoints",
        "stuff",
    ):
        raise UsageError(
            f"{report.conversion} works on instances, keypoints or stuff datasets, "
            f"not {getattr(dataset, 'kind', type(dataset).__name__)}"
        )
    sizes: dict[Any, tuple[int, int] | None] = {}
    for image in dataset.images:
        h, w = image.get("height"), image.get("width")
        ok = isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0
        sizes[image["id"]] = (cast(int, h), cast(int, w)) if ok else None
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
        where = _pointer(dataset, index)
        if size == ():
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
    for image_id, indices in by_image.items():
        h, w = cast("tuple[int, int]", sizes[image_id])
        plan.groups.append((h, w, indices))
    report.stats[f"{unit}_to_convert"] = plan.size
    return plan


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

    def wanted(ann: Any) -> int:
        if crowd_only and not ann.get("iscrowd"):
            return 0
        segmentation = ann.get("segmentation")
        if type(segmentation) is list:
            return len(segmentation)
        if compress and isinstance(segmentation, dict):
            return int(isinstance(segmentation.get("counts"), list))
        return 0

    plan = _plan(dataset, report, wanted, unit="polygons")
    annotations = dataset.annotations
    groups = plan.groups

    n_jobs = choose_jobs(jobs, plan.size, worth_it=_POLYGONS_WORTH_WORKERS)

    def tasks() -> Iterator[_ImagesTask]:
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

    new = list(annotations)
    failed: list[int] = []
    chunks = map_tasks(_encode_task, tasks(), jobs=n_jobs)
    progress = track(chunks, total=-(-len(groups) // _CHUNK), desc="poly2rle", unit="chunk")
    with gc_paused():  # (millions of new dicts, no cycles: the collector would only rescan)
        for results in progress:
            for indices, rles in results:
                for index, rle in zip(indices, rles, strict=True):
                    if type(rle) is dict:
                        new[index] = {**annotations[index], "segmentation": rle}
                    else:
                        failed.append(index)
                        report.warn(
                            "bad_segmentation",
                            _BAD_SEGMENTATION,
                            where=_pointer(dataset, index, "/segmentation"),
                            detail=rle,
                        )
    converted = plan.annotations - len(failed)
    polygons = plan.size - sum(wanted(annotations[i]) for i in failed)
    compressed = sum(
        1
        for _, _, indices in groups
        for i in indices
        if isinstance(annotations[i]["segmentation"], dict)
    ) - sum(1 for i in failed if isinstance(annotations[i]["segmentation"], dict))
    polygons -= compressed
    converted -= compressed
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
    return _with_annotations(dataset, new), report


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
    annotations: Sequence[Any], groups: Sequence[tuple[int, int, list[int]]]
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
    if holes not in ("cut", "fill", "rle"):
        raise UsageError(f"holes must be cut, fill or rle, not {holes!r}")
    if not (tolerance >= 0 and math.isfinite(tolerance)) or not min_area >= 0:
        raise UsageError("tolerance and min-area must be non-negative numbers of pixels")
    report = LossReport("rle2poly")

    def wanted(ann: Any) -> int:
        return int(isinstance(ann.get("segmentation"), dict))

    if isinstance(dataset, ResultsDataset):
        plan = _plan_by_rle_size(dataset, report, wanted)
    else:
        plan = _plan(dataset, report, wanted, unit="masks")
    annotations = _records(dataset)
    groups = plan.groups

    options = (tolerance, min_area, holes)

    def tasks() -> Iterator[tuple[tuple[float, float, RleHoles], list[Any]]]:
        # the masks themselves travel to the workers (mostly short strings)
        for start in range(0, len(groups), _CHUNK):
            masks = [
                (h, w, index, annotations[index]["segmentation"])
                for h, w, indices in groups[start : start + _CHUNK]
                for index in indices
            ]
            yield options, masks

    n_jobs = choose_jobs(jobs, plan.size, worth_it=_MASKS_WORTH_WORKERS)
    changed: dict[int, Any] = {}
    ious: list[float] = []
    vertices_exact = vertices = 0
    total = -(-len(groups) // _CHUNK)
    chunks = map_tasks(_trace_task, tasks(), jobs=n_jobs)
    with gc_paused():
        for results in track(chunks, total=total, desc="rle2poly", unit="chunk"):
            for index, traced in results:
                where = _pointer(dataset, index, "/segmentation")
                if traced.error is not None:
                    report.warn(
                        "bad_segmentation", _BAD_SEGMENTATION, where=where, detail=traced.error
                    )
                    continue
                if traced.polygons is None:
                    report.count("kept_as_rle")
                    report.lose(
                        "holes_kept_as_rle",
                        "masks with holes kept as RLE (--holes rle)",
                        where=where,
                    )
                    continue
                report.count("masks")
                report.count("polygons", len(traced.polygons))
                if traced.holes:
                    report.count(f"holes_{'cut' if holes == 'cut' else 'filled'}", traced.holes)
                if traced.parts_dropped:
                    report.lose(
                        "parts_below_min_area",
                        f"mask parts smaller than {min_area:g} px dropped (--min-area)",
                        where=where,
                        count=traced.parts_dropped,
                    )
                if not traced.polygons:
                    report.lose(
                        "empty_mask",
                        "masks without any polygon left (segmentation is now [])",
                        where=where,
                    )
                ious.append(traced.iou)
                vertices_exact += traced.vertices_exact
                vertices += traced.vertices
                changed[index] = traced.polygons
    if holes == "fill" and report.counts.get("holes_filled"):
        report.lose(
            "holes_filled", "holes filled (--holes fill)", count=report.counts["holes_filled"]
        )
    if tolerance and vertices_exact:
        report.lose(
            "simplified",
            f"outlines simplified within {tolerance:g} px (--tolerance): see the IoU",
            count=len(ious),
        )
    report.stats.update(summarize_ious(ious))
    report.stats["vertices"] = vertices
    if tolerance:
        report.stats["vertices_exact"] = vertices_exact
        report.stats["vertices_saved"] = 1 - vertices / vertices_exact if vertices_exact else 0.0
    report.stats["processes"] = n_jobs
    return _replaced(dataset, changed), report


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
