"""The format contract, checked for every format in the registry (coco_convert/registry.py).

A format is tested here the moment its line is in the registry. What it must bring (see
CONTRIBUTING.md, "Adding a format"): its module with a ``FORMAT`` record, samples listed in
``fixtures/<name>/conformance.json`` (paths relative to ``fixtures/``, with the reader options
to read each), and ``docs/<name>.md``. Then:

* the record: unique names, known kinds, rule codes that exist, a docs page that shows every
  option's flag;
* options: every declared option is a keyword-only parameter of ``read``/``write`` with the
  declared default, next to ``report``, ``strict`` and ``jobs``; one name means one thing in
  every format;
* detection: ``detect`` recognises each of the format's samples and no other format's;
* reading: each sample reads into COCO datasets of the kinds the format declares;
* round trip: read, write, read again gives the same images and objects up to what the
  writer reported lost, and a second round trip changes nothing more;
* damage: a truncated, emptied or garbled copy of any file of a sample gives an
  ``InputError`` with a location, or reads with warnings; never anything else;
* atomic output: a write that fails leaves no output and nothing else behind, and an
  existing output folder is not touched without ``overwrite``;
* the command line: ``X2coco``/``coco2X`` exist with the format's options, and ``convert``
  detects each sample and gives what the verb gives.
"""

from __future__ import annotations

import inspect
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from coco_convert import registry
from coco_convert.cli import main
from coco_convert.converters.base import Format
from coco_convert.converters.loss import LossReport
from coco_convert.dataset import AnyDataset, CocoDataset
from coco_convert.errors import InputError, UsageError
from coco_convert.schemas.coco import KINDS
from coco_convert.validate import RULES

from .conftest import FIXTURES, ROOT

FORMATS = registry.FORMATS
NAMES = [fmt.name for fmt in FORMATS]
READABLE = [fmt.name for fmt in FORMATS if fmt.read is not None]
ROUND_TRIP = [fmt.name for fmt in FORMATS if fmt.read is not None and fmt.write is not None]
#: Parameters every reader and writer takes besides its declared options.
CONTRACT = ("report", "strict", "jobs")


def samples(name: str) -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """The format's samples, from fixtures/<name>/conformance.json: (path, reader options,
    writer options of a round trip); paths, and options naming files or folders, are
    relative to fixtures/."""
    manifest = FIXTURES / name / "conformance.json"
    if not manifest.is_file():
        return []
    fmt = registry.get(name)
    listed = json.loads(manifest.read_text(encoding="utf-8"))["samples"]
    found = []
    for entry in listed:
        read = _resolved(entry.get("read", {}), fmt.read_options)
        write = _resolved(entry.get("write", {}), fmt.write_options)
        found.append((FIXTURES / entry["path"], read, write))
    return found


def _resolved(options: dict[str, Any], declared: tuple[Any, ...]) -> dict[str, Any]:
    types = {option.name: option.type for option in declared}
    assert set(options) <= set(types), f"not options of the format: {set(options) - set(types)}"
    return {
        key: FIXTURES / value if types[key] in ("file", "dir") else value
        for key, value in options.items()
    }


def _sample_ids(names: list[str]) -> list[Any]:
    return [
        pytest.param(name, path, read, write, id=f"{name}:{path.relative_to(FIXTURES)}")
        for name in names
        for path, read, write in samples(name)
    ]


SAMPLES = _sample_ids(READABLE)
ROUND_TRIP_SAMPLES = _sample_ids(ROUND_TRIP)
#: The first sample of each format that is read and written.
FIRST_SAMPLES = [
    pytest.param(name, *samples(name)[0], id=name) for name in ROUND_TRIP if samples(name)
]
#: Samples of the formats other than the hub (coco2coco is no verb).
SPOKE_SAMPLES = _sample_ids([name for name in READABLE if name != "coco"])


def _read(fmt: Format, path: Path, options: dict[str, Any]) -> dict[str, AnyDataset]:
    assert fmt.read is not None
    datasets, report = fmt.read(path, **options)
    assert isinstance(report, LossReport)
    return datasets


# --- the record ------------------------------------------------------------------------------


def test_names_and_aliases_are_unique() -> None:
    every = [name for fmt in FORMATS for name in fmt.names]
    assert len(every) == len(set(every)), every
    assert all(name == name.lower() and " " not in name for name in every)
    assert "coco" in NAMES  # the hub


@pytest.mark.parametrize("name", NAMES)
def test_record(name: str) -> None:
    fmt = registry.get(name)
    assert fmt.read is not None or fmt.write is not None
    assert fmt.kinds
    assert set(fmt.kinds) <= set(KINDS)
    assert fmt.title
    assert fmt.limits
    assert fmt.patterns
    for code in (*fmt.rules.values(), fmt.unreadable, fmt.other):
        assert code in RULES, code
    assert set(fmt.line_fixes) <= set(fmt.rules), "a line fix needs a rule that says why"
    for key in fmt.line_fixes:
        assert RULES[fmt.rules[key]].fix is not None, key
    for alias in fmt.names:
        assert registry.get(alias) is fmt


@pytest.mark.parametrize("name", NAMES)
def test_docs_page_shows_every_option(name: str) -> None:
    fmt = registry.get(name)
    assert fmt.docs == f"docs/{name}.md"
    text = (ROOT / fmt.docs).read_text(encoding="utf-8")
    for option in (*fmt.read_options, *fmt.write_options):
        for flag in [s[0] for s in option.switches] or [option.flag]:
            assert flag in text, f"{fmt.docs} does not mention {flag}"


@pytest.mark.parametrize("name", READABLE)
def test_readable_formats_have_samples(name: str) -> None:
    found = samples(name)
    assert found, f"fixtures/{name}/conformance.json lists no samples"
    for path, _, _ in found:
        assert path.exists(), path


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_declared_options_are_the_parameters(name: str) -> None:
    fmt = registry.get(name)
    for function, options in ((fmt.read, fmt.read_options), (fmt.write, fmt.write_options)):
        if function is None:
            assert not options
            continue
        parameters = inspect.signature(function).parameters
        positional = [p for p in parameters.values() if p.kind != p.KEYWORD_ONLY]
        assert len(positional) == (1 if function is fmt.read else 2), function
        keyword = {n: p for n, p in parameters.items() if p.kind == p.KEYWORD_ONLY}
        declared = {option.name: option for option in options}
        assert set(keyword) == set(declared) | set(CONTRACT), function
        for option in options:
            assert keyword[option.name].default == option.default, option.name
            assert option.name not in CONTRACT
            if option.type == "choice":
                assert option.choices
                assert option.default in (None, *option.choices)
        assert keyword["report"].default is None
        assert keyword["strict"].default is False


def test_one_option_name_means_one_thing() -> None:
    seen: dict[str, tuple[str, Any]] = {}
    reserved = {"--output", "--report", "--strict", "--jobs", "--to", "--from", "--help"}
    for fmt in FORMATS:
        for option in (*fmt.read_options, *fmt.write_options):
            assert option.flag not in reserved, option.flag
            first = seen.setdefault(option.name, (fmt.name, option.signature))
            assert first[1] == option.signature, (
                f"{option.flag}: {first[0]} and {fmt.name} give it different types"
            )


# --- detection and reading -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path", "options", "write"), SAMPLES)
def test_detected_as_its_own_format_only(
    name: str, path: Path, options: dict[str, Any], write: dict[str, Any]
) -> None:
    assert [fmt.name for fmt in registry.detect(path)] == [name]


@pytest.mark.parametrize(("name", "path", "options", "write"), SAMPLES)
def test_reads_into_declared_kinds(
    name: str, path: Path, options: dict[str, Any], write: dict[str, Any]
) -> None:
    fmt = registry.get(name)
    datasets = _read(fmt, path, options)
    assert datasets
    for split, dataset in datasets.items():
        assert split
        assert "/" not in split
        assert dataset.kind in fmt.kinds
        dataset.validate()  # what a reader builds fits the schema


# --- round trip ------------------------------------------------------------------------------


def _view(datasets: dict[str, AnyDataset]) -> dict[str, Any]:
    """What must survive a round trip: per split, each image's name and size and its objects
    (class name, box to 0.01 px), in a stable order."""
    view: dict[str, Any] = {}
    for split, dataset in datasets.items():
        if not isinstance(dataset, CocoDataset):
            view[split] = sorted(json.dumps(r, sort_keys=True) for r in dataset.document)
            continue
        names = {c["id"]: c.get("name") for c in dataset.categories}
        by_image: dict[Any, list[Any]] = {}
        for ann in dataset.annotations:
            box = ann.get("bbox")
            shown = None if box is None else [round(v, 2) for v in box]
            by_image.setdefault(ann["image_id"], []).append(
                (names.get(ann.get("category_id")), shown)
            )
        view[split] = sorted(
            (
                image["file_name"],
                image.get("width"),
                image.get("height"),
                sorted(json.dumps(obj) for obj in by_image.get(image["id"], [])),
            )
            for image in dataset.images
        )
    return view


def _target(fmt: Format, folder: Path, datasets: dict[str, AnyDataset]) -> Path:
    """Where a round trip writes: a folder, or the file of the one split, named after it
    (a file format names its split after the file)."""
    if fmt.output == "folder":
        return folder
    (split,) = datasets
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (split + fmt.patterns[0].removeprefix("*"))


def _round(
    fmt: Format, datasets: dict[str, AnyDataset], folder: Path, write: dict[str, Any]
) -> tuple[dict[str, AnyDataset], LossReport]:
    assert fmt.write is not None
    assert fmt.read is not None
    out = _target(fmt, folder, datasets)
    report = fmt.write(datasets, out, **write)
    again, _ = fmt.read(out)
    return again, report


def _by_base_name(view: list[Any]) -> dict[tuple[str, Any, Any], list[Any]]:
    """Images by (base name, width, height), with their objects: formats that keep one
    folder of images (VOC) report the folders they drop."""
    return {
        (name.replace("\\", "/").rpartition("/")[2], w, h): objects for name, w, h, objects in view
    }


def _within_a_pixel(box: list[float], other: list[float]) -> bool:
    return all(abs(a - b) <= 1.0 for a, b in zip(box, other, strict=True))


def _same_objects(before: list[Any], after: list[Any]) -> bool:
    """Every object written back is one of the objects read (same class, box within one
    pixel: VOC rounds corners to whole pixels)."""
    left = [json.loads(item) for item in before]
    for item in after:
        name, box = json.loads(item)
        match = next(
            (
                i
                for i, (other, other_box) in enumerate(left)
                if other == name
                and (box is None) == (other_box is None)
                and (box is None or _within_a_pixel(box, other_box))
            ),
            None,
        )
        if match is None:
            return False
        left.pop(match)
    return True


@pytest.mark.parametrize(("name", "path", "options", "write"), ROUND_TRIP_SAMPLES)
def test_read_write_read(
    name: str, path: Path, options: dict[str, Any], write: dict[str, Any], tmp_path: Path
) -> None:
    fmt = registry.get(name)
    first = _read(fmt, path, options)
    if len(first) > 1 and fmt.output != "folder":
        pytest.fail(f"{path}: several splits need a folder output")
    second, report = _round(fmt, first, tmp_path / "once", write)
    before, after = _view(first), _view(second)
    # Splits the writer had to add (YOLO's data.yaml needs train and val) may appear.
    assert set(before) <= set(after)
    reported = bool(report.losses or report.warnings)
    for split in before:
        if not reported:
            assert after[split] == before[split], split
            continue
        old, new = _by_base_name(before[split]), _by_base_name(after[split])
        assert sorted(new) == sorted(old), f"{split}: images changed"
        for image, objects in old.items():
            assert _same_objects(objects, new[image]), f"{split}: {image}: objects changed"
    third, again = _round(fmt, second, tmp_path / "twice", write)
    assert _view(third) == after, "a second round trip changed the data again"
    assert set(again.losses) <= set(report.losses)


def test_coco_round_trip_is_exact(tmp_path: Path) -> None:
    fmt = registry.get("coco")
    for path, options, write in samples("coco"):
        first = _read(fmt, path, options)
        again, report = _round(fmt, first, tmp_path / path.stem, write)
        assert report.lossless
        assert list(again) == list(first)
        assert [d.document for d in again.values()] == [d.document for d in first.values()]


# --- damaged input ---------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    """The files of a sample: the annotation files first, a few images last."""
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob("*") if p.is_file())
    text = [p for p in found if p.suffix.lower() in (".json", ".xml", ".yaml", ".txt", ".data")]
    other = [p for p in found if p not in text]
    return text[:12] + other[:3]


def _damaged(data: bytes) -> Iterator[tuple[str, bytes]]:
    yield "truncated", data[: len(data) // 2]
    yield "empty", b""
    yield "garbled", bytes((b * 7 + 13) % 256 for b in data[:400]) + b"\x00\xff<{["


@pytest.mark.parametrize(("name", "path", "options", "write"), SAMPLES)
def test_damaged_files_give_input_errors_with_a_place(
    name: str, path: Path, options: dict[str, Any], write: dict[str, Any], tmp_path: Path
) -> None:
    fmt = registry.get(name)
    # the sample's folder (or the file and what sits beside it) copied, so it can be damaged
    source = path if path.is_dir() else path.parent
    copy = tmp_path / source.name  # (the folder's name can matter: SegmentationObject)
    shutil.copytree(source, copy)
    target = copy if path.is_dir() else copy / path.name
    for original in _files(path):
        relative = original.relative_to(source)
        data = original.read_bytes()
        for how, damaged in _damaged(data):
            (copy / relative).write_bytes(damaged)
            error = _read_error(fmt, target, options)
            if error is not None:  # (reading with warnings is fine too)
                assert isinstance(error, InputError), f"{relative} {how}: {error!r}"
                assert error.location.file, f"{relative} {how}: {error} has no place"
                assert str(error).startswith(error.location.file)
        (copy / relative).write_bytes(data)


def _read_error(fmt: Format, path: Path, options: dict[str, Any]) -> Exception | None:
    """What reading raised, if anything."""
    try:
        _read(fmt, path, options)
    except Exception as exc:  # any: the caller says which are allowed
        return exc
    return None


# --- atomic output ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path", "options", "write"), FIRST_SAMPLES)
def test_failed_writes_leave_nothing(
    name: str,
    path: Path,
    options: dict[str, Any],
    write: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last step of every atomic write (a rename into place) fails: no output appears
    and no temporary file or folder is left behind."""
    fmt = registry.get(name)
    datasets = _read(fmt, path, options)
    assert fmt.write is not None
    (tmp_path / "out").mkdir()
    out = _target(fmt, tmp_path / "out" / "written", datasets)
    out.parent.mkdir(exist_ok=True)

    def refuse(self: Path, target: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    monkeypatch.setattr(Path, "rename", refuse)
    with pytest.raises((OSError, InputError)):
        fmt.write(datasets, out, **write)
    assert list((tmp_path / "out").rglob("*")) in ([], [out.parent])


@pytest.mark.parametrize("name", [n for n in ROUND_TRIP if registry.get(n).output == "folder"])
def test_existing_output_folders_are_kept(name: str, tmp_path: Path) -> None:
    fmt = registry.get(name)
    path, options, write = samples(name)[0]
    datasets = _read(fmt, path, options)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert fmt.write is not None
    with pytest.raises(UsageError, match="not empty"):
        fmt.write(datasets, out, **write)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in NAMES if n != "coco"])
def test_conversion_verbs_carry_the_options(name: str) -> None:
    fmt = registry.get(name)
    runner = CliRunner()
    for verb, options in ((f"{name}2coco", fmt.read_options), (f"coco2{name}", fmt.write_options)):
        exists = (fmt.read if verb.endswith("coco") else fmt.write) is not None
        result = runner.invoke(main, [verb, "--help"])
        assert (result.exit_code == 0) == exists, verb
        for option in options if exists else ():
            for flag in [s[0] for s in option.switches] or [option.flag]:
                assert flag in result.output, f"{verb} lacks {flag}"


@pytest.mark.parametrize(("name", "path", "options", "write"), SPOKE_SAMPLES)
def test_convert_detects_and_equals_the_verb(
    name: str, path: Path, options: dict[str, Any], write: dict[str, Any], tmp_path: Path
) -> None:
    flags = [
        part
        for key, value in options.items()
        for part in ("--" + key.replace("_", "-"), str(value))
    ]
    runner = CliRunner()
    by_convert = runner.invoke(
        main, ["convert", str(path), "--to", "coco", "-o", str(tmp_path / "a"), *flags]
    )
    assert by_convert.exit_code == 0, by_convert.output
    by_verb = runner.invoke(main, [f"{name}2coco", str(path), "-o", str(tmp_path / "b"), *flags])
    assert by_verb.exit_code == 0, by_verb.output
    written = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "b").iterdir())
    for file in written:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
