"""split and sample: partitions in the ratios, stratified, grouped, deterministic, written whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coco_convert
from coco_convert import UsageError
from coco_convert.ops import sample, split, write_splits
from coco_convert.ops.partition import assign, group_units, parse_ratios, split_sizes

from .ops_cases import CAPTIONS, LABELME, PANOPTIC, dataset, document, documents, generate, self_ap

RATIOS = st.lists(st.integers(1, 10), min_size=1, max_size=4).map(
    lambda weights: {f"part{i}": w / sum(weights) for i, w in enumerate(weights)}
)


def _check_partition(source: Any, parts: dict[str, Any], ratios: dict[str, float]) -> None:
    """Each image and each annotation in exactly one part (with its image), nothing else."""
    part_of: dict[int, str] = {}
    for name, part in parts.items():
        assert part.categories == source.categories  # categories whole, ids unchanged
        for image in part.images:
            assert image["id"] not in part_of
            part_of[image["id"]] = name
        for ann in part.annotations:
            assert part_of.get(ann["image_id"]) == name
    assert sorted(part_of) == sorted(i["id"] for i in source.images)
    assert sum(len(p.annotations) for p in parts.values()) == len(source.annotations)
    assert list(parts) == list(ratios)


@settings(max_examples=80, deadline=None)
@given(documents(min_images=1, max_images=25), RATIOS, st.integers(0, 2**32), st.booleans())
def test_a_split_is_a_partition_in_the_ratios(
    doc: dict[str, Any], ratios: dict[str, float], seed: int, stratify: bool
) -> None:
    source = dataset(doc)
    parts, _ = split(source, ratios, seed=seed, stratify=stratify)
    _check_partition(source, parts, ratios)
    total = len(source.images)
    for name, part in parts.items():
        assert abs(len(part.images) - ratios[name] * total) < 1  # within one image
    again, _ = split(source, ratios, seed=seed, stratify=stratify)
    assert {n: p.document for n, p in again.items()} == {n: p.document for n, p in parts.items()}


@settings(max_examples=60, deadline=None)
@given(
    documents(min_images=1, max_images=25),
    RATIOS,
    st.integers(0, 2**32),
    st.booleans(),
    st.data(),
)
def test_groups_stay_in_one_split(
    doc: dict[str, Any], ratios: dict[str, float], seed: int, stratify: bool, data: st.DataObject
) -> None:
    for image in doc["images"]:
        image["video_id"] = data.draw(st.integers(0, 4))
    source = dataset(doc)
    parts, _ = split(source, ratios, seed=seed, stratify=stratify, group_by="video_id")
    _check_partition(source, parts, ratios)
    where = {image["video_id"]: set() for image in doc["images"]}
    for name, part in parts.items():
        for image in part.images:
            where[image["video_id"]].add(name)
    assert all(len(names) == 1 for names in where.values())


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=40),
    st.integers(2, 4),
    st.integers(0, 2**32),
)
def test_stratified_splits_hold_every_category_with_enough_images(
    labels: list[int], k: int, seed: int
) -> None:
    """Single-label images (each holds one category): a category with at least as many
    images as splits is in every split, whenever every split has room for one image of each
    such category. (With several categories per image it is not always possible: see
    test_impossible_coverage_is_reported.)"""
    counts = Counter(labels)
    coverable = [c for c, n in counts.items() if n >= k]
    sizes = split_sizes(len(labels), [1 / k] * k)
    if min(sizes) < len(coverable):
        return  # no room: the guarantee does not apply
    doc = document(
        len(labels),
        [(i + 1, i + 1, c + 1) for i, c in enumerate(labels)],
        [(c + 1, f"c{c}") for c in range(6)],
    )
    parts, report = split(
        dataset(doc), {f"s{j}": 1 / k for j in range(k)}, seed=seed, stratify=True
    )
    for part in parts.values():
        held = {a["category_id"] for a in part.annotations}
        assert {c + 1 for c in coverable} <= held
    assert "category_missing_from_split" not in report.warnings


@settings(max_examples=60, deadline=None)
@given(
    documents(min_images=2, max_images=30, max_annotations=60),
    st.integers(2, 3),
    st.integers(0, 99),
)
def test_multi_label_coverage_holds_or_is_reported(doc: dict[str, Any], k: int, seed: int) -> None:
    source = dataset(doc)
    parts, report = split(source, {f"s{j}": 1 / k for j in range(k)}, seed=seed, stratify=True)
    images_of: dict[int, set[int]] = {}
    for ann in source.annotations:
        images_of.setdefault(ann["category_id"], set()).add(ann["image_id"])
    warned = report.warnings.get("category_missing_from_split")
    names = {c["id"]: c["name"] for c in source.categories}
    for category_id, images in images_of.items():
        if len(images) < k:
            continue
        for name, part in parts.items():
            if category_id not in {a["category_id"] for a in part.annotations}:
                assert warned is not None
                assert any(
                    (example.detail or "").startswith(f"{names[category_id]!r}")
                    and str(example).endswith(f"none in {name}")
                    for example in warned.examples
                ) or warned.count > len(warned.examples)


def test_impossible_coverage_is_reported() -> None:
    # Three images {A,B}, {A,C}, {B,C}, two splits: every category has two images, yet no
    # assignment puts each category in both splits (the three would need two colours each
    # pairwise different). The split says which category misses which split.
    doc = document(
        3,
        [(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 2, 3), (5, 3, 2), (6, 3, 3)],
        [(1, "a"), (2, "b"), (3, "c")],
    )
    _, report = split(dataset(doc), {"train": 0.5, "val": 0.5}, stratify=True)
    assert report.warnings["category_missing_from_split"].count == 1


def test_stratification_keeps_each_category_near_its_ratio(tmp_path: Path) -> None:
    source = coco_convert.load(generate(tmp_path / "gen.json", "--images", "3000", "--seed", "3"))
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}

    def worst(parts: dict[str, Any]) -> float:
        """The largest gap between a category's share of images in a split and the ratio."""
        total: Counter[int] = Counter()
        per: dict[str, Counter[int]] = {}
        for name, part in parts.items():
            per[name] = Counter()
            for cats in _image_categories(part).values():
                per[name].update(cats)
                total.update(cats)
        return max(abs(per[n][c] / total[c] - ratios[n]) for n in parts for c in total)

    stratified, report = split(source, ratios, seed=0, stratify=True)
    random_parts, _ = split(source, ratios, seed=0)
    assert "category_missing_from_split" not in report.warnings
    for part in stratified.values():
        assert {a["category_id"] for a in part.annotations} == {c["id"] for c in source.categories}
    assert worst(stratified) < 0.015 < 0.05 < worst(random_parts)
    for part in stratified.values():
        assert self_ap(part.document) == pytest.approx(1.0)


def _image_categories(part: Any) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for ann in part.annotations:
        found.setdefault(ann["image_id"], set()).add(ann["category_id"])
    return found


def test_assignment_is_the_same_on_every_platform() -> None:
    """Golden values: the seed's stream is ``random.Random(seed).random()``, which Python
    promises to keep; nothing depends on hash() or set order. A change here changes every
    user's splits."""
    assert assign([1] * 20, [0.5, 0.3, 0.2], seed=1) == [
        1, 0, 1, 2, 0, 0, 1, 0, 0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 1, 2,
    ]  # fmt: skip
    assert assign([1] * 20, [0.5, 0.3, 0.2], seed=1, labels=[[(i % 3, 1)] for i in range(20)]) == [
        1, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 1, 2, 0, 2, 1,
    ]  # fmt: skip


def test_split_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    source = generate(tmp_path / "gen.json", "--images", "200")
    script = (
        "import sys, json, coco_convert\n"
        "from coco_convert.ops import split\n"
        "parts, _ = split(coco_convert.load(sys.argv[1]), {'a': .5, 'b': .3, 'c': .2}, seed=5,"
        " stratify=True, group_by='license')\n"
        "print(json.dumps({n: [i['id'] for i in p.images] for n, p in parts.items()}))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(source)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1


def test_group_by_regex_over_file_name() -> None:
    names = [f"video{v}_frame{f:03d}.jpg" for v in range(4) for f in range(5)]
    doc = document(list(enumerate(names, 1)), [], [(1, "car")])
    parts, report = split(dataset(doc), {"a": 0.5, "b": 0.5}, group_by=r"^(video\d+)_frame")
    for part in parts.values():
        videos = {i["file_name"].split("_")[0] for i in part.images}
        assert len(part.images) == 5 * len(videos)
    assert report.counts["groups"] == 4
    doc["images"][0]["file_name"] = "other.jpg"
    _, report = split(dataset(doc), {"a": 0.5, "b": 0.5}, group_by=r"^(video\d+)_frame")
    missing = report.warnings["group_key_missing"].examples
    assert [str(e) for e in missing] == ["<dataset>:/images/0"]
    with pytest.raises(UsageError, match="2 capturing groups"):
        group_units(doc["images"], r"(a)(b)")
    with pytest.raises(UsageError, match="not a regular expression"):
        group_units(doc["images"], r"(a")


def test_group_keys_are_json_values() -> None:
    images = [
        {"id": i, "file_name": f"{i}.jpg", "g": g} for i, g in enumerate([1, "1", True, 1, [1]])
    ]
    units = group_units(images, "g")
    assert units.of_image == [0, 1, 2, 0, 3]


def test_ratios() -> None:
    assert parse_ratios("train=0.8,val=0.1,test=0.1") == {"train": 0.8, "val": 0.1, "test": 0.1}
    for bad, message in [
        ("train=0.8,val=0.1", "sum to 0.9"),
        ("train=0.5,train=0.5", "given twice"),
        ("train", "expected NAME=RATIO"),
        ("train=x,val=1", "not a number"),
        ("../x=1", "must be letters"),
        ("a=0,b=1", "above 0"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_ratios(bad)
    assert split_sizes(13, [0.6, 0.2, 0.2]) == [8, 3, 2]
    assert split_sizes(0, [0.5, 0.5]) == [0, 0]


def test_split_of_other_kinds() -> None:
    captions = coco_convert.load(CAPTIONS)
    parts, _ = split(captions, {"a": 1.0})
    assert parts["a"].document == captions.document
    with pytest.raises(UsageError, match="no categories to stratify by"):
        split(captions, {"a": 1.0}, stratify=True)
    panoptic = coco_convert.load(PANOPTIC)
    parts, _ = split(panoptic, {"a": 0.5, "b": 0.5}, stratify=True)
    assert sorted(i["id"] for p in parts.values() for i in p.images) == sorted(
        i["id"] for i in panoptic.images
    )


def test_annotations_without_image_are_reported() -> None:
    doc = document(2, [(1, 1, 1), (2, 9, 1)], [(1, "car")])
    parts, report = split(dataset(doc), {"a": 0.5, "b": 0.5})
    assert sum(len(p.annotations) for p in parts.values()) == 1
    dangling = report.warnings["dangling_image_id"].examples
    assert [str(e) for e in dangling] == ["<dataset>:/annotations/1/image_id"]
    assert report.losses["annotations_without_image"].count == 1


# --- writing ---------------------------------------------------------------------------------


def _images_folder(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    return root


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_write_splits_with_images(tmp_path: Path, mode: Any) -> None:
    names = ["a/1.jpg", "a/2.jpg", "3.jpg", "4.jpg"]
    images = _images_folder(tmp_path / "images", names)
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    (images / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    listed = [*names, "../secret.jpg", "link.jpg", "missing.jpg"]
    doc = document(list(enumerate(listed, 1)), [], [(1, "car")])
    parts, report = split(dataset(doc), {"train": 0.5, "val": 0.5}, seed=1)
    write_splits(parts, tmp_path / "out", images=images, image_mode=mode, report=report)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["train", "train.json", "val", "val.json"]
    placed = sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg"))
    expected = sorted(
        f"{name}/{image['file_name']}"
        for name, part in parts.items()
        for image in part.images
        if image["file_name"] in names
    )
    assert placed == expected
    for path in out.rglob("*.jpg"):
        assert path.read_bytes() != b"secret"
        assert path.is_symlink() == (mode == "symlink")
    assert report.warnings["unsafe_file_name"].count == 1
    assert report.warnings["image_not_placed"].count == 2  # the link out, the missing file
    assert json.loads((out / "train.json").read_text()) == parts["train"].document


def test_write_splits_is_whole_or_nothing(tmp_path: Path) -> None:
    doc = document(4, [], [(1, "car")])
    parts, _ = split(dataset(doc), {"train": 0.5, "val": 0.5})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.json").write_text("{}")
    with pytest.raises(UsageError, match="not empty"):
        write_splits(parts, tmp_path / "out")
    write_splits(parts, tmp_path / "out", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train.json", "val.json"]
    with pytest.raises(UsageError, match="--images goes with"):
        write_splits(parts, tmp_path / "other", images=tmp_path)


# --- sample ----------------------------------------------------------------------------------


def test_sample_counts_and_seed() -> None:
    source = coco_convert.load(LABELME)
    one, report = sample(source, n=2, seed=3)
    assert len(one.images) == 2
    assert report.counts["images"] == 2
    assert sample(source, n=2, seed=3)[0].document == one.document
    ids = {i["id"] for i in one.images}
    assert [a for a in source.annotations if a["image_id"] in ids] == one.annotations
    half, _ = sample(source, fraction=0.5)
    assert len(half.images) == round(0.5 * len(source.images))
    everything, report = sample(source, n=10)
    assert everything.document == source.document
    assert report.warnings["sample_larger_than_dataset"].count == 1
    none, _ = sample(source, n=0)
    assert none.images == []
    assert none.annotations == []
    with pytest.raises(UsageError, match="either n or fraction"):
        sample(source)


def test_stratified_sample_keeps_rare_categories(tmp_path: Path) -> None:
    source = coco_convert.load(generate(tmp_path / "gen.json", "--images", "1000"))
    sampled, _ = sample(source, n=100, seed=1, stratify=True)
    assert len(sampled.images) == 100
    assert {a["category_id"] for a in sampled.annotations} == {c["id"] for c in source.categories}
