"""``filter``: the annotations pycocotools' ``getAnnIds`` selects, and the images holding them.

:class:`Selection` decides one annotation at a time (``offer``) and then each image
(``keeps_image``), so a streaming reader can decide the same way from one pass over the
annotations. :func:`filter_dataset` applies it to a loaded dataset.

The kept annotations are ``getAnnIds(imgIds, catIds, areaRng, iscrowd)`` for the same
arguments; the kept images are those holding at least one kept annotation (without area and
crowd filters: the union of ``getImgIds(catIds=[c])`` over the categories), or with
``all_categories`` those holding every category (``getImgIds(catIds=[a, b])``), or with
``keep_empty`` every image asked for. Categories are kept whole, ids unchanged, so COCOeval
keeps working on the result.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..converters.loss import LossReport
from ..errors import Location, UsageError
from ..io import gc_paused, write_document
from ..queries import annotation_matcher
from .common import (
    check_references,
    coco_dataset,
    derived,
    name_of,
    reference_checks,
    with_records,
)

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import AnyDataset, CocoDataset, Dataset
    from ..streaming import CocoStream

__all__ = ["Criteria", "Selection", "category_ids", "filter_dataset", "filter_stream"]


@dataclass(frozen=True)
class Criteria:
    """What to keep (each filter given narrows the selection; none given keeps everything)."""

    #: Annotations of these categories (empty: any).
    cat_ids: tuple[int, ...] = ()
    #: Annotations on these images (empty: any).
    img_ids: tuple[int, ...] = ()
    #: ``area_rng[0] < area < area_rng[1]``, as pycocotools.
    area_rng: tuple[float, float] | None = None
    #: Only crowd (True) or only non-crowd (False) annotations.
    iscrowd: bool | None = None
    #: Images need at least this many kept annotations (default 1).
    min_annotations: int = 1
    #: Keep every image asked for, with or without kept annotations.
    keep_empty: bool = False
    #: Images must hold every category of ``cat_ids`` (an intersection, not a union).
    all_categories: bool = False

    def __post_init__(self) -> None:
        if self.keep_empty and self.min_annotations > 1:
            raise UsageError(
                "--keep-empty keeps images without annotations; drop --min-annotations"
            )
        if self.all_categories and not self.cat_ids:
            raise UsageError("--all-categories needs categories (--cat)")
        if self.min_annotations < 0:
            raise UsageError(f"--min-annotations {self.min_annotations}: give 0 or more")
        if self.area_rng is not None and not self.area_rng[0] <= self.area_rng[1]:
            raise UsageError(f"--area {self.area_rng[0]}:{self.area_rng[1]}: MIN is above MAX")


class Selection:
    """The decision of one filter, fed one annotation at a time (see the module's doc)."""

    def __init__(self, criteria: Criteria) -> None:
        self.criteria = criteria
        self._matches = annotation_matcher(
            cat_ids=criteria.cat_ids, area_rng=criteria.area_rng, iscrowd=criteria.iscrowd
        )
        self._images = frozenset(criteria.img_ids) if criteria.img_ids else None
        self._wanted = frozenset(criteria.cat_ids)
        self._kept: dict[int, int] = {}
        self._held: dict[int, set[int]] = {}

    def offer(self, ann: Any) -> bool:
        """Whether ``ann`` passes the annotation filters (it is kept when its image is)."""
        image_id = ann["image_id"]
        if self._images is not None and image_id not in self._images:
            return False
        if self.criteria.all_categories and ann.get("category_id") in self._wanted:
            # pycocotools' catToImgs: every annotation counts, whatever its area or crowd flag.
            self._held.setdefault(image_id, set()).add(ann["category_id"])
        if self._matches is not None and not self._matches(ann):
            return False
        self._kept[image_id] = self._kept.get(image_id, 0) + 1
        return True

    def keeps_image(self, image_id: int) -> bool:
        """Whether the image is kept (after every annotation has been offered)."""
        if self._images is not None and image_id not in self._images:
            return False
        if self.criteria.all_categories and not self._wanted <= self._held.get(image_id, set()):
            return False
        if self.criteria.keep_empty:
            return True
        return self._kept.get(image_id, 0) >= max(self.criteria.min_annotations, 1)


def category_ids(dataset: CocoDataset[Any, Any], names: Iterable[str]) -> tuple[int, ...]:
    """The ids of the categories with these names (each must exist; a near miss is named)."""
    by_name: dict[str, list[int]] = {}
    for category in dataset.categories:
        by_name.setdefault(category["name"], []).append(category["id"])
    found: list[int] = []
    for name in names:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise UsageError(f"{name_of(dataset)}: no category named {name!r}{hint}")
        found.extend(by_name[name])
    return tuple(dict.fromkeys(found))


def _criteria(
    coco: CocoDataset[Any, Any],
    cat_nms: Sequence[str],
    cat_ids: Sequence[int],
    img_ids: Sequence[int],
    area_rng: tuple[float, float] | None,
    iscrowd: bool | None,
    min_annotations: int,
    keep_empty: bool,
    all_categories: bool,
) -> Criteria:
    return Criteria(
        cat_ids=tuple(dict.fromkeys([*cat_ids, *category_ids(coco, cat_nms)])),
        img_ids=tuple(img_ids),
        area_rng=area_rng,
        iscrowd=iscrowd,
        min_annotations=min_annotations,
        keep_empty=keep_empty,
        all_categories=all_categories,
    )


def _warn_unknown(
    coco: CocoDataset[Any, Any], criteria: Criteria, image_ids: set[int], report: LossReport
) -> None:
    unknown = sorted(set(criteria.img_ids) - image_ids)
    if unknown:
        report.warn(
            "unknown_image_ids",
            "image ids asked for that no image has",
            where=Location(name_of(coco)),
            detail=", ".join(map(str, unknown[:20])) + (" ..." if len(unknown) > 20 else ""),
            count=len(unknown),
        )


def _count(report: LossReport, images: int, anns: int, of_images: int, of_anns: int) -> None:
    report.count("images", images)
    report.count("annotations", anns)
    report.stats["kept"] = (
        f"{images:,} of {of_images:,} images, {anns:,} of {of_anns:,} annotations"
    )


def filter_stream(
    stream: CocoStream,
    output: str | os.PathLike[str],
    *,
    indent: int | None = None,
    strict: bool = False,
    cat_nms: Sequence[str] = (),
    cat_ids: Sequence[int] = (),
    img_ids: Sequence[int] = (),
    area_rng: tuple[float, float] | None = None,
    iscrowd: bool | None = None,
    min_annotations: int = 1,
    keep_empty: bool = False,
    all_categories: bool = False,
    prune_categories: bool = False,
) -> LossReport:
    """:func:`filter_dataset` on a file read a chunk at a time (``--stream``), written to
    ``output``: the same file and report, in bounded memory. The annotations are read
    twice (to decide, then to write), the images three times (they are few)."""
    import numpy as np

    coco = coco_dataset(stream.header_dataset(), "filter", panoptic=False)
    criteria = _criteria(
        coco,
        cat_nms,
        cat_ids,
        img_ids,
        area_rng,
        iscrowd,
        min_annotations,
        keep_empty,
        all_categories,
    )
    report = LossReport("filter")
    selection = Selection(criteria)
    n = stream.count("annotations")
    offered = np.zeros(n, dtype=bool)
    on_image = np.zeros(n, dtype=np.int64)
    of_category: list[Any] = [None] * n if prune_categories else []

    def offering() -> Iterator[tuple[int, list[Any]]]:
        for first, anns in stream.checked("annotations"):
            for j, ann in enumerate(anns):
                offered[first + j] = selection.offer(ann)
                on_image[first + j] = ann["image_id"]
                if prune_categories:
                    of_category[first + j] = ann.get("category_id")
            yield first, anns

    with gc_paused():
        image_ids, _ = reference_checks(
            name_of(coco), coco.kind, stream.checked("images"), offering, coco.categories, report
        )
        _warn_unknown(coco, criteria, image_ids, report)
        kept_ids = {
            image["id"]
            for _, images in stream.records("images")
            for image in images
            if selection.keeps_image(image["id"])
        }
        kept = offered & np.isin(
            on_image, np.fromiter(kept_ids, dtype=np.int64, count=len(kept_ids))
        )
    records: dict[str, Any] = {}
    if prune_categories and "categories" in coco.document:
        used = {of_category[i] for i in np.flatnonzero(kept).tolist()}
        records["categories"] = [c for c in coco.categories if c["id"] in used]
        report.count("categories", len(records["categories"]))
    n_images = sum(
        1 for _, images in stream.records("images") for image in images if image["id"] in kept_ids
    )
    _count(report, n_images, int(kept.sum()), stream.count("images"), n)
    report.raise_if_strict(strict)

    def images() -> Iterator[list[Any]]:
        for _, chunk in stream.records("images"):
            yield [image for image in chunk if image["id"] in kept_ids]

    def annotations() -> Iterator[list[Any]]:
        for first, chunk in stream.records("annotations"):
            yield [ann for j, ann in enumerate(chunk) if kept[first + j]]

    write_document(
        output,
        with_records(stream.document(), **records),
        {"images": images, "annotations": annotations},
        indent=indent,
    )
    return report


def filter_dataset(
    dataset: Dataset,
    *,
    cat_nms: Sequence[str] = (),
    cat_ids: Sequence[int] = (),
    img_ids: Sequence[int] = (),
    area_rng: tuple[float, float] | None = None,
    iscrowd: bool | None = None,
    min_annotations: int = 1,
    keep_empty: bool = False,
    all_categories: bool = False,
    prune_categories: bool = False,
) -> tuple[AnyDataset, LossReport]:
    """The part of ``dataset`` these filters select (see :class:`Criteria` and the module's
    doc); ``cat_nms`` names categories, ``cat_ids`` gives their ids. ``prune_categories``
    keeps only the categories the kept annotations use."""
    coco = coco_dataset(dataset, "filter", panoptic=False)
    criteria = _criteria(
        coco,
        cat_nms,
        cat_ids,
        img_ids,
        area_rng,
        iscrowd,
        min_annotations,
        keep_empty,
        all_categories,
    )
    report = LossReport("filter")
    image_ids, _ = check_references(coco, report)
    _warn_unknown(coco, criteria, image_ids, report)
    selection = Selection(criteria)
    with gc_paused():
        offered = [ann for ann in coco.annotations if selection.offer(ann)]
        images = [image for image in coco.images if selection.keeps_image(image["id"])]
        kept_ids = {image["id"] for image in images}
        anns = [ann for ann in offered if ann["image_id"] in kept_ids]
    records: dict[str, Any] = {"images": images, "annotations": anns}
    if prune_categories and "categories" in coco.document:
        used = {ann.get("category_id") for ann in anns}
        records["categories"] = [c for c in coco.categories if c["id"] in used]
        report.count("categories", len(records["categories"]))
    _count(report, len(images), len(anns), len(coco.images), len(coco.annotations))
    return derived(coco, with_records(coco.document, **records)), report
