"""What validating one file gives (:class:`FileResult`), findings in document order, and
what is not COCO at all: shared by the whole-file and the streamed validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, JSONSyntaxError
from .codes import RULES
from .diagnostics import Diagnostic, Location
from .fixes import AppliedFix, parse_pointer

__all__ = ["FileResult", "finding", "not_coco", "sort_key"]

#: Top-level keys in the order COCO files hold them (findings are listed in this order).
_KEY_ORDER = {key: -9 + i for i, key in enumerate(("info", "licenses", "images", "annotations"))}


@dataclass
class FileResult:
    """What validating one file found and did."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Fixes applied (``--fix``) or that would be applied (``--diff``).
    applied: list[AppliedFix] = field(default_factory=list)
    #: What the file was read as: ``coco/instances``, ``voc``, ``yolo``, ... (None if unread).
    format: str | None = None
    #: The tool that wrote the file, when recognised.
    tool: str | None = None
    #: Whether the file on disk was rewritten.
    written: bool = False


def finding(code: str, file: str, message: str, **where: Any) -> Diagnostic:
    """A finding of rule ``code`` at a place in ``file``."""
    return Diagnostic(code, message, Location(file, **where), RULES[code].severity)


def unreadable(file: str, error: InputError) -> Diagnostic:
    """The finding for a file that cannot be read (F001, with the error's hint) or is not
    JSON (F002, at the line and column of the first error)."""
    if isinstance(error, JSONSyntaxError):
        return finding("F002", file, error.message, line=error.line, column=error.column)
    return finding("F001", file, error.message + (f" ({error.hint})" if error.hint else ""))


def sort_key(diagnostic: Diagnostic) -> tuple[Any, ...]:
    """Document order: by line, or by JSON pointer with list indices compared as numbers."""
    location = diagnostic.location
    tokens = tuple(
        (int(t), "") if t.isdigit() else (_KEY_ORDER.get(t, len(_KEY_ORDER)), t)
        for t in parse_pointer(location.pointer or "")
    )
    return (location.file, location.line or 0, location.column or 0, tokens, diagnostic.code)


def not_coco(document: Any, file: str) -> Diagnostic | None:
    """F004 for a labeling tool's own format, F003 for other JSON; None for COCO. (A
    streamed file's header with its first records tells as much as the whole document.)"""
    from .checks.profiles import native_format

    native = native_format(document)
    if native is not None:
        what, name = native
        message = (
            f"this is {what}, not COCO: `coco-convert validate` checks it with its own "
            f"reader, `coco-convert {name}2coco` converts it"
        )
        return finding("F004", file, message, pointer="")
    if isinstance(document, dict) and "images" not in document and "annotations" not in document:
        message = "not a COCO document: a JSON object without 'images' or 'annotations'"
        return finding("F003", file, message, pointer="")
    if not isinstance(document, dict | list):
        message = "not a COCO document: expected a JSON object (a dataset) or an array (results)"
        return finding("F003", file, message, pointer="")
    return None
