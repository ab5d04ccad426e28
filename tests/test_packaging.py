"""What users without a checkout get: the wheel builds, installs into a fresh environment with
its dependencies from the package index, and works there (the JSON Schema files ship inside
it); and a fresh clone without the real exports runs every test that does not need them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import coco_convert
from coco_convert.schemas.coco import KINDS

from .conftest import FIXTURES, ROOT


def run(*args: str | Path, **options: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=900, **options
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done  # type: ignore[no-any-return]


def test_the_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT)
    (wheel,) = dist.glob("coco_convert-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for kind in KINDS:
        assert f"coco_convert/schemas/{kind}.schema.json" in names
    assert not [n for n in names if n.startswith(("tests/", "fixtures/"))]

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    cli = venv / "bin" / "coco-convert"
    assert run(cli, "--version").stdout == f"coco-convert, version {coco_convert.__version__}\n"
    schema = json.loads(run(cli, "schema", "--kind", "instances").stdout)
    shipped = ROOT / "coco_convert" / "schemas" / "instances.schema.json"
    assert schema == json.loads(shipped.read_text(encoding="utf-8"))
    out = tmp_path / "voc"
    run(cli, "coco2voc", FIXTURES / "coco" / "instances.json", "-o", out, cwd=tmp_path)
    assert len(list((out / "Annotations").glob("*.xml"))) == 2
    assert (out / "labelmap.txt").is_file()


def test_a_fresh_clone_without_the_real_exports(tmp_path: Path) -> None:
    """Outside CI the tests that need ../shared/realdata are deselected, with one line saying
    how many; in CI (CI set) the missing folder stops the run."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["COCO_CONVERT_SHARED"] = str(tmp_path)  # holds no realdata/
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cli.py"]
    done = run(*args, cwd=ROOT, env=env)
    assert f"tests need the real exports, which are not at {tmp_path / 'realdata'}" in done.stdout
    assert " deselected" in done.stdout
    assert " passed" in done.stdout
    failed = subprocess.run(
        args, cwd=ROOT, env={**env, "CI": "true"}, capture_output=True, text=True, check=False
    )
    assert failed.returncode != 0
    assert f"the real exports are not at {tmp_path / 'realdata'}" in failed.stderr
