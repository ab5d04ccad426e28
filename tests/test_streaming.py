"""Streaming (``--stream``): the records of a COCO file chunk by chunk, and the verbs that read
them, give exactly what loading the file whole gives."""

from __future__ import annotations

import filecmp
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from coco_convert import registry, streaming
from coco_convert.cli import main
from coco_convert.converters import yolo_write
from coco_convert.errors import JSONSyntaxError, SchemaError
from coco_convert.io import parse_json, read_bytes
from coco_convert.streaming import CocoStream, image_groups

from .conftest import FIXTURES, REALDATA

COCO_FILES = sorted(
    [
        *(FIXTURES / "coco").glob("*.json"),
        *REALDATA.glob("coco_*/*.json"),
    ]
)


def _document(path: Path) -> Any:
    return parse_json(read_bytes(path), str(path))


def _records(stream: CocoStream, key: str) -> list[Any]:
    return [record for _, records in stream.records(key) for record in records]


def _dataset(images: int = 700, *, seed: int = 0) -> dict[str, Any]:
    """A small instances document: boxes, polygons, a crowd RLE, extra keys, a string that
    looks like a record boundary, an annotation of no image."""
    rng = random.Random(seed)
    anns = []
    for image_id in range(1, images + 1):
        for _ in range(rng.randint(0, 4)):
            x, y = rng.uniform(0, 300), rng.uniform(0, 200)
            ann: dict[str, Any] = {
                "segmentation": [[x, y, x + 20, y, x + 20, y + 15, x, y + 15]],
                "area": 300.0,
                "iscrowd": 0,
                "image_id": image_id,
                "bbox": [x, y, 20, 15],
                "category_id": rng.choice([1, 3, 7]),
                "id": len(anns) + 1,
            }
            anns.append(ann)
    anns[3]["note"] = 'a },{"segmentation": [1]} look-alike \\" },{'
    anns[5]["iscrowd"] = 1
    anns[5]["segmentation"] = {"counts": [10, 20, 300 * 400 - 30], "size": [300, 400]}
    anns[8]["image_id"] = 10_000  # no such image
    return {
        "info": {"description": "streaming test"},
        "images": [
            {"id": i, "file_name": f"{i:06d}.jpg", "width": 400, "height": 300}
            for i in range(1, images + 1)
        ],
        "annotations": anns,
        "categories": [
            {"id": 1, "name": "person"},
            {"id": 3, "name": "car"},
            {"id": 7, "name": "train"},
        ],
    }


def _write(path: Path, document: Any, *, indent: int | None = None) -> Path:
    path.write_text(json.dumps(document, indent=indent))
    return path


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few records, row ranges of a few images: every seam is crossed."""
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 2_000)
    monkeypatch.setattr(yolo_write, "_RANGE_ROWS", 25)


@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_records_and_header_are_the_file(path: Path, small_chunks: None) -> None:
    document = _document(path)
    stream = CocoStream(path)
    if isinstance(document, list):
        assert stream.results
        assert _records(stream, "") == document
        return
    assert list(stream.header) == list(document)
    for key, value in document.items():
        if key in stream.chunks:
            assert _records(stream, key) == value
            assert stream.count(key) == len(value)
        else:
            assert stream.header[key] == value


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("order", ["file", "shuffled", "annotations first"])
def test_layouts(tmp_path: Path, small_chunks: None, indent: int | None, order: str) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(1).shuffle(document["annotations"])
    if order == "annotations first":
        document = {key: document[key] for key in ("categories", "annotations", "info", "images")}
    path = _write(tmp_path / "in.json", document, indent=indent)
    stream = CocoStream(path)
    assert len(stream.chunks["annotations"]) > 10
    assert _records(stream, "annotations") == document["annotations"]
    assert _records(stream, "images") == document["images"]
    assert stream.kind == "instances"
    # each image with its annotations, in file order; those of no image last
    index = {image["id"]: i for i, image in enumerate(document["images"])}
    expected: dict[int, list[Any]] = {}
    for j, ann in enumerate(document["annotations"]):
        expected.setdefault(index.get(ann["image_id"], -1), []).append((j, ann))
    groups = list(
        image_groups(
            stream,
            lambda: stream.records("images"),
            lambda: stream.records("annotations"),
            spill_bytes=3_000,
        )
    )
    assert [i for i, _, _ in groups] == [*range(len(document["images"])), -1]
    for i, image, group in groups:
        assert group == expected.get(i, [])
        assert image == (document["images"][i] if i >= 0 else None)


def test_schema_errors_are_those_of_load(tmp_path: Path, small_chunks: None) -> None:
    document = _dataset(1_500)
    document["images"][1_200]["width"] = "640"
    document["annotations"][2_000]["bbox"] = [1, 2, 3]
    document["info"] = []
    path = _write(tmp_path / "bad.json", document)
    with pytest.raises(SchemaError) as loaded:
        registry.get("coco").read(path)  # type: ignore[misc]
    stream = CocoStream(path)
    with pytest.raises(SchemaError) as streamed:
        for _ in stream.checked("annotations"):
            pass
    assert str(streamed.value) == str(loaded.value)
    assert streamed.value.total == loaded.value.total == 3


def test_syntax_errors_name_the_place(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    text = json.dumps(_dataset(20), indent=1)
    cut = text.index('"annotations"') + 200
    path.write_text(text[:cut] + "}}" + text[cut:])
    with pytest.raises(JSONSyntaxError) as found:
        CocoStream(path)
    assert found.value.line == text[:cut].count("\n") + 1


@pytest.mark.parametrize("task", ["detect", "segment"])
@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_coco2yolo_stream_is_byte_identical(
    tmp_path: Path, small_chunks: None, task: str, order: str
) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(2).shuffle(document["annotations"])
    path = _write(tmp_path / "instances_train.json", document)
    runner = CliRunner()
    outputs = []
    for mode in ([], ["--stream"]):
        out = tmp_path / f"yolo{len(mode)}"
        report = tmp_path / f"report{len(mode)}.json"
        result = runner.invoke(
            main,
            ["coco2yolo", str(path), "-o", str(out), "--task", task, "--report", str(report)],
        )
        assert result.exit_code == 0, result.output
        outputs.append((out, report))
    (mem, mem_report), (streamed, stream_report) = outputs
    compare = filecmp.dircmp(mem, streamed)
    assert _same_tree(compare)
    assert stream_report.read_bytes() == mem_report.read_bytes()
    assert json.loads(stream_report.read_text())["warnings"]["unknown_image"]["count"] == 1


@pytest.mark.parametrize("path", sorted(REALDATA.glob("coco_*/*.json")), ids=lambda p: p.name)
def test_coco2yolo_stream_on_real_exports(tmp_path: Path, small_chunks: None, path: Path) -> None:
    outcomes = []
    for stream in (False, True):
        try:
            report = registry.convert(
                path, tmp_path / str(stream), to="yolo", options={"split": "x"}, stream=stream
            )
        except Exception as exc:  # the same refusal, whatever it is
            outcomes.append((type(exc), str(exc)))
        else:
            outcomes.append((None, report.to_dict()))
    assert outcomes[1] == outcomes[0]
    if outcomes[0][0] is None:
        assert _same_tree(filecmp.dircmp(tmp_path / "False", tmp_path / "True"))


def test_stream_needs_a_writer_that_takes_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "convert",
            str(FIXTURES / "coco" / "instances.json"),
            "--to",
            "voc",
            "-o",
            str(tmp_path / "voc"),
            "--stream",
        ],
    )
    assert result.exit_code == 2
    assert "--stream reads COCO files for the writers that take them (yolo)" in result.output


def test_large_files_stream_by_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "_available_memory", lambda: 10_000)
    path = _write(tmp_path / "instances_val.json", _dataset(30))
    result = CliRunner().invoke(main, ["coco2yolo", str(path), "-o", str(tmp_path / "y")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "--stream" in line]
    assert notes == [
        f"coco-convert: {path} is large for the memory available: reading it a chunk at a "
        "time (--stream)"
    ]


def _same_tree(compare: filecmp.dircmp[str]) -> bool:
    """Same names and the same bytes in every file, all the way down."""
    _, mismatch, errors = filecmp.cmpfiles(
        compare.left, compare.right, compare.common_files, shallow=False
    )
    if compare.left_only or compare.right_only or mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in compare.subdirs.values())


def test_msgspec_error_offsets_are_what_the_cutter_reads() -> None:
    """The cutter relies on msgspec naming the byte where an array's trailing characters
    start; a msgspec that stops saying so must fail here, not silently mis-cut."""
    with pytest.raises(msgspec.DecodeError, match=r"trailing characters \(byte \d+\)"):
        msgspec.json.decode(b'[{"a":1},{"b":[1]}],"c":1}', type=list[msgspec.Raw])


@pytest.mark.parametrize("verb", [["info"], ["info", "--json"], ["stats", "--json"], ["stats"]])
@pytest.mark.parametrize("path", [*COCO_FILES, None], ids=lambda p: p.name if p else "large")
def test_info_and_stats_stream(
    tmp_path: Path, small_chunks: None, verb: list[str], path: Path | None
) -> None:
    if path is None:
        document = _dataset()
        random.Random(4).shuffle(document["annotations"])
        path = _write(tmp_path / "large.json", document)
    runner = CliRunner()
    whole = runner.invoke(main, [*verb, str(path)])
    streamed = runner.invoke(main, [*verb, "--stream", str(path)])
    assert streamed.exit_code == whole.exit_code
    assert streamed.stdout == whole.stdout
    assert streamed.stderr == whole.stderr


FILTERS = [
    [],
    ["--cat", "car"],
    ["--cat", "car", "--cat", "train", "--all-categories", "--prune-categories"],
    ["--area", "100:400", "--iscrowd", "0", "--min-annotations", "2"],
    ["--img-ids", "1,5,9,11,10000", "--keep-empty", "--indent", "2"],
]


@pytest.mark.parametrize("options", FILTERS, ids=" ".join)
@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_filter_stream_is_byte_identical(
    tmp_path: Path, small_chunks: None, options: list[str], order: str
) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(5).shuffle(document["annotations"])
    path = _write(tmp_path / "in.json", document)
    runner = CliRunner()
    results = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"out{len(extra)}.json"
        report = tmp_path / f"report{len(extra)}.json"
        result = runner.invoke(
            main, ["filter", str(path), "-o", str(out), "--report", str(report), *options, *extra]
        )
        assert result.exit_code == 0, result.output
        results.append((out.read_bytes(), report.read_bytes(), result.stderr))
    assert results[1] == results[0]


@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_filter_stream_on_fixtures(tmp_path: Path, small_chunks: None, path: Path) -> None:
    runner = CliRunner()
    results = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"out{len(extra)}.json"
        result = runner.invoke(main, ["filter", str(path), "-o", str(out), *extra])
        results.append(
            (result.exit_code, result.stderr, out.read_bytes() if out.exists() else None)
        )
    assert results[1] == results[0]


SPLITS = [
    ["--ratios", "train=0.8,val=0.2"],
    ["--ratios", "train=0.6,val=0.2,test=0.2", "--stratify", "--seed", "3"],
    ["--ratios", "a=0.5,b=0.5", "--group-by", "^(\\d{4})", "--indent", "2"],
]


@pytest.mark.parametrize("options", SPLITS, ids=" ".join)
@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_split_stream_is_byte_identical(
    tmp_path: Path, small_chunks: None, options: list[str], order: str
) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(6).shuffle(document["annotations"])
    path = _write(tmp_path / "in.json", document)
    images = tmp_path / "images"
    images.mkdir()
    for image in document["images"][:50]:
        (images / image["file_name"]).write_bytes(b"not really a jpeg")
    runner = CliRunner()
    results = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"out{len(extra)}"
        report = tmp_path / f"report{len(extra)}.json"
        result = runner.invoke(
            main,
            [
                "split",
                str(path),
                "-o",
                str(out),
                "--report",
                str(report),
                "--images",
                str(images),
                "--copy-images",
                *options,
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
        results.append((out, report.read_bytes(), result.stderr))
    assert _same_tree(filecmp.dircmp(results[0][0], results[1][0]))
    assert results[1][1:] == results[0][1:]


@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_split_stream_on_fixtures(tmp_path: Path, small_chunks: None, path: Path) -> None:
    runner = CliRunner()
    results = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"out{len(extra)}"
        result = runner.invoke(
            main, ["split", str(path), "-o", str(out), "--ratios", "x=0.5,y=0.5", *extra]
        )
        results.append((result.exit_code, result.stderr))
        if result.exit_code == 0:
            assert out.is_dir()
    assert results[1] == results[0]
    if results[0][0] == 0:
        assert _same_tree(filecmp.dircmp(tmp_path / "out0", tmp_path / "out1"))


@pytest.mark.parametrize(
    "options",
    [{"task": "pose"}, {"layout": "darknet"}, {"task": "segment", "include_crowd": True}],
    ids=str,
)
def test_coco2yolo_stream_keypoints(
    tmp_path: Path, small_chunks: None, options: dict[str, Any]
) -> None:
    path = tmp_path / "person_keypoints_train.json"
    generator = REALDATA.parent / "bench" / "gen_coco.py"
    subprocess.run(
        [
            sys.executable,
            str(generator),
            str(path),
            "--images",
            "400",
            "--keypoints",
            "--crowd-frac",
            "0.05",
        ],
        check=True,
        capture_output=True,
    )
    whole = registry.convert(path, tmp_path / "whole", to="yolo", options=options)
    streamed = registry.convert(path, tmp_path / "stream", to="yolo", options=options, stream=True)
    assert _same_tree(filecmp.dircmp(tmp_path / "whole", tmp_path / "stream"))
    assert streamed.to_dict() == whole.to_dict()
