"""``remap``: rename, merge and drop categories by a map ``{old name: new name | null}``.

* A name mapped to a new name is renamed; several names mapped to one name become one
  category (their annotations follow); a name mapped to ``null`` is dropped with its
  annotations (reported). Names the map does not mention stay as they are (or go, with
  ``unmapped="drop"``).
* Ids: ``keep`` (the default) gives each resulting category the id of the category that
  already bears its name, else of the first category mapped to it, so a rename keeps its id;
  ``compact`` numbers the resulting categories 1, 2, ... in order.
* Keypoint categories merge only when their keypoints and skeleton agree.

A map is YAML or JSON. Its keys are category names; a number that is no category's name
stands for a category id.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..converters.loss import LossReport
from ..errors import InputError, Location, UsageError
from ..io import gc_paused, parse_json, read_bytes
from .common import (
    absorb_category,
    check_references,
    coco_dataset,
    derived,
    name_of,
    with_records,
)

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import AnyDataset, Dataset

__all__ = ["CategoryMap", "read_map", "remap"]

#: ``{old name (or id): new name, or None to drop}``.
CategoryMap = Mapping[str | int, str | None]


def read_map(path: str | os.PathLike[str]) -> dict[str | int, str | None]:
    """A category map from a YAML or JSON file (``.json`` is read as JSON, anything else as
    YAML, which JSON also is)."""
    name = os.fspath(path)
    data = read_bytes(path)
    if name.endswith(".json"):
        loaded = parse_json(data, name)
    else:
        import yaml

        try:
            loaded = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputError(name, f"invalid YAML: {exc}", line=line) from None
    if not isinstance(loaded, dict):
        raise InputError(name, "expected a mapping {old name: new name or null}")
    out: dict[str | int, str | None] = {}
    for key, value in loaded.items():
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise InputError(name, f"key {key!r}: expected a category name or id")
        if value is not None and not isinstance(value, str):
            raise InputError(
                name,
                f"{key!r}: {value!r} is not a name; give the new name as text, or null to drop",
            )
        out[key] = value
    return out


def remap(
    dataset: Dataset,
    mapping: CategoryMap,
    *,
    ids: Literal["keep", "compact"] = "keep",
    unmapped: Literal["keep", "drop"] = "keep",
) -> tuple[AnyDataset, LossReport]:
    """``dataset`` with its categories renamed, merged or dropped by ``mapping`` (see the
    module's doc). The input is not modified."""
    coco = coco_dataset(dataset, "remap", panoptic=False)
    name = name_of(coco)
    report = LossReport("remap")
    check_references(coco, report)
    categories = coco.categories
    targets = _targets(categories, mapping, unmapped, name, report)

    # Group the categories by the name they end up with, in category order.
    groups: dict[str, list[int]] = {}
    for i, target in enumerate(targets):
        if target is not None:
            groups.setdefault(target, []).append(i)
    out: list[Any] = []
    new_id: dict[int, int] = {}  # old category id -> new (absent: dropped)
    for position, (target, members) in enumerate(groups.items()):
        # The category already named so absorbs the others; else the first one mapped here.
        base = next((i for i in members if categories[i]["name"] == target), members[0])
        record = dict(categories[base])
        record["name"] = target
        record["id"] = position + 1 if ids == "compact" else categories[base]["id"]
        for i in members:
            if i != base:
                absorb_category(
                    record,
                    categories[i],
                    where=Location(name, f"/categories/{i}"),
                    first=f"{name}:/categories/{base}",
                    report=report,
                )
            new_id.setdefault(categories[i]["id"], record["id"])  # a repeated id: the first
        out.append(record)
        if len(members) > 1:
            report.count("categories merged", len(members))
    for i, (category, target) in enumerate(zip(categories, targets, strict=True)):
        if target is None:
            report.lose(
                "categories_dropped",
                "categories dropped by the map",
                where=Location(name, f"/categories/{i}"),
                detail=repr(category["name"]),
            )
        elif target != category["name"]:
            report.count("categories renamed")

    with gc_paused():
        anns: list[Any] = []
        dropped = relabelled = 0
        known = {category["id"] for category in categories}
        for ann in coco.annotations:
            old = ann.get("category_id")
            if old is None or old not in known:
                anns.append(ann)  # no category (captions), or a dangling one (warned)
                continue
            target_id = new_id.get(old)
            if target_id is None:
                dropped += 1
            elif target_id == old:
                anns.append(ann)
            else:
                record = dict(ann)
                record["category_id"] = target_id
                anns.append(record)
                relabelled += 1
    if dropped:
        report.lose(
            "annotations_of_dropped_categories",
            "annotations of categories the map drops",
            count=dropped,
        )
    report.count("annotations relabelled", relabelled)
    report.count("categories", len(out))
    report.count("annotations", len(anns))
    document = with_records(coco.document, annotations=anns, categories=out)
    return derived(coco, document), report


def _targets(
    categories: list[Any],
    mapping: CategoryMap,
    unmapped: str,
    name: str,
    report: LossReport,
) -> list[str | None]:
    """The name each category ends with (None: dropped)."""
    names = {c["name"] for c in categories}
    ids = {c["id"] for c in categories}
    by_name: dict[str, str | None] = {}
    by_id: dict[int, str | None] = {}
    for key, value in mapping.items():
        text = str(key)
        if text in names:
            by_name[text] = value
        elif isinstance(key, int) or text.lstrip("-").isdigit():
            if int(text) not in ids:
                _unknown(key, name, report)
            by_id[int(text)] = value
        else:
            _unknown(key, name, report)
    out: list[str | None] = []
    for category in categories:
        if category["name"] in by_name:
            out.append(by_name[category["name"]])
        elif category["id"] in by_id:
            out.append(by_id[category["id"]])
        else:
            out.append(category["name"] if unmapped == "keep" else None)
    if unmapped not in ("keep", "drop"):
        raise UsageError(f"remap: unmapped must be 'keep' or 'drop', not {unmapped!r}")
    return out


def _unknown(key: str | int, name: str, report: LossReport) -> None:
    report.warn(
        "map_key_unknown",
        "map keys that name no category of the dataset (misspelt?)",
        where=Location(name),
        detail=repr(key),
    )
