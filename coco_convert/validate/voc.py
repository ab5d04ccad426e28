"""V: Pascal VOC XML, read with the VOC converter's own parser (``parse_voc_xml``).

A VOC path is one ``.xml`` file or a folder (a devkit with ``Annotations/``, or any folder of
XML files); each XML file is a result of its own, with findings at ``file:line``. The class
list, when the folder has one (CVAT's ``labelmap.txt``, a ``labels.txt``), names the known
classes. VOC files are only checked, never rewritten: there are no fixes for XML.
"""

from __future__ import annotations

from pathlib import Path

from ..converters.voc import VocFile, find_xml_files, load_labels, parse_voc_xml
from ..errors import InputError
from ..io import read_file
from .codes import RULES
from .diagnostics import Diagnostic, Location
from .engine import Settings, fmt

__all__ = ["is_voc", "validate_voc"]

_CLASS_FILES = ("labelmap.txt", "labels.txt", "classes.txt")


def is_voc(path: Path) -> bool:
    """An ``.xml`` file, or a folder with ``Annotations/`` or XML files in it."""
    if path.is_file():
        return path.suffix.lower() == ".xml"
    return path.is_dir() and ((path / "Annotations").is_dir() or any(path.glob("*.xml")))


def _xml_paths(folder: Path) -> list[str]:
    root = folder / "Annotations" if (folder / "Annotations").is_dir() else folder
    return find_xml_files(root)


def _classes(folder: Path) -> tuple[list[str] | None, list[Diagnostic]]:
    for name in _CLASS_FILES:
        path = folder / name
        if path.is_file():
            try:
                return load_labels(path), []
            except InputError as exc:
                return None, [_finding("V001", str(path), exc.message)]
    return None, []


def _finding(code: str, file: str, message: str, line: int | None = None) -> Diagnostic:
    return Diagnostic(code, message, Location(file, line=line), RULES[code].severity)


def validate_voc(path: Path, settings: Settings) -> list[tuple[str, list[Diagnostic]]]:
    """(file, findings) for each XML file of ``path`` (and the class list, if broken)."""
    if path.is_file():
        classes, problems = _classes(path.parent)
        paths = [str(path)]
    else:
        classes, problems = _classes(path)
        paths = _xml_paths(path)
    out: list[tuple[str, list[Diagnostic]]] = []
    if problems:
        out.append((problems[0].file, problems))
    known = set(classes) if classes is not None else None
    for name in paths:
        found = [d for d in _check_file(name, known) if d.code in settings.select]
        out.append((name, found))
    return out


def _check_file(path: str, known: set[str] | None) -> list[Diagnostic]:
    try:
        data = read_file(path)
    except InputError as exc:
        return [_finding("F001", path, exc.message)]
    try:
        if b"<annotations>" in data[:4096] and b"<meta>" in data[:65536]:
            message = "this is a CVAT for images XML export, not Pascal VOC; convert it first"
            return [_finding("F004", path, message)]
        voc = parse_voc_xml(data, path)
    except InputError as exc:
        return [_finding("V001", path, exc.message, exc.line if exc.source == path else None)]
    return list(_check_voc(voc, known))


def _check_voc(voc: VocFile, known: set[str] | None) -> list[Diagnostic]:
    path = voc.path
    found: list[Diagnostic] = []
    if voc.width is None or voc.height is None:
        found.append(_finding("V002", path, "no <size> with a width and height above 0"))
    stem = Path(path).stem
    if voc.filename is not None and Path(voc.filename).stem != stem:
        found.append(
            _finding(
                "V007",
                path,
                f"<filename> is {voc.filename!r}, but the file is {Path(path).name!r}",
            )
        )
    seen: dict[tuple[object, ...], int] = {}
    for number, obj in enumerate(voc.objects, 1):
        line = obj.line
        if obj.name is None:
            found.append(_finding("V003", path, f"object {number} has no <name>", line))
        elif known is not None and obj.name not in known:
            found.append(
                _finding(
                    "V008",
                    path,
                    f"object {number}: class {obj.name!r} is not in the class list",
                    line,
                )
            )
        if obj.box is None:
            found.append(_finding("V004", path, f"object {number}: {obj.problem}", line))
            continue
        xmin, ymin, xmax, ymax = obj.box
        shown = f"({fmt(xmin)}, {fmt(ymin)}, {fmt(xmax)}, {fmt(ymax)})"
        if xmax < xmin or ymax < ymin:
            found.append(
                _finding(
                    "V005",
                    path,
                    f"object {number}: box {shown} has xmax < xmin or ymax < ymin",
                    line,
                )
            )
        elif (
            voc.width is not None
            and voc.height is not None
            and (xmin < 0 or ymin < 0 or xmax > voc.width or ymax > voc.height)
        ):
            found.append(
                _finding(
                    "V006",
                    path,
                    f"object {number}: box {shown} reaches outside the "
                    f"{voc.width}x{voc.height} image",
                    line,
                )
            )
        if any(v != int(v) for v in obj.box):
            found.append(
                _finding("V009", path, f"object {number}: box {shown} has fractional pixels", line)
            )
        key = (obj.name, obj.box)
        if key in seen:
            found.append(
                _finding(
                    "V010",
                    path,
                    f"object {number} repeats object {seen[key]} (same class and box)",
                    line,
                )
            )
        else:
            seen[key] = number
    return found
