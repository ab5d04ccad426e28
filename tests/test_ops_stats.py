"""stats: every number checked against pycocotools or a plain count; plots drawn."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import coco_convert
from coco_convert import UsageError
from coco_convert.cli import main
from coco_convert.ops import StatsCollector, stats
from coco_convert.ops.plots import PLOTS, draw_plots
from coco_convert.ops.statistics import collect

from .ops_cases import CAPTIONS, KEYPOINTS, LABELME, PANOPTIC, RESULTS, generate, pycoco


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "gen.json"
    return generate(path, "--images", "500", "--keypoints", "--crowd-frac", "0.05")


@pytest.mark.parametrize("which", ["generated", "labelme"])
def test_counts_match_pycocotools(which: str, generated: Path) -> None:
    dataset = coco_convert.load(generated if which == "generated" else LABELME)
    found = stats(dataset)
    coco = pycoco(dataset.document)
    assert [c["id"] for c in found["categories"]] == [c["id"] for c in dataset.categories]
    for row in found["categories"]:
        assert row["annotations"] == len(coco.getAnnIds(catIds=[row["id"]]))
        assert row["images"] == len(coco.getImgIds(catIds=[row["id"]]))
        assert row["crowd"] == len(coco.getAnnIds(catIds=[row["id"]], iscrowd=True))
        area = row["area"]
        assert area["small"] == len(coco.getAnnIds(catIds=[row["id"]], areaRng=[-1, 32**2]))
        assert area["large"] == len(
            coco.getAnnIds(catIds=[row["id"]], areaRng=[96**2 - 1e-9, 1e12])
        )
        assert sum(area.values()) == row["annotations"]
    anns = dataset.annotations
    per_image = Counter(a["image_id"] for a in anns)
    counts = [per_image.get(i["id"], 0) for i in dataset.images]
    assert found["images_without_annotations"] == counts.count(0)
    assert found["annotations_per_image"]["max"] == max(counts)
    assert found["annotations_per_image"]["mean"] == pytest.approx(np.mean(counts), rel=1e-5)
    widths = [a["bbox"][2] for a in anns if a["bbox"][2] > 0 and a["bbox"][3] > 0]
    assert found["boxes"]["width"]["median"] == pytest.approx(np.median(widths), rel=1e-5)
    assert found["boxes"]["count"] == len(anns)
    assert found["crowd"] == sum(1 for a in anns if a.get("iscrowd"))
    assert sum(found["segmentation"].values()) == len(anns)
    sizes = Counter((i["width"], i["height"]) for i in dataset.images)
    assert found["image_sizes"]["most_common"][0] == {
        "width": sizes.most_common(1)[0][0][0],
        "height": sizes.most_common(1)[0][0][1],
        "images": sizes.most_common(1)[0][1],
    }


def test_keypoint_visibility(generated: Path) -> None:
    dataset = coco_convert.load(generated)
    found = stats(dataset)["keypoints"]
    values = Counter(
        v for a in dataset.annotations if "keypoints" in a for v in a["keypoints"][2::3]
    )
    assert found["visibility"] == {"v0": values[0], "v1": values[1], "v2": values[2]}
    (person,) = found["categories"]
    assert [p["name"] for p in person["points"]][:2] == ["nose", "left_eye"]
    nose = Counter(a["keypoints"][2] for a in dataset.annotations if "keypoints" in a)
    assert person["points"][0] == {"name": "nose", "v0": nose[0], "v1": nose[1], "v2": nose[2]}
    assert found["labelled"] == sum(
        a["num_keypoints"] for a in dataset.annotations if "keypoints" in a
    )


def test_other_kinds() -> None:
    captions = stats(coco_convert.load(CAPTIONS))
    assert captions["caption_words"]["max"] == 1
    panoptic = stats(coco_convert.load(PANOPTIC))
    assert panoptic["segments"] == sum(
        len(a["segments_info"]) for a in coco_convert.load(PANOPTIC).annotations
    )
    results = stats(coco_convert.load(RESULTS))
    assert results["results"] == len(coco_convert.load(RESULTS).results)
    assert results["scores"]["max"] <= 1
    assert all(set(c) == {"id", "results", "images"} for c in results["categories"])
    real = stats(coco_convert.load(KEYPOINTS))
    assert real["keypoints"]["annotations"] == 2


def test_batches_give_the_same_statistics(generated: Path) -> None:
    """What a streaming reader would do: feed the records in chunks."""
    dataset = coco_convert.load(generated)
    collector = StatsCollector(dataset.kind)
    collector.add_categories(dataset.categories)
    for start in range(0, len(dataset.images), 77):
        collector.add_images(dataset.images[start : start + 77])
    for start in range(0, len(dataset.annotations), 501):
        collector.add_annotations(dataset.annotations[start : start + 501])
    assert collector.result() == stats(dataset)


def test_plots(tmp_path: Path, generated: Path) -> None:
    dataset = coco_convert.load(generated)
    collector = collect(dataset)
    written = draw_plots(collector, collector.result(), tmp_path / "plots")
    assert sorted(p.name for p in written) == sorted(PLOTS)
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size[0] >= 400


def test_plots_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    collector = collect(coco_convert.load(LABELME))
    with pytest.raises(UsageError, match=r"pip install 'coco-convert\[plots\]'"):
        draw_plots(collector, collector.result(), tmp_path)


def test_cli_json_and_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["stats", "--json", str(LABELME), "--plots", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    person = next(c for c in found["categories"] if c["name"] == "person")
    assert {"id", "name", "annotations", "images", "crowd", "area"} <= set(person)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(PLOTS)
    text = CliRunner().invoke(main, ["stats", str(LABELME)])
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert any(line.split()[:2] == ["15", "person"] for line in lines)
    assert any(line.strip().startswith("box width") for line in lines)
    assert "area (COCO): small" in text.stdout


def test_plots_are_written_all_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    drawn: list[str] = []
    real = Figure.savefig

    def failing(self: Any, *args: Any, **kwargs: Any) -> None:
        drawn.append("plot")
        if len(drawn) == 3:
            raise RuntimeError("disk full")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", failing)
    collector = collect(coco_convert.load(LABELME))
    with pytest.raises(RuntimeError, match="disk full"):
        draw_plots(collector, collector.result(), tmp_path / "plots")
    assert not (tmp_path / "plots").exists() or not any((tmp_path / "plots").iterdir())
