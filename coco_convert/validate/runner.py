"""Validating one path: read, parse, run the rules, fix, write back.

Every problem with the input becomes a finding (F001 unreadable, F002 invalid JSON with its
line and column, F003 not COCO, F004 a tool's own format); nothing here raises for bad input.
The input is written only when fixes were asked for and changed something, atomically, in
the same layout (indentation, gzip) it was read in.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..dataset import detect_kind
from ..errors import InputError
from ..io import atomic_write, dump_json, gc_paused, read_bytes
from ..schemas.coco import Kind
from ..schemas.decode import parse_checked, proven_lists
from .context import Context, Settings
from .diagnostics import Diagnostic
from .engine import run_checks
from .fixes import MAX_ROUNDS, apply_fixes
from .results import FileResult, finding, not_coco, sort_key, unreadable

if TYPE_CHECKING:
    from ..converters.base import Format

__all__ = [
    "FileResult",
    "finding",
    "not_coco",
    "sort_key",
    "validate_document",
    "validate_path",
    "validate_paths",
    "validate_target",
]

_GZIP_MAGIC = b"\x1f\x8b"
_INDENT = re.compile(rb"\n([ ]+)[\"\{\[\]\}]")


def validate_document(
    document: Any,
    file: str,
    settings: Settings,
    *,
    kind: Kind | None = None,
    decoded_as: Kind | None = None,
) -> tuple[list[Diagnostic], Kind | None, str | None]:
    """Every finding of the rules on a parsed JSON document: (findings, kind, tool).
    ``decoded_as``: the kind whose models a typed decode checked the document's records
    against (see :func:`~coco_convert.schemas.decode.decode_checked`)."""
    from .checks.profiles import recognise_tool

    refused = not_coco(document, file)
    if refused is not None:
        return [refused], None, None
    found: Kind = kind or detect_kind(document, source=file)
    ctx = Context(file, document, found, settings, proven=proven_lists(found, decoded_as))
    ctx.tool = recognise_tool(document)
    diagnostics = run_checks(ctx)
    diagnostics.sort(key=sort_key)
    return diagnostics, found, ctx.tool


def validate_path(
    path: str | os.PathLike[str],
    settings: Settings,
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    write: bool = True,
) -> FileResult:
    """Validate one file. With ``fix``, apply fixes (``unsafe_fixes`` too) until none is
    left, and with ``write`` write the result back atomically."""
    name = os.fspath(path)
    result = FileResult(name)
    try:
        data = read_bytes(name)
        with gc_paused():
            document, decoded_as = parse_checked(data, name)
    except InputError as exc:
        result.diagnostics.append(unreadable(name, exc))
        return result
    layout = _layout(data, name) if fix and write else None
    del data
    with gc_paused():
        diagnostics, kind, tool = validate_document(document, name, settings, decoded_as=decoded_as)
        result.format = f"coco/{kind}" if kind else None
        result.tool = tool
        if fix and kind is not None:
            for _ in range(MAX_ROUNDS):
                document, applied = apply_fixes(document, diagnostics, unsafe=unsafe_fixes)
                if not applied:
                    break
                result.applied.extend(applied)
                diagnostics, kind, _ = validate_document(document, name, settings, kind=kind)
        result.diagnostics = diagnostics
        if result.applied and write:
            assert layout is not None
            atomic_write(name, _encode_like(document, layout))
            result.written = True
    return result


#: How a JSON file is laid out: indentation width (None: compact), final newline, gzip.
_Layout = tuple[int | None, bool, bool]


def _layout(data: bytes, name: str) -> _Layout:
    """The layout of the file ``name``, whose bytes (gunzipped) are ``data``."""
    with Path(name).open("rb") as handle:
        was_gzip = handle.read(2) == _GZIP_MAGIC
    match = _INDENT.search(data, 0, 65536)
    return (len(match.group(1)) if match else None), data.endswith(b"\n"), was_gzip


def _encode_like(document: Any, layout: _Layout) -> bytes:
    """``document`` as JSON laid out like the file it was read from: compact or indented by
    the same width, gzip-compressed if it was, with a final newline if it had one."""
    indent, newline, was_gzip = layout
    try:
        data = dump_json(document, indent=indent)
    except (TypeError, InputError):  # integers beyond 64 bits (S006): the standard library
        # writes them (--fix keeps what it does not fix)
        separators = (",", ":") if indent is None else None
        text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)
        data = text.encode("utf-8")
    if newline:
        data += b"\n"
    return gzip.compress(data, compresslevel=6, mtime=0) if was_gzip else data


def validate_target(
    path: str | os.PathLike[str],
    settings: Settings,
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    write: bool = True,
    stream: bool = False,
) -> list[FileResult]:
    """Validate what ``path`` is, as the format registry recognises it: a COCO JSON file with
    the rules, any other format (a VOC folder, a YOLO ``data.yaml``, ...) with its own reader
    (:mod:`coco_convert.validate.reader`). One result per file. ``stream``: a COCO file is
    read a chunk at a time (:mod:`coco_convert.validate.streamed`; no fixes)."""
    from .. import registry

    target = Path(path)
    found = [f for f in registry.detect(target) if f.name != "coco"]
    if not found:
        if target.is_dir() or target.suffix.lower() in (".xml", ".yaml", ".yml"):
            return [_unrecognised(target)]
        # COCO, or JSON that is not (F002-F004 say what it is)
        if stream:
            from .streamed import validate_stream

            return [validate_stream(path, settings)]
        return [validate_path(path, settings, fix=fix, unsafe_fixes=unsafe_fixes, write=write)]
    # (a folder can hold two formats, a VOC devkit and a YOLO data.yaml: each is checked)
    return [
        result
        for fmt in found
        for result in _validate_format(fmt, target, settings, fix, unsafe_fixes, write)
    ]


def _validate_format(
    fmt: Format, target: Path, settings: Settings, fix: bool, unsafe_fixes: bool, write: bool
) -> list[FileResult]:
    """Validate ``target`` as ``fmt`` with the format's reader (fixes: its line fixes)."""
    from .reader import fix_lines, reader_findings

    by_file = reader_findings(fmt, target, settings)
    applied = fix_lines(by_file, unsafe=unsafe_fixes, write=write) if fix else {}
    if applied and write:  # what is left, on the lines as they are now
        by_file = reader_findings(fmt, target, settings)
    names = [*by_file, *(name for name in applied if name not in by_file)]
    return [
        FileResult(
            name,
            sorted(by_file.get(name, []), key=sort_key),
            format=fmt.name,
            applied=applied.get(name, []),
            written=write and name in applied,
        )
        for name in names
    ]


def _unrecognised(target: Path) -> FileResult:
    """F003 for a file or folder no registered format reads (every tool's XML has a reader
    now; JSON formats are told apart in :func:`validate_document`)."""
    name = str(target)
    if not target.exists():
        return FileResult(name, [finding("F001", name, "no such file or folder")])
    message = (
        "no format coco-convert reads recognises it (`coco-convert formats` lists them: a "
        "COCO JSON file, a VOC devkit or XML folder, a YOLO data.yaml or dataset folder, ...)"
    )
    return FileResult(name, [finding("F003", name, message)])


def validate_paths(
    paths: Sequence[str | os.PathLike[str]], settings: Settings, **options: Any
) -> list[FileResult]:
    """:func:`validate_target` for each path, in order."""
    return [result for path in paths for result in validate_target(path, settings, **options)]
