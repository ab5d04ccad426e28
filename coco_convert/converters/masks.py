"""Segmentations over whole datasets: polygons to RLE, RLE to polygons, mask PNGs to COCO.

``poly2rle(dataset)`` and ``rle2poly(dataset)`` return a new dataset (the input is not
modified: changed annotations are new dicts, the others are shared) and a
:class:`~coco_convert.converters.loss.LossReport` that says what changed: counts, vertices, the
IoU of every polygon set against the mask it came from, what could not be converted and why.
``read_masks(folder)`` turns instance-id or class-palette PNGs into an instances dataset.

The per-segmentation geometry is :mod:`coco_convert.geometry` (pycocotools' C code does the
rasterising); the work runs image by image, over every core for large inputs
(:mod:`coco_convert.parallel`). Annotations keep their ``area`` and ``bbox``: the pixels are
those of the input (IoU 1.0 unless ``tolerance``, ``min_area`` or ``holes="fill"`` say
otherwise, and then the report gives the IoU it cost).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

from .. import geometry
from ..dataset import CocoDataset, from_document
from ..errors import GeometryError, UsageError
from ..parallel import choose_jobs, map_chunks
from ..progress import track
from .loss import LossReport

__all__ = ["RleHoles", "poly2rle", "rle2poly", "summarize_ious"]

#: ``rle2poly``'s choice for masks with holes: cut them into the ring, fill them, keep RLE.
RleHoles = Literal["cut", "fill", "rle"]

#: Below these amounts of work one process is faster than forking workers.
_POLYGONS_WORTH_FORKING = 50_000
_MASKS_WORTH_FORKING = 2_000
#: Images per chunk of parallel work.
_CHUNK = 500


# --- shared: which annotations, in which image ------------------------------------------------


@dataclass
class _Plan:
    """The annotations to convert, grouped by image: ``groups[i]`` is ``(height, width,
    [annotation index, ...])``."""

    groups: list[tuple[int, int, list[int]]] = field(default_factory=list)
    size: int = 0  # polygons or masks to convert


def _plan(dataset: CocoDataset[Any, Any], report: LossReport, wanted: Any, *, unit: str) -> _Plan:
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
        where = f"{_name(dataset)}:/annotations/{index}"
        if size == ():
            report.warn("unknown_image", "annotation of an image not in the file", where=where)
        elif size is None:
            report.warn("image_without_size", "image without height and width", where=where)
        else:
            by_image.setdefault(image_id, []).append(index)
            plan.size += count
    for image_id, indices in by_image.items():
        h, w = cast("tuple[int, int]", sizes[image_id])
        plan.groups.append((h, w, indices))
    report.stats[f"{unit}_to_convert"] = plan.size
    return plan


def _name(dataset: CocoDataset[Any, Any]) -> str:
    return dataset.source or "<dataset>"


def _replaced(
    dataset: CocoDataset[Any, Any], segmentations: dict[int, Any]
) -> CocoDataset[Any, Any]:
    """A new dataset: the annotations at these indices get new segmentations."""
    annotations = list(dataset.annotations)
    for index, segmentation in segmentations.items():
        annotations[index] = {**annotations[index], "segmentation": segmentation}
    document = {**dataset.document, "annotations": annotations}
    return cast(
        "CocoDataset[Any, Any]",
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
        segmentation = ann.get("segmentation")
        if crowd_only and not ann.get("iscrowd"):
            return 0
        if isinstance(segmentation, list):
            return len(segmentation)
        if compress and isinstance(segmentation, dict):
            return int(isinstance(segmentation.get("counts"), list))
        return 0

    plan = _plan(dataset, report, wanted, unit="polygons")
    annotations = dataset.annotations
    groups = plan.groups

    def work(start: int, stop: int) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        for h, w, indices in groups[start:stop]:
            segmentations = [annotations[i]["segmentation"] for i in indices]
            try:
                rles: Sequence[Any] = geometry.encode_image(segmentations, h, w)
            except GeometryError:
                rles = [_encode_one(s, h, w) for s in segmentations]
            out.extend(zip(indices, rles, strict=True))
        return out

    n_jobs = choose_jobs(jobs, plan.size, worth_forking=_POLYGONS_WORTH_FORKING)
    changed: dict[int, Any] = {}
    chunks = map_chunks(work, len(groups), jobs=n_jobs, chunk=_CHUNK)
    total = -(-len(groups) // _CHUNK)
    for results in track(chunks, total=total, desc="poly2rle", unit="chunk"):
        for index, rle in results:
            where = f"{_name(dataset)}:/annotations/{index}/segmentation"
            if isinstance(rle, GeometryError):
                report.warn("bad_segmentation", f"left as it was: {rle.message}", where=where)
                continue
            before = annotations[index]["segmentation"]
            if isinstance(before, dict):
                report.count("rle_compressed")
            elif not before:
                report.count("empty_polygon_lists")
            else:
                report.count("annotations")
                report.count("polygons", len(before))
            changed[index] = rle
    if report.counts.get("polygons"):
        report.lose(
            "polygon_vertices",
            "polygons stored as pixels: their exact vertices are not kept (the pixels are the "
            "ones pycocotools rasterises)",
            count=report.counts["polygons"],
        )
    report.stats["processes"] = n_jobs
    return _replaced(dataset, changed), report


def _encode_one(segmentation: Any, h: int, w: int) -> Any:
    try:
        return geometry.to_rle(segmentation, h, w)
    except GeometryError as error:
        return error


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
    dataset: CocoDataset[Any, Any],
    *,
    tolerance: float = 0.0,
    min_area: float = 0.0,
    holes: RleHoles = "cut",
    jobs: int | None = None,
) -> tuple[CocoDataset[Any, Any], LossReport]:
    """Every RLE segmentation as COCO polygons that rasterise back to the same pixels
    (:func:`coco_convert.geometry.rle_to_polygons`). ``tolerance`` (px) simplifies outlines,
    ``min_area`` (px) drops smaller parts, ``holes`` cuts holes into the ring, fills them, or
    (``"rle"``) keeps masks with holes as RLE. The report gives the IoU of each mask's
    polygons against the mask, and the vertices a tolerance saved."""
    if holes not in ("cut", "fill", "rle"):
        raise UsageError(f"holes must be cut, fill or rle, not {holes!r}")
    if not (tolerance >= 0 and math.isfinite(tolerance)) or not min_area >= 0:
        raise UsageError("tolerance and min-area must be non-negative numbers of pixels")
    report = LossReport("rle2poly")

    def wanted(ann: Any) -> int:
        return int(isinstance(ann.get("segmentation"), dict))

    plan = _plan(dataset, report, wanted, unit="masks")
    annotations = dataset.annotations
    groups = plan.groups

    def work(start: int, stop: int) -> list[tuple[int, _Traced]]:
        out = []
        for h, w, indices in groups[start:stop]:
            for index in indices:
                rle = annotations[index]["segmentation"]
                out.append((index, _trace_one(rle, h, w, tolerance, min_area, holes)))
        return out

    n_jobs = choose_jobs(jobs, plan.size, worth_forking=_MASKS_WORTH_FORKING)
    changed: dict[int, Any] = {}
    ious: list[float] = []
    vertices_exact = vertices = 0
    total = -(-len(groups) // _CHUNK)
    chunks = map_chunks(work, len(groups), jobs=n_jobs, chunk=_CHUNK)
    for results in track(chunks, total=total, desc="rle2poly", unit="chunk"):
        for index, traced in results:
            where = f"{_name(dataset)}:/annotations/{index}/segmentation"
            if traced.error is not None:
                report.warn("bad_segmentation", f"left as it was: {traced.error}", where=where)
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


def _trace_one(
    rle: Any, h: int, w: int, tolerance: float, min_area: float, holes: RleHoles
) -> _Traced:
    try:
        geometry.check_rle(rle, h, w)
        outlines = geometry.rle_to_outlines(rle)
    except GeometryError as error:
        return _Traced(None, error=error.message)
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
    original = geometry.compress_rle(rle)
    iou = geometry.iou(geometry.to_rle(polygons, h, w), original)
    return _Traced(
        polygons,
        iou=iou,
        vertices_exact=exact,
        vertices=vertices,
        holes=n_holes,
        parts_dropped=dropped,
    )
