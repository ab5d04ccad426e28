"""The format registry: every format coco-convert reads or writes, one line each.

``coco-convert convert``, ``formats``, the ``X2coco``/``coco2X`` verbs, ``validate`` and the
conformance suite are all built from :data:`FORMATS`; adding a format is its module under
``coco_convert/converters/`` (see :mod:`coco_convert.converters.base`), its fixtures, its docs
page and one line here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .converters import coco, labelme, masks, via, voc, yolo
from .converters.base import Format
from .errors import InputError, UsageError

__all__ = ["FORMATS", "detect", "get", "guess", "readable", "writable"]

#: Every format, in the order ``coco-convert formats`` lists them.
FORMATS: tuple[Format, ...] = (
    coco.FORMAT,
    voc.FORMAT,
    yolo.FORMAT,
    masks.FORMAT,
    labelme.FORMAT,
    via.FORMAT,
)

_BY_NAME: dict[str, Format] = {name: fmt for fmt in FORMATS for name in fmt.names}


def get(name: str) -> Format:
    """The format called ``name`` (or one of its aliases); a usage error names the known
    ones."""
    found = _BY_NAME.get(name.strip().lower())
    if found is None:
        known = ", ".join(fmt.name for fmt in FORMATS)
        raise UsageError(f"unknown format {name!r} (known formats: {known})")
    return found


def readable() -> list[Format]:
    """The formats that have a reader."""
    return [fmt for fmt in FORMATS if fmt.read is not None]


def writable() -> list[Format]:
    """The formats that have a writer."""
    return [fmt for fmt in FORMATS if fmt.write is not None]


def detect(path: str | Path) -> list[Format]:
    """Every readable format whose ``detect`` recognises ``path`` (a file or folder)."""
    target = Path(path)
    return [fmt for fmt in readable() if fmt.detect(target)]


def guess(paths: Iterable[str | Path]) -> Format:
    """The one readable format all ``paths`` are in; a usage error when none or several
    fit (it lists the candidates: pass ``--from``)."""
    paths = list(paths)
    candidates: list[Format] | None = None
    for path in paths:
        if not Path(path).exists():
            raise InputError(str(path), "no such file or folder")
        found = detect(path)
        candidates = found if candidates is None else [f for f in candidates if f in found]
    if not candidates:
        shown = ", ".join(str(p) for p in paths)
        known = ", ".join(fmt.name for fmt in readable())
        raise UsageError(
            f"cannot tell the format of {shown}; pass --from FORMAT (readable: {known})"
        )
    if len(candidates) > 1:
        names = ", ".join(fmt.name for fmt in candidates)
        raise UsageError(f"{paths[0]} could be any of: {names}; pass --from FORMAT to say which")
    return candidates[0]
