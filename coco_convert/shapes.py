"""The primitives labeling tools draw that COCO has no type for: rotated boxes and ellipses.

COCO holds an axis-aligned ``bbox`` and polygons. CVAT, Label Studio, LabelMe and VIA also draw
rotated rectangles, circles and ellipses; their converters meet here so that every format
stores (and restores) them the same way.

Conventions
===========
Frame
    Pixels with the origin at the image's top-left corner and y pointing down (COCO's frame,
    see :mod:`coco_convert.geometry`).

Rotation
    Degrees, clockwise on screen (y down), as CVAT's ``rotation`` and Label Studio's
    ``rotation`` both mean it. Corners are listed from the box's own top-left corner, clockwise
    on screen: top-left, top-right, bottom-right, bottom-left. The rectangle ``(x, y, w, h)``
    turned by ``r`` about its top-left corner has the corners Label Studio computes::

        (x, y), (x + w cos r, y + w sin r), (x + w cos r - h sin r, y + w sin r + h cos r),
        (x - h sin r, y + h cos r)

    CVAT turns a box about its centre instead; the four corners are the same kind of shape,
    only the point held fixed differs (``pivot``).

A rotated box in COCO
    ``bbox`` is the envelope of the four corners (the box a detector trained on axis-aligned
    boxes should see), ``segmentation`` is the exact 4-point polygon, and
    ``attributes.rotation`` holds the angle (what CVAT's own COCO export writes). A writer back
    to a tool that draws rotated boxes recovers the box exactly from the polygon
    (:func:`box_from_corners`).

Area
    ``area`` is the area of the figure the tool drew, in square pixels, rounded to 9 decimals
    (``374.9 - 87.5`` is 287.4, not 287.40000000000003): a box's ``w * h`` (turned or not),
    a polygon's own area (:func:`ring_area`, the shoelace formula: the number COCO's own
    files hold for polygons, which pycocotools' pixel count of the rasterised polygon follows
    within about a pixel's rim), the union of an object's parts when it has several
    (:func:`polygons_area`), an ellipse's ``pi rx ry``, and a mask's pixel count. Every
    labeling-tool reader (CVAT, Label Studio, LabelMe, VIA) follows it.

An ellipse or circle in COCO
    ``segmentation`` is a polygon inscribed in the ellipse (:func:`ellipse_polygon`, vertices
    no further than ``tolerance`` px inside the curve) and the exact figure is kept under the
    annotation's extra key :data:`SHAPE_KEY` as ``{"type": "ellipse", "center": [cx, cy],
    "radii": [rx, ry], "rotation": r}`` so a writer back to a tool that draws ellipses restores
    it. ``bbox`` is the envelope of the exact ellipse (:func:`ellipse_envelope`) and ``area``
    its exact area (pi rx ry), as for a rotated box they describe the figure, not the polygon
    (which stays within ``tolerance`` of it). :func:`ellipse_mask` rasterises the exact figure
    by the pixel-centre rule that pycocotools applies to polygons, to measure what the polygon
    costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce
from operator import add, mul, sub
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "SHAPE_KEY",
    "Ellipse",
    "Pivot",
    "RotatedBox",
    "box_from_corners",
    "ellipse_envelope",
    "ellipse_mask",
    "ellipse_polygon",
    "ellipse_record",
    "ellipse_vertices",
    "envelope",
    "polygons_area",
    "ring_area",
    "rotated_box_corners",
]

#: The extra annotation key holding the exact primitive behind an approximating polygon.
SHAPE_KEY = "shape"

#: The point a rotation turns the box about.
Pivot = Literal["center", "top-left"]

#: Vertex counts :func:`ellipse_vertices` chooses between.
_MIN_VERTICES, _MAX_VERTICES = 8, 1440


class RotatedBox(NamedTuple):
    """A box before its rotation (``x``, ``y``: the corner or centre-based top-left, see
    :func:`box_from_corners`), and the clockwise angle in degrees, in ``[0, 360)``."""

    x: float
    y: float
    width: float
    height: float
    rotation: float


class Ellipse(NamedTuple):
    """Centre, the two radii (along the ellipse's own axes) and the clockwise rotation."""

    cx: float
    cy: float
    rx: float
    ry: float
    rotation: float = 0.0


def rotated_box_corners(
    x: float, y: float, width: float, height: float, rotation: float, *, pivot: Pivot
) -> list[float]:
    """The four corners ``[x1, y1, ..., x4, y4]`` (top-left, top-right, bottom-right,
    bottom-left of the box itself) of the box ``x, y, width, height`` turned clockwise by
    ``rotation`` degrees about its top-left corner or its centre."""
    rad = math.radians(rotation)
    cos, sin = math.cos(rad), math.sin(rad)
    if pivot == "top-left":
        ox, oy = x, y
        offsets = ((0.0, 0.0), (width, 0.0), (width, height), (0.0, height))
    elif pivot == "center":
        ox, oy = x + width / 2, y + height / 2
        hw, hh = width / 2, height / 2
        offsets = ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))
    else:
        raise ValueError(f"pivot must be 'center' or 'top-left', not {pivot!r}")
    corners: list[float] = []
    for dx, dy in offsets:
        corners.append(ox + dx * cos - dy * sin)
        corners.append(oy + dx * sin + dy * cos)
    return corners


def box_from_corners(
    corners: Sequence[float], *, pivot: Pivot, tolerance: float = 1e-6
) -> RotatedBox | None:
    """The rotated box whose :func:`rotated_box_corners` are ``corners`` (8 numbers, in that
    order), or None when they are not a rectangle's corners in that order (within
    ``tolerance`` px, relative to the box's size for large boxes).

    With ``pivot="top-left"``, ``x, y`` is the first corner (Label Studio); with
    ``"center"``, it is the top-left of the unrotated box about the centre (CVAT's
    ``xtl, ytl``)."""
    if len(corners) != 8 or not all(math.isfinite(v) for v in corners):
        return None
    x0, y0, x1, y1, x2, y2, x3, y3 = (float(v) for v in corners)
    ux, uy = x1 - x0, y1 - y0  # along the top edge
    vx, vy = x3 - x0, y3 - y0  # down the left edge
    width, height = math.hypot(ux, uy), math.hypot(vx, vy)
    slack = tolerance * max(1.0, width, height)
    if width <= slack or height <= slack:
        return None
    # A rectangle: opposite corner where the two edges meet, edges at right angles, and the
    # left edge a clockwise quarter turn from the top edge (the corner order).
    if math.hypot(x0 + ux + vx - x2, y0 + uy + vy - y2) > slack:
        return None
    if abs(ux * vx + uy * vy) > slack * max(width, height):
        return None
    if ux * vy - uy * vx <= 0:
        return None
    rotation = math.degrees(math.atan2(uy, ux)) % 360.0
    if rotation >= 360.0:  # -1e-17 % 360 rounds up to 360
        rotation = 0.0
    if pivot == "top-left":
        return RotatedBox(x0, y0, width, height, rotation)
    if pivot == "center":
        cx, cy = (x0 + x2) / 2, (y0 + y2) / 2
        return RotatedBox(cx - width / 2, cy - height / 2, width, height, rotation)
    raise ValueError(f"pivot must be 'center' or 'top-left', not {pivot!r}")


def envelope(coords: Sequence[float]) -> list[float]:
    """The axis-aligned box ``[x, y, w, h]`` around flat ``[x1, y1, x2, y2, ...]`` points."""
    if len(coords) < 2 or len(coords) % 2:
        raise ValueError(f"expected x, y pairs, got {len(coords)} numbers")
    xs, ys = coords[0::2], coords[1::2]
    left, top = min(xs), min(ys)
    return [left, top, max(xs) - left, max(ys) - top]


def ring_area(coords: Sequence[float]) -> float:
    """The area a ring of flat ``[x1, y1, x2, y2, ...]`` points encloses (the shoelace
    formula; a ring that crosses itself gives its net area). Not rounded."""
    # (a list or a tuple: either adds to its own kind)
    xs, ys = cast("list[float]", coords[0::2]), cast("list[float]", coords[1::2])
    # sum of xs[i - 1] * ys[i] - xs[i] * ys[i - 1] from i = 0, in that order (as a loop
    # would add them, bit for bit), without a Python-level loop
    before_x, before_y = xs[-1:] + xs[:-1], ys[-1:] + ys[:-1]
    twice = reduce(add, map(sub, map(mul, before_x, ys), map(mul, xs, before_y)), 0.0)
    return abs(twice) / 2


def polygons_area(polygons: Sequence[Sequence[float]]) -> float:
    """The area of an object drawn as ``polygons`` (flat points each): the area of their
    union, rounded to 9 decimals. The sum of their :func:`ring_area` when no two of their
    boxes overlap (the parts of an object an occluder splits), else shapely's union."""
    if len(polygons) == 1:
        return round(ring_area(polygons[0]), 9)
    boxes = [(min(p[0::2]), min(p[1::2]), max(p[0::2]), max(p[1::2])) for p in polygons]
    if not any(
        a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    ):
        return round(sum(ring_area(p) for p in polygons), 9)
    import shapely

    from .geometry import shapely_polygon

    rings = [shapely.make_valid(shapely_polygon(p)) for p in polygons]
    return round(float(shapely.union_all(rings).area), 9)


def ellipse_vertices(rx: float, ry: float, tolerance: float = 0.25) -> int:
    """How many vertices an inscribed polygon needs so that no edge strays more than
    ``tolerance`` px inside the ellipse (the sagitta ``r (1 - cos(pi / n))`` of the larger
    radius), a multiple of 4 so the polygon is as symmetric as the ellipse."""
    radius = max(abs(rx), abs(ry))
    if not math.isfinite(radius) or tolerance <= 0:
        raise ValueError("radii must be finite and the tolerance positive")
    if radius <= tolerance:
        return _MIN_VERTICES
    n = math.ceil(math.pi / math.acos(1 - tolerance / radius))
    n = 4 * math.ceil(n / 4)
    return max(_MIN_VERTICES, min(_MAX_VERTICES, n))


def ellipse_polygon(ellipse: Ellipse, *, vertices: int | None = None) -> list[float]:
    """A polygon inscribed in ``ellipse``: ``vertices`` points (default
    :func:`ellipse_vertices`) evenly spaced in the ellipse's own angle, starting at the end
    of its first axis and turning clockwise on screen."""
    cx, cy, rx, ry, rotation = ellipse
    n = ellipse_vertices(rx, ry) if vertices is None else vertices
    if n < 3:
        raise ValueError(f"an ellipse polygon needs at least 3 vertices, not {n}")
    rad = math.radians(rotation)
    cos_r, sin_r = math.cos(rad), math.sin(rad)
    points: list[float] = []
    for k in range(n):
        t = 2 * math.pi * k / n
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        points.append(cx + ex * cos_r - ey * sin_r)
        points.append(cy + ex * sin_r + ey * cos_r)
    return points


def ellipse_record(ellipse: Ellipse) -> dict[str, Any]:
    """The :data:`SHAPE_KEY` value that keeps ``ellipse`` exactly in a COCO annotation."""
    cx, cy, rx, ry, rotation = ellipse
    return {"type": "ellipse", "center": [cx, cy], "radii": [rx, ry], "rotation": rotation}


def ellipse_envelope(ellipse: Ellipse) -> list[float]:
    """The axis-aligned box ``[x, y, w, h]`` around the exact ``ellipse``: its half-widths
    are ``sqrt(rx^2 cos^2 r + ry^2 sin^2 r)`` across and ``sqrt(rx^2 sin^2 r + ry^2 cos^2 r)``
    down."""
    cx, cy, rx, ry, rotation = ellipse
    rad = math.radians(rotation)
    cos_r, sin_r = math.cos(rad), math.sin(rad)
    half_w = math.hypot(rx * cos_r, ry * sin_r)
    half_h = math.hypot(rx * sin_r, ry * cos_r)
    return [cx - half_w, cy - half_h, 2 * half_w, 2 * half_h]


def ellipse_mask(ellipse: Ellipse, height: int, width: int) -> npt.NDArray[Any]:
    """The exact ellipse as a ``(height, width)`` uint8 mask: a pixel is in when its centre
    is inside or on the curve (the rule pycocotools applies to polygons)."""
    import numpy as np

    cx, cy, rx, ry, rotation = ellipse
    mask = np.zeros((height, width), dtype=np.uint8)
    if rx <= 0 or ry <= 0:
        return mask
    rad = math.radians(rotation)
    cos_r, sin_r = math.cos(rad), math.sin(rad)
    dy = (np.arange(height, dtype=np.float64) + 0.5 - cy)[:, None]
    dx = (np.arange(width, dtype=np.float64) + 0.5 - cx)[None, :]
    u = (dx * cos_r + dy * sin_r) / rx  # along the first axis
    v = (-dx * sin_r + dy * cos_r) / ry  # along the second
    mask[u * u + v * v <= 1.0] = 1
    return mask
