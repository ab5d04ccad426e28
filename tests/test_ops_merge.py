"""merge: categories by name, images by file_name, ids renumbered or kept, every key kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coco_convert
from coco_convert import InputError, ResultsDataset, UsageError
from coco_convert.ops import filter_dataset, merge
from coco_convert.ops.merging import merge_results, merge_with_plan, normalize_name

from .ops_cases import (
    CAPTIONS,
    CVAT,
    KEYPOINTS,
    LABELME,
    PANOPTIC,
    ROBOFLOW,
    dataset,
    document,
    documents,
    pycoco,
    self_ap,
)


def _names(ds: Any) -> dict[int, str]:
    return {c["id"]: c["name"] for c in ds.categories}


def test_real_exports_merge_by_category_name() -> None:
    inputs = [coco_convert.load(p) for p in (CVAT, ROBOFLOW, LABELME)]
    before = [copy.deepcopy(d.document) for d in inputs]
    merged, plan, report = merge_with_plan(inputs)
    assert [d.document for d in inputs] == before  # inputs untouched
    merged.validate()
    assert len(merged.images) == sum(len(d.images) for d in inputs)
    assert len(merged.annotations) == sum(len(d.annotations) for d in inputs)
    # person and car (CVAT 1, 2; labelme 15, 7) are one category each; the first file's ids
    # stay, and a later category keeps its id when it is free.
    names = _names(merged)
    assert list(names.values()).count("person") == 1
    assert names[1] == "person"
    assert names[2] == "car"
    assert names[0] == "badminton"
    assert names[3] == "bird"  # labelme's id 3 was free
    assert plan.categories[2][15] == 1
    assert plan.categories[2][7] == 2
    assert plan.categories[1][1] not in (1, 2)  # roboflow's shuttlecock (id 1) moved
    assert report.stats["merged_categories"] == "person, car"
    # Every annotation keeps its category name and its image's file name.
    out_images = {i["id"]: i["file_name"] for i in merged.images}
    position = 0
    for n, source in enumerate(inputs):
        source_images = {i["id"]: i["file_name"] for i in source.images}
        for ann in source.annotations:
            new = merged.annotations[position]
            position += 1
            assert names[new["category_id"]] == _names(source)[ann["category_id"]]
            assert out_images[new["image_id"]] == source_images[ann["image_id"]]
            assert {k: v for k, v in new.items() if not k.endswith("id")} == {
                k: v for k, v in ann.items() if not k.endswith("id")
            }
        assert plan.images[n]
    # Extra keys kept: CVAT's annotation attributes, labelme's top-level "type".
    assert merged.annotations[0]["attributes"] == {"occluded": False, "rotation": 0.0}
    assert merged.document["type"] == "instances"
    # Licenses unified by content; the labelme license (id 0, taken by CVAT's) moved.
    assert [lic["id"] for lic in merged.licenses] == [0, 1, 2]
    assert {i["license"] for i in merged.images if i["file_name"].startswith("JPEG")} == {2}
    # What changed is reported, with places.
    assert report.losses["category_ids_changed"].count == 6
    assert report.losses["image_ids_renumbered"].count == 12
    first = report.losses["image_ids_renumbered"].examples[0]
    assert str(first) == f"{ROBOFLOW}:/images/0/id: 0 -> 2"
    assert str(report.losses["annotation_ids_renumbered"].examples[0]) == (
        f"{ROBOFLOW}:/annotations/0/id: 0 -> 17"
    )
    assert [str(e) for e in report.losses["top_level_value_differs"].examples] == [
        f"{ROBOFLOW}:/info",
        f"{LABELME}:/info",
    ]
    assert self_ap(merged.document) == pytest.approx(1.0)
    pycoco(merged.document)


def test_same_file_name_is_one_image_with_both_annotation_sets() -> None:
    a = dataset(document([(1, "a.jpg"), (2, "b.jpg")], [(1, 1, 1), (2, 2, 1)], [(1, "car")]), "A")
    b = dataset(document([(7, "b.jpg")], [(5, 7, 3)], [(3, "dog")]), "B")
    merged, report = merge([a, b])
    assert [i["file_name"] for i in merged.images] == ["a.jpg", "b.jpg"]
    on_b = [ann for ann in merged.annotations if ann["image_id"] == 2]
    assert sorted(_names(merged)[ann["category_id"]] for ann in on_b) == ["car", "dog"]
    assert report.counts["images in several inputs"] == 1


def test_same_file_name_of_another_size_is_an_error_naming_both_files() -> None:
    a = dataset(document([(1, "a.jpg")], [], [(1, "car")]), "A.json")
    other = document([(1, "a.jpg")], [], [(1, "car")])
    other["images"][0]["width"] = 65
    with pytest.raises(
        InputError, match=r"B.json:/images/0: 'a.jpg' is 65x48 here but 64x48 in A.json:/images/0"
    ):
        merge([a, dataset(other, "B.json")])


def test_keep_ids_when_they_do_not_collide() -> None:
    a = dataset(document([(1, "a.jpg")], [(10, 1, 1)], [(1, "car")]), "A.json")
    b = dataset(document([(2, "b.jpg")], [(20, 2, 1)], [(1, "car")]), "B.json")
    merged, report = merge([a, b], ids="keep")
    assert [i["id"] for i in merged.images] == [1, 2]
    assert [a["id"] for a in merged.annotations] == [10, 20]
    assert report.lossless


def test_colliding_ids_with_keep_name_both_files() -> None:
    a = dataset(document([(1, "a.jpg")], [(10, 1, 1)], [(1, "car")]), "A.json")
    b = dataset(document([(1, "b.jpg")], [(20, 1, 1)], [(1, "car")]), "B.json")
    with pytest.raises(InputError, match=r"B.json:/images/0/id: image id 1 .* A.json:/images/0"):
        merge([a, b], ids="keep")
    c = dataset(document([(2, "c.jpg")], [(10, 2, 1)], [(1, "car")]), "C.json")
    with pytest.raises(InputError, match=r"C.json:/annotations/0/id: .* A.json:/annotations/0"):
        merge([a, c], ids="keep")
    d = dataset(document([(3, "d.jpg")], [], [(1, "dog")]), "D.json")
    with pytest.raises(
        InputError, match=r"D.json:/categories/0/id: category id 1 \('dog'\) is 'car' in A.json"
    ):
        merge([a, d], ids="keep")


def test_normalized_match_and_look_alike_names() -> None:
    a = dataset(document(1, [], [(1, "traffic light"), (2, "keyboard")]), "A.json")
    b = dataset(document([(5, "x.jpg")], [], [(1, "Traffic_Light"), (2, "keybaord")]), "B.json")
    exact, report = merge([a, b])
    assert [c["name"] for c in exact.categories] == [
        "traffic light",
        "keyboard",
        "Traffic_Light",
        "keybaord",
    ]
    looks = [str(e) for e in report.warnings["look_alike_categories"].examples]
    assert "B.json:/categories/0: 'Traffic_Light' looks like 'traffic light' (A.json)" in looks
    assert "B.json:/categories/1: 'keybaord' looks like 'keyboard' (A.json)" in looks
    normalized, report = merge([a, b], match="normalized")
    assert [c["name"] for c in normalized.categories] == ["traffic light", "keyboard", "keybaord"]
    assert report.losses["category_names_normalized"].count == 1
    assert report.warnings["look_alike_categories"].count == 1  # keybaord stays apart
    assert normalize_name(" Traffic_Light-2 ") == "trafficlight2"


def test_short_names_one_letter_apart_are_not_flagged() -> None:
    a = dataset(document(1, [], [(1, "cat")]), "A.json")
    b = dataset(document([(5, "x.jpg")], [], [(1, "car")]), "B.json")
    _, report = merge([a, b])
    assert "look_alike_categories" not in report.warnings


def _keypoint_doc(skeleton: list[list[int]], names: list[str]) -> dict[str, Any]:
    doc = document(1, [], [(1, "person")])
    doc["categories"][0].update(keypoints=names, skeleton=skeleton)
    return doc


def test_keypoint_categories_merge_only_when_they_agree() -> None:
    names = ["nose", "left_eye", "right_eye"]
    a = coco_convert.from_document(_keypoint_doc([[1, 2], [1, 3]], names), source="A.json")
    same = _keypoint_doc([[3, 1], [2, 1]], names)  # the same edges, other order
    same["images"][0]["file_name"] = "other.jpg"
    merged, _ = merge([a, coco_convert.from_document(same, source="B.json")])
    assert merged.kind == "keypoints"
    assert len(merged.categories) == 1
    other = _keypoint_doc([[1, 2]], names)
    with pytest.raises(
        InputError, match=r"B.json:/categories/0: category 'person' has other keypoint"
    ):
        merge([a, coco_convert.from_document(other, source="B.json")])
    real = coco_convert.load(KEYPOINTS)
    merged, _ = merge([real, coco_convert.load(CVAT)])  # instances and keypoints: keypoints
    assert merged.kind == "keypoints"


def test_captions_merge_without_categories() -> None:
    captions = coco_convert.load(CAPTIONS)
    merged, report = merge([captions, captions])
    assert len(merged.images) == len(captions.images)  # same file names: the same images
    assert len(merged.annotations) == 2 * len(captions.annotations)
    assert report.counts["images in several inputs"] == len(captions.images)


def test_kinds_that_do_not_merge_are_refused() -> None:
    with pytest.raises(UsageError, match="panoptic"):
        merge([coco_convert.load(PANOPTIC)])
    with pytest.raises(UsageError, match="do not merge"):
        merge([coco_convert.load(CAPTIONS), coco_convert.load(CVAT)])


def _perfect_results(doc: dict[str, Any]) -> ResultsDataset:
    results = coco_convert.from_document(
        [
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": a["bbox"],
                "score": 1.0,
            }
            for a in doc["annotations"]
        ],
        kind="results",
    )
    assert isinstance(results, ResultsDataset)
    return results


def test_results_follow_their_ground_truths_ids() -> None:
    from .ops_cases import pycoco as _pycoco

    gts = [coco_convert.load(p) for p in (CVAT, ROBOFLOW, LABELME)]
    results = [_perfect_results(gt.document) for gt in gts]
    merged_gt, _ = merge(gts)
    merged, report = merge_results(results, gts)
    assert len(merged.results) == sum(len(r.results) for r in results)
    # Perfect per-file results, merged, are perfect results of the merged ground truth.
    gt = _pycoco(merged_gt.document)
    import contextlib
    import io

    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(gt, gt.loadRes([dict(r) for r in merged.results]), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)
    # One ground truth for several result files: joined as they are.
    joined, report = merge_results([results[0], results[0]], [gts[0]])
    assert joined.results == results[0].results * 2
    orphan = coco_convert.from_document(
        [{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}], kind="results"
    )
    assert isinstance(orphan, ResultsDataset)
    _, report = merge_results([orphan], [gts[0]])
    assert report.losses["results_not_in_ground_truth"].count == 1
    with pytest.raises(UsageError, match="one --gt for all"):
        merge_results(results, gts[:2])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=3, unique=True).flatmap(
        lambda seeds: st.tuples(*(documents(prefix=f"s{i}/") for i in range(len(seeds))))
    )
)
def test_merge_then_filter_by_source_gives_each_source_back(sources: tuple[Any, ...]) -> None:
    inputs = [dataset(doc, f"in{i}.json") for i, doc in enumerate(sources)]
    merged, plan, _ = merge_with_plan(inputs)
    for n, source in enumerate(inputs):
        images = plan.images[n]
        if not images:  # no ids to filter by (an empty list means "all", as in pycocotools)
            assert not source.images
            continue
        back, _ = filter_dataset(merged, img_ids=list(images.values()), keep_empty=True)
        # Up to renumbering: the same images in order, the same annotations in order, each
        # pointing at the same image and at a category of the same name.
        assert [i["file_name"] for i in back.images] == [i["file_name"] for i in source.images]
        source_names = _names(source)
        merged_names = _names(merged)
        by_id = {i["id"]: i["file_name"] for i in back.images}
        source_by_id = {i["id"]: i["file_name"] for i in source.images}
        assert [
            (by_id[a["image_id"]], merged_names[a["category_id"]], a["bbox"])
            for a in back.annotations
        ] == [
            (source_by_id[a["image_id"]], source_names[a["category_id"]], a["bbox"])
            for a in source.annotations
        ]
        assert set(source_names.values()) <= set(merged_names.values())
    pycoco(merged.document)


def test_merging_in_place_gives_the_same_file() -> None:
    copied, _ = merge([coco_convert.load(p) for p in (CVAT, ROBOFLOW, LABELME)])
    inputs = [coco_convert.load(p) for p in (CVAT, ROBOFLOW, LABELME)]
    in_place, _ = merge(inputs, copy=False)
    assert in_place.document == copied.document
    assert in_place.annotations[20] is inputs[1].annotations[4]  # reused, not copied
    twice = coco_convert.load(CVAT)
    merged, _ = merge([twice, twice], copy=False)  # the same object twice: copied all the same
    assert [a["id"] for a in merged.annotations] == list(range(1, 2 * len(twice.annotations) + 1))
    assert twice.document == coco_convert.load(CVAT).document
