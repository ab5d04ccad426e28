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
            str(FIXTURES / "cvat" / "cvat-images" / "annotations.xml"),
            "--to",
            "yolo",
            "-o",
            str(tmp_path / "yolo"),
            "--stream",
        ],
    )
    assert result.exit_code == 2
    takes = "(voc, yolo, cvat, labelstudio, labelme)"
    assert f"--stream reads COCO files for the writers that take them {takes}" in result.output
    assert "not cvat to yolo" in result.output


@pytest.mark.parametrize(
    "verb",
    [["coco2yolo"], ["sample", "-n", "5"], ["coco2cvat"], ["coco2labelstudio"], ["coco2labelme"]],
    ids=lambda v: v[0],
)
def test_large_files_stream_by_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: list[str]
) -> None:
    monkeypatch.setattr(streaming, "_available_memory", lambda: 10_000)
    path = _write(tmp_path / "instances_val.json", _dataset(30))
    result = CliRunner().invoke(main, [verb[0], str(path), "-o", str(tmp_path / "y"), *verb[1:]])
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


def _both_ways(tmp_path: Path, args: list[str], output: str) -> dict[str, Any]:
    """``coco-convert ARGS -o OUTPUT --report REPORT`` without, then with ``--stream``; checks
    that both give the same exit status, stderr, report and output (every byte of every
    file) and returns the first run's: ``code``, ``stderr``, ``report`` (parsed, or None)."""
    runs: list[dict[str, Any]] = []
    for extra in ([], ["--stream"]):
        out, report = tmp_path / f"{len(extra)}-{output}", tmp_path / f"{len(extra)}-report.json"
        result = CliRunner().invoke(main, [*args, "-o", str(out), "--report", str(report), *extra])
        runs.append(
            {
                "code": result.exit_code,
                "stderr": result.stderr,
                "report": report.read_bytes() if report.exists() else None,
                "out": out,
            }
        )
    whole, streamed = runs
    assert {**streamed, "out": None} == {**whole, "out": None}
    if whole["out"].is_dir():
        assert _same_tree(filecmp.dircmp(whole["out"], streamed["out"]))
    elif whole["out"].exists():
        assert streamed["out"].read_bytes() == whole["out"].read_bytes()
    else:
        assert not streamed["out"].exists()
    return {**whole, "report": whole["report"] and json.loads(whole["report"])}


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
@pytest.mark.parametrize("order", ["file", "shuffled", "annotations first"])
def test_filter_stream_is_byte_identical(
    tmp_path: Path, small_chunks: None, options: list[str], order: str
) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(5).shuffle(document["annotations"])
    if order == "annotations first":
        document = {key: document[key] for key in ("annotations", "info", "images", "categories")}
    path = _write(tmp_path / "in.json", document)
    assert _both_ways(tmp_path, ["filter", str(path), *options], "out.json")["code"] == 0


@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_filter_stream_on_fixtures(tmp_path: Path, small_chunks: None, path: Path) -> None:
    _both_ways(tmp_path, ["filter", str(path)], "out.json")


SPLITS = [
    ["split", "--ratios", "train=0.8,val=0.2"],
    ["split", "--ratios", "train=0.6,val=0.2,test=0.2", "--stratify", "--seed", "3"],
    ["split", "--ratios", "a=0.5,b=0.5", "--group-by", "^(\\d{4})", "--indent", "2"],
    ["sample", "-n", "100"],
    ["sample", "--fraction", "0.3", "--stratify", "--seed", "5", "--indent", "2"],
    ["sample", "-n", "0"],
    ["sample", "-n", "5000"],
]


@pytest.mark.parametrize("options", SPLITS, ids=" ".join)
@pytest.mark.parametrize("order", ["file", "shuffled", "annotations first"])
def test_split_and_sample_stream_are_byte_identical(
    tmp_path: Path, small_chunks: None, options: list[str], order: str
) -> None:
    document = _dataset()
    if order == "shuffled":
        random.Random(6).shuffle(document["annotations"])
    if order == "annotations first":
        document = {key: document[key] for key in ("annotations", "info", "images", "categories")}
    path = _write(tmp_path / "in.json", document)
    verb, *rest = options
    args = [verb, str(path), *rest]
    if verb == "split":
        images = tmp_path / "images"
        images.mkdir()
        for image in document["images"][:50]:
            (images / image["file_name"]).write_bytes(b"not really a jpeg")
        args += ["--images", str(images), "--copy-images"]
    assert _both_ways(tmp_path, args, "out")["code"] == 0


@pytest.mark.parametrize("verb", [["split", "--ratios", "x=0.5,y=0.5"], ["sample", "-n", "3"]])
@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_split_and_sample_stream_on_fixtures(
    tmp_path: Path, small_chunks: None, path: Path, verb: list[str]
) -> None:
    if _both_ways(tmp_path, [verb[0], str(path), *verb[1:]], "out")["code"] == 0:
        assert (tmp_path / "0-out").exists()


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


def _masks_dataset(*, seed: int = 0) -> dict[str, Any]:
    """:func:`_dataset` with masks to trace: RLEs with holes and specks, one whose size is not
    its image's, one of no image, one of an image without a size; and an uncompressed RLE
    that cannot be compressed (its runs do not fill the image)."""
    import numpy as np

    from coco_convert import geometry

    document = _dataset(seed=seed)
    rng = random.Random(seed)
    for ann in document["annotations"][::3]:
        mask = np.zeros((300, 400), dtype=np.uint8)
        x, y = rng.randrange(0, 300), rng.randrange(0, 200)
        mask[y : y + 60, x : x + 80] = 1
        if rng.random() < 0.5:
            mask[y + 20 : y + 40, x + 20 : x + 40] = 0  # a hole
        if rng.random() < 0.3:
            mask[290, 390] = 1  # a speck
        ann["segmentation"] = dict(geometry.mask_to_rle(mask))
    document["annotations"][9]["segmentation"] = {"counts": "PPYo1", "size": [30, 40]}
    document["annotations"][12]["segmentation"] = {"counts": [5, 10], "size": [300, 400]}
    document["annotations"][6]["image_id"] = 10_000  # (an RLE of no image)
    for ann in document["annotations"][:2]:  # an RLE and a polygon of images without a size
        document["images"][ann["image_id"] - 1].pop("height", None)
    return document


POLY2RLE = [[], ["--compress"], ["--crowd-only"]]
RLE2POLY = [[], ["--holes", "fill", "--min-area", "5"], ["--holes", "rle", "--tolerance", "1"]]


@pytest.mark.parametrize(
    "verb",
    [["poly2rle", *o] for o in POLY2RLE] + [["rle2poly", *o] for o in RLE2POLY],
    ids=" ".join,
)
@pytest.mark.parametrize("order", ["file", "shuffled", "annotations first"])
def test_poly2rle_and_rle2poly_stream_are_byte_identical(
    tmp_path: Path, small_chunks: None, verb: list[str], order: str
) -> None:
    document = _masks_dataset()
    if order == "shuffled":
        random.Random(7).shuffle(document["annotations"])
    if order == "annotations first":
        document = {key: document[key] for key in ("annotations", "info", "images", "categories")}
    path = _write(tmp_path / "in.json", document)
    whole = _both_ways(tmp_path, [*verb, str(path)], "out.json")
    assert whole["code"] == 0, whole["stderr"]
    warnings = whole["report"]["warnings"]
    if "--crowd-only" not in verb:
        assert {"unknown_image", "image_without_size"} <= set(warnings)
    if verb[0] == "rle2poly" or "--compress" in verb:
        assert warnings["bad_segmentation"]["count"] >= 1


@pytest.mark.parametrize("verb", [["poly2rle"], ["rle2poly", "--tolerance", "0.5"]], ids=str)
@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_poly2rle_and_rle2poly_stream_on_fixtures(
    tmp_path: Path, small_chunks: None, verb: list[str], path: Path
) -> None:
    _both_ways(tmp_path, [*verb, str(path)], "out.json")


def test_rle2poly_stream_on_results(tmp_path: Path, small_chunks: None) -> None:
    document = _masks_dataset()
    results = [
        {**ann, "score": 0.5}
        for ann in document["annotations"]
        if isinstance(ann["segmentation"], dict)
    ]
    results[4]["segmentation"] = {"counts": "", "size": [0, 0]}
    path = _write(tmp_path / "results.json", results)
    whole = _both_ways(tmp_path, ["rle2poly", str(path)], "out.json")
    assert whole["code"] == 0
    assert "empty_rle_size" in whole["report"]["warnings"]


def test_poly2rle_stream_refuses_results(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "results.json",
        [{"image_id": 1, "category_id": 1, "score": 1.0, "bbox": [0, 0, 1, 1]}],
    )
    for extra in ([], ["--stream"]):
        result = CliRunner().invoke(
            main, ["poly2rle", str(path), "-o", str(tmp_path / "o.json"), *extra]
        )
        assert result.exit_code == 2, result.output
        assert "results carry no image sizes" in result.output


#: The writers that stream, each with its options and the warnings the test file must give.
WRITERS = [
    ["coco2voc"],
    ["coco2voc", "--masks", "--coords", "zero-based"],
    ["coco2cvat"],
    ["coco2labelstudio"],
    ["coco2labelstudio", "--as-annotations", "--image-root-url", "http://x/"],
    ["coco2labelme"],
    ["coco2labelme", "--rle-shape", "polygon", "--images", "{tmp}", "--embed-images"],
]
#: What each writer must report of the test file (so each seam is crossed).
WARNED = {
    "coco2voc": {"unknown_image", "unknown_category", "xml_name_collision"},
    "coco2cvat": {"dangling_annotation", "bad_segmentation", "image_size_missing"},
    "coco2labelstudio": set(),
    "coco2labelme": {"unknown_category", "bad_rle", "rle_without_size", "json_name_collision"},
}
#: How each writer's output is named.
OUTPUTS = {
    "coco2voc": "voc",
    "coco2cvat": "out.xml",
    "coco2labelstudio": "tasks.json",
    "coco2labelme": "labelme",
}


@pytest.mark.parametrize("options", WRITERS, ids=" ".join)
@pytest.mark.parametrize("order", ["file", "shuffled", "annotations first"])
def test_writers_stream_byte_identical(
    tmp_path: Path, small_chunks: None, options: list[str], order: str
) -> None:
    document = _masks_dataset()
    anns, images = document["annotations"], document["images"]
    anns[1]["category_id"] = 99  # no such category
    del anns[2]["bbox"]
    anns[14]["attributes"] = {"occluded": False, "nested": [1]}
    anns[15]["attributes"] = {"group_id": 3, "score": 0.5, "kind": "a"}
    anns[16]["attributes"] = {"track_id": 7, "keyframe": False, "score": 2}
    anns[20]["attributes"] = {"track_id": 7}
    anns[17]["segmentation"] = [[1, 1, 9, 1, 9, 9], [20, 20, 30, 20, 30, 30, 20, 30]]
    anns[18]["attributes"] = {"kind": "b\x01"}
    anns[19]["attributes"] = {"zeta": 1, "track_id": 3}
    anns[22]["attributes"] = {"alpha": True, "track_id": 3}
    images[3]["file_name"] = "sub/000001.jpg"  # the same XML name as image 1
    images[4]["file_name"] = "000001.png"  # the same LabelMe name as image 1
    images[5]["coco_url"] = "http://x"
    images[7]["attributes"] = {"tags": ["day", {"label": "rain", "attributes": {"heavy": True}}]}
    verb = options[0]
    if verb == "coco2cvat":  # (the others refuse it streamed)
        images.append(dict(images[9]))  # an id twice: its annotations go with one of them
    if verb == "coco2labelstudio":  # (an error of the whole conversion)
        anns[9]["segmentation"] = anns[12]["segmentation"] = [[1, 1, 9, 1, 9, 9]]
    if order == "shuffled":
        random.Random(8).shuffle(anns)
    if order == "annotations first":
        document = {key: document[key] for key in ("annotations", "info", "images", "categories")}
    path = _write(tmp_path / "instances_train.json", document)
    (tmp_path / "000002.jpg").write_bytes(b"an image file to embed")
    rest = [option.replace("{tmp}", str(tmp_path)) for option in options[1:]]
    whole = _both_ways(tmp_path, [verb, str(path), *rest], OUTPUTS[verb])
    assert whole["code"] == 0, whole["stderr"]
    assert WARNED[verb] <= set(whole["report"]["warnings"])


@pytest.mark.parametrize("verb", list(OUTPUTS))
@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.name)
def test_writers_stream_on_fixtures(
    tmp_path: Path, small_chunks: None, path: Path, verb: str
) -> None:
    _both_ways(tmp_path, [verb, str(path)], OUTPUTS[verb])


@pytest.mark.parametrize("fmt", ["voc", "cvat", "labelstudio", "labelstudio results", "labelme"])
def test_writers_stream_two_splits(tmp_path: Path, small_chunks: None, fmt: str) -> None:
    """Two splits: VOC's XML names collide across them; CVAT writes a project, Label Studio
    a tasks file each; or a dataset with detection results on it (loaded: their tasks'
    predictions)."""
    paths = [
        _write(tmp_path / f"instances_{name}.json", _dataset(40, seed=seed))
        for seed, name in enumerate(("train", "val"))
    ]
    if fmt == "labelstudio results":
        results = [
            {"image_id": i % 45, "category_id": 3, "bbox": [1, 2, 30, 40], "score": i / 100}
            for i in range(1, 90)
        ]
        paths[1] = _write(tmp_path / "results.json", results)
    out = "out.xml" if fmt == "cvat" else ""
    to = fmt.split()[0]
    whole = registry.convert(paths, tmp_path / "whole" / out, to=to)
    streamed = registry.convert(paths, tmp_path / "stream" / out, to=to, stream=True)
    assert _same_tree(filecmp.dircmp(tmp_path / "whole", tmp_path / "stream"))
    assert streamed.to_dict() == whole.to_dict()
    if fmt == "voc":
        assert whole.warnings["xml_name_collision"].count == 40
    if fmt == "labelstudio results":
        assert whole.losses["results_without_image"].count == 9  # (ids 0, 41-44)


@pytest.mark.parametrize("verb", ["coco2voc", "coco2labelstudio", "coco2labelme"])
def test_writers_stream_refuse_repeated_image_ids(tmp_path: Path, verb: str) -> None:
    """Loaded, every image of a repeated id gets the objects of all; streamed, an annotation
    goes with one image: refused, saying how to convert it."""
    document = _dataset(20)
    document["images"].append(dict(document["images"][4]))
    path = _write(tmp_path / "in.json", document)
    result = CliRunner().invoke(main, [verb, str(path), "-o", str(tmp_path / "out"), "--stream"])
    assert result.exit_code == 2, result.output
    assert f"image ids repeat; {verb} --stream needs unique image ids" in result.stderr
    assert not (tmp_path / "out").exists()


def test_poly2rle_stream_on_two_processes(tmp_path: Path, small_chunks: None) -> None:
    """The chunks' tasks go to worker processes (packed polygons) and come back in order."""
    document = _masks_dataset()
    random.Random(9).shuffle(document["annotations"])
    path = _write(tmp_path / "in.json", document)
    outputs = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"out{len(extra)}.json"
        result = CliRunner().invoke(
            main, ["poly2rle", str(path), "-o", str(out), "--jobs", "2", *extra]
        )
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), result.stderr))
    assert outputs[1] == outputs[0]
    assert "processes: 2" in outputs[0][1]


def test_broken_files_are_errors_when_streamed(tmp_path: Path) -> None:
    """A damaged gzip file and values nested thousands deep: a one-line error each, never a
    traceback; a broken header: the errors loading gives, before anything reads it."""
    import gzip

    packed = gzip.compress(json.dumps(_dataset(50)).encode())
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(packed[: len(packed) // 2] + bytes(200) + packed[len(packed) // 2 :])
    deep = tmp_path / "deep.json"
    deep.write_text('{"images": [' + "[" * 50_000 + "]" * 50_000 + "]}")
    header = _dataset(50)
    header["categories"][1] = {"id": [3], "name": {"car": 1}}
    broken = _write(tmp_path / "header.json", header)
    runner = CliRunner()
    for path, message in (
        (damaged, "cannot read"),
        (deep, "values nested too deep to parse"),
        (broken, "/categories/1/id"),
    ):
        for verb in (
            ["coco2voc", "--masks"],
            ["poly2rle"],
            ["rle2poly"],
            ["coco2yolo"],
            ["coco2cvat"],
            ["coco2labelstudio"],
            ["coco2labelme"],
            ["sample", "-n", "3"],
        ):
            outputs = []
            for extra in ([], ["--stream"]):
                out = tmp_path / f"out-{verb[0]}{len(extra)}"
                result = runner.invoke(
                    main, [verb[0], str(path), "-o", str(out), *verb[1:], *extra]
                )
                assert not out.exists()
                assert result.exit_code == 1, result.output
                assert result.stderr.count("\n") >= 1
                outputs.append(result.stderr)
            assert message in outputs[1]
            if path == broken:
                assert outputs[1] == outputs[0]
