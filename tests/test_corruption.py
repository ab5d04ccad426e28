"""The guarantee, tested: on corrupted inputs every verb ends with exit 0, 1 or 2, never a
traceback; after a failure no output is left; the input's bytes are never changed.

Mutants are seeded corruptions of the fixtures and of ../shared/realdata (tests/corruption.py):
structural JSON edits chosen by hypothesis (type swaps, deletions, duplicates, numbers beyond
every range, NaN, deep nesting), and byte-level damage of every format (truncation, byte flips,
encodings, gzip damage, XML entities, YAML bombs, impossible label rows), plus odd files (named
pipes, folders, link loops, devices, names with newlines or undecodable bytes). Each runs
through every verb that reads its kind, in this process (click's runner), as users run them.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import coco_convert
from coco_convert.cli import main
from coco_convert.converters.yolo import write_yolo

from .conftest import FIXTURES
from .corruption import (
    COCO_SEEDS,
    CVAT_SEEDS,
    LABEL_STUDIO_SEEDS,
    LABELME_SEEDS,
    MASK_SEEDS,
    SA1B_SEEDS,
    VERBS,
    VIA_SEEDS,
    VOC_SEEDS,
    YAML_SEEDS,
    YOLO_LABEL_SEEDS,
    Mutant,
    byte_mutation,
    copy_tree,
    dump,
    mutate_document,
)
from .yolo_cases import make_images

#: Byte-level mutants: CHUNKS tests of PER_CHUNK mutants each (so a failure names its chunk).
CHUNKS, PER_CHUNK = 16, 49
#: Structural JSON mutants (hypothesis examples).
STRUCTURAL = 300
KINDS = ("coco", "voc", "yolo-yaml", "yolo-label", "masks", "cvat", "labelstudio", "labelme", "via")


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file below ``root`` (a file given directly: itself) and its bytes; links and
    special files by what they are, never read."""
    paths = [root] if not root.is_dir() or root.is_symlink() else sorted(root.rglob("*"))
    found: dict[str, bytes | str] = {}
    for path in paths:
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"  # noqa: PTH115
        elif path.is_file():
            found[str(path)] = path.read_bytes()
        elif not path.is_dir():
            found[str(path)] = "special"
    return found


def run_verbs(mutant: Mutant, helpers: dict[str, Path], work: Path) -> int:
    """Every verb that reads ``mutant``'s kind, checked; returns how many ran."""
    ran = 0
    before = snapshot(mutant.root)
    for verb, invocation in VERBS.items():
        if mutant.kind not in invocation.kinds:
            continue
        folder = work / verb
        folder.mkdir(parents=True)
        args = [verb, *invocation.args(mutant, folder, helpers)]
        result = CliRunner().invoke(main, args)
        where = f"{verb} on {mutant.path} ({mutant.how}): {args}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
            pytest.fail(f"traceback from {where}\n{trace}")
        assert result.exit_code in (0, 1, 2), where
        assert "Traceback" not in result.output, where
        if result.exit_code != 0:
            left = sorted(p.name for p in folder.iterdir())
            assert not left, f"{where} failed ({result.stderr.strip()}) and left {left}"
        assert snapshot(mutant.root) == before, f"{where} changed its input"
        ran += 1
    return ran


@pytest.fixture(scope="module", autouse=True)
def memory_cap() -> Iterator[None]:
    """At most 8 GiB of address space while mutants run: a verb that allocates without bound
    fails here with MemoryError (a traceback this test reports) instead of taking the machine
    down."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = 8 * 2**30 if hard == resource.RLIM_INFINITY else min(hard, 8 * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --- helpers: images for every file_name of the seeds, a YOLO dataset ------------------------


@pytest.fixture(scope="module")
def helpers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("helpers")
    images = root / "images"
    images.mkdir()
    for seed in COCO_SEEDS:
        try:
            document = json.loads(seed.read_text(encoding="utf-8-sig"))
        except ValueError:
            continue
        records = document.get("images", []) if isinstance(document, dict) else []
        for image in records[:50]:
            name = str(image.get("file_name", "")).replace("\\", "/").lstrip("/")
            if not name or ".." in name.split("/"):
                continue
            path = images / name
            path.parent.mkdir(parents=True, exist_ok=True)
            picture = Image.new("RGB", (24, 16), (90, 120, 150))
            picture.save(path, "PNG" if path.suffix.lower() == ".png" else "JPEG")
    dataset = coco_convert.load(FIXTURES / "coco" / "instances.json")
    yolo = root / "yolo"
    write_yolo(
        {"train": dataset, "val": dataset},
        yolo,
        task="segment",
        images=make_images(dataset, root / "photos"),
        image_mode="copy",
    )
    remap = root / "map.yaml"
    remap.write_text("person: human\nspoon: null\nbanana: food\nbottle: food\n")
    return {"images": images, "yolo": yolo, "map": remap}


def _mutant(
    kind: str, seed: Path, data: bytes, how: str, root: Path, helpers: dict[str, Path]
) -> Mutant:
    """Lay out a mutant of ``kind`` in ``root`` with ``data`` as its corrupted file."""
    if kind == "coco":
        path = root / seed.name
        path.write_bytes(data)
        return Mutant("coco", path, path, f"{seed.name}: {how}")
    if kind in ("voc", "cvat", "labelstudio", "labelme", "via", "sa1b"):
        path = root / seed.name
        path.write_bytes(data)
        return Mutant(kind, path, path, f"{seed.name}: {how}")
    if kind == "masks":
        folder = root / "SegmentationObject"
        folder.mkdir()
        (folder / seed.name).write_bytes(data)
        return Mutant("masks", folder, folder, f"{seed.name}: {how}")
    dataset = root / "yolo"
    copy_tree(helpers["yolo"], dataset)
    if kind == "yolo-yaml":
        (dataset / "data.yaml").write_bytes(data)
        return Mutant("yolo", dataset / "data.yaml", dataset, f"{seed.name} as data.yaml: {how}")
    label = sorted((dataset / "labels" / "train").glob("*.txt"))[0]
    label.write_bytes(data)
    return Mutant("yolo", dataset, dataset, f"{seed.name} as {label.name}: {how}")


def _seeds(kind: str) -> list[tuple[Path, str]]:
    """(seed file, format for byte_mutation) per kind."""
    if kind == "coco":
        return [(p, "json") for p in COCO_SEEDS]
    if kind == "voc":
        return [(p, "xml") for p in VOC_SEEDS]
    if kind == "masks":
        return [(p, "png") for p in MASK_SEEDS]
    if kind == "cvat":
        return [(p, "xml") for p in CVAT_SEEDS]
    if kind == "labelstudio":
        return [(p, "json") for p in LABEL_STUDIO_SEEDS]
    if kind == "labelme":
        return [(p, "json") for p in LABELME_SEEDS]
    if kind == "via":
        return [(p, "json") for p in VIA_SEEDS]
    if kind == "sa1b":
        return [(p, "json") for p in SA1B_SEEDS]
    if kind == "yolo-yaml":
        base = [(Path("data.yaml"), "yaml")]
        return [*base, *((p, "yaml") for p in YAML_SEEDS)]
    return [(Path("label.txt"), "label"), *((p, "label") for p in YOLO_LABEL_SEEDS)]


def _seed_bytes(seed: Path, kind: str, helpers: dict[str, Path]) -> bytes:
    if kind == "yolo-yaml" and seed.name == "data.yaml" and not seed.exists():
        return (helpers["yolo"] / "data.yaml").read_bytes()
    if kind == "yolo-label" and seed.name == "label.txt" and not seed.exists():
        return sorted((helpers["yolo"] / "labels" / "train").glob("*.txt"))[0].read_bytes()
    return seed.read_bytes()


#: Where mutants are laid out: a RAM disk when there is one (every output is fsynced, and
#: thousands of fsyncs on a busy virtual disk would be most of this test's time).
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mutant-", dir=SCRATCH) as folder:
        yield Path(folder)


# --- the tests ----------------------------------------------------------------------------------


def test_every_verb_has_an_entry() -> None:
    """A new verb must say how it runs on a mutant (tests/corruption.py VERBS)."""
    with click.Context(main) as ctx:
        verbs = set(main.list_commands(ctx))
    assert verbs == set(VERBS), (
        f"verbs without an entry in tests/corruption.py VERBS: {sorted(verbs - set(VERBS))}"
    )


def test_the_seeds_are_there(realdata: Path) -> None:
    for kind in KINDS:
        assert len(_seeds(kind)) >= 2, kind
    assert len(COCO_SEEDS) >= 25


def test_verbs_without_input(tmp_path: Path) -> None:
    for verb, invocation in VERBS.items():
        if not invocation.kinds:
            result = CliRunner().invoke(main, [verb, *invocation.args(None, tmp_path, {})])  # type: ignore[arg-type]
            assert result.exit_code == 0, result.output


@settings(
    max_examples=STRUCTURAL,
    derandomize=True,  # the same mutants every run (hypothesis' own seed)
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(COCO_SEEDS),
    operations=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 6), st.integers(0, 10**6)),
        min_size=1,
        max_size=4,
    ),
)
def test_structural_json_mutants(
    helpers: dict[str, Path], seed: Path, operations: list[tuple[int, int, int]]
) -> None:
    document = json.loads(seed.read_text(encoding="utf-8-sig"))
    document, how = mutate_document(document, operations)
    with tempfile.TemporaryDirectory(prefix="mutant-", dir=SCRATCH) as folder:
        root = Path(folder)
        (root / "in").mkdir()
        mutant = _mutant("coco", seed, dump(document), how, root / "in", helpers)
        assert run_verbs(mutant, helpers, root / "work") >= 8


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_byte_mutants(helpers: dict[str, Path], scratch: Path, chunk: int) -> None:
    rng = random.Random(16_000 + chunk)
    ran = 0
    for number in range(PER_CHUNK):
        kind = KINDS[(chunk * PER_CHUNK + number) % len(KINDS)]
        seed, fmt = rng.choice(_seeds(kind))
        data, how = byte_mutation(_seed_bytes(seed, kind, helpers), fmt, rng)
        root = scratch / str(number)
        (root / "in").mkdir(parents=True)
        mutant = _mutant(kind, seed, data, how, root / "in", helpers)
        ran += run_verbs(mutant, helpers, root / "work")
        shutil.rmtree(root)
    assert ran >= PER_CHUNK


def _odd_inputs(root: Path) -> Iterator[tuple[str, Path, str]]:
    """(kind, path, what) of inputs that are not what they seem."""
    real = FIXTURES / "coco" / "instances.json"
    fifo = root / "pipe.json"
    os.mkfifo(fifo)
    yield "coco", fifo, "a named pipe"
    folder = root / "folder.json"
    folder.mkdir()
    yield "coco", folder, "a folder"
    loop = root / "loop.json"
    loop.symlink_to(loop)
    yield "coco", loop, "a symbolic link loop"
    device = root / "zero.json"
    device.symlink_to("/dev/zero")
    yield "coco", device, "a link to /dev/zero"
    sparse = root / "huge.xml"
    with sparse.open("wb") as handle:
        handle.truncate(300 * 2**20)  # larger than any text file read whole: refused unread
    yield "voc", sparse, "a 300 MB XML file"
    for name in ("new\nline.json", os.fsdecode(b"caf\xe9.json"), "-o.json", " .json"):
        path = root / name
        shutil.copyfile(real, path)
        yield "coco", path, f"named {name!r}"
    for name in ("pipe.xml", "dir.xml"):
        path = root / name
        os.mkfifo(path) if name == "pipe.xml" else path.mkdir()
        yield "voc", path, name
    labels = root / "yolo"
    (labels / "labels").mkdir(parents=True)
    os.mkfifo(labels / "data.yaml")
    yield "yolo", labels / "data.yaml", "data.yaml is a named pipe"
    masks = root / "SegmentationObject"
    masks.mkdir()
    os.mkfifo(masks / "a.png")
    yield "masks", masks, "a mask PNG that is a named pipe"


def test_odd_files(helpers: dict[str, Path], scratch: Path) -> None:
    (scratch / "in").mkdir()
    count = 0
    for number, (kind, path, what) in enumerate(_odd_inputs(scratch / "in")):
        mutant = Mutant(kind, path, path, what)
        count += run_verbs(mutant, helpers, scratch / "work" / str(number))
    assert count >= 40


def test_mutants_per_run() -> None:
    """The issue's bar: at least 1,000 mutants per run."""
    assert STRUCTURAL + CHUNKS * PER_CHUNK >= 1000


def test_yolo_dataset_helper_converts(helpers: dict[str, Path], tmp_path: Path) -> None:
    """The YOLO base of the mutants is itself a good dataset (mutants start from it)."""
    result = CliRunner().invoke(
        main, ["yolo2coco", str(helpers["yolo"]), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "instances_train.json",
        "instances_val.json",
    ]
