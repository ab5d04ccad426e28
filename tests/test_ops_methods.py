"""The operations are also dataset methods, kwcoco-style; each is the function of
coco_convert.ops of the same name."""

from __future__ import annotations

import coco_convert
from coco_convert import ops

from .ops_cases import CVAT, LABELME


def test_methods_are_the_operations() -> None:
    ds = coco_convert.load(LABELME)
    assert isinstance(ds, coco_convert.InstancesDataset)
    other = coco_convert.load(CVAT)
    assert ds.stats() == ops.stats(ds)
    assert (
        ds.filter(cat_nms=["person"])[0].document
        == ops.filter_dataset(ds, cat_nms=["person"])[0].document
    )
    parts, _ = ds.split({"a": 0.5, "b": 0.5}, seed=2, stratify=True)
    expected, _ = ops.split(ds, {"a": 0.5, "b": 0.5}, seed=2, stratify=True)
    assert {n: p.document for n, p in parts.items()} == {n: p.document for n, p in expected.items()}
    assert ds.sample(2, seed=4)[0].document == ops.sample(ds, n=2, seed=4)[0].document
    assert (
        ds.remap({"person": "human"})[0].document == ops.remap(ds, {"person": "human"})[0].document
    )
    assert ds.merge(other)[0].document == ops.merge([ds, other])[0].document
    assert ds.diff(other).to_dict() == ops.diff(ds, other).to_dict()
    assert ds.diff(ds).equal
