"""The central model: a COCO dataset in memory, loaded, queried and saved.

A dataset holds the parsed JSON document itself (plain dicts and lists, exactly as in the file:
key order, extra keys, integers stay integers) and builds a pycocotools-style index the first
time it is queried. Converters read into a dataset and write from one; nothing else converts
between formats.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast, overload

from .errors import Issue, SchemaError
from .io import Source, gc_paused, parse_json, read_bytes, source_name, write_json
from .queries import IdsArg, annotation_matcher, as_ids
from .schemas.check import check_document, ensure_valid
from .schemas.coco import (
    Annotation,
    CaptionAnnotation,
    Category,
    Image,
    Info,
    KeypointAnnotation,
    KeypointCategory,
    Kind,
    License,
    PanopticAnnotation,
    PanopticCategory,
    Result,
    StuffAnnotation,
)
from .schemas.decode import parse_checked, proven_lists

__all__ = [
    "AnyDataset",
    "CaptionsDataset",
    "CocoDataset",
    "Dataset",
    "InstancesDataset",
    "KeypointsDataset",
    "PanopticDataset",
    "ResultsDataset",
    "StuffDataset",
    "detect_kind",
    "from_document",
    "load",
]

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from .converters.loss import LossReport
    from .ops.diffing import DatasetDiff

AnnT = TypeVar("AnnT", bound=Any)
CatT = TypeVar("CatT", bound=Any)
NamesArg = str | Iterable[str] | None

#: Category ids of COCO-Stuff's stuff classes (91 thing ids come before them).
_STUFF_IDS = range(92, 184)


class Dataset:
    """Base of every kind: the document, where it came from, validation and saving."""

    kind: ClassVar[Kind]
    __slots__ = ("_index", "document", "source")

    def __init__(self, document: Any, *, source: str | None = None, validate: bool = True) -> None:
        self.document = document
        self.source = source
        self._index: Any = None
        if validate:
            ensure_valid(document, self.kind, source=self._name)

    @property
    def _name(self) -> str:
        return self.source or f"<{self.kind} dataset>"

    def issues(self) -> list[Issue]:
        """Schema problems of the document as it is now (after edits, say); empty when valid."""
        return check_document(self.document, self.kind)[0]

    def validate(self) -> None:
        """Raise :class:`~coco_convert.errors.SchemaError` if the document no longer fits."""
        ensure_valid(self.document, self.kind, source=self._name)

    def reindex(self) -> None:
        """Forget the query index; call after adding or removing records in place."""
        self._index = None

    def to_json(self, *, indent: int | None = None) -> bytes:
        """The document as JSON bytes (see :func:`coco_convert.io.dump_json`)."""
        from .io import dump_json

        return dump_json(self.document, indent=indent)

    def save(self, path: str | os.PathLike[str], *, indent: int | None = None) -> None:
        """Write the document to ``path`` atomically; ``.gz`` paths are gzip-compressed.

        The bytes depend only on the document: keys in their order, floats in shortest
        round-trip form. Loading a valid file and saving it gives the same JSON value."""
        write_json(path, self.document, indent=indent)

    def draw(
        self,
        img_id: int,
        image: str | os.PathLike[str] | PILImage.Image | None = None,
        *,
        cat_names: str | list[str] | None = None,
        compare: Dataset | None = None,
        labels: bool = True,
        boxes: bool = True,
        line_width: int | None = None,
        alpha: float = 0.45,
        min_score: float | None = None,
        panoptic_dir: str | os.PathLike[str] | None = None,
    ) -> PILImage.Image:
        """The picture of image ``img_id`` with its annotations drawn (a ``PIL.Image``).

        ``image``: the image file, the folder the ``file_name``\\ s are relative to, or a
        ``PIL.Image``; None (or a file that is missing) draws on a blank canvas of the image's
        size, with a :class:`~coco_convert.visual.DrawWarning`. ``cat_names``: draw only these
        categories. ``compare``: a second annotation set (detection results, another version
        of this dataset) drawn over this one, the two in blue and orange. ``min_score``: leave
        out results scoring less. ``panoptic_dir``: the folder of the panoptic PNGs (default:
        beside the JSON file, named after it). Detection results alone need ``image``: they
        name no file and no size. What is drawn, and how: ``docs/draw.md``."""
        from .visual import draw_image

        return draw_image(
            self,
            img_id,
            image,
            cat_names=cat_names,
            compare=compare,
            labels=labels,
            boxes=boxes,
            line_width=line_width,
            alpha=alpha,
            min_score=min_score,
            panoptic_dir=panoptic_dir,
        )

    def show(
        self,
        img_id: int,
        image: str | os.PathLike[str] | PILImage.Image | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Path | None:
        """:meth:`draw` the image and show it: displayed in a Jupyter notebook (returns None),
        elsewhere saved as a PNG at ``path`` (default: a new file in the temporary folder)
        whose path is returned. ``options`` are :meth:`draw`'s."""
        from .visual import show_image

        return show_image(self, img_id, image, path=path, **options)

    def stats(self) -> dict[str, Any]:
        """Statistics (per category, per image, areas, boxes, keypoints): what
        ``coco-convert stats --json`` prints; see :func:`coco_convert.ops.stats`."""
        from .ops.statistics import stats

        return stats(self)

    def __repr__(self) -> str:
        where = f" from {self.source!r}" if self.source else ""
        return f"<{type(self).__name__}{where}: {self._summary()}>"

    def _summary(self) -> str:
        return ""


# --- dict documents: images, annotations, categories -----------------------------------------


@dataclass
class _Index(Generic[AnnT, CatT]):
    imgs: dict[int, Image] = field(default_factory=dict)
    anns: dict[int, AnnT] = field(default_factory=dict)
    cats: dict[int, CatT] = field(default_factory=dict)
    img_to_anns: defaultdict[int, list[AnnT]] = field(default_factory=lambda: defaultdict(list))
    cat_to_imgs: defaultdict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


class CocoDataset(Dataset, Generic[AnnT, CatT]):
    """A COCO JSON object with ``images``, ``annotations`` and (mostly) ``categories``.

    Queries follow pycocotools (``getAnnIds`` is :meth:`get_ann_ids`, and so on) with the
    same filters and results, so evaluation code ports line by line."""

    __slots__ = ()

    @property
    def info(self) -> Info | None:
        return cast("Info | None", self.document.get("info"))

    @property
    def licenses(self) -> list[License]:
        return cast("list[License]", self.document.get("licenses", []))

    @property
    def images(self) -> list[Image]:
        return cast("list[Image]", self.document["images"])

    @property
    def annotations(self) -> list[AnnT]:
        return cast("list[AnnT]", self.document["annotations"])

    @property
    def categories(self) -> list[CatT]:
        return cast("list[CatT]", self.document.get("categories", []))

    def _summary(self) -> str:
        return (
            f"{len(self.images):,} images, {len(self.annotations):,} annotations, "
            f"{len(self.categories):,} categories"
        )

    # The index ------------------------------------------------------------------------------

    def category_ids_of(self, ann: AnnT) -> Iterable[int]:
        """The category ids an annotation refers to (none for a caption, every segment's for
        a panoptic annotation)."""
        category_id = ann.get("category_id")
        return () if category_id is None else (category_id,)

    @property
    def index(self) -> _Index[AnnT, CatT]:
        """pycocotools' ``imgs``, ``anns``, ``cats``, ``imgToAnns`` and ``catToImgs``, built on
        first use (call :meth:`reindex` after adding or removing records)."""
        if self._index is None:
            with gc_paused():
                self._index = self._build_index()
        return cast("_Index[AnnT, CatT]", self._index)

    def _build_index(self) -> _Index[AnnT, CatT]:
        index: _Index[AnnT, CatT] = _Index()
        index.imgs = {img["id"]: img for img in self.images}
        index.cats = {cat["id"]: cat for cat in self.categories}
        for ann in self.annotations:
            image_id = ann["image_id"]
            index.img_to_anns[image_id].append(ann)
            if "id" in ann:
                index.anns[ann["id"]] = ann
            for category_id in self.category_ids_of(ann):
                index.cat_to_imgs[category_id].append(image_id)
        return index

    # Queries --------------------------------------------------------------------------------

    def get_cat_ids(
        self, *, cat_nms: NamesArg = None, sup_nms: NamesArg = None, cat_ids: IdsArg = None
    ) -> list[int]:
        """Ids of the categories matching every filter given (pycocotools ``getCatIds``)."""
        names, supers, ids = _names(cat_nms), _names(sup_nms), as_ids(cat_ids)
        return [
            cat["id"]
            for cat in self.categories
            if (not names or cat["name"] in names)
            and (not supers or cat.get("supercategory") in supers)
            and (not ids or cat["id"] in ids)
        ]

    def get_img_ids(self, *, img_ids: IdsArg = None, cat_ids: IdsArg = None) -> list[int]:
        """Ids of the images among ``img_ids`` that hold *every* category in ``cat_ids``
        (pycocotools ``getImgIds``; sorted, where pycocotools returns set order)."""
        image_ids, category_ids = as_ids(img_ids), as_ids(cat_ids)
        if not image_ids and not category_ids:
            return list(self.index.imgs)
        selected = set(image_ids)
        for i, category_id in enumerate(category_ids):
            holding = set(self.index.cat_to_imgs.get(category_id, ()))
            selected = holding if i == 0 and not selected else selected & holding
        return sorted(selected)

    def load_imgs(self, ids: IdsArg = None) -> list[Image]:
        """The images with these ids (pycocotools ``loadImgs``); KeyError names a missing id."""
        return [self.index.imgs[i] for i in as_ids(ids)]

    def load_cats(self, ids: IdsArg = None) -> list[CatT]:
        """The categories with these ids (pycocotools ``loadCats``)."""
        return [self.index.cats[i] for i in as_ids(ids)]

    # Operations (coco_convert.ops; each returns new datasets and leaves this one as it is) --

    def filter(
        self,
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
        """The annotations pycocotools' ``getAnnIds`` selects for these filters and the images
        holding them; see :func:`coco_convert.ops.filter_dataset`."""
        from .ops.filtering import filter_dataset

        return filter_dataset(
            self,
            cat_nms=cat_nms,
            cat_ids=cat_ids,
            img_ids=img_ids,
            area_rng=area_rng,
            iscrowd=iscrowd,
            min_annotations=min_annotations,
            keep_empty=keep_empty,
            all_categories=all_categories,
            prune_categories=prune_categories,
        )

    def split(
        self,
        ratios: dict[str, float],
        *,
        seed: int = 0,
        stratify: bool = False,
        group_by: str | None = None,
    ) -> tuple[dict[str, AnyDataset], LossReport]:
        """The images in parts named by ``ratios`` (``{"train": 0.8, "val": 0.2}``), each
        annotation with its image; see :func:`coco_convert.ops.split`."""
        from .ops.splitting import split

        return split(self, ratios, seed=seed, stratify=stratify, group_by=group_by)

    def sample(
        self,
        n: int | None = None,
        *,
        fraction: float | None = None,
        seed: int = 0,
        stratify: bool = False,
    ) -> tuple[AnyDataset, LossReport]:
        """``n`` images (or ``fraction`` of them) with their annotations; see
        :func:`coco_convert.ops.sample`."""
        from .ops.splitting import sample

        return sample(self, n=n, fraction=fraction, seed=seed, stratify=stratify)

    def remap(
        self,
        mapping: dict[str | int, str | None],
        *,
        ids: Literal["keep", "compact"] = "keep",
        unmapped: Literal["keep", "drop"] = "keep",
    ) -> tuple[AnyDataset, LossReport]:
        """Categories renamed, merged or dropped by ``{old name: new name | None}``; see
        :func:`coco_convert.ops.remap`."""
        from .ops.remapping import remap

        return remap(self, mapping, ids=ids, unmapped=unmapped)

    def merge(
        self,
        *others: Dataset,
        match: Literal["exact", "normalized"] = "exact",
        ids: Literal["renumber", "keep"] = "renumber",
    ) -> tuple[AnyDataset, LossReport]:
        """This dataset and ``others`` as one, categories unified by name; see
        :func:`coco_convert.ops.merge`."""
        from .ops.merging import merge

        return merge([self, *others], match=match, ids=ids)

    def diff(
        self, other: Dataset, *, match: Literal["id", "iou"] = "id", iou: float = 0.5
    ) -> DatasetDiff:
        """What differs from this dataset to ``other``; see :func:`coco_convert.ops.diff`."""
        from .ops.diffing import diff

        return diff(self, other, match=match, iou=iou)


class _AnnotationsById(CocoDataset[AnnT, CatT]):
    """Kinds whose annotations carry their own ``id``."""

    __slots__ = ()

    def get_ann_ids(
        self,
        *,
        img_ids: IdsArg = None,
        cat_ids: IdsArg = None,
        area_rng: Sequence[float] | None = None,
        iscrowd: bool | None = None,
    ) -> list[int]:
        """Ids of the annotations matching every filter given (pycocotools ``getAnnIds``):
        on these images, of these categories, with ``area_rng[0] < area < area_rng[1]``, with
        this crowd flag (a missing ``iscrowd`` counts as 0). Dataset order, as pycocotools."""
        image_ids = as_ids(img_ids)
        anns: Iterable[AnnT]
        if image_ids:
            img_to_anns = self.index.img_to_anns
            anns = itertools.chain.from_iterable(
                img_to_anns[i] for i in image_ids if i in img_to_anns
            )
        else:
            anns = self.annotations
        matches = annotation_matcher(cat_ids=cat_ids, area_rng=area_rng, iscrowd=iscrowd)
        if matches is None:
            return [ann["id"] for ann in anns]
        return [ann["id"] for ann in anns if matches(ann)]

    def load_anns(self, ids: IdsArg = None) -> list[AnnT]:
        """The annotations with these ids (pycocotools ``loadAnns``)."""
        return [self.index.anns[i] for i in as_ids(ids)]


class InstancesDataset(_AnnotationsById[Annotation, Category]):
    """``instances_*.json``: object detection and instance segmentation."""

    kind = "instances"
    __slots__ = ()


class KeypointsDataset(_AnnotationsById[KeypointAnnotation, KeypointCategory]):
    """``person_keypoints_*.json``: instances plus named keypoints and a skeleton."""

    kind = "keypoints"
    __slots__ = ()


class StuffDataset(_AnnotationsById[StuffAnnotation, Category]):
    """``stuff_*.json`` (COCO-Stuff): one RLE region per image and stuff class."""

    kind = "stuff"
    __slots__ = ()


class CaptionsDataset(_AnnotationsById[CaptionAnnotation, Category]):
    """``captions_*.json``: captions per image; usually no categories."""

    kind = "captions"
    __slots__ = ()

    def _category_ids_of(self, ann: CaptionAnnotation) -> Iterable[int]:
        # A caption has no category; a `category_id` some tools add (Datumaro writes 0) is
        # an unchecked extra key, not something to index.
        return ()


class PanopticDataset(CocoDataset[PanopticAnnotation, PanopticCategory]):
    """``panoptic_*.json``: one annotation per image naming its PNG and listing its segments.
    Category queries look inside ``segments_info``."""

    kind = "panoptic"
    __slots__ = ()

    def category_ids_of(self, ann: PanopticAnnotation) -> Iterable[int]:
        return [segment["category_id"] for segment in ann.get("segments_info", ())]


# --- detection results: a JSON array ---------------------------------------------------------


class ResultsDataset(Dataset):
    """Results: a list of detections ``{image_id, category_id, score, bbox | segmentation |
    keypoints}`` or of captions ``{image_id, caption}``, the format the COCO evaluation
    server and ``COCO.loadRes`` take."""

    kind = "results"
    __slots__ = ()

    @property
    def results(self) -> list[Result]:
        return cast("list[Result]", self.document)

    def _summary(self) -> str:
        return f"{len(self.results):,} results"

    def get_img_ids(self) -> list[int]:
        """Ids of the images with at least one result, sorted."""
        return sorted({result["image_id"] for result in self.results})

    def for_image(self, image_id: int) -> list[Result]:
        """The results on one image, in file order."""
        return [result for result in self.results if result["image_id"] == image_id]


AnyDataset = (
    InstancesDataset
    | KeypointsDataset
    | CaptionsDataset
    | PanopticDataset
    | StuffDataset
    | ResultsDataset
)

_CLASSES: dict[Kind, type[Dataset]] = {
    cls.kind: cls
    for cls in (
        InstancesDataset,
        KeypointsDataset,
        CaptionsDataset,
        PanopticDataset,
        StuffDataset,
        ResultsDataset,
    )
}


# --- loading ---------------------------------------------------------------------------------


def detect_kind(document: Any, *, source: str = "<document>") -> Kind:
    """Which COCO kind a parsed document is, from its shape (cheap: looks at the categories
    and the first annotation only)."""
    if isinstance(document, list):
        return "results"
    if not isinstance(document, dict):
        raise SchemaError(
            source,
            [Issue("", "expected a JSON object (a COCO dataset) or an array (detection results)")],
        )
    categories = document.get("categories")
    cats = [c for c in categories if isinstance(c, dict)] if isinstance(categories, list) else []
    annotations = document.get("annotations")
    first: dict[str, Any] = {}
    if isinstance(annotations, list) and annotations and isinstance(annotations[0], dict):
        first = annotations[0]
    if "segments_info" in first or any("isthing" in c for c in cats):
        return "panoptic"
    if "caption" in first or (categories is None and not first):
        return "captions"
    if "keypoints" in first or any("keypoints" in c for c in cats):
        return "keypoints"
    ids = [c.get("id") for c in cats]
    if (
        ids
        and all(isinstance(i, int) and i in _STUFF_IDS for i in ids)
        and isinstance(first.get("segmentation"), dict)
    ):
        return "stuff"
    return "instances"


@overload
def load(
    source: Source, *, kind: Literal["instances"], validate: bool = ...
) -> InstancesDataset: ...
@overload
def load(
    source: Source, *, kind: Literal["keypoints"], validate: bool = ...
) -> KeypointsDataset: ...
@overload
def load(source: Source, *, kind: Literal["captions"], validate: bool = ...) -> CaptionsDataset: ...
@overload
def load(source: Source, *, kind: Literal["panoptic"], validate: bool = ...) -> PanopticDataset: ...
@overload
def load(source: Source, *, kind: Literal["stuff"], validate: bool = ...) -> StuffDataset: ...
@overload
def load(source: Source, *, kind: Literal["results"], validate: bool = ...) -> ResultsDataset: ...
@overload
def load(source: Source, *, kind: Kind | None = None, validate: bool = ...) -> AnyDataset: ...


def load(source: Source, *, kind: Kind | None = None, validate: bool = True) -> AnyDataset:
    """Load a COCO JSON file (``.json`` or gzip-compressed) or its bytes.

    The kind (instances, keypoints, captions, panoptic, stuff, results) is detected from the
    document unless given. With ``validate`` (the default) every record is checked against
    the models and a :class:`~coco_convert.errors.SchemaError` names each problem by JSON
    pointer; ``validate=False`` loads any JSON of the right overall shape as it is (to repair
    it, for example). The input is only read, never modified."""
    name = source_name(source)
    data = read_bytes(source)
    with gc_paused():
        # Parsed and checked in one typed pass when it can be: the images and annotations
        # are then proven (for the kind it was decoded as), and only the rest is checked.
        document, decoded_as = (
            parse_checked(data, name, kind) if validate else (parse_json(data, name), None)
        )
        del data
        found = kind or detect_kind(document, source=name)
        if validate:
            ensure_valid(document, found, source=name, proven=proven_lists(found, decoded_as))
        path = None if isinstance(source, bytes | bytearray) else name
        return cast("AnyDataset", _CLASSES[found](document, source=path, validate=False))


def from_document(
    document: Any, *, kind: Kind | None = None, validate: bool = True, source: str | None = None
) -> AnyDataset:
    """A dataset around an already-parsed document (shared, not copied). ``source`` names it
    in messages."""
    found = kind or detect_kind(document, source=source or "<document>")
    return cast("AnyDataset", _CLASSES[found](document, source=source, validate=validate))


def _names(value: NamesArg) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return set(value)
