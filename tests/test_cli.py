"""The command line: verbs, output, exit status, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import coco_convert
from coco_convert.cli import main
from coco_convert.schemas.export import schema_path

from .conftest import REALDATA

CVAT = REALDATA / "coco_cvat/cvat-coco-street-instances_default.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a new process: what users and pre-commit see."""
    return subprocess.run(
        [sys.executable, "-m", "coco_convert", *args], capture_output=True, text=True, check=False
    )


def test_version() -> None:
    code, out, _ = run("--version")
    assert (code, out) == (0, f"coco-convert, version {coco_convert.__version__}\n")


def test_info_counts() -> None:
    code, out, err = run("info", str(CVAT))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{CVAT}: COCO instances"
    assert "  images                              1" in lines
    assert "  annotations                        16" in lines
    assert "  categories                          2" in lines
    assert "  segmentation: empty 15, polygon 1" in lines
    assert any(line.split() == ["1", "person", "10", "1"] for line in lines)
    assert any(line.split() == ["2", "car", "6", "1"] for line in lines)


def test_info_json() -> None:
    code, out, _ = run(
        "info", "--json", str(REALDATA / "coco_keypoints/datumaro-person_keypoints_val.json")
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["kind"] == "keypoints"
    assert summary["keypoints"] == {"annotations": 2, "labelled": 6}
    assert summary["segmentation"] == {"polygon": 1, "rle-uncompressed": 1}
    assert [c["annotations"] for c in summary["categories"]] == [1, 1]


def test_info_on_results_and_panoptic() -> None:
    code, out, _ = run(
        "info", "--json", str(REALDATA / "coco_results/cocoapi-fakebbox100_results.json")
    )
    assert code == 0
    summary = json.loads(out)
    assert (summary["kind"], summary["results"], summary["geometry"]) == (
        "results",
        734,
        {"bbox": 734},
    )
    code, out, _ = run(
        "info", "--json", str(REALDATA / "coco_panoptic/panopticapi-panoptic_examples.json")
    )
    summary = json.loads(out)
    assert (summary["kind"], summary["annotations"]) == ("panoptic", 2)
    assert summary["segments"] == sum(c["annotations"] for c in summary["categories"])


@pytest.mark.parametrize("kind", coco_convert.schemas.KINDS)
def test_schema_prints_the_checked_in_file(kind: str) -> None:
    code, out, _ = run("schema", "--kind", kind)
    assert code == 0
    assert out == schema_path(kind).read_text(encoding="utf-8")  # type: ignore[arg-type]
    assert json.loads(out)["$schema"].startswith("https://json-schema.org/")


def test_bad_inputs_give_one_line_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [\n  {"id": 1,}\n]}')
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps(
            {
                "images": [],
                "categories": [],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}],
            }
        )
    )
    expected = {
        tmp_path / "missing.json": f"{tmp_path / 'missing.json'}: no such file",
        tmp_path: f"{tmp_path}: is a directory, not a file",
        empty: f"{empty}: is empty (expected a COCO JSON document)",
        broken: f"{broken}:2:11: invalid JSON: trailing comma is not allowed",
        wrong: f"{wrong}:/annotations/0/bbox: expected 4 numbers, got 3",
    }
    for path, message in expected.items():
        proc = run_process("info", str(path))
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.startswith(f"coco-convert: error: {message}"), proc.stderr
        assert len(proc.stderr.splitlines()) == 1
        assert "Traceback" not in proc.stderr


def test_many_schema_problems_are_summarised() -> None:
    proc = run_process(
        "info", str(REALDATA / "coco_makesense/makesense-labels_my-project-name_2025-04-03.json")
    )
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 7
    assert all(line.endswith("missing required key 'category_id'") for line in lines)


def test_usage_errors_exit_2() -> None:
    assert run("info")[0] == 2
    assert run("info", "--nope", str(CVAT))[0] == 2
    assert run("frobnicate")[0] == 2
    assert run("schema", "--kind", "nope")[0] == 2


def test_help_lists_the_verbs() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "info" in out
    assert "schema" in out


def test_progress_bars_only_when_turned_on() -> None:
    from tqdm import tqdm

    from coco_convert import progress

    items = [1, 2, 3]
    assert progress.track(items, total=3) is items
    with progress.enabled():
        bar = progress.track(items, total=3, desc="x")
        assert isinstance(bar, tqdm)
        assert list(bar) == items
        assert progress.track(items, total=1) is items  # one step is not worth a bar
    with progress.enabled(False):
        assert progress.track(items, total=3) is items


def test_quiet_is_accepted_and_changes_no_output() -> None:
    assert run("--quiet", "info", str(CVAT))[:2] == run("info", str(CVAT))[:2]


def test_every_verb_is_listed_and_loads() -> None:
    """`VERBS` names each verb's module and the registry makes the format conversions; a verb
    without its line there would vanish, and every verb listed must load."""
    import click

    from coco_convert.cli.app import VERBS
    from coco_convert.cli.convert import conversion_verbs

    ctx = click.Context(main)
    names = main.list_commands(ctx)
    expected = set(VERBS) | set(conversion_verbs())
    assert set(names) == expected
    assert {"voc2coco", "coco2voc", "yolo2coco", "coco2yolo", "masks2coco"} <= expected
    for name in names:
        command = main.get_command(ctx, name)
        assert command is not None
        assert command.name == name
    code, out, _ = run("--help")
    assert code == 0
    assert all(f"  {verb} " in out for verb in expected)


def test_xml_and_validate_verbs_start_without_the_numeric_stack(tmp_path: Path) -> None:
    """voc2coco on plain XML and validate's start never import numpy, shapely, pycocotools or
    Pillow: startup is most of a small conversion and of every pre-commit run."""
    probe = (
        "import sys\n"
        "from coco_convert.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "heavy = {'numpy', 'shapely', 'pycocotools', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    xml = Path(__file__).parents[1] / "fixtures/voc/labelimg"
    out = tmp_path / "out.json"
    for args in (
        ["validate", "--help"],
        ["voc2coco", str(xml), "--coords", "zero-based", "-o", str(out)],
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["annotations"]


def test_a_verb_run_in_process_leaves_the_collectors_thresholds_as_they_were() -> None:
    """The CLI puts off full collections (its process is short-lived); not for its host."""
    import gc

    from click.testing import CliRunner

    from coco_convert.cli import main

    before = gc.get_threshold()
    result = CliRunner().invoke(main, ["formats"])
    assert result.exit_code == 0, result.output
    assert gc.get_threshold() == before
