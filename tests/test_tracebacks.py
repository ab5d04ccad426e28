"""Inputs that once ended in a Python traceback (issue 16): each now gives exit 1 or 2 and
one clear line naming the file and the place, or converts with a warning."""

from __future__ import annotations

import gzip
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import coco_convert
from coco_convert.cli import main
from coco_convert.converters.yolo import write_yolo

from .conftest import FIXTURES
from .yolo_cases import make_images

INSTANCES = FIXTURES / "coco" / "instances.json"
CAT_XML = FIXTURES / "voc" / "labelimg" / "cat.xml"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def instances(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(INSTANCES.read_text())
    for pointer, value in changes.items():
        *parents, last = pointer.split("__")
        target: Any = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[int(last) if isinstance(target, list) else last] = value
    return document


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


# --- reading ----------------------------------------------------------------------------------


def test_damaged_deflate_data(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(INSTANCES.read_bytes()))
    for i in range(200, 260):  # inside the deflate stream, past the header
        data[i] ^= 0x5A
    path = tmp_path / "instances.json.gz"
    path.write_bytes(bytes(data))
    code, _, err = run("info", path)
    assert code == 1
    assert f"{path}: corrupt gzip data" in err


def test_json_nested_thousands_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"images": [], "annotations": ' + "[" * 5000 + "]" * 5000 + "}")
    code, _, err = run("info", path)
    assert code == 1
    assert f"{path}:1:" in err
    assert "depth" in err


def test_yaml_nested_thousands_deep(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    path.write_text("names: " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = run("yolo2coco", path, "-o", tmp_path / "out")
    assert code == 1
    assert f"{path}: invalid YAML: nested too deeply" in err


# --- numbers out of range: refused by the schema on the way in, with the pointer ----------


@pytest.mark.parametrize(
    ("change", "pointer", "verbs"),
    [
        ({"annotations__0__area": 2**70}, "/annotations/0/area", ["info", "coco2voc"]),
        ({"annotations__0__id": 10**37}, "/annotations/0/id", ["poly2rle", "coco2yolo"]),
        ({"annotations__0__bbox": [1e308, 0, 1e308, 5]}, "/annotations/0/bbox/0", ["coco2voc"]),
        ({"images__0__width": 2**70}, "/images/0/width", ["poly2rle", "coco2yolo"]),
        ({"info__year": 2**64}, "/info/year", ["info"]),
    ],
)
def test_numbers_beyond_64_bits_are_refused_with_the_pointer(
    tmp_path: Path, change: dict[str, Any], pointer: str, verbs: list[str]
) -> None:
    path = write(tmp_path / "instances_val.json", instances(**change))
    for verb in verbs:
        args = [] if verb == "info" else ["-o", tmp_path / f"{verb}.out"]
        code, _, err = run(verb, path, *args)
        assert code == 1, (verb, err)
        assert f"{path}:{pointer}: " in err
        assert not (tmp_path / f"{verb}.out").exists()


def test_voc_numbers_beyond_range(tmp_path: Path) -> None:
    xml = tmp_path / "cat.xml"
    xml.write_text(CAT_XML.read_text().replace("<xmax>20</xmax>", f"<xmax>{'9' * 400}</xmax>"))
    out = tmp_path / "out.json"
    report = tmp_path / "report.json"
    code, _, err = run("voc2coco", xml, "-o", out, "--coords", "zero-based", "--report", report)
    assert code == 0, err
    warning = json.loads(report.read_text())["warnings"]["object_without_box"]
    assert "out of range (beyond +-2**63)" in warning["examples"][0]["detail"]
    assert len(json.loads(out.read_text())["annotations"]) == 1  # the other object is kept
    xml.write_text(CAT_XML.read_text().replace("<width>64</width>", f"<width>{2**40}</width>"))
    code, _, err = run("voc2coco", xml, "-o", out, "--coords", "zero-based")
    assert code == 1
    assert f"{xml}:9: <width> is '1099511627776', expected a whole number" in err


def test_values_json_cannot_hold_are_refused_at_write_time(tmp_path: Path) -> None:
    # keys a tool added are kept as they are, unchecked: writing them names the place
    document = instances(annotations__0__attributes={"rotation": 2**70})
    dataset = coco_convert.from_document(document)
    with pytest.raises(coco_convert.errors.InputError, match="beyond 64 bits") as err:
        dataset.save(tmp_path / "out.json")
    assert "/annotations/0/attributes/rotation" in str(err.value)
    assert not list(tmp_path.iterdir())


# --- every verb validates before it converts ------------------------------------------------


def test_coco2yolo_validates_before_converting(tmp_path: Path) -> None:
    path = write(tmp_path / "instances_val.json", instances(categories="thing"))
    code, _, err = run("coco2yolo", path, "-o", tmp_path / "out")
    assert code == 1
    assert f"{path}:/categories: expected a list" in err
    assert not (tmp_path / "out").exists()


# --- image and mask sizes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (-5, 427, "size -5 x 427 is not a positive width and height"),
        (100_000, 100_000, "100000 x 100000 pixels are more than Pillow's 178,956,970"),
    ],
)
def test_coco2voc_masks_with_impossible_sizes(
    tmp_path: Path, width: int, height: int, message: str
) -> None:
    path = write(
        tmp_path / "instances_val.json",
        instances(images__0__width=width, images__0__height=height),
    )
    out, report = tmp_path / "voc", tmp_path / "report.json"
    code, _, err = run("coco2voc", path, "-o", out, "--masks", "--report", report)
    assert code == 0, err
    warning = json.loads(report.read_text())["warnings"]["bad_segmentation"]
    assert warning["count"] == 8  # the 8 objects of image 0 (image 1 holds a crowd only)
    assert warning["examples"][0]["at"] == (
        f"{path}:/annotations/0/segmentation: the image's {message}"
    )
    assert not list((out / "SegmentationObject").iterdir())


def test_coco2voc_masks_rle_errors_name_file_and_annotation(tmp_path: Path) -> None:
    path = write(
        tmp_path / "instances_val.json",
        instances(annotations__3__segmentation={"size": [20, 20], "counts": [400]}),
    )
    report = tmp_path / "report.json"
    code, _, err = run("coco2voc", path, "-o", tmp_path / "voc", "--masks", "--report", report)
    assert code == 0, err
    (example,) = json.loads(report.read_text())["warnings"]["bad_segmentation"]["examples"]
    assert example["at"] == (
        f"{path}:/annotations/3/segmentation: RLE size is 20 x 20 (height x width) but "
        "the image is 375 x 500"
    )


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds (almost) no pixels: what its header says is all
    Pillow looks at before refusing a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_mask_png_over_pillows_limit(tmp_path: Path) -> None:
    masks = tmp_path / "SegmentationObject"
    masks.mkdir()
    (masks / "a.png").write_bytes(_png_header(20_000, 20_000))
    code, _, err = run("masks2coco", masks, "-o", tmp_path / "out.json")
    assert code == 1
    assert f"{masks / 'a.png'}: cannot read the PNG: more than 178,956,970 pixels" in err


def test_validate_flags_huge_images(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", instances(images__0__width=100_000, images__0__height=90_000))
    code, out, _ = run("validate", "--select", "I", path)
    assert code == 0  # a warning
    assert f"{path}:/images/0: I009 image is 100000 x 90000 = 9,000,000,000 pixels" in out


# --- YOLO class names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("{0: a, 1000000000: b}", "names: class index 1000000000 is far beyond the 2 names"),
        ("[a, [b, c]]", "names: class 1 is list, expected a name"),
        ("{0: a, 1: {x: y}}", "names: class 1 is dict, expected a name"),
        ("{a: b}", "names: key 'a' is not a class index"),
    ],
)
def test_data_yaml_names_are_checked(tmp_path: Path, names: str, message: str) -> None:
    yolo = tmp_path / "yolo"
    (yolo / "images" / "train").mkdir(parents=True)
    (yolo / "data.yaml").write_text(f"train: images/train\nnames: {names}\n")
    code, _, err = run("yolo2coco", yolo / "data.yaml", "-o", tmp_path / "out")
    assert code == 1
    assert f"{yolo / 'data.yaml'}: {message}" in err


def test_data_yaml_names_with_a_small_gap_are_filled(tmp_path: Path) -> None:
    dataset = coco_convert.load(INSTANCES)
    yolo = tmp_path / "yolo"
    write_yolo({"train": dataset}, yolo, images=make_images(dataset, tmp_path / "photos"),
               image_mode="copy")  # fmt: skip
    text = (yolo / "data.yaml").read_text()
    kept = [line for line in text.split("names:")[0].splitlines() if not line.startswith("nc:")]
    (yolo / "data.yaml").write_text("\n".join([*kept, "names: {0: a, 3: d}", ""]))
    code, _, err = run(
        "yolo2coco", yolo / "data.yaml", "--split", "train", "-o", tmp_path / "o.json"
    )
    assert code == 0, err
    names = [c["name"] for c in json.loads((tmp_path / "o.json").read_text())["categories"]]
    assert names[:4] == ["a", "class_1", "class_2", "d"]


# --- file names and text --------------------------------------------------------------------


def test_image_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    make_images(coco_convert.load(INSTANCES), tmp_path / "make")
    picture = next((tmp_path / "make").rglob("*.jpg")).read_bytes()
    (images / "good.jpg").write_bytes(picture)
    (labels / "good.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    bad = os.fsdecode(b"caf\xe9.jpg")
    (images / bad).write_bytes(picture)
    (labels / os.fsdecode(b"caf\xe9.txt")).write_text("0 0.5 0.5 0.2 0.2\n")
    out, report = tmp_path / "out.json", tmp_path / "report.json"
    code, _, err = run("yolo2coco", labels, "--images", images, "-o", out, "--report", report)
    assert code == 0, err
    assert [i["file_name"] for i in json.loads(out.read_text())["images"]] == ["good.jpg"]
    assert json.loads(report.read_text())["warnings"]["file_name_not_utf8"]["count"] == 1
    assert "caf\\xe9.jpg" in err  # printed escaped, never a UnicodeEncodeError


def test_rle_counts_with_non_ascii_characters(tmp_path: Path) -> None:
    document = instances()
    crowd = next(a for a in document["annotations"] if a["iscrowd"])
    crowd["segmentation"]["counts"] = "PPé3"
    path = write(tmp_path / "instances_val.json", document)
    code, out, _ = run("validate", "--select", "G109", path)
    assert code == 1
    assert "G109 compressed RLE counts hold characters outside '0'..'o'" in out
    report = tmp_path / "report.json"
    code, _, err = run("rle2poly", path, "-o", tmp_path / "o.json", "--report", report)
    assert code == 0, err
    assert json.loads(report.read_text())["warnings"]["bad_segmentation"]["count"] == 1


def test_names_with_control_characters_print_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a\nb\x1b[31m.json", instances(annotations__0__iscrowd=7))
    code, out, _ = run("validate", path)
    assert code == 1
    escaped = str(tmp_path / "a\\nb\\x1b[31m.json")
    assert f"{escaped}:/annotations/0/iscrowd: S001" in out
    assert "\x1b" not in out
    code, _, err = run("info", tmp_path / "no\nsuch.json")
    assert code == 1
    assert err == f"coco-convert: error: {tmp_path}/no\\nsuch.json: no such file\n"
    code, out, _ = run("validate", "--output-format", "json", tmp_path / os.fsdecode(b"\xff.json"))
    assert json.loads(out)["diagnostics"][0]["filename"] == f"{tmp_path}/\\xff.json"


# --- validate's configuration and paths -----------------------------------------------------


def test_validate_on_a_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    code, out, _ = run("validate", loop)
    assert code == 1
    assert f"{loop}: F001 cannot read: Too many levels of symbolic links" in out


@pytest.mark.parametrize(
    ("toml", "code", "message"),
    [
        ("tool = 5\n", 0, None),
        ('[tool]\ncoco-convert = "x"\n', 2, "[tool.coco-convert] must be a table"),
        ("[tool.coco-convert]\nvalidate = 3\n", 2, "[tool.coco-convert.validate] must be a table"),
        (
            '[tool.coco-convert.validate]\nselect = "G"\n',
            2,
            'select must be a list of rule codes (write select = ["G"])',
        ),
    ],
)
def test_validate_configuration_of_the_wrong_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, code: int, message: str | None
) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    write(tmp_path / "a.json", instances())
    monkeypatch.chdir(tmp_path)
    exit_code, _, err = run("validate", "a.json")
    assert exit_code == code, err
    if message is not None:
        assert message in err
