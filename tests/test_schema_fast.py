"""The fast path of validation (the models compiled for msgspec) says "valid" exactly when
pydantic, the models' own validator, finds nothing: on the corpus of real and generated files
and hundreds of seeded mutations of them (the corpus of the JSON Schema agreement test)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, get_args

import pytest

from coco_convert.dataset import detect_kind
from coco_convert.schemas.check import (
    DOCUMENT_TYPES,
    _list_fields,
    check_records,
    fast_check,
)

from .test_jsonschema_agreement import _corpus_files, _mutate, generated

__all__ = ["generated"]  # (the fixture, shared)

MUTATIONS = 200


def _verdicts(document: Any, kind: str) -> list[tuple[str, bool, bool]]:
    """(list, fast verdict, pydantic verdict) for each list of records in ``document``."""
    if kind == "results":
        return []
    found = []
    for key, item_type in _list_fields(DOCUMENT_TYPES[kind]).items():
        records = document.get(key) if isinstance(document, dict) else None
        if not isinstance(records, list):
            continue
        fast = fast_check(item_type)
        assert fast is not None, (kind, key)
        found.append((key, fast(records), not list(check_records(records, kind, key, 0))))
    return found


def test_every_kind_but_results_is_compiled() -> None:
    for kind, document_type in DOCUMENT_TYPES.items():
        if kind == "results":  # a union of two record types: pydantic checks results
            assert fast_check(get_args(document_type)[0]) is None
            continue
        for key, item_type in _list_fields(document_type).items():
            assert fast_check(item_type) is not None, (kind, key)


def test_fast_path_agrees_with_the_models(generated: list[Path]) -> None:
    checked = rejected = 0
    for path in _corpus_files() + generated:
        document = json.loads(path.read_bytes())
        rng = random.Random(f"fast {path.name}")
        for i in range(-1, MUTATIONS):
            mutated = document if i < 0 else _mutate(document, rng)
            if not isinstance(mutated, dict):
                continue
            for key, fast, models in _verdicts(mutated, detect_kind(mutated)):
                assert fast == models, f"{path.name} mutation {i} /{key}: fast {fast}"
                checked += 1
                rejected += not fast
    assert checked > 2_000
    assert rejected > 200  # invalid records are exercised, not assumed


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], True),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], False),  # odd: the models' after-validator
        ([1.0, 2.0, 3.0, 4.0, 5.0], False),  # too short
        ([1.0, 2.0, 3.0, 4.0, float("inf"), 6.0], False),
        ([1.0, 2.0, 3.0, 4.0, True, 6.0], False),
        ([1.0, 2.0, 3.0, 4.0, "5", 6.0], False),
    ],
)
def test_polygons(value: list[Any], valid: bool) -> None:
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [value]}
    item_type = _list_fields(DOCUMENT_TYPES["instances"])["annotations"]
    assert fast_check(item_type)([ann]) is valid  # type: ignore[misc]
    assert (not list(check_records([ann], "instances", "annotations", 0))) is valid
