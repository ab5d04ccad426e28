"""`convert SRC --to FMT`, `formats`, and the conversion verbs made from the registry."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from coco_convert import registry
from coco_convert.cli import main
from coco_convert.errors import UsageError

from .conftest import FIXTURES

DEVKIT = FIXTURES / "voc" / "datumaro-one-based"
YOLO = FIXTURES / "yolo" / "coco-val2014"


def cli(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args: object) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative path -> bytes)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _without_provenance(data: bytes) -> bytes:
    """data.yaml without its first line, which names the files it was written from (the
    VOC folder through convert, the intermediate COCO file through the two verbs)."""
    first, _, rest = data.partition(b"\n")
    assert first.startswith(b"# YOLO ")
    assert b" written by coco-convert " in first
    return rest


def test_voc_to_yolo_equals_voc2coco_then_coco2yolo(tmp_path: Path) -> None:
    for split in ("train", None):
        picked = ["--split", split] if split else []
        direct = tmp_path / f"direct-{split}"
        ok("convert", DEVKIT, "--to", "yolo", "-o", direct, *picked)
        coco = tmp_path / f"instances_{split or 'default'}.json"
        ok("voc2coco", DEVKIT, "-o", coco, *picked)
        chained = tmp_path / f"chained-{split}"
        ok("coco2yolo", coco, "-o", chained)
        got, expected = tree(direct), tree(chained)
        assert sorted(got) == sorted(expected)
        labels = [name for name in got if name.startswith("labels/")]
        assert labels
        assert all(got[name] == expected[name] for name in labels)
        assert any(got[name] for name in labels)  # boxes were written
        yaml = "data.yaml"
        assert _without_provenance(got[yaml]) == _without_provenance(expected[yaml])


def test_yolo_to_voc_equals_yolo2coco_then_coco2voc(tmp_path: Path) -> None:
    direct = tmp_path / "direct"
    ok("convert", YOLO / "data.yaml", "--to", "voc", "-o", direct)
    coco = tmp_path / "coco"
    ok("yolo2coco", YOLO / "data.yaml", "-o", coco)
    chained = tmp_path / "chained"
    ok("coco2voc", coco / "instances_train.json", coco / "instances_val.json", "-o", chained)
    got = tree(direct)
    assert got == tree(chained)
    xml = [name for name in got if name.startswith("Annotations/")]
    assert xml
    assert b"<object>" in got[xml[0]] + got[xml[-1]]
    assert sorted(n for n in got if n.startswith("ImageSets/")) == [
        "ImageSets/Main/train.txt",
        "ImageSets/Main/val.txt",
    ]


def test_one_report_covers_both_legs(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = ok("convert", YOLO, "--to", "voc", "-o", tmp_path / "out", "--report", report)
    saved = json.loads(report.read_text())
    assert saved["conversion"] == "yolo2voc"
    # read: images and annotations; written: XML files and objects; a warning of the reader
    # (train and val are the same folder) and losses of the writer, in one report
    assert {"images", "annotations", "xml_files", "objects"} <= set(saved["counts"])
    assert "splits_share_images" in saved["warnings"]
    assert "xml_name_collision" in saved["warnings"]
    assert saved["losses"]
    assert result.output.startswith("yolo2voc: ")


def test_strict_refuses_and_writes_nothing(tmp_path: Path) -> None:
    result = cli("convert", YOLO, "--to", "voc", "-o", tmp_path / "out", "--strict")
    assert result.exit_code == 1
    assert "refused (--strict)" in result.output
    assert "splits_share_images" in result.output
    assert not (tmp_path / "out").exists()


def test_detection_needs_no_from_and_ambiguity_lists_the_candidates(tmp_path: Path) -> None:
    both = tmp_path / "both"
    shutil.copytree(DEVKIT, both)
    shutil.copy(YOLO / "data.yaml", both / "data.yaml")
    result = cli("convert", both, "--to", "coco", "-o", tmp_path / "x.json")
    assert result.exit_code == 2
    assert "could be any of: voc, yolo; pass --from FORMAT" in result.output
    ok("convert", both, "--from", "voc", "--to", "coco", "-o", tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text())["annotations"]
    unknown = tmp_path / "notes"
    unknown.mkdir()
    (unknown / "a.txt").write_text("hello\n")
    result = cli("convert", unknown, "--to", "coco", "-o", tmp_path / "y.json")
    assert result.exit_code == 2
    assert "cannot tell the format of" in result.output
    assert "--from" in result.output


def test_usage_errors_name_what_is_known(tmp_path: Path) -> None:
    result = cli("convert", DEVKIT, "--to", "labelbox", "-o", tmp_path / "o")
    assert result.exit_code == 2
    known = ", ".join(fmt.name for fmt in registry.FORMATS)
    assert f"unknown format 'labelbox' (known formats: {known})" in result.output
    result = cli("convert", DEVKIT, "--to", "coco", "-o", tmp_path / "o.json", "--task", "pose")
    assert result.exit_code == 2
    assert "--task is not an option of reading voc or writing coco" in result.output
    assert "writing yolo" in result.output
    result = cli("convert", DEVKIT, "--to", "masks", "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert "masks cannot be written" in result.output
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "o.json").exists()


def test_options_go_to_each_leg_that_takes_them(tmp_path: Path) -> None:
    """--coords is an option of reading and of writing VOC: voc -> voc keeps the boxes."""
    out = tmp_path / "again"
    ok("convert", DEVKIT, "--to", "voc", "-o", out, "--coords", "zero-based")
    before = tree(DEVKIT / "Annotations")
    written = tree(out / "Annotations")
    for name in before:
        assert b"<xmin>" in written[name]
        for tag in (b"<xmin>", b"<ymax>"):
            assert before[name].count(tag) == written[name].count(tag)


def test_output_never_replaces_the_input(tmp_path: Path) -> None:
    coco = tmp_path / "instances_a.json"
    shutil.copy(FIXTURES / "coco" / "instances.json", coco)
    before = coco.read_bytes()
    result = cli("convert", coco, "--to", "coco", "-o", coco)
    assert result.exit_code == 2
    assert "would overwrite the input" in result.output
    assert coco.read_bytes() == before


def test_formats_lists_what_is_read_and_written() -> None:
    listed = json.loads(ok("formats", "--json").output)
    by_name = {entry["name"]: entry for entry in listed}
    for name in ("coco", "voc", "yolo"):
        assert by_name[name]["read"] is True
        assert by_name[name]["write"] is True
    assert by_name["masks"]["read"] is True
    assert by_name["masks"]["write"] is False
    assert "--coords" in [f for o in by_name["voc"]["read_options"] for f in o["flags"]]
    assert {"--copy", "--symlink"} <= {
        f for o in by_name["yolo"]["write_options"] for f in o["flags"]
    }
    text = ok("formats").output
    assert text.splitlines()[0].split()[:2] == ["coco", "read/write"]
    assert re.search(r"^masks +read ", text, re.M)  # (the column is as wide as the longest name)


def test_verbs_keep_their_options() -> None:
    """The verbs made from the registry take the options they always took."""
    expected = {
        "voc2coco": ["--split", "--labels", "--synsets", "--coords", "--skip-difficult",
                     "--image-ids", "--images", "--masks", "--rle", "--indent", "--jobs",
                     "--report", "--strict"],
        "coco2voc": ["--coords", "--split", "--masks", "--overwrite", "--jobs", "--report",
                     "--strict"],
        "yolo2coco": ["--split", "--images", "--indent", "--jobs", "--report", "--strict"],
        "coco2yolo": ["--task", "--images", "--copy", "--symlink", "--layout", "--split",
                      "--include-crowd", "--overwrite", "--jobs", "--report", "--strict"],
        "masks2coco": ["--kind", "--images", "--labels", "--class-masks", "--rle", "--holes",
                       "--tolerance", "--min-area", "--report"],
    }  # fmt: skip
    for verb, flags in expected.items():
        text = ok(verb, "--help").output
        for flag in ["-o, --output", *flags]:
            assert flag in text, f"{verb} lost {flag}"


def test_the_library_converts_as_the_command_line(tmp_path: Path) -> None:
    report = registry.convert(DEVKIT, tmp_path / "lib.json", to="coco", options={"split": "train"})
    assert report.conversion == "voc2coco"
    assert report.counts["images"] == 2
    ok("voc2coco", DEVKIT, "--split", "train", "-o", tmp_path / "cli.json")
    assert (tmp_path / "lib.json").read_bytes() == (tmp_path / "cli.json").read_bytes()
    with pytest.raises(UsageError, match="--task is not an option of reading voc"):
        registry.convert(DEVKIT, tmp_path / "x.json", to="coco", options={"task": "pose"})
