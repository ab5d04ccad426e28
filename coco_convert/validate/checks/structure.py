"""S: the schema (the models' own checks, turned into findings) and keys pycocotools needs."""

from __future__ import annotations

import re
from typing import Any

from ...errors import Issue
from ..context import Context, check, is_number
from ..diagnostics import Fix
from ..fixes import parse_pointer

_FLAGS = ("iscrowd", "isthing")
_FLAG_WORDS = {"false": 0, "true": 1, "0": 0, "1": 1}
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
#: orjson writes integers up to 64 bits; a float id beyond that cannot be an integer again.
_INT_LIMIT = 2**63
_LOW, _HIGH = -(2**63), 2**63


def report_schema_issue(ctx: Context, issue: Issue) -> None:
    """One schema problem as S001-S005 (with a fix where the intent is unambiguous)."""
    pointer = issue.pointer
    tokens = parse_pointer(pointer)
    field = tokens[-1] if tokens else ""
    value = ctx.resolve(pointer)
    expects_int = issue.message.startswith("expected an integer")
    expects_number = expects_int or issue.message.startswith("expected a number")

    # VIA writes one flat list; the models then see many one-number "polygons".
    if len(tokens) >= 2 and tokens[-2] == "segmentation" and is_number(value):
        parent = pointer.rsplit("/", 1)[0]
        if parent not in ctx.seen:
            ctx.seen.add(parent)
            flat = ctx.resolve(parent)
            ctx.report(
                "S005",
                parent,
                f"segmentation is a flat list of {len(flat)} numbers, not a list of polygons",
                Fix.replace("wrap the list in a list (one polygon)", parent, [flat]),
            )
        return
    if issue.message.startswith("out of range"):
        ctx.seen.add(pointer)
        ctx.report("S006", pointer, f"{field} is {issue.message.removeprefix('out of range: ')}")
        return
    rewrite = _rewrite(field, value, expects_int=expects_int, expects_number=expects_number)
    if rewrite is not None:
        code, message, number = rewrite
        ctx.report(code, pointer, message, Fix.replace(f"write {number}", pointer, number))
        return
    ctx.report("S001", pointer, issue.message)


def _rewrite(
    field: str, value: Any, *, expects_int: bool, expects_number: bool
) -> tuple[str, str, int | float] | None:
    """(code, message, number) when a value of the wrong type means one number for sure."""
    if expects_int and isinstance(value, float) and value.is_integer() and abs(value) < _INT_LIMIT:
        return "S002", f"{field} is {value!r}, a float; expected an integer", int(value)
    if expects_number and isinstance(value, str):
        number = _number_from_text(value, field, integer=expects_int)
        if number is not None:
            return "S003", f"{field} is the string {value!r}; expected a number", number
    if field in _FLAGS and isinstance(value, bool):
        return "S004", f"{field} is {str(value).lower()}; expected 0 or 1", int(value)
    return None


def _number_from_text(text: str, field: str, *, integer: bool) -> int | float | None:
    if field in _FLAGS:
        return _FLAG_WORDS.get(text.strip().lower())
    if _INT_TEXT.match(text):
        number = int(text)
        return number if abs(number) < _INT_LIMIT else None
    if not integer and _FLOAT_TEXT.match(text):
        parsed = float(text)
        return parsed if parsed == parsed and abs(parsed) != float("inf") else None
    return None


def mark_out_of_range(ctx: Context, keys: tuple[str, ...] | None = None) -> None:
    """S006: integers beyond 64 bits in the fields of records (and their boxes), where the
    schema's bounds did not already find them (keys a tool added). Such records are set aside
    like those that break the schema: no reader does arithmetic on them. ``keys``: only
    these lists."""
    lists = ("",) if ctx.kind == "results" else ("images", "annotations", "categories")
    for key in lists if keys is None else keys:
        prefix = f"/{key}" if key else ""
        for i, record in ctx.records(key):
            # Cheap first: numbers compare with integers of any size, so one min/max per box
            # and one pass over the record's values finds the rare record worth a closer look.
            bbox = record.get("bbox")
            for value in record.values():
                if type(value) is int and (value >= _HIGH or value < _LOW):
                    break
            else:
                if not bbox or (min(bbox) >= _LOW and max(bbox) < _HIGH):
                    continue
            ctx.invalid.setdefault(key, set()).add(i)
            values = [*record.items(), *((f"bbox/{j}", v) for j, v in enumerate(bbox or ()))]
            for field, value in values:
                if f"{prefix}/{i}/{field}" in ctx.seen:  # the schema's own bounds found it
                    continue
                if type(value) is int and not _LOW <= value < _HIGH:
                    ctx.report(
                        "S006",
                        f"{prefix}/{i}/{field}",
                        f"{field} is an integer of {len(str(abs(value)))} digits, beyond 64 bits",
                    )


@check("S101", "S102", "S103", kinds=("instances", "keypoints", "stuff"))
def missing_training_keys(ctx: Context) -> None:
    """Keys the schema lets pass but pycocotools' evaluation and the frameworks need."""
    from .masks import area_fix, bbox_fix

    for i, ann in ctx.records("annotations"):
        where = f"/annotations/{i}"
        segmentation = ann.get("segmentation")
        if "iscrowd" not in ann:
            crowd = int(
                isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list)
            )
            ctx.report(
                "S101",
                where,
                "annotation has no iscrowd (COCOeval needs it)",
                Fix.replace(f"set iscrowd {crowd}", f"{where}/iscrowd", crowd),
            )
        if "area" not in ann:
            ctx.report(
                "S102",
                where,
                "annotation has no area (COCOeval needs it)",
                area_fix(ctx, ann, where),
            )
        if "bbox" not in ann:
            ctx.report(
                "S103",
                where,
                "annotation has no bbox",
                bbox_fix(ctx, ann, where),
            )
