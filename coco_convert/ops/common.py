"""What the dataset operations share: which kinds they take, new documents around chosen
records, and the checks of references every operation reports the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from ..converters.loss import LossReport
from ..errors import InputError, Location, UsageError
from ..io import gc_paused

if TYPE_CHECKING:  # the dataset module imports the operations (its methods): no cycle
    from ..dataset import AnyDataset, CocoDataset, Dataset

__all__ = [
    "absorb_category",
    "check_references",
    "coco_dataset",
    "derived",
    "fill_fields",
    "keypoint_definition",
    "name_of",
    "reference_checks",
    "repeated_ids",
    "with_records",
]


def name_of(dataset: Dataset, default: str = "<dataset>") -> str:
    """How messages name a dataset: its file, or ``default``."""
    return dataset.source or default


def coco_dataset(
    dataset: Dataset, operation: str, *, panoptic: bool = True
) -> CocoDataset[Any, Any]:
    """``dataset`` as a dataset with images and annotations, or a :class:`UsageError` saying
    why ``operation`` cannot take it (detection results have no images; some operations cannot
    rewrite the segments of panoptic PNGs)."""
    if dataset.kind == "results":
        raise UsageError(
            f"{name_of(dataset)}: {operation} takes a COCO dataset (images and annotations), "
            "not detection results"
        )
    if not panoptic and dataset.kind == "panoptic":
        raise UsageError(
            f"{name_of(dataset)}: {operation} does not take panoptic datasets (their segments "
            "live in PNG files this operation would have to rewrite)"
        )
    return cast("CocoDataset[Any, Any]", dataset)


def with_records(document: dict[str, Any], **records: Any) -> dict[str, Any]:
    """A new top-level document: ``document``'s keys in their order, those in ``records``
    replaced (a key ``document`` lacks is added at the end). Records are shared, not copied."""
    out = {key: records.get(key, value) for key, value in document.items()}
    for key, value in records.items():
        out.setdefault(key, value)
    return out


def derived(like: Dataset, document: Any) -> AnyDataset:
    """A dataset of ``like``'s kind around ``document`` (built from valid records, so not
    validated again)."""
    return cast("AnyDataset", type(like)(document, validate=False))


def check_references(
    dataset: CocoDataset[Any, Any], report: LossReport, *, categories: bool = True
) -> tuple[set[int], set[int]]:
    """Warn about annotations whose image (or category) the file does not define, and about
    image ids used twice; returns the image ids and category ids that exist. Operations that
    follow references (split, filter, merge) drop what dangles and say so."""
    with gc_paused():
        return _check_references(dataset, report, categories)


def _check_references(
    dataset: CocoDataset[Any, Any], report: LossReport, categories: bool
) -> tuple[set[int], set[int]]:
    return reference_checks(
        name_of(dataset),
        dataset.kind,
        [(0, dataset.images)],
        lambda: iter([(0, dataset.annotations)]),
        dataset.categories,
        report,
        categories=categories,
    )


def reference_checks(
    name: str,
    kind: str,
    images: Iterable[tuple[int, Sequence[Any]]],
    annotations: Callable[[], Iterator[tuple[int, Sequence[Any]]]],
    category_list: Sequence[Any],
    report: LossReport,
    *,
    categories: bool = True,
) -> tuple[set[int], set[int]]:
    """:func:`check_references` over records given a chunk at a time (``(index of the
    first, records)``, in file order: a streamed file's, or one chunk of a whole list)."""
    image_ids: set[int] = set()
    for first, records in images:
        for i, image in enumerate(records):
            if "id" in image and image["id"] in image_ids:
                report.warn(
                    "duplicate_image_id",
                    "images whose id an earlier image already has: their annotations go with "
                    "the first",
                    where=Location(name, f"/images/{first + i}/id"),
                )
            image_ids.add(image["id"])
    category_ids = {category["id"] for category in category_list}
    check_categories = categories and kind != "captions"
    no_image: list[int] = []
    dangling: list[int] = []
    for first, anns in annotations():
        # Columns first (map runs in C), then one plain comparison per annotation.
        on_images = list(map(itemgetter("image_id"), anns))
        no_image += [first + i for i, image_id in enumerate(on_images) if image_id not in image_ids]
        if not check_categories:
            continue
        if kind == "panoptic":
            dangling += [
                first + i
                for i, ann in enumerate(anns)
                if any(s["category_id"] not in category_ids for s in ann.get("segments_info", ()))
            ]
        else:
            of = list(map(dict.get, anns, repeat("category_id")))
            dangling += [
                first + i for i, c in enumerate(of) if c is not None and c not in category_ids
            ]
    for i in no_image:
        report.warn(
            "dangling_image_id",
            "annotations whose image_id no image has",
            where=Location(name, f"/annotations/{i}/image_id"),
        )
    for i in dangling:
        report.warn(
            "dangling_category_id",
            "annotations whose category_id no category has",
            where=Location(name, f"/annotations/{i}"),
        )
    return image_ids, category_ids


def keypoint_definition(category: Any) -> tuple[list[Any], list[tuple[int, ...]]] | None:
    """A category's keypoint names and skeleton edges (as unordered pairs), or None when it
    defines neither."""
    if "keypoints" not in category and "skeleton" not in category:
        return None
    edges = sorted(tuple(sorted(edge)) for edge in category.get("skeleton") or [])
    return list(category.get("keypoints") or []), edges


def absorb_category(
    kept: dict[str, Any], other: Any, *, where: Location, first: str, report: LossReport
) -> None:
    """Merge category ``other`` (at ``where``) into ``kept`` (from ``first``): their keypoint
    names and skeletons must agree (an :class:`InputError` otherwise); fields ``kept`` lacks
    are taken from ``other``; fields that differ keep ``kept``'s value and are reported lost."""
    ours, theirs = keypoint_definition(kept), keypoint_definition(other)
    if ours is not None and theirs is not None and ours != theirs:
        raise InputError(
            where,
            f"category {other['name']!r} has other keypoint names or another skeleton than "
            f"{kept['name']!r} in {first}: keypoint categories merge only when both agree",
            hint="give one of them another name to keep both",
        )
    if ours is None and theirs is not None:  # a plain category meets a keypoint one
        kept.update({key: other[key] for key in ("keypoints", "skeleton") if key in other})
    fill_fields(
        kept,
        other,
        skip=("id", "name", "keypoints", "skeleton"),
        report=report,
        key="category_fields_differ",
        message="merged categories whose other fields (supercategory, colour, ...) differ: the "
        "first category's are kept",
        where=where,
        first=first,
    )


def fill_fields(
    kept: dict[str, Any],
    other: Any,
    *,
    skip: tuple[str, ...],
    report: LossReport,
    key: str,
    message: str,
    where: Location,
    first: str,
) -> None:
    """One record standing for two (merged images, merged categories): fields ``kept``
    lacks are taken from ``other``; fields that differ keep ``kept``'s value and are reported
    lost under ``key`` (``where``: ``other``'s place; ``first``: ``kept``'s file)."""
    for name, value in other.items():
        if name in skip:
            continue
        if name not in kept:
            kept[name] = value
        elif kept[name] != value:
            report.lose(
                key,
                message,
                where=Location(where.file, f"{where.pointer or ''}/{name}"),
                detail=f"{value!r} (kept {kept[name]!r} from {first})",
            )


def repeated_ids(records: Sequence[Any]) -> list[int]:
    """Positions of the records whose ``id`` an earlier record of the list has."""
    seen: set[Any] = set()
    found = []
    for i, record in enumerate(records):
        if "id" in record:
            if record["id"] in seen:
                found.append(i)
            seen.add(record["id"])
    return found
