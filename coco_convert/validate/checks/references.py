"""R: ids, and the references between images, annotations and categories."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..context import Context, check
from ..diagnostics import Edit, Fix

_WITH_IDS = ("instances", "keypoints", "stuff", "captions")
_WITH_CATEGORIES = ("instances", "keypoints", "stuff", "panoptic")


def _duplicates(ctx: Context, key: str, code: str, noun: str, *, renumber: bool = False) -> None:
    first: dict[int, int] = {}
    for i, value in ctx.ids(key):
        if value not in first:
            first[value] = i
            continue
        where = f"/{key}/{i}/id"
        fix = None
        if renumber:
            new = ctx.next_free_id(key)
            fix = Fix.replace(f"renumber to {new}", where, new, unsafe=True)
        ctx.report(code, where, f"{noun} id {value} is also used by /{key}/{first[value]}", fix)


@check("R001", "R003", scope="document")
def duplicate_ids(ctx: Context) -> None:
    _duplicates(ctx, "images", "R001", "image")
    _duplicates(ctx, "categories", "R003", "category")


@check("R002", "R009", kinds=_WITH_IDS, scope="document")
def annotation_ids(ctx: Context) -> None:
    _duplicates(ctx, "annotations", "R002", "annotation", renumber=True)
    if not ctx.wants("R009"):
        return
    for i, value in ctx.ids("annotations"):
        if value == 0:
            new = ctx.next_free_id("annotations")
            where = f"/annotations/{i}/id"
            ctx.report(
                "R009",
                where,
                "annotation id 0 is COCOeval's 'no match' marker",
                Fix.replace(f"renumber to {new}", where, new, unsafe=True),
            )


@check("R004", "R005", kinds=(*_WITH_IDS, "panoptic"))
def dangling_references(ctx: Context) -> None:
    images = ctx.images_by_id if "images" not in ctx.broken else None
    categories = (
        ctx.categories_by_id
        if ctx.kind in _WITH_CATEGORIES and "categories" not in ctx.broken
        else None
    )
    for i, ann in ctx.records("annotations"):
        where = f"/annotations/{i}"
        if images is not None and ann["image_id"] not in images:
            ctx.report(
                "R004",
                f"{where}/image_id",
                f"image_id {ann['image_id']} names no image",
                _drop(where),
            )
        if categories is None:
            continue
        if ctx.kind == "panoptic":
            for j, segment in enumerate(ann["segments_info"]):
                if segment["category_id"] not in categories:
                    ctx.report(
                        "R005",
                        f"{where}/segments_info/{j}/category_id",
                        f"category_id {segment['category_id']} names no category",
                    )
        elif ann["category_id"] not in categories:
            ctx.report(
                "R005",
                f"{where}/category_id",
                f"category_id {ann['category_id']} names no category",
                _drop(where),
            )


def _drop(where: str) -> Fix:
    # Built only for a finding: one per annotation would cost seconds at COCO scale.
    return Fix.remove("delete the annotation", where, unsafe=True)


@check("R006", kinds=_WITH_CATEGORIES, scope="document")
def category_zero(ctx: Context) -> None:
    for i, value in ctx.ids("categories"):
        if value != 0:
            continue
        new = ctx.next_free_id("categories")
        edits = [Edit(f"/categories/{i}/id", new)]
        for j, k in ctx.tables.category_zero:
            segment = "" if k is None else f"/segments_info/{k}"
            edits.append(Edit(f"/annotations/{j}{segment}/category_id", new))
        hint = f" ({ctx.tool}'s export starts at 0)" if ctx.tool else ""
        ctx.report(
            "R006",
            f"/categories/{i}/id",
            f"category id 0; COCO numbers categories from 1{hint}",
            Fix(
                f"renumber category 0 to {new} in the category and {len(edits) - 1} annotations",
                tuple(edits),
                "unsafe",
            ),
        )


@check("R007", scope="document")
def duplicate_names(ctx: Context) -> None:
    first: dict[str, int] = {}
    for i, category in ctx.records("categories"):
        name = category["name"]
        if name in first:
            ctx.report(
                "R007",
                f"/categories/{i}/name",
                f"category name {name!r} is also used by /categories/{first[name]}",
            )
        else:
            first[name] = i


@check("R008", kinds=_WITH_CATEGORIES, scope="document")
def unused_categories(ctx: Context) -> None:
    used = ctx.used_category_ids
    for i, category in ctx.records("categories"):
        if category["id"] not in used:
            ctx.report(
                "R008",
                f"/categories/{i}",
                f"no annotation uses category {category['id']} ({category['name']!r})",
            )


@check("R010", kinds=("instances", "keypoints", "stuff"))
def duplicate_annotations(ctx: Context) -> None:
    by_box: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, ann in ctx.records("annotations"):
        bbox = ann.get("bbox")
        key = (ann["image_id"], ann["category_id"], tuple(bbox) if bbox is not None else None)
        by_box[key].append(i)
    for indices in by_box.values():
        if len(indices) < 2:
            continue
        kept: list[int] = []
        for i in indices:
            body = _without_id(ctx.record("annotations", i))
            twin = next(
                (k for k in kept if _without_id(ctx.record("annotations", k)) == body), None
            )
            if twin is None:
                kept.append(i)
                continue
            ctx.report(
                "R010",
                f"/annotations/{i}",
                f"annotation repeats /annotations/{twin} (all but the id)",
                Fix.remove("delete the copy", f"/annotations/{i}"),
            )


def _without_id(ann: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in ann.items() if key != "id"}
