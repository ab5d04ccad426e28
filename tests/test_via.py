"""VIA 2: the real exports, the three layouts VIA saves, the class attribute, ellipses, image
sizes from the images, and bad input refused at its place."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from coco_convert import geometry, shapes
from coco_convert.cli import main
from coco_convert.converters.via import read_via
from coco_convert.errors import InputError, UsageError

from .conftest import FIXTURES, REALDATA

VGG = FIXTURES / "via" / "vgg"
REAL = REALDATA / "via_json"


def read(path: Path, **options: Any) -> tuple[Any, Any]:
    datasets, report = read_via(path, **options)
    return datasets["default"], report


def images_for(path: Path, folder: Path, size: tuple[int, int] = (1024, 768)) -> Path:
    """A blank image for every file a VIA file names (the real exports come without theirs)."""
    folder.mkdir(parents=True, exist_ok=True)
    document = json.loads(path.read_text())
    entries = document.get("_via_img_metadata", document)
    for entry in entries.values():
        Image.new("RGB", size).save(folder / entry["filename"])
    return folder


def test_the_three_layouts_vgg_saves_give_the_same_dataset() -> None:
    project, report = read(VGG / "via_project.json")
    export, _ = read(VGG / "via_project_json.json")
    rows, _ = read(VGG / "via_project_csv.csv")
    assert export.document == rows.document | {"info": export.document["info"]}
    named = [
        {**a, "category_id": c["name"].lower()}
        for dataset in (project, export)
        for a in dataset.annotations
        for c in dataset.categories
        if c["id"] == a["category_id"]
    ]
    assert named[: len(named) // 2] == named[len(named) // 2 :]
    # the project names the option 'person' by its description, 'Person', as VIA's COCO export
    assert [c["name"] for c in project.categories] == ["Person", "car", "sign", "wheel"]
    assert [c["name"] for c in export.categories] == ["car", "person", "sign", "wheel"]
    assert project.images == [
        {"id": 1, "file_name": "street.png", "width": 160, "height": 120,
         "attributes": {"weather": "rain"}},
        {"id": 2, "file_name": "park.jpg", "width": 128, "height": 96},
    ]  # fmt: skip
    assert report.losses["points"].count == 1
    assert report.losses["polylines"].count == 1
    (no_label,) = report.warnings["no_label"].examples
    assert str(no_label.location).endswith(
        "via_project.json:/_via_img_metadata/street.png666/regions/6"
    )


def test_each_region_shape() -> None:
    dataset, _ = read(VGG / "via_project_json.json")
    rect, polygon, circle, ellipse, dragged_back = dataset.annotations
    assert (rect["bbox"], rect["segmentation"], rect["area"]) == ([10, 10, 40, 30], [], 1200)
    assert rect["attributes"] == {"occluded": {"yes": True}}
    assert polygon["segmentation"] == [[20, 60, 60, 55, 70, 90, 25, 95]]
    assert polygon["bbox"] == [20, 55, 50, 40]
    assert circle["shape"] == {"type": "ellipse", "center": [90, 35], "radii": [20, 20],
                               "rotation": 0.0}  # fmt: skip
    assert circle["bbox"] == pytest.approx([70, 15, 40, 40])
    assert ellipse["shape"]["radii"] == [20, 10]
    assert dragged_back["bbox"] == [20, 10, 40, 30]


def test_rotated_ellipse_theta_is_clockwise_radians(tmp_path: Path) -> None:
    entry = {"filename": "a.png", "size": -1, "file_attributes": {}, "regions": [
        {"shape_attributes": {"name": "ellipse", "cx": 50, "cy": 40, "rx": 30, "ry": 10,
                              "theta": math.pi / 6}, "region_attributes": {"class": "eye"}},
    ]}  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"a.png-1": entry}))
    Image.new("RGB", (100, 80)).save(tmp_path / "a.png")
    dataset, _ = read(path)
    (ann,) = dataset.annotations
    assert ann["shape"]["rotation"] == pytest.approx(30.0)
    exact = geometry.mask_to_rle(shapes.ellipse_mask(shapes.Ellipse(50, 40, 30, 10, 30), 80, 100))
    polygon = geometry.to_rle(ann["segmentation"], 80, 100)
    assert geometry.iou(exact, polygon) > 0.97  # inscribed, within 0.25 px of the curve
    # VIA's own points of the same ellipse (via.js, its polygon approximation) lie on it
    t = math.radians(90)
    x = 50 + 30 * math.cos(t) * math.cos(math.pi / 6) - 10 * math.sin(t) * math.sin(math.pi / 6)
    y = 40 + 30 * math.cos(t) * math.sin(math.pi / 6) + 10 * math.sin(t) * math.cos(math.pi / 6)
    assert (x, y) == pytest.approx((45.0, 48.660254), abs=1e-6)  # below-left: clockwise


def test_real_region_export_without_classes(tmp_path: Path) -> None:
    path = REAL / "via-fire-via_region_data.json"
    with pytest.raises(InputError) as error:
        read(path)
    assert "VIA keeps no image sizes, and 11 of 11 images have none" in str(error.value)
    assert "pass --images DIR" in str(error.value)
    images = images_for(path, tmp_path / "images", (4000, 3000))
    dataset, report = read(path, images=images)
    assert [c["name"] for c in dataset.categories] == ["object"]
    assert report.warnings["no_label_attribute"].count == 1
    # three polygons of this real export have no points at all
    assert [str(e.detail) for e in report.warnings["too_few_points"].examples] == [
        "a polygon with 0 points"
    ] * 3
    assert "region_outside_image" not in report.warnings
    document = json.loads(path.read_text())
    first = next(iter(document.values()))["regions"][0]["shape_attributes"]
    flat = [v for xy in zip(first["all_points_x"], first["all_points_y"], strict=True) for v in xy]
    assert dataset.annotations[0]["segmentation"] == [flat]
    assert len(dataset.annotations) == sum(len(e["regions"]) for e in document.values()) - 3


def test_real_project_with_a_radio_attribute_and_no_regions(tmp_path: Path) -> None:
    path = REAL / "via2-project-empty-regions.json"
    dataset, report = read(path, images=images_for(path, tmp_path / "images"))
    assert (len(dataset.images), len(dataset.annotations)) == (1, 0)
    assert report.stats["label_attribute"] == "number"  # the project's only region attribute
    assert list(report.warnings) == ["file_size_differs"]  # (our stand-in image)


def _export(tmp_path: Path, regions: Any, attributes: dict[str, Any] | None = None) -> Path:
    Image.new("RGB", (50, 40)).save(tmp_path / "a.png")
    metadata = {"a.png-1": {"filename": "a.png", "size": -1, "regions": regions,
                            "file_attributes": {}}}  # fmt: skip
    document: dict[str, Any] = metadata
    if attributes is not None:
        document = {"_via_settings": {}, "_via_img_metadata": metadata,
                    "_via_attributes": {"region": attributes, "file": {}}}  # fmt: skip
    path = tmp_path / "via.json"
    path.write_text(json.dumps(document))
    return path


def _rect(**values: Any) -> dict[str, Any]:
    return {"shape_attributes": {"name": "rect", "x": 1, "y": 2, "width": 3, "height": 4},
            "region_attributes": values}  # fmt: skip


def test_which_attribute_names_the_class(tmp_path: Path) -> None:
    path = _export(tmp_path, [_rect(kind="dog", label="cat", colour="red")])
    dataset, _ = read(path)
    assert [c["name"] for c in dataset.categories] == ["cat"]  # 'label' before the others
    assert dataset.annotations[0]["attributes"] == {"kind": "dog", "colour": "red"}
    dataset, _ = read(path, label_attribute="kind")
    assert [c["name"] for c in dataset.categories] == ["dog"]
    with pytest.raises(UsageError, match="'size' is not a region attribute"):
        read(path, label_attribute="size")
    path = _export(tmp_path, [_rect(species={"a": True, "b": True})],
                   {"species": {"type": "checkbox", "options": {"a": "Ant", "b": ""}}})  # fmt: skip
    dataset, report = read(path)
    assert [c["name"] for c in dataset.categories] == ["Ant"]
    assert report.warnings["several_labels"].count == 1


def test_regions_as_an_object_and_csv_rows(tmp_path: Path) -> None:
    path = _export(tmp_path, {"0": _rect(label="cat"), "1": _rect(label="")})
    dataset, report = read(path)
    assert len(dataset.annotations) == 1
    (example,) = report.warnings["no_label"].examples
    assert example.location.pointer == "/a.png-1/regions/1"
    csv = (VGG / "via_project_csv.csv").read_text().splitlines()
    broken = tmp_path / "via.csv"
    shutil.copy(VGG / "street.png", tmp_path / "street.png")
    shutil.copy(VGG / "park.jpg", tmp_path / "park.jpg")
    broken.write_text("\n".join([*csv[:3], 'street.png,666,"{}",1,0,"{oops}","{}"', *csv[3:]]))
    dataset, report = read(broken)
    (row,) = report.warnings["bad_csv_row"].examples
    assert row.location.line == 4


def test_bad_input_is_refused_at_its_place(tmp_path: Path) -> None:
    path = _export(tmp_path, [{"shape_attributes": {"name": "rect", "x": 1e999, "y": 0,
                                                     "width": 1, "height": 1}}])  # fmt: skip
    path.write_text(path.read_text().replace("Infinity", "1e999"))
    with pytest.raises(InputError) as error:
        read(path)
    assert error.value.location.line == 1  # (JSON has no infinity: a syntax error)
    path.write_text('{"a.png-1": {"filename": "a.png", "size": -1, "regions": 7}}')
    with pytest.raises(InputError, match=r"/a\.png-1/regions: regions is neither"):
        read(path)
    (tmp_path / "x.csv").write_text("name,x\n")
    with pytest.raises(InputError, match="not a VIA CSV export"):
        read(tmp_path / "x.csv")


def test_file_size_and_problems_become_findings(tmp_path: Path) -> None:
    regions = [
        {"shape_attributes": {"name": "polygon", "all_points_x": [1, 2], "all_points_y": [1, 2]},
         "region_attributes": {"label": "a"}},
        {"shape_attributes": {"name": "rect", "x": 40, "y": 30, "width": 30, "height": 30},
         "region_attributes": {"label": "a"}},
    ]  # fmt: skip
    path = _export(tmp_path, regions)
    document = json.loads(path.read_text())
    document["a.png-1"]["size"] = 12
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert f"{path}:/a.png-1/regions/0: A004 a polygon with 2 points" in result.output
    assert f"{path}:/a.png-1/regions/1: A006 outside the 50 x 40 image" in result.output
    assert f"{path}:/a.png-1: A011 'a.png': VIA recorded 12 bytes" in result.output
    assert "F004" not in result.output


def test_validate_passes_images_to_the_reader(tmp_path: Path) -> None:
    path = REAL / "via-fire-via_region_data.json"
    without = CliRunner().invoke(main, ["validate", str(path)])
    assert without.exit_code == 1
    assert "A001" in without.output
    assert "pass --images DIR" in without.output
    images = images_for(path, tmp_path / "images", (4000, 3000))
    given = CliRunner().invoke(main, ["validate", str(path), "--images", str(images)])
    assert "A001" not in given.output
    # past the sizes, the reader's findings: the three polygons without points
    assert given.output.count("A004 a polygon with 0 points") == 3
