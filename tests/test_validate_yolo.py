"""Y rules: YOLO datasets, read with the YOLO converter's reader."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from coco_convert.cli import main
from coco_convert.converters import yolo
from coco_convert.validate import RULES, Settings
from coco_convert.validate.reader import reader_findings
from coco_convert.validate.runner import validate_target
from tests.conftest import REALDATA

BOX = "0 0.5 0.5 0.2 0.2\n"


def _dataset(root: Path, *, yaml: str | None = None, rows: str = BOX) -> Path:
    """data.yaml + images/{train,val}/a.jpg + labels/{train,val}/a.txt."""
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), "gray").save(root / "images" / split / "a.jpg")
        (root / "labels" / split / "a.txt").write_text(BOX)
    (root / "labels" / "train" / "a.txt").write_text(rows)
    text = "path: .\ntrain: images/train\nval: images/val\nnames: [cat, dog]\n"
    (root / "data.yaml").write_text(text if yaml is None else yaml)
    return root


def _edit(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        _dataset(root)
        change(root)
        return root

    return build


def _rows(rows: str) -> Callable[[Path], Path]:
    return lambda root: _dataset(root, rows=rows)


def _yaml(text: str) -> Callable[[Path], Path]:
    return lambda root: _dataset(root, yaml=text)


def _junk_image(root: Path) -> None:
    (root / "images" / "val" / "a.jpg").write_bytes(b"not an image")


def _latin1_label(root: Path) -> None:
    (root / "labels" / "val" / "a.txt").write_bytes(b"0 0.5 0.5 0.2 0.2 \xe9\n")


def _orphan_label(root: Path) -> None:
    (root / "labels" / "val" / "b.txt").write_text(BOX)


def _classes_file(root: Path) -> None:
    (root / "classes.txt").write_text("cat\ndgo\n")


#: code -> builder of a dataset that must trigger it.
CASES: dict[str, Callable[[Path], Path]] = {
    "Y001": _yaml('path: "C:\\data"\ntrain: images/train\n'),
    "Y002": _rows("2 0.5 0.5 0.2 0.2\n"),
    "Y003": _rows("0 1.5 0.5 0.2 0.2\n"),
    "Y004": _rows("0 0.5 0.5 0.2\n"),
    "Y005": _rows("0 0.5 0.5 0 0.2\n"),
    "Y006": _rows(BOX + BOX),
    "Y007": _edit(_junk_image),
    "Y008": _edit(_latin1_label),
    "Y009": _edit(_orphan_label),
    "Y010": _edit(_classes_file),
    "Y011": _yaml("path: .\ntrain: images/train\nval: images/train\nnames: [cat, dog]\n"),
    "Y012": _yaml("path: .\ntrain: images/train\nval: images/val\n"),
    "Y013": _yaml("path: /nowhere/data\ntrain: images/train\nval: images/val\nnames: [a, b]\n"),
    "Y014": _yaml("path: .\ntrain: images/train\nval: images/test\nnames: [cat, dog]\n"),
    "Y016": _yaml("path: .\ntrain: images/train\nval: images/val\nnames: [cat, Cat]\n"),
}


def _findings(root: Path) -> list[tuple[str, str, int | None]]:
    return [
        (d.code, d.file, d.location.line)
        for result in validate_target(root, Settings())
        for d in result.diagnostics
    ]


def test_every_yolo_rule_has_a_case() -> None:
    assert {code for code in RULES if code.startswith("Y")} - set(CASES) == {"Y015"}


def test_clean_dataset(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "set")
    assert _findings(root) == []
    assert _findings(root / "data.yaml") == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires(code: str, tmp_path: Path) -> None:
    root = CASES[code](tmp_path / "set")
    assert code in [c for c, _, _ in _findings(root)]


def test_rows_are_located_by_line(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "set", rows=BOX + "7 0.5 0.5 0.2 0.2\n" + BOX)
    label = str(root / "labels" / "train" / "a.txt")
    assert _findings(root) == [("Y002", label, 2), ("Y006", label, 3)]


def test_unknown_reader_problems_are_kept(tmp_path: Path) -> None:
    """A reader warning without a rule of its own is the format's catch-all rule, with the
    reader's key in the message."""
    rules = {k: v for k, v in yolo.FORMAT.rules.items() if k != "no_names"}
    root = CASES["Y012"](tmp_path / "set")
    by_file = reader_findings(replace(yolo.FORMAT, rules=rules), root, Settings())
    found = [d for diagnostics in by_file.values() for d in diagnostics]
    assert [d.code for d in found] == ["Y015"]
    assert found[0].message.endswith("[no_names]")


def test_every_rule_of_the_table_is_a_yolo_rule() -> None:
    assert set(yolo.FORMAT.rules.values()) == {c for c in RULES if c.startswith("Y")} - {
        "Y001",
        "Y015",
    }


def test_label_files_are_only_read_without_fix(tmp_path: Path) -> None:
    root = CASES["Y006"](tmp_path / "set")
    label = root / "labels" / "train" / "a.txt"
    before = label.read_bytes()
    result = CliRunner().invoke(main, ["validate", str(root)])
    assert result.exit_code == 0  # a warning
    assert "Y006" in result.stdout
    assert "[fixable]" in result.stdout
    assert label.read_bytes() == before


def _repeats(root: Path) -> Path:
    """Rows 1 and 3 repeat row 1 (3 with other spacing), row 5 is bad; a BOM, CRLF lines."""
    label = root / "labels" / "train" / "a.txt"
    rows = [
        BOX.strip(),
        "1 0.3 0.3 0.1 0.1",
        "0  0.5 0.5\t0.2 0.2",
        BOX.strip(),
        "7 0.5 0.5 0.2 0.2",
    ]
    label.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    return label


def test_diff_shows_the_repeated_rows_and_writes_nothing(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "set")
    label = _repeats(root)
    before = label.read_bytes()
    result = CliRunner().invoke(main, ["validate", "--diff", str(root)])
    assert result.exit_code == 1
    assert label.read_bytes() == before
    assert f"--- {label}\n+++ {label} (fixed)\n" in result.stdout
    assert (
        '@@ line 3 @@ Y006 drop the repeated row\n-"0  0.5 0.5\\t0.2 0.2\\r\\n"\n' in result.stdout
    )
    assert '@@ line 4 @@ Y006 drop the repeated row\n-"0 0.5 0.5 0.2 0.2\\r\\n"\n' in result.stdout


def test_fix_drops_repeated_rows_and_keeps_the_file_as_it_was(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "set")
    label = _repeats(root)
    result = CliRunner().invoke(main, ["validate", "--fix", str(root)])
    assert result.exit_code == 1  # changed files stop a commit, as with COCO fixes
    rows = [BOX.strip(), "1 0.3 0.3 0.1 0.1", "7 0.5 0.5 0.2 0.2"]
    assert label.read_bytes() == b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n"
    # What is left is reported on the lines as they are now.
    assert _findings(root) == [("Y002", str(label), 3)]
    again = CliRunner().invoke(main, ["validate", "--fix", str(root)])
    assert again.exit_code == 1  # Y002 is an error and has no fix
    assert label.read_bytes() == b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n"
    assert "Y006" not in again.stdout


def test_fix_without_repeats_writes_nothing(tmp_path: Path) -> None:
    root = CASES["Y002"](tmp_path / "set")
    label = root / "labels" / "train" / "a.txt"
    stamp = label.stat().st_mtime_ns
    result = CliRunner().invoke(main, ["validate", "--fix", str(root)])
    assert result.exit_code == 1
    assert label.stat().st_mtime_ns == stamp


def _real_layout(root: Path, yaml: str, extra: tuple[str, ...] = ()) -> Path:
    """A real data.yaml with a real label file, laid out as its paths say."""
    shutil.copy(REALDATA / yaml, root / "data.yaml")
    for name in extra:
        shutil.copy(REALDATA / name, root / Path(name).name.split("-")[-1])
    return root


def test_label_studio_export_with_hand_written_yaml(tmp_path: Path) -> None:
    """'keybaord' in classes.txt vs 'keyboard' in data.yaml, an absolute macOS path, and
    val pointing at train's images."""
    root = tmp_path / "mousekb"
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "labels").mkdir(parents=True)
    _real_layout(root, "yolo/ls-yolo-mousekb-data.yaml", ("yolo/ls-yolo-mousekb-classes.txt",))
    shutil.copy(REALDATA / "yolo/ls-yolo-mousekb-9431dbfe.txt", root / "train/labels/x.txt")
    Image.new("RGB", (64, 48)).save(root / "train" / "images" / "x.jpg")
    found = _findings(root)
    assert {"Y010", "Y011", "Y013"} <= {c for c, _, _ in found}
    # The disagreement is reported on data.yaml (the names ultralytics uses).
    assert ("Y010", str(root / "data.yaml"), None) in found


def test_windows_path_in_yaml(tmp_path: Path) -> None:
    root = tmp_path / "interior"
    (root / "yolo" / "images").mkdir(parents=True)
    (root / "yolo" / "labels").mkdir(parents=True)
    _real_layout(root, "yolo/ls-yolo-interior-config.yaml")
    shutil.copy(REALDATA / "yolo/ls-yolo-interior-78b77b52-14.txt", root / "yolo/labels/x.txt")
    Image.new("RGB", (64, 48)).save(root / "yolo" / "images" / "x.jpg")
    codes = [c for c, _, _ in _findings(root)]
    assert "Y013" in codes
    assert "Y011" in codes  # val is train


def test_dota_rows_are_not_yolo(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "set")
    shutil.copy(
        REALDATA / "yolo/datumaro-roboflow-yolo_obb-train_001.txt",
        root / "labels" / "train" / "a.txt",
    )
    assert {c for c, _, _ in _findings(root)} == {"Y004"}


def test_near_duplicate_names_from_labelimg(tmp_path: Path) -> None:
    names = (REALDATA / "yolo/labelimg-plates-classes.txt").read_text().splitlines()
    yaml = "path: .\ntrain: images/train\nval: images/val\nnames:\n" + "".join(
        f"  - '{n}'\n" for n in names
    )
    root = _dataset(tmp_path / "set", yaml=yaml)
    shutil.copy(REALDATA / "yolo/labelimg-plates-0007.txt", root / "labels/train/a.txt")
    found = validate_target(root, Settings())
    messages = [d.message for r in found for d in r.diagnostics if d.code == "Y016"]
    assert messages == ["class names 'RAE 734W' and 'RAE 734 W' differ only in case or spacing"]


def test_cvat_pose_export_is_clean(tmp_path: Path) -> None:
    root = tmp_path / "salmon"
    for split in ("train", "val", "test"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        Image.new("RGB", (64, 48)).save(root / "images" / split / "x.jpg")
        shutil.copy(
            REALDATA / "yolo_pose/cvat-ultralytics-pose-salmon-frame_000540.txt",
            root / "labels" / split / "x.txt",
        )
    shutil.copy(REALDATA / "yolo_pose/cvat-ultralytics-pose-salmon-data.yaml", root / "data.yaml")
    codes = [c for c, _, _ in _findings(root)]
    assert codes == ["Y013"]  # only the exporting machine's absolute path


def test_a_folder_that_is_no_dataset(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (result,) = validate_target(tmp_path, Settings())
    assert [d.code for d in result.diagnostics] == ["F003"]
