"""Pure helpers behind the YOLO converters: label rows as bytes, multi-part polygons joined the
way ultralytics joins them, keypoint flip indices. No file access here.

Label rows are written by :func:`format_rows` for a whole batch of rows at once with numpy:
at COCO train2017 scale a segmentation dataset has about 57 million coordinates, and formatting
them one by one with ``f"{v:.6f}"`` alone would take longer than everything else together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DECIMALS",
    "darknet_label_path",
    "flip_indices",
    "format_rows",
    "label_path",
    "merge_multi_segment",
]

#: Fixed precision of normalised coordinates in label rows (a 1e-6 step is 0.004 px on a
#: 4000 px image).
DECIMALS = 6
_SCALE = 10**DECIMALS
#: Bytes of one value in the layout used while formatting: 8 characters and a separator.
_CELL = DECIMALS + 3
#: A cell as fields: integer digit, ".", six decimals, separator.
_CELL_FIELDS = np.dtype([("int", "u1"), ("dot", "u1"), ("fraction", "V6"), ("sep", "u1")])
#: keep[length] masks the bytes of a cell of that length.
_KEEP = (np.arange(_CELL)[None, :] < np.arange(_CELL + 1)[:, None]).view(f"V{_CELL}")[:, 0]
_FRACTIONS: npt.NDArray[np.void] | None = None


def _fractions() -> npt.NDArray[np.void]:
    """The six digits of every fraction 0..999999 as 6-byte items (6 MB, built once)."""
    global _FRACTIONS
    if _FRACTIONS is None:
        steps = np.arange(_SCALE, dtype=np.int64)
        digits = np.empty((_SCALE, DECIMALS), dtype=np.uint8)
        for place in range(DECIMALS):
            digits[:, DECIMALS - 1 - place] = (steps // 10**place) % 10 + ord("0")
        _FRACTIONS = digits.view(f"V{DECIMALS}")[:, 0]
    return _FRACTIONS


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def format_rows(
    classes: IntArray,
    values: FloatArray,
    counts: IntArray,
    *,
    digit_mask: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.uint8], IntArray]:
    """The bytes of label rows ``cls v1 v2 ...\\n`` and the byte offset where each row ends.

    Row ``r`` holds ``classes[r]`` and the next ``counts[r]`` numbers of ``values``. Numbers
    are written with :data:`DECIMALS` decimals (``0.123457``) and must already lie in [0, 1];
    those marked in ``digit_mask`` (keypoint visibility) are written as one digit. Rounding
    is to the nearest step of 1e-6 (ties within a rounding error of the float either way)."""
    n_rows, n_values = len(classes), len(values)
    if n_rows == 0:
        return np.empty(0, np.uint8), np.empty(0, np.int64)
    if np.any(classes < 0):
        raise ValueError("class indices must not be negative")
    counts = counts.astype(np.int64, copy=False)
    # Every number, class indices included, gets a cell of 9 bytes; each cell's length says
    # how many of them are kept (the last kept byte is its separator).
    class_cell = np.arange(n_rows, dtype=np.int64) + (np.cumsum(counts) - counts)
    last_cell = class_cell + counts
    n_cells = n_rows + n_values
    is_value = np.ones(n_cells, dtype=bool)
    is_value[class_cell] = False
    cell_values = np.zeros(n_cells, dtype=np.float64)
    cell_values[is_value] = values

    steps = np.rint(cell_values * _SCALE).astype(np.int64)
    cells = np.empty((n_cells, _CELL), dtype=np.uint8)
    fields = cells.view(_CELL_FIELDS)[:, 0]
    fields["int"] = steps // _SCALE + ord("0")
    fields["dot"] = ord(".")
    fields["fraction"] = _fractions()[steps % _SCALE]
    fields["sep"] = ord(" ")
    lengths = np.full(n_cells, _CELL, dtype=np.int64)

    if digit_mask is not None and digit_mask.any():
        digit_cell = np.flatnonzero(is_value)[digit_mask]
        cells[digit_cell, 0] = np.rint(values[digit_mask]).astype(np.uint8) + ord("0")
        cells[digit_cell, 1] = ord(" ")
        lengths[digit_cell] = 2

    # Class cells: the index and a space, from a small table of the classes present.
    unique = np.unique(classes)
    top = int(unique[-1])
    if len(str(top)) > _CELL - 1:
        raise ValueError(f"class index {top} is too large")
    table = np.full((top + 1, _CELL), ord(" "), dtype=np.uint8)
    table_lengths = np.zeros(top + 1, dtype=np.int64)
    for c in unique.tolist():
        text = str(c).encode()
        table[c, : len(text)] = np.frombuffer(text, dtype=np.uint8)
        table_lengths[c] = len(text) + 1
    cells.view(f"V{_CELL}")[class_cell, 0] = table.view(f"V{_CELL}")[classes, 0]
    lengths[class_cell] = table_lengths[classes]

    cells[last_cell, lengths[last_cell] - 1] = ord("\n")
    keep = _KEEP[lengths].view(np.bool_).reshape(n_cells, _CELL)
    out = cells[keep]
    return out, np.cumsum(lengths)[last_cell]


def _min_index(a: FloatArray, b: FloatArray) -> tuple[int, int]:
    """Indices of the closest pair of points between ``a`` and ``b`` (first pair on ties, in
    row-major order, as ultralytics' ``min_index``)."""
    distances = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(np.argmin(distances, axis=None), distances.shape)
    return int(i), int(j)


def merge_multi_segment(rings: Sequence[Sequence[float] | FloatArray]) -> FloatArray:
    """Join the parts of a multi-part polygon into one ring, as ultralytics'
    ``merge_multi_segment`` does (``ultralytics.data.converter``), so that labels match
    ``convert_coco(use_segments=True)`` point for point.

    Consecutive parts are linked at their closest pair of points by a zero-width bridge: the
    walk goes from the first part to the last through each part's link points, then back
    through the middle parts' remaining points. Returns an ``(n, 2)`` array of points in the
    input's units (pixels)."""
    segments = [np.asarray(ring, dtype=np.float64).reshape(-1, 2) for ring in rings]
    if len(segments) == 1:
        return segments[0]
    links: list[list[int]] = [[] for _ in segments]
    for i in range(1, len(segments)):
        a, b = _min_index(segments[i - 1], segments[i])
        links[i - 1].append(a)
        links[i].append(b)
    last = len(segments) - 1
    parts: list[FloatArray] = []
    # Forward: every part rolled to start at its first link point and closed; the first and
    # last parts whole, the middle ones only up to their second link point.
    for i, idx in enumerate(links):
        if len(idx) == 2 and idx[0] > idx[1]:
            idx = [len(segments[i]) - 1 - x for x in idx]
            segments[i] = segments[i][::-1, :]
        segments[i] = np.roll(segments[i], -idx[0], axis=0)
        segments[i] = np.concatenate([segments[i], segments[i][:1]])
        if i in (0, last):
            parts.append(segments[i])
        else:
            parts.append(segments[i][: idx[1] - idx[0] + 1])
    # Backward: the rest of each middle part, last to first.
    for i in range(last, -1, -1):
        if i not in (0, last):
            idx = links[i]
            parts.append(segments[i][abs(idx[1] - idx[0]) :])
    return np.concatenate(parts, axis=0)


_SIDE = re.compile(r"(?<![A-Za-z])(left|right|Left|Right|LEFT|RIGHT)(?![a-z])")
_OTHER_SIDE = {
    "left": "right",
    "right": "left",
    "Left": "Right",
    "Right": "Left",
    "LEFT": "RIGHT",
    "RIGHT": "LEFT",
}


def flip_indices(names: Sequence[str]) -> tuple[list[int], int]:
    """ultralytics' ``flip_idx`` for keypoints named like COCO's (``left_eye``/``right_eye``):
    the index each keypoint takes when the image is mirrored. Names are paired by swapping a
    standalone ``left``/``right`` word (``left_eye``, ``eye_left``, ``LeftEye``); points without
    a partner (``nose``) map to themselves. Returns the indices and the number of pairs."""
    position = {name: i for i, name in enumerate(names)}
    flip = list(range(len(names)))
    for i, name in enumerate(names):
        partner = _SIDE.sub(lambda m: _OTHER_SIDE[m.group(1)], name)
        j = position.get(partner)
        if partner != name and j is not None:
            other = _SIDE.sub(lambda m: _OTHER_SIDE[m.group(1)], names[j])
            if other == name:
                flip[i] = j
    pairs = sum(1 for i, j in enumerate(flip) if i < j)
    return flip, pairs


def as_float_array(values: Any) -> FloatArray:
    """``values`` as a float64 array, refusing anything that is not made of numbers (numpy
    would quietly parse strings such as ``"1.5"``)."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf" and not (array.dtype.kind == "b" and array.size == 0):
        raise TypeError(f"expected numbers, got {array.dtype}")
    return array.astype(np.float64, copy=False)


def label_path(image_path: str) -> str:
    """The label file ultralytics reads for an image (``img2label_paths`` with ``/``): the last
    ``/images/`` becomes ``/labels/`` and the suffix becomes ``.txt``."""
    head, sep, tail = f"/{image_path}".rpartition("/images/")
    path = f"{head}/labels/{tail}" if sep else f"/{image_path}"
    return path[1:].rsplit(".", 1)[0] + ".txt"


def darknet_label_path(image_path: str) -> str:
    """The label file darknet reads for an image: the same path with ``.txt``, with an
    ``images`` or ``JPEGImages`` folder read as ``labels`` (``replace_image_to_label``)."""
    parts = image_path.split("/")
    parts[:-1] = ["labels" if part in ("images", "JPEGImages") else part for part in parts[:-1]]
    return "/".join(parts).rsplit(".", 1)[0] + ".txt"
