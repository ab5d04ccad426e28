"""Statistics of a dataset: what ``coco-convert stats`` prints and ``--plots`` draws.

:class:`StatsCollector` takes the records in batches (``add_categories``, ``add_images``,
``add_annotations``; a loaded dataset passes each list whole, a streaming reader can pass
chunks in any number) and turns each batch into a few numpy columns at once, so counting
860k annotations costs a fraction of parsing them. :meth:`StatsCollector.result` gives the
JSON-ready statistics; :meth:`StatsCollector.columns` the raw columns the plots use.

Areas are classed as COCO's evaluation does: small below 32², large from 96² up, medium
between (``area`` as written, which is what COCOeval reads).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..io import gc_paused
from ..schemas.coco import Kind

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import Dataset
    from ..streaming import CocoStream

__all__ = [
    "AREA_LARGE",
    "AREA_SMALL",
    "Columns",
    "StatsCollector",
    "collect_stream",
    "segmentation_kind",
    "stats",
]

#: COCO's area classes: small < 32², medium < 96² <= large.
AREA_SMALL = 32.0**2
AREA_LARGE = 96.0**2
#: Stands for a missing ``category_id`` in the integer columns.
NO_CATEGORY = np.iinfo(np.int64).min
_NO_BOX = (np.nan, np.nan, np.nan, np.nan)
#: Largest categories x images table of booleans counting images per category (64 MB).
_PAIR_TABLE = 64 * 2**20
#: :func:`segmentation_kind` of a list of polygons, by its length (more: multi-polygon).
_LIST_KINDS = {0: "empty", 1: "polygon"}
_QUANTILES = (("min", 0.0), ("p5", 5.0), ("p25", 25.0), ("median", 50.0), ("p75", 75.0))
_QUANTILES_HIGH = (("p95", 95.0), ("max", 100.0))

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def segmentation_kind(segmentation: Any) -> str:
    """``polygon``, ``multi-polygon``, ``rle`` (compressed), ``rle-uncompressed``, ``empty``
    (``[]``, as CVAT and Roboflow write for boxes) or ``none`` (no key)."""
    if segmentation is None:
        return "none"
    if isinstance(segmentation, dict):
        return "rle" if isinstance(segmentation.get("counts"), str) else "rle-uncompressed"
    if not segmentation:
        return "empty"
    return "polygon" if len(segmentation) == 1 else "multi-polygon"


@dataclass
class Columns:
    """Per-annotation columns (panoptic: per segment; results: per result) and per-image
    columns, in input order."""

    image_id: IntArray
    category_id: IntArray
    area: FloatArray
    crowd: npt.NDArray[np.bool_]
    #: ``x, y, w, h`` per annotation; NaN where there is no ``bbox``.
    bbox: FloatArray
    score: FloatArray
    images: IntArray
    width: FloatArray
    height: FloatArray


@dataclass
class _Keypoints:
    """Visibility counts of one keypoint category: one row per keypoint, columns v=0, 1, 2."""

    annotations: int = 0
    labelled: int = 0
    visibility: Counter[int] = field(default_factory=Counter)
    per_point: list[Counter[int]] = field(default_factory=list)


class StatsCollector:
    """Accumulates the statistics of one dataset, batch by batch (see the module's doc)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.categories: list[dict[str, Any]] = []
        self._image_ids: list[IntArray] = []
        self._category_ids: list[IntArray] = []
        self._areas: list[FloatArray] = []
        self._crowd: list[npt.NDArray[np.bool_]] = []
        self._boxes: list[FloatArray] = []
        self._scores: list[FloatArray] = []
        self._images: list[np.ndarray] = []
        self.segmentation: Counter[str] = Counter()
        self.geometry: Counter[str] = Counter()
        self.caption_words: list[int] = []
        self.keypoints: dict[int, _Keypoints] = {}
        self.annotation_records = 0

    # Feeding --------------------------------------------------------------------------------

    def add_categories(self, categories: Iterable[Any]) -> None:
        self.categories.extend(categories)

    def add_images(self, images: Sequence[Any]) -> None:
        """A batch of images."""
        dtype = np.dtype([("id", np.int64), ("width", np.float64), ("height", np.float64)])
        self._images.append(
            np.fromiter(
                (
                    (image["id"], image.get("width", np.nan), image.get("height", np.nan))
                    for image in images
                ),
                dtype,
                len(images),
            )
        )

    def add_annotations(self, anns: Sequence[Any]) -> None:
        """A batch of annotations (results, for a results file; panoptic annotations are
        counted per segment)."""
        with gc_paused():  # many small objects beside a loaded dataset; see io.gc_paused
            self._add_annotations(anns)

    def _add_annotations(self, anns: Sequence[Any]) -> None:
        self.annotation_records += len(anns)
        if self.kind == "panoptic":
            anns = [
                {**segment, "image_id": ann["image_id"]}
                for ann in anns
                for segment in ann.get("segments_info", ())
            ]
        elif self.kind == "captions":
            self.caption_words.extend(len(str(ann.get("caption", "")).split()) for ann in anns)
            # A caption has no category, area or box: such keys (Datumaro writes category_id
            # 0) are unchecked extras, never counted.
            anns = [{"image_id": ann["image_id"]} for ann in anns]
        self._image_ids.append(_column(anns, "image_id", NO_CATEGORY, np.int64))
        self._category_ids.append(_column(anns, "category_id", NO_CATEGORY, np.int64))
        self._areas.append(_column(anns, "area", np.nan, np.float64))
        self._crowd.append(_column(anns, "iscrowd", 0, np.int8) != 0)
        self._boxes.append(_boxes_of(anns))
        if self.kind == "results":
            self._scores.append(_column(anns, "score", np.nan, np.float64))
            self.geometry.update(
                key
                for ann in anns
                for key in ("bbox", "segmentation", "keypoints", "caption")
                if key in ann
            )
        elif self.kind not in ("panoptic", "captions"):
            self.segmentation.update(_segmentation_kinds(anns))
        if self.kind in ("keypoints", "results"):
            self._add_keypoints([ann for ann in anns if "keypoints" in ann])

    def _add_keypoints(self, anns: list[Any]) -> None:
        for ann in anns:
            found = self.keypoints.get(ann.get("category_id", NO_CATEGORY))
            if found is None:
                found = self.keypoints[ann.get("category_id", NO_CATEGORY)] = _Keypoints()
            visibility = ann["keypoints"][2::3]
            found.annotations += 1
            found.labelled += ann.get("num_keypoints", sum(1 for v in visibility if v > 0))
            found.visibility.update(int(v) for v in visibility)
            while len(found.per_point) < len(visibility):
                found.per_point.append(Counter())
            for point, v in zip(found.per_point, visibility, strict=False):
                point[int(v)] += 1

    # Results --------------------------------------------------------------------------------

    def columns(self) -> Columns:
        images = _concat(
            self._images,
            np.dtype([("id", np.int64), ("width", np.float64), ("height", np.float64)]),
        )
        return Columns(
            image_id=_concat(self._image_ids, np.dtype(np.int64)),
            category_id=_concat(self._category_ids, np.dtype(np.int64)),
            area=_concat(self._areas, np.dtype(np.float64)),
            crowd=_concat(self._crowd, np.dtype(np.bool_)),
            bbox=np.concatenate(self._boxes) if self._boxes else np.zeros((0, 4)),
            score=np.concatenate(self._scores) if self._scores else np.zeros(0),
            images=images["id"],
            width=images["width"],
            height=images["height"],
        )

    def result(self) -> dict[str, Any]:
        """Every statistic, JSON-ready (see ``docs/ops.md`` for each key)."""
        with gc_paused():
            return self._result()

    def _result(self) -> dict[str, Any]:
        cols = self.columns()
        n = len(cols.image_id)
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "results":
            out["results"] = n
        else:
            out["images"] = len(cols.images)
            out["annotations"] = self.annotation_records
        if self.kind == "panoptic":
            out["segments"] = n

        # Per category: annotations, images, crowd, area classes.
        image_index = positions(cols.images, cols.image_id)
        per_category, unknown = self._per_category(cols, image_index)
        out["categories"] = per_category
        if unknown and self.kind != "results":
            out["unknown_category_ids"] = unknown

        # Per image.
        known = image_index >= 0
        per_image = np.bincount(image_index[known], minlength=len(cols.images))
        if self.kind == "results":
            out["images"] = int(np.unique(cols.image_id).size)
        else:
            out["images_without_annotations"] = int(np.count_nonzero(per_image == 0))
            out["annotations_per_image"] = _summary(per_image.astype(np.float64))
            if not known.all():
                out["annotations_without_image"] = int(np.count_nonzero(~known))
        if self.kind not in ("captions", "results"):
            out["crowd"] = int(np.count_nonzero(cols.crowd))
        if self.segmentation:
            out["segmentation"] = dict(self.segmentation.most_common())
        if self.geometry:
            out["geometry"] = dict(self.geometry.most_common())
        if self.kind == "results" and n:
            out["scores"] = _summary(cols.score)

        # Areas and boxes.
        if self.kind != "captions":
            out["area"] = _area_classes(cols.area)
            out["boxes"] = _boxes(cols, image_index)
        if self.kind != "results":
            out["image_sizes"] = _image_sizes(cols.width, cols.height)
        if self.caption_words:
            out["caption_words"] = _summary(np.asarray(self.caption_words, dtype=np.float64))
        if self.keypoints:
            out["keypoints"] = self._keypoints()
        return out

    def _per_category(
        self, cols: Columns, image_index: IntArray
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """One row per category (then one per undefined id the annotations use): counts of
        annotations, of images holding the category, of crowd regions, of each area class."""
        known_ids = [category["id"] for category in self.categories]
        index = positions(np.asarray(known_ids, dtype=np.int64), cols.category_id)
        # Category ids no category defines (rare): rows after the defined ones.
        stray = cols.category_id[(index < 0) & (cols.category_id != NO_CATEGORY)]
        unknown = np.unique(stray).tolist() if len(stray) else []
        if unknown:
            index = positions(np.asarray(known_ids + unknown, dtype=np.int64), cols.category_id)
        m = len(known_ids) + len(unknown)
        mask = index >= 0
        cat, area, crowd = index[mask], cols.area[mask], cols.crowd[mask]
        # Images per category: distinct (category, image) pairs. An image is its position
        # among the images (results have none: the distinct image ids stand in).
        if self.kind == "results":
            _, image = np.unique(cols.image_id[mask], return_inverse=True)
            image = image.ravel()
        else:
            image = image_index[mask] + 1  # 0: an image the file does not define
        span = int(image.max(initial=0)) + 1
        if m * span <= _PAIR_TABLE:
            seen = np.zeros((m, span), dtype=bool)
            seen[cat, image] = True
            images = seen.sum(axis=1)
        else:  # thousands of categories (LVIS): sort the pairs instead
            images = np.bincount(np.unique(cat * span + image) // span, minlength=m)
        counts = {
            "annotations": np.bincount(cat, minlength=m),
            "crowd": np.bincount(cat, weights=crowd, minlength=m),
            "small": np.bincount(cat, weights=area < AREA_SMALL, minlength=m),
            "medium": np.bincount(
                cat, weights=(area >= AREA_SMALL) & (area < AREA_LARGE), minlength=m
            ),
            "large": np.bincount(cat, weights=area >= AREA_LARGE, minlength=m),
        }
        count_key = "results" if self.kind == "results" else "annotations"
        rows: list[dict[str, Any]] = []
        for i in range(m):
            if i < len(self.categories):
                category = self.categories[i]
                row: dict[str, Any] = {
                    "id": category["id"],
                    "name": category.get("name"),
                    "supercategory": category.get("supercategory"),
                }
            elif self.kind == "results":  # a results file names no categories
                row = {"id": unknown[i - len(self.categories)]}
            else:
                row = {"id": unknown[i - len(self.categories)], "name": None}
            row[count_key] = int(counts["annotations"][i])
            row["images"] = int(images[i])
            if self.kind not in ("captions", "results"):
                row["crowd"] = int(counts["crowd"][i])
                row["area"] = {key: int(counts[key][i]) for key in ("small", "medium", "large")}
            rows.append(row)
        return rows, unknown

    def _keypoints(self) -> dict[str, Any]:
        names = {c["id"]: c.get("keypoints") or [] for c in self.categories}
        total: Counter[int] = Counter()
        rows = []
        for category_id, found in sorted(self.keypoints.items()):
            total.update(found.visibility)
            point_names = names.get(category_id, [])
            rows.append(
                {
                    "category_id": category_id,
                    "annotations": found.annotations,
                    "labelled": found.labelled,
                    "visibility": _visibility(found.visibility),
                    "points": [
                        {
                            "name": point_names[i] if i < len(point_names) else str(i),
                            **_visibility(point),
                        }
                        for i, point in enumerate(found.per_point)
                    ],
                }
            )
        return {
            "annotations": sum(f.annotations for f in self.keypoints.values()),
            "labelled": sum(f.labelled for f in self.keypoints.values()),
            "visibility": _visibility(total),
            "categories": rows,
        }


def stats(dataset: Dataset) -> dict[str, Any]:
    """Every statistic of a loaded dataset (see :class:`StatsCollector`)."""
    collector = collect(dataset)
    return collector.result()


def collect(dataset: Dataset) -> StatsCollector:
    """A :class:`StatsCollector` fed the whole of ``dataset``."""
    collector = StatsCollector(dataset.kind)
    document: Any = dataset.document
    if dataset.kind == "results":
        collector.add_annotations(document)
        return collector
    collector.add_categories(document.get("categories", ()))
    collector.add_images(document["images"])
    collector.add_annotations(document["annotations"])
    return collector


def collect_stream(stream: CocoStream) -> StatsCollector:
    """A :class:`StatsCollector` fed a file read a chunk at a time (``--stream``): the same
    numbers as :func:`collect` on the loaded file; its records are validated as
    :func:`coco_convert.load` validates them."""
    collector = StatsCollector(stream.kind)
    if stream.results:
        for _, records in stream.checked(""):
            collector.add_annotations(records)
        return collector
    collector.add_categories(stream.header.get("categories", ()))
    for key, add in (("images", collector.add_images), ("annotations", collector.add_annotations)):
        for _, records in stream.checked(key):
            add(records)
    return collector


def _column(records: Sequence[Any], key: str, default: Any, dtype: Any) -> np.ndarray:
    """``record.get(key, default)`` of every record, as an array: ``map`` over ``dict.get``
    runs in C, without a Python frame per record (a third of the time of a generator)."""
    return np.fromiter(map(dict.get, records, repeat(key), repeat(default)), dtype, len(records))


def _boxes_of(anns: Sequence[Any]) -> FloatArray:
    """``bbox`` of every annotation as rows of 4 (NaN without one)."""
    n = len(anns)
    boxes = map(dict.get, anns, repeat("bbox"), repeat(_NO_BOX))
    try:
        flat = np.fromiter(itertools.chain.from_iterable(boxes), np.float64, 4 * n)
    except (TypeError, ValueError):  # a null or misshapen bbox (unvalidated data)
        found = [ann.get("bbox") for ann in anns]
        flat = np.fromiter(
            itertools.chain.from_iterable(
                b if isinstance(b, list) and len(b) == 4 else _NO_BOX for b in found
            ),
            np.float64,
            4 * n,
        )
    return flat.reshape(n, 4)


def _segmentation_kinds(anns: Sequence[Any]) -> Counter[str]:
    """:func:`segmentation_kind` counted over the annotations, by type first (in C)."""
    segmentations = list(map(dict.get, anns, repeat("segmentation")))
    kinds: Counter[str] = Counter()
    by_type = Counter(map(type, segmentations))
    for kind, n in by_type.items():
        if kind is list:
            lengths = Counter(map(len, [s for s in segmentations if type(s) is list]))
            for length, count in lengths.items():
                kinds[_LIST_KINDS.get(length, "multi-polygon")] += count
        elif kind is dict:
            kinds.update(segmentation_kind(s) for s in segmentations if type(s) is dict)
        else:
            kinds[segmentation_kind(None) if kind is type(None) else "other"] += n
    return kinds


def _concat(parts: list[np.ndarray], dtype: np.dtype[Any]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def positions(keys: IntArray, wanted: IntArray) -> IntArray:
    """The position in ``keys`` of each value of ``wanted`` (the first, for a repeated key),
    -1 where it is not a key."""
    if not len(keys):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    found = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    return np.where(ordered[found] == wanted, order[found], -1)


def _summary(values: FloatArray) -> dict[str, float]:
    """min, p5, p25, median, p75, p95, max and mean of the finite values (empty: {})."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {}
    points = [q for _, q in _QUANTILES + _QUANTILES_HIGH]
    found = np.percentile(finite, points)
    names = [name for name, _ in _QUANTILES + _QUANTILES_HIGH]
    out = {name: _number(value) for name, value in zip(names, found, strict=True)}
    out["mean"] = _number(finite.mean())
    return out


def _number(value: Any) -> float:
    """A float rounded for reading (6 significant digits); integral values as ints."""
    number = float(f"{float(value):.6g}")
    return int(number) if number.is_integer() else number


def _area_classes(area: FloatArray) -> dict[str, int]:
    present = np.isfinite(area)
    known = area[present]
    out = {
        "small": int(np.count_nonzero(known < AREA_SMALL)),
        "medium": int(np.count_nonzero((known >= AREA_SMALL) & (known < AREA_LARGE))),
        "large": int(np.count_nonzero(known >= AREA_LARGE)),
    }
    if not present.all():
        out["missing"] = int(np.count_nonzero(~present))
    return out


def _boxes(cols: Columns, image_index: IntArray) -> dict[str, Any]:
    boxes = cols.bbox
    present = np.isfinite(boxes).all(axis=1)
    w, h = boxes[present, 2], boxes[present, 3]
    positive = (w > 0) & (h > 0)
    out: dict[str, Any] = {"count": int(np.count_nonzero(present))}
    if not present.all():
        out["missing"] = int(np.count_nonzero(~present))
    if not positive.all():
        out["degenerate"] = int(np.count_nonzero(~positive))
    w, h = w[positive], h[positive]
    out["width"] = _summary(w)
    out["height"] = _summary(h)
    out["aspect_ratio"] = _summary(w / h)
    out["size"] = _summary(np.sqrt(w * h))
    # Relative to the image: sqrt of the box's share of the image area.
    index = image_index[present][positive]
    has_image = index >= 0
    if len(cols.images) and has_image.any():
        area = cols.width[index[has_image]] * cols.height[index[has_image]]
        relative = np.sqrt(w[has_image] * h[has_image] / area)
        out["relative_size"] = _summary(relative)
    return out


def _image_sizes(width: FloatArray, height: FloatArray) -> dict[str, Any]:
    known = np.isfinite(width) & np.isfinite(height)
    pairs = Counter(
        zip(
            width[known].astype(np.int64).tolist(),
            height[known].astype(np.int64).tolist(),
            strict=True,
        )
    )
    out: dict[str, Any] = {
        "distinct": len(pairs),
        "most_common": [
            {"width": w, "height": h, "images": n} for (w, h), n in pairs.most_common(10)
        ],
        "width": _summary(width[known]),
        "height": _summary(height[known]),
    }
    if not known.all():
        out["missing"] = int(np.count_nonzero(~known))
    return out


def _visibility(counts: Counter[int]) -> dict[str, int]:
    """``{"v0": n, "v1": n, "v2": n}``: not labelled, labelled but hidden, visible."""
    return {f"v{v}": counts.get(v, 0) for v in (0, 1, 2)} | {
        f"v{v}": n for v, n in sorted(counts.items()) if v not in (0, 1, 2)
    }
