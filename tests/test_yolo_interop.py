"""coco2yolo against ultralytics, from what fixtures/yolo/record_ultralytics.py recorded with the
real ultralytics (version in record.json): its convert_coco labels, and its dataset checks run
on exactly the dataset we write now (same SHA-256)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import coco_convert
from coco_convert.converters.yolo import write_yolo
from coco_convert.images import read_size

from .conftest import FIXTURES
from .yolo_cases import CASES, dataset_digest, make_images

RECORDED = FIXTURES / "yolo" / "ultralytics"
RECORD = json.loads((RECORDED / "record.json").read_text(encoding="utf-8"))
PAIRS = [(case, task) for case, options in CASES.items() for task in options["tasks"]]

# ultralytics.data.converter.coco91_to_coco80_class(), as recorded (index = category id - 1).
COCO80_IDS = [
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
]  # fmt: skip


def test_every_case_was_recorded() -> None:
    assert {(c, t) for c, tasks in RECORD["cases"].items() for t in tasks} == set(PAIRS)
    for case, task in PAIRS:
        assert (RECORDED / f"{case}-{task}").is_dir()


@pytest.mark.parametrize(("case", "task"), PAIRS)
def test_ultralytics_accepts_what_we_write(tmp_path: Path, case: str, task: str) -> None:
    dataset = coco_convert.load(CASES[case]["source"])
    images = make_images(dataset, tmp_path / "source")
    out = tmp_path / "out"
    write_yolo({case: dataset}, out, task=task, images=images, image_mode="copy")
    recorded = RECORD["cases"][case][task]
    # ultralytics checked exactly this output; if this fails, rerun the recording script.
    assert dataset_digest(out) == recorded["sha256"]
    checks = recorded["verify_image_label"]
    assert checks, "no image was checked"
    assert all(c["corrupt"] == 0 and c["missing"] == 0 and not c["message"] for c in checks)
    rows = sum(c["rows"] for c in checks)
    assert rows == sum(_count_rows(p) for p in (out / "labels").rglob("*.txt"))
    assert recorded["check_det_dataset"]["nc"] == len(dataset.categories)


def _count_rows(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


@pytest.mark.parametrize(("case", "task"), PAIRS)
def test_labels_match_ultralytics_convert_coco(tmp_path: Path, case: str, task: str) -> None:
    """Same rows as ultralytics' convert_coco, but for our deliberate differences: class
    indices by category rank, 6 decimals, clipping to the image, background label files, pose
    rows without labelled keypoints kept, Label Studio-style paths normalised."""
    dataset = coco_convert.load(CASES[case]["source"])
    out = tmp_path / "out"
    write_yolo({case: dataset}, out, task=task)
    ours_root = out / "labels" / case
    theirs_root = RECORDED / f"{case}-{task}"
    rank = {c["id"]: i for i, c in enumerate(sorted(dataset.categories, key=lambda c: c["id"]))}
    to_category = (lambda k: COCO80_IDS[k]) if CASES[case]["cls91to80"] else (lambda k: k + 1)
    compared = 0
    for image in dataset.images:
        if "width" not in image:
            continue  # ultralytics cannot convert an image without a size
        theirs = theirs_root / Path(image["file_name"]).with_suffix(".txt")
        ours = ours_root / _our_label(image["file_name"])
        assert ours.is_file(), f"every image gets a label file: {ours}"
        mine = _rows(ours)
        if not theirs.is_file():
            assert all(task == "pose" and _unlabelled_pose(r) for r in mine), ours
            continue
        # ultralytics writes a category missing from `categories` as class id-1 (beyond nc);
        # we leave it out with a warning.
        known = [r for r in _rows(theirs) if to_category(int(r[0])) in rank]
        expected = [_expected_row(r, task, rank, to_category) for r in known]
        if task == "pose":
            mine = [r for r in mine if not _unlabelled_pose(r)]
        assert len(mine) == len(expected), ours
        for got, want in zip(mine, expected, strict=True):
            assert got[0] == want[0]
            np.testing.assert_allclose(got[1:], want[1:], rtol=0, atol=1.01e-6)
            compared += 1
    assert compared > 0


def _our_label(file_name: str) -> str:
    text = file_name.replace("\\", "/")
    if text[1:2] == ":" or text.startswith("/"):
        text = text.rsplit("/", 1)[-1]
    text = text.removeprefix("images/")
    return text.rsplit(".", 1)[0] + ".txt"


def _rows(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line]


def _unlabelled_pose(row: list[float]) -> bool:
    return len(row) > 5 and not any(row[7::3])


def _expected_row(
    row: list[float], task: str, rank: dict[int, int], to_category: Any
) -> list[float]:
    cls = rank[to_category(int(row[0]))]
    values = np.asarray(row[1:])
    if task == "segment":
        return [cls, *np.clip(values, 0, 1)]
    cx, cy, w, h = values[:4]
    x1, y1 = np.clip([cx - w / 2, cy - h / 2], 0, 1)
    x2, y2 = np.clip([cx + w / 2, cy + h / 2], 0, 1)
    box = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
    if task == "pose":
        points = values[4:].reshape(-1, 3).copy()
        points[:, :2] = np.clip(points[:, :2], 0, 1)
        return [cls, *box, *points.ravel()]
    return [cls, *box]


def test_image_sizes_match_ultralytics_exif_size() -> None:
    folder = FIXTURES / "yolo" / "exif"
    recorded = RECORD["exif_size"]
    assert len(recorded) >= 8
    for name, size in recorded.items():
        assert list(read_size(folder / name)) == size, name
