"""poly2rle and rle2poly over whole datasets, on the real exports; pycocotools' COCO.annToRLE
is the oracle."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools.coco import COCO

import coco_convert as cc
from coco_convert import geometry as g
from coco_convert import transforms
from coco_convert.cli import main
from coco_convert.parallel import choose_jobs, map_batched, map_tasks

PANOPTIC_RLE = "coco_panoptic/panopticapi-panoptic_coco_detection_format.json"
POLYGON_FILES = [
    "coco_labelme/labelme2coco-annotations.json",
    "coco_other/coco-annotator-export-ls-sdk-import.json",
    "coco_cvat/cvat-coco-street-instances_default.json",
    "coco_keypoints/datumaro-person_keypoints_val.json",
]


def ann_to_rle(document: dict[str, Any]) -> list[dict[str, Any] | None]:
    """pycocotools' own rasterisation of every annotation (None without segmentation)."""
    coco = COCO()
    coco.dataset = copy.deepcopy(document)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    out: list[dict[str, Any] | None] = []
    for ann in coco.dataset["annotations"]:
        if not ann.get("segmentation"):
            out.append(None)
            continue
        rle = coco.annToRLE(ann)
        counts = rle["counts"]
        out.append({"size": list(rle["size"]), "counts": getattr(counts, "decode", str)()})
    return out


def load_loose(path: Path) -> Any:
    """Real exports as they are (some break the strict schema in ways we do not care about
    here: string iscrowd, category id 0 ...)."""
    return cc.load(path, validate=False)


@pytest.mark.parametrize("name", POLYGON_FILES)
def test_poly2rle_is_what_pycocotools_rasterises(realdata: Path, name: str) -> None:
    dataset = load_loose(realdata / name)
    before = copy.deepcopy(dataset.document)
    converted, report = transforms.poly2rle(dataset)
    assert dataset.document == before  # the input is not modified
    expected = ann_to_rle(before)
    for ann, rle, old in zip(converted.annotations, expected, before["annotations"], strict=True):
        if isinstance(old.get("segmentation"), list) and old["segmentation"]:
            assert ann["segmentation"] == rle
            assert ann["area"] == old["area"]
            assert ann["bbox"] == old["bbox"]
        else:
            assert ann.get("segmentation") == old.get("segmentation")
    polygons = sum(
        len(a["segmentation"])
        for a in before["annotations"]
        if isinstance(a.get("segmentation"), list)
    )
    assert report.counts.get("polygons", 0) == polygons
    assert report.losses["polygon_vertices"].count == polygons


def test_poly2rle_crowd_only_and_compress(realdata: Path) -> None:
    dataset = load_loose(realdata / "coco_keypoints/datumaro-person_keypoints_val.json")
    crowd = [i for i, a in enumerate(dataset.annotations) if isinstance(a["segmentation"], dict)]
    converted, report = transforms.poly2rle(dataset, crowd_only=True)
    assert report.counts == {}
    assert converted.document["annotations"] == dataset.annotations
    converted, report = transforms.poly2rle(dataset, crowd_only=True, compress=True)
    assert report.counts == {"rle_compressed": len(crowd)}
    for i in crowd:
        rle = converted.annotations[i]["segmentation"]
        assert isinstance(rle["counts"], str)
        assert rle == g.compress_rle(dataset.annotations[i]["segmentation"])


def test_rle2poly_real_masks_round_trip_exactly(realdata: Path) -> None:
    dataset = load_loose(realdata / PANOPTIC_RLE)
    converted, report = transforms.rle2poly(dataset)
    assert report.counts["masks"] == len(dataset.annotations)
    assert report.stats["iou_min"] == 1.0
    assert report.counts["holes_cut"] > 0
    assert report.lossless
    back, _ = transforms.poly2rle(converted)
    assert [a["segmentation"] for a in back.annotations] == [
        a["segmentation"] for a in dataset.annotations
    ]
    # COCO evaluation sees the same pixels: pycocotools' own rasterisation of our polygons
    assert ann_to_rle(converted.document) == [a["segmentation"] for a in dataset.annotations]


def test_rle2poly_options_report_their_cost(realdata: Path) -> None:
    dataset = load_loose(realdata / PANOPTIC_RLE)
    _, simplified = transforms.rle2poly(dataset, tolerance=1.0)
    assert 0.9 < simplified.stats["iou_median"] < 1.0
    assert simplified.stats["vertices"] < simplified.stats["vertices_exact"]
    assert 0 < simplified.stats["vertices_saved"] < 1
    assert "simplified" in simplified.losses

    kept, report = transforms.rle2poly(dataset, holes="rle")
    holed = [i for i, a in enumerate(kept.annotations) if isinstance(a["segmentation"], dict)]
    assert holed
    assert report.counts["kept_as_rle"] == len(holed)
    assert report.stats["iou_min"] == 1.0

    _, report = transforms.rle2poly(dataset, holes="fill")
    assert report.losses["holes_filled"].count == report.counts["holes_filled"] > 0
    assert report.stats["iou_min"] < 1.0

    _, report = transforms.rle2poly(dataset, min_area=50)
    assert report.losses["parts_below_min_area"].count > 0


def test_bad_segmentations_are_reported_not_fatal() -> None:
    document: dict[str, Any] = {
        "images": [{"id": 1, "height": 10, "width": 10}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]]},
            {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 5, 0]]},
            {
                "id": 3,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [10, 10], "counts": [3]},
            },
            {"id": 4, "image_id": 9, "category_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]]},
        ],
    }
    dataset = cc.from_document(document, kind="instances", validate=False, source="x.json")
    converted, report = transforms.poly2rle(dataset, compress=True)
    assert report.counts == {"annotations": 1, "polygons": 1}
    assert report.warnings["bad_segmentation"].count == 2
    first = report.warnings["bad_segmentation"].examples[0]
    assert str(first.location) == "x.json:/annotations/1/segmentation"
    assert [str(e) for e in report.warnings["unknown_image"].examples] == ["x.json:/annotations/3"]
    assert converted.annotations[1] is document["annotations"][1]
    _, report = transforms.rle2poly(dataset)
    assert report.warnings["bad_segmentation"].count == 1
    assert "add up to 3 pixels" in str(report.warnings["bad_segmentation"].examples[0].detail)


def test_parallel_results_equal_serial(monkeypatch: pytest.MonkeyPatch, realdata: Path) -> None:
    monkeypatch.setattr(transforms, "_CHUNK", 1)  # one image per chunk: many chunks, two workers
    dataset = load_loose(realdata / PANOPTIC_RLE)
    serial, _ = transforms.rle2poly(dataset, jobs=1)
    parallel, report = transforms.rle2poly(dataset, jobs=2)
    assert report.stats["processes"] == 2
    assert parallel.document == serial.document
    back_serial, _ = transforms.poly2rle(serial, jobs=1)
    back_parallel, _ = transforms.poly2rle(serial, jobs=2)
    assert back_parallel.document == back_serial.document


def _sum(values: list[int]) -> int:
    return sum(values)


def test_map_tasks_keeps_order_across_processes() -> None:
    tasks = [list(range(a, a + 7)) for a in range(0, 1000, 7)]
    expected = [sum(t) for t in tasks]
    for jobs in (1, 2):
        assert list(map_tasks(_sum, iter(tasks), jobs=jobs)) == expected
    assert choose_jobs(None, 10, worth_it=100) == 1
    assert choose_jobs(None, 100, worth_it=100) >= 1
    assert choose_jobs(3, 0, worth_it=100) == 3


def test_map_batched_keeps_order_and_sends_batches() -> None:
    tasks = [list(range(a, a + 5)) for a in range(0, 500, 5)]
    expected = [sum(t) for t in tasks]
    for jobs, batch in ((1, 8), (2, 1), (2, 7), (2, 1000)):
        assert list(map_batched(_sum, iter(tasks), jobs=jobs, batch=batch)) == expected
    assert list(map_batched(_sum, [], jobs=2)) == []


def test_polygons_need_datasets_with_images(realdata: Path) -> None:
    results = cc.load(realdata / "coco_results/cocoapi-fakebbox100_results.json")
    with pytest.raises(cc.UsageError, match="instances, keypoints or stuff"):
        transforms.poly2rle(results)  # type: ignore[arg-type]


# --- the command line -------------------------------------------------------------------------


def test_cli_rle2poly_then_poly2rle(tmp_path: Path, realdata: Path) -> None:
    runner = CliRunner()
    src = realdata / PANOPTIC_RLE
    polygons, report = tmp_path / "polygons.json", tmp_path / "report.json"
    result = runner.invoke(
        main, ["rle2poly", str(src), "-o", str(polygons), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "rle2poly: 50 masks" in result.stderr
    assert "iou min: 1" in result.stderr
    saved = json.loads(report.read_text())
    assert saved["stats"]["iou_median"] == 1.0
    assert saved["counts"]["masks"] == 50
    back = tmp_path / "back.json"
    result = runner.invoke(main, ["poly2rle", str(polygons), "-o", str(back)])
    assert result.exit_code == 0, result.output
    original = json.loads(src.read_text())["annotations"]
    assert [a["segmentation"] for a in json.loads(back.read_text())["annotations"]] == [
        a["segmentation"] for a in original
    ]


def test_cli_refuses_to_overwrite_its_input(tmp_path: Path, realdata: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes((realdata / PANOPTIC_RLE).read_bytes())
    result = CliRunner().invoke(main, ["rle2poly", str(src), "-o", str(src)])
    assert result.exit_code == 2
    assert "would overwrite the input" in result.stderr
    assert src.read_bytes() == (realdata / PANOPTIC_RLE).read_bytes()


def test_cli_options_are_checked(tmp_path: Path, realdata: Path) -> None:
    args = ["rle2poly", str(realdata / PANOPTIC_RLE), "-o", str(tmp_path / "o.json")]
    result = CliRunner().invoke(main, [*args, "--tolerance", "-1"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, [*args, "--holes", "keep"])
    assert result.exit_code == 2
    assert not (tmp_path / "o.json").exists()


def test_empty_polygon_list_becomes_empty_rle_only_with_polygons() -> None:
    document = {
        "images": [{"id": 1, "file_name": "a.jpg", "height": 4, "width": 4}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": []}],
    }
    dataset = cc.from_document(document, kind="instances")
    converted, report = transforms.poly2rle(dataset)
    assert converted.annotations[0]["segmentation"] == []  # no segmentation stays none
    assert report.counts == {}
    assert np.all(g.rle_to_mask(g.to_rle([], 4, 4)) == 0)
