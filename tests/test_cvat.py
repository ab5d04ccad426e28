"""CVAT for images / video 1.1 XML: real exports, every shape, bad input, round trips, the
validator's C rules, and Datumaro's CVAT importer as the oracle."""

from __future__ import annotations

import json
import math
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

import coco_convert
from coco_convert import geometry
from coco_convert.cli import main
from coco_convert.converters.cvat import read_cvat, write_cvat
from coco_convert.converters.loss import ConversionError
from coco_convert.errors import InputError
from coco_convert.shapes import rotated_box_corners
from coco_convert.validate import Settings
from coco_convert.validate.runner import validate_target

from .conftest import FIXTURES, REALDATA
from .test_datumaro_interop import datumaro

CVAT = FIXTURES / "cvat"
IMAGES = CVAT / "cvat-images"
VIDEO = CVAT / "cvat-video"
DATUMARO_TASK = CVAT / "datumaro-task"
PROJECT = REALDATA / "cvat_xml" / "datumaro-cvat-project-annotations.xml"
CATDOG = REALDATA / "cvat_xml" / "cvat-app-catdog-annotations.xml"


def read(path: Path, **options: Any) -> tuple[dict[str, Any], Any]:
    datasets, report = read_cvat(path, **options)
    for dataset in datasets.values():
        dataset.validate()
    return datasets, report


def by_label(dataset: Any) -> dict[str, list[dict[str, Any]]]:
    names = {c["id"]: c["name"] for c in dataset.categories}
    found: dict[str, list[dict[str, Any]]] = {}
    for ann in dataset.annotations:
        found.setdefault(names[ann["category_id"]], []).append(ann)
    return found


# --- real exports ----------------------------------------------------------------------------


def test_project_export_gives_one_dataset_per_subset() -> None:
    datasets, report = read(PROJECT)
    assert list(datasets) == ["Test", "Train", "Validation"]
    for dataset in datasets.values():
        assert [i["file_name"] for i in dataset.images] == ["img0.jpg", "img1.jpg"]
        assert [(i["width"], i["height"]) for i in dataset.images] == [(8, 8), (10, 10)]
        found = by_label(dataset)
        (box, polygon) = found["label1"]
        assert box["bbox"] == [0, 2, 4, 2]
        # typed by the meta: checkbox -> bool, number -> number, text stays text ("0003")
        assert box["attributes"] == {
            "a1": True, "a2": "v3", "a3": "0003", "a4": 2.4, "occluded": True, "z_order": 1,
        }  # fmt: skip
        assert polygon["segmentation"] == [[1, 2, 3, 4, 6, 5]]
        (points,) = found["label2"]  # the points shape: keypoints "1".."3"
        assert points["keypoints"] == [1, 2, 2, 3, 4, 2, 5, 6, 2]
    assert report.losses["polyline"].count == 3
    assert report.counts["images"] == 6


def test_app_cvat_export_with_a_polyline_outline() -> None:
    datasets, report = read(CATDOG)
    (dataset,) = datasets.values()
    assert [c["name"] for c in dataset.categories] == ["cat", "dog"]
    (dog,) = dataset.annotations
    assert dog["bbox"] == [352.2, 63.3, 1954.3, 1779.7]
    assert report.losses["polyline"].count == 1
    assert "ends meet" in (report.losses["polyline"].examples[0].detail or "")
    datasets, report = read(CATDOG, polylines="polygons")
    cat = by_label(datasets["default"])["cat"][0]
    assert len(cat["segmentation"][0]) == 2 * 95  # its 95 points
    assert cat["shape"] == {"type": "polyline"}
    assert "polyline" not in report.losses


# --- every shape -----------------------------------------------------------------------------


def test_every_shape_of_the_images_fixture() -> None:
    datasets, report = read(IMAGES)
    dataset = datasets["Train"]
    assert dataset.kind == "keypoints"
    found = by_label(dataset)
    plain, rotated, grouped = found["car"]
    assert plain["bbox"] == [4.5, 6, 20, 10]
    assert plain["segmentation"] == []
    assert plain["attributes"]["color"] == "light grey"  # a choice with a space
    corners = rotated_box_corners(30, 20, 20, 10, 30, pivot="center")
    assert rotated["segmentation"] == [corners]
    assert rotated["attributes"]["rotation"] == 30
    assert rotated["area"] == 200
    assert grouped["segmentation"] == [[2, 30, 12, 30, 12, 40, 2, 40], [16, 30, 20, 30, 18, 40]]
    assert grouped["bbox"] == [2, 30, 18, 10]
    (wheel,) = found["wheel"]
    assert wheel["shape"] == {
        "type": "ellipse", "center": [10, 20], "radii": [4, 3], "rotation": 15,
    }  # fmt: skip
    assert wheel["area"] == pytest.approx(math.pi * 12)
    assert report.losses["ellipse_as_polygon"].count == 1
    (road,) = found["road"]
    assert road["segmentation"]["size"] == [48, 64]
    walking, standing = found["person"]
    assert walking["keypoints"] == [30, 5, 2, 31, 20, 1, 0, 0, 0]  # occluded 1, outside 0 0 0
    assert walking["bbox"] == [24, 3, 12, 35]  # the box of its group
    assert walking["num_keypoints"] == 2
    assert standing["bbox"] == [48, 6, 2.5, 34]  # no box: the points' extent
    person = next(c for c in dataset.categories if c["name"] == "person")
    assert person["keypoints"] == ["head", "hip", "foot"]
    assert person["skeleton"] == [[1, 2], [2, 3]]
    assert [c["name"] for c in dataset.categories] == [
        "car", "wheel", "road", "lane", "person", "night",
    ]  # fmt: skip
    assert dataset.images[0]["attributes"] == {"tags": [{"label": "night", "source": "manual"}]}
    assert report.losses["polyline"].count == 1


def cvat_mask(runs: list[int], left: int, top: int, width: int, height: int,
              image: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """CVAT's mask decoded pixel by pixel, as CVAT's own helpers describe it: runs over the
    mask's box, row by row, starting with background."""
    full = np.zeros(image, dtype=np.uint8)
    value, offset = 0, 0
    for run in runs:
        for _ in range(run):
            y, x = divmod(offset, width)
            full[top + y, left + x] = value
            offset += 1
        value = 1 - value
    return full


def test_masks_are_the_exact_pixels_as_pycocotools_sees_them() -> None:
    runs = [3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5,
            7, 7, 5, 3]  # fmt: skip
    datasets, _ = read(IMAGES)
    (road,) = by_label(datasets["Train"])["road"]
    expected = cvat_mask(runs, 40, 30, 13, 15, (48, 64))
    rle = {"size": [48, 64], "counts": road["segmentation"]["counts"].encode()}
    assert np.array_equal(coco_mask.decode(rle), expected)
    assert road["area"] == int(coco_mask.area(rle)) == int(expected.sum())
    assert road["bbox"] == coco_mask.toBbox(rle).tolist()
    # Datumaro's export: a mask over the whole image, with a hole
    datasets, _ = read(DATUMARO_TASK)
    mask = next(a for a in datasets["train"].annotations if isinstance(a["segmentation"], dict))
    decoded = geometry.rle_to_mask(mask["segmentation"])
    expected = np.zeros((60, 80), dtype=np.uint8)
    expected[10:20, 30:45] = 1
    expected[12:15, 33:36] = 0
    assert np.array_equal(decoded, expected)


def test_video_tracks_become_objects_per_frame() -> None:
    datasets, report = read(VIDEO)
    dataset = datasets["default"]
    assert [i["file_name"] for i in dataset.images] == [f"frame_{n:06d}.PNG" for n in range(5)]
    assert all((i["width"], i["height"]) == (96, 54) for i in dataset.images)
    cars = by_label(dataset)["car"]
    # frames 0-2 (1 interpolated), frame 3 is outside: nothing there
    assert [a["image_id"] for a in cars] == [1, 2, 3]
    assert [a["attributes"]["keyframe"] for a in cars] == [True, False, True]
    assert {a["attributes"]["track_id"] for a in cars} == {0}
    assert cars[1]["bbox"] == [15, 10, 20, 10]
    assert [a["image_id"] for a in by_label(dataset)["person"]] == [3, 4, 5]
    assert report.counts["tracks"] == 2


def test_points_of_varying_counts_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '<points label="p" points="1,1;2,2"/><points label="p" points="1,1"/>')
    datasets, report = read(path)
    assert not datasets["default"].annotations
    assert report.losses["points"].count == 2
    datasets, report = read(path, points="drop")
    assert report.losses["points"].count == 2


# --- bad input -------------------------------------------------------------------------------

HEAD = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>p</name></label></labels></task></meta>
  <image id="0" name="a.jpg" width="20" height="10">
"""


def write(folder: Path, shapes: str, name: str = "annotations.xml") -> Path:
    path = folder / name
    path.write_text(HEAD + shapes + "\n  </image>\n</annotations>\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ('<box label="p" xtl="nan" ytl="1" xbr="2" ybr="3"/>', "xtl='nan' is not a finite number"),
        ('<box label="p" xtl="1" ytl="1" xbr="2"/>', "<box> has no ybr= (a required attribute)"),
        ('<polygon label="p" points="1,1;NaN,2;3,3"/>', "holds a number that is not finite"),
        ('<polygon label="p" points="1,1;2"/>', "points= holds 3 numbers, not x,y pairs"),
        ('<polygon label="p"/>', "<polygon> has no points="),
        ('<box xtl="1" ytl="1" xbr="2" ybr="3"/>', "<box> has no label="),
        ('<mask label="p" rle="0, 4" left="18" top="0" width="4" height="1"/>',
         "reaches outside its 20 x 10 image 'a.jpg'"),
        ('<mask label="p" rle="1, 2" left="0" top="0" width="2" height="2"/>',
         "run lengths add up to 3 pixels, but its 2 x 2 box has 4"),
        ('<mask label="p" rle="1, x" left="0" top="0" width="2" height="1"/>',
         "is not run lengths"),
        ('<ellipse label="p" cx="1" cy="inf" rx="1" ry="1"/>', "cy='inf' is not a finite"),
    ],
)  # fmt: skip
def test_bad_shapes_are_refused_with_file_and_line(
    tmp_path: Path, shape: str, message: str
) -> None:
    path = write(tmp_path, "    <box label='p' xtl='1' ytl='1' xbr='2' ybr='3'/>\n    " + shape)
    with pytest.raises(InputError) as caught:
        read_cvat(path)
    assert caught.value.location.file == str(path)
    assert caught.value.location.line == 7  # the shape's own line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:7: ")


def test_entities_and_other_roots_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>\n'
        '<annotations><image id="0" name="&b;" width="1" height="1"/></annotations>\n'
    )
    with pytest.raises(InputError, match="refused: the XML declares 2 entities"):
        read_cvat(bomb)
    voc = tmp_path / "voc.xml"
    voc.write_text("<annotation><object/></annotation>")
    with pytest.raises(InputError, match=r"voc\.xml:1: the root element is <annotation>"):
        read_cvat(voc)
    truncated = tmp_path / "cut.xml"
    truncated.write_bytes((IMAGES / "annotations.xml").read_bytes()[:5000])
    with pytest.raises(InputError, match=r"cut\.xml:\d+: malformed XML"):
        read_cvat(truncated)


def test_strict_refuses_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, '<box label="p" xtl="3" ytl="1" xbr="2" ybr="3"/>')
    _, report = read(path)
    assert report.warnings["degenerate_box"].count == 1
    with pytest.raises(ConversionError, match="degenerate_box"):
        read_cvat(path, strict=True)


# --- round trips -----------------------------------------------------------------------------


def strip(document: dict[str, Any]) -> dict[str, Any]:
    """What a COCO -> CVAT -> COCO round trip must keep: images and objects."""
    return {"images": document["images"], "annotations": document["annotations"]}


@pytest.mark.parametrize("sample", [IMAGES, VIDEO, DATUMARO_TASK, PROJECT])
def test_cvat_coco_cvat_is_exact(sample: Path, tmp_path: Path) -> None:
    first, _ = read(sample)
    report = write_cvat(first, tmp_path / "again.xml")
    second, _ = read(tmp_path / "again.xml")
    assert list(second) == list(first)
    for name in first:
        before, after = first[name].document, second[name].document
        if sample == VIDEO:  # written back as keyframes (reported), nothing else changes
            assert "keyframe" in report.losses
            for ann in (*before["annotations"], *after["annotations"]):
                ann["attributes"].pop("keyframe")
        assert strip(after) == strip(before), name
        assert after["categories"] == before["categories"]


def test_coco_cvat_coco_is_exact_for_boxes_polygons_and_rle(tmp_path: Path) -> None:
    source = coco_convert.load(FIXTURES / "coco" / "instances.json")
    report = write_cvat(source, tmp_path / "out.xml")
    (again,) = read_cvat(tmp_path / "out.xml")[0].values()
    before = {a["id"]: a for a in source.annotations}
    assert len(again.annotations) == len(before)
    names = {c["id"]: c["name"] for c in source.categories}
    names_after = {c["id"]: c["name"] for c in again.categories}
    pairs = sorted(before.values(), key=lambda a: (a["image_id"], a["id"]))
    for old, new in zip(pairs, again.annotations, strict=True):
        assert names[old["category_id"]] == names_after[new["category_id"]]
        assert new["iscrowd"] == old["iscrowd"]
        if isinstance(old["segmentation"], dict):  # the crowd's uncompressed RLE
            assert new["segmentation"] == geometry.compress_rle(old["segmentation"])
        else:
            assert new["segmentation"] == old["segmentation"]  # polygons, float for float
    assert "multi_polygon" in report.losses  # the two-part polygon: a grouped pair, joined back
    keypoints = coco_convert.load(FIXTURES / "coco" / "person_keypoints.json")
    write_cvat(keypoints, tmp_path / "kp.xml")
    (back,) = read_cvat(tmp_path / "kp.xml")[0].values()
    old_kp = sorted(
        (a for a in keypoints.annotations if a.get("num_keypoints")),
        key=lambda a: (a["image_id"], a["id"]),
    )
    new_kp = [a for a in back.annotations if "keypoints" in a]
    assert [a["keypoints"] for a in new_kp] == [a["keypoints"] for a in old_kp]
    assert [a["bbox"] for a in new_kp] == [a["bbox"] for a in old_kp]
    assert back.categories[0]["keypoints"] == keypoints.categories[0]["keypoints"]
    assert back.categories[0]["skeleton"] == keypoints.categories[0]["skeleton"]


def test_pycocotools_loads_every_output(tmp_path: Path) -> None:
    for sample in (IMAGES, VIDEO, DATUMARO_TASK, PROJECT, CATDOG):
        datasets, _ = read(sample)
        for name, dataset in datasets.items():
            path = tmp_path / f"{sample.stem}-{name}.json"
            dataset.save(path)
            coco = COCO(str(path))
            for ann in coco.loadAnns(coco.getAnnIds()):
                if ann["segmentation"] or ann.get("iscrowd"):
                    assert coco.annToMask(ann).shape == (
                        coco.imgs[ann["image_id"]]["height"], coco.imgs[ann["image_id"]]["width"],
                    )  # fmt: skip


# --- the command line ------------------------------------------------------------------------


def test_cvat2coco_reads_the_zip_cvat_downloads(tmp_path: Path) -> None:
    archive = tmp_path / "task.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(IMAGES / "annotations.xml", "annotations.xml")
        zipped.writestr("images/cam1/000001.jpg", b"")
    runner = CliRunner()
    result = runner.invoke(main, ["cvat2coco", str(archive), "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "out.json").read_text())
    assert len(saved["annotations"]) == 7
    result = runner.invoke(
        main, ["convert", str(archive), "--to", "cvat", "-o", str(tmp_path / "again.xml")]
    )
    assert result.exit_code == 0, result.output
    assert read(tmp_path / "again.xml")[0]["Train"].annotations


# --- the validator -----------------------------------------------------------------------------

CASES = {
    "C001": '<box label="p" xtl="1" ytl="1" xbr="nan" ybr="3"/>',
    "C002": None,  # an image without a size: below
    "C003": '<box label="q" xtl="1" ytl="1" xbr="2" ybr="3"/>',
    "C004": '<box label="p" xtl="1" ytl="1" xbr="2" ybr="3"><attribute name="x">1</attribute>'
    "</box>",
    "C007": '<polygon label="p" points="1,1;2,2"/>',
}


def test_validate_names_cvat_problems_with_c_rules(tmp_path: Path) -> None:
    for code, shape in CASES.items():
        folder = tmp_path / code
        folder.mkdir()
        if shape is None:
            path = folder / "annotations.xml"
            path.write_text(HEAD.replace(' width="20" height="10"', "") + "</image></annotations>")
        else:
            path = write(folder, shape)
        (result,) = validate_target(path, Settings())
        assert result.format == "cvat"
        codes = [d.code for d in result.diagnostics]
        assert code in codes, (code, codes)
        located = next(d for d in result.diagnostics if d.code == code)
        assert located.location.file == str(path)
        if code != "C002":
            assert located.location.line == 6


def test_validate_typed_attributes_and_skeletons(tmp_path: Path) -> None:
    text = (IMAGES / "annotations.xml").read_text()
    text = text.replace('<attribute name="speed">42.5</attribute>',
                        '<attribute name="speed">fast</attribute>')  # fmt: skip
    text = text.replace('<attribute name="color">blue</attribute>',
                        '<attribute name="color">green</attribute>')  # fmt: skip
    text = text.replace('<points label="head" source="auto"', '<points label="ear" source="auto"')
    text = text.replace("data-node-from=&quot;", "data-node-from=&quot;")
    path = tmp_path / "annotations.xml"
    path.write_text(text)
    (result,) = validate_target(path, Settings())
    codes = {d.code for d in result.diagnostics}
    assert {"C005", "C006", "C009"} <= codes
    assert not codes & {"C001", "F004", "F003"}


def test_validate_video_problems(tmp_path: Path) -> None:
    text = (VIDEO / "annotations.xml").read_text()
    text = text.replace('<polygon frame="4"', '<polygon frame="9"')
    size = (
        "<original_size>\n        <width>96</width>\n        <height>54</height>\n      "
        "</original_size>"
    )
    text = text.replace(size, "")
    text = text.replace("<mode>interpolation</mode>", "<mode>annotation</mode>")
    text = text.replace("</track>\n</annotations>", (
        '</track>\n  <track id="2" label="car"><mask frame="1" keyframe="1" outside="0" '
        'rle="0, 1" left="0" top="0" width="1" height="1"/></track>\n</annotations>'
    ))  # fmt: skip
    path = tmp_path / "annotations.xml"
    path.write_text(text)
    (result,) = validate_target(path, Settings())
    codes = {d.code for d in result.diagnostics}
    assert {"C002", "C008", "C010", "C011"} <= codes, codes


def test_the_real_exports_validate_as_cvat() -> None:
    for path in (PROJECT, CATDOG):
        (result,) = validate_target(path, Settings())
        assert result.format == "cvat"
        assert [d.code for d in result.diagnostics] == []


# --- Datumaro's CVAT importer, the oracle ------------------------------------------------------


def with_images(xml: Path, root: Path) -> Path:
    """The XML in a folder with an (empty) file for every image it names: Datumaro's
    importer refuses an item whose image file is missing (the size comes from the XML)."""
    folder = root / "export"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(xml, folder / xml.name)
    for dataset in read_cvat(xml)[0].values():
        for image in dataset.images:
            target = folder / "images" / image["file_name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
    return folder


def ours(xml: Path) -> dict[str, Any]:
    """Our reading of ``xml`` in the terms the Datumaro script prints."""
    datasets, _ = read_cvat(xml, polylines="polygons")
    items: list[Any] = []
    for dataset in datasets.values():
        names = {c["id"]: c["name"] for c in dataset.categories}
        for image in dataset.images:
            anns = [a for a in dataset.annotations if a["image_id"] == image["id"]]
            items.append(
                {
                    "id": image["file_name"].rsplit(".", 1)[0],
                    "boxes": sorted(
                        [names[a["category_id"]], *[round(v, 2) for v in a["bbox"]]]
                        for a in anns
                        if a["segmentation"] == [] and "keypoints" not in a
                    ),
                    "polygons": sorted(
                        [names[a["category_id"]], [round(v, 2) for v in part]]
                        for a in anns
                        if isinstance(a["segmentation"], list) and "rotation" not in a["attributes"]
                        and a.get("shape", {}).get("type") != "ellipse"
                        for part in a["segmentation"]
                    ),
                    "masks": sorted(
                        [names[a["category_id"]], a["area"]]
                        for a in anns
                        if isinstance(a["segmentation"], dict)
                    ),
                }
            )  # fmt: skip
    return {"items": sorted(items, key=lambda i: i["id"])}


def theirs(found: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in found["details"]:
        items.append(
            {
                "id": item["id"],
                "boxes": sorted(b[:5] for b in item["boxes"] if not b[5]),
                "polygons": sorted(item["polygons"] + item["polylines"]),
                "masks": sorted(item["masks"]),
            }
        )
    return {"items": sorted(items, key=lambda i: i["id"])}


@pytest.mark.parametrize("xml", [IMAGES / "annotations.xml", DATUMARO_TASK / "train.xml"])
def test_datumaro_reads_what_we_read(xml: Path, tmp_path: Path) -> None:
    found = datumaro("cvat", with_images(xml, tmp_path), details=True)
    assert found["warnings"] == []
    mine, other = ours(xml), theirs(found)
    if xml.parent == IMAGES:
        # The differences: Datumaro keeps the box grouped with a skeleton as a box (we make
        # it the skeleton's bbox); it reads neither skeletons nor ellipses.
        item = next(i for i in other["items"] if i["id"] == "cam1/000002")
        item["boxes"].remove(["person", 24, 3, 12, 35])
    assert other == mine
    # Datumaro's labels include a skeleton's points as labels of their own; ours are keypoints
    (dataset,) = read_cvat(xml)[0].values()
    assert [c["name"] for c in dataset.categories] == [
        name for name in found["labels"] if name not in ("head", "hip", "foot")
    ]


def test_datumaro_reads_the_real_project_export_as_we_do(tmp_path: Path) -> None:
    found = datumaro("cvat", with_images(PROJECT, tmp_path), details=True)
    # Datumaro gives every subset's items: three subsets of two images
    assert found["items"] == 6
    assert found["annotations"] == {"bbox": 3, "polygon": 3, "points": 3, "polyline": 3}
    mine = ours(PROJECT)
    assert len(mine["items"]) == 6


def test_datumaro_imports_what_coco2cvat_writes(tmp_path: Path) -> None:
    source = coco_convert.load(FIXTURES / "coco" / "instances.json")
    xml = tmp_path / "written" / "annotations.xml"
    xml.parent.mkdir()
    write_cvat(source, xml)
    found = datumaro("cvat", with_images(xml, tmp_path), details=True)
    assert found["warnings"] == []
    assert found["items"] == len(source.images)
    # the two-part polygon is two grouped polygons, the crowd RLE a mask
    assert found["annotations"] == {"polygon": 9, "mask": 1}
    assert theirs(found) == ours(xml)
