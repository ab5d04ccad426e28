"""JSON pointers to lines and columns, checked on random documents."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from coco_convert.validate.locate import pointer_positions

_keys = st.text(alphabet=st.sampled_from('ab~/"\\ é'), max_size=4)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _keys
_documents = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=30,
)


def _pointers(value: Any, prefix: str = "") -> dict[str, Any]:
    found = {prefix: value}
    if isinstance(value, dict):
        for key, child in value.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            found.update(_pointers(child, f"{prefix}/{escaped}"))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.update(_pointers(child, f"{prefix}/{index}"))
    return found


@settings(max_examples=300, deadline=None)
@given(_documents, st.sampled_from([None, 1, 2, 4]))
def test_every_pointer_is_placed_at_its_value(document: Any, indent: int | None) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    data = text.encode("utf-8")
    pointers = _pointers(document)
    positions = pointer_positions(data, pointers)
    assert set(positions) == set(pointers)
    lines = data.split(b"\n")
    for pointer, (line, column) in positions.items():
        value = pointers[pointer]
        start = lines[line - 1][column - 1 :]
        expected = json.dumps(value, ensure_ascii=False).encode("utf-8")[:1]
        assert start[:1] == expected, (pointer, start[:20])


def test_missing_pointers_are_left_out() -> None:
    assert pointer_positions(b'{\n "a": [1,\n 2]\n}', ["/a/1", "/b", "/a/5"]) == {"/a/1": (3, 2)}
