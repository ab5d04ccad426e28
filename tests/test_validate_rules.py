"""Every rule fires on a document made to break it, and not on the clean bases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from coco_convert.validate import RULES, Settings, validate_path
from coco_convert.validate import context as context_module
from tests.validate_cases import BASES, CASES, corrupted

#: Rules whose fixtures are files on disk rather than a document (tests below and in
#: test_validate_files.py; F005, a format reader's warning, in test_validate_voc.py), and the
#: validator's own crash report (X001, tested here).
FILE_RULES = {"F001", "F002", "F003", "F004", "F005", "I005", "I006", "I008", "P002", "X001"}
#: Rules of formats read by their readers have their own tests (test_validate_voc.py,
#: test_validate_yolo.py, the CVAT and Label Studio tests, test_labelme.py, test_via.py,
#: test_sa1b.py).
FORMAT_FAMILIES = ("V", "Y", "C", "L", "M", "A", "B")


def _write(tmp_path: Path, doc: Any, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))  # the standard library writes integers of any size
    return path


def _codes(path: Path, **settings: Any) -> list[str]:
    return [d.code for d in validate_path(path, Settings(**settings)).diagnostics]


def test_every_rule_has_a_case() -> None:
    document_rules = {
        code for code in RULES if code not in FILE_RULES and not code.startswith(FORMAT_FAMILIES)
    }
    assert document_rules - set(CASES) == set()


@pytest.mark.parametrize("kind", sorted(BASES))
def test_bases_are_clean(kind: str, tmp_path: Path) -> None:
    assert _codes(_write(tmp_path, BASES[kind]())) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(code: str, tmp_path: Path) -> None:
    _, doc = corrupted(code)
    assert code in _codes(_write(tmp_path, doc))


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_can_be_deselected(code: str, tmp_path: Path) -> None:
    _, doc = corrupted(code)
    select = frozenset(RULES) - {code}
    assert code not in _codes(_write(tmp_path, doc), select=select)


FIXABLE = sorted(code for code in CASES if RULES[code].fix is not None)


@pytest.mark.parametrize("code", FIXABLE)
def test_fix_removes_the_finding(code: str, tmp_path: Path) -> None:
    _, doc = corrupted(code)
    path = _write(tmp_path, doc)
    before = path.read_bytes()
    result = validate_path(path, Settings(), fix=True, unsafe_fixes=True)
    assert any(applied.diagnostic.code == code for applied in result.applied)
    assert code not in [d.code for d in result.diagnostics]
    assert result.written
    assert path.read_bytes() != before
    # What was written is what the result describes: checking it again finds the same.
    again = validate_path(path, Settings())
    assert [d.code for d in again.diagnostics] == [d.code for d in result.diagnostics]


@pytest.mark.parametrize("code", [c for c in FIXABLE if RULES[c].fix == "unsafe"])
def test_unsafe_fixes_need_the_flag(code: str, tmp_path: Path) -> None:
    _, doc = corrupted(code)
    path = _write(tmp_path, doc)
    result = validate_path(path, Settings(), fix=True)
    assert code in [d.code for d in result.diagnostics]
    assert all(
        a.diagnostic.fix and a.diagnostic.fix.applicability == "safe" for a in result.applied
    )


def test_float_id_fix_writes_an_integer(tmp_path: Path) -> None:
    _, doc = corrupted("S002")
    path = _write(tmp_path, doc)
    validate_path(path, Settings(), fix=True)
    assert orjson.loads(path.read_bytes())["annotations"][0]["id"] == 1
    assert b'"id":1,' in path.read_bytes()


def test_clip_fix_clips_to_the_image(tmp_path: Path) -> None:
    _, doc = corrupted("G102")
    path = _write(tmp_path, doc)
    validate_path(path, Settings(), fix=True, unsafe_fixes=True)
    assert orjson.loads(path.read_bytes())["annotations"][0]["bbox"] == [90.0, 10.0, 10.0, 10.0]


def test_category_zero_fix_renumbers_references(tmp_path: Path) -> None:
    _, doc = corrupted("R006")
    path = _write(tmp_path, doc)
    validate_path(path, Settings(), fix=True, unsafe_fixes=True)
    fixed = orjson.loads(path.read_bytes())
    assert fixed["categories"][0]["id"] == 3
    assert fixed["annotations"][0]["category_id"] == 3


def test_bbox_past_edge_message_names_edge_and_amount(tmp_path: Path) -> None:
    _, doc = corrupted("G102")
    result = validate_path(_write(tmp_path, doc), Settings())
    found = next(d for d in result.diagnostics if d.code == "G102")
    assert str(found.location).endswith("doc.json:/annotations/0/bbox")
    assert found.message == "bbox extends 10 px past the image's right edge"


def test_edge_tolerance_setting(tmp_path: Path) -> None:
    _, doc = corrupted("G102")
    path = _write(tmp_path, doc)
    assert "G102" not in _codes(path, edge_tolerance=10.0)
    assert "G102" in _codes(path, edge_tolerance=9.5)


def test_crashing_rule_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any) -> None:
        raise ZeroDivisionError("boom")

    checks = [*context_module.CHECKS, (frozenset({"R001"}), None, broken, "records")]
    monkeypatch.setattr(context_module, "CHECKS", checks)
    result = validate_path(_write(tmp_path, BASES["instances"]()), Settings())
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("X001", "check broken failed: ZeroDivisionError: boom")
    ]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "F001"),
        (b'{"images": [', "F002"),
        (b'{"images": "\x80"}', "F002"),
        (b"\xff\xfe\x00\xd8", "F001"),
        (b"42", "F003"),
        (b'{"licenses": []}', "F003"),
        (b'{"shapes": [], "imagePath": "a.jpg", "imageHeight": 4}', "F004"),
    ],
)
def test_file_level_findings(content: bytes, code: str, tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(content)
    assert _codes(path) == [code]


@pytest.mark.parametrize(
    ("document", "verb"),
    [
        ([{"data": {"image": "a.jpg"}, "annotations": []}], "labelstudio2coco"),
        ({"shapes": [], "imagePath": "a.jpg"}, "labelme2coco"),
        ({"_via_img_metadata": {}}, "via2coco"),
    ],
)
def test_a_tool_format_validated_as_coco_names_its_reader(
    document: Any, verb: str, tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(orjson.dumps(document))
    (found,) = validate_path(path, Settings()).diagnostics
    assert found.code == "F004"
    assert f"`coco-convert {verb}` converts it" in found.message
    # every one of these formats has a reader now: the rule must not say otherwise
    assert "no format coco-convert reads" not in RULES["F004"].doc


def test_invalid_json_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b'{\n  "images": [],\n  "annotations": [,]\n}')
    (found,) = validate_path(path, Settings()).diagnostics
    assert (found.code, found.location.line, found.location.column) == ("F002", 3, 19)


def test_missing_file_is_a_finding(tmp_path: Path) -> None:
    (found,) = validate_path(tmp_path / "nope.json", Settings()).diagnostics
    assert (found.code, found.message) == ("F001", "no such file")
