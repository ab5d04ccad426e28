"""``validate --stream``: the findings of a file read a chunk at a time are those of the file
loaded whole, for every rule's corruption, the fixtures, the real exports and large,
shuffled files."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from coco_convert import streaming
from coco_convert.cli import main
from coco_convert.validate import streamed
from coco_convert.validate.context import Settings
from coco_convert.validate.runner import validate_path
from coco_convert.validate.streamed import validate_stream
from tests.validate_cases import CASES, corrupted

from .conftest import FIXTURES, REALDATA
from .test_streaming import _dataset


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 2_000)
    monkeypatch.setattr(streamed, "WINDOW", 7)


def _findings(result: Any) -> list[tuple[Any, ...]]:
    return [
        (d.code, d.message, str(d.location), d.severity, repr(d.fix)) for d in result.diagnostics
    ]


def _same(path: Path, settings: Settings | None = None) -> None:
    settings = settings or Settings()
    whole = validate_path(path, settings, write=False)
    chunked = validate_stream(path, settings)
    assert _findings(chunked) == _findings(whole)
    assert (chunked.format, chunked.tool) == (whole.format, whole.tool)


@pytest.mark.parametrize("code", sorted(CASES))
def test_every_rule(tmp_path: Path, code: str) -> None:
    _, document = corrupted(code)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(document))
    _same(path)


@pytest.mark.parametrize(
    "path",
    sorted([*(FIXTURES / "validate").glob("*.json"), *(FIXTURES / "coco").glob("*.json")])
    + sorted(REALDATA.glob("*/*.json")),
    ids=lambda p: p.name,
)
def test_fixtures_and_real_exports(path: Path) -> None:
    _same(path)


@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_large_files(tmp_path: Path, order: str) -> None:
    document = _dataset(1_200)
    rng = random.Random(3)
    anns = document["annotations"]
    anns[10]["id"] = anns[400]["id"]  # R002 across windows
    anns[20]["category_id"] = 99  # R005
    anns[30]["bbox"] = [1, 2, 3]  # S001
    anns[40]["bbox"] = [-5.0, 2.0, 3.0, 4.0]  # outside the image
    anns.append(dict(anns[50], id=10**6))  # R010, its twin far away in the file
    document["images"][900]["file_name"] = document["images"][3]["file_name"]  # I002
    document["images"][901]["width"] = 0  # I007
    document["categories"].append({"id": 0, "name": "zero"})  # R006, R008
    anns[60]["category_id"] = 0
    if order == "shuffled":
        rng.shuffle(anns)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document))
    settings = Settings()
    whole = validate_path(path, settings, write=False)
    assert {"R002", "R005", "S001", "R010", "I002", "I007", "R006"} <= {
        d.code for d in whole.diagnostics
    }
    _same(path, settings)


def test_cli_stream_and_fix_do_not_mix(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_dataset(10)))
    result = CliRunner().invoke(main, ["validate", "--stream", "--fix", str(path)])
    assert result.exit_code == 2
    assert "--fix" in result.output


def test_cli_stream_prints_the_same(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    document = _dataset(300)
    document["annotations"][5]["category_id"] = 42
    path.write_text(json.dumps(document))
    runner = CliRunner()
    outputs = [
        runner.invoke(main, ["validate", "--output-format", "json", *extra, str(path)])
        for extra in ([], ["--stream"])
    ]
    assert outputs[0].exit_code == outputs[1].exit_code == 1
    assert outputs[1].stdout == outputs[0].stdout


def test_large_files_stream_by_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "_available_memory", lambda: 10_000)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_dataset(30)))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert f"coco-convert: {path} is large for the memory available" in result.stderr
    # --fix needs the whole file: it is loaded, and nothing is said
    fixed = CliRunner().invoke(main, ["validate", "--diff", str(path)])
    assert "--stream" not in fixed.stderr
