"""Validating a format other than COCO: read it with its own reader, each warning a finding.

The reader of a format (:mod:`coco_convert.converters.base`) already reports every problem
of its input under a stable key, at a :class:`~coco_convert.errors.Location`. Here a report
that keeps every place is handed to it; each warning becomes a finding at its place, with the
rule code the format's table (``Format.rules``) gives its key, and an input the reader refuses
becomes a finding with the format's ``unreadable`` code. So what ``validate`` says about a
YOLO dataset or a VOC folder is exactly what ``yolo2coco``/``voc2coco`` would warn about.

One kind of fix applies here: a warning the format lists in ``line_fixes`` (a repeated YOLO
row, say) is fixed by deleting its line. A text file is taken as the list of its lines, so
the fix is the JSON edit "remove item ``line - 1``" that every other fix is; the file is
rewritten atomically and the input read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..converters.base import Format
from ..converters.loss import Example, LossReport
from ..errors import InputError, Location
from ..io import atomic_write, read_file
from .codes import RULES
from .context import Settings
from .diagnostics import Diagnostic, Fix
from .fixes import AppliedFix, apply_fixes

__all__ = ["fix_lines", "reader_findings"]


def reader_findings(fmt: Format, path: Path, settings: Settings) -> dict[str, list[Diagnostic]]:
    """The findings of reading ``path`` as ``fmt``, by file: every piece the format cuts it
    into has an entry (empty when clean), in reading order, then the other files that
    findings point at."""
    assert fmt.read is not None, fmt.name
    pieces = fmt.validation(path) if fmt.validation is not None else [(path, {})]
    # ``validate --images DIR`` goes to every reader that takes an image folder (VIA needs it
    # for image sizes; CVAT, LabelMe and Label Studio where the annotations lack them).
    shared: dict[str, Any] = {}
    if settings.images is not None and any(o.name == "images" for o in fmt.read_options):
        shared["images"] = settings.images
    by_file: dict[str, list[Diagnostic]] = {str(piece): [] for piece, _ in pieces}
    seen: set[tuple[str, str, str]] = set()

    def add(diagnostic: Diagnostic) -> None:
        key = (diagnostic.code, str(diagnostic.location), diagnostic.message)
        if diagnostic.code in settings.select and key not in seen:
            seen.add(key)
            by_file.setdefault(diagnostic.file, []).append(diagnostic)

    for piece, options in pieces:
        for diagnostic in _read(fmt, piece, {**shared, **options}):
            add(diagnostic)
    return by_file


def _read(fmt: Format, path: Path, options: Mapping[str, Any]) -> list[Diagnostic]:
    assert fmt.read is not None
    report = LossReport(f"validate {fmt.name}", max_examples=None)
    found: list[Diagnostic] = []
    try:
        fmt.read(path, report=report, **options)
    except InputError as exc:
        rule = RULES[fmt.unreadable]
        found.append(Diagnostic(rule.code, exc.explained, exc.location, rule.severity))
    for key, entry in report.warnings.items():
        rule = RULES[fmt.rules.get(key, fmt.other)]
        fix = fmt.line_fixes.get(key)
        # (a warning about the input as a whole has no place: the path read is its place)
        for example in entry.examples or [Example(Location(str(path)))]:
            message = example.detail or entry.message
            if rule.code == fmt.other:
                message = f"{message} [{key}]"
            location = example.location
            edit = None
            if fix is not None and location.line is not None:
                edit = Fix.remove(fix, f"/{location.line - 1}")
            found.append(Diagnostic(rule.code, message, location, rule.severity, edit))
    return found


def fix_lines(
    found: Mapping[str, list[Diagnostic]], *, unsafe: bool, write: bool
) -> dict[str, list[AppliedFix]]:
    """Apply the fixes of the findings to the text files they are in, each file read as the
    readers read it (UTF-8, lines as ``str.splitlines`` cuts them) and taken as the list of
    its lines; with ``write``, rewrite the files that changed atomically (a byte-order mark
    kept). The fixes applied (or, without ``write``, that would be), by file."""
    applied_by_file: dict[str, list[AppliedFix]] = {}
    for name, diagnostics in found.items():
        if not any(d.fixable(unsafe=unsafe) for d in diagnostics):
            continue
        data = read_file(name)
        bom = data[:3] if data.startswith(b"\xef\xbb\xbf") else b""
        lines = data[len(bom) :].decode("utf-8").splitlines(keepends=True)
        # One round is enough: line fixes only remove lines, and removals never overlap.
        lines, applied = apply_fixes(lines, diagnostics, unsafe=unsafe)
        if applied:
            applied_by_file[name] = applied
            if write:
                atomic_write(name, bom + "".join(lines).encode("utf-8"))
    return applied_by_file
