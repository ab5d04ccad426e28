"""Class lists shared by the formats that name classes rather than number them.

VOC, LabelMe and VIA write a class *name* on every object; COCO wants numbered categories.
The numbering comes from a class list when the user gives one (``--labels``: a file, one name
per line, or a list of names), else from the names found. :func:`load_labels` reads the class
files the tools write: plain lists, CVAT's ``labelmap.txt``, and labelme's ``labels.txt``
(whose ``__ignore__`` and ``_background_`` lines are conventions of labelme's converters, not
classes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from ..errors import InputError
from ..io import read_text
from ..schemas.coco import Category

__all__ = ["NOT_CLASSES", "category_list", "label_names", "load_labels", "numbered"]

#: Lines of labelme's ``labels.txt`` that are not classes: ``__ignore__`` (regions its
#: converters leave out, or mark void in VOC masks) and ``_background_`` (class 0 of its
#: label PNGs).
NOT_CLASSES = frozenset({"__ignore__", "_background_"})

_LABELMAP_LINE = re.compile(r"[^:]*:[\d, ]*:[^:]*:[^:]*")


def load_labels(path: str | os.PathLike[str]) -> list[str]:
    """Class names, one per line, in id order (blank lines and ``#`` comments skipped).

    Also reads CVAT's VOC ``labelmap.txt`` (``name:r,g,b:parts:actions``), leaving out its
    ``background`` entry, and labelme's ``labels.txt``, leaving out its ``__ignore__`` and
    ``_background_`` lines."""
    name = os.fspath(path)
    text = read_text(name)
    lines = [line.strip() for line in text.splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    labelmap = text.lstrip().startswith("# label:") or (
        bool(entries) and all(_LABELMAP_LINE.fullmatch(e) for e in entries)
    )
    if labelmap:
        entries = [e.split(":", 1)[0].strip() for e in entries]
        entries = [e for e in entries if e != "background"]
    entries = [e for e in entries if e not in NOT_CLASSES]
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        if entry in seen:
            raise InputError(name, f"class {entry!r} is listed twice (entry {number})")
        seen.add(entry)
    if not entries:
        raise InputError(name, "lists no class names", hint="one class name per line")
    return entries


def label_names(labels: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    """The class names of a ``--labels`` value: a file (:func:`load_labels`) or the names."""
    if isinstance(labels, str | os.PathLike):
        return load_labels(labels)
    return list(dict.fromkeys(labels))


def numbered(names: Iterable[str]) -> list[Category]:
    """Categories ``1..N`` in the order of ``names``."""
    return [{"id": number, "name": name} for number, name in enumerate(names, 1)]


def category_list(categories: Sequence[Category], shown: int = 30) -> str:
    """``1 cat, 2 dog, ...``: which id each class got (for the report's stats)."""
    listed = ", ".join(f"{cat['id']} {cat['name']}" for cat in categories[:shown])
    more = len(categories) - shown
    return f"{listed} and {more:,} more" if more > 0 else listed
