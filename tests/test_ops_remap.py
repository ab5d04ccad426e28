"""remap: rename, merge and drop categories by a map file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coco_convert
from coco_convert import InputError, UsageError
from coco_convert.ops import read_map, remap

from .ops_cases import LABELME, PANOPTIC, dataset, document, documents, pycoco


def _by_name(ds: Any) -> dict[str, int]:
    return {c["name"]: c["id"] for c in ds.categories}


def test_rename_keeps_the_id_and_every_other_key() -> None:
    source = coco_convert.load(LABELME)
    out, report = remap(source, {"person": "human"})
    assert _by_name(out)["human"] == 15
    assert "person" not in _by_name(out)
    assert out.annotations == source.annotations  # ids unchanged: annotations shared as they are
    assert out.document["type"] == "instances"
    assert report.counts["categories renamed"] == 1
    assert report.lossless


def test_merge_several_into_one_and_into_an_existing_one() -> None:
    doc = document(
        2,
        [(1, 1, 1), (2, 1, 2), (3, 2, 3), (4, 2, 4)],
        [(1, "car"), (2, "truck"), (3, "bus"), (4, "vehicle")],
    )
    out, report = remap(dataset(doc), {"car": "vehicle", "truck": "vehicle", "bus": "transit"})
    # "vehicle" exists and absorbs car and truck (its id stays); bus is renamed, keeping 3.
    assert [(c["id"], c["name"]) for c in out.categories] == [(4, "vehicle"), (3, "transit")]
    assert [a["category_id"] for a in out.annotations] == [4, 4, 3, 4]
    assert report.counts["categories merged"] == 3
    merged_new, _ = remap(dataset(doc), {"car": "auto", "truck": "auto"})
    assert next((c["id"], c["name"]) for c in merged_new.categories) == (1, "auto")


def test_drop_removes_annotations_and_reports_them() -> None:
    doc = document(2, [(1, 1, 1), (2, 1, 2), (3, 2, 2)], [(1, "car"), (2, "dog")])
    out, report = remap(dataset(doc), {"dog": None})
    assert [c["name"] for c in out.categories] == ["car"]
    assert [a["id"] for a in out.annotations] == [1]
    assert len(out.images) == 2  # images stay
    assert report.losses["annotations_of_dropped_categories"].count == 2
    dropped = report.losses["categories_dropped"].examples
    assert [str(e) for e in dropped] == ["<dataset>:/categories/1: 'dog'"]


def test_compact_ids_and_unmapped_drop() -> None:
    doc = document(1, [(1, 1, 7), (2, 1, 9), (3, 1, 12)], [(7, "a"), (9, "b"), (12, "c")])
    out, _ = remap(dataset(doc), {"c": "c2"}, ids="compact")
    assert [(c["id"], c["name"]) for c in out.categories] == [(1, "a"), (2, "b"), (3, "c2")]
    assert [a["category_id"] for a in out.annotations] == [1, 2, 3]
    only, report = remap(dataset(doc), {"b": "b"}, unmapped="drop")
    assert [c["name"] for c in only.categories] == ["b"]
    assert report.losses["annotations_of_dropped_categories"].count == 2


def test_keys_by_id_and_unknown_keys() -> None:
    doc = document(1, [(1, 1, 7)], [(7, "a"), (9, "1")])
    out, report = remap(dataset(doc), {7: "seven", "1": "one", "nope": "x", 99: "y"})
    assert [c["name"] for c in out.categories] == ["seven", "one"]  # "1" is a name here
    unknown = report.warnings["map_key_unknown"].examples
    assert [str(e) for e in unknown] == ["<dataset>: 'nope'", "<dataset>: 99"]


def test_keypoint_categories_merge_only_when_they_agree() -> None:
    doc = document(1, [], [(1, "adult"), (2, "child")])
    doc["categories"][0].update(keypoints=["a", "b"], skeleton=[[1, 2]])
    doc["categories"][1].update(keypoints=["a", "b", "c"], skeleton=[[1, 2]])
    source = coco_convert.from_document(doc, source="kp.json")
    with pytest.raises(
        InputError, match=r"kp.json:/categories/1: category 'child' has other keypoint"
    ):
        remap(source, {"adult": "person", "child": "person"})


def test_read_map_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("car: vehicle\ntruck: vehicle\n7: seven\nnoise: null\n")
    assert read_map(tmp_path / "m.yaml") == {
        "car": "vehicle",
        "truck": "vehicle",
        7: "seven",
        "noise": None,
    }
    (tmp_path / "m.json").write_text('{"car": "vehicle", "noise": null}')
    assert read_map(tmp_path / "m.json") == {"car": "vehicle", "noise": None}
    for text, message in [
        ("- a\n- b\n", "expected a mapping"),
        ("car: 3\n", "is not a name"),
        ("car: [a]\n", "is not a name"),
        ("car: a\n  b: [\n", "invalid YAML"),
    ]:
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(InputError, match=message):
            read_map(tmp_path / "bad.yaml")
    with pytest.raises(UsageError, match="panoptic"):
        remap(coco_convert.load(PANOPTIC), {})


@settings(max_examples=80, deadline=None)
@given(documents(), st.data())
def test_remap_then_inverse_is_the_identity_where_injective(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    source = dataset(doc)
    names = [c["name"] for c in source.categories]
    # An injective map: a permutation of the names, some to fresh names.
    targets = data.draw(st.permutations([*names, *(f"new{i}" for i in range(len(names)))]))[
        : len(names)
    ]
    forward = dict(zip(names, targets, strict=True))
    inverse = {new: old for old, new in forward.items()}
    there, _ = remap(source, forward)
    back, report = remap(there, inverse)
    assert back.document == source.document
    assert report.lossless
    pycoco(there.document)
