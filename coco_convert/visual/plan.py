"""Which images to draw, and the job of each: the selection, the image files, the panoptic
PNGs and the ``--compare`` set.

The selection is pycocotools' ``getImgIds(imgIds=..., catIds=getCatIds(catNms=...))``: with
several category names, the images that hold *every* one of them; with ``--cat``, only those
categories' annotations are drawn. Two deliberate differences, both where pycocotools fails
silently: a name that is no category's, or an image id that is no image's, is an error naming
it (pycocotools' ``getCatIds`` drops an unknown name, and an empty category list then selects
*every* image), and the ids come sorted.
"""

from __future__ import annotations

import difflib
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from ..errors import UsageError
from ..images import ImageFileError, ImageOutsideFolderError, find_image
from .scene import COMPARE_COLOURS, DrawOptions, Layer, Note, RenderJob

if TYPE_CHECKING:  # (coco_convert.dataset imports this package: its draw() methods)
    from ..dataset import CocoDataset, Dataset, PanopticDataset, ResultsDataset

__all__ = [
    "Plan",
    "is_coco",
    "is_results",
    "locate",
    "select_images",
]


def is_results(dataset: object) -> TypeGuard[ResultsDataset]:
    """Detection results (told by their kind: this package does not import the dataset
    module, which imports it)."""
    return getattr(dataset, "kind", None) == "results"


def is_coco(dataset: object) -> TypeGuard[CocoDataset[Any, Any]]:
    """A dataset with images and categories (every kind but results)."""
    return getattr(dataset, "kind", "results") != "results" and hasattr(dataset, "images")


def _is_panoptic(dataset: object) -> TypeGuard[PanopticDataset]:
    return getattr(dataset, "kind", None) == "panoptic"


def locate(images: str | os.PathLike[str], file_name: str) -> tuple[str | None, Note | None]:
    """The file of an image under the folder ``images``, found as ``coco2yolo --images`` finds
    it (:func:`coco_convert.images.find_image`: ``file_name`` as a relative path, else its base
    name, never outside the folder), or None and the note saying why there is none."""
    try:
        return os.fspath(find_image(images, file_name)), None
    except ImageOutsideFolderError as exc:
        return None, Note("image_refused", file_name, str(exc))
    except ImageFileError as exc:
        key = "image_missing" if str(exc).startswith("no file") else "image_unreadable"
        return None, Note(key, file_name, str(exc))


def select_images(
    dataset: CocoDataset[Any, Any],
    *,
    cat_names: Sequence[str] = (),
    img_ids: Sequence[int] = (),
    limit: int | None = None,
) -> tuple[list[int], frozenset[int] | None]:
    """The ids of the images to draw (sorted) and the categories to draw on them (None: all).

    ``getImgIds(imgIds=img_ids, catIds=getCatIds(catNms=cat_names))``, then the first
    ``limit``. Unknown names and ids are a :class:`UsageError` naming them."""
    cat_ids: frozenset[int] | None = None
    if cat_names:
        if not dataset.categories:
            raise UsageError(f"{_name(dataset)}: has no categories to select with --cat")
        known = {cat["name"] for cat in dataset.categories}
        unknown = [name for name in cat_names if name not in known]
        if unknown:
            raise UsageError(_unknown_names(dataset, unknown, known))
        cat_ids = frozenset(dataset.get_cat_ids(cat_nms=list(cat_names)))
    if img_ids:
        missing = [i for i in img_ids if i not in dataset.index.imgs]
        if missing:
            shown = ", ".join(str(i) for i in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise UsageError(f"{_name(dataset)}: no image with id {shown}{more}")
    selected = dataset.get_img_ids(img_ids=list(img_ids), cat_ids=sorted(cat_ids or ()))
    if not img_ids and not cat_ids:
        selected = sorted(selected)
    if limit is not None:
        selected = selected[:limit]
    return selected, cat_ids


def _name(dataset: Dataset) -> str:
    return dataset.source or f"the {dataset.kind} dataset"


def _unknown_names(dataset: Dataset, unknown: list[str], known: set[str]) -> str:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        hints.append(f"{name!r}{hint}")
    return f"{_name(dataset)}: no category named {', '.join(hints)}"


@dataclass
class Plan:
    """The render jobs of a selection of one dataset's images.

    ``images``: the folder the ``file_name``\\ s are relative to (None: draw on blank canvases
    of each image's size). ``compare``: a second annotation set (detection results, or another
    version of the dataset) drawn over the first in a second colour; its images are paired
    with the dataset's by ``file_name`` (by ``image_id`` for results). ``panoptic_dir``: the
    folder of the panoptic PNGs (default: beside the JSON file, named after it, as the
    panoptic API lays them out)."""

    dataset: CocoDataset[Any, Any]
    images: Path | None = None
    options: DrawOptions = field(default_factory=DrawOptions)
    cat_ids: frozenset[int] | None = None
    compare: Dataset | None = None
    min_score: float | None = None
    panoptic_dir: Path | None = None
    compare_panoptic_dir: Path | None = None
    #: Images of the dataset that the compare set has no image for (by id).
    unmatched: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.compare is not None and not (is_coco(self.compare) or is_results(self.compare)):
            raise UsageError(f"{_name(self.compare)}: cannot be compared (no annotations)")
        self._names = (
            None
            if self.cat_ids is None
            else {self.dataset.index.cats[i]["name"] for i in self.cat_ids}
        )
        self._compare_index = _CompareIndex(self.compare) if self.compare is not None else None

    def jobs(self, image_ids: Iterable[int]) -> Iterator[RenderJob]:
        """The job of each image, in order."""
        for image_id in image_ids:
            yield self.job(image_id)

    @property
    def inputs(self) -> list[Path]:
        """Every file and folder the jobs read (an output must not replace them)."""
        found = [self.images, self.panoptic_dir, self.compare_panoptic_dir]
        for dataset in (self.dataset, self.compare):
            if dataset is not None and dataset.source:
                found += [Path(dataset.source), _beside(dataset)]
        return [p for p in found if p is not None]

    def job(
        self, image_id: int, *, path: str | bool | None = True, missing: Note | None = None
    ) -> RenderJob:
        """The job of one image; ``path``: True to look the file up under :attr:`images`,
        else the path to use (None: no file, for the reason ``missing`` gives)."""
        image = self.dataset.index.imgs[image_id]
        if path is True:
            if self.images is None:
                path, missing = None, None
            else:
                path, missing = locate(self.images, image["file_name"])
        compare = self.compare is not None
        layers = [
            _layer(
                self.dataset,
                self.dataset.index.img_to_anns.get(image_id, []),
                cat_ids=self.cat_ids,
                min_score=self.min_score,
                colour=COMPARE_COLOURS[0] if compare else None,
                panoptic_dir=self.panoptic_dir or _beside(self.dataset),
            )
        ]
        if self._compare_index is not None:
            assert self.compare is not None
            anns = self._compare_index.annotations(image)
            if anns is None:
                self.unmatched.append(image_id)
                anns = []
            layers.append(
                _layer(
                    self.compare,
                    anns,
                    cat_ids=self._compare_cat_ids(),
                    min_score=self.min_score,
                    colour=COMPARE_COLOURS[1],
                    panoptic_dir=self.compare_panoptic_dir or _beside(self.compare),
                    categories=self._compare_categories(),
                )
            )
        return RenderJob(
            image=_image_record(image),
            path=cast("str | None", path),
            layers=tuple(layers),
            options=self.options,
            missing=missing,
        )

    def _compare_categories(self) -> Mapping[int, Mapping[str, Any]]:
        # Results name categories by id: the dataset's categories say what they are.
        if is_coco(self.compare) and self.compare.categories:
            return self.compare.index.cats
        return self.dataset.index.cats

    def _compare_cat_ids(self) -> frozenset[int] | None:
        if self._names is None:
            return None
        return frozenset(
            cid for cid, cat in self._compare_categories().items() if cat["name"] in self._names
        )


class _CompareIndex:
    """The compare set's annotations of an image of the dataset: results by ``image_id``,
    another dataset by ``file_name`` (ids are renumbered by many conversions), else by the
    file's base name when that is unique."""

    def __init__(self, compare: Dataset) -> None:
        self.by_id: dict[int, list[Any]] = defaultdict(list)
        self.results = is_results(compare)
        self.by_name: dict[str, int] = {}
        self.by_base: dict[str, int | None] = {}
        if is_results(compare):
            for result in compare.results:
                self.by_id[result["image_id"]].append(result)
        else:
            assert is_coco(compare)
            for image in compare.images:
                name = image["file_name"]
                self.by_name[name] = image["id"]
                base = PurePosixPath(name.replace("\\", "/")).name
                self.by_base[base] = None if base in self.by_base else image["id"]
            self.by_id.update(compare.index.img_to_anns)
            self.known = set(compare.index.imgs)

    def annotations(self, image: Mapping[str, Any]) -> list[Any] | None:
        if self.results:
            return self.by_id.get(image["id"], [])
        name = image["file_name"]
        found = self.by_name.get(name)
        if found is None:
            found = self.by_base.get(PurePosixPath(name.replace("\\", "/")).name)
        if found is None:
            return None
        return self.by_id.get(found, [])


def _layer(
    dataset: Dataset,
    annotations: Sequence[Any],
    *,
    cat_ids: frozenset[int] | None,
    min_score: float | None,
    colour: Any,
    panoptic_dir: Path | None,
    categories: Mapping[int, Mapping[str, Any]] | None = None,
) -> Layer:
    """One layer of a job: the image's annotations that are drawn and the categories they
    use (only those, so that a job stays small to send to a worker)."""
    if categories is None:
        categories = dataset.index.cats if is_coco(dataset) else {}
    png = None
    if _is_panoptic(dataset):
        annotations = [_panoptic_subset(ann, cat_ids) for ann in annotations]
        used = {s["category_id"] for ann in annotations for s in ann.get("segments_info", ())}
        if annotations and panoptic_dir is not None:
            png = os.fspath(panoptic_dir / annotations[0]["file_name"])
    else:
        # (captions carry no category: a `category_id` there is an unchecked extra key)
        if cat_ids is not None:
            annotations = [ann for ann in annotations if _category(ann) in cat_ids]
        if min_score is not None and is_results(dataset):
            annotations = [ann for ann in annotations if ann.get("score", min_score) >= min_score]
        used = {_category(ann) for ann in annotations}
    return Layer(
        kind=dataset.kind,
        annotations=list(annotations),
        categories={cid: categories[cid] for cid in used if cid in categories},
        colour=colour,
        panoptic_png=png,
        name=Path(dataset.source).name if dataset.source else dataset.kind,
    )


def _category(ann: Mapping[str, Any]) -> int | None:
    category_id = ann.get("category_id")
    return category_id if type(category_id) is int else None


def _panoptic_subset(ann: Mapping[str, Any], cat_ids: frozenset[int] | None) -> Mapping[str, Any]:
    if cat_ids is None:
        return ann
    segments = [s for s in ann.get("segments_info", ()) if s.get("category_id") in cat_ids]
    return {**ann, "segments_info": segments}


def _beside(dataset: Dataset) -> Path | None:
    """The panoptic API's layout: ``panoptic_val2017.json`` beside ``panoptic_val2017/``."""
    if not _is_panoptic(dataset) or not dataset.source:
        return None
    source = Path(dataset.source)
    return source.with_name(source.name.removesuffix(".gz").removesuffix(".json"))


def _image_record(image: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an image record that drawing uses (a job stays small)."""
    return {key: image[key] for key in ("id", "file_name", "width", "height") if key in image}
