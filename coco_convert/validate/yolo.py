"""Y: YOLO datasets, read with the YOLO converter's own reader (``read_yolo``).

The reader finds the dataset's parts (``data.yaml``, darknet ``obj.data``, or the folder
layouts ultralytics accepts), opens every image header and parses every label row; what it
cannot use it reports under a stable key with ``file:line``. Each key is a rule here, and the
report keeps every place (not the five a conversion summary shows).

One fix is safe here: a row that repeats an earlier row of its file exactly (Y006) is dropped,
as ultralytics drops it when it loads the labels. A label file is taken as the list of its
lines, so the fix is the JSON edit "remove item ``line - 1``" that every other fix is; the
file is rewritten atomically and the dataset checked again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..converters.loss import LossReport
from ..converters.yolo_read import read_yolo
from ..dataset import CocoDataset
from ..errors import InputError
from ..io import atomic_write, read_file
from .codes import RULES
from .diagnostics import Diagnostic, Fix, Location
from .engine import Settings
from .fixes import AppliedFix, apply_fixes

__all__ = ["fix_label_files", "is_yolo", "validate_yolo"]

_DESCRIPTIONS = ("data.yaml", "data.yml", "dataset.yaml", "obj.data")

#: The reader's problem keys and their rules.
CODES = {
    "class_out_of_range": "Y002",
    "out_of_range": "Y003",
    "bad_row": "Y004",
    "empty_box": "Y005",
    "duplicate_row": "Y006",
    "image_unreadable": "Y007",
    "label_unreadable": "Y008",
    "label_without_image": "Y009",
    "names_disagree": "Y010",
    "splits_share_images": "Y011",
    "no_names": "Y012",
    "path_not_here": "Y013",
    "split_missing": "Y014",
}
_PLACE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::\s*(?P<detail>.*))?$")


def is_yolo(path: Path) -> bool:
    """A ``data.yaml`` (or darknet ``obj.data``), or a folder holding one or ``labels/``."""
    if path.is_file():
        return path.suffix.lower() in (".yaml", ".yml") or path.name == "obj.data"
    return path.is_dir() and (
        any((path / name).is_file() for name in _DESCRIPTIONS) or (path / "labels").is_dir()
    )


def _finding(code: str, where: str, message: str, default: str) -> Diagnostic:
    """A finding at ``where`` (``file:line: detail``, ``file: detail`` or free text)."""
    match = _PLACE.match(where)
    if match and Path(match["file"]).exists():
        location = Location(match["file"], line=int(match["line"]))
        detail = match["detail"]
    elif " vs " in where and Path(where.rsplit(" vs ", 1)[1]).exists():
        location, detail = Location(where.rsplit(" vs ", 1)[1]), where
    else:
        file, _, detail = where.partition(": ")
        if Path(file).exists():
            location = Location(file)
        else:
            location, detail = Location(default), where
    if location.line is not None and detail:
        text = detail  # a row: the reader's own words for it
    else:
        text = f"{message}: {detail}" if detail and detail not in message else message
    fix = None
    if code == "Y006" and location.line is not None:
        fix = Fix.remove("drop the repeated row", f"/{location.line - 1}")
    return Diagnostic(code, text, location, RULES[code].severity, fix)


def validate_yolo(path: Path, settings: Settings) -> list[tuple[str, list[Diagnostic]]]:
    """(file, findings) for every file of the dataset at ``path`` that has findings, the
    dataset description first."""
    where = str(path)
    report = LossReport("validate", max_examples=None)
    found: list[Diagnostic] = []
    datasets: Mapping[str, CocoDataset[Any, Any]]
    try:
        datasets, _ = read_yolo(path, report=report)
    except InputError as exc:
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        found.append(_finding("Y001", exc.source, message, where))
        datasets = {}
    for key, entry in report.warnings.items():
        code = CODES.get(key, "Y015")
        message = entry.message if code != "Y015" else f"{entry.message} [{key}]"
        for place in entry.examples or [where]:
            found.append(_finding(code, place, _rows_message(key, message), where))
    found.extend(_similar_names(datasets, where))
    by_file: dict[str, list[Diagnostic]] = defaultdict(list)
    by_file[where] = []
    for diagnostic in found:
        if diagnostic.code in settings.select:
            by_file[diagnostic.file].append(diagnostic)
    return list(by_file.items())


def _rows_message(key: str, message: str) -> str:
    """The reader's summaries end with what the converter does ("left out"); a finding says
    what is wrong."""
    return message.split(":")[0] if key in CODES and ": left out" in message else message


def _normalised(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def _similar_names(datasets: Mapping[str, CocoDataset[Any, Any]], where: str) -> list[Diagnostic]:
    """Y016: class names that differ only in case, spaces, '_' or '-' (every split of a
    dataset has the same categories)."""
    first_split = next(iter(datasets.values()), None)
    names = [c["name"] for c in first_split.categories] if first_split is not None else []
    first: dict[str, str] = {}
    found = []
    for name in names:
        key = _normalised(name)
        if key in first and first[key] != name:
            message = f"class names {first[key]!r} and {name!r} differ only in case or spacing"
            found.append(Diagnostic("Y016", message, Location(where), RULES["Y016"].severity))
        first.setdefault(key, name)
    return found


def fix_label_files(
    found: Mapping[str, list[Diagnostic]], *, unsafe: bool, write: bool
) -> dict[str, list[AppliedFix]]:
    """Apply the fixes of the findings to the label files they are in, each file read as the
    reader reads it (UTF-8, lines as ``str.splitlines`` cuts them) and taken as the list of its
    lines; with ``write``, rewrite the files that changed atomically (a byte-order mark kept).
    The fixes applied (or, without ``write``, that would be), by file."""
    applied_by_file: dict[str, list[AppliedFix]] = {}
    for name, diagnostics in found.items():
        if not any(d.fixable(unsafe=unsafe) for d in diagnostics):
            continue
        data = read_file(name)
        bom = data[:3] if data.startswith(b"\xef\xbb\xbf") else b""
        lines = data[len(bom) :].decode("utf-8").splitlines(keepends=True)
        # One round is enough: the only fix removes lines, and removals never overlap.
        lines, applied = apply_fixes(lines, diagnostics, unsafe=unsafe)
        if applied:
            applied_by_file[name] = applied
            if write:
                atomic_write(name, bom + "".join(lines).encode("utf-8"))
    return applied_by_file
