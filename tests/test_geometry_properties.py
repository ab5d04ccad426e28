"""Property tests (hypothesis) for coco_convert.geometry: random masks, random simple and
self-crossing polygons, random run lengths; pycocotools is the oracle."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from coco_convert import geometry as g
from coco_convert.errors import GeometryError

#: GEOMETRY_EXAMPLES=3000 for a longer hunt (150 keeps `make test` quick)
EXAMPLES = int(os.environ.get("GEOMETRY_EXAMPLES", "150"))
examples = settings(max_examples=EXAMPLES, deadline=None)

sizes = st.integers(min_value=1, max_value=24)


@st.composite
def masks(draw: Any) -> np.ndarray:
    """Masks of every kind: noise, blobs with holes and islands, lines, border-touching."""
    h, w = draw(sizes), draw(sizes)
    kind = draw(st.sampled_from(["noise", "blocks", "sparse"]))
    if kind == "noise":
        return draw(arrays(np.uint8, (h, w), elements=st.integers(0, 1)))
    if kind == "sparse":
        mask = np.zeros((h, w), dtype=np.uint8)
        for y, x in draw(st.lists(st.tuples(st.integers(0, h - 1), st.integers(0, w - 1)))):
            mask[y, x] = 1
        return mask
    mask = np.zeros((h, w), dtype=np.uint8)
    for _ in range(draw(st.integers(1, 5))):
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h - 1)), draw(st.integers(x0, w - 1))
        mask[y0 : y1 + 1, x0 : x1 + 1] ^= 1  # xor makes holes and islands
    return mask


coordinate = st.floats(min_value=-5, max_value=30, allow_nan=False, allow_infinity=False)
polygon = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12).map(
    lambda points: [v for point in points for v in point]
)


def c_rle(rle: dict[str, Any]) -> dict[str, Any]:
    return {"size": rle["size"], "counts": rle["counts"].encode()}


@examples
@given(masks())
def test_mask_rle_identities(mask: np.ndarray) -> None:
    h, w = mask.shape
    rle = g.mask_to_rle(mask)
    oracle = coco_mask.encode(np.asfortranarray(mask))
    assert rle["counts"] == oracle["counts"].decode()
    assert np.array_equal(g.rle_to_mask(rle), mask)
    plain = g.uncompress_rle(rle)
    assert sum(plain["counts"]) == h * w
    assert g.compress_rle(plain) == rle
    assert np.array_equal(g.rle_to_mask(plain), mask)
    assert g.area(rle, h, w) == int(mask.sum()) == int(coco_mask.area(oracle))
    assert g.bbox(plain, h, w) == coco_mask.toBbox(oracle).tolist()


@examples
@given(masks(), st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.integers(0, 6))
def test_crop_placed_in_an_image_is_pycocotools_of_the_whole_mask(
    crop: np.ndarray, left: int, top: int, right: int, bottom: int
) -> None:
    rows, cols = crop.shape
    height, width = top + rows + bottom, left + cols + right
    image = np.zeros((height, width), dtype=np.uint8)
    image[top : top + rows, left : left + cols] = crop
    oracle = coco_mask.encode(np.asfortranarray(image))
    rle = g.crop_to_rle(crop, left, top, height, width)
    assert rle == {"size": [height, width], "counts": oracle["counts"].decode()}
    back = g.rle_crop(rle)
    if not crop.any():
        assert back is None
        return
    assert back is not None
    x0, y0, tight = back
    ys, xs = np.nonzero(image)
    assert (x0, y0) == (xs.min(), ys.min())
    assert np.array_equal(tight, image[y0 : ys.max() + 1, x0 : xs.max() + 1])


def test_a_crop_outside_its_image_is_refused() -> None:
    with pytest.raises(GeometryError, match=r"a 3 x 2 mask at \(8, 0\) reaches outside"):
        g.crop_to_rle(np.ones((2, 3)), 8, 0, 10, 10)


@examples
@given(masks())
def test_mask_polygon_round_trip_is_exact(mask: np.ndarray) -> None:
    h, w = mask.shape
    rle = g.mask_to_rle(mask)
    polygons = g.mask_to_polygons(mask)
    assert g.rle_to_polygons(rle) == polygons
    assert g.to_rle(polygons, h, w) == rle  # IoU 1: the very same pixels
    assert g.check_polygons(polygons, h, w) == []
    assert g.area_and_bbox(polygons, h, w) == g.area_and_bbox(rle, h, w)


@examples
@given(masks())
def test_filling_holes_only_adds_pixels(mask: np.ndarray) -> None:
    h, w = mask.shape
    filled = g.rle_to_mask(g.to_rle(g.mask_to_polygons(mask, holes="fill"), h, w))
    assert np.all(filled >= mask)
    has_holes = any(o.holes for o in g.trace(mask))
    assert has_holes == bool((filled > mask).any())


@examples
@given(masks(), st.floats(min_value=0.1, max_value=3))
def test_simplified_polygons_stay_valid_and_near(mask: np.ndarray, tolerance: float) -> None:
    h, w = mask.shape
    exact = g.mask_to_polygons(mask)
    simple = g.mask_to_polygons(mask, tolerance=tolerance)
    assert g.polygon_vertices(simple) <= g.polygon_vertices(exact)
    for ring in simple:
        xy = np.asarray(ring).reshape(-1, 2)
        assert xy.min() >= 0
        assert xy[:, 0].max() <= w
        assert xy[:, 1].max() <= h
    assert not [p for p in g.check_polygons(simple, h, w) if p.code != "zero_area"]


@examples
@given(st.lists(polygon, min_size=1, max_size=3), sizes, sizes)
def test_polygons_encode_and_measure_as_pycocotools(
    polygons: list[list[float]], h: int, w: int
) -> None:
    oracle = coco_mask.merge(coco_mask.frPyObjects(polygons, h, w))
    rle = g.to_rle(polygons, h, w)
    assert rle["counts"] == oracle["counts"].decode()
    assert g.area(polygons, h, w) == int(coco_mask.area(oracle))
    assert g.bbox(polygons, h, w) == coco_mask.toBbox(oracle).tolist()


@examples
@given(st.lists(polygon, min_size=1, max_size=3), sizes, sizes)
def test_repairs_leave_no_problem(polygons: list[list[float]], h: int, w: int) -> None:
    repaired, problems = g.repair_polygons(polygons, h, w)
    assert g.check_polygons(repaired, h, w) == []
    if not problems:
        assert repaired == polygons
    # clipping adds no pixel to the original's: any pixel only the repaired polygons cover has
    # its centre on the rasteriser's rounding band of an original edge (0.17 px inside the
    # image, up to 0.28 px where pycocotools clamps what lies outside it). (An
    # untangled ring may gain pixels: a ring walked twice covers nothing under the even-odd
    # rule, make_valid gives the region it outlines.)
    if repaired and "self_intersection" not in {p.code for p in problems}:
        before = g.rle_to_mask(g.to_rle(polygons, h, w))
        after = g.rle_to_mask(g.to_rle(repaired, h, w))
        rows, cols = np.nonzero(after > before)
        edges = shapely.MultiLineString(
            [shapely.LinearRing(np.reshape(p, (-1, 2))) for p in polygons]
        )
        assert np.all(shapely.distance(shapely.points(cols + 0.5, rows + 0.5), edges) < 0.3)


@examples
@given(st.lists(st.integers(0, 50), min_size=1, max_size=20), st.integers(-3, 3))
def test_run_lengths_must_cover_the_mask(runs: list[int], error: int) -> None:
    total = sum(runs)
    assume(total + error > 0)
    rle = {"size": [1, total + error], "counts": runs}
    if error == 0:
        assert g.uncompress_rle(g.compress_rle(rle))["counts"] == runs
    else:
        with pytest.raises(GeometryError, match="add up to"):
            g.compress_rle(rle)


def row_runs(mask: np.ndarray) -> list[int]:
    """Row-major run lengths of ``mask``, background first (the first may be 0)."""
    flat = mask.ravel().astype(np.int8)
    switches = np.flatnonzero(np.diff(flat, prepend=0, append=0))
    return np.diff(switches, prepend=0, append=flat.size).tolist()


@examples
@given(masks(), st.data())
def test_row_runs_and_coco_rle_are_the_same_mask(mask: np.ndarray, data: Any) -> None:
    """rows_to_rle gives exactly pycocotools' encoding of the mask, over the whole image or
    a box inside it, and rle_to_rows gives the row runs back."""
    h, w = mask.shape
    assert g.rows_to_rle(row_runs(mask), h, w) == g.mask_to_rle(mask)
    assert g.rle_to_rows(g.mask_to_rle(mask)).tolist() == row_runs(mask)
    top, left = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    bh, bw = data.draw(st.integers(1, h - top)), data.draw(st.integers(1, w - left))
    inside = np.zeros_like(mask)
    inside[top : top + bh, left : left + bw] = mask[top : top + bh, left : left + bw]
    box = (left, top, bw, bh)
    runs = row_runs(mask[top : top + bh, left : left + bw])
    assert g.rows_to_rle(runs, h, w, box=box) == g.mask_to_rle(inside)
    assert g.rle_to_rows(g.mask_to_rle(inside), box=box).tolist() == runs


def test_row_runs_refused_when_they_do_not_fit() -> None:
    with pytest.raises(GeometryError, match="add up to 5 pixels; the box has 6"):
        g.rows_to_rle([2, 3], 2, 3)
    with pytest.raises(GeometryError, match="negative"):
        g.rows_to_rle([7, -1], 2, 3)
    with pytest.raises(GeometryError, match="flat list of integers"):
        g.rows_to_rle([1.5, 4.5], 2, 3)
    with pytest.raises(GeometryError, match="not inside the 3 x 2 image"):
        g.rows_to_rle([4], 2, 3, box=(1, 1, 2, 2))
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[0, 0] = 1
    with pytest.raises(GeometryError, match="reach outside the box"):
        g.rle_to_rows(g.mask_to_rle(mask), box=(1, 1, 3, 3))


@pytest.mark.parametrize(
    "polygon",
    [
        # GEOS's make_valid raises on these (TopologyException, "Scale factor must be
        # non-zero"): found by hypothesis with coordinates near the smallest doubles.
        [5e-244, 0.0, 3.0, 3.0, 2.0, 8e-27, 2.0, 2.0, 1e-300, 5e-244, 1.0, 2.0],
        [2.0, 1e-300, 1.0, 5e-244, 3.0, 8e-27, 0.0, 5e-244, 1.0, 8e-27, 5e-244, 1e-300],
        [2.0, 3.0, 0.0, 8e-27, 1.0, 1e-300, 1.0, 2.0, 5e-244, 0.0, 1e-300, 5e-244],
    ],
)
def test_rings_near_the_smallest_doubles_are_checked_not_raised(polygon: list[float]) -> None:
    # Snapped to 0, each ring touches itself at (0, 0) without changing its pixels: nothing
    # to report (a crossing is reported when repairing it would change the area).
    assert g.check_polygons([polygon], 10, 10) == []
    repaired, problems = g.repair_polygons([polygon], 10, 10)
    assert problems == []
    assert repaired == [polygon]


def test_clipping_near_the_smallest_doubles_adds_no_pixel() -> None:
    """GEOS clipped this triangle (vertices 1e-150 px from 0) to the image into the rest of
    the image; coordinates that close to 0 are 0 for it now."""
    polygons = [[0, 0, 0, 0, 0, 0], [2.0, 1.0, 4.0, -1.77e-179, 5.74e-150, 7.96e-268]]
    repaired, problems = g.repair_polygons(polygons, 2, 1)
    assert {p.code for p in problems} == {"zero_area", "outside_image"}
    before = g.rle_to_mask(g.to_rle(polygons, 2, 1))
    assert not (g.rle_to_mask(g.to_rle(repaired, 2, 1)) > before).any()
    assert g.check_polygons(repaired, 2, 1) == []


def outline_lists(outlines: list[g.Outline]) -> list[list[list[list[float]]]]:
    """Outlines as plain lists (exterior first, then the holes), to compare exactly."""
    return [[ring.tolist() for ring in (o.exterior, *o.holes)] for o in outlines]


@examples
@given(st.lists(masks(), min_size=1, max_size=12), st.data())
def test_batched_tracing_is_the_per_mask_tracing(masks_: list[np.ndarray], data: Any) -> None:
    """trace_rles (rle2poly's path: counts decoded together, every mask drawn into its box,
    the rings cleaned together) gives each mask exactly the outlines of rle_to_outlines and
    trace, also when the masks are drawn and cleaned in several batches."""
    rles: list[dict[str, Any]] = [dict(g.mask_to_rle(mask)) for mask in masks_]
    for rle in rles:  # counts as pycocotools' string, as bytes, or as a list of runs
        form = data.draw(st.sampled_from(["str", "bytes", "list"]))
        if form == "bytes":
            rle["counts"] = rle["counts"].encode()
        elif form == "list":
            rle["counts"] = g.rle_counts(rle).tolist()
    draw_batch = data.draw(st.sampled_from([1, 40, g._DRAW_BATCH]))
    clean_batch = data.draw(st.sampled_from([1, 30, g._CLEAN_BATCH]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(g, "_DRAW_BATCH", draw_batch)
        patch.setattr(g, "_CLEAN_BATCH", clean_batch)
        batched = g.trace_rles(rles)
        crops = g.trace_crops([found for r in rles if (found := g.rle_crop(r)) is not None])
    singles = [outline_lists(g.rle_to_outlines(rle)) for rle in rles]
    assert [o if isinstance(o, GeometryError) else outline_lists(o) for o in batched] == singles
    assert [outline_lists(g.trace(mask)) for mask in masks_] == singles
    assert [outline_lists(o) for o in crops] == [s for s in singles if s]


@examples
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=120), max_size=12),
            st.lists(st.integers(-2, 30), max_size=6),
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 6),
    st.integers(1, 6),
)
def test_batched_tracing_refuses_what_one_mask_refuses(
    counts: list[Any], height: int, width: int
) -> None:
    """Any counts, well formed or not: trace_rles gives each the outlines, or the very error,
    that tracing it alone gives (one bad mask never spoils the others)."""
    rles = [{"size": [height, width], "counts": c} for c in counts]
    for rle, found in zip(rles, g.trace_rles(rles), strict=True):
        expected: Any
        try:
            expected = outline_lists(g.rle_to_outlines(rle))
        except GeometryError as error:
            expected = f"GeometryError: {error.message}"
        got = f"GeometryError: {found.message}" if isinstance(found, GeometryError) else found
        assert (got if isinstance(got, str) else outline_lists(got)) == expected
