"""The dataset verbs on the command line: outputs pycocotools loads, reports, --strict,
inputs never overwritten, clear errors."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pycocotools.coco import COCO

import coco_convert
from coco_convert.cli import main

from .ops_cases import CVAT, LABELME, RESULTS, ROBOFLOW


def run(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def loads_in_pycocotools(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_merge_the_three_real_exports(tmp_path: Path) -> None:
    out = tmp_path / "merged.json"
    result = run("merge", CVAT, ROBOFLOW, LABELME, "-o", out, "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    coco = loads_in_pycocotools(out)
    assert len(coco.getImgIds()) == 13
    assert coco.getCatIds(catNms=["person"]) == [1]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["conversion"] == "merge"
    assert report["losses"]["category_ids_changed"]["count"] == 6
    assert "merge: 2 categories in several inputs, 13 images, 64 annotations" in result.stderr
    assert "merged categories: person, car" in result.stderr


def test_merge_strict_refuses_look_alike_names(tmp_path: Path) -> None:
    other = coco_convert.load(CVAT).document
    other["categories"][1]["name"] = "persno"
    other["images"][0]["file_name"] = "other.jpg"
    (tmp_path / "b.json").write_text(json.dumps(other))
    result = run("merge", CVAT, tmp_path / "b.json", "-o", tmp_path / "out.json", "--strict")
    assert result.exit_code == 1
    assert "look like one name" in result.stderr
    assert "'person'" in result.stderr
    assert "'persno'" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_merge_results_need_ground_truth(tmp_path: Path) -> None:
    result = run("merge", RESULTS, RESULTS, "-o", tmp_path / "out.json")
    assert result.exit_code == 2
    assert "need their ground truth (--gt FILE)" in result.stderr
    mixed = run("merge", RESULTS, CVAT, "-o", tmp_path / "out.json")
    assert mixed.exit_code == 2
    assert "not both" in mixed.stderr


def test_merge_results_with_gt(tmp_path: Path) -> None:
    gt = coco_convert.load(CVAT)
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.5,
        }
        for a in gt.annotations
    ]
    (tmp_path / "r.json").write_text(json.dumps(results))
    out = tmp_path / "out.json"
    result = run("merge", tmp_path / "r.json", tmp_path / "r.json", "--gt", CVAT, "-o", out)
    assert result.exit_code == 0, result.output
    coco = loads_in_pycocotools(CVAT)
    with contextlib.redirect_stdout(io.StringIO()):
        assert len(coco.loadRes(str(out)).getAnnIds()) == 2 * len(results)


def test_split_writes_one_file_per_split(tmp_path: Path) -> None:
    out = tmp_path / "splits"
    result = run(
        "split",
        LABELME,
        "-o",
        out,
        "--ratios",
        "train=0.34,val=0.33,test=0.33",
        "--seed",
        "3",
        "--stratify",
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["test.json", "train.json", "val.json"]
    for path in out.iterdir():
        assert len(loads_in_pycocotools(path).getImgIds()) == 1
    again = run("split", LABELME, "-o", out, "--ratios", "train=1")
    assert again.exit_code == 2
    assert "not empty" in again.stderr
    bad = run("split", LABELME, "-o", tmp_path / "x", "--ratios", "train=0.7,val=0.2")
    assert bad.exit_code == 2
    assert "sum to 0.9, not 1" in bad.stderr
    lonely = run("split", LABELME, "-o", tmp_path / "y", "--ratios", "a=1", "--images", tmp_path)
    assert lonely.exit_code == 2
    assert "--copy-images or --symlink-images" in lonely.stderr


def test_split_copies_images(tmp_path: Path) -> None:
    images = tmp_path / "images" / "JPEGImages"
    images.mkdir(parents=True)
    for image in coco_convert.load(LABELME).images:
        (tmp_path / "images" / image["file_name"]).write_bytes(b"jpeg")
    out = tmp_path / "out"
    result = run(
        "split",
        LABELME,
        "-o",
        out,
        "--ratios",
        "a=0.5,b=0.5",
        "--images",
        tmp_path / "images",
        "--copy-images",
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.rglob("*.jpg"))) == 3
    assert "3 images copied" in result.stderr


def test_filter_sample_remap_and_stats(tmp_path: Path) -> None:
    filtered = tmp_path / "f.json"
    assert (
        run("filter", LABELME, "-o", filtered, "--cat", "person", "--img-ids", "0,1").exit_code == 0
    )
    coco = loads_in_pycocotools(filtered)
    assert set(coco.getImgIds()) <= {0, 1}
    (tmp_path / "ids.txt").write_text("0\n2\n")
    by_file = run(
        "filter",
        LABELME,
        "-o",
        tmp_path / "g.json",
        "--img-ids",
        f"@{tmp_path / 'ids.txt'}",
        "--keep-empty",
    )
    assert by_file.exit_code == 0, by_file.output
    assert sorted(loads_in_pycocotools(tmp_path / "g.json").getImgIds()) == [0, 2]
    sampled = tmp_path / "s.json"
    assert run("sample", LABELME, "-n", "2", "--seed", "1", "-o", sampled).exit_code == 0
    assert len(loads_in_pycocotools(sampled).getImgIds()) == 2
    (tmp_path / "map.yaml").write_text("person: human\n_background_: null\n")
    remapped = tmp_path / "r.json"
    result = run("remap", LABELME, "--map", tmp_path / "map.yaml", "-o", remapped)
    assert result.exit_code == 0, result.output
    assert loads_in_pycocotools(remapped).getCatIds(catNms=["human"]) == [15]
    stats = run("stats", "--json", remapped)
    assert json.loads(stats.stdout)["categories"][0]["name"] == "aeroplane"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["filter", LABELME, "--cat", "preson"],
            "no category named 'preson' (did you mean 'person'?)",
        ),
        (["filter", LABELME, "--area", "10"], "expected MIN:MAX"),
        (["filter", LABELME, "--img-ids", "1,x"], "'x' is not an image id"),
        (["filter", LABELME, "--all-categories"], "--all-categories needs categories"),
        (["sample", LABELME], "give -n N or --fraction F"),
        (["merge", LABELME, "--ids", "keep", "--gt", CVAT], "--gt goes with detection results"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[Any], message: str) -> None:
    result = run(*args, "-o", tmp_path / "out.json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("verb", ["filter", "sample", "remap", "merge"])
def test_the_input_is_never_the_output(tmp_path: Path, verb: str) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(LABELME.read_bytes())
    (tmp_path / "map.yaml").write_text("person: human\n")
    extra = {"sample": ["-n", "1"], "remap": ["--map", tmp_path / "map.yaml"]}.get(verb, [])
    result = run(verb, src, *extra, "-o", src)
    assert result.exit_code == 2
    assert "would overwrite" in result.stderr
    assert src.read_bytes() == LABELME.read_bytes()


def test_bad_input_names_file_and_place(tmp_path: Path) -> None:
    doc = coco_convert.load(LABELME).document
    doc["annotations"][3]["bbox"] = [1, 2]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    for verb, extra in [
        ("stats", []),
        ("filter", ["-o", tmp_path / "o.json"]),
        ("split", ["-o", tmp_path / "d", "--ratios", "a=1"]),
    ]:
        result = run(verb, tmp_path / "bad.json", *extra)
        assert result.exit_code == 1
        assert (
            f"{tmp_path / 'bad.json'}:/annotations/3/bbox: expected 4 numbers, got 2"
            in result.stderr
        )
