"""Validating a COCO file a chunk at a time (``validate --stream``): the same rules and the
same findings as :func:`~coco_convert.validate.runner.validate_path`, in bounded memory.

The file is read as :mod:`coco_convert.streaming` reads it. The schema is checked chunk by
chunk in the order :func:`coco_convert.load` checks it; the ``records`` checks run on one
group of images at a time, each image with its annotations (a rule never needs more: boxes
against their image, duplicates within an image, masks per image); the ``document`` checks
(duplicate ids, categories no annotation uses, repeated file names, ...) run once at the end
on the compact :class:`~coco_convert.validate.context.Tables` filled on the way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import InputError
from ..schemas.check import check_records, check_skeleton, list_order, long_lists
from ..streaming import CocoStream, image_groups
from .checks.profiles import recognise_tool
from .checks.structure import mark_out_of_range
from .context import Context, Settings, Tables
from .engine import MAX_SCHEMA_ISSUES, mark_issues, run_checks
from .results import FileResult, not_coco, sort_key, unreadable

__all__ = ["validate_stream"]

#: Annotations (or images) checked together: bounds what is held at once.
WINDOW = 5_000


def validate_stream(path: str | os.PathLike[str], settings: Settings) -> FileResult:
    """Validate the COCO file at ``path`` a chunk at a time (no fixes: they rewrite the
    whole file)."""
    name = os.fspath(path)
    result = FileResult(name)
    try:
        stream = CocoStream(name)
    except InputError as exc:
        result.diagnostics.append(unreadable(name, exc))
        return result
    probe = stream.probe()
    refused = not_coco(probe, name)
    if refused is not None:
        result.diagnostics.append(refused)
        return result
    # (a window of records is too little work for worker processes of its own; a Dask
    # cluster, when there is one, still runs the mask rules' tasks)
    ctx = Context(name, stream.document(), stream.kind, replace(settings, jobs=1))
    ctx.tool = recognise_tool(probe)
    ctx.tables = Tables()
    _schema(ctx, stream)
    _records(ctx, stream)
    ctx.view(stream.document(), {})
    run_checks(ctx, scopes=("document",), schema=False)
    result.diagnostics = sorted(ctx.diagnostics, key=sort_key)
    result.format = f"coco/{stream.kind}"
    result.tool = ctx.tool
    return result


def _schema(ctx: Context, stream: CocoStream) -> None:
    """The schema's issues as findings (S001-S006), in the order load finds them."""
    header = stream.document()
    lists = ("",) if stream.results else ("images", "annotations", "categories")
    for key in lists:
        if key not in stream.chunks and not isinstance(header.get(key) if key else header, list):
            ctx.broken.add(key)
    budget = [MAX_SCHEMA_ISSUES]

    def mark(issues: Any) -> None:
        taken = []
        for issue in issues:
            if budget[0] <= 0:
                break
            budget[0] -= 1
            taken.append(issue)
        mark_issues(ctx, taken)

    ctx.view(header, {})
    mark(check_skeleton(header, stream.kind))
    held = long_lists(header, stream.kind)
    for key in [""] if stream.results else list_order(stream.kind):
        if key in held:
            ctx.view(header, {})
            mark(check_records(header[key], stream.kind, key, 0))
        if key not in stream.chunks:
            continue
        for first, records in stream.records(key):
            ctx.view(stream.document(**{key: records}), {key: range(first, first + len(records))})
            mark(check_records(records, stream.kind, key, first))


def _records(ctx: Context, stream: CocoStream) -> None:
    """The ``records`` checks, a group of images (with their annotations) at a time."""
    header = stream.document()
    kind = stream.kind
    if stream.results:
        for first, records in stream.records(""):
            _window(ctx, stream, {"": (range(first, first + len(records)), records)})
        return
    categories = header.get("categories")
    if isinstance(categories, list):
        ctx.view(header, {})
        mark_out_of_range(ctx, keys=("categories",))
        ctx.tables.add(
            "categories",
            range(len(categories)),
            categories,
            ctx.invalid.get("categories", set()),
            kind,
        )
    images: list[Any] = []
    image_at: list[int] = []
    anns: list[Any] = []
    ann_at: list[int] = []
    for i, image, group in image_groups(
        stream, lambda: stream.records("images"), lambda: stream.records("annotations")
    ):
        if i >= 0:
            images.append(image)
            image_at.append(i)
        for index, ann in group:
            ann_at.append(index)
            anns.append(ann)
        if len(anns) >= WINDOW or len(images) >= WINDOW:
            _window(ctx, stream, {"images": (image_at, images), "annotations": (ann_at, anns)})
            images, image_at, anns, ann_at = [], [], [], []
    if images or anns:
        _window(ctx, stream, {"images": (image_at, images), "annotations": (ann_at, anns)})


def _window(
    ctx: Context, stream: CocoStream, parts: dict[str, tuple[Sequence[int], list[Any]]]
) -> None:
    document = stream.document(**{key: records for key, (_, records) in parts.items()})
    ctx.view(document, {key: positions for key, (positions, _) in parts.items()})
    mark_out_of_range(ctx, keys=tuple(parts))
    for key, (positions, records) in parts.items():
        ctx.tables.add(key, positions, records, ctx.invalid.get(key, set()), stream.kind)
    run_checks(ctx, scopes=("records",), schema=False)
