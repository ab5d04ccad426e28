"""Segmentation geometry: polygons, RLE and binary masks, exactly as pycocotools sees them.

Everything here works on one segmentation (or one image's segmentations) and knows nothing of
datasets; the transforms (:mod:`coco_convert.transforms`), the formats and the validator
build on it.

Conventions
===========
Coordinates
    Pixels, origin at the top-left *corner* of the image: pixel (column ``i``, row ``j``)
    covers the square ``[i, i+1] x [j, j+1]`` and its centre is ``(i + 0.5, j + 0.5)``. COCO
    boxes ``[x, y, w, h]`` use the same frame, so a mask's box is ``[min col, min row, cols,
    rows]``.

Polygons -> pixels (pycocotools' ``frPoly``, the reference rasteriser)
    A pixel is in the mask when its *centre* is inside the polygon, by the even-odd rule (a
    ring that winds twice covers nothing; a bow-tie covers both lobes). pycocotools decides on
    a grid upsampled 5x, so a centre closer than about 0.17 px to an edge may fall either way
    (measured: ``tests/test_geometry.py::test_frpoly_is_the_pixel_centre_rule``). Coordinates
    outside the image are clipped. Several polygons of one annotation are merged by union
    (``frPyObjects`` + ``merge``). :func:`to_rle` does exactly this.

Pixels -> polygons (:func:`mask_to_polygons`, :func:`rle_to_polygons`)
    Outlines are traced with contourpy (filled marching squares between levels 0.5 and 1.5 on
    the zero-padded mask, its ``mpl2005`` generator: the fastest of its algorithms and, like
    the others, exact here): they run between the centres of the pixels inside and outside and
    cross pixel edges at their midpoints, so every pixel centre stays at least 0.35 px from the
    outline and the polygons rasterise back to *the same pixels* (IoU 1.0) with a vertex only
    where the outline turns (a 45-degree staircase is one straight edge). Parts are
    4-connected: pixels touching only at a corner are separate parts. Outlines through pixel
    centres (``cv2.findContours``, what most tools write) put every boundary pixel on the
    edge and lose about half of them, and all of a one-pixel-wide part
    (``benchmarks/compare_contours.py`` measures both).

Holes
    COCO polygons cannot hold holes (every polygon of an annotation is filled and they are
    united). ``holes="cut"`` (the default) joins each hole to the ring around it with a
    zero-width cut: a vertical segment from the hole's top vertex straight up to the nearest
    edge above, walked there and back. The even-odd rule leaves the hole empty, pycocotools
    rasterises it exactly (a vertical segment crosses no pixel column), and the cut crosses no
    other edge. ``holes="fill"`` drops holes (lossy: the converters report the IoU it cost).
    Keeping a holed annotation as RLE is a dataset-level choice (``rle2poly --holes rle``).
    :func:`check_polygons` does not flag a cut: it only touches itself.

RLE
    ``{"size": [height, width], "counts": ...}``: column-major runs alternating background and
    foreground, starting with background. ``counts`` is a list of ints ("uncompressed", how
    COCO stores crowd regions) or pycocotools' compressed string. Functions returning an RLE
    return it compressed, with ``counts`` a ``str`` (JSON-ready, not pycocotools' ``bytes``).
    Run lengths that do not add up to ``height * width`` are a :class:`GeometryError` *before*
    pycocotools sees them (its decoder would write past the end of the mask). Labeling tools
    run along the *rows* instead (CVAT's mask RLE over the mask's own box, Label Studio's
    brush): :func:`rows_to_rle` and :func:`rle_to_rows` convert, expanding only the rows or
    columns that hold the mask.

Area and box
    :func:`area` and :func:`bbox` are pycocotools' ``area`` and ``toBbox`` of :func:`to_rle`:
    the pixel count (an int) and the box of the pixels, for polygons and RLE alike.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
from pycocotools import mask as _coco_mask

from .errors import GeometryError
from .schemas.types import RLE

if TYPE_CHECKING:
    import shapely

__all__ = [
    "PROBLEMS",
    "RLE",
    "HoleMode",
    "Mask",
    "Outline",
    "PolygonList",
    "PolygonProblem",
    "SegmentationLike",
    "area",
    "area_and_bbox",
    "bbox",
    "check_flat_polygons",
    "check_polygons",
    "check_rle",
    "check_rle_size",
    "check_segmentations",
    "compress_rle",
    "crop_to_rle",
    "encode_image",
    "iou",
    "mask_to_polygons",
    "mask_to_rle",
    "measure_image",
    "measure_image_arrays",
    "measure_images",
    "outlines_to_polygons",
    "polygon_vertices",
    "repair_polygons",
    "rle_area",
    "rle_bbox",
    "rle_counts",
    "rle_crop",
    "rle_to_mask",
    "rle_to_outlines",
    "rle_to_polygons",
    "rle_to_rows",
    "rows_to_rle",
    "shapely_polygon",
    "to_rle",
    "trace",
    "trace_crops",
    "trace_rles",
    "uncompress_rle",
]

#: A binary mask, ``(height, width)``, any integer or bool dtype (non-zero is foreground).
Mask: TypeAlias = "npt.NDArray[Any]"
#: The polygons of one annotation: flat ``[x1, y1, x2, y2, ...]`` lists.
PolygonList: TypeAlias = "list[list[float]]"
#: What a COCO ``segmentation`` holds: polygons or an RLE (compressed or not).
SegmentationLike: TypeAlias = "Sequence[Sequence[float]] | RLE | dict[str, Any]"
#: How holes become COCO polygons (see the module docstring).
HoleMode = Literal["cut", "fill"]

_FloatArray: TypeAlias = "npt.NDArray[np.float64]"


# --- RLE -------------------------------------------------------------------------------------


def rle_counts(rle: RLE | dict[str, Any]) -> npt.NDArray[np.int64]:
    """The run lengths of an RLE (compressed or not) as an int64 array, checked: ``size`` is
    ``[height, width]`` of non-negative ints, runs are non-negative and add up to
    ``height * width``. Raises :class:`GeometryError` otherwise."""
    height, width = _rle_size(rle)
    counts = rle.get("counts") if isinstance(rle, dict) else None
    if isinstance(counts, str | bytes):
        runs = _decode_counts(counts)
    elif isinstance(counts, list | tuple | np.ndarray):
        try:
            runs = np.asarray(counts, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise GeometryError("RLE counts must be integers") from None
        if runs.ndim != 1 or (len(counts) and not _all_ints(list(counts))):
            raise GeometryError("RLE counts must be a flat list of integers")
    else:
        raise GeometryError("RLE counts must be a compressed string or a list of run lengths")
    if runs.size and runs.min() < 0:
        raise GeometryError(f"RLE has a negative run length ({int(runs.min())})")
    total = int(runs.sum())
    if total != height * width:
        raise GeometryError(
            f"RLE run lengths add up to {total:,} pixels but its size {height} x {width} "
            f"has {height * width:,}"
        )
    return runs


def check_rle(
    rle: RLE | dict[str, Any], height: int | None = None, width: int | None = None
) -> None:
    """Raise :class:`GeometryError` unless ``rle`` is well formed (see :func:`rle_counts`) and,
    when given, of this image's ``height`` and ``width``."""
    rle_counts(rle)
    if height is not None and width is not None:
        check_rle_size(rle, height, width)


def check_rle_size(rle: RLE | dict[str, Any], height: int, width: int) -> None:
    """Raise :class:`GeometryError` unless the RLE's ``size`` is ``[height, width]``."""
    _check_size_matches(rle, height, width)


def compress_rle(rle: RLE | dict[str, Any]) -> RLE:
    """The RLE with pycocotools' compressed string counts (checked; already compressed RLEs
    come back with ``str`` counts)."""
    height, width = _rle_size(rle)
    counts = rle["counts"]
    if isinstance(counts, str | bytes):
        rle_counts(rle)
        text = counts.decode("ascii") if isinstance(counts, bytes) else counts
        return {"size": [height, width], "counts": text}
    rle_counts(rle)
    encoded = _coco_mask.frPyObjects(
        {"size": [height, width], "counts": list(counts)}, height, width
    )
    return _json_rle(encoded)


def uncompress_rle(rle: RLE | dict[str, Any]) -> RLE:
    """The RLE with ``counts`` as a list of run lengths (as COCO stores crowd regions)."""
    height, width = _rle_size(rle)
    return {"size": [height, width], "counts": rle_counts(rle).tolist()}


def rle_to_mask(rle: RLE | dict[str, Any]) -> npt.NDArray[np.uint8]:
    """The ``(height, width)`` uint8 mask (0/1) of an RLE, compressed or not."""
    compressed = compress_rle(rle)
    return cast("npt.NDArray[np.uint8]", _coco_mask.decode(_c_rle(compressed)))


def mask_to_rle(mask: Mask) -> RLE:
    """The compressed RLE of a 2-D mask (non-zero is foreground)."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise GeometryError(f"a mask must be 2-D (height, width), got shape {array.shape}")
    binary = np.asfortranarray(array != 0, dtype=np.uint8)
    return _json_rle(_coco_mask.encode(binary))


#: A box inside an image, ``(left, top, width, height)`` in whole pixels.
Box = tuple[int, int, int, int]


def rows_to_rle(
    runs: Sequence[int] | npt.NDArray[np.integer[Any]],
    height: int,
    width: int,
    *,
    box: Box | None = None,
) -> RLE:
    """The compressed COCO RLE of a mask given as *row-major* run lengths, alternating
    background and foreground and starting with background, over ``box`` (``left, top,
    width, height``; default the whole ``height`` x ``width`` image). That is how labeling
    tools keep masks (CVAT's ``<mask rle=...>`` over the mask's own box, Label Studio's brush
    once decoded); COCO runs go down the columns of the whole image.

    Only the rows of the box that hold foreground are expanded, so a small mask in a large
    image costs little. Run lengths that are negative or do not add up to the box's area,
    and a box not inside the image, are a :class:`GeometryError`."""
    _check_image_size(height, width)
    left, top, box_width, box_height = (0, 0, width, height) if box is None else box
    if not _all_ints([left, top, box_width, box_height]) or min(box_width, box_height) < 0:
        raise GeometryError(f"a box needs whole-pixel left, top, width, height, got {box}")
    if left < 0 or top < 0 or left + box_width > width or top + box_height > height:
        raise GeometryError(
            f"the box {left}, {top}, {box_width} x {box_height} (left, top, width x height) "
            f"is not inside the {width} x {height} image"
        )
    counts = _row_runs(runs, box_width * box_height)
    ends = np.cumsum(counts)
    starts = ends - counts
    fg = np.arange(1, counts.size, 2)
    fg = fg[counts[fg] > 0]
    if fg.size == 0:
        return {"size": [height, width], "counts": _empty_counts(height, width)}
    begin, end = starts[fg], ends[fg]  # (end exclusive)
    first_rows, last_rows = begin // box_width, (end - 1) // box_width
    first_row, last_row = int(first_rows[0]), int(last_rows[-1])
    begin_columns = begin - first_rows * box_width
    if np.array_equal(first_rows, last_rows):  # every run within a row (a brush's, CVAT's)
        first_column = int(begin_columns.min())
        end_column = int((end - last_rows * box_width).max())
    else:
        first_column, end_column = 0, box_width
    # The foreground's rows and columns of the box, dense: +1 where a run starts, -1 where
    # it ends.
    across = end_column - first_column
    cells = (last_row - first_row + 1) * across
    placed = (first_rows - first_row) * across + (begin_columns - first_column)
    delta = np.bincount(placed, minlength=cells + 1) - np.bincount(
        placed + (end - begin), minlength=cells + 1
    )
    rows = (np.cumsum(delta[:cells]) > 0).reshape(-1, across)
    return crop_to_rle(rows, left + first_column, top + first_row, height, width)


def rle_to_rows(rle: RLE | dict[str, Any], *, box: Box | None = None) -> npt.NDArray[np.int64]:
    """The mask of a COCO RLE as *row-major* run lengths over ``box`` (``left, top, width,
    height``; default the whole image), alternating background and foreground and starting
    with background (the first run may be 0): the inverse of :func:`rows_to_rle`.
    Foreground outside the box is a :class:`GeometryError`. Only the mask's own box is
    decoded (:func:`rle_crop`)."""
    height, width = _rle_size(rle)
    left, top, box_width, box_height = (0, 0, width, height) if box is None else box
    total = box_width * box_height
    found = rle_crop(rle)
    if found is None:
        return np.array([total], dtype=np.int64)
    x0, y0, crop = found
    rows, cols = crop.shape
    if x0 < left or y0 < top or x0 + cols > left + box_width or y0 + rows > top + box_height:
        raise GeometryError(
            f"the mask's pixels reach outside the box {left}, {top}, {box_width} x "
            f"{box_height} (left, top, width x height)"
        )
    band = np.zeros((rows, box_width), dtype=np.int8)
    band[:, x0 - left : x0 - left + cols] = crop
    flat = band.ravel()
    positions = np.flatnonzero(np.diff(flat, prepend=0, append=0)) + (y0 - top) * box_width
    return np.diff(positions, prepend=0, append=total)


def _row_runs(runs: Any, total: int) -> npt.NDArray[np.int64]:
    """``runs`` as an int64 array, checked: whole, non-negative, adding up to ``total``."""
    try:
        counts = np.asarray(runs)
    except (TypeError, ValueError, OverflowError):
        raise GeometryError("run lengths must be integers") from None
    if counts.ndim != 1 or (counts.size and counts.dtype.kind not in "iu"):
        raise GeometryError("run lengths must be a flat list of integers")
    counts = counts.astype(np.int64, copy=False)
    if counts.size and counts.min() < 0:
        raise GeometryError(f"a run length is negative ({int(counts.min())})")
    found = int(counts.sum())
    if found != total:
        raise GeometryError(f"run lengths add up to {found:,} pixels; the box has {total:,}")
    return counts


def crop_to_rle(crop: Mask, left: int, top: int, height: int, width: int) -> RLE:
    """The compressed RLE, in an image of ``height`` x ``width``, of the mask ``crop`` (a
    2-D array, non-zero is foreground) placed with its top-left pixel at column ``left``, row
    ``top``: how tools that store a mask over its own box (CVAT's ``left``/``top``, a LabelMe
    ``mask`` at its first point) become COCO. Only the columns the crop spans are expanded,
    never the whole image. A crop reaching outside the image is a :class:`GeometryError`."""
    array = np.asarray(crop)
    if array.ndim != 2:
        raise GeometryError(f"a mask must be 2-D (height, width), got shape {array.shape}")
    _check_image_size(height, width)
    rows, cols = array.shape
    if left < 0 or top < 0 or left + cols > width or top + rows > height:
        raise GeometryError(
            f"a {cols} x {rows} mask at ({left}, {top}) reaches outside the "
            f"{width} x {height} image"
        )
    if rows == 0 or cols == 0:
        return {"size": [height, width], "counts": _empty_counts(height, width)}
    # Column-major order: each of the crop's columns is a whole image column (``top`` pixels
    # above the crop, its own, the rest below); the columns left and right of it are empty.
    columns = np.zeros((cols, height), dtype=np.uint8)
    columns[:, top : top + rows] = array.T != 0
    flat = columns.ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))
    runs[0] += left * height
    after = (width - left - cols) * height
    if runs.size % 2:  # ends with background: the columns to the right extend it
        runs[-1] += after
    elif after:
        runs = np.concatenate((runs, [after]))
    # (valid by construction: non-negative runs adding up to the image, so no check)
    return _json_rle(_coco_mask.frPyObjects({"size": [height, width], "counts": runs.tolist()},
                                            height, width))  # fmt: skip


# --- any segmentation -> RLE, area, box -------------------------------------------------------


def to_rle(segmentation: SegmentationLike, height: int, width: int) -> RLE:
    """The compressed RLE of a COCO segmentation in an image of ``height`` x ``width``:
    polygons through pycocotools' ``frPyObjects`` + ``merge`` (the reference rasteriser; an
    empty list is an empty mask), an RLE checked, compressed and required to be of this size.
    """
    if isinstance(segmentation, dict):
        _check_size_matches(segmentation, height, width)
        return compress_rle(segmentation)
    return encode_image([segmentation], height, width)[0]


def encode_image(segmentations: Sequence[SegmentationLike], height: int, width: int) -> list[RLE]:
    """:func:`to_rle` of every segmentation of one image, with a single pycocotools call for
    all their polygons (the fast path for whole datasets).

    Polygons are converted to arrays by numpy in one call and checked in three vectorised
    passes per image (finite, not far outside); anything unusual takes the polygon-by-polygon
    path, which names the problem."""
    return [
        cast("RLE", rle)
        if isinstance(rle["counts"], str)
        else {"size": [height, width], "counts": rle["counts"].decode("ascii")}
        for rle in _encode_image(segmentations, height, width)
    ]


def measure_image(
    segmentations: Sequence[SegmentationLike], height: int, width: int
) -> tuple[list[int], list[list[float]]]:
    """:func:`area` and :func:`bbox` of every segmentation of one image, from one
    :func:`encode_image` (pycocotools' numbers, without turning its RLEs into text)."""
    measured = measure_images([(segmentations, height, width)])[0]
    if isinstance(measured, GeometryError):
        raise measured
    return measured


def measure_images(
    images: Iterable[tuple[Sequence[SegmentationLike], int, int]],
) -> list[tuple[list[int], list[list[float]]] | GeometryError]:
    """:func:`measure_image` of each ``(segmentations, height, width)``, pycocotools' area
    and box taken in one call for all: per image its areas and boxes, or the error that
    keeps it from being rasterised."""
    areas, boxes, encoded = measure_image_arrays(images)
    area_list, box_list = areas.tolist(), boxes.tolist()
    out: list[tuple[list[int], list[list[float]]] | GeometryError] = []
    start = 0
    for count in encoded:
        if isinstance(count, GeometryError):
            out.append(count)
            continue
        out.append((area_list[start : start + count], box_list[start : start + count]))
        start += count
    return out


def measure_image_arrays(
    images: Iterable[tuple[Sequence[SegmentationLike], int, int]],
) -> tuple[npt.NDArray[np.int64], _FloatArray, list[int | GeometryError]]:
    """:func:`measure_images` as arrays, for work on many at once: the areas and ``[x, y,
    w, h]`` boxes of every segmentation of the images that could be rasterised, in order,
    and per image how many of them are its own, or the error that keeps it from being
    rasterised."""
    rles: list[dict[str, Any]] = []
    encoded: list[int | GeometryError] = []
    for segmentations, height, width in images:
        try:
            found = _encode_image(segmentations, height, width)
        except GeometryError as exc:
            encoded.append(exc)
            continue
        rles += found
        encoded.append(len(found))
    boxes = _coco_mask.toBbox(rles) if rles else np.zeros((0, 4))
    return _areas(rles), np.asarray(boxes, dtype=np.float64).reshape(-1, 4), encoded


def _encode_image(
    segmentations: Sequence[SegmentationLike], height: int, width: int
) -> list[dict[str, Any]]:
    """:func:`encode_image`, pycocotools' own RLEs (``counts`` bytes, or text where the
    segmentation was an RLE or empty)."""
    _check_image_size(height, width)
    flat: list[Any] = []
    parts = [0] * len(segmentations)
    out: list[RLE | None] = [None] * len(segmentations)
    for k, segmentation in enumerate(segmentations):
        if isinstance(segmentation, dict):
            out[k] = to_rle(segmentation, height, width)
            continue
        for polygon in segmentation:
            array = np.asarray(polygon) if type(polygon) in (list, np.ndarray) else None
            if (
                array is None
                or array.ndim != 1
                or array.dtype.kind not in "fiu"
                or array.size < 6
                or array.size % 2
            ):
                return _encode_checked(segmentations, height, width)
            flat.append(array)
            parts[k] += 1
    if flat:
        joined = np.concatenate(flat)
        low, high = -FAR_OUTSIDE, max(height, width) + FAR_OUTSIDE
        if not (np.isfinite(joined).all() and low <= joined.min() and joined.max() <= high):
            return _encode_checked(segmentations, height, width)
    return _assemble(flat, parts, out, height, width)


def _encode_checked(
    segmentations: Sequence[SegmentationLike], height: int, width: int
) -> list[dict[str, Any]]:
    """:func:`encode_image` polygon by polygon: a clear error for what cannot be rasterised,
    polygons reaching far outside the image clipped to it first."""
    flat: list[Any] = []
    parts = [0] * len(segmentations)
    out: list[RLE | None] = [None] * len(segmentations)
    for k, segmentation in enumerate(segmentations):
        if isinstance(segmentation, dict):
            out[k] = to_rle(segmentation, height, width)
            continue
        for index, polygon in enumerate(segmentation):
            found = _rasterisable(polygon, index, height, width)
            flat.extend(found)
            parts[k] += len(found)
    return _assemble(flat, parts, out, height, width)


def _assemble(
    flat: list[Any], parts: list[int], out: list[Any], height: int, width: int
) -> list[dict[str, Any]]:
    """Rasterise ``flat`` polygons in one call; ``parts[k]`` of them (in order) make
    segmentation ``k``: one is its RLE, several are merged, none is an empty mask (unless
    ``out[k]`` holds an RLE already). pycocotools' RLEs (``counts`` bytes) where rasterised."""
    encoded = _coco_mask.frPyObjects(flat, height, width) if flat else []
    start = 0
    empty: str | None = None
    for k, count in enumerate(parts):
        if count == 1:
            out[k] = encoded[start]
        elif count:
            out[k] = _coco_mask.merge(encoded[start : start + count])
        elif out[k] is None:
            empty = empty or _empty_counts(height, width)
            out[k] = {"size": [height, width], "counts": empty}
            continue
        else:
            continue
        start += count
    return cast("list[dict[str, Any]]", out)


def rle_area(rles: Sequence[RLE]) -> list[int]:
    """pycocotools' ``area`` of compressed RLEs (as from :func:`to_rle`): pixel counts."""
    return cast("list[int]", _areas([_c_rle(r) for r in rles]).tolist())


#: RLEs per call of pycocotools' ``area`` (2.0.11 counts them in a uint8: 256 or more raise
#: OverflowError).
_AREA_BATCH = 255


def _areas(rles: Sequence[dict[str, Any]]) -> npt.NDArray[np.int64]:
    """pycocotools' ``area`` of its own RLEs, in calls it can take."""
    parts = [
        _coco_mask.area(rles[start : start + _AREA_BATCH])
        for start in range(0, len(rles), _AREA_BATCH)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def rle_bbox(rles: Sequence[RLE]) -> list[list[float]]:
    """pycocotools' ``toBbox`` of compressed RLEs: ``[x, y, w, h]`` of their pixels
    (``[0, 0, 0, 0]`` for an empty mask)."""
    if not rles:
        return []
    boxes = _coco_mask.toBbox([_c_rle(r) for r in rles])
    return [[float(v) for v in box] for box in boxes]


def area(segmentation: SegmentationLike, height: int, width: int) -> int:
    """Pixel count of a segmentation, as pycocotools computes it (``area(to_rle(...))``)."""
    return rle_area([to_rle(segmentation, height, width)])[0]


def bbox(segmentation: SegmentationLike, height: int, width: int) -> list[float]:
    """``[x, y, w, h]`` of a segmentation's pixels, as pycocotools computes it (``toBbox``)."""
    return rle_bbox([to_rle(segmentation, height, width)])[0]


def area_and_bbox(
    segmentation: SegmentationLike, height: int, width: int
) -> tuple[int, list[float]]:
    """:func:`area` and :func:`bbox` from a single encoding."""
    rle = to_rle(segmentation, height, width)
    return rle_area([rle])[0], rle_bbox([rle])[0]


def iou(a: RLE, b: RLE) -> float:
    """Intersection over union of two compressed RLEs of the same size (1.0 when both are
    empty: nothing was lost)."""
    if _rle_size(a) != _rle_size(b):
        raise GeometryError(f"cannot compare masks of sizes {a['size']} and {b['size']}")
    ca, cb = _c_rle(a), _c_rle(b)
    union = int(_coco_mask.area(_coco_mask.merge([ca, cb], intersect=False)))
    if union == 0:
        return 1.0
    inter = int(_coco_mask.area(_coco_mask.merge([ca, cb], intersect=True)))
    return inter / union


# --- pixels -> polygons -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outline:
    """One connected part of a mask: its outer ring and the rings of its holes, each an
    ``(n, 2)`` array of ``x, y`` vertices in image coordinates (not closed: the last vertex is
    not the first repeated). Islands inside a hole are outlines of their own."""

    exterior: _FloatArray
    holes: tuple[_FloatArray, ...] = ()

    @property
    def area(self) -> float:
        """Polygon area of the part (exterior minus holes); within a pixel or so of its
        pixel count (the outline cuts each corner pixel by 1/8)."""
        return abs(_ring_area(self.exterior)) - sum(abs(_ring_area(h)) for h in self.holes)

    @property
    def vertices(self) -> int:
        return len(self.exterior) + sum(len(h) for h in self.holes)


def trace(mask: Mask) -> list[Outline]:
    """The outlines of a binary mask (non-zero is foreground), traced between the centres of
    the pixels inside and outside (see the module docstring), without redundant vertices.
    Only the bounding box of the foreground is scanned."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise GeometryError(f"a mask must be 2-D (height, width), got shape {array.shape}")
    rows = np.flatnonzero(array.any(axis=1))
    if rows.size == 0:
        return []
    cols = np.flatnonzero(array.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    return _trace_crop(array[y0 : y1 + 1, x0 : x1 + 1] != 0, x0, y0)


def rle_to_outlines(
    rle: RLE | dict[str, Any], *, runs: npt.NDArray[np.int64] | None = None
) -> list[Outline]:
    """:func:`trace` of an RLE's mask, decoding only the columns that hold foreground.
    ``runs``: its :func:`rle_counts`, when the caller has them already."""
    found = rle_crop(rle, runs=runs)
    if found is None:
        return []
    x0, y0, crop = found
    return _trace_crop(crop, x0, y0)


def rle_crop(
    rle: RLE | dict[str, Any], *, runs: npt.NDArray[np.int64] | None = None
) -> tuple[int, int, npt.NDArray[np.bool_]] | None:
    """An RLE's mask cut to the box of its pixels, ``(x0, y0, crop)`` with ``crop[r, c]``
    pixel ``(x0 + c, y0 + r)``, or None for an empty mask (the inverse of
    :func:`crop_to_rle`). Only the columns that hold
    foreground are decoded: a small object in a large image costs little. ``runs``: its
    :func:`rle_counts`, when the caller has them already."""
    height, _ = _rle_size(rle)
    if runs is None:
        runs = rle_counts(rle)
    ends = np.cumsum(runs)
    starts = ends - runs
    fg = np.flatnonzero(runs[1::2]) * 2 + 1  # foreground runs that hold pixels
    if fg.size == 0:
        return None
    first, last = int(starts[fg[0]]), int(ends[fg[-1]]) - 1
    x0, x1 = first // height, last // height
    lo, hi = x0 * height, (x1 + 1) * height
    # Runs clipped to the columns [x0, x1], then expanded to pixels of those columns only.
    clipped = np.clip(ends, lo, hi) - np.clip(starts, lo, hi)
    values = np.zeros(runs.size, dtype=np.bool_)
    values[1::2] = True
    columns = np.repeat(values, clipped).reshape(x1 - x0 + 1, height).T
    rows = np.flatnonzero(columns.any(axis=1))
    y0, y1 = int(rows[0]), int(rows[-1])
    return x0, y0, columns[y0 : y1 + 1]


def outlines_to_polygons(
    outlines: Sequence[Outline],
    *,
    holes: HoleMode = "cut",
    tolerance: float = 0.0,
    min_area: float = 0.0,
) -> PolygonList:
    """COCO polygons (flat lists) of traced outlines.

    ``holes``: ``"cut"`` joins each hole to its ring with a zero-width cut (exact), ``"fill"``
    leaves holes out. ``tolerance`` > 0 simplifies each outline (Douglas-Peucker, keeping its
    topology, in pixels) before that. ``min_area`` drops parts whose :attr:`Outline.area` is
    smaller (specks), in pixels."""
    if tolerance < 0 or not math.isfinite(tolerance):
        raise GeometryError(f"tolerance must be a non-negative number of pixels, got {tolerance}")
    polygons: PolygonList = []
    for outline in outlines:
        if min_area and outline.area < min_area:
            continue
        if tolerance:
            parts = _simplified(outline, tolerance)
        else:
            parts = [(outline.exterior, list(outline.holes))]
        for exterior, rings in parts:
            # traced rings are clean already; a cut may repeat a vertex where it lands
            ring = (
                _drop_redundant(_cut_holes(exterior, rings))
                if holes == "cut" and rings
                else exterior
            )
            if len(ring) >= 3:
                polygons.append(ring.ravel().tolist())
    return polygons


def mask_to_polygons(
    mask: Mask, *, holes: HoleMode = "cut", tolerance: float = 0.0, min_area: float = 0.0
) -> PolygonList:
    """COCO polygons of a binary mask: :func:`trace` then :func:`outlines_to_polygons`. With
    the defaults they rasterise back (:func:`to_rle`) to exactly the mask's pixels."""
    return outlines_to_polygons(trace(mask), holes=holes, tolerance=tolerance, min_area=min_area)


def rle_to_polygons(
    rle: RLE | dict[str, Any],
    *,
    holes: HoleMode = "cut",
    tolerance: float = 0.0,
    min_area: float = 0.0,
) -> PolygonList:
    """COCO polygons of an RLE (see :func:`mask_to_polygons`)."""
    return outlines_to_polygons(
        rle_to_outlines(rle), holes=holes, tolerance=tolerance, min_area=min_area
    )


def polygon_vertices(polygons: Sequence[Sequence[float]]) -> int:
    """Number of vertices of a list of flat polygons."""
    return sum(len(p) // 2 for p in polygons)


# --- polygon checks and repairs ---------------------------------------------------------------

#: Problem codes of :func:`check_polygons`, each with what it means. Codes are stable.
PROBLEMS: dict[str, str] = {
    "not_numbers": "a polygon is not a flat list of numbers",
    "not_finite": "a polygon has NaN or infinite coordinates",
    "odd_coordinates": "a polygon has an odd number of coordinates (a dangling x)",
    "too_few_points": "a polygon has fewer than 3 points",
    "zero_area": "a polygon encloses no area (all its points on one line)",
    "self_intersection": "a polygon crosses itself (its area is ambiguous)",
    "outside_image": "a polygon reaches outside the image",
}


@dataclass(frozen=True)
class PolygonProblem:
    """One problem of one polygon of a segmentation. ``code`` is a key of :data:`PROBLEMS`;
    ``polygon`` indexes the segmentation's list; ``message`` says what exactly, in a plain
    sentence; ``fixable``: :func:`repair_polygons` knows a fix."""

    code: str
    polygon: int
    message: str
    fixable: bool = True


def check_polygons(
    polygons: Sequence[Any], height: int | None = None, width: int | None = None
) -> list[PolygonProblem]:
    """Every problem of a segmentation's polygons (empty when all are fine): malformed
    coordinates, fewer than 3 points, zero area, self-intersection (a ring that crosses
    itself; a ring that only touches itself, like a hole's zero-width cut, is fine) and, with
    the image size, vertices outside ``[0, width] x [0, height]``."""
    size = (height, width) if height is not None and width is not None else None
    return check_segmentations([polygons], [size])[0]


def check_segmentations(
    segmentations: Sequence[Any],
    sizes: Sequence[tuple[int, int] | None] | None = None,
    *,
    checked: bool = False,
) -> list[list[PolygonProblem]]:
    """:func:`check_polygons` of many segmentations at once (``sizes[k]``: ``(height,
    width)`` of segmentation ``k``'s image, or None), vectorised: numpy for the coordinates,
    shapely's array functions for validity, so a whole dataset takes seconds (the validator's
    fast path). RLEs and other non-lists have no polygon problems here.

    ``checked``: the polygons are known to be flat lists of at least 6 finite numbers, even
    in count (what the schema checks), so all are read in one pass; the same problems."""
    problems: list[list[PolygonProblem]] = [[] for _ in segmentations]
    rings = _checked_rings(segmentations) if checked else None
    if rings is None:
        rings = _rings(segmentations, problems)
    return _ring_problems(problems, rings, sizes)


def check_flat_polygons(
    parts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], coords: _FloatArray
) -> list[list[PolygonProblem]]:
    """:func:`check_segmentations` of segmentations given as arrays: segmentation ``k`` has
    ``parts[k]`` polygons (0: it is not polygons), polygon ``j`` has ``lengths[j]``
    coordinates, all of them in ``coords``, flat. Every polygon must be what the schema lets
    through: at least 6 finite numbers, even in count (the validator's tasks carry them so)."""
    problems: list[list[PolygonProblem]] = [[] for _ in range(len(parts))]
    first = np.cumsum(parts) - parts
    segment_of = np.repeat(np.arange(len(parts)), parts)
    index_of = np.arange(len(lengths)) - np.repeat(first, parts)
    rings = (segment_of, index_of, lengths // 2, coords.reshape(-1, 2))
    return _ring_problems(problems, rings, None)


#: The rings to check: the segmentation and polygon index of each, its number of points, and
#: all their points.
_Rings: TypeAlias = (
    "tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], _FloatArray]"
)


def _ring_problems(
    problems: list[list[PolygonProblem]],
    rings: _Rings,
    sizes: Sequence[tuple[int, int] | None] | None,
) -> list[list[PolygonProblem]]:
    """Add the problems of ``rings`` (outside the image, zero area, self-intersection) to
    ``problems``, each segmentation's by polygon."""
    import shapely

    segment_of, index_of, lengths, xy = rings
    if not len(lengths):
        return problems
    starts = np.cumsum(lengths) - lengths
    _, after = _neighbours(lengths)
    twice_area = np.add.reduceat(xy[:, 0] * xy[after, 1] - xy[:, 1] * xy[after, 0], starts)
    outside = np.zeros(len(lengths), dtype=np.int64)
    if sizes is not None:
        limits = np.array(
            [sizes[k] or (np.inf, np.inf) for k in segment_of.tolist()], dtype=np.float64
        )
        h, w = np.repeat(limits[:, 0], lengths), np.repeat(limits[:, 1], lengths)
        beyond = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
        outside = np.add.reduceat(beyond.astype(np.int64), starts)
    ring_of = np.repeat(np.arange(len(lengths)), lengths)
    shapes: npt.NDArray[Any] = np.asarray(
        shapely.polygons(shapely.linearrings(_snap_tiny(xy), indices=ring_of))
    )
    valid: npt.NDArray[np.bool_] = np.asarray(shapely.is_valid(shapes))
    # (only the rings with a problem, in order: most have none)
    for r in np.flatnonzero((outside > 0) | (twice_area == 0) | ~valid).tolist():
        k, index = int(segment_of[r]), int(index_of[r])
        if outside[r]:
            height, width = sizes[k]  # type: ignore[index,misc]
            problems[k].append(
                PolygonProblem(
                    "outside_image",
                    index,
                    f"polygon {index}: {outside[r]} of {lengths[r]} points outside the "
                    f"{width} x {height} image",
                )
            )
        if twice_area[r] == 0 and _is_flat(xy[starts[r] : starts[r] + lengths[r]]):
            problems[k].append(
                PolygonProblem("zero_area", index, f"polygon {index}: all points on one line")
            )
        elif not valid[r]:
            try:
                with np.errstate(divide="ignore", invalid="ignore"):
                    filled = shapely.make_valid(shapes[r]).area
            except shapely.errors.GEOSException:  # GEOS fails on some degenerate rings
                filled = math.nan  # (coordinates near 1e-300, say): not shown to be harmless
            if not math.isclose(filled, abs(twice_area[r]) / 2, rel_tol=1e-6, abs_tol=1e-6):
                reason = shapely.is_valid_reason(shapes[r])
                problems[k].append(
                    PolygonProblem(
                        "self_intersection", index, f"polygon {index} crosses itself ({reason})"
                    )
                )
    for listed in problems:
        listed.sort(key=lambda problem: problem.polygon)  # (stable: per polygon as found)
    return problems


def _rings(segmentations: Sequence[Any], problems: list[list[PolygonProblem]]) -> _Rings:
    """The rings of every polygon that has coordinates to check; the malformed ones are
    added to ``problems`` instead."""
    owners: list[tuple[int, int]] = []
    rings: list[_FloatArray] = []
    for k, polygons in enumerate(segmentations):
        if not isinstance(polygons, list):
            continue
        for index, polygon in enumerate(polygons):
            array = np.asarray(polygon) if type(polygon) in (list, np.ndarray) else None
            clean = (
                array is not None
                and array.ndim == 1
                and array.dtype.kind in "fiu"
                and array.size >= 6
                and not array.size % 2
                and bool(np.isfinite(array).all())
            )
            found = None if clean else _malformed(polygon, index)
            if found is not None:
                problems[k].append(found)
                continue
            owners.append((k, index))
            # (a clean polygon's array is reused: reading the list again costs as much)
            rings.append(np.asarray(array if clean else polygon, dtype=np.float64).reshape(-1, 2))
    lengths = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    xy = np.concatenate(rings) if rings else np.zeros((0, 2))
    owned = np.array(owners, dtype=np.int64).reshape(-1, 2)
    return owned[:, 0], owned[:, 1], lengths, xy


def _checked_rings(segmentations: Sequence[Any]) -> _Rings | None:
    """The rings of segmentations read in one pass; None unless every polygon is a flat
    list of at least 6 finite numbers, even in count (then :func:`_rings` reads them)."""
    parts = np.fromiter(
        (len(p) if isinstance(p, list) else 0 for p in segmentations),
        dtype=np.int64,
        count=len(segmentations),
    )
    polygons = [polygon for p in segmentations if isinstance(p, list) for polygon in p]
    if not all(type(polygon) is list for polygon in polygons):
        return None
    sizes = np.fromiter(map(len, polygons), dtype=np.int64, count=len(polygons))
    if sizes.size and (sizes.min() < 6 or bool((sizes % 2).any())):
        return None
    try:
        values = itertools.chain.from_iterable(polygons)
        flat = np.fromiter(values, dtype=np.float64, count=int(sizes.sum()))
    except (TypeError, ValueError):
        return None
    if not np.isfinite(flat).all():
        return None
    first = np.cumsum(parts) - parts
    segment_of = np.repeat(np.arange(len(parts)), parts)
    return (
        segment_of,
        np.arange(len(sizes)) - np.repeat(first, parts),
        sizes // 2,
        flat.reshape(-1, 2),
    )


def repair_polygons(
    polygons: Sequence[Any], height: int, width: int
) -> tuple[PolygonList, list[PolygonProblem]]:
    """Repaired polygons and the problems that were repaired (report them).

    Malformed polygons (non-finite, fewer than 3 points, zero area) are dropped; a dangling
    last coordinate is dropped (pycocotools ignores it too); a polygon that crosses itself is
    replaced by the parts shapely's ``make_valid`` gives (the same pixels under the even-odd
    rule: a bow-tie becomes its two lobes); a polygon reaching outside the image is clipped
    to it (pycocotools clips when rasterising, so the pixels stay the same). Holes that
    repairs create are joined by zero-width cuts."""
    import shapely

    problems = check_polygons(polygons, height, width)
    if not problems:
        return [list(map(float, p)) for p in polygons], []
    by_polygon: dict[int, set[str]] = {}
    for problem in problems:
        by_polygon.setdefault(problem.polygon, set()).add(problem.code)
    image = shapely.box(0, 0, width, height)
    repaired: PolygonList = []
    for index, polygon in enumerate(polygons):
        codes = by_polygon.get(index, set())
        if codes & {"not_numbers", "not_finite", "too_few_points", "zero_area"}:
            continue
        coords = [float(v) for v in polygon]
        if "odd_coordinates" in codes:
            coords = coords[:-1]
            if len(coords) < 6:
                continue
        if not codes - {"odd_coordinates"}:
            repaired.append(coords)
            continue
        shape: Any = shapely.Polygon(_snap_tiny(np.asarray(coords).reshape(-1, 2)))
        if "self_intersection" in codes or not shape.is_valid:
            try:
                shape = shapely.make_valid(shape)
            except shapely.errors.GEOSException:  # degenerate beyond repair (mixed dimensions)
                continue
        if "outside_image" in codes:
            shape = shape.intersection(image)
            # GEOS may keep a vertex a rounding error outside the box: snap it onto the border
            polygons_in = _geometry_polygons(shape)
            repaired.extend(
                np.clip(np.reshape(p, (-1, 2)), 0, (width, height)).ravel().tolist()
                for p in polygons_in
            )
            continue
        repaired.extend(_geometry_polygons(shape))
    return repaired, problems


# --- internals --------------------------------------------------------------------------------


def _rle_size(rle: Any) -> tuple[int, int]:
    size = rle.get("size") if isinstance(rle, dict) else None
    if not isinstance(size, list | tuple) or len(size) != 2 or not _all_ints(size) or min(size) < 0:
        raise GeometryError("an RLE needs a size [height, width] of two non-negative integers")
    return int(size[0]), int(size[1])


def _check_size_matches(rle: Any, height: int, width: int) -> None:
    found = _rle_size(rle)
    if found != (height, width):
        raise GeometryError(
            f"RLE size is {found[0]} x {found[1]} (height x width) but the image is "
            f"{height} x {width}"
        )


def _check_image_size(height: int, width: int) -> None:
    if not (isinstance(height, int) and isinstance(width, int)) or height <= 0 or width <= 0:
        raise GeometryError(f"image size must be positive integers, got {height} x {width}")


def _all_ints(values: Sequence[Any]) -> bool:
    # (plain ints first: a quarter of the cost, and what JSON gives)
    return all(type(v) is int for v in values) or all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values
    )


def _json_rle(encoded: dict[str, Any]) -> RLE:
    counts = encoded["counts"]
    size = [int(encoded["size"][0]), int(encoded["size"][1])]
    return {"size": size, "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def _c_rle(rle: RLE | dict[str, Any]) -> dict[str, Any]:
    """The RLE as pycocotools' C functions take it (bytes counts)."""
    counts = rle["counts"]
    if isinstance(counts, str):
        if not counts.isascii():
            raise GeometryError("compressed RLE counts hold characters outside '0'..'o'")
        counts = counts.encode("ascii")
    elif not isinstance(counts, bytes):
        raise GeometryError("expected a compressed RLE (use compress_rle first)")
    return {"size": list(rle["size"]), "counts": counts}


def _empty_counts(height: int, width: int) -> str:
    encoded = _coco_mask.encode(np.zeros((height, width), dtype=np.uint8, order="F"))
    return cast("str", _json_rle(encoded)["counts"])


def _decode_counts(text: str | bytes) -> npt.NDArray[np.int64]:
    """Run lengths of pycocotools' compressed RLE string (``rleFrString``), vectorised.

    Each count is written in 5-bit groups, least significant first, as characters 48 + value;
    bit 0x20 says another group follows, bit 0x10 of the last group is the sign. From the
    fourth count on, counts are stored as the difference to the count two places before."""
    raw = text.encode("latin-1", "replace") if isinstance(text, str) else bytes(text)
    codes = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    numbers = _decode_numbers(codes)
    if isinstance(numbers, str) or (isinstance(text, str) and not text.isascii()):
        raise GeometryError(numbers if isinstance(numbers, str) else _OUTSIDE_ALPHABET)
    values, _ = numbers
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return cast("npt.NDArray[np.int64]", runs)


_OUTSIDE_ALPHABET = "compressed RLE counts hold characters outside '0'..'o'"


def _decode_numbers(
    codes: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]] | str:
    """The numbers written in compressed counts (``codes``: the characters minus 48, not
    empty) and the position of the last character of each, or why they are not well formed."""
    if codes.min() < 0 or codes.max() > 63:
        return _OUTSIDE_ALPHABET
    more = (codes & 0x20) != 0
    if more[-1]:
        return "compressed RLE counts end in the middle of a number"
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 7:
        return "compressed RLE counts hold a number too large for a run length"
    position = np.arange(codes.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((codes & 0x1F) << (5 * position), starts)
    negative = (codes[ends] & 0x10) != 0
    return values - (negative.astype(np.int64) << (5 * lengths)), ends


#: How far (px) outside the image a polygon may reach before it is clipped to the image ahead
#: of rasterising: pycocotools' memory grows with the perimeter *including* the part outside
#: the image (40 bytes a pixel: a vertex at 4e8 px exhausts memory, at 1e9 it crashes).
FAR_OUTSIDE = 100_000


def _rasterisable(polygon: Any, index: int, height: int, width: int) -> list[Any]:
    """The polygon as pycocotools may take it (clipped to the image when it reaches far
    outside), or a GeometryError saying why it cannot be rasterised. Fast for good input:
    three C loops over the coordinates."""
    count, total, low, high = 0, math.nan, math.nan, math.nan
    try:
        if isinstance(polygon, list | tuple | np.ndarray):
            count, total = len(polygon), float(sum(polygon))
            low, high = float(min(polygon)), float(max(polygon))
    except (TypeError, ValueError):
        count = 0
    if count < 6 or count % 2 or not math.isfinite(total):
        found = _malformed(polygon, index)
        if found is not None:
            raise GeometryError(found.message)
    if low < -FAR_OUTSIDE or high > max(height, width) + FAR_OUTSIDE:
        return _clip_to_image(polygon, height, width)
    return [polygon]


#: Coordinates closer to 0 than this (pixels) are 0 for GEOS: its overlay operations are not
#: robust there (a triangle with a vertex at y = -1.8e-179 clipped to the image came back as
#: the rest of the image), and pycocotools rasterises on a 1/5-pixel grid anyway.
_TINY = 1e-9


def _snap_tiny(xy: _FloatArray) -> _FloatArray:
    return np.where(np.abs(xy) < _TINY, 0.0, xy)


def shapely_polygon(coords: Sequence[float]) -> Any:
    """A shapely polygon of one flat ``[x1, y1, ...]`` ring, ready for GEOS (coordinates
    within 1e-9 px of 0 snapped to 0: GEOS's overlays fail or go wrong on them)."""
    import shapely

    return shapely.Polygon(_snap_tiny(np.asarray(coords, dtype=np.float64).reshape(-1, 2)))


def _clip_to_image(polygon: Any, height: int, width: int) -> list[Any]:
    """The parts of a polygon inside the image (grown by a pixel), by the even-odd rule."""
    import shapely

    ring = shapely.make_valid(shapely_polygon(polygon))
    return list(_geometry_polygons(ring.intersection(shapely.box(-1, -1, width + 1, height + 1))))


def _malformed(polygon: Any, index: int) -> PolygonProblem | None:
    """The problem that keeps ``polygon`` from being rasterised at all, if any."""
    if not isinstance(polygon, list | tuple | np.ndarray) or not all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in polygon
    ):
        return PolygonProblem(
            "not_numbers", index, f"polygon {index} is not a flat list of numbers", False
        )
    coords = np.asarray(polygon, dtype=np.float64)
    if not np.isfinite(coords).all():
        return PolygonProblem("not_finite", index, f"polygon {index} has NaN or infinite values")
    if coords.size % 2:
        return PolygonProblem(
            "odd_coordinates",
            index,
            f"polygon {index} has an odd number of coordinates ({coords.size})",
        )
    if coords.size < 6:
        return PolygonProblem(
            "too_few_points", index, f"polygon {index} has {coords.size // 2} points (needs 3)"
        )
    return None


def _ring_area(xy: _FloatArray) -> float:
    """Signed shoelace area of a ring given without its closing vertex."""
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _is_flat(xy: _FloatArray) -> bool:
    """All points on one line (or one point)."""
    return bool(np.linalg.matrix_rank(xy - xy[0]) <= 1)


def _trace_crop(crop: npt.NDArray[np.bool_], x0: int, y0: int) -> list[Outline]:
    """Outlines of a cropped mask whose top-left pixel is (x0, y0) in the image."""
    return trace_crops([(x0, y0, crop)])[0]


def trace_crops(crops: Sequence[tuple[int, int, Mask]]) -> list[list[Outline]]:
    """:func:`trace` of many masks at once, each given as ``(x0, y0, crop)`` (the part of the
    mask holding its pixels, whose top-left pixel is column ``x0``, row ``y0`` of the image:
    what :func:`rle_crop` returns): the outlines of each, in image coordinates.

    contourpy traces each crop on its own; the rings of many crops are then cleaned in one
    vectorised pass, so many small masks cost little more than their pixels."""
    tracer = _Tracer()
    for x0, y0, crop in crops:
        ny, nx = crop.shape[0] + 2, crop.shape[1] + 2
        z = tracer.grid(ny, nx)
        z[0], z[-1], z[:, 0], z[:, -1] = 0.0, 0.0, 0.0, 0.0
        z[1:-1, 1:-1] = crop if crop.dtype == np.bool_ else crop != 0
        tracer.trace(z, x0, y0)
    return tracer.outlines()


def trace_rles(rles: Sequence[RLE | dict[str, Any]]) -> list[list[Outline] | GeometryError]:
    """:func:`rle_to_outlines` of many RLEs at once: the outlines of each, or in its place the
    :class:`GeometryError` that :func:`rle_counts` raises for it.

    The compressed counts of all of them are decoded in one vectorised pass, and each mask
    is drawn from its runs straight into the box of its pixels (never the whole image), a
    few hundred masks at a time; then :func:`trace_crops`' tracer runs over those boxes."""
    found: list[list[Outline] | GeometryError] = [[] for _ in rles]
    runs_of: list[npt.NDArray[np.int64] | None] = [None] * len(rles)
    texts = [k for k, rle in enumerate(rles) if isinstance(rle.get("counts"), str | bytes)]
    counts = [cast("str | bytes", rles[k]["counts"]) for k in texts]
    for k, runs in zip(texts, _decode_many(counts), strict=True):
        runs_of[k] = runs
    heights: list[int] = []
    drawn: list[int] = []
    for k, rle in enumerate(rles):
        try:
            height, width = _rle_size(rle)
            runs = runs_of[k]
            if runs is None or (runs.size and runs.min() < 0) or runs.sum() != height * width:
                runs = rle_counts(rle)  # (the slow path raises what is wrong)
        except GeometryError as error:
            found[k] = error
            continue
        runs_of[k] = runs
        heights.append(height)
        drawn.append(k)
    tracer = _Tracer()
    start = 0
    while start < len(drawn):  # (batches of boxes of a bounded number of pixels)
        stop, pixels = start, 0
        while stop < len(drawn) and (stop == start or pixels < _DRAW_BATCH):
            runs = cast("npt.NDArray[np.int64]", runs_of[drawn[stop]])
            pixels += int(runs[1::2].sum()) * 4 + 64
            stop += 1
        members = drawn[start:stop]
        for box in _draw_boxes(
            [cast("npt.NDArray[np.int64]", runs_of[k]) for k in members], heights[start:stop]
        ):
            if box is not None:
                x0, y0, columns = box
                ny, nx = columns.shape[1], columns.shape[0]
                z = tracer.grid(ny, nx)
                z[...] = columns.T
                tracer.trace(z, x0, y0)
            else:
                tracer.skip()
        start = stop
    for k, outlines in zip(drawn, tracer.outlines(), strict=True):
        found[k] = outlines
    return found


#: Pixels (about: four times a mask's foreground) drawn into boxes in one pass.
_DRAW_BATCH = 1_000_000


def _draw_boxes(
    runs_of: Sequence[npt.NDArray[np.int64]], heights: Sequence[int]
) -> list[tuple[int, int, npt.NDArray[np.int8]] | None]:
    """Each mask (column-major runs over an image ``heights[k]`` pixels high) drawn into the
    box of its pixels grown by one pixel of background on every side, transposed (a row per
    image column): ``(x0, y0, columns)``, ``columns[1 + c, 1 + r]`` pixel ``(x0 + c, y0 +
    r)``; None for an empty mask. All the masks at once: their foreground runs become
    vertical segments (split where a run wraps into the next column), and one cumulative sum
    over all the boxes draws every segment."""
    n = len(runs_of)
    lengths = np.fromiter(map(len, runs_of), dtype=np.int64, count=n)
    runs = np.concatenate(runs_of) if n else np.zeros(0, dtype=np.int64)
    first = np.cumsum(lengths) - lengths
    mask_of = np.repeat(np.arange(n), lengths)
    local = np.arange(runs.size) - first[mask_of]
    ends = np.cumsum(runs)
    ends -= np.repeat(np.concatenate(([0], ends))[first], lengths)  # (each mask's own sums)
    fg = (local % 2 == 1) & (runs > 0)
    stop, owner = ends[fg], mask_of[fg]
    begin = stop - runs[fg]
    height = np.asarray(heights, dtype=np.int64)[owner] if n else np.zeros(0, dtype=np.int64)
    col, last = begin // height, (stop - 1) // height
    span = last - col + 1
    if span.size and span.max() > 1:  # runs that go on at the top of the next column
        piece = np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span)
        col0, last0, begin, stop = (np.repeat(a, span) for a in (col, last, begin, stop))
        owner, height = np.repeat(owner, span), np.repeat(height, span)
        col = col0 + piece
        begin = np.where(col == col0, begin, col * height)
        stop = np.where(col == last0, stop, (col + 1) * height)
    top, bottom = begin - col * height, stop - col * height  # rows [top, bottom)
    boxes: list[tuple[int, int, npt.NDArray[np.int8]] | None] = [None] * n
    if not owner.size:
        return boxes
    present = np.flatnonzero(np.bincount(owner, minlength=n))
    group = np.searchsorted(owner, present)  # each mask's first segment
    x0, x1 = col[group], col[np.append(group[1:], owner.size) - 1]
    y0 = np.minimum.reduceat(top, group)
    y1 = np.maximum.reduceat(bottom, group)  # (exclusive)
    nx, ny = x1 - x0 + 3, y1 - y0 + 2
    base = np.cumsum(nx * ny) - nx * ny
    index = np.repeat(np.arange(present.size), np.diff(np.append(group, owner.size)))
    at = base[index] + (col - x0[index] + 1) * ny[index] - y0[index] + 1
    total = int(base[-1] + nx[-1] * ny[-1])
    delta = np.zeros(total + 1, dtype=np.int8)
    delta[at + top] = 1
    delta[at + bottom] = -1
    drawn = np.cumsum(delta[:total], dtype=np.int8)
    for j, k in enumerate(present.tolist()):
        b, w, h = int(base[j]), int(nx[j]), int(ny[j])
        boxes[k] = (int(x0[j]), int(y0[j]), drawn[b : b + w * h].reshape(w, h))
    return boxes


def _decode_many(texts: Sequence[str | bytes]) -> list[npt.NDArray[np.int64] | None]:
    """:func:`_decode_counts` of many compressed counts at once (one vectorised pass over all
    of them); None for a text that is not well formed (:func:`_decode_counts` says why)."""
    raws = [t.encode("latin-1", "replace") if isinstance(t, str) else bytes(t) for t in texts]
    sizes = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    codes = np.frombuffer(b"".join(raws), dtype=np.uint8).astype(np.int64) - 48
    numbers = _decode_numbers(codes) if codes.size else "empty"
    if (
        isinstance(numbers, str)
        or not sizes.all()
        or ((codes[np.cumsum(sizes) - 1] & 0x20) != 0).any()  # a number across two texts
        or not all(t.isascii() for t in texts if isinstance(t, str))
    ):  # (rare: one by one, the malformed ones None)
        out: list[npt.NDArray[np.int64] | None] = []
        for text in texts:
            try:
                out.append(_decode_counts(text))
            except GeometryError:
                out.append(None)
        return out
    values, ends = numbers
    # Per text, from the fourth count on each is stored as the difference to the count two
    # places before: cumulative sums per text over the odd and over the even places (>= 2).
    per_text = np.bincount(np.repeat(np.arange(len(raws)), sizes)[ends], minlength=len(raws))
    owner = np.repeat(np.arange(len(raws)), per_text)
    place = np.arange(values.size) - np.repeat(np.cumsum(per_text) - per_text, per_text)
    runs = values.copy()
    for chain in (np.flatnonzero(place % 2 == 1), np.flatnonzero((place % 2 == 0) & (place > 0))):
        if chain.size:
            sums = np.cumsum(values[chain])
            heads = np.flatnonzero(np.diff(owner[chain], prepend=-1))  # each text's first
            offset = sums[heads] - values[chain[heads]]
            runs[chain] = sums - np.repeat(offset, np.diff(heads, append=chain.size))
    return np.split(runs, np.cumsum(per_text)[:-1])


class _Tracer:
    """contourpy over many padded masks: the grid buffers made once (a fresh array of each
    mask's size would cost more in page faults than contourpy's work), the outlines cleaned
    in batches (:class:`_Traces`)."""

    def __init__(self) -> None:
        self.buffers = np.empty((3, 0), dtype=np.float64)
        self.steps = np.arange(0, dtype=np.float64)
        self.done: list[list[Outline]] = []
        self.batch = _Traces()

    def grid(self, ny: int, nx: int) -> _FloatArray:
        """A ``(ny, nx)`` C-contiguous array to fill with the padded mask (a buffer's prefix),
        the x and y grids of that shape beside it."""
        if ny * nx > self.buffers.shape[1]:
            self.buffers = np.empty((3, max(ny * nx, 2 * self.buffers.shape[1])))
        if max(ny, nx) > self.steps.size:
            self.steps = np.arange(max(ny, nx, 2 * self.steps.size), dtype=np.float64)
        return self.buffers[0, : ny * nx].reshape(ny, nx)

    def trace(self, z: _FloatArray, x0: int, y0: int) -> None:
        """Trace the padded mask ``z`` (from :meth:`grid`) whose first pixel is (x0, y0)."""
        from contourpy import Mpl2005ContourGenerator

        ny, nx = z.shape
        x = self.buffers[1, : ny * nx].reshape(ny, nx)
        x[:] = self.steps[:nx]
        y = self.buffers[2, : ny * nx].reshape(ny, nx)
        y[:] = self.steps[:ny, None]
        # contourpy's own constructor (contour_generator) adds ~70 us of argument checks and
        # a masked-array pass per call; the mask is known clean, so build the generator
        # directly.
        generator = Mpl2005ContourGenerator(
            x,
            y,
            z,
            None,  # type: ignore[arg-type]  # (no mask: contourpy's stubs say otherwise)
            x_chunk_size=0,
            y_chunk_size=0,
        )
        self.batch.add(*cast("tuple[list[Any], list[Any]]", generator.filled(0.5, 1.5)), x0, y0)
        if self.batch.points >= _CLEAN_BATCH:
            self.done += self.batch.outlines()
            self.batch = _Traces()

    def skip(self) -> None:
        """An empty mask: no outlines."""
        self.batch.add([], [], 0, 0)

    def outlines(self) -> list[list[Outline]]:
        """The outlines of every mask traced (or skipped), in order."""
        return self.done + self.batch.outlines()


#: Traced points cleaned in one vectorised pass: small enough for the arrays to stay in the
#: cache (a pass over millions of points costs half as much again per point).
_CLEAN_BATCH = 100_000


class _Traces:
    """contourpy's outlines of some crops, gathered to be cleaned together."""

    def __init__(self) -> None:
        self.points_of: list[_FloatArray] = []  # every outline's points
        self.codes_of: list[npt.NDArray[np.uint8]] = []
        self.outlines_per_crop: list[int] = []
        self.offsets: list[tuple[float, float]] = []
        self.sizes: list[int] = []
        self.points = 0

    def add(self, points: list[Any], codes: list[Any], x0: int, y0: int) -> None:
        """One crop's outlines (OuterCode: one array of points and one of codes each)."""
        self.points_of += points
        self.codes_of += codes
        self.outlines_per_crop.append(len(points))
        self.offsets.append((x0 - 0.5, y0 - 0.5))
        size = sum(len(c) for c in codes)
        self.sizes.append(size)
        self.points += size

    def outlines(self) -> list[list[Outline]]:
        """The outlines of each crop, in image coordinates, without redundant vertices."""
        traced: list[list[Outline]] = [[] for _ in self.outlines_per_crop]
        if not self.points:
            return traced
        # One array per outline, rings in it opened by code 1 (MOVETO) and closed by a repeat
        # of their first point: clean every ring of every outline in one vectorised pass.
        codes = np.concatenate(self.codes_of)
        points = np.concatenate(self.points_of)
        points += np.repeat(np.array(self.offsets), self.sizes, axis=0)
        starts = np.flatnonzero(codes == 1)
        lengths = np.diff(starts, append=len(codes))
        # (each ring's closing point repeats its first: dropped with any other repeated one)
        points, lengths = _filter_rings(points, lengths, _not_repeated(points, lengths))
        points, lengths = _filter_rings(points, lengths, _turning(points, lengths))
        rings = np.split(points, np.cumsum(lengths)[:-1])
        # rings per outline: the MOVETOs in each outline's codes
        outline_ends = np.cumsum([len(c) for c in self.codes_of])
        rings_per_outline = np.diff(np.searchsorted(starts, outline_ends), prepend=0).tolist()
        first = outline = 0
        for k, count in enumerate(self.outlines_per_crop):
            for n in rings_per_outline[outline : outline + count]:
                exterior, *holes = rings[first : first + n]
                first += n
                traced[k].append(Outline(exterior, tuple(h for h in holes if len(h) >= 3)))
            outline += count
        return traced


def _neighbours(lengths: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Index of the previous and the next vertex of every vertex of rings stored one after
    the other (``lengths`` vertices each), wrapping around within each ring."""
    ends = np.cumsum(lengths)
    starts = ends - lengths
    index = np.arange(int(ends[-1]) if len(ends) else 0)
    before, after = index - 1, index + 1
    before[starts] = ends - 1
    after[ends - 1] = starts
    return before, after


def _not_repeated(points: _FloatArray, lengths: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    before, _ = _neighbours(lengths)
    previous = points[before]
    # (two comparisons: numpy's reduction along a short axis costs several times more)
    return cast(
        "npt.NDArray[np.bool_]",
        (points[:, 0] != previous[:, 0]) | (points[:, 1] != previous[:, 1]),
    )


def _turning(points: _FloatArray, lengths: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Vertices where the ring turns (exact: traced coordinates are multiples of 0.5)."""
    before, after = _neighbours(lengths)
    d_in, d_out = points - points[before], points[after] - points
    return cast("npt.NDArray[np.bool_]", d_in[:, 0] * d_out[:, 1] != d_in[:, 1] * d_out[:, 0])


def _filter_rings(
    points: _FloatArray, lengths: npt.NDArray[Any], keep: npt.NDArray[np.bool_]
) -> tuple[_FloatArray, npt.NDArray[Any]]:
    """Rings stored one after the other, with only the ``keep`` vertices."""
    ring_of = np.repeat(np.arange(len(lengths)), lengths)
    return points[keep], np.bincount(ring_of[keep], minlength=len(lengths))


def _drop_redundant(ring: _FloatArray) -> _FloatArray:
    """The ring without repeated vertices and without vertices in the middle of a straight
    edge (exact: traced coordinates are multiples of 0.5)."""
    if len(ring) < 3:
        return ring
    before = np.concatenate((ring[-1:], ring[:-1]))
    ring = ring[(ring[:, 0] != before[:, 0]) | (ring[:, 1] != before[:, 1])]
    if len(ring) < 3:
        return ring
    before = np.concatenate((ring[-1:], ring[:-1]))
    after = np.concatenate((ring[1:], ring[:1]))
    cross = (ring[:, 0] - before[:, 0]) * (after[:, 1] - ring[:, 1]) - (
        ring[:, 1] - before[:, 1]
    ) * (after[:, 0] - ring[:, 0])
    return cast("_FloatArray", ring[cross != 0])


def _cut_holes(exterior: _FloatArray, holes: Sequence[_FloatArray]) -> _FloatArray:
    """One ring: ``exterior`` with each hole joined by a vertical zero-width cut from the
    hole's top vertex up to the nearest edge above it.

    Holes are joined from the top down, so the first edge above a hole's top vertex belongs
    to the exterior or to a hole already joined: the cut never crosses an edge."""
    ring = exterior
    for hole in sorted(holes, key=lambda h: float(h[:, 1].min())):
        top = int(np.lexsort((hole[:, 0], hole[:, 1]))[0])
        x, y = hole[top]
        xa, ya = ring[:, 0], ring[:, 1]
        xb, yb = np.append(xa[1:], xa[0]), np.append(ya[1:], ya[0])  # the next vertex
        # the edges (not vertical) that span the cut's x, and where they cross it
        spans = np.flatnonzero((np.minimum(xa, xb) <= x) & (x <= np.maximum(xa, xb)) & (xa != xb))
        y_hit = ya[spans] + (x - xa[spans]) * (yb[spans] - ya[spans]) / (xb[spans] - xa[spans])
        y_hit[y_hit > y] = -np.inf  # (below the hole's top)
        if not spans.size or not np.isfinite(y_hit.max()):
            raise GeometryError("a hole lies outside its outline (cannot join it)")
        nearest = int(np.argmax(y_hit))  # (the first of equals, in the ring's order)
        edge = int(spans[nearest])
        hit = np.array([[x, y_hit[nearest]]])
        walk = np.concatenate((hole[top:], hole[:top]))
        ring = np.concatenate((ring[: edge + 1], hit, walk, walk[:1], hit, ring[edge + 1 :]))
    return ring


def _simplified(outline: Outline, tolerance: float) -> list[tuple[_FloatArray, list[_FloatArray]]]:
    """``(exterior, holes)`` of the outline simplified by Douglas-Peucker within
    ``tolerance`` px, keeping its topology (shapely)."""
    import shapely

    shape = shapely.Polygon(outline.exterior, list(outline.holes)).simplify(
        tolerance, preserve_topology=True
    )
    return _geometry_parts(shape)


def _geometry_parts(shape: shapely.Geometry) -> list[tuple[_FloatArray, list[_FloatArray]]]:
    """``(exterior, holes)`` of every polygon in a shapely geometry (others are dropped)."""
    import shapely

    parts: list[tuple[_FloatArray, list[_FloatArray]]] = []
    for polygon in shapely.get_parts(shapely.get_parts(shape)):
        if not isinstance(polygon, shapely.Polygon) or polygon.is_empty or polygon.area < 1e-9:
            if isinstance(polygon, shapely.GeometryCollection | shapely.MultiPolygon):
                parts.extend(_geometry_parts(polygon))
            continue
        exterior = np.asarray(polygon.exterior.coords)[:-1]
        holes = [np.asarray(r.coords)[:-1] for r in polygon.interiors]
        parts.append((exterior, holes))
    return parts


def _geometry_polygons(shape: shapely.Geometry) -> PolygonList:
    """COCO polygons of a shapely geometry, holes joined by zero-width cuts."""
    polygons: PolygonList = []
    for exterior, holes in _geometry_parts(shape):
        ring = _cut_holes(exterior, holes) if holes else exterior
        ring = ring[np.any(ring != np.roll(ring, 1, axis=0), axis=1)]
        if len(ring) >= 3:
            polygons.append(ring.ravel().tolist())
    return polygons
