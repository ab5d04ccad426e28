"""The pure YOLO helpers: row bytes, multi-part joining, flip indices, label paths."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coco_convert.converters.yolo_rows import (
    darknet_label_path,
    flip_indices,
    format_rows,
    label_path,
    merge_multi_segment,
)

unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.lists(unit, min_size=1, max_size=12)),
        min_size=1,
        max_size=20,
    )
)
def test_rows_read_back_as_written(rows: list[tuple[int, list[float]]]) -> None:
    classes = np.array([c for c, _ in rows], dtype=np.int64)
    values = np.array([v for _, vs in rows for v in vs], dtype=np.float64)
    counts = np.array([len(vs) for _, vs in rows], dtype=np.int64)
    data, ends = format_rows(classes, values, counts)
    text = data.tobytes().decode()
    lines = text.splitlines(keepends=True)
    assert [len(text[:e]) for e in ends.tolist()] == ends.tolist()
    assert np.cumsum([len(line) for line in lines]).tolist() == ends.tolist()
    for line, (cls, vs) in zip(lines, rows, strict=True):
        assert line.endswith("\n")
        assert "  " not in line
        tokens = line.split()
        assert tokens[0] == str(cls)
        assert all(len(t) == 8 and t[1] == "." for t in tokens[1:])
        for token, v in zip(tokens[1:], vs, strict=True):
            # the nearest 6-decimal value; f-strings agree except within a float's error of a tie
            assert abs(float(token) - v) <= 5e-7 + 1e-15
            if abs(v * 1e6 - round(v * 1e6) - 0.5) > 1e-6 and abs(v * 1e6 % 1 - 0.5) > 1e-6:
                assert token == f"{v:.6f}"


def test_visibility_is_one_digit() -> None:
    data, ends = format_rows(
        np.array([7]),
        np.array([0.5, 0.5, 0.1, 0.1, 0.25, 0.75, 2.0, 0.0, 0.0, 0.0]),
        np.array([10]),
        digit_mask=np.array([0, 0, 0, 0, 0, 0, 1, 0, 0, 1], dtype=bool),
    )
    line = "7 0.500000 0.500000 0.100000 0.100000 0.250000 0.750000 2 0.000000 0.000000 0\n"
    assert data.tobytes().decode() == line
    assert ends.tolist() == [len(line)]


def test_no_rows_no_bytes() -> None:
    data, ends = format_rows(np.array([], np.int64), np.array([]), np.array([], np.int64))
    assert data.size == 0
    assert ends.size == 0


def test_merge_of_two_squares_walks_one_ring() -> None:
    a = [0, 0, 2, 0, 2, 2, 0, 2]
    b = [5, 0, 7, 0, 7, 2, 5, 2]
    merged = merge_multi_segment([a, b])
    # a from its point nearest b (2,0) around and back, then b from (5,0) around and back
    assert merged.tolist() == [
        [2, 0], [2, 2], [0, 2], [0, 0], [2, 0],
        [5, 0], [7, 0], [7, 2], [5, 2], [5, 0],
    ]  # fmt: skip


@given(st.integers(2, 5), st.integers(0, 1000))
def test_merge_keeps_every_point(parts: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rings = [rng.random(2 * int(rng.integers(3, 9))) * 100 for _ in range(parts)]
    merged = merge_multi_segment(rings)
    found = {tuple(p) for p in merged.tolist()}
    assert all(tuple(p) in found for ring in rings for p in ring.reshape(-1, 2).tolist())


def test_flip_indices() -> None:
    names = ["nose", "left_eye", "right_eye", "LeftHand", "RightHand", "tail", "leftover"]
    assert flip_indices(names) == ([0, 2, 1, 4, 3, 5, 6], 2)
    assert flip_indices(["left_paw"]) == ([0], 0)  # no partner: stays


def test_label_paths_follow_ultralytics() -> None:
    assert label_path("images/train/a.jpg") == "labels/train/a.txt"
    assert label_path("images/train/sub/a.b.png") == "labels/train/sub/a.b.txt"
    # the last images/ folder is the one replaced, as in img2label_paths
    assert label_path("images/train/images/a.jpg") == "images/train/labels/a.txt"
    assert darknet_label_path("obj_train_data/x/1.jpg") == "obj_train_data/x/1.txt"
    assert darknet_label_path("d/JPEGImages/1.jpg") == "d/labels/1.txt"
