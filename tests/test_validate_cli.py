"""``coco-convert validate`` end to end: exit status, output formats, --fix, --diff, config,
and the real pre-commit hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from coco_convert.cli import main
from coco_convert.validate import RULES
from tests.conftest import ROOT
from tests.validate_cases import BASES, corrupted


def _write(path: Path, doc: Any, *, indent: int | None = None) -> Path:
    if indent is None:
        path.write_bytes(orjson.dumps(doc))
    else:
        path.write_text(json.dumps(doc, indent=indent) + "\n")
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", *args], catch_exceptions=False)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    _, doc = corrupted("G102")  # a warning with a safe fix
    doc["annotations"][1]["bbox"] = [10.0, 10.0, 0.0, 10.0]  # G101, an error
    return _write(tmp_path / "bad.json", doc, indent=2)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return _write(tmp_path / "good.json", BASES["instances"]())


def test_clean_file_exits_zero(good: Path) -> None:
    result = _run(str(good))
    assert result.exit_code == 0
    assert result.output == "All checks passed (1 file).\n"


def test_findings_read_like_a_linter(bad: Path) -> None:
    result = _run(str(bad))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        f"{bad}:/annotations/0/bbox: G102 bbox extends 10 px past the image's right edge"
        in (lines[0])
    )
    assert lines[0].endswith("[fixable] (warning)")
    assert lines[1] == f"{bad}:/annotations/1/bbox: G101 bbox has width 0 and height 10"
    assert lines[-1] == ("Found 2 problems (1 error, 1 warning) in 1 file; 1 fixable with --fix.")


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    _, doc = corrupted("G102")
    assert _run(str(_write(tmp_path / "w.json", doc))).exit_code == 0


def test_exit_zero(bad: Path) -> None:
    assert _run("--exit-zero", str(bad)).exit_code == 0


def test_usage_errors_exit_two(good: Path) -> None:
    assert _run().exit_code == 2
    assert _run("--select", "Q999", str(good)).exit_code == 2
    assert _run("--explain", "Z123").exit_code == 2
    assert _run("--images", str(good), str(good)).exit_code == 2


def test_select_and_ignore(bad: Path) -> None:
    assert "G102" not in _run("--ignore", "G102", str(bad)).output
    only = _run("--select", "G1", "--ignore", "G101", str(bad))
    assert "G102" in only.output
    assert "G101" not in only.output
    assert only.exit_code == 0


def test_fix_rewrites_in_place_and_exits_one(bad: Path) -> None:
    result = _run("--fix", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:/annotations/0/bbox: G102 fixed: clip the bbox to the image" in result.output
    assert "Fixed 1 problem." in result.output
    fixed = json.loads(bad.read_text())
    assert fixed["annotations"][0]["bbox"] == [90.0, 10.0, 10.0, 10.0]
    # Layout kept: indented by 2 with a final newline, as the input was.
    assert bad.read_text().startswith('{\n  "info"')
    assert bad.read_text().endswith("}\n")
    # Fixed again: nothing left to fix, the error stays.
    again = _run("--fix", "--select", "G102", str(bad))
    assert again.exit_code == 0


def test_diff_shows_and_does_not_write(bad: Path) -> None:
    before = bad.read_bytes()
    result = _run("--diff", str(bad))
    assert result.exit_code == 1
    assert bad.read_bytes() == before
    assert "@@ /annotations/0/bbox @@ G102 clip the bbox to the image" in result.output
    assert "-[90.0,10.0,20.0,10.0]\n+[90.0,10.0,10.0,10.0]" in result.output
    assert "Would fix 1 problem." in result.output


def test_no_fix_never_writes(bad: Path) -> None:
    before, mtime = bad.read_bytes(), bad.stat().st_mtime_ns
    for output_format in ("text", "json", "github", "sarif"):
        _run("--output-format", output_format, "--statistics", str(bad))
    assert bad.read_bytes() == before
    assert bad.stat().st_mtime_ns == mtime


def test_json_output(bad: Path) -> None:
    result = _run("--output-format", "json", str(bad))
    payload = json.loads(result.output)
    assert payload["summary"]["errors"] == 1
    assert payload["summary"]["warnings"] == 1
    first = payload["diagnostics"][0]
    assert first["code"] == "G102"
    assert first["name"] == "bbox-past-edge"
    assert first["location"]["pointer"] == "/annotations/0/bbox"
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [
        {"op": "replace", "path": "/annotations/0/bbox", "value": [90.0, 10.0, 10.0, 10.0]}
    ]


def test_github_output(bad: Path) -> None:
    lines = _run("--output-format", "github", str(bad)).output.splitlines()
    # bad.json is indented: the annotation lands on the line of the pointed-to value.
    row = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if '"bbox": [' in text)
    assert lines[0].startswith(
        f"::warning file={bad},line={row},col=15,title=G102 bbox-past-edge::"
    )
    assert lines[1].startswith("::error ")


def test_github_output_has_line_for_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n "images": [}\n')
    line = _run("--output-format", "github", str(path)).output.strip()
    assert line.startswith(f"::error file={path},line=2,col=")


def test_sarif_output(bad: Path) -> None:
    log = json.loads(_run("--output-format", "sarif", str(bad)).output)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == set(RULES)
    first = run["results"][0]
    assert first["ruleId"] == "G102"
    assert first["level"] == "warning"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "/annotations/0/bbox"
    )


def test_statistics(bad: Path) -> None:
    output = _run("--statistics", str(bad)).output.splitlines()
    assert output[0].split() == ["1", "G101", "empty-bbox", "error"]
    assert output[-1].startswith("Found 2 problems")


@pytest.mark.parametrize("flags", [(), ("--diff",), ("--select", "I")])
def test_statistics_ends_with_the_text_summary(bad: Path, flags: tuple[str, ...]) -> None:
    text = _run(*flags, str(bad)).output.splitlines()
    statistics = _run("--statistics", *flags, str(bad)).output.splitlines()
    assert statistics[-1] == text[-1]


@pytest.mark.parametrize("code", sorted(RULES))
def test_explain_every_rule(code: str) -> None:
    result = _run("--explain", code.lower())
    assert result.exit_code == 0
    assert result.output.startswith(f"{code} {RULES[code].name} (")


def test_explain_all_lists_rules() -> None:
    lines = _run("--explain", "ALL").output.splitlines()
    assert [line.split()[0] for line in lines] == list(RULES)


def test_config_from_pyproject(bad: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = bad.parent
    (project / "pyproject.toml").write_text(
        '[tool.coco-convert.validate]\nignore = ["G101"]\nedge-tolerance = 20\n'
        'per-file-ignores = { "other/*.json" = ["G"] }\n'
    )
    monkeypatch.chdir(project)
    assert _run("bad.json").output == "All checks passed (1 file).\n"
    (project / "other").mkdir()
    shutil.copy(bad, project / "other" / "bad.json")
    (project / "pyproject.toml").write_text(
        '[tool.coco-convert.validate]\nper-file-ignores = { "other/*.json" = ["G"] }\n'
    )
    assert _run("other/bad.json").exit_code == 0
    assert _run("bad.json").exit_code == 1


def test_bad_config_is_a_usage_error(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (good.parent / "pyproject.toml").write_text('[tool.coco-convert.validate]\nselekt = ["G"]\n')
    monkeypatch.chdir(good.parent)
    result = _run("good.json")
    assert result.exit_code == 2
    assert "unknown key in [tool.coco-convert.validate]: selekt" in result.output


def test_gzip_input_is_fixed_as_gzip(tmp_path: Path) -> None:
    import gzip

    _, doc = corrupted("G102")
    path = tmp_path / "doc.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps(doc)))
    assert _run("--fix", str(path)).exit_code == 1
    fixed = orjson.loads(gzip.decompress(path.read_bytes()))
    assert fixed["annotations"][0]["bbox"] == [90.0, 10.0, 10.0, 10.0]


def test_gzip_input_keeps_its_layout(tmp_path: Path) -> None:
    import gzip

    _, doc = corrupted("G102")
    path = tmp_path / "doc.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc, indent=4).encode() + b"\n"))
    assert _run("--fix", str(path)).exit_code == 1
    text = gzip.decompress(path.read_bytes()).decode()
    assert text.startswith('{\n    "')
    assert text.endswith("}\n")
    assert json.loads(text)["annotations"][0]["bbox"] == [90.0, 10.0, 10.0, 10.0]


# --- the real pre-commit hook ----------------------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """pre-commit installs this repository's hook into its own environment (pip, from the
    working tree) and runs it on a repository holding a bad and a good COCO file."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    data = tmp_path / "data"
    data.mkdir()
    _, doc = corrupted("G101")
    _write(data / "bad.json", doc)
    _write(data / "good.json", BASES["instances"]())
    (data / "package.txt").write_text("not json\n")
    _git(data, "init", "-q")
    _git(data, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "try-repo", str(ROOT), "coco-validate", "--files", *files],
            cwd=data,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    failed = try_repo("bad.json", "good.json", "package.txt")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bad.json:/annotations/0/bbox: G101 bbox has width 0 and height 10" in failed.stdout
    assert "good.json" not in failed.stdout.split("hook id: coco-validate", 1)[1]
    passed = try_repo("good.json", "package.txt")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def test_readme_example_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README shows the first findings and the summary of the bundled broken fixture."""
    monkeypatch.chdir(ROOT)
    shown = (ROOT / "README.md").read_text(encoding="utf-8")
    block = shown.split("$ coco-convert validate fixtures/validate/broken.json\n", 1)[1]
    block = block.split("\n$ ", 1)[0].splitlines()
    output = _run("fixtures/validate/broken.json").output.splitlines()
    assert block[:3] == output[:3]
    assert block[-1] == output[-1]


def test_fixes_reach_the_items_of_a_top_level_list() -> None:
    """Results files are JSON arrays and label files lists of lines: a fix at ``/1`` edits
    the document's own items."""
    from coco_convert.validate.diagnostics import Diagnostic, Fix, Location
    from coco_convert.validate.fixes import apply_fixes

    drop = Diagnostic("Y006", "repeat", Location("f", line=2), "warning", Fix.remove("drop", "/1"))
    change = Diagnostic("D001", "bad", Location("f", "/2"), "error", Fix.replace("set", "/2", "C"))
    document, applied = apply_fixes(["a", "b", "c"], [drop, change])
    assert document == ["a", "C"]
    assert [fix.diagnostic.code for fix in applied] == ["Y006", "D001"]
