"""``split`` and ``sample``: images into named parts, each annotation with its image.

The decision (which image goes where) is :class:`~coco_convert.ops.partition.SplitPlan`'s;
this module applies it to a loaded dataset and writes the parts. Ids are kept, every split
holds every category (ids unchanged, so COCOeval of a split against its source works), and
``info``, ``licenses`` and a tool's own top-level keys are carried into each part. Records are
shared with the input, not copied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..converters.loss import LossReport
from ..errors import Location, UsageError
from ..images import ImageFileError, ImageMode, find_image, place_images
from ..io import atomic_directory, gc_paused
from .common import check_references, coco_dataset, derived, name_of, with_records
from .partition import SplitPlan, check_ratios

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import AnyDataset, CocoDataset, Dataset

__all__ = ["sample", "split", "write_splits"]


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
        report.count(f"{name} images", len(images))
        report.count(f"{name} annotations", len(anns))
    if stratify:
        names = {c["id"]: c["name"] for c in coco.categories}
        positions = {c["id"]: i for i, c in reversed(list(enumerate(coco.categories)))}
        split_names = list(ratios)
        for category_id, j, groups in plan.uncovered(where, len(ratios)):
            report.warn(
                "category_missing_from_split",
                "categories with at least as many images (groups) as splits that a split lacks "
                "(the images' other categories left no way to place them all)",
                where=Location(name_of(coco), f"/categories/{positions[category_id]}"),
                detail=f"{names.get(category_id)!r} ({groups} "
                f"{'groups' if group_by else 'images'}): none in {split_names[j]}",
            )
    return out, report


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
    total = len(coco.images)
    if (n is None) == (fraction is None):
        raise UsageError("sample: give either n or fraction")
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise UsageError(f"sample: fraction {fraction} must be above 0 and at most 1")
        n = round(fraction * total)
    assert n is not None
    if n < 0:
        raise UsageError(f"sample: n is {n}; give a positive number of images")
    report = LossReport("sample")
    if n > total:
        report.warn(
            "sample_larger_than_dataset",
            f"asked for {n:,} images; the dataset has {total:,}: all are kept",
            where=Location(name_of(coco)),
        )
        n = total
    ratios = [n / total, 1 - n / total] if total else [1.0]
    if n in (0, total):  # one part only: nothing to decide
        ratios = [1.0]
    parts, _, _ = _partition(coco, ratios, report, seed, stratify and 0 < n < total, None)
    images, anns = parts[0] if n else ([], [])
    result = derived(coco, with_records(coco.document, images=images, annotations=anns))
    report.count("images", len(images))
    report.count("annotations", len(anns))
    return result, report


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
            plan.add_annotations(*_category_pairs(coco))
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


def _category_pairs(coco: CocoDataset[Any, Any]) -> tuple[list[int], list[int]]:
    """The image id and category id of each annotation (of each segment, for panoptic)."""
    anns = coco.annotations
    if coco.kind == "panoptic":
        pairs = [(ann["image_id"], c) for ann in anns for c in coco.category_ids_of(ann)]
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
                _place_images(coco, name, Path(images), tmp / name, image_mode, report)


def _place_images(
    part: CocoDataset[Any, Any],
    name: str,
    source: Path,
    target: Path,
    mode: ImageMode,
    report: LossReport,
) -> None:
    """Copy or link each image of ``part`` from ``source`` to ``target/<file_name>``."""
    jobs: list[tuple[Path, Path]] = []
    for i, image in enumerate(part.images):
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
