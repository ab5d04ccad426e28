"""filter: the annotations of pycocotools' getAnnIds, the images of getImgIds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coco_convert
from coco_convert import UsageError
from coco_convert.ops import filter_dataset
from coco_convert.ops.filtering import Criteria, Selection

from .ops_cases import CAPTIONS, LABELME, PANOPTIC, dataset, documents, generate, pycoco, self_ap


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("gen") / "gen.json"
    return coco_convert.load(generate(path, "--images", "400", "--crowd-frac", "0.1"))


@pytest.fixture(scope="module")
def coco(generated: Any) -> Any:
    return pycoco(generated.document)


def _expected(
    coco: Any, cat_ids: list[int], img_ids: list[int], area: Any, crowd: Any
) -> tuple[list[int], set[int]]:
    """pycocotools' answer: getAnnIds for the filters; the images holding one of them."""
    kwargs: dict[str, Any] = {"imgIds": img_ids, "catIds": cat_ids}
    if area is not None:
        kwargs["areaRng"] = list(area)
    if crowd is not None:
        kwargs["iscrowd"] = crowd
    ann_ids = coco.getAnnIds(**kwargs)
    return ann_ids, {coco.anns[i]["image_id"] for i in ann_ids}


FILTERS = st.fixed_dictionaries(
    {
        "cats": st.lists(st.integers(0, 79), max_size=3, unique=True),
        "imgs": st.lists(st.integers(0, 399), max_size=40, unique=True),
        "area": st.none() | st.tuples(st.floats(0, 5000), st.floats(5000, 1e6)),
        "crowd": st.none() | st.booleans(),
    }
)


@settings(max_examples=80, deadline=None)
@given(FILTERS)
def test_annotations_and_images_are_pycocotools(
    generated: Any, coco: Any, filters: dict[str, Any]
) -> None:
    all_cats = sorted(coco.getCatIds())
    all_imgs = sorted(coco.getImgIds())
    cat_ids = [all_cats[i] for i in filters["cats"]]
    img_ids = [all_imgs[i] for i in filters["imgs"]]
    subset, _ = filter_dataset(
        generated,
        cat_ids=cat_ids,
        img_ids=img_ids,
        area_rng=filters["area"],
        iscrowd=filters["crowd"],
    )
    ann_ids, image_ids = _expected(coco, cat_ids, img_ids, filters["area"], filters["crowd"])
    assert sorted(a["id"] for a in subset.annotations) == sorted(ann_ids)
    assert {i["id"] for i in subset.images} == image_ids
    if filters["area"] is None and filters["crowd"] is None and cat_ids:
        # Without area and crowd filters: the union of getImgIds(catIds=[c]).
        union = set().union(*(coco.getImgIds(imgIds=img_ids, catIds=[c]) for c in cat_ids))
        assert {i["id"] for i in subset.images} == union
    # Dataset order, records shared, categories whole.
    order = {a["id"]: n for n, a in enumerate(generated.annotations)}
    assert [order[a["id"]] for a in subset.annotations] == sorted(
        order[a["id"]] for a in subset.annotations
    )
    assert subset.categories == generated.categories


def test_evaluation_of_a_filtered_dataset_against_itself(generated: Any) -> None:
    subset, _ = filter_dataset(generated, cat_nms=["person", "dog"], area_rng=(32**2, 1e10))
    assert subset.annotations
    assert self_ap(subset.document) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 79), min_size=1, max_size=3, unique=True))
def test_all_categories_is_getimgids_of_them_all(
    generated: Any, coco: Any, picks: list[int]
) -> None:
    cat_ids = [sorted(coco.getCatIds())[i] for i in picks]
    subset, _ = filter_dataset(generated, cat_ids=cat_ids, all_categories=True)
    images = set(coco.getImgIds(catIds=cat_ids))
    assert {i["id"] for i in subset.images} == images
    assert sorted(a["id"] for a in subset.annotations) == sorted(
        coco.getAnnIds(imgIds=sorted(images), catIds=cat_ids) if images else []
    )


def test_keep_empty_and_min_annotations(generated: Any) -> None:
    person = generated.get_cat_ids(cat_nms="person")
    kept, _ = filter_dataset(generated, cat_nms=["person"], keep_empty=True)
    assert kept.images == generated.images
    assert {a["category_id"] for a in kept.annotations} == set(person)
    busy, report = filter_dataset(generated, cat_nms=["person"], min_annotations=3)
    counts: dict[int, int] = {}
    for ann in generated.annotations:
        if ann["category_id"] in person:
            counts[ann["image_id"]] = counts.get(ann["image_id"], 0) + 1
    assert {i["id"] for i in busy.images} == {i for i, n in counts.items() if n >= 3}
    assert report.counts["images"] == len(busy.images)
    with pytest.raises(UsageError, match="--keep-empty keeps images"):
        filter_dataset(generated, keep_empty=True, min_annotations=2)
    with pytest.raises(UsageError, match="--all-categories needs categories"):
        filter_dataset(generated, all_categories=True)


def test_prune_categories_keeps_ids() -> None:
    source = coco_convert.load(LABELME)
    subset, _ = filter_dataset(source, cat_nms=["person", "bus"], prune_categories=True)
    assert [(c["id"], c["name"]) for c in subset.categories] == [(6, "bus"), (15, "person")]
    assert subset.document["type"] == "instances"  # extra keys kept


def test_unknown_category_names_are_usage_errors() -> None:
    source = coco_convert.load(LABELME)
    with pytest.raises(UsageError, match=r"no category named 'preson' \(did you mean 'person'\?\)"):
        filter_dataset(source, cat_nms=["preson"])


def test_unknown_image_ids_are_reported() -> None:
    source = coco_convert.load(LABELME)
    subset, report = filter_dataset(source, img_ids=[0, 77])
    assert [i["id"] for i in subset.images] == [0]
    assert [str(e) for e in report.warnings["unknown_image_ids"].examples] == [f"{LABELME}: 77"]


def test_other_kinds() -> None:
    captions = coco_convert.load(CAPTIONS)
    subset, _ = filter_dataset(captions, keep_empty=True)
    assert subset.document == captions.document
    with pytest.raises(UsageError, match="panoptic"):
        filter_dataset(coco_convert.load(PANOPTIC))


def test_selection_decides_one_annotation_at_a_time() -> None:
    """The decision streaming will reuse: offer each annotation, then ask about images."""
    selection = Selection(Criteria(cat_ids=(1,), area_rng=(10, 100)))
    assert selection.offer({"id": 1, "image_id": 5, "category_id": 1, "area": 50})
    assert not selection.offer({"id": 2, "image_id": 6, "category_id": 1, "area": 500})
    assert not selection.offer({"id": 3, "image_id": 6, "category_id": 2, "area": 50})
    assert selection.keeps_image(5)
    assert not selection.keeps_image(6)


@settings(max_examples=40, deadline=None)
@given(documents(min_images=1), st.data())
def test_keep_empty_over_every_image_is_the_identity(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    del data
    source = dataset(doc)
    same, report = filter_dataset(source, keep_empty=True)
    assert same.document == source.document
    assert report.lossless


def test_cli_area_and_crowd(tmp_path: Path, generated: Any, coco: Any) -> None:
    from click.testing import CliRunner

    from coco_convert.cli import main

    src = tmp_path / "in.json"
    generated.save(src)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        main, ["filter", str(src), "-o", str(out), "--area", "1024:", "--iscrowd", "0"]
    )
    assert result.exit_code == 0, result.output
    expected = coco.getAnnIds(areaRng=[1024, float("inf")], iscrowd=False)
    assert sorted(a["id"] for a in coco_convert.load(out).annotations) == sorted(expected)
