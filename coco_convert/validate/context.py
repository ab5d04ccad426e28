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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard

from ..schemas.coco import Kind
from .codes import RULES
from .diagnostics import Diagnostic, Fix, Location
from .fixes import parse_pointer, resolve

__all__ = ["CHECKS", "Context", "Settings", "Tables", "check", "fmt", "is_number"]

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
    #: Worker processes for the rules that rasterise masks (``-j``; None: every core when
    #: the file is large, 1: this process). On a Dask cluster (``parallel.using``), its
    #: workers.
    jobs: int | None = None


Check = Callable[["Context"], None]
#: Where a check looks: at records, each alone or with the others of its image ("records"), or
#: at the whole document through :class:`Tables` ("document": duplicate ids, references
#: across the file, categories no annotation uses).
Scope = Literal["records", "document"]
#: Every registered check: the codes it can report, the kinds it runs on (None: all), itself,
#: and its scope.
CHECKS: list[tuple[frozenset[str], frozenset[str] | None, Check, Scope]] = []


def check(
    *codes: str, kinds: tuple[str, ...] | None = None, scope: Scope = "records"
) -> Callable[[Check], Check]:
    """Register a check that can report ``codes``, for documents of ``kinds`` (all if None).

    A ``records`` check must read records only through :meth:`Context.records` and
    :meth:`Context.record` (and the indices they give), and need no more of the document
    than a record's own image and the categories: a streamed file is checked an image group
    at a time. A ``document`` check reads the whole document through :attr:`Context.tables`
    only."""
    for code in codes:
        assert code in RULES, code

    def register(func: Check) -> Check:
        CHECKS.append((frozenset(codes), None if kinds is None else frozenset(kinds), func, scope))
        return func

    return register


_NOT_INT = -(2**63)


@dataclass
class Tables:
    """The whole document in the compact form the ``document`` checks read: ids by record
    index, the file names, where category 0 is used, which categories annotations use, and
    counts. Filled record by record (:meth:`add`), in any order; :meth:`ids` gives them in
    document order."""

    _ids: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    #: (index, file_name) of the images that fit the schema.
    file_names: list[tuple[int, str]] = field(default_factory=list)
    #: (annotation index, segment index or None) of the uses of category id 0.
    category_zero: list[tuple[int, int | None]] = field(default_factory=list)
    #: Category ids that annotations name, including annotations with other problems.
    used_categories: set[int] = field(default_factory=set)
    #: Annotations that are objects; of those, without category_id; with a string image_id
    #: or a null category_id (T005, T006).
    annotation_objects: int = 0
    #: Items of each list (of any type).
    counts: dict[str, int] = field(default_factory=dict)
    unlabelled: int = 0
    strings: int = 0
    _sorted: bool = True

    def add(
        self,
        key: str,
        positions: Sequence[int],
        records: Sequence[Any],
        invalid: set[int] | frozenset[int],
        kind: Kind,
    ) -> None:
        """Take the records of list ``key`` at these document ``positions``."""
        ids = self._ids.setdefault(key, [])
        self.counts[key] = self.counts.get(key, 0) + len(records)
        self._sorted = self._sorted and (not ids or not positions or ids[-1][0] < positions[0])
        panoptic = kind == "panoptic"
        for index, record in zip(positions, records, strict=True):
            if not isinstance(record, dict):
                continue
            value = record.get("id")
            if _is_int(value):
                ids.append((index, value))
            valid = index not in invalid
            if key == "images" and valid:
                self.file_names.append((index, record["file_name"]))
            if key != "annotations":
                continue
            self.annotation_objects += 1
            self.unlabelled += "category_id" not in record
            self.strings += isinstance(record.get("image_id"), str) or (
                record.get("category_id", 0) is None
            )
            segments = record.get("segments_info") if panoptic else [record]
            for k, part in enumerate(segments if isinstance(segments, list) else ()):
                category = part.get("category_id") if isinstance(part, dict) else None
                if _is_int(category):
                    self.used_categories.add(category)
                    if category == 0 and valid:
                        self.category_zero.append((index, k if panoptic else None))

    def ids(self, key: str) -> list[tuple[int, int]]:
        """(index, id) of every record of list ``key`` whose id is an integer, in order."""
        if not self._sorted:
            for found in self._ids.values():
                found.sort()
            self.file_names.sort()
            self.category_zero.sort()
            self._sorted = True
        return self._ids.get(key, [])


class Context:
    """One document being checked: what checks read, and where they report."""

    def __init__(
        self,
        file: str,
        document: Any,
        kind: Kind,
        settings: Settings,
        *,
        proven: tuple[str, ...] = (),
    ) -> None:
        self.file = file
        self.document = document
        self.kind = kind
        self.settings = settings
        #: Top-level lists whose records the models' checks passed as they were parsed.
        self.proven = proven
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
        #: The document index of each record of a list, where the document holds only some
        #: of them (a streamed file, an image group at a time); absent: the list's own order.
        self.positions: dict[str, Sequence[int]] = {}
        self._locals: dict[str, dict[int, int]] = {}
        self._tables: Tables | None = None

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
        """``(index, record)`` for each record of list ``key`` that fits the schema; the
        index is the record's place in the document."""
        invalid = self.invalid.get(key, ())
        positions = self.positions.get(key)
        for local, record in enumerate(self.items(key)):
            index = local if positions is None else positions[local]
            if isinstance(record, dict) and index not in invalid:
                yield index, record

    def record(self, key: str, index: int) -> Any:
        """The record at document index ``index`` of list ``key``."""
        return self.items(key)[self._local(key, index)]

    def resolve(self, pointer: str) -> Any:
        """The value at a JSON pointer into the document (None when there is none)."""
        tokens = parse_pointer(pointer)
        key = "" if self.kind == "results" else (tokens[0] if tokens else None)
        at = 0 if self.kind == "results" else 1
        if key in self.positions and len(tokens) > at and tokens[at].isdigit():
            tokens[at] = str(self._local(key, int(tokens[at])))
            pointer = "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)
        return resolve(self.document, pointer)

    def _local(self, key: str, index: int) -> int:
        positions = self.positions.get(key)
        if positions is None:
            return index
        if key not in self._locals:
            self._locals[key] = {at: local for local, at in enumerate(positions)}
        return self._locals[key][index]

    def view(self, document: Any, positions: dict[str, Sequence[int]]) -> None:
        """Look at another part of the document: ``document`` holds the records of each
        list at these document ``positions`` (a streamed file's image group)."""
        self.document = document
        self.positions = positions
        self._locals = {}
        for name in ("images_by_id", "categories_by_id", "image_sizes"):
            self.__dict__.pop(name, None)

    @property
    def tables(self) -> Tables:
        """The whole document in compact form (built on first use, from the records that
        are held; a streamed file sets it as it goes)."""
        if self._tables is None:
            self._tables = Tables()
            keys = ("",) if self.kind == "results" else ("images", "annotations", "categories")
            for key in keys:
                items = self.items(key)
                self._tables.add(
                    key, range(len(items)), items, self.invalid.get(key, set()), self.kind
                )
        return self._tables

    @tables.setter
    def tables(self, value: Tables) -> None:
        self._tables = value

    def ids(self, key: str) -> list[tuple[int, int]]:
        """(index, id) of every record of list ``key`` whose id is an integer."""
        return self.tables.ids(key)

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

    @property
    def used_category_ids(self) -> set[int]:
        """Category ids that annotations name, including annotations with other problems."""
        return self.tables.used_categories

    def next_free_id(self, key: str) -> int:
        """A new id for list ``key``: after the largest in use and any handed out before."""
        if key not in self._next_ids:
            self._next_ids[key] = max([value for _, value in self.ids(key)] + [0]) + 1
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
