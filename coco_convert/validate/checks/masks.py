"""G: the rules that need masks: bbox and area against the segmentation (pycocotools'
numbers), degenerate and self-intersecting polygons, RLE counts. All geometry comes from
:mod:`coco_convert.geometry`; nothing here rasterises or decodes by itself."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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
        (rules, [_image_entry(ctx, key, by_image[key]) for key in keys[k : k + _IMAGES_PER_TASK]])
        for k in range(0, len(keys), _IMAGES_PER_TASK)
    )
    for found in map_tasks(_check_images, chunks, jobs=_jobs(ctx, count)):
        for code, pointer, message, fix in found:
            ctx.report(code, pointer, message, fix)


@dataclass(frozen=True)
class _Rules:
    """What a task checks, and how strictly (picklable: it goes with every task)."""

    measure: bool
    polygons: bool
    bbox_tolerance: float
    area_tolerance: float


#: One image of a task: its height and width (None when unknown: no box and area check),
#: and the index, segmentation, bbox and area of each of its annotations, and whether it
#: has a bbox or an area to check.
_Image = tuple[int | None, int | None, list[int], list[Any], list[Any], list[Any], list[bool]]
#: A finding of a task: code, JSON pointer, message, fix.
_Finding = tuple[str, str, str, Fix | None]


def _image_entry(ctx: Context, image_id: Any, anns: list[tuple[int, dict[str, Any]]]) -> _Image:
    size = ctx.image_size(image_id)
    return (
        None if size is None else size[1],
        None if size is None else size[0],
        [i for i, _ in anns],
        [ann["segmentation"] for _, ann in anns],
        [ann.get("bbox") for _, ann in anns],
        [ann.get("area") for _, ann in anns],
        [size is not None and ("bbox" in ann or "area" in ann) for _, ann in anns],
    )


def _check_images(task: tuple[_Rules, list[_Image]]) -> list[_Finding]:
    """The mask rules' findings in some images (one task, self-contained)."""
    rules, images = task
    found: list[_Finding] = []
    with gc_paused():  # (a worker's collector would scan the task's lists again and again)
        if rules.measure:
            found += _against_masks(rules, images)
        if rules.polygons:
            found += _polygons(images)
    return found


def _against_masks(rules: _Rules, images: list[_Image]) -> list[_Finding]:
    """G104 and G105: pycocotools' area and box of the segmentations that have a bbox or an
    area, one encoding per image. Segmentations it cannot rasterise are left out (G108 and
    G109 report them), and so is an image whose encoding fails."""
    measurable = [image for image in images if any(image[6])]
    usable = [
        [
            k
            for k, (s, wanted) in enumerate(zip(segmentations, flags, strict=True))
            if wanted and _encodable(s, height, width)  # type: ignore[arg-type]
        ]
        for height, width, _, segmentations, _, _, flags in measurable
    ]
    measured = geometry.measure_images(
        ([image[3][k] for k in keep], image[0], image[1])  # type: ignore[misc]
        for keep, image in zip(usable, measurable, strict=True)
    )
    tolerance, relative = rules.bbox_tolerance, rules.area_tolerance
    found: list[_Finding] = []
    for keep, result, image in zip(usable, measured, measurable, strict=True):
        if isinstance(result, GeometryError):
            continue
        _, _, indices, segmentations, bboxes, areas, _ = image
        for k, area, box in zip(keep, *result, strict=True):
            where = f"/annotations/{indices[k]}"
            bbox = bboxes[k]
            if bbox is not None and area > 0 and bbox[2] > 0 and bbox[3] > 0:
                edges = _edge_differences(bbox, box)
                worst = max(edges.values())
                # (the vertices' box only when pycocotools' box is not close enough: most
                # boxes are, and the vertices cost a pass over every coordinate)
                if worst > tolerance and not _fits_vertices(bbox, segmentations[k], tolerance):
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
            declared = areas[k]
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


def _polygons(images: list[_Image]) -> list[_Finding]:
    """G106 and G107: degenerate and self-intersecting polygons, all of the task's in one
    vectorised pass (:func:`coco_convert.geometry.check_segmentations`)."""
    owners = [
        (index, segmentation)
        for image in images
        for index, segmentation in zip(image[2], image[3], strict=True)
        if isinstance(segmentation, list)
    ]
    checked = geometry.check_segmentations([s for _, s in owners], checked=True)
    found: list[_Finding] = []
    for (i, segmentation), problems in zip(owners, checked, strict=True):
        if not problems:
            continue
        where = f"/annotations/{i}/segmentation"
        degenerate = [p for p in problems if p.code in _DEGENERATE]
        if degenerate:
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
            found.append(("G106", f"{where}/{first.polygon}", first.message, fix))
        for problem in problems:
            if problem.code == "self_intersection":
                found.append(("G107", f"{where}/{problem.polygon}", problem.message, None))
    return found


#: Polygon problems that leave nothing to rasterise.
_DEGENERATE = ("too_few_points", "zero_area", "not_finite")
