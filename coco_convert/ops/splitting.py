"""``split`` and ``sample``: images into named parts, each annotation with its image.

The decision (which image goes where) is :class:`~coco_convert.ops.partition.SplitPlan`'s;
this module applies it to a loaded dataset and writes the parts. Ids are kept, every split
holds every category (ids unchanged, so COCOeval of a split against its source works), and
``info``, ``licenses`` and a tool's own top-level keys are carried into each part. Records are
shared with the input, not copied.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..converters.loss import LossReport
from ..errors import Location, UsageError
from ..images import ImageFileError, ImageMode, find_image, place_images
from ..io import atomic_directory, gc_paused, write_document
from .common import (
    check_references,
    coco_dataset,
    derived,
    name_of,
    reference_checks,
    with_records,
)
from .partition import SplitPlan, check_ratios

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import AnyDataset, CocoDataset, Dataset
    from ..streaming import CocoStream

__all__ = ["sample", "sample_stream", "split", "split_stream", "write_splits"]


def split(
    dataset: Dataset,
    ratios: Mapping[str, float],
    *,
    seed: int = 0,
    stratify: bool = False,
    group_by: str | None = None,
) -> tuple[dict[str, AnyDataset], LossReport]:
    """Split ``dataset``'s images into parts named by ``ratios`` (``{"train": 0.8, ...}``,
    summing to 1), each annotation with its image.

    Without ``group_by`` each part gets its exact share of the images (within one image).
    ``stratify`` spreads every category over the parts in the ratios (iterative
    stratification over images, multi-label), and puts each category into every part where
    its count allows. ``group_by`` (an image field, or a regular expression with one group
    over ``file_name``) keeps a group's images in one part. The same ``seed`` gives the same
    parts on any platform."""
    check_ratios(dict(ratios))
    coco = coco_dataset(dataset, "split")
    report = LossReport("split")
    parts, plan, where = _partition(coco, list(ratios.values()), report, seed, stratify, group_by)
    out = {}
    for name, (images, anns) in zip(ratios, parts, strict=True):
        out[name] = derived(coco, with_records(coco.document, images=images, annotations=anns))
    _report_parts(
        coco,
        report,
        list(ratios),
        [(len(i), len(a)) for i, a in parts],
        plan,
        where,
        stratify,
        group_by,
    )
    return out, report


def _report_parts(
    coco: CocoDataset[Any, Any],
    report: LossReport,
    names: list[str],
    sizes: list[tuple[int, int]],
    plan: SplitPlan,
    where: list[int],
    stratify: bool,
    group_by: str | None,
) -> None:
    """Count each part's images and annotations; warn of categories a part lacks."""
    for name, (n_images, n_anns) in zip(names, sizes, strict=True):
        report.count(f"{name} images", n_images)
        report.count(f"{name} annotations", n_anns)
    if stratify:
        category_names = {c["id"]: c["name"] for c in coco.categories}
        positions = {c["id"]: i for i, c in reversed(list(enumerate(coco.categories)))}
        for category_id, j, groups in plan.uncovered(where, len(names)):
            report.warn(
                "category_missing_from_split",
                "categories with at least as many images (groups) as splits that a split lacks "
                "(the images' other categories left no way to place them all)",
                where=Location(name_of(coco), f"/categories/{positions[category_id]}"),
                detail=f"{category_names.get(category_id)!r} ({groups} "
                f"{'groups' if group_by else 'images'}): none in {names[j]}",
            )


def split_stream(
    stream: CocoStream,
    ratios: Mapping[str, float],
    folder: str | os.PathLike[str],
    *,
    seed: int = 0,
    stratify: bool = False,
    group_by: str | None = None,
    images: str | os.PathLike[str] | None = None,
    image_mode: ImageMode | None = None,
    overwrite: bool = False,
    indent: int | None = None,
    strict: bool = False,
) -> LossReport:
    """:func:`split` and :func:`write_splits` on a file read a chunk at a time
    (``--stream``): the same files and report in bounded memory. The decision takes one pass
    (each image's id, ``file_name`` and ``group_by`` field; each annotation's image and
    category); then each part's file is written in a pass of its own."""
    check_ratios(dict(ratios))
    if (images is None) != (image_mode is None):
        raise UsageError("--images goes with --copy-images or --symlink-images")
    coco = coco_dataset(stream.header_dataset(), "split")
    report = LossReport("split")
    parts = _stream_partition(stream, coco, list(ratios.values()), report, seed, stratify, group_by)
    plan, where, image_split, ann_split = parts.plan, parts.where, parts.images, parts.anns
    sizes = [
        (int((image_split == j).sum()), int((ann_split == j).sum())) for j in range(len(ratios))
    ]
    _report_parts(coco, report, list(ratios), sizes, plan, where, stratify, group_by)
    report.raise_if_strict(strict)
    protected = [stream.name, *([] if images is None else [images])]
    with atomic_directory(folder, overwrite=overwrite, inputs=protected) as tmp:
        for j, part in enumerate(ratios):
            write_document(
                tmp / f"{part}.json",
                stream.document(),
                {
                    "images": functools.partial(_pick, stream, "images", image_split, j),
                    "annotations": functools.partial(_pick, stream, "annotations", ann_split, j),
                },
                indent=indent,
            )
            if images is not None and image_mode is not None:
                mine = [image for image, k in zip(parts.compact, where, strict=True) if k == j]
                _place_images(mine, part, Path(images), tmp / part, image_mode, report)
    return report


@dataclass
class _StreamParts:
    """The decision of a streamed split: the plan, the part of each image (by position) and
    of each annotation (-1: its image_id names no image), and each image's id, ``file_name``
    and group field."""

    plan: SplitPlan
    where: list[int]
    images: np.ndarray
    anns: np.ndarray
    compact: list[dict[str, Any]]


def _stream_partition(
    stream: CocoStream,
    coco: CocoDataset[Any, Any],
    ratios: Sequence[float],
    report: LossReport,
    seed: int,
    stratify: bool,
    group_by: str | None,
) -> _StreamParts:
    """:func:`_partition` on a streamed file, in one pass over it (each image's id,
    ``file_name`` and ``group_by`` field; each annotation's image and category): the same
    decision and the same report."""
    name = name_of(coco)
    keys = ("id", "file_name", *([group_by] if group_by else []))
    compact: list[dict[str, Any]] = []
    on_image: list[np.ndarray] = []
    pairs: list[tuple[list[int], list[int]]] = []

    def image_chunks() -> Iterator[tuple[int, list[Any]]]:
        for first, records in stream.checked("images"):
            compact.extend({k: image[k] for k in keys if k in image} for image in records)
            yield first, records

    def annotation_chunks() -> Iterator[tuple[int, list[Any]]]:
        for first, anns in stream.checked("annotations"):
            on_image.append(np.fromiter(map(itemgetter("image_id"), anns), np.int64, len(anns)))
            if stratify:
                pairs.append(_category_pairs(coco.kind, anns))
            yield first, anns

    with gc_paused():
        reference_checks(
            name, coco.kind, image_chunks(), annotation_chunks, coco.categories, report
        )
    plan = SplitPlan(compact, group_by=group_by, source=name, report=report)
    if stratify:
        if not coco.categories:
            raise UsageError(f"{name}: no categories to stratify by (a captions file?)")
        for image_ids, category_ids in pairs:
            plan.add_annotations(image_ids, category_ids)
    where = plan.decide(ratios, seed=seed, stratify=stratify)
    # the part of each id: its first image's (a repeated id goes with the first, warned)
    ids, first = np.unique(plan.image_ids, return_index=True)
    split_of_id = np.asarray(where, dtype=np.int64)[first]
    anns_image = np.concatenate(on_image) if on_image else np.zeros(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(ids, anns_image), max(len(ids) - 1, 0))
    known = (ids[at] == anns_image) if len(ids) else np.zeros(len(anns_image), dtype=bool)
    ann_split = np.where(known, split_of_id[at] if len(ids) else -1, -1)
    dangling = int((ann_split < 0).sum())
    if dangling:
        report.lose(
            "annotations_without_image",
            "annotations whose image_id no image has: in no part",
            count=dangling,
        )
    return _StreamParts(plan, where, np.asarray(where, dtype=np.int64), ann_split, compact)


def _pick(stream: CocoStream, key: str, split_of: np.ndarray, j: int) -> Iterator[list[Any]]:
    """The records of list ``key``, a chunk at a time, that go to part ``j``."""
    for first, records in stream.records(key):
        mine = split_of[first : first + len(records)] == j
        yield [record for record, keep in zip(records, mine.tolist(), strict=True) if keep]


def sample(
    dataset: Dataset,
    *,
    n: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
    stratify: bool = False,
) -> tuple[AnyDataset, LossReport]:
    """``n`` images of ``dataset`` (or ``fraction`` of them), chosen at random for the seed,
    with their annotations; ``stratify`` keeps each category's share of the images (see
    :func:`split`)."""
    coco = coco_dataset(dataset, "sample")
    report = LossReport("sample")
    n, ratios = _sample_shares(coco, len(coco.images), n, fraction, report)
    parts, _, _ = _partition(coco, ratios, report, seed, stratify and len(ratios) > 1, None)
    images, anns = parts[0] if n else ([], [])
    result = derived(coco, with_records(coco.document, images=images, annotations=anns))
    report.count("images", len(images))
    report.count("annotations", len(anns))
    return result, report


def sample_stream(
    stream: CocoStream,
    output: str | os.PathLike[str],
    *,
    n: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
    stratify: bool = False,
    indent: int | None = None,
    strict: bool = False,
) -> LossReport:
    """:func:`sample`, written to ``output``, on a file read a chunk at a time
    (``--stream``): the same images for the same seed, the same file and report, in bounded
    memory (one pass decides, one writes)."""
    coco = coco_dataset(stream.header_dataset(), "sample")
    report = LossReport("sample")
    n, ratios = _sample_shares(coco, stream.count("images"), n, fraction, report)
    parts = _stream_partition(
        stream, coco, ratios, report, seed, stratify and len(ratios) > 1, None
    )
    part = 0 if n else -2  # (no part: an empty sample)
    report.count("images", int((parts.images == part).sum()))
    report.count("annotations", int((parts.anns == part).sum()))
    report.raise_if_strict(strict)
    write_document(
        output,
        with_records(stream.document(), images=[], annotations=[]),
        {
            "images": functools.partial(_pick, stream, "images", parts.images, part),
            "annotations": functools.partial(_pick, stream, "annotations", parts.anns, part),
        },
        indent=indent,
    )
    return report


def _sample_shares(
    coco: CocoDataset[Any, Any],
    total: int,
    n: int | None,
    fraction: float | None,
    report: LossReport,
) -> tuple[int, list[float]]:
    """How many images a sample takes of ``total`` (``n``, or ``fraction`` of them) and the
    ratios of the split that picks them: the sample, then the rest (one part when the sample
    is none or all of the images)."""
    if (n is None) == (fraction is None):
        raise UsageError("sample: give either n or fraction")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise UsageError(f"sample: fraction {fraction} must be above 0 and at most 1")
        n = round(fraction * total)
    assert n is not None
    if n < 0:
        raise UsageError(f"sample: n is {n}; give a positive number of images")
    if n > total:
        report.warn(
            "sample_larger_than_dataset",
            f"asked for {n:,} images; the dataset has {total:,}: all are kept",
            where=Location(name_of(coco)),
        )
        n = total
    if n in (0, total):  # one part only: nothing to decide
        return n, [1.0]
    return n, [n / total, 1 - n / total]


def _partition(
    coco: CocoDataset[Any, Any],
    ratios: Sequence[float],
    report: LossReport,
    seed: int,
    stratify: bool,
    group_by: str | None,
) -> tuple[list[tuple[list[Any], list[Any]]], SplitPlan, list[int]]:
    """Each part's images and annotations, in input order; the plan and its decision."""
    name = name_of(coco)
    check_references(coco, report)
    plan = SplitPlan(coco.images, group_by=group_by, source=name, report=report)
    if stratify:
        if not coco.categories:
            raise UsageError(f"{name}: no categories to stratify by (a captions file?)")
        with gc_paused():
            plan.add_annotations(*_category_pairs(coco.kind, coco.annotations))
    where = plan.decide(ratios, seed=seed, stratify=stratify)
    with gc_paused():
        parts: list[tuple[list[Any], list[Any]]] = [([], []) for _ in ratios]
        split_of: dict[int, int] = {}
        for image, j in zip(coco.images, where, strict=True):
            if image["id"] not in split_of:  # a repeated id goes with the first (warned)
                split_of[image["id"]] = j
            parts[j][0].append(image)
        for ann in coco.annotations:
            j = split_of.get(ann["image_id"], -1)
            if j >= 0:
                parts[j][1].append(ann)
    dangling = len(coco.annotations) - sum(len(anns) for _, anns in parts)
    if dangling:
        report.lose(
            "annotations_without_image",
            "annotations whose image_id no image has: in no part",
            count=dangling,
        )
    return parts, plan, where


def _category_pairs(kind: str, anns: Sequence[Any]) -> tuple[list[int], list[int]]:
    """The image id and category id of each annotation (of each segment, for panoptic)."""
    if kind == "panoptic":
        pairs = [
            (ann["image_id"], segment["category_id"])
            for ann in anns
            for segment in ann.get("segments_info", ())
        ]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    categories: list[Any] = list(map(dict.get, anns, repeat("category_id")))
    if None in categories:
        kept = [i for i, c in enumerate(categories) if c is not None]
        return [anns[i]["image_id"] for i in kept], [categories[i] for i in kept]
    return list(map(itemgetter("image_id"), anns)), categories


# --- writing ---------------------------------------------------------------------------------


def write_splits(
    parts: Mapping[str, Dataset],
    folder: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    image_mode: ImageMode | None = None,
    overwrite: bool = False,
    indent: int | None = None,
    report: LossReport | None = None,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Write ``folder/<name>.json`` for each part, all or none. With ``images`` and an
    ``image_mode``, each part's images are copied or linked from ``images`` into
    ``folder/<name>/`` under their ``file_name`` (found inside ``images`` as
    :func:`~coco_convert.images.find_image` finds them). A ``folder`` that is or holds one of
    ``inputs`` or ``images`` is refused before anything is written."""
    if (images is None) != (image_mode is None):
        raise UsageError("--images goes with --copy-images or --symlink-images")
    report = report if report is not None else LossReport("split")
    protected = [*inputs, *([] if images is None else [images])]
    with atomic_directory(folder, overwrite=overwrite, inputs=protected) as tmp:
        for name, part in parts.items():
            part.save(tmp / f"{name}.json", indent=indent)
            if images is not None and image_mode is not None:
                coco = coco_dataset(part, "split --images")
                _place_images(coco.images, name, Path(images), tmp / name, image_mode, report)


def _place_images(
    part: Sequence[Any],
    name: str,
    source: Path,
    target: Path,
    mode: ImageMode,
    report: LossReport,
) -> None:
    """Copy or link each image of ``part`` (its images) from ``source`` to
    ``target/<file_name>``."""
    jobs: list[tuple[Path, Path]] = []
    for i, image in enumerate(part):
        where = Location(name, f"/images/{i}/file_name")
        relative = _safe_relative(image["file_name"])
        if relative is None:
            report.warn(
                "unsafe_file_name",
                "images whose file_name is absolute or climbs out with '..': not placed",
                where=where,
            )
            continue
        try:
            found = find_image(source, image["file_name"])
        except ImageFileError as exc:
            report.warn(
                "image_not_placed",
                "images not found inside --images (missing, not a file, or leading out of "
                "it): not placed",
                where=where,
                detail=str(exc),
            )
            continue
        jobs.append((found, target / relative))
    place_images(jobs, mode)
    report.count("images copied" if mode == "copy" else "images linked", len(jobs))


def _safe_relative(file_name: str) -> PurePosixPath | None:
    """``file_name`` as a relative path that stays inside the folder it is placed in (None
    for an absolute path, a drive, or a ``..``)."""
    path = PurePosixPath(file_name.replace("\\", "/"))
    if path.is_absolute() or not path.parts or ".." in path.parts or ":" in path.parts[0]:
        return None
    return path
