"""pycocotools' query arguments and per-annotation filter, shared by the dataset's queries
(:meth:`~coco_convert.dataset.CocoDataset.get_ann_ids`) and the ``filter`` operation
(:mod:`coco_convert.ops.filtering`), so both decide the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["IdsArg", "annotation_matcher", "as_ids"]

#: One id, several, or None (no filter), as pycocotools' ``imgIds``/``catIds`` take them.
IdsArg = int | Iterable[int] | None


def as_ids(value: IdsArg) -> list[int]:
    """An :data:`IdsArg` as a list (empty: no filter)."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return list(value)


def annotation_matcher(
    *,
    cat_ids: IdsArg = None,
    area_rng: Sequence[float] | None = None,
    iscrowd: bool | None = None,
) -> Callable[[Any], bool] | None:
    """pycocotools' per-annotation filters of ``getAnnIds`` as one predicate (None when no
    filter is given): of these categories, with ``area_rng[0] < area < area_rng[1]`` (a
    missing ``area`` counts as 0), with this crowd flag (a missing ``iscrowd`` counts as 0)."""
    category_ids = frozenset(as_ids(cat_ids))
    low, high = (area_rng[0], area_rng[1]) if area_rng else (None, None)
    crowd = None if iscrowd is None else bool(iscrowd)
    if not category_ids and low is None and crowd is None:
        return None

    def matches(ann: Any) -> bool:
        if category_ids and ann.get("category_id") not in category_ids:
            return False
        if low is not None and not low < ann.get("area", 0) < high:
            return False
        return crowd is None or bool(ann.get("iscrowd", 0)) == crowd

    return matches
