"""G: the rules that need masks: bbox and area against the segmentation (pycocotools'
numbers), degenerate and self-intersecting polygons, RLE counts. All geometry comes from
:mod:`coco_convert.geometry`; nothing here rasterises or decodes by itself."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ... import geometry
from ...errors import GeometryError
from ...io import gc_paused
from ...parallel import choose_jobs, map_tasks
from ..context import Context, check, fmt
from ..diagnostics import Edit, Fix

_INSTANCE_KINDS = ("instances", "keypoints", "stuff")


def _reference(ctx: Context, ann: dict[str, Any]) -> tuple[int, list[float]] | None:
    """pycocotools' (area, bbox) of the annotation's segmentation, when it can be computed."""
    segmentation = ann.get("segmentation")
    size = ctx.image_size(ann.get("image_id"))
    if not segmentation or size is None:
        return None
    try:
        return geometry.area_and_bbox(segmentation, size[1], size[0])
    except GeometryError:
        return None


def area_fix(ctx: Context, ann: dict[str, Any], where: str) -> Fix | None:
    """Set the area: the mask's pixel count, or the box's area when there is no mask."""
    reference = _reference(ctx, ann)
    if reference is not None:
        return Fix.replace(
            "set area to the segmentation's pixel count", f"{where}/area", reference[0]
        )
    bbox = ann.get("bbox")
    if not ann.get("segmentation") and bbox is not None:
        return Fix.replace(
            "set area to the bbox's width * height", f"{where}/area", bbox[2] * bbox[3]
        )
    return None


def bbox_fix(ctx: Context, ann: dict[str, Any], where: str) -> Fix | None:
    """Set the bbox to the segmentation's bounding box."""
    reference = _reference(ctx, ann)
    if reference is None or reference[0] == 0:
        return None
    return Fix.replace("set bbox to the segmentation's box", f"{where}/bbox", reference[1])


def check_rle(ctx: Context, where: str, rle: dict[str, Any]) -> None:
    """G109: runs that do not cover the mask, or a compressed string pycocotools cannot read."""
    try:
        geometry.check_rle(rle)
    except GeometryError as exc:
        ctx.report("G109", f"{where}/counts", str(exc))


@check("G104", "G105", "G106", "G107", kinds=_INSTANCE_KINDS)
def masks(ctx: Context) -> None:
    """Box and area against pycocotools' numbers (G104, G105; one pycocotools call per
    image), degenerate and self-intersecting polygons (G106, G107; shapely's array functions
    over every ring of a task), in tasks of a few hundred images: in this process, in worker
    processes (``Settings.jobs``) or on a Dask cluster (``--scheduler``)."""
    rules = _Rules(
        measure=ctx.wants("G104", "G105"),
        polygons=ctx.wants("G106", "G107"),
        bbox_tolerance=ctx.settings.bbox_tolerance,
        area_tolerance=ctx.settings.area_tolerance,
    )
    by_image: dict[Any, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    count = 0
    for i, ann in ctx.records("annotations"):
        segmentation = ann.get("segmentation")
        if not segmentation:
            continue
        if (rules.polygons and isinstance(segmentation, list)) or (
            rules.measure and ("bbox" in ann or "area" in ann)
        ):
            by_image[ann["image_id"]].append((i, ann))
            count += 1
    keys = list(by_image)
    chunks = (
        _task(ctx, rules, [(key, by_image[key]) for key in keys[k : k + _IMAGES_PER_TASK]])
        for k in range(0, len(keys), _IMAGES_PER_TASK)
    )
    for found in map_tasks(_check_images, chunks, jobs=_jobs(ctx, count)):
        for code, pointer, message, fix in found:
            ctx.report(code, pointer, message, fix)


@dataclass(frozen=True)
class _Rules:
    """What a task checks, and how strictly."""

    measure: bool
    polygons: bool
    bbox_tolerance: float
    area_tolerance: float


@dataclass(frozen=True)
class _Task:
    """Some images and their annotations, self-contained and compact (a worker process or a
    Dask worker unpickles arrays, not millions of floats): the images' heights and widths
    (None when unknown: no box and area check) and annotation counts; per annotation its
    index, bbox, area, whether it has a bbox or an area to check, and how many polygons it
    has (0 for an RLE, then in ``rles``); per polygon its number of coordinates; all the
    coordinates, flat."""

    rules: _Rules
    heights: list[int | None]
    widths: list[int | None]
    counts: list[int]
    indices: list[int]
    bboxes: list[Any]
    areas: list[Any]
    measured: list[bool]
    rles: dict[int, Any]
    #: The polygons as written, where some coordinate is an integer too large for a float
    #: to hold exactly (the vertices' box is then taken from them).
    exact: dict[int, list[Any]]
    parts: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    coords: npt.NDArray[np.float64]


#: A finding of a task: code, JSON pointer, message, fix.
_Finding = tuple[str, str, str, Fix | None]


def _task(
    ctx: Context, rules: _Rules, images: list[tuple[Any, list[tuple[int, dict[str, Any]]]]]
) -> _Task:
    heights: list[int | None] = []
    widths: list[int | None] = []
    counts: list[int] = []
    indices: list[int] = []
    bboxes: list[Any] = []
    areas: list[Any] = []
    measured: list[bool] = []
    rles: dict[int, Any] = {}
    parts: list[int] = []
    polygons: list[list[float]] = []
    for image_id, anns in images:
        size = ctx.image_size(image_id)
        heights.append(None if size is None else size[1])
        widths.append(None if size is None else size[0])
        counts.append(len(anns))
        for i, ann in anns:
            segmentation = ann["segmentation"]
            indices.append(i)
            bboxes.append(ann.get("bbox"))
            areas.append(ann.get("area"))
            measured.append(size is not None and ("bbox" in ann or "area" in ann))
            if isinstance(segmentation, list):  # (the schema checked its polygons)
                parts.append(len(segmentation))
                polygons += segmentation
            else:
                rles[len(parts)] = segmentation
                parts.append(0)
    lengths = np.fromiter(map(len, polygons), dtype=np.int64, count=len(polygons))
    coords = np.fromiter(
        itertools.chain.from_iterable(polygons), dtype=np.float64, count=int(lengths.sum())
    )
    exact: dict[int, list[Any]] = {}
    if coords.size and np.abs(coords).max() >= 2**53:
        exact = {
            p: ann["segmentation"]
            for p, ann in enumerate(ann for _, anns in images for _, ann in anns)
            if p not in rles
        }
    return _Task(
        rules,
        heights,
        widths,
        counts,
        indices,
        bboxes,
        areas,
        measured,
        rles,
        exact,
        np.array(parts, dtype=np.int64),
        lengths,
        coords,
    )


def _check_images(task: _Task) -> list[_Finding]:
    """The mask rules' findings in some images (one task)."""
    found: list[_Finding] = []
    with gc_paused():  # (a worker's collector would scan the task's lists again and again)
        if task.rules.measure:
            found += _against_masks(task)
        if task.rules.polygons:
            found += _polygons(task)
    return found


def _against_masks(task: _Task) -> list[_Finding]:
    """G104 and G105: pycocotools' area and box of the segmentations that have a bbox or an
    area, one encoding per image. Segmentations it cannot rasterise are left out (G108 and
    G109 report them), and so is an image whose encoding fails."""
    views = np.split(task.coords, np.cumsum(task.lengths)[:-1]) if len(task.lengths) else []
    first = (np.cumsum(task.parts) - task.parts).tolist()
    parts = task.parts.tolist()
    images: list[tuple[list[int], list[Any], int, int]] = []
    start = 0
    for height, width, count in zip(task.heights, task.widths, task.counts, strict=True):
        positions = range(start, start + count)
        start += count
        if height is None or width is None:
            continue
        usable: list[int] = []
        segmentations: list[Any] = []
        for p in positions:
            if not task.measured[p]:
                continue
            if parts[p]:
                segmentations.append(views[first[p] : first[p] + parts[p]])
            elif _encodable(task.rles[p], height, width):
                segmentations.append(task.rles[p])
            else:
                continue
            usable.append(p)
        if usable:
            images.append((usable, segmentations, height, width))
    areas, boxes, encoded = geometry.measure_image_arrays(
        (s, height, width) for _, s, height, width in images
    )
    rows: list[int] = []
    shapes: list[Any] = []
    for (usable, segmentations, _, _), encoding in zip(images, encoded, strict=True):
        if not isinstance(encoding, GeometryError):
            rows += usable
            shapes += segmentations
    found: list[_Finding] = []
    for k in np.flatnonzero(_may_differ(task, rows, areas, boxes)).tolist():
        p, segmentation = rows[k], shapes[k]
        area, box = int(areas[k]), boxes[k].tolist()
        where = f"/annotations/{task.indices[p]}"
        bbox = task.bboxes[p]
        tolerance, relative = task.rules.bbox_tolerance, task.rules.area_tolerance
        if bbox is not None and area > 0 and bbox[2] > 0 and bbox[3] > 0:
            edges = _edge_differences(bbox, box)
            worst = max(edges.values())
            vertices = task.exact.get(p, segmentation)
            if worst > tolerance and not _fits_vertices(bbox, vertices, tolerance):
                edge = max(edges, key=lambda e: edges[e])
                found.append(
                    (
                        "G104",
                        f"{where}/bbox",
                        f"bbox {_show(bbox)} differs from the segmentation's box "
                        f"{_show(box)} by {fmt(worst)} px at the {edge} edge",
                        Fix.replace("set bbox to the segmentation's box", f"{where}/bbox", box),
                    )
                )
        declared = task.areas[p]
        if declared is None:
            continue
        allowed = max(relative * max(declared, area), box[2] + box[3], 4.0)
        if abs(declared - area) > allowed:
            found.append(
                (
                    "G105",
                    f"{where}/area",
                    f"area {fmt(declared)} differs from the segmentation's {area:,} pixels",
                    Fix.replace(f"set area {area}", f"{where}/area", area),
                )
            )
    return found


#: Numbers from which a float64 no longer holds every integer (such rows are checked one by
#: one, in exact arithmetic).
_EXACT = 2.0**53


def _may_differ(
    task: _Task, rows: list[int], areas: npt.NDArray[np.int64], boxes: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Which measured annotations (``rows``: positions in the task, with pycocotools' areas
    and boxes) may have a G104 or G105 finding: the rules' arithmetic for all at once in
    float64, the same operations in the same order as the rules themselves (so exact, but
    for integers beyond 2**53, which are always passed on). The rules then decide these few
    one by one."""
    n = len(rows)
    if not n:
        return np.zeros(0, dtype=np.bool_)
    nan4 = [math.nan] * 4
    bbox = np.array([task.bboxes[p] or nan4 for p in rows], dtype=np.float64).reshape(n, 4)
    declared = np.array(
        [math.nan if task.areas[p] is None else task.areas[p] for p in rows], dtype=np.float64
    )
    area = areas.astype(np.float64)
    box = boxes
    tolerance, relative = task.rules.bbox_tolerance, task.rules.area_tolerance
    with np.errstate(invalid="ignore"):
        big = (np.abs(bbox) >= _EXACT).any(axis=1) | (np.abs(declared) >= _EXACT)
        checked = (area > 0) & (bbox[:, 2] > 0) & (bbox[:, 3] > 0)  # (False where no bbox)
        boxed = checked & (big | (_worst_edge(bbox, box) > tolerance))
        # the vertices' box (only polygons have one; RLEs never fit)
        extents = _vertex_extents(task)[rows]
        ex = np.column_stack(
            (
                extents[:, 0],
                extents[:, 1],
                extents[:, 2] - extents[:, 0],
                extents[:, 3] - extents[:, 1],
            )
        )
        exact = np.array([p in task.exact for p in rows], dtype=np.bool_)
        fits = ~exact & (_worst_edge(bbox, ex) <= tolerance)  # (False for NaN: RLEs)
        allowed = np.maximum(
            np.maximum(relative * np.maximum(declared, area), box[:, 2] + box[:, 3]), 4.0
        )
        wrong_area = ~np.isnan(declared) & (big | (np.abs(declared - area) > allowed))
    return (boxed & ~fits) | wrong_area


def _worst_edge(
    bbox: npt.NDArray[np.float64], box: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """:func:`_edge_differences`' largest, row by row."""
    x, y, w, h = bbox.T
    bx, by, bw, bh = box.T
    left, top = np.abs(x - bx), np.abs(y - by)
    right, bottom = np.abs(x + w - (bx + bw)), np.abs(y + h - (by + bh))
    return cast(
        "npt.NDArray[np.float64]", np.maximum(np.maximum(left, top), np.maximum(right, bottom))
    )


def _vertex_extents(task: _Task) -> npt.NDArray[np.float64]:
    """``[min x, min y, max x, max y]`` of each annotation's polygons (NaN for an RLE)."""
    extents = np.full((len(task.parts), 4), math.nan)
    if not len(task.lengths):
        return extents
    starts = (np.cumsum(task.lengths) - task.lengths) // 2
    xs, ys = task.coords[0::2], task.coords[1::2]
    per_polygon = np.column_stack(
        (
            np.minimum.reduceat(xs, starts),
            np.minimum.reduceat(ys, starts),
            np.maximum.reduceat(xs, starts),
            np.maximum.reduceat(ys, starts),
        )
    )
    polygons = task.parts > 0
    first = (np.cumsum(task.parts) - task.parts)[polygons]
    extents[polygons, :2] = np.minimum.reduceat(per_polygon[:, :2], first, axis=0)
    extents[polygons, 2:] = np.maximum.reduceat(per_polygon[:, 2:], first, axis=0)
    return extents


#: Images per task of the mask rules.
_IMAGES_PER_TASK = 500
#: Segmentations from which the mask rules are worth worker processes (starting them costs
#: about a second; pycocotools and shapely take 20 to 40 us a polygon).
_WORKERS_WORTH_IT = 100_000


def _jobs(ctx: Context, segmentations: int) -> int:
    """Worker processes for ``segmentations`` (``Settings.jobs``; every core for many)."""
    return choose_jobs(ctx.settings.jobs, segmentations, worth_it=_WORKERS_WORTH_IT)


def _show(box: list[float]) -> str:
    return "[" + ", ".join(fmt(v) for v in box) + "]"


def _encodable(segmentation: Any, height: int, width: int) -> bool:
    """Whether pycocotools can rasterise it here: polygons (checked by the schema), or an RLE
    of this image's size whose runs add up (G108 and G109 report the others)."""
    if not isinstance(segmentation, dict):
        return True
    try:
        geometry.check_rle(segmentation, height, width)
    except GeometryError:
        return False
    return True


def _fits_vertices(bbox: list[float], segmentation: Any, tolerance: float) -> bool:
    """Whether ``bbox`` is the box of the polygons' vertices (COCO's own convention, exact
    to a fraction of a pixel, where pycocotools' box is whole pixels)."""
    if not isinstance(segmentation, list):
        return False
    xs = [min(min(p[0::2]) for p in segmentation), max(max(p[0::2]) for p in segmentation)]
    ys = [min(min(p[1::2]) for p in segmentation), max(max(p[1::2]) for p in segmentation)]
    extents = [xs[0], ys[0], xs[1] - xs[0], ys[1] - ys[0]]
    return max(_edge_differences(bbox, extents).values()) <= tolerance


def _edge_differences(bbox: list[float], box: list[float]) -> dict[str, float]:
    x, y, w, h = bbox
    bx, by, bw, bh = box
    return {
        "left": abs(x - bx),
        "top": abs(y - by),
        "right": abs(x + w - (bx + bw)),
        "bottom": abs(y + h - (by + bh)),
    }


def _polygons(task: _Task) -> list[_Finding]:
    """G106 and G107: degenerate and self-intersecting polygons, all of the task's in one
    vectorised pass (:func:`coco_convert.geometry.check_flat_polygons`)."""
    checked = geometry.check_flat_polygons(task.parts, task.lengths, task.coords)
    found: list[_Finding] = []
    for p, problems in enumerate(checked):
        if not problems:
            continue
        where = f"/annotations/{task.indices[p]}/segmentation"
        degenerate = [problem for problem in problems if problem.code in _DEGENERATE]
        if degenerate:
            drop = {problem.polygon for problem in degenerate}
            if len(drop) < task.parts[p]:
                fix = Fix(
                    "delete the polygons that enclose nothing",
                    tuple(Edit(f"{where}/{k}") for k in sorted(drop)),
                    "unsafe",
                )
            else:
                fix = Fix.remove("delete the segmentation (nothing is left)", where, unsafe=True)
            first = degenerate[0]
            found.append(("G106", f"{where}/{first.polygon}", first.message, fix))
        for problem in problems:
            if problem.code == "self_intersection":
                found.append(("G107", f"{where}/{problem.polygon}", problem.message, None))
    return found


#: Polygon problems that leave nothing to rasterise.
_DEGENERATE = ("too_few_points", "zero_area", "not_finite")
