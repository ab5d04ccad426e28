"""Applying fixes to a parsed document, and showing them as a diff.

Fixes are JSON edits at JSON pointers. They are applied together: replacements first, then
removals from the back of each list to the front (so earlier indices stay valid). A fix whose
places overlap those of a fix already taken waits for the next round; the command line
re-checks and fixes again until nothing changes (at most ``MAX_ROUNDS`` times), as ruff does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import printable
from ..io import dump_json
from .diagnostics import Diagnostic, Edit

__all__ = ["MAX_ROUNDS", "AppliedFix", "apply_fixes", "parse_pointer", "render_diff", "resolve"]

MAX_ROUNDS = 10

_MISSING = object()


def parse_pointer(pointer: str) -> list[str]:
    """The unescaped reference tokens of an RFC 6901 pointer (``""`` is the whole document)."""
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def _step(container: Any, token: str) -> Any:
    if isinstance(container, dict):
        return container.get(token, _MISSING)
    if isinstance(container, list) and token.isdigit() and int(token) < len(container):
        return container[int(token)]
    return _MISSING


def resolve(document: Any, pointer: str, default: Any = None) -> Any:
    """The value at ``pointer``, or ``default`` when there is none."""
    return _walk(document, parse_pointer(pointer), default)


def _walk(document: Any, tokens: list[str], default: Any = None) -> Any:
    current = document
    for token in tokens:
        current = _step(current, token)
        if current is _MISSING:
            return default
    return current


@dataclass(frozen=True)
class AppliedFix:
    """A fix that was applied, with the values it replaced (for ``--diff``)."""

    diagnostic: Diagnostic
    before: tuple[Any, ...]
    after: tuple[Any, ...]


def _overlaps(pointer: str, taken: Iterable[str]) -> bool:
    return any(
        pointer == other or pointer.startswith(other + "/") or other.startswith(pointer + "/")
        for other in taken
    )


def apply_fixes(
    document: Any, diagnostics: Sequence[Diagnostic], *, unsafe: bool = False
) -> tuple[Any, list[AppliedFix]]:
    """Apply the fixes of ``diagnostics`` (safe ones; all with ``unsafe``) to ``document`` in
    place. Returns the document (a new object only when the whole document was replaced) and
    the fixes applied. Fixes whose places overlap one already applied are left for the next
    round."""
    chosen: list[Diagnostic] = []
    taken: list[str] = []
    for diagnostic in diagnostics:
        if not diagnostic.fixable(unsafe=unsafe):
            continue
        assert diagnostic.fix is not None
        pointers = [edit.pointer for edit in diagnostic.fix.edits]
        if any(_overlaps(pointer, taken) for pointer in pointers):
            continue
        if not all(_applicable(document, edit) for edit in diagnostic.fix.edits):
            continue
        chosen.append(diagnostic)
        taken.extend(pointers)
    applied: list[AppliedFix] = []
    removals: list[Edit] = []
    for diagnostic in chosen:
        assert diagnostic.fix is not None
        before = tuple(resolve(document, edit.pointer) for edit in diagnostic.fix.edits)
        for edit in diagnostic.fix.edits:
            if edit.removes:
                removals.append(edit)
            else:
                document = _set(document, edit.pointer, edit.value)
        after = tuple(None if edit.removes else edit.value for edit in diagnostic.fix.edits)
        applied.append(AppliedFix(diagnostic, before, after))
    for edit in sorted(removals, key=_removal_order, reverse=True):
        _remove(document, edit.pointer)
    return document, applied


def _applicable(document: Any, edit: Edit) -> bool:
    tokens = parse_pointer(edit.pointer)
    if not tokens:
        return not edit.removes
    parent = _walk(document, tokens[:-1], _MISSING)
    if isinstance(parent, dict):
        return not edit.removes or tokens[-1] in parent
    if isinstance(parent, list):
        return tokens[-1].isdigit() and int(tokens[-1]) < len(parent)
    return False


def _removal_order(edit: Edit) -> tuple[tuple[int, str], ...]:
    return tuple((int(t), "") if t.isdigit() else (-1, t) for t in parse_pointer(edit.pointer))


def _set(document: Any, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _walk(document, tokens[:-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent[int(tokens[-1])] = value
    return document


def _remove(document: Any, pointer: str) -> None:
    tokens = parse_pointer(pointer)
    parent = _walk(document, tokens[:-1])
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)
    elif isinstance(parent, list) and int(tokens[-1]) < len(parent):
        del parent[int(tokens[-1])]


def render_diff(file: str, applied: Sequence[AppliedFix]) -> str:
    """The applied fixes as a diff per JSON pointer (per line for text files): each edited
    value before and after (files of hundreds of megabytes on one line make a line diff
    useless)."""
    if not applied:
        return ""
    lines = [f"--- {printable(file)}", f"+++ {printable(file)} (fixed)"]
    for fix in applied:
        assert fix.diagnostic.fix is not None
        location = fix.diagnostic.location
        for edit, before, after in zip(
            fix.diagnostic.fix.edits, fix.before, fix.after, strict=True
        ):
            # A text file (YOLO labels) is edited as the list of its lines: name the line.
            place = edit.pointer if location.pointer or location.line is None else None
            place = place if place is not None else f"line {location.line}"
            lines.append(f"@@ {place} @@ {fix.diagnostic.code} {fix.diagnostic.fix.description}")
            lines.append(f"-{_show(before)}")
            if not edit.removes:
                lines.append(f"+{_show(after)}")
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    text = dump_json(value).decode("utf-8", errors="replace")
    return text if len(text) <= 200 else text[:197] + "..."
