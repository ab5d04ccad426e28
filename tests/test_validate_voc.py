"""V rules: Pascal VOC XML files and folders, read with the VOC converter's parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from coco_convert.cli import main
from coco_convert.validate import RULES, Settings
from coco_convert.validate.runner import validate_target
from tests.conftest import FIXTURES, REALDATA

OBJECT = """  <object>
    <name>{name}</name>
    <difficult>0</difficult>
    <bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox>
  </object>
"""


def _xml(
    *objects: tuple[str, tuple[object, ...]],
    filename: str = "a.jpg",
    size: tuple[int, int] = (100, 80),
) -> str:
    body = "".join(OBJECT.format(name=name, box=box) for name, box in objects)
    return (
        f"<annotation>\n  <folder>VOC</folder>\n  <filename>{filename}</filename>\n"
        f"  <size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>\n"
        f"{body}</annotation>\n"
    )


CLEAN = _xml(("cat", (10, 10, 50, 40)), ("dog", (1, 1, 100, 80)))

#: code -> XML text (written as a.xml) that must trigger it.
CASES = {
    "V001": "<annotation><object></annotation>",
    "V002": _xml(("cat", (10, 10, 50, 40)), size=(0, 0)),
    "V003": CLEAN.replace("<name>cat</name>", "<name></name>"),
    "V004": CLEAN.replace("<xmin>10</xmin>", "<xmin>ten</xmin>"),
    "V005": _xml(("cat", (50, 10, 10, 40))),
    "V006": _xml(("cat", (10, 10, 150, 40))),
    "V007": _xml(("cat", (10, 10, 50, 40)), filename="b.jpg"),
    "V008": _xml(("bird", (10, 10, 50, 40))),
    "V009": _xml(("cat", (10.5, 10, 50, 40))),
    "V010": _xml(("cat", (10, 10, 50, 40)), ("cat", (10, 10, 50, 40))),
    "V011": _xml(("cat", (0, 10, 50, 40))),
}


def _check(tmp_path: Path, text: str, *, labels: bool = True) -> list[tuple[str, int | None]]:
    (tmp_path / "a.xml").write_text(text, encoding="utf-8")
    if labels:
        (tmp_path / "labels.txt").write_text("cat\ndog\n", encoding="utf-8")
    found = [
        (d.code, d.location.line)
        for result in validate_target(tmp_path, Settings())
        for d in result.diagnostics
    ]
    return found


def test_every_voc_rule_has_a_case() -> None:
    assert {code for code in RULES if code.startswith("V")} == set(CASES)


def test_reader_warnings_without_a_rule_are_f005(tmp_path: Path) -> None:
    """The VOC reader's warnings that have no V rule are F005, with the reader's key."""
    (tmp_path / "a.xml").write_text(CLEAN.replace("<filename>a.jpg</filename>", ""))
    (result,) = validate_target(tmp_path / "a.xml", Settings())
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("F005", "files without <filename> (the XML's own name is used) [no_filename]")
    ]


def test_clean_file(tmp_path: Path) -> None:
    assert _check(tmp_path, CLEAN) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(code: str, tmp_path: Path) -> None:
    codes = [c for c, _ in _check(tmp_path, CASES[code])]
    assert code in codes


def test_findings_name_the_line(tmp_path: Path) -> None:
    found = _check(tmp_path, CASES["V005"])
    assert found == [("V005", 5)]  # the <object> element's line


def test_unknown_class_needs_a_class_list(tmp_path: Path) -> None:
    assert _check(tmp_path, CASES["V008"], labels=False) == []


def test_cvat_xml_is_not_voc() -> None:
    """CVAT's own XML (root <annotations>) is read by the cvat reader, never as VOC."""
    for path in sorted((REALDATA / "cvat_xml").glob("*.xml")):
        (result,) = validate_target(path, Settings())
        assert result.format == "cvat"
        assert not [d.code for d in result.diagnostics if d.code.startswith(("V", "F"))]


@pytest.mark.parametrize(
    ("name", "as_name", "codes"),
    [
        # mmdetection's fixture: 000001.xml names 000002.jpg
        ("mmdet-VOC2012-000001.xml", "000001.xml", ["V007"]),
        ("labelimg-raccoon-1.xml", "raccoon-1.xml", []),
        # CVAT writes fractional corners
        (
            "cvat-voc-cyrillic-photo_2022-03-20_15-48-44.xml",
            "photo_2022-03-20_15-48-44.xml",
            ["V009"] * 4,
        ),
    ],
)
def test_real_files(name: str, as_name: str | None, codes: list[str], tmp_path: Path) -> None:
    path = tmp_path / (as_name or name)
    shutil.copy(REALDATA / "voc_xml" / name, path)
    (result,) = validate_target(path, Settings())
    assert [d.code for d in result.diagnostics] == codes


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in (FIXTURES / "voc").iterdir() if p.is_dir())
)
def test_bundled_voc_fixtures_have_no_errors(folder: str) -> None:
    results = validate_target(FIXTURES / "voc" / folder, Settings())
    assert results
    errors = [d for r in results for d in r.diagnostics if d.severity == "error"]
    assert errors == [] or folder == "labelimg"


def test_cli_on_a_devkit_folder(tmp_path: Path) -> None:
    devkit = tmp_path / "VOC"
    (devkit / "Annotations").mkdir(parents=True)
    (devkit / "Annotations" / "a.xml").write_text(CASES["V005"], encoding="utf-8")
    (devkit / "Annotations" / "b.xml").write_text(CLEAN.replace("a.jpg", "b.jpg"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(devkit)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{devkit / 'Annotations' / 'a.xml'}:5: V005 object 1: box (50, 10, 10, 40) has "
        "xmax < xmin or ymax < ymin"
    )
    assert result.output.splitlines()[-1] == "Found 1 problem (1 error) in 1 file."


def test_a_folder_holding_two_formats_is_checked_as_both(tmp_path: Path) -> None:
    """A devkit with a YOLO data.yaml beside it: each format's reader checks it."""
    root = tmp_path / "both"
    shutil.copytree(FIXTURES / "voc" / "datumaro-one-based", root)
    shutil.copy(FIXTURES / "yolo" / "coco-val2014" / "data.yaml", root / "data.yaml")
    results = validate_target(root, Settings())
    assert {r.format for r in results} == {"voc", "yolo"}
    # the YOLO reader finds no images/val2014 here
    assert "Y014" in {d.code for r in results for d in r.diagnostics}
