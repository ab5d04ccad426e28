"""diff: added, removed and changed records, field by field; matched by id or by IoU."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given, settings

import coco_convert
from coco_convert.cli import main
from coco_convert.ops import diff, merge

from .ops_cases import CAPTIONS, CVAT, LABELME, dataset, documents


@settings(max_examples=60, deadline=None)
@given(documents())
def test_diff_of_a_dataset_with_itself_is_empty(doc: dict[str, Any]) -> None:
    for match in ("id", "iou"):
        found = diff(dataset(doc), dataset(copy.deepcopy(doc)), match=match)  # type: ignore[arg-type]
        assert found.equal, found.to_dict()
        assert list(found.lines(summary=True))[2:] == [
            "images: 0 added, 0 removed, 0 changed",
            "annotations: 0 added, 0 removed, 0 changed",
            "categories: 0 added, 0 removed, 0 changed",
        ]


def test_changes_name_each_field_old_and_new() -> None:
    a = coco_convert.load(LABELME)
    changed = copy.deepcopy(a.document)
    changed["annotations"][0]["bbox"][3] += 1
    changed["annotations"][0]["attributes"] = {"occluded": True}
    del changed["annotations"][1]["area"]
    changed["images"][2]["width"] = 501
    changed["categories"][15]["name"] = "human"
    removed = changed["annotations"].pop(5)
    changed["annotations"].append({**removed, "id": 999})
    changed["info"]["year"] = 2021
    b = coco_convert.from_document(changed, source="b.json")
    found = diff(a, b)
    assert not found.equal
    out = found.to_dict()
    assert out["annotations"]["removed"] == [removed["id"]]
    assert out["annotations"]["added"] == [999]
    first = out["annotations"]["changed"][0]
    assert first["key"] == a.annotations[0]["id"]
    assert [c["field"] for c in first["changes"]] == ["bbox", "attributes"]
    assert "old" not in first["changes"][1]
    assert first["changes"][1]["new"] == {"occluded": True}
    assert out["annotations"]["changed"][1]["changes"] == [
        {"field": "area", "old": a.annotations[1]["area"]}
    ]
    assert out["images"]["changed"] == [
        {
            "key": 2,
            "label": "2 'JPEGImages/2011_000006.jpg'",
            "changes": [{"field": "width", "old": 500, "new": 501}],
        }
    ]
    assert out["categories"]["changed"][0]["changes"] == [
        {"field": "name", "old": "person", "new": "human"}
    ]
    assert out["top_level"] == [
        {"field": "info", "old": a.document["info"], "new": changed["info"]}
    ]
    lines = list(found.lines())
    assert "~ image 2 'JPEGImages/2011_000006.jpg': width 500 -> 501" in lines
    assert "+ annotation 999" in lines
    assert any(
        line.startswith("~ annotation 1: area ") and line.endswith("-> (none)") for line in lines
    )


def test_iou_matching_sees_through_renumbering() -> None:
    source = coco_convert.load(CVAT)
    renumbered, _ = merge([coco_convert.load(LABELME), source])  # CVAT's records get new ids
    only_cvat = coco_convert.from_document(
        {
            **renumbered.document,
            "images": [i for i in renumbered.images if i["file_name"] == "images.jpg"],
            "annotations": [a for a in renumbered.annotations if a["image_id"] == 4],
            "categories": [c for c in renumbered.categories if c["name"] in ("person", "car")],
        }
    )
    assert not diff(source, only_cvat).equal
    by_iou = diff(source, only_cvat, match="iou")
    # Ids are not compared; the image's license moved (labelme's license took id 0) and the
    # categories carry labelme's supercategory (null), the first file's in the merge.
    images, annotations, categories = by_iou.sections
    assert annotations.equal
    assert [[f.render() for f in c.fields] for c in images.changed] == [["license 0 -> 1"]]
    assert [[f.render() for f in c.fields] for c in categories.changed] == [
        ['supercategory "" -> null'],
        ['supercategory "" -> null'],
    ]
    moved = copy.deepcopy(only_cvat.document)
    moved["annotations"][0]["bbox"][0] += 5  # still IoU > 0.5: changed, not added
    found = diff(source, coco_convert.from_document(moved), match="iou")
    assert [c.fields[0].field for c in found.sections[1].changed] == ["bbox"]
    far = copy.deepcopy(only_cvat.document)
    far["annotations"][0]["bbox"][0] += 4000
    found = diff(source, coco_convert.from_document(far), match="iou", iou=0.5)
    assert (len(found.sections[1].added), len(found.sections[1].removed)) == (1, 1)


def test_captions_match_by_their_text_with_iou() -> None:
    captions = coco_convert.load(CAPTIONS)
    other = copy.deepcopy(captions.document)
    for ann in other["annotations"]:
        ann["id"] += 100
    assert diff(captions, coco_convert.from_document(other), match="iou").equal


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_exit_status_is_diffs(tmp_path: Path) -> None:
    same = _run("diff", str(LABELME), str(LABELME))
    assert same.exit_code == 0, same.output
    changed = copy.deepcopy(coco_convert.load(LABELME).document)
    changed["images"][0]["height"] = 1
    (tmp_path / "b.json").write_text(json.dumps(changed))
    different = _run("diff", str(LABELME), str(tmp_path / "b.json"), "--json")
    assert different.exit_code == 1
    assert json.loads(different.stdout)["images"]["changed"][0]["changes"] == [
        {"field": "height", "old": 338, "new": 1}
    ]
    (tmp_path / "bad.json").write_text("{")
    trouble = _run("diff", str(LABELME), str(tmp_path / "bad.json"))
    assert trouble.exit_code == 2
    assert "bad.json:1:2: invalid JSON" in trouble.stderr


def test_repeated_ids_are_warned_and_strict_refuses(tmp_path: Path) -> None:
    doc = copy.deepcopy(coco_convert.load(LABELME).document)
    doc["annotations"][1]["id"] = doc["annotations"][0]["id"]
    (tmp_path / "twice.json").write_text(json.dumps(doc))
    result = _run("diff", str(tmp_path / "twice.json"), str(LABELME))
    assert result.exit_code == 1
    assert "repeated_id" in result.stderr
    strict = _run("diff", "--strict", str(tmp_path / "twice.json"), str(LABELME))
    assert strict.exit_code == 2
