"""No data loss, no escape: outputs never replace their inputs, image lookups stay inside their
folder, multi-file outputs appear whole or not at all, and only regular files are read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import coco_convert
from coco_convert.cli import main
from coco_convert.converters.yolo import write_yolo
from coco_convert.dataset import Dataset
from coco_convert.errors import InputError, UsageError
from coco_convert.images import (
    ImageFileError,
    ImageOutsideFolderError,
    find_image,
    read_size,
)
from coco_convert.io import atomic_directory, atomic_files, read_file, read_text

from .conftest import FIXTURES
from .yolo_cases import make_images

INSTANCES = FIXTURES / "coco" / "instances.json"


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its bytes (symbolic links as their target)."""
    return {
        str(p.relative_to(folder)): (
            str(p.readlink()).encode() if p.is_symlink() else p.read_bytes()
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


# --- outputs that hold their inputs ------------------------------------------------------------


@pytest.mark.parametrize("verb", ["coco2voc", "coco2yolo"])
def test_overwrite_refuses_a_folder_holding_the_input(tmp_path: Path, verb: str) -> None:
    data = tmp_path / "data"
    (data / "annotations").mkdir(parents=True)
    source = data / "annotations" / "instances_val.json"
    source.write_bytes(INSTANCES.read_bytes())
    before = snapshot(tmp_path)
    for output in (data / "annotations", data, tmp_path):
        code, err = run(verb, source, "-o", output, "--overwrite")
        assert code == 2, err
        assert "holds the input" in err, err
        assert "choose another output folder" in err, err
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_folder_holding_the_images(tmp_path: Path) -> None:
    dataset = coco_convert.load(INSTANCES)
    images = make_images(dataset, tmp_path / "photos" / "val")
    (tmp_path / "photos" / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    for output in (images, images.parent):
        code, err = run(
            "coco2yolo", INSTANCES, "-o", output, "--images", images, "--copy", "--overwrite"
        )
        assert code == 2, err
        assert f"holds the input {images}" in err or f"would overwrite the input {images}" in err
    assert snapshot(tmp_path) == before


def test_output_dot_is_refused_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    for verb in ("coco2voc", "coco2yolo"):
        code, err = run(verb, INSTANCES, "-o", ".", "--overwrite")
        assert code == 2, err
        assert "the current folder" in err
    assert snapshot(tmp_path) == {"keep.txt": b"mine"}


def test_atomic_directory_replaces_a_sibling_folder_given_by_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    monkeypatch.chdir(tmp_path / "out")
    with (
        pytest.raises(UsageError, match="holds the current folder"),
        atomic_directory("..", overwrite=True),
    ):
        pass
    monkeypatch.chdir(tmp_path)
    with atomic_directory("out/../out", overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert snapshot(tmp_path) == {"out/new.txt": b"new"}


def test_file_outputs_refuse_their_inputs(tmp_path: Path) -> None:
    xml = tmp_path / "a.xml"
    xml.write_bytes((FIXTURES / "voc" / "labelimg" / "cat.xml").read_bytes())
    code, err = run("voc2coco", xml, "-o", xml, "--coords", "zero-based")
    assert code == 2, err
    assert "would overwrite the input" in err, err
    assert xml.read_bytes() == (FIXTURES / "voc" / "labelimg" / "cat.xml").read_bytes()


def test_an_output_below_a_file_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    code, err = run("poly2rle", INSTANCES, "-o", blocker / "out.json")
    assert code == 1
    assert f"{blocker} is a file, not a folder" in err, err


# --- images: containment ----------------------------------------------------------------------


def test_find_image_stays_inside_its_folder(tmp_path: Path) -> None:
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    (images / "sub" / "a.jpg").write_bytes(b"a")
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    (images / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    (images / "inner.jpg").symlink_to(images / "sub" / "a.jpg")
    (images / "pipe.jpg").mkdir()
    assert find_image(images, "sub/a.jpg") == (images / "sub" / "a.jpg").resolve()
    assert find_image(images, "sub\\a.jpg") == (images / "sub" / "a.jpg").resolve()
    assert find_image(images, "/sub/a.jpg") == (images / "sub" / "a.jpg").resolve()
    (images / "b.jpg").write_bytes(b"b")
    assert find_image(images, "flattened/b.jpg") == (images / "b.jpg").resolve()
    assert find_image(images, "inner.jpg") == (images / "sub" / "a.jpg").resolve()
    with pytest.raises(ImageOutsideFolderError):
        find_image(images, "../secret.jpg")
    with pytest.raises(ImageOutsideFolderError):
        find_image(images, "link.jpg")
    with pytest.raises(ImageFileError, match="not a regular file"):
        find_image(images, "pipe.jpg")
    with pytest.raises(ImageFileError, match="no file"):
        find_image(images, "missing.jpg")
    with pytest.raises(ImageFileError, match="no file"):
        find_image(images, "x/a.jpg", by_base_name=False)


@pytest.mark.parametrize("mode", ["--copy", "--symlink"])
def test_coco2yolo_places_no_image_from_outside_images(tmp_path: Path, mode: str) -> None:
    document = json.loads(INSTANCES.read_text())
    images = tmp_path / "images"
    images.mkdir()
    secret = tmp_path / "secret.jpg"
    make_images(coco_convert.load(INSTANCES), tmp_path / "make")
    first, second = document["images"]
    secret.write_bytes((tmp_path / "make" / first["file_name"]).read_bytes())
    (images / "link.jpg").symlink_to(secret)
    first["file_name"] = "../secret.jpg"
    second["file_name"] = "link.jpg"
    source = tmp_path / "instances_val.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    code, err = run("coco2yolo", source, "-o", out, "--images", images, mode, "--report", report)
    assert code == 0, err
    assert not list((out / "images").rglob("*.jpg"))  # neither was placed
    warnings = json.loads(report.read_text())["warnings"]
    assert warnings["image_outside_folder"]["count"] == 2
    assert len(list((out / "labels").rglob("*.txt"))) == 2  # the labels are still written


# --- every file or none -----------------------------------------------------------------------


def test_atomic_files_commits_all_or_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.json").write_text("old a")
    (folder / "a.json").chmod(0o600)
    (folder / "README").write_text("mine")
    with atomic_files(folder) as stage:
        (stage / "a.json").write_text("new a")
        (stage / "b.json").write_text("new b")
        assert snapshot(folder).keys() - {"a.json", "README"} <= {
            str(p.relative_to(folder)) for p in stage.parent.rglob("*")
        }  # nothing in sight yet but the hidden staging folder
        assert (folder / "a.json").read_text() == "old a"
    assert snapshot(folder) == {"a.json": b"new a", "README": b"mine", "b.json": b"new b"}
    assert (folder / "a.json").stat().st_mode & 0o777 == 0o600

    def fail_after_first_file(folder: Path) -> None:
        with atomic_files(folder) as stage:
            (stage / "a.json").write_text("newer a")
            raise RuntimeError("second split failed")

    with pytest.raises(RuntimeError):
        fail_after_first_file(folder)
    assert snapshot(folder) == {"a.json": b"new a", "README": b"mine", "b.json": b"new b"}

    fresh = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError):
        fail_after_first_file(fresh)
    assert not (tmp_path / "new").exists()


def test_atomic_files_undoes_its_moves_when_one_fails(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "b.json").mkdir(parents=True)  # a folder where a file should go
    (folder / "a.json").write_text("old a")

    def write_both() -> None:
        with atomic_files(folder) as stage:
            (stage / "a.json").write_text("new a")
            (stage / "b.json").write_text("new b")

    with pytest.raises(UsageError, match="is a folder"):
        write_both()
    assert (folder / "a.json").read_text() == "old a"
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json"]


def test_yolo2coco_writes_every_split_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = coco_convert.load(INSTANCES)
    images = make_images(dataset, tmp_path / "photos")
    yolo = tmp_path / "yolo"
    write_yolo({"train": dataset, "val": dataset}, yolo, images=images, image_mode="copy")
    out = tmp_path / "coco"
    real_save = Dataset.save
    calls: list[Any] = []

    def failing_save(self: Dataset, path: Any, **options: Any) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise InputError(str(path), "cannot write: No space left on device")
        real_save(self, path, **options)

    monkeypatch.setattr(Dataset, "save", failing_save)
    code, err = run("yolo2coco", yolo / "data.yaml", "-o", out)
    assert code == 1, err
    assert "No space left" in err, err
    assert not out.exists()
    monkeypatch.setattr(Dataset, "save", real_save)
    code, err = run("yolo2coco", yolo / "data.yaml", "-o", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["instances_train.json", "instances_val.json"]


# --- regular files only -----------------------------------------------------------------------


def test_read_file_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "labels.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a named pipe \(FIFO\), not a regular file"):
        read_file(fifo)  # returns at once: opened without blocking
    with pytest.raises(InputError, match="is a character device, not a regular file"):
        read_file("/dev/zero")
    big = tmp_path / "big.txt"
    big.write_bytes(b"0 0.5 0.5 0.1 0.1\n" * 1000)
    with pytest.raises(InputError, match=r"big.txt: is 0.0 MiB, larger than 0.0 MiB"):
        read_file(big, limit=100)
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfcat\n")
    assert read_text(tmp_path / "bom.txt") == "cat\n"
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(InputError, match=r"is not UTF-8 text \(invalid continuation byte"):
        read_text(tmp_path / "latin.txt")
    with pytest.raises(ImageFileError, match="not a regular file"):
        read_size(fifo)


def test_converters_refuse_a_fifo_instead_of_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a.xml")
    code, err = run("voc2coco", tmp_path / "a.xml", "-o", tmp_path / "out.json")
    assert code == 1, err
    assert "is a named pipe (FIFO), not a regular file" in err, err
    os.mkfifo(tmp_path / "in.json")
    code, err = run("info", tmp_path / "in.json")
    assert code == 1, err
    assert "not a regular file" in err, err

    dataset = coco_convert.load(INSTANCES)
    images = make_images(dataset, tmp_path / "photos")
    yolo = tmp_path / "yolo"
    write_yolo({"val": dataset}, yolo, images=images, image_mode="copy")
    label = next((yolo / "labels" / "val").glob("*.txt"))
    label.unlink()
    os.mkfifo(label)
    report = tmp_path / "report.json"
    code, err = run(
        "yolo2coco", yolo, "--split", "val", "-o", tmp_path / "back.json", "--report", report
    )
    assert code == 0, err
    unreadable = json.loads(report.read_text())["warnings"]["label_unreadable"]
    assert "not a regular file" in unreadable["examples"][0]["at"]
