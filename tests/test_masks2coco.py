"""masks2coco: VOC-style instance and class PNGs to COCO (palette PNGs written with Pillow in the
layout VOC uses: index 0 background, 255 void)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from coco_convert import geometry as g
from coco_convert.cli import main
from coco_convert.converters import masks
from coco_convert.converters.loss import LossReport
from coco_convert.dataset import CocoDataset
from coco_convert.errors import InputError, UsageError
from coco_convert.palette import voc_color

from .conftest import FIXTURES, REALDATA


def write_palette_png(path: Path, values: np.ndarray) -> None:
    image = Image.fromarray(values.astype(np.uint8), mode="P")
    palette = [c for i in range(256) for c in voc_color(i)]
    palette[255 * 3 : 256 * 3] = [224, 224, 192]
    image.putpalette(palette)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture
def voc(tmp_path: Path) -> Path:
    """Two images: a person (15) with a hole and a void border, two cats (8) apart, a dog (12)
    touching the image border."""
    cls = np.zeros((40, 50), dtype=np.uint8)
    obj = np.zeros_like(cls)
    cls[5:20, 5:20], obj[5:20, 5:20] = 15, 1
    cls[10:14, 10:14], obj[10:14, 10:14] = 0, 0  # hole
    cls[4, 5:20], obj[4, 5:20] = 255, 255  # void line
    cls[25:30, 30:35], obj[25:30, 30:35] = 8, 2
    cls[25:30, 40:45], obj[25:30, 40:45] = 8, 3
    write_palette_png(tmp_path / "SegmentationClass/a.png", cls)
    write_palette_png(tmp_path / "SegmentationObject/a.png", obj)
    cls2 = np.zeros((30, 20), dtype=np.uint8)
    cls2[0:10, 0:20] = 12
    write_palette_png(tmp_path / "SegmentationClass/b.png", cls2)
    write_palette_png(tmp_path / "SegmentationObject/b.png", (cls2 > 0).astype(np.uint8))
    (tmp_path / "JPEGImages").mkdir()
    Image.new("RGB", (50, 40)).save(tmp_path / "JPEGImages/a.jpg")
    Image.new("RGB", (20, 30)).save(tmp_path / "JPEGImages/b.jpg")
    return tmp_path


def _read(*args: Any, **kwargs: Any) -> tuple[CocoDataset[Any, Any], LossReport]:
    """read_masks' one split."""
    datasets, report = masks.read_masks(*args, **kwargs)
    (dataset,) = datasets.values()
    assert isinstance(dataset, CocoDataset)
    return dataset, report


def pixels(dataset: CocoDataset[Any, Any], index: int) -> np.ndarray:
    ann = dataset.annotations[index]
    image = dataset.images[ann["image_id"] - 1]
    return g.rle_to_mask(g.to_rle(ann["segmentation"], image["height"], image["width"]))


def test_class_masks_give_one_annotation_per_part(voc: Path) -> None:
    dataset, report = _read(voc / "SegmentationClass", labels="voc", images=voc / "JPEGImages")
    anns = dataset.annotations
    assert [(a["image_id"], a["category_id"]) for a in anns] == [(1, 8), (1, 8), (1, 15), (2, 12)]
    assert [img["file_name"] for img in dataset.images] == ["a.jpg", "b.jpg"]
    names = {c["id"]: c["name"] for c in dataset.categories}
    assert len(names) == 20  # every class the labels name, found in the masks or not
    assert (names[8], names[12], names[15]) == ("cat", "dog", "person")
    person = np.asarray(Image.open(voc / "SegmentationClass/a.png")) == 15
    assert np.array_equal(pixels(dataset, 2), person)  # exact, hole included
    assert anns[2]["area"] == int(person.sum()) == 15 * 15 - 16
    assert anns[2]["bbox"] == [5.0, 5.0, 15.0, 15.0]
    assert anns[3]["bbox"] == [0.0, 0.0, 20.0, 10.0]
    assert report.counts["void_pixels"] == 15
    assert report.stats["iou_min"] == 1.0


def test_instance_masks_take_their_class_from_the_class_masks(voc: Path) -> None:
    dataset, _ = _read(
        voc / "SegmentationObject", class_masks=voc / "SegmentationClass", labels="voc"
    )
    assert [a["category_id"] for a in dataset.annotations] == [15, 8, 8, 12]
    plain, report = _read(voc / "SegmentationObject")
    assert {a["category_id"] for a in plain.annotations} == {1}
    assert plain.categories == [{"id": 1, "name": "object", "supercategory": ""}]
    assert "file_names_assumed" in report.warnings


def test_rle_and_hole_options(voc: Path) -> None:
    dataset, _ = _read(voc / "SegmentationClass", rle=True)
    assert all(isinstance(a["segmentation"], dict) for a in dataset.annotations)
    kept, _ = _read(voc / "SegmentationClass", holes="rle")
    assert [isinstance(a["segmentation"], dict) for a in kept.annotations] == [
        False,
        False,
        True,
        False,
    ]
    filled, report = _read(voc / "SegmentationClass", holes="fill")
    assert report.stats["iou_min"] == pytest.approx((225 - 16) / 225)
    assert filled.annotations[2]["area"] == 225 - 16  # area stays the mask's
    small, report = _read(voc / "SegmentationClass", min_area=30)
    assert len(small.annotations) == 2
    assert report.losses["parts_below_min_area"].count == 2


def test_rgb_masks_need_colours(tmp_path: Path) -> None:
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[2:5, 2:5] = (128, 0, 0)  # label 1 of the real CVAT labelmap
    rgb[6:8, 6:8] = (1, 2, 3)  # not in the labelmap
    (tmp_path / "class").mkdir()
    Image.fromarray(rgb).save(tmp_path / "class/x.png")
    with pytest.raises(InputError, match="RGB"):
        masks.read_masks(tmp_path / "class")
    labelmap = REALDATA / "voc_xml/cvat-voc-cyrillic-labelmap.txt"
    dataset, report = _read(tmp_path / "class", labels=labelmap)
    assert [a["category_id"] for a in dataset.annotations] == [1]
    first = labelmap.read_text(encoding="utf-8").splitlines()[2].split(":")[0]
    assert dataset.categories[0]["name"] == first
    assert report.warnings["unknown_colour"].count == 4


def test_folder_name_or_kind(tmp_path: Path) -> None:
    write_palette_png(tmp_path / "masks/a.png", np.ones((3, 3)))
    with pytest.raises(UsageError, match="--kind"):
        masks.read_masks(tmp_path / "masks")
    dataset, _ = _read(tmp_path / "masks", kind="class")
    assert dataset.categories == [{"id": 1, "name": "1", "supercategory": ""}]
    with pytest.raises(InputError, match=r"no \.png"):
        masks.read_masks(tmp_path / "masks" / "..", kind="class")


def test_image_size_mismatch_is_an_error(voc: Path) -> None:
    Image.new("RGB", (10, 10)).save(voc / "JPEGImages/a.jpg")
    with pytest.raises(InputError, match="mask is 50 x 40 but its image"):
        masks.read_masks(voc / "SegmentationClass", images=voc / "JPEGImages")


def test_labels_file(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("background\nroad\n\ncar\n")
    assert [(lab.value, lab.name) for lab in masks.read_labels(tmp_path / "labels.txt")] == [
        (0, "background"),
        (1, "road"),
        (2, "car"),
    ]
    assert masks.read_labels("voc")[15].name == "person"
    assert masks.read_labels("voc")[15].color == (192, 128, 128)


def test_datumaro_labelmap_without_colours_means_the_voc_palette(tmp_path: Path) -> None:
    """Datumaro writes `cat:::` (no colour): its RGB masks use VOC's palette by index."""
    (tmp_path / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:::\ncat:::\n"
    )
    labels = masks.read_labels(tmp_path / "labelmap.txt")
    assert [(lab.value, lab.name, lab.color) for lab in labels] == [
        (0, "background", voc_color(0)),
        (1, "cat", voc_color(1)),
    ]
    voc = FIXTURES / "voc" / "datumaro-segmentation"  # RGB masks, such a labelmap.txt
    dataset, _ = _read(voc / "SegmentationClass", labels=voc / "labelmap.txt")
    assert [c["name"] for c in dataset.categories] == ["cat", "dog", "person"]
    assert {a["category_id"] for a in dataset.annotations} == {1, 2}  # the cat and the dog


def test_cli_masks2coco(voc: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "out.json", tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        [
            "masks2coco",
            str(voc / "SegmentationClass"),
            "-o",
            str(out),
            "--labels",
            "voc",
            "--images",
            str(voc / "JPEGImages"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 images, 4 annotations" in result.stderr
    assert len(json.loads(out.read_text())["annotations"]) == 4
    assert json.loads(report.read_text())["counts"]["annotations"] == 4
