"""What a rule sees and how it registers: :class:`Settings`, :class:`Context`, :func:`check`.

A check is a small function ``(ctx) -> None`` registered with the codes it can report
(:func:`check`); it walks the document and calls ``ctx.report(code, pointer, message, fix)``.
The checks (:mod:`coco_convert.validate.checks`) import this module and the engine
(:mod:`coco_convert.validate.engine`) imports both, so registering a check needs nothing of
the engine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ..schemas.coco import Kind
from .codes import RULES
from .diagnostics import Diagnostic, Fix, Location

__all__ = ["CHECKS", "Context", "Settings", "check", "fmt", "is_number"]

#: Image sides beyond this are not sizes (and would overflow float arithmetic).
_BIG = 2**31


@dataclass(frozen=True)
class Settings:
    """What to check and how strictly (from the command line and ``pyproject.toml``)."""

    select: frozenset[str] = frozenset(RULES)
    #: Pixels a bbox may differ from the segmentation's box before G104 reports it.
    bbox_tolerance: float = 1.0
    #: Relative difference of area and mask area before G105 reports it.
    area_tolerance: float = 0.1
    #: How far outside its box (as a fraction of the box size) a keypoint may lie (K005).
    keypoint_margin: float = 0.5
    #: Pixels a box or polygon may extend past the image's edge before G102/G111 report it.
    edge_tolerance: float = 0.0
    #: Image folder for the I005/I006/I008/P002 checks (``--images DIR``).
    images: Path | None = None


Check = Callable[["Context"], None]
#: Every registered check: the codes it can report, the kinds it runs on (None: all), itself.
CHECKS: list[tuple[frozenset[str], frozenset[str] | None, Check]] = []


def check(*codes: str, kinds: tuple[str, ...] | None = None) -> Callable[[Check], Check]:
    """Register a check that can report ``codes``, for documents of ``kinds`` (all if None)."""
    for code in codes:
        assert code in RULES, code

    def register(func: Check) -> Check:
        CHECKS.append((frozenset(codes), None if kinds is None else frozenset(kinds), func))
        return func

    return register


class Context:
    """One document being checked: what checks read, and where they report."""

    def __init__(self, file: str, document: Any, kind: Kind, settings: Settings) -> None:
        self.file = file
        self.document = document
        self.kind = kind
        self.settings = settings
        self.diagnostics: list[Diagnostic] = []
        #: Indices of records (per top-level list; "" for results) that break the schema.
        self.invalid: dict[str, set[int]] = {}
        #: Top-level lists that are missing or not lists of objects.
        self.broken: set[str] = set()
        #: The tool that wrote the file, when recognised (see checks/profiles.py).
        self.tool: str | None = None
        #: Places already reported by checks that see one problem several times.
        self.seen: set[str] = set()
        self._next_ids: dict[str, int] = {}

    # Reporting ------------------------------------------------------------------------------

    def wants(self, *codes: str) -> bool:
        return any(code in self.settings.select for code in codes)

    def report(self, code: str, pointer: str, message: str, fix: Fix | None = None) -> None:
        if code in self.settings.select:
            rule = RULES[code]
            self.diagnostics.append(
                Diagnostic(code, message, Location(self.file, pointer), rule.severity, fix)
            )

    # Reading --------------------------------------------------------------------------------

    def items(self, key: str) -> list[Any]:
        """The top-level list ``key`` ("" for a results array), or [] when it is broken."""
        if key in self.broken:
            return []
        value = self.document if key == "" else get_list(self.document, key)
        return value if isinstance(value, list) else []

    def records(self, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, record)`` for each record of list ``key`` that fits the schema."""
        invalid = self.invalid.get(key, ())
        for index, record in enumerate(self.items(key)):
            if isinstance(record, dict) and index not in invalid:
                yield index, record

    def by_id(self, key: str) -> dict[int, dict[str, Any]]:
        """Records of list ``key`` by their integer id (the first of duplicates), including
        records with other problems."""
        found: dict[int, dict[str, Any]] = {}
        for record in self.items(key):
            if isinstance(record, dict):
                record_id = record.get("id")
                if _is_int(record_id) and record_id not in found:
                    found[record_id] = record
        return found

    @functools.cached_property
    def images_by_id(self) -> dict[int, dict[str, Any]]:
        return self.by_id("images")

    @functools.cached_property
    def categories_by_id(self) -> dict[int, dict[str, Any]]:
        return self.by_id("categories")

    @functools.cached_property
    def used_category_ids(self) -> set[int]:
        """Category ids that annotations name, including annotations with other problems."""
        used: set[int] = set()
        for ann in self.items("annotations"):
            if not isinstance(ann, dict):
                continue
            segments = ann.get("segments_info") if self.kind == "panoptic" else [ann]
            for record in segments if isinstance(segments, list) else ():
                value = record.get("category_id") if isinstance(record, dict) else None
                if _is_int(value):
                    used.add(value)
        return used

    def next_free_id(self, key: str) -> int:
        """A new id for list ``key``: after the largest in use and any handed out before."""
        if key not in self._next_ids:
            ids = [r.get("id") for r in self.items(key) if isinstance(r, dict)]
            self._next_ids[key] = max([i for i in ids if _is_int(i)] + [0]) + 1
        self._next_ids[key] += 1
        return self._next_ids[key] - 1

    @functools.cached_property
    def image_sizes(self) -> dict[int, tuple[int, int]]:
        """(width, height) by image id, for images whose sizes are positive integers."""
        sizes: dict[int, tuple[int, int]] = {}
        for image_id, image in self.images_by_id.items():
            width, height = image.get("width"), image.get("height")
            if (
                type(width) is int
                and type(height) is int
                and 0 < width < _BIG
                and 0 < height < _BIG
            ):
                sizes[image_id] = (width, height)
        return sizes

    def image_size(self, image_id: Any) -> tuple[int, int] | None:
        """(width, height) of an image when both are positive integers."""
        try:
            return self.image_sizes.get(image_id)
        except TypeError:  # an unhashable id
            return None


def get_list(document: Any, key: str) -> Any:
    """``document[key]`` when the document is an object (None otherwise)."""
    return document.get(key) if isinstance(document, dict) else None


def _is_int(value: Any) -> TypeGuard[int]:
    return type(value) is int


def is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def fmt(value: Any) -> str:
    """A number for a message: 6 significant digits (integers of any size stay exact)."""
    if type(value) is int:
        text = str(value)
        return text if len(text) <= 20 else f"{text[:8]}...({len(text)} digits)"
    return f"{value:.6g}" if isinstance(value, float) else repr(value)
