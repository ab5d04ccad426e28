"""The generated JSON Schema files and the models agree on what is valid.

Corpus: valid documents of every kind (fixtures, the real exports that are valid, generated
COCO-shaped data) and hundreds of seeded mutations of them. For each, ``jsonschema`` with the
checked-in schema and the models must give the same verdict, except in the three places JSON
Schema cannot follow the models, where the models are stricter (and only there):

- an odd number of polygon coordinates (JSON Schema has no "even length");
- keypoints not in (x, y, v) triples (no "length multiple of 3");
- an integer-valued float such as ``1.0`` where an integer belongs (JSON Schema calls 1.0 an
  integer; our models, like Python tools downstream, do not).
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from coco_convert.dataset import detect_kind
from coco_convert.schemas import KINDS, check_document
from coco_convert.schemas.export import schema_path

from .conftest import FIXTURES, REALDATA

GAP_MESSAGES = ("expected an even number of coordinates", "expected (x, y, v) triples")
MUTATIONS_PER_DOCUMENT = 80
ODD_VALUES: list[Any] = ["x", "", 1.5, 7, -3, 0, None, True, False, [], {}, [1, 2, 3], {"a": 1}]


def _validators() -> dict[str, jsonschema.protocols.Validator]:
    validators = {}
    for kind in KINDS:
        schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft202012Validator(schema)
    return validators


VALIDATORS = _validators()


def _corpus_files() -> list[Path]:
    files = sorted((FIXTURES / "coco").glob("*.json")) + sorted(REALDATA.glob("coco_*/*.json"))
    return [path for path in files if path.is_file()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Small COCO-shaped files from the shared deterministic generator."""
    generator = REALDATA.parent / "bench" / "gen_coco.py"
    out = tmp_path_factory.mktemp("generated")
    paths = []
    for extra in ([], ["--keypoints"]):
        path = out / f"gen{'_kp' if extra else ''}.json"
        subprocess.run(
            [
                sys.executable,
                str(generator),
                str(path),
                "--images",
                "6",
                "--crowd-frac",
                "0.3",
                *extra,
            ],
            check=True,
            capture_output=True,
        )
        paths.append(path)
    return paths


def _verdicts(document: Any, kind: str) -> tuple[list[str], bool]:
    issues, _ = check_document(document, kind)  # type: ignore[arg-type]
    return [issue.message for issue in issues], VALIDATORS[kind].is_valid(document)


def _in_gap(messages: list[str], document: Any) -> bool:
    """Every model complaint is one JSON Schema cannot express."""
    return bool(messages) and all(
        message.startswith(GAP_MESSAGES) or _integral_float_message(message) for message in messages
    )


def _integral_float_message(message: str) -> bool:
    prefix = "expected an integer, got "
    if not message.startswith(prefix):
        return False
    try:
        value = float(message[len(prefix) :])
    except ValueError:
        return False
    return value.is_integer()


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found += _paths(child, (*here, index))
    return found


def _mutate(document: Any, rng: random.Random) -> Any:
    mutated = copy.deepcopy(document)
    path = rng.choice(_paths(mutated)[1:] or [()])
    if not path:
        return rng.choice(ODD_VALUES)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    op = rng.randrange(6)
    target = parent[last]
    if op == 0:
        del parent[last]
    elif op == 1 and isinstance(target, list) and target:
        del target[rng.randrange(len(target)) :]
    elif op == 2 and isinstance(target, list):
        target.append(rng.choice(ODD_VALUES))
    elif op == 3 and isinstance(target, int | float) and not isinstance(target, bool):
        parent[last] = float(target)  # an integer-valued float: 1 -> 1.0
    else:
        parent[last] = rng.choice(ODD_VALUES)
    return mutated


def _check_agreement(document: Any, kind: str, label: str) -> str:
    messages, schema_ok = _verdicts(document, kind)
    model_ok = not messages
    if model_ok == schema_ok:
        return "agree"
    assert not model_ok, (
        f"{label}: JSON Schema rejects what the models accept: "
        f"{list(VALIDATORS[kind].iter_errors(document))[:1]}"
    )
    assert _in_gap(messages, document), f"{label}: unexpected disagreement: {messages}"
    return "gap"


def test_corpus_has_every_kind(generated: list[Path]) -> None:
    kinds = {detect_kind(json.loads(path.read_bytes())) for path in _corpus_files() + generated}
    assert kinds >= {"instances", "keypoints", "captions", "panoptic", "results"}


def test_models_and_json_schema_agree_on_valid_files_and_their_mutations(
    generated: list[Path],
) -> None:
    outcomes = {"agree": 0, "gap": 0}
    valid = 0
    for path in _corpus_files() + generated:
        document = json.loads(path.read_bytes())
        kind = detect_kind(document)
        outcomes[_check_agreement(document, kind, path.name)] += 1
        if check_document(document, kind)[1]:
            continue  # an invalid real export: agreement checked above, no mutations from it
        valid += 1
        rng = random.Random(path.name)
        for i in range(MUTATIONS_PER_DOCUMENT):
            mutated = _mutate(document, rng)
            outcomes[_check_agreement(mutated, kind, f"{path.name} mutation {i}")] += 1
    assert valid >= 10
    assert outcomes["agree"] > 500
    assert outcomes["gap"] > 0  # the known gaps are exercised, not assumed


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        (
            "instances",
            {
                "images": [],
                "categories": [],
                "annotations": [
                    {
                        "id": 1,
                        "image_id": 1,
                        "category_id": 1,
                        "segmentation": [[1, 2, 3, 4, 5, 6, 7]],
                    }
                ],
            },
        ),
        (
            "keypoints",
            {
                "images": [],
                "categories": [],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2]}],
            },
        ),
        ("results", [{"image_id": 1.0, "category_id": 1, "score": 0.5, "bbox": [1, 2, 3, 4]}]),
    ],
)
def test_each_known_gap_is_real_and_only_the_models_catch_it(kind: str, document: Any) -> None:
    messages, schema_ok = _verdicts(document, kind)
    assert schema_ok
    assert len(messages) == 1
    assert _in_gap(messages, document)
