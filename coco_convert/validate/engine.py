"""Running the rules over one parsed COCO document.

The engine runs the schema first (which marks the records that do not fit, so the other
checks can trust the types of what they read), then every registered check
(:mod:`coco_convert.validate.context`) whose codes are selected. A check that raises is a bug
in coco-convert: it is reported as X001 for that file, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import Issue
from ..schemas.check import check_document
from . import context
from .codes import RULES
from .context import Context, get_list
from .diagnostics import Diagnostic

__all__ = ["mark_issues", "run_checks"]

#: Schema problems kept per file (the records past them are checked as if valid, and a rule
#: that trips over one reports X001 rather than failing the run).
MAX_SCHEMA_ISSUES = 1_000_000


def run_checks(
    ctx: Context, *, scopes: tuple[str, ...] = ("records", "document"), schema: bool = True
) -> list[Diagnostic]:
    """Run the schema (unless told not to), then every selected check of these ``scopes``
    (:func:`~coco_convert.validate.context.check`), on ``ctx``; the findings."""
    from . import checks  # noqa: F401  (registers the checks)

    first = [(frozenset(RULES), None, _mark_schema, "schema")] if schema else []
    for codes, kinds, func, scope in [*first, *context.CHECKS]:
        if scope != "schema" and scope not in scopes:
            continue
        if kinds is not None and ctx.kind not in kinds:
            continue
        if not codes & ctx.settings.select:
            continue
        try:
            func(ctx)
        except Exception as exc:  # a bug in a rule must not hide the findings of the others
            ctx.report(
                "X001",
                "",
                f"check {func.__name__} failed: {type(exc).__name__}: {exc}",
            )
    return ctx.diagnostics


def _mark_schema(ctx: Context) -> None:
    """Run the models' checks; remember which records are invalid; report S001-S005."""
    from .checks.structure import mark_out_of_range

    document = ctx.document
    lists = ("",) if ctx.kind == "results" else ("images", "annotations", "categories")
    for key in lists:
        value = document if key == "" else get_list(document, key)
        if not isinstance(value, list):
            ctx.broken.add(key)
    issues, _ = check_document(document, ctx.kind, limit=MAX_SCHEMA_ISSUES, proven=ctx.proven)
    mark_issues(ctx, issues)
    mark_out_of_range(ctx)


def mark_issues(ctx: Context, issues: Iterable[Issue]) -> None:
    """Report schema issues (S001-S006) and set aside the records (or lists) they break."""
    from .checks.structure import report_schema_issue

    lists = ("",) if ctx.kind == "results" else ("images", "annotations", "categories")
    for issue in issues:
        parts = issue.pointer.split("/")[1:]
        if ctx.kind == "results":
            key, index = "", parts[0] if parts else None
        else:
            key = parts[0] if parts else ""
            index = parts[1] if len(parts) > 1 else None
        if index is None or not index.isdigit():
            if key in lists:
                ctx.broken.add(key)
        else:
            ctx.invalid.setdefault(key, set()).add(int(index))
        report_schema_issue(ctx, issue)
