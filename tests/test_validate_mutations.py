"""Seeded corruptions of valid files: the validator never raises, always finds something, and
never touches the input unless asked to fix it.

Inputs are the clean test documents and the real exports in ../shared/realdata (copied into a
temporary folder). Each corruption is one a broken export or a bad hand edit produces:
truncation, wrong types, deleted required keys, swapped or dangling ids, NaN, numbers too
large for a double, wrong nesting, binary junk.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from coco_convert.dataset import detect_kind
from coco_convert.io import parse_json
from coco_convert.schemas import adapter, coco
from coco_convert.validate import Settings, validate_path
from coco_convert.validate.runner import validate_target
from tests.conftest import REALDATA
from tests.validate_cases import BASES

SEEDS = range(4)

#: The record models per kind and top-level list: their required keys must be there.
_RECORDS: dict[str, dict[str, Any]] = {
    "instances": {
        "images": coco.Image,
        "annotations": coco.Annotation,
        "categories": coco.Category,
    },
    "keypoints": {
        "images": coco.Image,
        "annotations": coco.KeypointAnnotation,
        "categories": coco.KeypointCategory,
    },
    "stuff": {
        "images": coco.Image,
        "annotations": coco.StuffAnnotation,
        "categories": coco.Category,
    },
    "captions": {"images": coco.Image, "annotations": coco.CaptionAnnotation},
    "panoptic": {
        "images": coco.Image,
        "annotations": coco.PanopticAnnotation,
        "categories": coco.PanopticCategory,
    },
}


def _inputs() -> dict[str, bytes]:
    found = {f"base-{kind}": orjson.dumps(make()) for kind, make in BASES.items()}
    for path in sorted(REALDATA.glob("coco_*/*.json")):
        found[path.name] = path.read_bytes()
    return found


INPUTS = _inputs()


def _records(doc: Any) -> list[tuple[str, int, dict[str, Any], Any]]:
    """(list key, index, record, model) of every record of the document."""
    kind = detect_kind(doc)
    if kind == "results":
        return [("", i, r, coco.Result) for i, r in enumerate(doc) if isinstance(r, dict)]
    return [
        (key, i, record, model)
        for key, model in _RECORDS[kind].items()
        for i, record in enumerate(doc.get(key, []))
        if isinstance(record, dict)
    ]


def _list(doc: Any, key: str) -> list[Any]:
    return doc if key == "" else doc[key]  # type: ignore[no-any-return]


# --- corruptions: bytes -> bytes, each guaranteed to break the file --------------------------


def truncate(data: bytes, rng: random.Random) -> bytes:
    last = len(data.rstrip()) - 1  # the closing bracket goes, whatever else stays
    return data[: rng.randrange(1, last)]


def wrong_type(data: bytes, rng: random.Random) -> bytes:
    doc = orjson.loads(data)
    key, i, record, model = rng.choice(_records(doc))
    fields = [f for f in record if f in model.__annotations__]
    field = rng.choice(fields)
    kinds = {
        "string": "x",
        "object": {"nested": 1},
        "boolean": True,
        "null": None,
        "number": 1.5,
        "list": ["x"],
    }
    current = _json_kind(record[field])
    allowed = [k for k in kinds if k != current and not (k == "null" and _nullable(model, field))]
    if current == "list":
        allowed.remove("number")  # bbox-like lists; a number instead of a list is still wrong
        allowed.append("number")
    _list(doc, key)[i][field] = kinds[rng.choice(allowed)]
    return orjson.dumps(doc)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _nullable(model: Any, field: str) -> bool:
    return "None" in str(model.__annotations__[field])


def _required(model: Any) -> list[str]:
    return list(adapter(model).json_schema(mode="validation").get("required", []))


def delete_required(data: bytes, rng: random.Random) -> bytes:
    doc = orjson.loads(data)
    candidates = [
        (key, i, field)
        for key, i, record, model in _records(doc)
        for field in _required(model)
        if field in record
    ]
    key, i, field = rng.choice(candidates)
    del _list(doc, key)[i][field]
    return orjson.dumps(doc)


def bad_reference(data: bytes, rng: random.Random) -> bytes:
    doc = orjson.loads(data)
    if isinstance(doc, list):  # results: a score that is no number
        rng.choice(doc)["score"] = "high"
        return orjson.dumps(doc)
    images = doc["images"]
    if len(images) > 1 and rng.random() < 0.5:
        first, second = rng.sample(range(len(images)), 2)
        images[second]["id"] = images[first]["id"]  # two images, one id
    elif doc["annotations"]:
        missing = max((img["id"] for img in images), default=0) + 1000
        rng.choice(doc["annotations"])["image_id"] = missing  # an image that is not there
    else:
        images.append(dict(images[0]))  # a duplicate image record
    return orjson.dumps(doc)


_NUMBER = re.compile(rb"(?<=[:\[,\s])-?\d+(\.\d+)?([eE][+-]?\d+)?(?=\s*[,\]\}])")


def _replace_number(data: bytes, rng: random.Random, text: bytes) -> bytes:
    match = rng.choice(list(_NUMBER.finditer(data)))
    return data[: match.start()] + text + data[match.end() :]


def nan(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, rng.choice([b"NaN", b"Infinity", b"-Infinity"]))


def huge_number(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, rng.choice([b"1e400", b"-1e999", b"1" + b"0" * 400]))


def wrong_nesting(data: bytes, rng: random.Random) -> bytes:
    doc = orjson.loads(data)
    if isinstance(doc, list):
        i = rng.randrange(len(doc))
        doc[i] = [doc[i]]
        return orjson.dumps(doc)
    key = rng.choice([k for k in ("images", "annotations", "categories") if doc.get(k)])
    choice = rng.randrange(3)
    if choice == 0:  # one record wrapped in a list
        i = rng.randrange(len(doc[key]))
        doc[key][i] = [doc[key][i]]
    elif choice == 1:  # a whole list moved inside another record
        value = doc.pop(key)
        other = "images" if key != "images" else "categories"
        if doc.get(other):
            doc[other][0][key] = value
    else:  # the list replaced by an object keyed by id
        doc[key] = {str(i): record for i, record in enumerate(doc[key])}
    return orjson.dumps(doc)


def binary_junk(data: bytes, rng: random.Random) -> bytes:
    junk = b"\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 16)))
    at = rng.randrange(1, len(data))
    return data[:at] + junk + data[at:]


CORRUPTIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f
    for f in (
        truncate,
        wrong_type,
        delete_required,
        bad_reference,
        nan,
        huge_number,
        wrong_nesting,
        binary_junk,
    )
}

CASES = [
    (name, corruption, seed)
    for name in INPUTS
    for corruption in CORRUPTIONS
    for seed in SEEDS
    if not (name.startswith("datumaro-captions") and corruption == "bad_reference")
]


def test_there_are_hundreds_of_cases() -> None:
    assert len(CASES) >= 400
    assert len(INPUTS) >= 15


@pytest.mark.parametrize(("name", "corruption", "seed"), CASES)
def test_corrupted_input(name: str, corruption: str, seed: int, tmp_path: Path) -> None:
    rng = random.Random(f"{name}/{corruption}/{seed}")
    data = CORRUPTIONS[corruption](INPUTS[name], rng)
    assert data != INPUTS[name]
    path = tmp_path / "input.json"
    path.write_bytes(data)
    stamp = path.stat().st_mtime_ns

    result = validate_path(path, Settings())

    codes = [d.code for d in result.diagnostics]
    assert codes, f"no finding for {corruption} of {name}"
    assert "X001" not in codes, [d.message for d in result.diagnostics if d.code == "X001"]
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == stamp

    # Fixing whatever can be fixed does not crash either, and leaves valid JSON or the input.
    fixed = validate_path(path, Settings(), fix=True, unsafe_fixes=True)
    assert "X001" not in [d.code for d in fixed.diagnostics]
    if fixed.written:
        parse_json(path.read_bytes(), str(path))
    else:
        assert path.read_bytes() == data


XML_INPUTS = {path.name: path.read_bytes() for path in sorted((REALDATA / "voc_xml").glob("*.xml"))}


@pytest.mark.parametrize(
    ("name", "corruption", "seed"),
    [(n, c, s) for n in XML_INPUTS for c in ("truncate", "binary_junk") for s in SEEDS],
)
def test_corrupted_voc_xml(name: str, corruption: str, seed: int, tmp_path: Path) -> None:
    rng = random.Random(f"{name}/{corruption}/{seed}")
    data = CORRUPTIONS[corruption](XML_INPUTS[name], rng)
    path = tmp_path / name
    path.write_bytes(data)
    results = validate_target(path, Settings())
    codes = [d.code for r in results for d in r.diagnostics]
    assert "V001" in codes
    assert path.read_bytes() == data
