"""Pascal VOC and ImageNet ILSVRC <-> COCO: real tool output, real exports, bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from coco_convert.cli import main
from coco_convert.converters import voc as voc_module
from coco_convert.converters.loss import ConversionError, LossReport
from coco_convert.converters.voc import (
    load_labels,
    load_synsets,
    parse_voc_xml,
    read_index_png,
    read_voc,
    write_voc,
)
from coco_convert.dataset import InstancesDataset, from_document, load
from coco_convert.errors import InputError, UsageError
from coco_convert.palette import VOC_CLASSES, voc_palette

from .conftest import FIXTURES, REALDATA

VOC = FIXTURES / "voc"
IMAGENET = FIXTURES / "imagenet"
REAL = REALDATA / "voc_xml"


def _xml(
    objects: str = "", size: str = "<width>100</width><height>80</height>", name: str = "a.jpg"
) -> bytes:
    return (
        f"<annotation><filename>{name}</filename><size>{size}</size>{objects}</annotation>"
    ).encode()


def _obj(name: str, box: tuple[Any, Any, Any, Any], extra: str = "") -> str:
    xmin, ymin, xmax, ymax = box
    return (
        f"<object><name>{name}</name>{extra}<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _read(*args: Any, **kwargs: Any) -> tuple[InstancesDataset, LossReport]:
    """read_voc's one split."""
    datasets, report = read_voc(*args, **kwargs)
    (dataset,) = datasets.values()
    assert isinstance(dataset, InstancesDataset)
    return dataset, report


def _boxes(dataset: InstancesDataset) -> list[list[float]]:
    return [ann["bbox"] for ann in dataset.annotations]


# --- parsing: pure ----------------------------------------------------------------------------


def test_parse_reads_fields_flags_and_cvat_attributes() -> None:
    voc = parse_voc_xml(
        _xml(
            _obj(
                "dog",
                (1, 2, 30, 40),
                "<pose>Left</pose><truncated>1</truncated><difficult>0</difficult>"
                "<attributes><attribute><name>rotation</name><value>0.0</value></attribute>"
                "<attribute><name>color</name><value>brown</value></attribute></attributes>",
            )
        ),
        "a.xml",
    )
    assert (voc.filename, voc.width, voc.height) == ("a.jpg", 100, 80)
    (obj,) = voc.objects
    assert obj.name == "dog"
    assert obj.box == (1, 2, 30, 40)
    assert obj.attributes == {
        "pose": "Left",
        "truncated": 1,
        "difficult": 0,
        "rotation": 0.0,
        "color": "brown",
    }


def test_parse_empty_elements_as_labelme2voc_writes_them() -> None:
    # labelme's labelme2voc.py writes <pose/>, <truncated/>, <difficult/> and float corners
    voc = parse_voc_xml(_xml(_obj("cat", ("1.5", "2.0", "30.25", "40.0"), "<pose/><truncated/>")))
    (obj,) = voc.objects
    assert obj.box == (1.5, 2.0, 30.25, 40.0)
    assert obj.attributes == {}


def test_parse_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<annotation><filename>&xxe;</filename></annotation>"
    ).encode()
    with pytest.raises(InputError) as caught:
        parse_voc_xml(data, "evil.xml")
    message = str(caught.value)
    assert message.startswith("evil.xml: refused: the XML declares an external entity 'xxe'")
    assert "TOPSECRET" not in message


def test_parse_entity_expansion_bomb_is_refused() -> None:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    data = (
        f"<?xml version='1.0'?><!DOCTYPE annotation [{''.join(entities)}]>"
        "<annotation><filename>&lol9;</filename></annotation>"
    ).encode()
    with pytest.raises(InputError, match=r"bomb\.xml: refused: the XML declares 10 entities"):
        parse_voc_xml(data, "bomb.xml")


def test_parse_malformed_xml_names_file_and_line() -> None:
    data = b"<annotation>\n<filename>a.jpg</filename>\n<object><name>cat</object>\n</annotation>"
    with pytest.raises(InputError, match=r"^bad\.xml:3: malformed XML: .*name") as caught:
        parse_voc_xml(data, "bad.xml")
    assert "Traceback" not in str(caught.value)


def test_parse_wrong_root_and_bad_size() -> None:
    with pytest.raises(InputError, match=r"x\.xml:1: not a Pascal VOC annotation.*<root>"):
        parse_voc_xml(b"<root/>", "x.xml")
    with pytest.raises(InputError, match=r"x\.xml:1: <width> is 'wide'"):
        parse_voc_xml(_xml(size="<width>wide</width>"), "x.xml")


def test_parse_unusable_box_is_kept_with_its_reason() -> None:
    voc = parse_voc_xml(_xml(_obj("cat", (1, 2, "nan", 4))))
    assert voc.objects[0].box is None
    assert voc.objects[0].problem == "<xmax> is 'nan', not a number"


# --- labels and synsets -----------------------------------------------------------------------


def test_load_labels_reads_plain_lists_and_cvat_labelmap(tmp_path: Path) -> None:
    plain = _write(tmp_path, "labels.txt", b"# classes\ncat\n\ndog\n")
    assert load_labels(plain) == ["cat", "dog"]
    assert load_labels(REAL / "cvat-voc-cyrillic-labelmap.txt") == [
        "Кесадилья с курицей",  # noqa: RUF001
        "Поднос",
        "Салфетки",
        "Тарелка",
    ]
    twice = _write(tmp_path, "twice.txt", b"cat\ndog\ncat\n")
    with pytest.raises(InputError, match="'cat' is listed twice"):
        load_labels(twice)


def test_load_synsets_sorts_and_checks(tmp_path: Path) -> None:
    mapping = load_synsets(IMAGENET / "LOC_synset_mapping.txt")
    assert list(mapping) == sorted(mapping)
    assert mapping["n01440764"] == "tench, Tinca tinca"
    bad = _write(tmp_path, "m.txt", b"n01440764 tench\nfish tench\n")
    with pytest.raises(InputError, match=r"m\.txt:2: 'fish' is not a WordNet synset id"):
        load_synsets(bad)


# --- voc2coco on real data --------------------------------------------------------------------


def test_official_voc_annotation_one_based(realdata: Path) -> None:
    dataset, report = _read(REAL / "mmdet-VOC2012-000001.xml")
    dataset.validate()
    # <xmin>139 <ymin>200 <xmax>207 <ymax>301, 1-based inclusive (the VOC devkit)
    assert _boxes(dataset) == [[138, 199, 69, 102]]
    assert dataset.annotations[0]["area"] == 69 * 102
    assert [c["name"] for c in dataset.categories] == list(VOC_CLASSES)
    assert dataset.annotations[0]["category_id"] == VOC_CLASSES.index("train") + 1
    assert dataset.images == [{"id": 1, "file_name": "000002.jpg", "width": 335, "height": 500}]
    # the file is 000001.xml naming 000002.jpg: kept, and said
    assert "filename_differs" in report.warnings
    assert report.losses["image_metadata"].count == 1


def test_cvat_voc_export_cyrillic_floats_zero_based(realdata: Path) -> None:
    dataset, report = _read(
        REAL / "cvat-voc-cyrillic-photo_2022-03-20_15-48-44.xml",
        coords="zero-based",
        labels=REAL / "cvat-voc-cyrillic-labelmap.txt",
    )
    dataset.validate()
    assert dataset.categories[0]["name"] == "Кесадилья с курицей"  # noqa: RUF001
    first = dataset.annotations[0]
    assert first["bbox"] == [87.5, 437.7, 287.4, 240.4]  # no 287.40000000000003
    assert first["attributes"] == {"truncated": 0, "occluded": 0, "difficult": 0, "rotation": 0.0}
    assert not report.warnings.keys() - {"filename_differs"}
    # read as one-based, fractional coordinates are called out
    _, one_based = _read(REAL / "cvat-voc-cyrillic-photo_2022-03-20_15-48-44.xml")
    assert one_based.warnings["fractional_one_based"].count == 4


def test_labelimg_verified_attribute_and_absolute_path(realdata: Path) -> None:
    dataset, _ = _read(REAL / "labelimg-raccoon-1.xml", coords="zero-based")
    assert _boxes(dataset) == [[81, 88, 441, 320]]
    assert [c["name"] for c in dataset.categories] == ["raccoon"]


def test_labelimg_fixture_size_zero_read_from_image_header() -> None:
    dataset, report = _read(VOC / "labelimg", coords="zero-based")
    dataset.validate()
    sizes = {img["file_name"]: (img["width"], img["height"]) for img in dataset.images}
    # broken_size.xml has <width>0</width>: the JPEG beside it is 40 x 30
    assert sizes == {"broken_size.jpg": (40, 30), "cat.jpg": (64, 48)}
    assert report.warnings["no_size"].count == 1
    assert str(report.warnings["no_size"].examples[0]).endswith(
        "read from " + str(VOC / "labelimg" / "broken_size.jpg")
    )
    # LabelImg clamps xmin/ymin to 1 and truncates the corners it draws: zero-based
    assert _boxes(dataset)[1:] == [[1, 1, 19, 14], [30, 20, 33, 27]]
    assert dataset.annotations[2]["attributes"]["difficult"] == 1


def test_missing_image_for_size_is_a_warning_and_no_size(tmp_path: Path) -> None:
    """No <size> and no image to read it from: the image has no width and height (COCO
    allows that; writers that need sizes say so), and the report says where to look."""
    shutil.copy(VOC / "labelimg" / "broken_size.xml", tmp_path)
    dataset, report = _read(tmp_path)
    assert "width" not in dataset.images[0]
    assert "height" not in dataset.images[0]
    dataset.validate()
    (example,) = report.warnings["no_size"].examples
    assert example.location.file == str(tmp_path / "broken_size.xml")
    assert "the image is not at" in str(example.detail)
    assert "--images" in str(example.detail)
    with pytest.raises(ConversionError, match="no_size"):
        _read(tmp_path, strict=True)


def test_label_studio_converter_voc_output() -> None:
    dataset, report = _read(VOC / "label-studio" / "Annotations", coords="zero-based")
    dataset.validate()
    # label-studio-converter: xmin = int(x% * W), xmax = xmin + int(w% * W)
    assert _boxes(dataset) == [[2, 1, 20, 9], [32, 24, 31, 23]]
    assert report.losses["image_metadata"].count == 1


@pytest.mark.parametrize(
    ("folder", "coords"),
    [("datumaro-zero-based", "zero-based"), ("datumaro-one-based", "one-based")],
)
def test_datumaro_export_both_conventions_agree(folder: str, coords: Any) -> None:
    dataset, report = _read(VOC / folder, split="train", coords=coords)
    dataset.validate()
    # 2007_000002 is in train.txt but datumaro wrote no XML for it (no objects)
    assert [img["file_name"] for img in dataset.images] == ["2007_000001.jpg", "2007_000002.jpg"]
    assert dataset.images[1]["width"] == 50
    assert report.counts["listed images without an XML (no objects)"] == 1
    cat, person = dataset.annotations
    assert cat["bbox"] == [2, 3, 20, 10]
    assert cat["attributes"] == {"pose": "Left", "truncated": 1, "occluded": 0, "difficult": 0}
    if coords == "zero-based":
        assert person["bbox"] == [30.5, 10.25, 12.5, 20.0]
    else:  # datumaro's voc-one-based export rounds outwards to whole pixels
        assert person["bbox"] == [30, 10, 13, 21]


def test_split_lists_a_missing_file(tmp_path: Path) -> None:
    root = tmp_path / "VOC"
    _write(root / "Annotations", "a.xml", _xml(_obj("cat", (1, 1, 5, 5))))
    _write(root / "ImageSets" / "Main", "train.txt", b"a\nb\n")
    with pytest.raises(InputError, match=r"train\.txt:2: lists 'b' but neither .*b\.xml"):
        _read(root, split="train")
    with pytest.raises(InputError, match=r"no such split file \(splits there: train\)"):
        _read(root, split="val")


def test_skip_difficult_image_ids_and_labels(tmp_path: Path) -> None:
    folder = tmp_path / "xml"
    dog = _obj("dog", (1, 1, 10, 10), "<difficult>1</difficult>")
    _write(folder, "10.xml", _xml(dog, name="10.jpg"))
    _write(
        folder, "2.xml", _xml(_obj("cat", (1, 1, 9, 9)) + _obj("bird", (2, 2, 4, 4)), name="2.jpg")
    )
    dataset, _ = _read(folder)
    assert [c["name"] for c in dataset.categories] == list(VOC_CLASSES)
    # sequential ids follow the sorted file names: '10.jpg' < '2.jpg'
    assert [(img["id"], img["file_name"]) for img in dataset.images] == [
        (1, "10.jpg"),
        (2, "2.jpg"),
    ]
    dataset, report = _read(
        folder, skip_difficult=True, image_ids="from-filename", labels=["dog", "cat"]
    )
    assert [img["id"] for img in dataset.images] == [2, 10]
    assert [c["name"] for c in dataset.categories] == ["dog", "cat"]
    assert [a["category_id"] for a in dataset.annotations] == [2]
    assert report.counts["difficult objects skipped"] == 1
    assert [str(e) for e in report.warnings["unknown_class"].examples] == [
        f"{folder / '2.xml'}:1: object 2: class 'bird' is not in the class list (--labels)"
    ]
    with pytest.raises(ConversionError, match="unknown_class"):
        _read(folder, labels=["dog", "cat"], strict=True)


def test_custom_classes_sorted_and_ids_from_one(tmp_path: Path) -> None:
    _write(tmp_path, "a.xml", _xml(_obj("zebra", (1, 1, 5, 5)) + _obj("ant", (1, 1, 5, 5))))
    dataset, _ = _read(tmp_path)
    assert dataset.categories == [{"id": 1, "name": "ant"}, {"id": 2, "name": "zebra"}]


def test_degenerate_and_outside_boxes_are_reported_with_place(tmp_path: Path) -> None:
    objects = (
        _obj("cat", (10, 10, 9, 20)) + _obj("cat", (5, 5, 5, 5)) + _obj("cat", (0, 1, 101, 80))
    )
    path = _write(tmp_path, "a.xml", _xml(objects))
    dataset, report = _read(path)
    # one-based: xmax == xmin is one pixel wide, xmax < xmin is nothing
    assert _boxes(dataset) == [[4, 4, 1, 1], [-1, 0, 102, 80]]
    assert [str(e) for e in report.warnings["degenerate_box"].examples] == [
        f"{path}:1: object 1: box (10, 10, 9, 20) has xmax < xmin or ymax < ymin"
    ]
    assert report.warnings["box_outside_image"].count == 1
    with pytest.raises(ConversionError):
        _read(path, strict=True)


def test_image_ids_from_filename_needs_numbers(tmp_path: Path) -> None:
    _write(tmp_path, "2008_000002.xml", _xml(_obj("cat", (1, 1, 5, 5)), name="2008_000002.jpg"))
    with pytest.raises(UsageError, match="needs numeric file names"):
        _read(tmp_path, image_ids="from-filename")


def test_xml_list_file(tmp_path: Path) -> None:
    _write(tmp_path / "x", "a.xml", _xml(_obj("cat", (1, 1, 5, 5))))
    listing = _write(tmp_path, "list.txt", b"x/a.xml\n")
    dataset, _ = _read(listing)
    assert len(dataset.annotations) == 1


# --- ImageNet ILSVRC --------------------------------------------------------------------------


def test_ilsvrc_train_layout_with_synsets() -> None:
    root = IMAGENET / "ILSVRC"
    dataset, report = _read(root, split="train_loc", synsets=IMAGENET / "LOC_synset_mapping.txt")
    dataset.validate()
    assert [img["file_name"] for img in dataset.images] == [
        "n01440764/n01440764_10026.JPEG",
        "n02012849/n02012849_1032.JPEG",
    ]
    cats = dataset.categories
    assert [c["id"] for c in cats] == [1, 2, 3, 4]
    assert [(c["name"], dict(c)["synset"]) for c in cats] == [
        ("tench", "n01440764"),
        ("goldfish", "n01443537"),
        ("crane (n02012849)", "n02012849"),  # two synsets are called 'crane'
        ("crane (n03126707)", "n03126707"),
    ]
    assert [a["category_id"] for a in dataset.annotations] == [1, 3, 3]
    assert not report.warnings


def test_ilsvrc_val_folder_without_synsets() -> None:
    dataset, _ = _read(IMAGENET / "ILSVRC" / "Annotations" / "CLS-LOC" / "val")
    assert [img["file_name"] for img in dataset.images] == [
        "ILSVRC2012_val_00000001.JPEG",
        "ILSVRC2012_val_00000002.JPEG",
    ]
    assert [c["name"] for c in dataset.categories] == ["n01443537", "n03126707"]


# --- coco2voc ---------------------------------------------------------------------------------


def test_round_trip_of_integer_boxes_is_exact(tmp_path: Path, realdata: Path) -> None:
    src, _ = _read(VOC / "datumaro-one-based")
    report = write_voc({"default": src}, tmp_path / "out")
    assert report.stats["largest_rounding_error_px"] == 0
    again, _ = _read(tmp_path / "out", labels=tmp_path / "out" / "labels.txt")
    assert _boxes(again) == _boxes(src)
    assert [a["attributes"] for a in again.annotations] == [
        {**a["attributes"], "pose": a["attributes"].get("pose", "Unspecified")}
        for a in src.annotations
    ]
    assert (tmp_path / "out" / "ImageSets" / "Main" / "default.txt").read_text().split() == [
        "2007_000001",
        "2007_000003",
    ]
    assert (tmp_path / "out" / "labels.txt").read_text().split() == list(VOC_CLASSES)


def test_image_without_annotations_gets_an_empty_xml(tmp_path: Path) -> None:
    write_voc(_coco([]), tmp_path / "out")
    empty = parse_voc_xml((tmp_path / "out" / "Annotations" / "a.xml").read_bytes())
    assert (empty.filename, empty.width, empty.height, empty.objects) == ("a.jpg", 100, 80, [])


def _coco(annotations: list[dict[str, Any]], **image: Any) -> InstancesDataset:
    img = {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, **image}
    document = {
        "images": [img],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "cat", "supercategory": "animal"}],
    }
    dataset = from_document(document, kind="instances", source="in.json")
    assert isinstance(dataset, InstancesDataset)
    return dataset


def test_float_boxes_round_per_convention_and_losses_are_counted(tmp_path: Path) -> None:
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10.3, 20.6, 5.2, 4.0], "area": 20.8},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 1,
         "segmentation": {"counts": [0, 4], "size": [80, 100]}},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 20, 10, 20, 30]],
         "score": 0.5},
    ]  # fmt: skip
    report = write_voc(_coco(anns, license=1), tmp_path / "out")
    xml = parse_voc_xml((tmp_path / "out" / "Annotations" / "a.xml").read_bytes())
    # no bbox: the box of the polygon's pixels, as pycocotools rasterises it (the oracle)
    seg_box = mask_utils.toBbox(
        mask_utils.merge(mask_utils.frPyObjects(anns[2]["segmentation"], 80, 100))
    )
    x, y, w, h = (int(v) for v in seg_box)
    assert [o.box for o in xml.objects] == [(11, 22, 16, 25), (x + 1, y + 1, x + w, y + h)]
    assert report.stats["largest_rounding_error_px"] == pytest.approx(0.5)
    assert set(report.losses) == {
        "crowd",
        "segmentation",
        "field_score",
        "image_fields",
        "supercategory",
    }
    assert [str(e) for e in report.losses["crowd"].examples] == ["in.json:/annotations/1"]
    zero = write_voc(_coco(anns[:1]), tmp_path / "zero", coords="zero-based")
    xml = parse_voc_xml((tmp_path / "zero" / "Annotations" / "a.xml").read_bytes())
    assert xml.objects[0].box == (10, 21, 16, 25)
    assert zero.stats["largest_rounding_error_px"] == pytest.approx(0.5)  # 15.5 -> 16


#: The XML the writer wrote before it rendered in batches (PR "coco2voc at 1.5x its floor"),
#: byte for byte: the devkit's layout, texts escaped by lxml, U+FFFD for a control character.
_EXPECTED_XML = (
    "<annotation>\n\t<folder>dir/sub</folder>\n\t<filename>a &amp; b.jpg</filename>\n"
    "\t<source>\n\t\t<database>COCO (coco-convert)</database>\n\t</source>\n\t<size>\n"
    "\t\t<width>640</width>\n\t\t<height>480</height>\n\t\t<depth>3</depth>\n\t</size>\n"
    "\t<segmented>1</segmented>\n\t<object>\n\t\t<name>cat</name>\n"
    "\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
    "\t\t<bndbox>\n\t\t\t<xmin>11</xmin>\n\t\t\t<ymin>22</ymin>\n\t\t\t<xmax>16</xmax>\n"
    "\t\t\t<ymax>25</ymax>\n\t\t</bndbox>\n\t</object>\n\t<object>\n"
    "\t\t<name>dog &lt;&amp;&gt;</name>\n\t\t<pose>Left</pose>\n\t\t<truncated>0</truncated>\n"
    "\t\t<difficult>1</difficult>\n\t\t<occluded>true</occluded>\n\t\t<bndbox>\n"
    "\t\t\t<xmin>1</xmin>\n\t\t\t<ymin>1</ymin>\n\t\t\t<xmax>1</xmax>\n\t\t\t<ymax>1</ymax>\n"
    "\t\t</bndbox>\n\t\t<actions>\n\t\t\t<jumping>1</jumping>\n\t\t</actions>\n"
    "\t\t<attributes>\n\t\t\t<attribute>\n\t\t\t\t<name>color</name>\n"
    "\t\t\t\t<value>bl\ufffdack</value>\n\t\t\t</attribute>\n\t\t</attributes>\n"
    "\t</object>\n</annotation>\n"
)


def test_extra_fields_are_reported_in_the_annotations_order(tmp_path: Path) -> None:
    """The same input gives the same report (the fields were once taken from a set, whose
    order changes from run to run)."""
    extra = {"zeta": 1, "alpha": 2, "pose": "Left", "mid": 3}
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], **extra}]
    report = write_voc(_coco(anns), tmp_path / "out")
    fields = [key for key in report.losses if key.startswith("field_")]
    assert fields == ["field_zeta", "field_alpha", "field_pose", "field_mid"]


def test_xml_bytes_are_the_devkit_layout() -> None:
    image: Any = {"id": 1, "file_name": "dir\\sub/a & b.jpg", "width": 640, "height": 480}
    attributes = {
        "pose": "Left",
        "difficult": 1,
        "occluded": True,
        "actions": {"jumping": 1, "bad tag": 2},
        "color": "bl\x07ack",
        "nested": [1],
    }
    objects: Any = [
        ("cat", [10.3, 20.6, 5.2, 4.0], None, None),
        ("dog <&>", [0, 0, 0.2, 0.2], attributes, None),
    ]
    data, largest, replaced = voc_module.render_voc_xml(image, objects, 1, segmented=True)
    assert data == _EXPECTED_XML.encode("utf-8")
    assert (largest, replaced) == (pytest.approx(0.8), 1)
    # in a batch, each image's file is the same as alone; a class name's text is made once
    # but counted for every object
    bad: Any = [("b\x01", [1, 2, 3, 4], None, None)] * 2
    batch = voc_module.render_voc_xmls([(image, objects, True), (image, bad, False)], 1)
    assert batch.files[0] == data
    assert batch.files[1] == voc_module.render_voc_xml(image, bad, 1)[0]
    assert batch.files[1].count("<name>b\ufffd</name>".encode()) == 2
    assert (batch.largest, batch.replaced) == (largest, 3)


_COORD = st.one_of(
    st.integers(-3000, 3000),
    st.floats(-3000, 3000, allow_nan=False),
    st.integers(-(2**63), 2**63),  # beyond what a double holds exactly: box by box
    st.sampled_from([0.5, -0.5, 1.5, 2.4999999999999996, 0.49999999999999994]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_COORD, min_size=4, max_size=4), max_size=12), st.sampled_from([0, 1]))
def test_boxes_round_in_a_batch_as_one_by_one(boxes: list[list[float]], shift: int) -> None:
    """The batch rounding gives every box's corners as the one-box rounding does, and the
    largest change as the first box with it gives it (an int for a box of ints: the report
    writes 1, not 1.0), 0.0 when nothing changed."""
    corners, largest = voc_module._round_boxes(boxes, shift)
    one_by_one = [voc_module._round_box(box, shift) for box in boxes]
    assert corners == [found for found, _ in one_by_one]
    expected: float = 0.0
    for _, error in one_by_one:
        if error > expected:
            expected = error
    assert largest == expected
    assert type(largest) is type(expected)


@pytest.mark.parametrize(
    "file_name", ["../../evil.jpg", "/etc/evil.jpg", "..\\..\\evil.jpg", "C:\\x\\evil.jpg"]
)
def test_file_names_never_write_outside(tmp_path: Path, file_name: str) -> None:
    out = tmp_path / "deep" / "out"
    report = write_voc(_coco([], file_name=file_name), out)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.xml"))
    assert written == ["deep/out/Annotations/evil.xml"]
    assert "unsafe_file_name" in report.warnings


def test_name_collisions_get_the_image_id(tmp_path: Path) -> None:
    dataset = from_document(
        {
            "images": [{"id": 1, "file_name": "a/x.jpg"}, {"id": 2, "file_name": "b/x.jpg"}],
            "annotations": [],
            "categories": [],
        },
        kind="instances",
    )
    write_voc(dataset, tmp_path / "o")  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "o" / "Annotations").iterdir()) == [
        "x.xml",
        "x_2.xml",
    ]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_xml_texts_are_what_lxml_writes(text: str) -> None:
    """Every text of the XML is the element lxml writes for it (characters XML cannot hold
    written as U+FFFD first), whether it needed escaping or not."""
    written, replaced = voc_module._element("name", text)
    clean = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "\ufffd", text)
    element = etree.Element("name")
    element.text = clean
    assert written == etree.tostring(element, encoding="unicode")
    assert replaced == (clean != text)
    parsed = etree.fromstring(written.encode("utf-8"))
    assert (parsed.text or "") == clean  # and it reads back as written


def test_names_xml_cannot_hold_still_read_back(tmp_path: Path) -> None:
    """A class name with a control character (and a file name with an escape) made XML the
    reader refused; now they are written as U+FFFD, counted, and the files read back."""
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}]
    dataset = _coco(anns, file_name="a\x1b.jpg")
    dataset.categories[0]["name"] = "ca\x07t & <dog>"
    report = write_voc({"x": dataset}, tmp_path / "out")
    assert report.losses["xml_characters"].count == 2
    again, _ = _read(tmp_path / "out")
    assert [c["name"] for c in again.categories] == ["ca\ufffdt & <dog>"]
    assert again.images[0]["file_name"] == "a\ufffd.jpg"


def test_nothing_is_written_on_failure(tmp_path: Path) -> None:
    anns = [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [1, 1, 2, 2]}]
    with pytest.raises(ConversionError, match="unknown_image"):
        write_voc(_coco(anns), tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


# --- command line -----------------------------------------------------------------------------


def test_cli_voc2coco_and_back(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "voc.json"
    report = tmp_path / "report.json"
    result = runner.invoke(
        main,
        ["voc2coco", str(VOC / "datumaro-zero-based"), "-o", str(out), "--coords", "zero-based",
         "--split", "train", "--report", str(report),
         "--labels", str(VOC / "datumaro-zero-based" / "labelmap.txt")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "categories: 1 cat, 2 dog, 3 person" in result.output
    dataset = load(out)
    assert len(dataset.annotations) == 2  # type: ignore[union-attr]
    assert json.loads(report.read_text())["counts"]["images"] == 2
    result = runner.invoke(main, ["coco2voc", str(out), "-o", str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "back" / "ImageSets" / "Main" / "voc.txt").is_file()
    assert "largest rounding error px: 0.5" in result.output


def test_cli_bad_xml_is_one_clean_line(tmp_path: Path) -> None:
    _write(tmp_path, "bad.xml", b"<annotation>\n<object>\n</annotation>")
    result = CliRunner().invoke(main, ["voc2coco", str(tmp_path), "-o", str(tmp_path / "o.json")])
    assert result.exit_code == 1
    assert result.output.startswith(f"coco-convert: error: {tmp_path / 'bad.xml'}:3: malformed XML")
    assert not (tmp_path / "o.json").exists()


# --- masks ------------------------------------------------------------------------------------


def test_datumaro_segmentation_object_pngs_become_exact_masks() -> None:
    # datumaro writes SegmentationObject as RGB in the VOC palette, not as a palette PNG
    dataset, report = _read(
        VOC / "datumaro-segmentation", masks=True, coords="zero-based", labels=["cat", "dog"]
    )
    dataset.validate()
    indices = read_index_png(
        VOC / "datumaro-segmentation" / "SegmentationObject" / "2007_000010.png"
    )
    for number, ann in enumerate(dataset.annotations, 1):
        pixels = indices == number
        rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], 40, 60))
        assert (mask_utils.decode(rle).astype(bool) == pixels).all()  # pycocotools: the oracle
        assert ann["area"] == int(pixels.sum())
    assert [a["area"] for a in dataset.annotations] == [300, 24 * 24 - 8 * 8]  # the dog has a hole
    assert report.counts["masks"] == 2
    rle_dataset, _ = _read(VOC / "datumaro-segmentation", masks=True, rle=True)
    assert mask_utils.area(rle_dataset.annotations[1]["segmentation"]) == 512


def _palette_png(path: Path, array: np.ndarray) -> None:
    image = PILImage.fromarray(array.astype(np.uint8), mode="P")
    image.putpalette(voc_palette())
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def test_void_border_missing_and_extra_instances(tmp_path: Path) -> None:
    root = tmp_path / "VOC"
    objects = _obj("cat", (2, 2, 5, 5)) + _obj("dog", (7, 2, 9, 4))
    _write(root / "Annotations", "a.xml", _xml(objects, size="<width>10</width><height>8</height>"))
    png = np.zeros((8, 10))
    png[1:5, 1:5] = 255  # the void border around object 1
    png[2:4, 2:4] = 1
    png[6, 6] = 3  # an instance without an <object>
    _palette_png(root / "SegmentationObject" / "a.png", png)
    dataset, report = _read(root, masks=True)
    cat, dog = dataset.annotations
    assert cat["area"] == 4  # the void border is not the object's
    assert dog["segmentation"] == []  # no pixels: box only
    assert dog["area"] == 3 * 3
    assert report.warnings["object_without_mask"].count == 1
    assert [str(e) for e in report.warnings["mask_without_object"].examples] == [
        f"{root / 'SegmentationObject' / 'a.png'}: instance 3; the XML has 2 objects"
    ]
    assert report.losses["void_border"].count == 1
    with pytest.raises(UsageError, match="SegmentationObject is not a folder"):
        _read(VOC / "label-studio", masks=True)


def test_coco2voc_masks_round_trip_and_overlap(tmp_path: Path) -> None:
    square = [[10, 10, 30, 10, 30, 30, 10, 30]]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20],
         "segmentation": square},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 20, 20, 20],
         "segmentation": [[20, 20, 40, 20, 40, 40, 20, 40]]},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [50, 50, 5, 5]},
    ]  # fmt: skip
    report = write_voc(_coco(anns), tmp_path / "out", masks=True)
    assert report.losses["mask_overlap"].count == 100  # 10 x 10 pixels claimed twice
    assert report.losses["no_mask"].count == 1
    assert "segmentation" not in report.losses
    indices = read_index_png(tmp_path / "out" / "SegmentationObject" / "a.png")
    classes = read_index_png(tmp_path / "out" / "SegmentationClass" / "a.png")
    assert np.count_nonzero(indices == 1) == 400 - 100
    assert np.count_nonzero(indices == 2) == 400
    assert set(np.unique(classes).tolist()) == {0, 1}
    assert b"<segmented>1</segmented>" in (tmp_path / "out" / "Annotations" / "a.xml").read_bytes()
    # one dataset is one split, named after its file (in.json)
    assert (tmp_path / "out" / "ImageSets" / "Segmentation" / "in.txt").read_text() == "a\n"
    again, _ = _read(tmp_path / "out", masks=True)
    assert again.annotations[1]["area"] == 400


# --- worker processes -------------------------------------------------------------------------


def test_workers_give_the_same_results_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(voc_module, "_CHUNK", 1)  # one file per chunk: every worker gets work
    folder = VOC / "datumaro-zero-based"
    one, _ = _read(folder, jobs=1)
    two, _ = _read(folder, jobs=2)
    assert two.document == one.document
    # the PNGs are drawn by the workers, the XML written beside them
    monkeypatch.setattr(voc_module, "_PNG_CHUNK", 1)
    square = [[10, 10, 30, 10, 30, 30, 10, 30]]
    masked = from_document(
        {
            "images": [
                {"id": i, "file_name": f"{i}.jpg", "width": 40 + i, "height": 40} for i in (1, 2, 3)
            ],
            "annotations": [
                {"id": i, "image_id": i, "category_id": 1, "bbox": [10, 10, 20, 20],
                 "segmentation": square} for i in (1, 3)
            ],
            "categories": [{"id": 1, "name": "cat"}],
        },
        kind="instances",
    )  # fmt: skip
    report_one = write_voc(masked, tmp_path / "one", jobs=1, masks=True)
    report_two = write_voc(masked, tmp_path / "two", jobs=2, masks=True)
    assert report_one.counts["segmentation_pngs"] == 4
    assert (tmp_path / "two" / "ImageSets" / "Segmentation" / "default.txt").read_text() == "1\n3\n"
    assert report_two.to_dict() == report_one.to_dict()
    for path in (tmp_path / "one").rglob("*"):
        if path.is_file():
            assert (
                tmp_path / "two" / path.relative_to(tmp_path / "one")
            ).read_bytes() == path.read_bytes()
    bad = tmp_path / "bad"
    shutil.copytree(folder / "Annotations", bad)
    (bad / "zz.xml").write_bytes(b"<annotation>\n<object>\n")
    with pytest.raises(InputError, match=r"zz\.xml:3: malformed XML"):
        _read(bad, jobs=2)  # the worker's error crosses the process boundary intact
