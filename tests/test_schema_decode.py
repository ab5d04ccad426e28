"""The typed decode (``schemas/decode.py``) gives exactly the document an untyped parse gives
(every key kept, in order; ints stay ints) and accepts exactly what the models accept, or
declines: on the corpus of real and generated files, hundreds of seeded mutations of them, and
tools' extra keys put anywhere, with the outline pass in-process and in its forked helper."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from coco_convert import load
from coco_convert.dataset import detect_kind
from coco_convert.schemas import decode
from coco_convert.schemas.check import check_records
from coco_convert.schemas.decode import CHECKED_LISTS, decode_checked

from .test_jsonschema_agreement import _corpus_files, _mutate, generated

__all__ = ["generated"]  # (the fixture, shared)

MUTATIONS = 120
EXTRA_KEYS = ["attributes", "track_id", "score", "z_order", "ignore"]


@pytest.fixture
def always_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper process for any file size (it starts only for large files otherwise)."""
    monkeypatch.setattr(decode._Outliner, "MIN_BYTES", 0)


def _exact(data: bytes) -> bytes:
    """The untyped parse, as bytes that tell 1 from 1.0 and keep key order."""
    return msgspec.json.encode(msgspec.json.decode(data))


def _models_accept(document: Any, kind: str) -> bool:
    """Whether the models accept the lists the typed decode checks (absent is fine)."""
    lists = [document.get(key, []) for key in CHECKED_LISTS]
    return all(isinstance(records, list) for records in lists) and not any(
        list(check_records(records, kind, key, 0))  # type: ignore[arg-type]
        for key, records in zip(CHECKED_LISTS, lists, strict=True)
    )


def _with_extras(document: Any, rng: random.Random) -> Any:
    """``document`` with tools' keys added to some records, nested RLE and the top level."""
    document = json.loads(json.dumps(document))
    for key in ("images", "annotations"):
        records = [r for r in document.get(key) or [] if isinstance(r, dict)]
        for record in rng.sample(records, min(len(records), rng.randint(1, 3))):
            record[rng.choice(EXTRA_KEYS)] = rng.choice([{"occluded": False}, 7, "x", None])
            segmentation = record.get("segmentation")
            if isinstance(segmentation, dict) and rng.random() < 0.5:
                segmentation["source"] = "tool"
    if rng.random() < 0.3:
        document["tool_version"] = "2.4"
    return document


def _cases(files: list[Path]) -> list[tuple[str, bytes, str]]:
    cases: list[tuple[str, bytes, str]] = []
    for path in files:
        original = json.loads(path.read_bytes())
        if not isinstance(original, dict):
            continue  # results: not decoded this way
        kind = detect_kind(original)
        rng = random.Random(f"decode {path.name}")
        for i in range(-2, MUTATIONS):
            if i == -2:
                document = original
            elif i == -1:
                document = _with_extras(original, rng)
            else:
                document = _mutate(_with_extras(original, rng), rng)
            if isinstance(document, dict):
                cases.append((f"{path.name}#{i}", json.dumps(document).encode(), kind))
    return cases


@pytest.mark.parametrize("helper", [False, True])
def test_decode_is_the_untyped_parse_or_declines(
    generated: list[Path], helper: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode._Outliner, "MIN_BYTES", 0)
    accepted = declined = 0
    for name, data, kind in _cases(_corpus_files() + generated):
        decoded = decode_checked(data, kind, helper=helper)  # type: ignore[arg-type]
        untyped = msgspec.json.decode(data)
        if decoded is None:
            declined += 1
            continue
        accepted += 1
        document, decoded_as = decoded
        assert decoded_as == kind
        assert msgspec.json.encode(document) == _exact(data), name
        assert _models_accept(untyped, kind), f"{name}: accepted what the models refuse"
    assert accepted > 300  # the fast path runs, and on files with extra keys
    assert declined > 300  # invalid records are exercised, not assumed


def test_every_valid_corpus_file_is_decoded(generated: list[Path]) -> None:
    for path in _corpus_files() + generated:
        document = json.loads(path.read_bytes())
        if not isinstance(document, dict):
            continue
        kind = detect_kind(document)
        if not _models_accept(document, kind):
            continue
        assert decode_checked(path.read_bytes(), kind, helper=False) is not None, path.name
        if kind not in ("instances", "keypoints", "stuff"):
            continue  # (captions and panoptic are not guessed: they load the usual way)
        decoded = decode_checked(path.read_bytes(), helper=False)  # the kind guessed
        assert decoded is not None, path.name
        assert msgspec.json.encode(decoded[0]) == _exact(path.read_bytes())
        assert decoded[1] == ("instances" if kind == "stuff" else kind), path.name


def _document(annotations: int, extra_at: int | None) -> dict[str, Any]:
    anns: list[dict[str, Any]] = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2.5, 3], "area": 7.5}
        for i in range(annotations)
    ]
    if extra_at is not None:
        anns[extra_at]["attributes"] = {"occluded": True}
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "cat"}],
    }


@pytest.mark.usefixtures("always_fork")
def test_a_key_only_late_in_the_file_is_kept() -> None:
    """The head guesses no extra keys; the helper finds the last record's; decoded again."""
    data = json.dumps(_document(20_000, extra_at=-1)).encode()
    assert decode._head(data) < data.rfind(b'"attributes"')  # (not in the head)
    decoded = decode_checked(data, "instances")
    assert decoded is not None
    assert msgspec.json.encode(decoded[0]) == _exact(data)
    assert decoded[0]["annotations"][-1]["attributes"] == {"occluded": True}


@pytest.mark.usefixtures("always_fork")
def test_a_helper_that_dies_is_replaced_by_the_pass_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decode._Outliner, "result", lambda self: None)
    data = json.dumps(_document(50, extra_at=30)).encode()
    decoded = decode_checked(data, "instances")
    assert decoded is not None
    assert msgspec.json.encode(decoded[0]) == _exact(data)


def test_too_many_unknown_keys_declines() -> None:
    document = _document(3, extra_at=None)
    document["annotations"][0].update({f"k{i}": i for i in range(decode.MAX_EXTRAS + 1)})
    assert decode_checked(json.dumps(document).encode(), "instances", helper=False) is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"id": 1.0}, "an integer-valued float is not an id"),
        ({"bbox": [0, 0, 1]}, "three numbers are not a box"),
        ({"segmentation": [[0, 0, 1, 0, 1]]}, "an odd polygon (the after-validator)"),
        ({"area": 1e400}, "not finite"),
        ({"iscrowd": True}, "true is not 0 or 1"),
        ({"segmentation": {"counts": "a"}}, "an RLE without its size"),
    ],
)
def test_invalid_records_decline(change: dict[str, Any], why: str) -> None:
    document = _document(2, extra_at=None)
    document["annotations"][1].update(change)
    data = json.dumps(document).encode().replace(b"Infinity", b"1e400")
    assert decode_checked(data, "instances", helper=False) is None, why


def test_load_names_the_problem_the_typed_decode_declined(tmp_path: Path) -> None:
    document = _document(2, extra_at=0)
    document["annotations"][1]["bbox"] = [0, 0, 1]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(Exception, match=r"/annotations/1/bbox"):
        load(path)


def test_load_keeps_extra_keys_and_types(tmp_path: Path) -> None:
    document = _document(3, extra_at=1)
    document["annotations"][2]["segmentation"] = {"counts": [0, 4], "size": [2, 2], "src": 1}
    document["note"] = "kept"
    path = tmp_path / "extras.json"
    path.write_text(json.dumps(document))
    assert load(path).document == document
    assert msgspec.json.encode(load(path).document) == _exact(path.read_bytes())


def test_repeated_keys_as_the_untyped_parse() -> None:
    """JSON allows a key twice: the last value wins, at the first one's place, as untyped."""
    data = (
        b'{"images": [{"id": 1, "file_name": "a", "id": 2}], "annotations": [{"id": 3,'
        b' "image_id": 2, "category_id": 1, "id": 5, "z": 1, "z": [2]}], "categories": [],'
        b' "images": [{"id": 2, "file_name": "b"}]}'
    )
    decoded = decode_checked(data, helper=False)
    assert decoded is not None
    assert msgspec.json.encode(decoded[0]) == _exact(data)
    # a first value the models refuse: declined, though the last one fits (stricter, safe)
    assert decode_checked(data.replace(b'"id": 3', b'"id": "x"'), helper=False) is None
