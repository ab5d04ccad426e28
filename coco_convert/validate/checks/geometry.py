"""G: boxes, polygons and RLE masks, against each other and against their image."""

from __future__ import annotations

from typing import Any

from ..context import Context, check, fmt
from ..diagnostics import Fix
from .masks import check_rle

_INSTANCE_KINDS = ("instances", "keypoints", "stuff")


@check("G101", "G102", "G103", kinds=(*_INSTANCE_KINDS, "results"))
def boxes(ctx: Context) -> None:
    tolerance = ctx.settings.edge_tolerance
    prefix = "" if ctx.kind == "results" else "/annotations"
    for i, ann in ctx.records("" if ctx.kind == "results" else "annotations"):
        bbox = ann.get("bbox")
        if bbox is None:
            continue
        where = f"{prefix}/{i}/bbox"
        x, y, w, h = bbox
        if w <= 0 or h <= 0:
            ctx.report("G101", where, f"bbox has width {fmt(w)} and height {fmt(h)}")
            continue
        size = ctx.image_size(ann.get("image_id"))
        if size is None:
            continue
        width, height = size
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            ctx.report(
                "G103",
                where,
                f"bbox [{fmt(x)}, {fmt(y)}, {fmt(w)}, {fmt(h)}] lies entirely outside the "
                f"{width}x{height} image",
            )
            continue
        if max(-x, -y, x + w - width, y + h - height) > tolerance:
            overshoot = {"left": -x, "top": -y, "right": x + w - width, "bottom": y + h - height}
            edge, amount = max(overshoot.items(), key=lambda item: item[1])
            x1, y1 = max(x, 0), max(y, 0)
            x2, y2 = min(x + w, width), min(y + h, height)
            clipped = [x1, y1, x2 - x1, y2 - y1]
            ctx.report(
                "G102",
                where,
                f"bbox extends {fmt(amount)} px past the image's {edge} edge",
                Fix.replace("clip the bbox to the image", where, clipped),
            )


@check("G108", "G109", "G110", "G111", "G112", kinds=_INSTANCE_KINDS)
def segmentations(ctx: Context) -> None:
    tolerance = ctx.settings.edge_tolerance
    wants_edges = ctx.wants("G111")
    for i, ann in ctx.records("annotations"):
        segmentation = ann.get("segmentation")
        if segmentation is None:
            continue
        where = f"/annotations/{i}/segmentation"
        crowd = ann.get("iscrowd", 0)
        size = ctx.image_size(ann.get("image_id"))
        if isinstance(segmentation, list):
            if not segmentation:
                ctx.report("G112", where, "segmentation is an empty list (no mask)")
                continue
            if crowd == 1:
                ctx.report("G110", where, "crowd annotation (iscrowd 1) with polygons, not RLE")
            if size is not None and wants_edges:
                _polygon_edges(ctx, where, segmentation, size, tolerance)
            continue
        counts, rle_size = segmentation["counts"], segmentation["size"]
        if size is not None and list(rle_size) != [size[1], size[0]]:
            ctx.report(
                "G108",
                f"{where}/size",
                f"RLE size is {rle_size} but the image is [height, width] = [{size[1]}, {size[0]}]",
            )
        if isinstance(counts, list) and crowd == 0:
            ctx.report(
                "G110",
                where,
                "uncompressed RLE on an annotation with iscrowd 0 (COCO uses it for crowds)",
            )
        if ctx.wants("G109"):
            check_rle(ctx, where, segmentation)


def _polygon_edges(
    ctx: Context, where: str, polygons: list[Any], size: tuple[int, int], tolerance: float
) -> None:
    width, height = size
    worst = 0.0
    for polygon in polygons:
        xs, ys = polygon[0::2], polygon[1::2]
        worst = max(worst, -min(xs), -min(ys), max(xs) - width, max(ys) - height)
    if worst > tolerance:
        ctx.report(
            "G111",
            where,
            f"a polygon point lies {fmt(worst)} px outside the {width}x{height} image",
        )
