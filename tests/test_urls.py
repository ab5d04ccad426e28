"""Inputs and outputs named by URL: ``file://`` (a local path) and fsspec URLs (here
fsspec's in-memory filesystem, ``memory://``, which needs no network: ``s3://`` and ``gs://``
go the same way through s3fs and gcsfs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from click.testing import CliRunner

from coco_convert.cli import main

from .conftest import FIXTURES

INSTANCES = FIXTURES / "coco" / "instances.json"
SHARDS = FIXTURES / "sa1b" / "shards"


@pytest.fixture
def memory() -> Iterator[fsspec.AbstractFileSystem]:
    fs = fsspec.filesystem("memory")
    yield fs
    if fs.exists("/test"):
        fs.rm("/test", recursive=True)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_file_urls_are_paths(tmp_path: Path) -> None:
    _run("poly2rle", str(INSTANCES), "-o", str(tmp_path / "local.json"))
    _run("poly2rle", INSTANCES.as_uri(), "-o", (tmp_path / "url.json").as_uri())
    assert (tmp_path / "url.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    _run("sa1b2coco", str(SHARDS), "-o", str(tmp_path / "sa1b.json"))
    _run("sa1b2coco", SHARDS.as_uri(), "-o", (tmp_path / "sa1b-url.json").as_uri())
    assert (tmp_path / "sa1b-url.json").read_bytes() == (tmp_path / "sa1b.json").read_bytes()


def test_a_file_url_of_another_host_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["poly2rle", "file://elsewhere/x.json", "-o", str(tmp_path / "o.json")]
    )
    assert result.exit_code == 2
    assert "names a file on this machine" in result.output


def test_fsspec_urls_in_and_out(memory: fsspec.AbstractFileSystem, tmp_path: Path) -> None:
    memory.pipe("/test/instances.json", INSTANCES.read_bytes())
    _run("poly2rle", str(INSTANCES), "-o", str(tmp_path / "rle.json"))
    _run("poly2rle", "memory://test/instances.json", "-o", "memory://test/out/rle.json")
    assert memory.cat("/test/out/rle.json") == (tmp_path / "rle.json").read_bytes()
    _run("rle2poly", "memory://test/out/rle.json", "-o", str(tmp_path / "back.json"), "-j", "1")
    _run("rle2poly", str(tmp_path / "rle.json"), "-o", str(tmp_path / "local.json"), "-j", "1")
    assert (tmp_path / "back.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_sa1b_shards_read_from_urls_by_the_tasks(
    memory: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    for shard in SHARDS.glob("*.tar"):
        memory.pipe(f"/test/shards/{shard.name}", shard.read_bytes())
    _run("sa1b2coco", str(SHARDS), "-o", str(tmp_path / "local.json"))
    # (-j 1: memory:// lives in this process; the workers of -j 2 or a cluster open s3:// etc.)
    _run("sa1b2coco", "memory://test/shards", "-o", str(tmp_path / "url.json"), "-j", "1")
    assert (tmp_path / "url.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    _run(
        "convert",
        "memory://test/shards",
        "--from",
        "sa1b",
        "--to",
        "coco",
        "-o",
        "memory://test/c.json",
        "-j",
        "1",
    )
    assert memory.cat("/test/c.json") == (tmp_path / "local.json").read_bytes()


def test_a_url_needs_its_format_named(memory: fsspec.AbstractFileSystem, tmp_path: Path) -> None:
    memory.pipe("/test/instances.json", INSTANCES.read_bytes())
    result = CliRunner().invoke(
        main, ["convert", "memory://test/instances.json", "--to", "yolo", "-o", str(tmp_path / "y")]
    )
    assert result.exit_code == 2
    assert "pass --from FORMAT" in result.output
    # named, it is fetched for the reader (COCO's reads paths)
    _run(
        "convert",
        "memory://test/instances.json",
        "--from",
        "coco",
        "--to",
        "yolo",
        "-o",
        str(tmp_path / "y"),
    )
    assert list((tmp_path / "y").rglob("*.txt"))


def test_a_missing_url_is_an_input_error(memory: fsspec.AbstractFileSystem, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["sa1b2coco", "memory://test/nothing", "-o", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 1
    assert "memory://test/nothing" in result.output
    assert "Traceback" not in result.output
