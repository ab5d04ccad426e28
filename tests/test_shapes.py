"""coco_convert.shapes: rotated boxes and ellipses, the primitives COCO has no type for.

Label Studio's corner formula and pycocotools' rasteriser are the oracles."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as coco_mask

from coco_convert import geometry, registry
from coco_convert.shapes import (
    Ellipse,
    box_from_corners,
    ellipse_envelope,
    ellipse_mask,
    ellipse_polygon,
    ellipse_record,
    ellipse_vertices,
    envelope,
    polygons_area,
    ring_area,
    rotated_box_corners,
)

coordinate = st.floats(-1000, 1000, allow_nan=False)
side = st.floats(0.5, 1000, allow_nan=False)
angle = st.floats(0, 359.999, allow_nan=False)


def label_studio_corners(x: float, y: float, w: float, h: float, r: float) -> list[float]:
    """The corners as Label Studio computes them (issue 12, from its frontend)."""
    c, s = math.cos(math.radians(r)), math.sin(math.radians(r))
    return [x, y, x + w * c, y + w * s, x + w * c - h * s, y + w * s + h * c, x - h * s, y + h * c]


@settings(max_examples=300, deadline=None)
@given(coordinate, coordinate, side, side, angle)
def test_top_left_pivot_is_label_studio_and_round_trips(
    x: float, y: float, w: float, h: float, r: float
) -> None:
    corners = rotated_box_corners(x, y, w, h, r, pivot="top-left")
    assert corners == pytest.approx(label_studio_corners(x, y, w, h, r), abs=1e-9)
    box = box_from_corners(corners, pivot="top-left")
    assert box is not None
    assert (box.x, box.y, box.width, box.height) == pytest.approx((x, y, w, h), abs=1e-6)
    assert math.cos(math.radians(box.rotation - r)) == pytest.approx(1.0, abs=1e-9)
    assert 0 <= box.rotation < 360


@settings(max_examples=300, deadline=None)
@given(coordinate, coordinate, side, side, angle)
def test_center_pivot_keeps_the_centre_and_round_trips(
    x: float, y: float, w: float, h: float, r: float
) -> None:
    corners = rotated_box_corners(x, y, w, h, r, pivot="center")
    xs, ys = corners[0::2], corners[1::2]
    assert sum(xs) / 4 == pytest.approx(x + w / 2, abs=1e-6)
    assert sum(ys) / 4 == pytest.approx(y + h / 2, abs=1e-6)
    box = box_from_corners(corners, pivot="center")
    assert box is not None
    assert (box.x, box.y, box.width, box.height) == pytest.approx((x, y, w, h), abs=1e-6)
    # The same shape as the top-left pivot, moved: the edges are the same vectors.
    other = rotated_box_corners(x, y, w, h, r, pivot="top-left")
    for i in (2, 4, 6):
        assert corners[i] - corners[0] == pytest.approx(other[i] - other[0], abs=1e-6)
        assert corners[i + 1] - corners[1] == pytest.approx(other[i + 1] - other[1], abs=1e-6)


def test_no_rotation_is_the_plain_box_and_envelope_is_the_bbox() -> None:
    assert rotated_box_corners(10, 20, 30, 40, 0, pivot="top-left") == [
        10, 20, 40, 20, 40, 60, 10, 60,
    ]  # fmt: skip
    corners = rotated_box_corners(0, 0, 10, 10, 45, pivot="center")
    half_diagonal = 10 / math.sqrt(2)
    assert envelope(corners) == pytest.approx(
        [5 - half_diagonal, 5 - half_diagonal, 2 * half_diagonal, 2 * half_diagonal]
    )
    assert box_from_corners(corners, pivot="center") == pytest.approx((0, 0, 10, 10, 45))


@pytest.mark.parametrize(
    "corners",
    [
        [0, 0, 10, 0, 10, 10],  # three points
        [0, 0, 10, 0, 12, 10, 0, 10],  # not a parallelogram
        [0, 0, 10, 0, 15, 10, 5, 10],  # a parallelogram without right angles
        [0, 0, 0, 10, 10, 10, 10, 0],  # counter-clockwise on screen
        [0, 0, 0, 0, 0, 0, 0, 0],  # degenerate
        [0, 0, 10, 0, 10, float("nan"), 0, 10],
    ],
)
def test_box_from_corners_refuses_what_is_not_a_rotated_box(corners: list[float]) -> None:
    assert box_from_corners(corners, pivot="top-left") is None
    assert box_from_corners(corners, pivot="center") is None


def test_envelope_refuses_odd_coordinates() -> None:
    with pytest.raises(ValueError, match="pairs"):
        envelope([1, 2, 3])


@settings(max_examples=200, deadline=None)
@given(st.floats(-50, 150), st.floats(-50, 150), st.floats(0.5, 300), st.floats(0.5, 300), angle)
def test_ellipse_polygon_vertices_lie_on_the_ellipse(
    cx: float, cy: float, rx: float, ry: float, r: float
) -> None:
    polygon = ellipse_polygon(Ellipse(cx, cy, rx, ry, r))
    n = len(polygon) // 2
    assert n == ellipse_vertices(rx, ry)
    assert n % 4 == 0
    c, s = math.cos(math.radians(r)), math.sin(math.radians(r))
    for px, py in zip(polygon[0::2], polygon[1::2], strict=True):
        dx, dy = px - cx, py - cy
        u, v = (dx * c + dy * s) / rx, (-dx * s + dy * c) / ry
        assert u * u + v * v == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(-50, 150), st.floats(-50, 150), st.floats(0.5, 300), st.floats(0.5, 300), angle)
def test_ellipse_envelope_touches_the_ellipse_and_holds_it(
    cx: float, cy: float, rx: float, ry: float, r: float
) -> None:
    x, y, w, h = ellipse_envelope(Ellipse(cx, cy, rx, ry, r))
    dense = ellipse_polygon(Ellipse(cx, cy, rx, ry, r), vertices=20000)
    xs, ys = dense[0::2], dense[1::2]
    slack = 1e-6 * max(rx, ry, 1)
    assert x - slack <= min(xs)
    assert max(xs) <= x + w + slack
    assert y - slack <= min(ys)
    assert max(ys) <= y + h + slack
    # a dense polygon comes within its own sagitta of every side
    near = max(rx, ry) * (1 - math.cos(math.pi / 10000)) + slack
    assert min(xs) - x <= near
    assert x + w - max(xs) <= near
    assert min(ys) - y <= near
    assert y + h - max(ys) <= near


def rasterise(polygon: list[float], height: int, width: int) -> Any:
    rle = geometry.to_rle([polygon], height, width)
    return coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})


@settings(max_examples=60, deadline=None)
@given(st.floats(20, 80), st.floats(20, 80), st.floats(3, 40), st.floats(3, 40), angle)
def test_ellipse_polygon_rasterises_close_to_the_exact_ellipse(
    cx: float, cy: float, rx: float, ry: float, r: float
) -> None:
    ellipse = Ellipse(cx, cy, rx, ry, r)
    exact = ellipse_mask(ellipse, 100, 100).astype(bool)
    drawn = rasterise(ellipse_polygon(ellipse), 100, 100).astype(bool)
    # Inscribed within 0.25 px: a pixel the polygon adds beyond the ellipse has its centre on
    # the curve within pycocotools' own uncertainty at edges (its 5x grid: about 0.17 px),
    # and what it misses is a thin boundary band.
    rows, cols = np.nonzero(drawn & ~exact)
    c, s = math.cos(math.radians(r)), math.sin(math.radians(r))
    dx, dy = cols + 0.5 - cx, rows + 0.5 - cy
    rho = np.hypot((dx * c + dy * s) / rx, (-dx * s + dy * c) / ry)
    assert ((rho - 1) * min(rx, ry) <= 0.2).all()
    perimeter = math.pi * (3 * (rx + ry) - math.sqrt((3 * rx + ry) * (rx + 3 * ry)))
    assert (exact & ~drawn).sum() <= 0.5 * perimeter + 4


def test_ellipse_mask_of_a_circle_is_symmetric_and_counts_centres() -> None:
    mask = ellipse_mask(Ellipse(5, 5, 3, 3), 10, 10)
    assert (mask == mask[::-1]).all()
    assert (mask == mask[:, ::-1]).all()
    assert (mask == mask.T).all()
    # Centres (i + 0.5, j + 0.5) within distance 3 of (5, 5): counted by brute force.
    expected = sum(
        (i + 0.5 - 5) ** 2 + (j + 0.5 - 5) ** 2 <= 9 for i in range(10) for j in range(10)
    )
    assert int(mask.sum()) == expected == 32
    assert ellipse_mask(Ellipse(5, 5, 0, 3), 10, 10).sum() == 0


def test_ellipse_vertices_grow_with_the_radius_and_stay_bounded() -> None:
    counts = [ellipse_vertices(r, r) for r in (0.1, 2, 10, 100, 1000, 1e9)]
    assert counts == sorted(counts)
    assert counts[0] == 8
    assert counts[-1] == 1440
    with pytest.raises(ValueError, match="finite"):
        ellipse_vertices(float("inf"), 1)
    with pytest.raises(ValueError, match="at least 3"):
        ellipse_polygon(Ellipse(0, 0, 1, 1), vertices=2)


def test_ellipse_record_keeps_the_exact_figure() -> None:
    assert ellipse_record(Ellipse(1.5, 2, 3, 4, 30)) == {
        "type": "ellipse",
        "center": [1.5, 2],
        "radii": [3, 4],
        "rotation": 30,
    }
    assert np.array_equal(
        ellipse_mask(Ellipse(10, 10, 4, 2, 90), 20, 20), ellipse_mask(Ellipse(10, 10, 2, 4), 20, 20)
    )


# --- one area convention across the labeling-tool readers ------------------------------------

#: A 200 x 160 image holding a circle (centre (100, 80), radius 25), a quadrilateral whose
#: shoelace sum has float noise, and one object drawn as two overlapping rectangles
#: (10..50 x 100..140 and 30..70 x 100..140: union 2,400, not the 3,200 of the two summed).
_QUAD = [10.1, 20.3, 87.5, 20.3, 90.7, 60.9, 10.1, 60.7]
_PARTS = [[10, 100, 50, 100, 50, 140, 10, 140], [30, 100, 70, 100, 70, 140, 30, 140]]


def _pairs(flat: list[float]) -> list[list[float]]:
    return [list(p) for p in zip(flat[0::2], flat[1::2], strict=True)]


def _cvat(folder: Path) -> Path:
    def points(flat: list[float]) -> str:
        return ";".join(f"{x},{y}" for x, y in _pairs(flat))

    path = folder / "annotations.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        "<meta><task><labels><label><name>a</name></label></labels></task></meta>"
        '<image id="0" name="a.png" width="200" height="160">'
        '<ellipse label="a" cx="100" cy="80" rx="25" ry="25" occluded="0"/>'
        f'<polygon label="a" occluded="0" points="{points(_QUAD)}"/>'
        + "".join(
            f'<polygon label="a" occluded="0" group_id="1" points="{points(p)}"/>' for p in _PARTS
        )
        + "</image></annotations>\n"
    )
    return path


def _labelme(folder: Path) -> Path:
    shapes_ = [
        {"label": "a", "shape_type": "circle", "points": [[100, 80], [125, 80]], "group_id": None},
        {"label": "a", "shape_type": "polygon", "points": _pairs(_QUAD), "group_id": None},
        *({"label": "a", "shape_type": "polygon", "points": _pairs(p), "group_id": 1}
          for p in _PARTS),
    ]  # fmt: skip
    for shape in shapes_:
        shape |= {"flags": {}, "description": ""}
    path = folder / "a.json"
    path.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes_,
                                "imagePath": "a.png", "imageData": None, "imageHeight": 160,
                                "imageWidth": 200}))  # fmt: skip
    return path


def _via(folder: Path) -> Path:
    regions = [
        {"shape_attributes": {"name": "circle", "cx": 100, "cy": 80, "r": 25}},
        {"shape_attributes": {"name": "polygon", "all_points_x": _QUAD[0::2],
                              "all_points_y": _QUAD[1::2]}},
    ]  # fmt: skip
    for region in regions:
        region["region_attributes"] = {"label": "a"}
    Image.new("RGB", (200, 160)).save(folder / "a.png")
    path = folder / "via.json"
    entry = {"filename": "a.png", "size": -1, "regions": regions, "file_attributes": {}}
    path.write_text(json.dumps({"a.png-1": entry}))
    return path


def _labelstudio(folder: Path) -> Path:
    def region(kind: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "from_name": "label", "to_name": "image", "original_width": 200,
                "original_height": 160, "value": {**value, kind: ["a"]}}  # fmt: skip

    percent = [[x * 100 / 200, y * 100 / 160] for x, y in _pairs(_QUAD)]
    result = [
        region("ellipselabels", {"x": 50, "y": 50, "radiusX": 12.5, "radiusY": 15.625}),
        region("polygonlabels", {"points": percent}),
    ]
    path = folder / "tasks.json"
    path.write_text(json.dumps([{"id": 1, "data": {"image": "a.png"},
                                 "annotations": [{"id": 1, "result": result}]}]))  # fmt: skip
    return path


@pytest.mark.parametrize("fmt", ["cvat", "labelme", "via", "labelstudio"])
def test_every_labeling_tool_reader_gives_the_same_area(fmt: str, tmp_path: Path) -> None:
    make = {"cvat": _cvat, "labelme": _labelme, "via": _via, "labelstudio": _labelstudio}[fmt]
    datasets, _ = registry.get(fmt).read(make(tmp_path))
    (dataset,) = datasets.values()
    circle, quad, *grouped = dataset.annotations
    # the circle: the exact figure's area and box, not its inscribed polygon's
    assert circle["area"] == pytest.approx(math.pi * 25**2, abs=1e-9)
    assert circle["bbox"] == pytest.approx([75, 55, 50, 50], abs=1e-9)
    assert circle["shape"]["radii"] == pytest.approx([25, 25])
    # a polygon: its own (shoelace) area, the subtraction noise rounded away
    (ring,) = quad["segmentation"]
    assert quad["area"] == round(ring_area(ring), 9) == pytest.approx(ring_area(_QUAD))
    assert len(str(quad["area"])) < 12
    # ... which pycocotools' pixel count of it follows within a one-pixel rim
    pixels = geometry.area(quad["segmentation"], 160, 200)
    assert abs(quad["area"] - pixels) <= quad["bbox"][2] + quad["bbox"][3]
    # an object of overlapping parts: the area of their union, as pycocotools counts it
    if fmt in ("cvat", "labelme"):
        (union,) = grouped
        assert union["segmentation"] == _PARTS
        assert union["area"] == polygons_area(_PARTS) == 2400
        assert geometry.area(union["segmentation"], 160, 200) == 2400
