"""G: the rules that need masks: bbox and area against the segmentation (pycocotools'
numbers), degenerate and self-intersecting polygons, RLE counts. All geometry comes from
:mod:`coco_convert.geometry`; nothing here rasterises or decodes by itself."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

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


@check("G104", "G105", kinds=_INSTANCE_KINDS)
def against_masks(ctx: Context) -> None:
    """Box and area against pycocotools' numbers, one pycocotools call per image."""
    by_image: dict[int, list[int]] = defaultdict(list)
    for i, ann in ctx.records("annotations"):
        segmentation = ann.get("segmentation")
        if segmentation and ("bbox" in ann or "area" in ann):
            by_image[ann["image_id"]].append(i)
    tolerance, relative = ctx.settings.bbox_tolerance, ctx.settings.area_tolerance
    images: list[tuple[int, int, list[int], list[Any]]] = []
    for image_id, indices in by_image.items():
        size = ctx.image_size(image_id)
        if size is not None:
            segmentations = [ctx.record("annotations", i)["segmentation"] for i in indices]
            images.append((size[1], size[0], indices, segmentations))
    # one task per chunk of images: in this process, or on a Dask cluster (--scheduler)
    chunks = (images[k : k + _IMAGES_PER_TASK] for k in range(0, len(images), _IMAGES_PER_TASK))
    jobs = _jobs(ctx, sum(len(image[2]) for image in images))
    for measured in map_tasks(_measure_images, chunks, jobs=jobs):
        for i, area, box in measured:
            ann = ctx.record("annotations", i)
            where = f"/annotations/{i}"
            bbox = ann.get("bbox")
            if bbox is not None and area > 0 and bbox[2] > 0 and bbox[3] > 0:
                edges = _edge_differences(bbox, box)
                worst = max(edges.values())
                # (the vertices' box only when pycocotools' box is not close enough: most
                # boxes are, and the vertices cost a pass over every coordinate)
                if worst > tolerance and not _fits_vertices(bbox, ann["segmentation"], tolerance):
                    edge = max(edges, key=lambda k: edges[k])
                    ctx.report(
                        "G104",
                        f"{where}/bbox",
                        f"bbox {_show(bbox)} differs from the segmentation's box {_show(box)} "
                        f"by {fmt(worst)} px at the {edge} edge",
                        Fix.replace("set bbox to the segmentation's box", f"{where}/bbox", box),
                    )
            declared = ann.get("area")
            if declared is None:
                continue
            allowed = max(relative * max(declared, area), box[2] + box[3], 4.0)
            if abs(declared - area) > allowed:
                ctx.report(
                    "G105",
                    f"{where}/area",
                    f"area {fmt(declared)} differs from the segmentation's {area:,} pixels",
                    Fix.replace(f"set area {area}", f"{where}/area", area),
                )


#: Images per task of the box and area check.
_IMAGES_PER_TASK = 500
#: Segmentations from which the mask rules are worth worker processes (starting them costs
#: about a second; pycocotools and shapely take 20 to 40 us a polygon).
_WORKERS_WORTH_IT = 100_000


def _jobs(ctx: Context, segmentations: int) -> int:
    """Worker processes for ``segmentations`` (``Settings.jobs``; every core for many)."""
    return choose_jobs(ctx.settings.jobs, segmentations, worth_it=_WORKERS_WORTH_IT)


def _measure_images(
    images: list[tuple[int, int, list[int], list[Any]]],
) -> list[tuple[int, int, list[float]]]:
    """pycocotools' area and box of the segmentations of some images, one encoding per image:
    ``(annotation index, area, box)``; segmentations it cannot rasterise are left out (G108
    and G109 report them), and so is an image whose encoding fails."""
    out: list[tuple[int, int, list[float]]] = []
    with gc_paused():  # (a worker's collector would scan the task's lists again and again)
        usable = [
            [k for k, s in enumerate(segmentations) if _encodable(s, height, width)]
            for height, width, _, segmentations in images
        ]
        measured = geometry.measure_images(
            ([segmentations[k] for k in keep], height, width)
            for keep, (height, width, _, segmentations) in zip(usable, images, strict=True)
        )
        for keep, found, (_, _, indices, _) in zip(usable, measured, images, strict=True):
            if isinstance(found, GeometryError):
                continue
            areas, boxes = found
            out += [(indices[k], a, b) for k, a, b in zip(keep, areas, boxes, strict=True)]
    return out


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


@check("G106", "G107", kinds=_INSTANCE_KINDS)
def polygons(ctx: Context) -> None:
    """Degenerate and self-intersecting polygons, all of the dataset's in one vectorised
    pass (:func:`coco_convert.geometry.check_segmentations`)."""
    indices = [
        i
        for i, ann in ctx.records("annotations")
        if isinstance(ann.get("segmentation"), list) and ann["segmentation"]
    ]
    found: list[list[geometry.PolygonProblem]] = []
    chunks = (  # (bounds the arrays' memory; a task each on a Dask cluster)
        [
            ctx.record("annotations", i)["segmentation"]
            for i in indices[start : start + _POLYGON_CHUNK]
        ]
        for start in range(0, len(indices), _POLYGON_CHUNK)
    )
    for checked in map_tasks(_check_polygons, chunks, jobs=_jobs(ctx, len(indices))):
        found += checked
    want_degenerate, want_crossing = ctx.wants("G106"), ctx.wants("G107")
    for i, problems in zip(indices, found, strict=True):
        if not problems:
            continue
        segmentation = ctx.record("annotations", i)["segmentation"]
        where = f"/annotations/{i}/segmentation"
        degenerate = [p for p in problems if p.code in _DEGENERATE]
        if want_degenerate and degenerate:
            drop = {p.polygon for p in degenerate}
            if len(drop) < len(segmentation):
                fix = Fix(
                    "delete the polygons that enclose nothing",
                    tuple(Edit(f"{where}/{k}") for k in sorted(drop)),
                    "unsafe",
                )
            else:
                fix = Fix.remove("delete the segmentation (nothing is left)", where, unsafe=True)
            first = degenerate[0]
            ctx.report("G106", f"{where}/{first.polygon}", first.message, fix)
        if want_crossing:
            for problem in problems:
                if problem.code == "self_intersection":
                    ctx.report("G107", f"{where}/{problem.polygon}", problem.message)


def _check_polygons(segmentations: list[Any]) -> list[list[geometry.PolygonProblem]]:
    """The problems of schema-checked segmentations (one task)."""
    with gc_paused():
        return geometry.check_segmentations(segmentations, checked=True)


#: Segmentations per vectorised polygon check.
_POLYGON_CHUNK = 50_000
#: Polygon problems that leave nothing to rasterise.
_DEGENERATE = ("too_few_points", "zero_area", "not_finite")
