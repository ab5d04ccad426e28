"""Reporters: the findings as text (like a linter), JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError, printable
from ..io import dump_json, read_bytes
from .codes import RULES
from .diagnostics import Diagnostic
from .locate import MAX_BYTES, pointer_positions
from .runner import FileResult

__all__ = ["REPORTERS", "render", "render_statistics", "render_summary", "summary"]


def _diagnostics(results: Sequence[FileResult]) -> list[Diagnostic]:
    return [d for result in results for d in result.diagnostics]


def _fix_note(diagnostic: Diagnostic) -> str:
    if diagnostic.fix is None:
        return ""
    return " [fixable]" if diagnostic.fix.applicability == "safe" else " [unsafe fix]"


def summary(results: Sequence[FileResult]) -> dict[str, Any]:
    """Counts for the last line of the text output and the ``summary`` of JSON output."""
    diagnostics = _diagnostics(results)
    severities = Counter(d.severity for d in diagnostics)
    return {
        "files": len(results),
        "files_with_findings": sum(1 for r in results if r.diagnostics),
        "findings": len(diagnostics),
        "errors": severities["error"],
        "warnings": severities["warning"],
        "info": severities["info"],
        "fixable": sum(1 for d in diagnostics if d.fixable()),
        "unsafe_fixable": sum(1 for d in diagnostics if d.fixable(unsafe=True) and not d.fixable()),
        "fixed": sum(len(r.applied) for r in results),
    }


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render_text(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    lines: list[str] = []
    for result in results:
        for applied in result.applied:
            d = applied.diagnostic
            assert d.fix is not None
            verb = "fixed" if result.written else "would fix"
            lines.append(f"{d.location}: {d.code} {verb}: {d.fix.description}")
        for d in result.diagnostics:
            note = "" if d.severity == "error" else f" ({d.severity})"
            lines.append(f"{d.location}: {d.code} {d.message}{_fix_note(d)}{note}")
    counts = summary(results)
    if lines:
        lines.append("")
    if counts["fixed"]:
        verb = "Fixed" if all(r.written for r in results if r.applied) else "Would fix"
        lines.append(f"{verb} {_plural(counts['fixed'], 'problem')}.")
    lines.append(render_summary(results, fixing=fixing, counts=counts))
    return "\n".join(lines)


def render_summary(
    results: Sequence[FileResult], *, fixing: bool = False, counts: dict[str, Any] | None = None
) -> str:
    """The last line of the text output: all checks passed, or what was found."""
    counts = counts if counts is not None else summary(results)
    if not counts["findings"]:
        return f"All checks passed ({_plural(counts['files'], 'file')})."
    kinds = ", ".join(
        _plural(counts[key], word)
        for key, word in (("errors", "error"), ("warnings", "warning"), ("info", "note"))
        if counts[key]
    )
    line = (
        f"Found {_plural(counts['findings'], 'problem')} ({kinds}) in "
        f"{_plural(counts['files_with_findings'], 'file')}"
    )
    if counts["fixable"] and not fixing:
        line += f"; {counts['fixable']:,} fixable with --fix"
    if counts["unsafe_fixable"]:
        line += f"; {counts['unsafe_fixable']:,} more with --fix --unsafe-fixes"
    return line + "."


def render_statistics(results: Sequence[FileResult]) -> str:
    """``--statistics``: one line per rule code with its count, most frequent first."""
    counts = Counter(d.code for d in _diagnostics(results))
    lines = []
    for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = RULES[code]
        fix = {"safe": "[fixable]", "unsafe": "[unsafe fix]", None: ""}[rule.fix]
        lines.append(f"{n:>9,}  {code}  {rule.name:<34} {rule.severity:<8}{fix}".rstrip())
    return "\n".join(lines)


def _diagnostic_dict(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": RULES[d.code].name,
        "severity": d.severity,
        "message": d.message,
        "filename": d.file,
        "location": d.location.to_dict(),
        "fix": d.fix.to_dict() if d.fix else None,
    }


def render_json(results: Sequence[FileResult], **_: Any) -> str:
    payload = {
        "tool": "coco-convert",
        "version": __version__,
        "summary": summary(results),
        "files": [
            {"filename": r.file, "format": r.format, "tool": r.tool, "written": r.written}
            for r in results
        ],
        "diagnostics": [_diagnostic_dict(d) for d in _diagnostics(results)],
        "fixed": [
            {**_diagnostic_dict(a.diagnostic), "before": list(a.before), "after": list(a.after)}
            for r in results
            for a in r.applied
        ],
    }
    return dump_json(payload, indent=2).decode()


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _lines(results: Sequence[FileResult]) -> dict[tuple[str, str], tuple[int, int]]:
    """(file, pointer) -> (line, column) for findings in files laid out on many lines."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for result in results:
        pointers = {d.location.pointer for d in result.diagnostics if d.location.pointer}
        if not pointers or not result.format:
            continue
        try:
            path = Path(result.file)
            if path.stat().st_size > MAX_BYTES:
                continue
            data = read_bytes(path)
        except (OSError, InputError):
            continue
        if data.count(b"\n") < 2:
            continue
        for pointer, where in pointer_positions(data, pointers).items():
            found[(result.file, pointer)] = where
    return found


def _line_column(
    d: Diagnostic, lines: dict[tuple[str, str], tuple[int, int]]
) -> tuple[int | None, int | None]:
    if d.location.line is not None:
        return d.location.line, d.location.column
    return lines.get((d.file, d.location.pointer or ""), (None, None))


def render_github(results: Sequence[FileResult], **_: Any) -> str:
    """GitHub Actions workflow commands: one annotation per finding (on its line when the
    file is laid out on many lines)."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    positions = _lines(results)
    for d in _diagnostics(results):
        props = [f"file={_escape_property(d.file)}"]
        line, column = _line_column(d, positions)
        if line is not None:
            props.append(f"line={line}")
        if column is not None:
            props.append(f"col={column}")
        props.append(f"title={_escape_property(f'{d.code} {RULES[d.code].name}')}")
        where = f"{d.location.pointer}: " if d.location.pointer else ""
        lines.append(f"::{level[d.severity]} {','.join(props)}::{_escape_data(where + d.message)}")
    return "\n".join(lines)


def render_sarif(results: Sequence[FileResult], **_: Any) -> str:
    """SARIF 2.1.0, for GitHub code scanning and other SARIF viewers."""
    level = {"error": "error", "warning": "warning", "info": "note"}
    codes = sorted(RULES)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].summary},
            "fullDescription": {"text": RULES[code].explain()},
            "defaultConfiguration": {"level": level[RULES[code].severity]},
            "properties": {"family": RULES[code].family, "fix": RULES[code].fix},
        }
        for code in codes
    ]
    sarif_results = []
    positions = _lines(results)
    for d in _diagnostics(results):
        physical: dict[str, Any] = {"artifactLocation": {"uri": d.file}}
        line, column = _line_column(d, positions)
        if line is not None:
            region = {"startLine": line}
            if column is not None:
                region["startColumn"] = column
            physical["region"] = region
        location: dict[str, Any] = {"physicalLocation": physical}
        if d.location.pointer is not None:
            location["logicalLocations"] = [
                {"fullyQualifiedName": d.location.pointer or "/", "kind": "member"}
            ]
        sarif_results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": level[d.severity],
                "message": {"text": d.message},
                "locations": [location],
                "properties": {"fixable": d.fix.applicability if d.fix else None},
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "coco-convert",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/coco-convert/",
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return dump_json(log, indent=2).decode()


REPORTERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}


def render(results: Sequence[FileResult], output_format: str, *, fixing: bool = False) -> str:
    """The findings of ``results`` in ``output_format`` (a key of :data:`REPORTERS`), file
    names and messages :func:`~coco_convert.errors.printable` in every format (a name with a
    newline stays on its line; one that is not UTF-8 can be printed and written as JSON)."""
    return REPORTERS[output_format]([_printable(r) for r in results], fixing=fixing)


def _printable(result: FileResult) -> FileResult:
    def clean(d: Diagnostic) -> Diagnostic:
        if d.message.isprintable() and d.file.isprintable():
            return d
        location = replace(d.location, file=printable(d.location.file))
        return replace(d, message=printable(d.message), location=location)

    if result.file.isprintable() and all(
        d.message.isprintable() and d.file.isprintable() for d in result.diagnostics
    ):
        return result
    return replace(
        result,
        file=printable(result.file),
        diagnostics=[clean(d) for d in result.diagnostics],
        applied=[replace(a, diagnostic=clean(a.diagnostic)) for a in result.applied],
    )
