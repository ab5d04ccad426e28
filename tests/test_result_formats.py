"""Formats that were refused or mishandled on real files (issue 16): caption results, rle2poly
on segmentation results, empty results, and what box-only COCO and VOC look like."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from pycocotools import mask as mask_utils

import coco_convert
from coco_convert.cli import main
from coco_convert.converters.voc import render_labelmap
from coco_convert.converters.yolo import read_yolo, write_yolo
from coco_convert.dataset import ResultsDataset
from coco_convert.transforms import rle2poly

from .conftest import FIXTURES
from .yolo_cases import make_images

CAPTIONS = [
    {"image_id": 397133, "caption": "A man is in a kitchen making pizzas."},
    {"image_id": 397133, "caption": "a man cooking in a small kitchen"},
]


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_caption_results_are_results(tmp_path: Path) -> None:
    path = tmp_path / "captions_results.json"
    path.write_text(json.dumps(CAPTIONS))
    dataset = coco_convert.load(path)
    assert isinstance(dataset, ResultsDataset)
    assert dataset.get_img_ids() == [397133]
    code, out, _ = run("info", "--json", path)
    assert code == 0
    assert json.loads(out)["geometry"] == {"caption": 2}
    code, out, _ = run("validate", path)
    assert (code, out.strip()) == (0, "All checks passed (1 file).")
    # what pycocotools does with them: COCO.loadRes takes a caption list as captions
    gt = coco_convert.load(FIXTURES / "coco" / "captions.json")
    coco = coco_convert.to_pycocotools(coco_convert.load(path), gt=gt)
    assert len(coco.anns) == 2


def test_results_are_detections_or_captions_never_half_of_each(tmp_path: Path) -> None:
    mixed = [{**CAPTIONS[0], "category_id": 1, "score": 0.5, "bbox": [1, 2, 3, 4]}, CAPTIONS[1]]
    assert isinstance(coco_convert.load(json.dumps(mixed).encode()), ResultsDataset)  # a caption
    for broken, message in (
        ([{"image_id": 1}], "missing required key 'category_id'"),
        ([{"image_id": 1, "caption": 7}], "/0/caption: expected a string, got 7"),
    ):
        path = tmp_path / "r.json"
        path.write_text(json.dumps(broken))
        code, _, err = run("info", path)
        assert code == 1
        assert message in err


def test_rle2poly_on_segmentation_results(tmp_path: Path) -> None:
    source = FIXTURES / "coco" / "results_segm.json"
    results = coco_convert.load(source)
    converted, report = rle2poly(results)
    assert isinstance(converted, ResultsDataset)
    assert report.counts["masks"] == len(results.results)
    assert report.stats["iou_min"] == 1.0
    for before, after in zip(results.results, converted.results, strict=True):
        rle = before["segmentation"]
        h, w = rle["size"]  # type: ignore[index]
        pixels = mask_utils.frPyObjects(after["segmentation"], h, w)
        again = mask_utils.decode(mask_utils.merge(pixels))
        expected = mask_utils.decode({"size": [h, w], "counts": rle["counts"].encode()})  # type: ignore[index]
        assert np.array_equal(again, expected)
        assert {k: v for k, v in after.items() if k != "segmentation"} == {
            k: v for k, v in before.items() if k != "segmentation"
        }
    out = tmp_path / "polygons.json"
    code, _, err = run("rle2poly", source, "-o", out)
    assert code == 0, err
    assert all(isinstance(r["segmentation"], list) for r in json.loads(out.read_text()))
    code, _, err = run("poly2rle", out, "-o", tmp_path / "back.json")
    assert code == 2
    assert "results carry no image sizes" in err


def test_empty_results_are_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("[]")
    code, out, _ = run("validate", path)
    assert code == 0
    assert f"{path}: D002 the results list is empty" in out


def test_box_only_coco_has_an_empty_segmentation(tmp_path: Path) -> None:
    code, _, err = run(
        "voc2coco",
        FIXTURES / "voc" / "labelimg",
        "--coords",
        "zero-based",
        "-o",
        tmp_path / "v.json",
    )
    assert code == 0, err
    annotations = json.loads((tmp_path / "v.json").read_text())["annotations"]
    assert annotations
    assert [list(a)[:5] for a in annotations] == [
        ["id", "image_id", "category_id", "segmentation", "bbox"]
    ] * len(annotations)
    assert all(a["segmentation"] == [] for a in annotations)

    dataset = coco_convert.load(FIXTURES / "coco" / "person_keypoints.json")
    for task in ("detect", "pose"):
        write_yolo({"val": dataset}, tmp_path / task, task=task,  # type: ignore[arg-type]
                   images=make_images(dataset, tmp_path / "p"), image_mode="copy")  # fmt: skip
        (back,) = read_yolo(tmp_path / task / "data.yaml", split="val")[0].values()
        assert back.annotations
        assert all(a["segmentation"] == [] for a in back.annotations)


def test_labelmap_for_datumaro_and_cvat(tmp_path: Path) -> None:
    assert render_labelmap(["cat", "kite"]) == (
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:128,0,0::\nkite:0,128,0::\n"
    )
    code, _, err = run("coco2voc", FIXTURES / "coco" / "instances.json", "-o", tmp_path / "voc")
    assert code == 0, err
    lines = (tmp_path / "voc" / "labelmap.txt").read_text().splitlines()
    assert lines[2] == "person:128,0,0::"
    assert len(lines) == 2 + 80
    assert (tmp_path / "voc" / "labels.txt").read_text().splitlines()[0] == "person"
