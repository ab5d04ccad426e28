"""``diff``: what differs between two datasets, record by record and field by field.

Images, annotations and categories are matched by id (``match="id"``), or, for exports that
number things their own way (``match="iou"``), images by ``file_name``, categories by name and
annotations by box IoU within the same image and category (greedily, highest IoU first, as
COCOeval matches). Each side's unmatched records are removed / added; matched records that
differ list each field that changed, old and new value. The top-level values (``info``,
``licenses``, a tool's own keys) are compared too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..converters.loss import LossReport
from ..errors import Location, UsageError
from ..io import dump_json, gc_paused
from .common import coco_dataset, name_of, repeated_ids

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import CocoDataset, Dataset

__all__ = ["DatasetDiff", "FieldChange", "Match", "RecordChange", "Section", "check_ids", "diff"]

Match = Literal["id", "iou"]
_MISSING: Any = object()
#: Characters of a value shown in text output before it is cut.
_SHOWN = 60


@dataclass
class FieldChange:
    """One field of a matched record: its old and new value (``_MISSING`` when absent)."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field}
        if self.old is not _MISSING:
            out["old"] = self.old
        if self.new is not _MISSING:
            out["new"] = self.new
        return out

    def render(self) -> str:
        return f"{self.field} {_show(self.old)} -> {_show(self.new)}"


@dataclass
class RecordChange:
    """A record present on both sides with different fields (``key``: its id, or its id in
    A and in B when they differ)."""

    key: Any
    label: str
    fields: list[FieldChange]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "changes": [f.to_dict() for f in self.fields]}


@dataclass
class Section:
    """Added, removed and changed records of one list (images, annotations, categories)."""

    name: str
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    changed: list[RecordChange] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [_key_of(r) for r in self.added],
            "removed": [_key_of(r) for r in self.removed],
            "changed": [c.to_dict() for c in self.changed],
        }

    def counts(self) -> str:
        return (
            f"{self.name}: {len(self.added):,} added, {len(self.removed):,} removed, "
            f"{len(self.changed):,} changed"
        )


@dataclass
class DatasetDiff:
    """Everything that differs from ``a`` to ``b``."""

    a: str
    b: str
    match: Match
    top: list[FieldChange] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.top and all(section.equal for section in self.sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "match": self.match,
            "equal": self.equal,
            "top_level": [change.to_dict() for change in self.top],
            **{section.name: section.to_dict() for section in self.sections},
        }

    def lines(self, *, summary: bool = False) -> Iterator[str]:
        """The text form: a header, a count line per list, then (unless ``summary``) one line
        per record: ``-`` removed, ``+`` added, ``~`` changed (each field old -> new)."""
        yield f"--- {self.a}"
        yield f"+++ {self.b}"
        if self.top:
            yield f"top level: {len(self.top)} changed"
        for section in self.sections:
            yield section.counts()
        if summary:
            return
        for change in self.top:
            yield f"~ {change.render()}"
        for section in self.sections:
            singular = section.name[:-1]
            for record in section.removed:
                yield f"- {singular} {_label(record)}"
            for record in section.added:
                yield f"+ {singular} {_label(record)}"
            for changed in section.changed:
                fields = "; ".join(f.render() for f in changed.fields)
                yield f"~ {singular} {changed.label}: {fields}"


def diff(a: Dataset, b: Dataset, *, match: Match = "id", iou: float = 0.5) -> DatasetDiff:
    """What differs from ``a`` to ``b`` (see the module's doc)."""
    if match not in ("id", "iou"):
        raise UsageError(f"diff: match must be 'id' or 'iou', not {match!r}")
    if not 0 < iou <= 1:
        raise UsageError(f"diff: --iou {iou} must be above 0 and at most 1")
    left, right = coco_dataset(a, "diff"), coco_dataset(b, "diff")
    result = DatasetDiff(name_of(left, "A"), name_of(right, "B"), match)
    skip = {"images", "annotations", "categories"}
    result.top = _fields(left.document, right.document, skip=skip)
    with gc_paused():
        if match == "id":
            images = _compare("images", left.images, right.images, _by_id)
            categories = _compare("categories", left.categories, right.categories, _by_id)
            annotations = _compare("annotations", left.annotations, right.annotations, _by_id)
        else:
            # Exports that number their own way: ids are not compared, what they name is.
            images = _compare("images", left.images, right.images, _by_file, ignore=("id",))
            categories = _compare(
                "categories", left.categories, right.categories, _by_name, ignore=("id",)
            )
            annotations = _by_overlap(left, right, iou)
    result.sections = [images, annotations, categories]
    return result


def check_ids(dataset: Dataset, report: LossReport) -> None:
    """Warn about ids (file_names, with --match iou) used twice in one list: only the first
    such record can be matched; the others count as added or removed."""
    if dataset.kind == "results":
        return
    name = name_of(dataset)
    for key in ("images", "annotations", "categories"):
        for i in repeated_ids(dataset.document.get(key, ())):
            report.warn(
                "repeated_id",
                "records whose id an earlier record of the same list has: matched at most once",
                where=Location(name, f"/{key}/{i}/id"),
            )


# --- matching --------------------------------------------------------------------------------


def _by_id(record: Any) -> Any:
    return record.get("id", _MISSING)


def _by_file(record: Any) -> Any:
    return record["file_name"]


def _by_name(record: Any) -> Any:
    return record.get("name")


def _compare(
    name: str,
    left: Sequence[Any],
    right: Sequence[Any],
    key_of: Callable[[Any], Any],
    *,
    ignore: Iterable[str] = (),
) -> Section:
    """Records matched by ``key_of`` (the first of a repeated key; the others count as
    removed or added)."""
    section = Section(name)
    theirs: dict[Any, Any] = {}
    for record in right:
        theirs.setdefault(key_of(record), record)
    seen: set[Any] = set()
    skip = set(ignore)
    for record in left:
        key = key_of(record)
        other = theirs.get(key, _MISSING)
        if other is _MISSING or key in seen:
            section.removed.append(record)
            continue
        seen.add(key)
        if record != other:
            changes = _fields(record, other, skip=skip)
            if changes:
                section.changed.append(RecordChange(_pair(record, other), _label(record), changes))
    section.added = [r for r in right if key_of(r) not in seen or theirs[key_of(r)] is not r]
    return section


def _by_overlap(
    left: CocoDataset[Any, Any], right: CocoDataset[Any, Any], threshold: float
) -> Section:
    """Annotations matched by box IoU within the same image (by file_name) and category (by
    name); fields compared apart from the ids."""
    from pycocotools import mask as mask_utils

    image_key = {image["id"]: image["file_name"] for image in right.images}
    image_key_a = {image["id"]: image["file_name"] for image in left.images}
    category_key = {c["id"]: c.get("name") for c in right.categories}
    category_key_a = {c["id"]: c.get("name") for c in left.categories}

    def group(
        anns: Sequence[Any], images: dict[int, str], cats: dict[int, Any]
    ) -> dict[Any, list[Any]]:
        groups: dict[Any, list[Any]] = {}
        for ann in anns:
            key = (images.get(ann["image_id"]), cats.get(ann.get("category_id")))
            groups.setdefault(key, []).append(ann)
        return groups

    ours = group(left.annotations, image_key_a, category_key_a)
    theirs = group(right.annotations, image_key, category_key)
    section = Section("annotations")
    ignore = {"id", "image_id", "category_id"}
    for key, anns in ours.items():
        others = theirs.get(key, [])
        pairs = _greedy_pairs(anns, others, threshold, mask_utils)
        matched_b = set()
        for i, j in pairs:
            matched_b.add(j)
            changes = _fields(anns[i], others[j], skip=ignore)
            if changes:
                section.changed.append(
                    RecordChange(_pair(anns[i], others[j]), _label(anns[i]), changes)
                )
        matched_a = {i for i, _ in pairs}
        section.removed.extend(a for i, a in enumerate(anns) if i not in matched_a)
        section.added.extend(b for j, b in enumerate(others) if j not in matched_b)
    for key, others in theirs.items():
        if key not in ours:
            section.added.extend(others)
    return section


def _greedy_pairs(
    left: list[Any], right: list[Any], threshold: float, mask_utils: Any
) -> list[tuple[int, int]]:
    """Pairs (i, j) of the highest IoU first, each annotation in one pair at most."""
    if not left or not right:
        return []
    ious = np.zeros((len(left), len(right)))
    boxed_a = [i for i, a in enumerate(left) if _box(a) is not None]
    boxed_b = [j for j, b in enumerate(right) if _box(b) is not None]
    if boxed_a and boxed_b:
        found = mask_utils.iou(
            [_box(left[i]) for i in boxed_a],
            [_box(right[j]) for j in boxed_b],
            [0] * len(boxed_b),
        )
        ious[np.ix_(boxed_a, boxed_b)] = found
    # Records without a box match only when equal apart from their ids.
    boxless_b = [(j, _without_ids(b)) for j, b in enumerate(right) if _box(b) is None]
    for i, a in enumerate(left):
        if _box(a) is None:
            bare = _without_ids(a)
            for j, b in enumerate(right):
                ious[i, j] = 1.0 if _without_ids(b) == bare else 0.0
        else:
            for j, bare in boxless_b:
                ious[i, j] = 1.0 if _without_ids(a) == bare else 0.0
    order = np.argsort(-ious, axis=None, kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for flat in order.tolist():
        i, j = divmod(flat, len(right))
        if ious[i, j] < threshold:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j))
    return pairs


def _box(ann: Any) -> list[float] | None:
    box = ann.get("bbox")
    return [float(v) for v in box] if box else None


def _without_ids(ann: Any) -> dict[str, Any]:
    return {k: v for k, v in ann.items() if k not in ("id", "image_id", "category_id")}


# --- fields ----------------------------------------------------------------------------------


def _fields(a: Any, b: Any, *, skip: Iterable[str] = ()) -> list[FieldChange]:
    """The fields that differ between two records (numbers compare by value: 1 == 1.0)."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [] if a == b else [FieldChange("", a, b)]
    changes = []
    for key in dict.fromkeys([*a, *b]):
        if key in skip:
            continue
        old, new = a.get(key, _MISSING), b.get(key, _MISSING)
        if old is _MISSING or new is _MISSING or old != new:
            changes.append(FieldChange(key, old, new))
    return changes


def _pair(a: Any, b: Any) -> Any:
    ka, kb = _key_of(a), _key_of(b)
    return ka if ka == kb else [ka, kb]


def _key_of(record: Any) -> Any:
    return record.get("id", record.get("file_name"))


def _label(record: Any) -> str:
    key = record.get("id")
    extra = record.get("file_name") or record.get("name")
    return f"{key} {extra!r}" if extra is not None else str(key)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    text = dump_json(value).decode()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
