"""What to draw on one image, as both renderers (raster and SVG) see it.

A :class:`RenderJob` is everything needed to draw one image, and nothing else: the image's
record, the path of its file, and one :class:`Layer` per annotation set (two with
``--compare``), each holding only that image's annotations and the categories they use. It is
a plain, compact, picklable value, so the per-image work can be mapped over worker processes
(:func:`coco_convert.parallel.map_tasks`) or a Dask cluster unchanged.

:func:`marks` reads a layer into :class:`Mark`\\ s: one per annotation, result or panoptic
segment, with its colour, label, geometry and the facts a hover shows. Every decision about
*what* is drawn (which colour, which label, which keypoints are filled) is made here, once;
:mod:`~coco_convert.visual.render` and :mod:`~coco_convert.visual.gallery` only decide *how*.

Pure Python: importing this module costs nothing (no numpy, no Pillow).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from ..schemas.coco import Kind

__all__ = [
    "COMPARE_COLOURS",
    "NOTES",
    "RGB",
    "DrawOptions",
    "Layer",
    "Mark",
    "Note",
    "RenderJob",
    "Rendered",
    "auto_font_size",
    "auto_line_width",
    "category_colour",
    "hex_colour",
    "keypoint_extent",
    "keypoint_radius",
    "label_position",
    "marks",
    "placement",
]

RGB = tuple[int, int, int]
Format = Literal["png", "jpg"]
Placement = Literal["above", "below", "centre"]

#: The two annotation sets of ``--compare``: blue and orange (Okabe and Ito's palette, told
#: apart by people with any common colour-vision deficiency).
COMPARE_COLOURS: tuple[RGB, RGB] = ((0, 114, 178), (230, 159, 0))

_GOLDEN = (math.sqrt(5) - 1) / 2


class Note(NamedTuple):
    """A problem met while drawing one image: a key of :data:`NOTES`, the file it is about
    (the image's, or a panoptic PNG's) and what was found there."""

    key: str
    file: str
    detail: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.detail}" if self.detail else self.file


#: What each note key means, as the command line's summary says it.
NOTES: dict[str, str] = {
    "image_missing": "images whose file was not found: drawn on a blank canvas of their size",
    "image_unreadable": "image files that could not be read: drawn on a blank canvas",
    "image_refused": (
        "images whose file_name leads out of the images folder (../ or a symbolic link): "
        "not read, drawn on a blank canvas"
    ),
    "image_size_mismatch": (
        "images whose file (EXIF orientation applied) is not the size the annotation file "
        "gives: annotations may be misplaced"
    ),
    "image_without_size": "images with neither a readable file nor a width and height: skipped",
    "image_too_large": (
        "images whose width x height is beyond Pillow's pixel limit (a decompression bomb or a "
        "mistyped size): skipped"
    ),
    "segmentation_invalid": "segmentations that cannot be rasterised: drawn without their mask",
    "panoptic_png_missing": "panoptic PNGs not found: segments drawn as boxes",
    "panoptic_png_unreadable": "panoptic PNGs that could not be read: segments drawn as boxes",
    "panoptic_png_size": (
        "panoptic PNGs of another size than their image: segments drawn as boxes"
    ),
    "panoptic_segment_empty": "panoptic segments with no pixels in their PNG",
    "compare_unmatched": (
        "images that the compare set has no image for (matched by file_name): drawn without it"
    ),
}


def category_colour(category_id: int) -> RGB:
    """The colour of a category: the same for a given id in every image, run and dataset.

    Hues step by the golden ratio from one id to the next, so the categories of one image,
    whose ids are usually close, get hues far apart; saturation and value alternate in a
    slower rhythm to separate ids whose hues come round again. Never grey, never dark."""
    hue = (category_id * _GOLDEN) % 1.0
    saturation = (0.85, 0.6)[(category_id // 3) % 2]
    value = (0.95, 0.8)[(category_id // 5) % 2]
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def hex_colour(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def auto_line_width(width: int, height: int) -> int:
    """Line width (px) for an image of this size: 2 px at VOC and COCO sizes, more for larger
    images so that lines stay visible when the picture is shown scaled down."""
    return max(2, round(math.sqrt(width * height) / 250))


def keypoint_radius(line: int) -> int:
    """Radius (px) of a keypoint marker for this line width."""
    return max(3, round(line * 1.5) + 1)


def auto_font_size(width: int, height: int) -> int:
    """Label font size (px) for an image of this size (11 px at VOC and COCO sizes)."""
    return max(11, round(math.sqrt(width * height) / 40))


@dataclass(frozen=True)
class DrawOptions:
    """How annotations are drawn: ``labels`` (category name, and score for results),
    ``boxes``, ``line_width`` (px; None: from the image size), ``alpha`` (opacity of mask
    fills, 0..1), and the output ``format`` (``png`` or ``jpg``, with JPEG ``quality``)."""

    labels: bool = True
    boxes: bool = True
    line_width: int | None = None
    alpha: float = 0.45
    format: Format = "png"
    quality: int = 90

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.line_width is not None and self.line_width < 1:
            raise ValueError(f"line_width must be at least 1 px, got {self.line_width}")
        if self.format not in ("png", "jpg"):
            raise ValueError(f"format must be 'png' or 'jpg', got {self.format!r}")


@dataclass(frozen=True)
class Layer:
    """One annotation set on one image: its ``kind``, the image's ``annotations`` (for
    panoptic: the image's one annotation), the ``categories`` they use by id, a single
    ``colour`` for the whole set (``--compare``) or None for a colour per category, the
    panoptic PNG's path, and a ``name`` for legends."""

    kind: Kind
    annotations: Sequence[Mapping[str, Any]]
    categories: Mapping[int, Mapping[str, Any]]
    colour: RGB | None = None
    panoptic_png: str | None = None
    name: str = ""


@dataclass(frozen=True)
class RenderJob:
    """Everything needed to draw one image: its record (``id``, ``file_name``, ``width``,
    ``height``), its file (None: none, ``missing`` says why), its layers and the options."""

    image: Mapping[str, Any]
    path: str | None
    layers: tuple[Layer, ...]
    options: DrawOptions = field(default_factory=DrawOptions)
    #: Why there is no ``path`` (default: the file was not found).
    missing: Note | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` from the record, when it has both."""
        width, height = self.image.get("width"), self.image.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return width, height
        return None

    @property
    def count(self) -> int:
        """Number of annotations drawn (for panoptic: segments)."""
        return sum(
            sum(len(ann.get("segments_info", ())) for ann in layer.annotations)
            if layer.kind == "panoptic"
            else len(layer.annotations)
            for layer in self.layers
        )

    @property
    def captions(self) -> list[tuple[str, RGB]]:
        """The captions (of a captions file, or caption results) and the colour to write each
        in: black, or with ``--compare`` its set's colour."""
        return [
            (str(ann["caption"]), layer.colour or (0, 0, 0))
            for layer in self.layers
            for ann in layer.annotations
            if "caption" in ann
        ]


@dataclass(frozen=True)
class Rendered:
    """What :func:`coco_convert.visual.render.render` gives for a job: the encoded picture
    (``b""`` when the image could not be drawn at all) and the problems met on the way.
    (Defined here, so that receiving one loads none of the renderer's libraries.)"""

    data: bytes
    notes: tuple[Note, ...] = ()


#: A keypoint as drawn: x, y, and 1 (hollow: labelled, not visible) or 2 (filled).
Keypoint = tuple[float, float, int]


@dataclass(frozen=True)
class Mark:
    """One annotation, result or panoptic segment as drawn.

    ``segmentation`` is the COCO polygons or RLE; ``segment_id`` the id of a panoptic
    segment's pixels in its PNG. ``region`` marks stuff (a label at the region's centre and no
    box). ``keypoints`` hold only the points to draw; ``skeleton`` joins them by their index
    in the annotation (0-based) and keeps only edges whose two ends are drawn."""

    layer: int
    colour: RGB
    category: str
    label: str
    ann_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    segmentation: Any = None
    segment_id: int | None = None
    keypoints: tuple[tuple[int, Keypoint], ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    crowd: bool = False
    area: float | None = None
    score: float | None = None
    region: bool = False

    @property
    def has_mask(self) -> bool:
        return self.segment_id is not None or _has_segmentation(self.segmentation)


def marks(layer: Layer, index: int = 0) -> list[Mark]:
    """The marks of one layer (``index``: its place among the job's layers), in file order."""
    if layer.kind == "panoptic":
        return [
            _segment_mark(layer, index, segment)
            for ann in layer.annotations
            for segment in ann.get("segments_info", ())
        ]
    # (captions, and caption results, are text: RenderJob.captions)
    return [_annotation_mark(layer, index, a) for a in layer.annotations if "caption" not in a]


def _category(layer: Layer, category_id: Any) -> tuple[str, RGB]:
    category = layer.categories.get(category_id) if isinstance(category_id, int) else None
    name = str(category["name"]) if category else f"category {category_id}"
    if layer.colour is not None:
        return name, layer.colour
    colour = category.get("color") if category else None
    if isinstance(colour, list | tuple) and len(colour) == 3:
        return name, (int(colour[0]), int(colour[1]), int(colour[2]))
    return name, category_colour(category_id if isinstance(category_id, int) else 0)


def _annotation_mark(layer: Layer, index: int, ann: Mapping[str, Any]) -> Mark:
    name, colour = _category(layer, ann.get("category_id"))
    crowd = bool(ann.get("iscrowd", 0))
    score = ann.get("score") if layer.kind == "results" else None
    label = name
    if crowd:
        label = f"{name} (crowd)"
    if isinstance(score, int | float):
        label = f"{name} {score:.2f}"
    bbox = ann.get("bbox")
    keypoints = ann.get("keypoints")
    category = layer.categories.get(ann.get("category_id", -1))
    points: tuple[tuple[int, Keypoint], ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    if isinstance(keypoints, list) and keypoints:
        points = _keypoints(keypoints, results=layer.kind == "results")
        skeleton = _skeleton(category.get("skeleton", ()) if category else (), points)
    area = ann.get("area")
    return Mark(
        layer=index,
        colour=colour,
        category=name,
        label=label,
        ann_id=ann.get("id") if isinstance(ann.get("id"), int) else None,
        bbox=_box(bbox),
        segmentation=ann.get("segmentation"),
        keypoints=points,
        skeleton=skeleton,
        crowd=crowd,
        area=float(area) if isinstance(area, int | float) else None,
        score=float(score) if isinstance(score, int | float) else None,
        region=layer.kind == "stuff",
    )


def _segment_mark(layer: Layer, index: int, segment: Mapping[str, Any]) -> Mark:
    category_id = segment.get("category_id")
    name, colour = _category(layer, category_id)
    category = layer.categories.get(category_id) if isinstance(category_id, int) else None
    crowd = bool(segment.get("iscrowd", 0))
    area = segment.get("area")
    return Mark(
        layer=index,
        colour=colour,
        category=name,
        label=f"{name} (crowd)" if crowd else name,
        ann_id=segment.get("id") if isinstance(segment.get("id"), int) else None,
        bbox=_box(segment.get("bbox")),
        segment_id=segment.get("id"),
        crowd=crowd,
        area=float(area) if isinstance(area, int | float) else None,
        region=bool(category is not None and not category.get("isthing", 1)),
    )


def _box(bbox: Any) -> tuple[float, float, float, float] | None:
    if isinstance(bbox, list | tuple) and len(bbox) == 4:
        x, y, w, h = (float(v) for v in bbox)
        if w > 0 and h > 0:
            return x, y, w, h
    return None


def _keypoints(values: Sequence[float], *, results: bool) -> tuple[tuple[int, Keypoint], ...]:
    """Keypoints to draw, by index: ground truth v=2 filled, v=1 hollow, v=0 left out; a
    result's third value is a confidence, and a point with any is drawn filled."""
    found = []
    for k in range(len(values) // 3):
        x, y, v = values[3 * k], values[3 * k + 1], values[3 * k + 2]
        if v <= 0:
            continue
        state = 2 if results or v >= 2 else 1
        found.append((k, (float(x), float(y), state)))
    return tuple(found)


def _skeleton(
    edges: Sequence[Sequence[int]], points: tuple[tuple[int, Keypoint], ...]
) -> tuple[tuple[int, int], ...]:
    """Skeleton edges (1-based in COCO) between two drawn points, as 0-based indices."""
    drawn = {k for k, _ in points}
    return tuple(
        (a - 1, b - 1)
        for edge in edges
        if len(edge) == 2
        for a, b in [(int(edge[0]), int(edge[1]))]
        if a - 1 in drawn and b - 1 in drawn and a != b
    )


def _has_segmentation(segmentation: Any) -> bool:
    if isinstance(segmentation, dict):
        return True
    return isinstance(segmentation, list) and any(
        isinstance(p, list) and len(p) >= 6 for p in segmentation
    )


def label_position(
    anchor: tuple[float, float, float, float],
    text_size: tuple[float, float],
    canvas: tuple[int, int],
    placement: Placement = "above",
) -> tuple[float, float]:
    """Top-left corner of a label of ``text_size`` (w, h) for an object whose box is
    ``anchor`` (x, y, w, h), on a canvas of (width, height), always inside the canvas:
    ``above`` the box's top-left corner (inside the box when there is no room above),
    ``below`` its bottom-left corner (inside when there is no room), or centred on it
    (regions, whose box says little)."""
    x, y, w, h = anchor
    tw, th = text_size
    width, height = canvas
    if placement == "centre":
        left, top = x + w / 2 - tw / 2, y + h / 2 - th / 2
    elif placement == "below":
        left, top = x, (y + h if y + h + th <= height else y + h - th)
    else:
        left, top = x, (y - th if y - th >= 0 else y)
    return min(max(left, 0.0), max(width - tw, 0.0)), min(max(top, 0.0), max(height - th, 0.0))


def keypoint_extent(mark: Mark) -> tuple[float, float, float, float] | None:
    """The box (x, y, w, h) around a mark's drawn keypoints."""
    if not mark.keypoints:
        return None
    xs = [p[0] for _, p in mark.keypoints]
    ys = [p[1] for _, p in mark.keypoints]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def placement(mark: Mark) -> Placement:
    """Where a mark's label goes: regions centred, the compare set's second layer below its
    box (so that the two sets' labels do not cover each other), else above."""
    if mark.region:
        return "centre"
    return "below" if mark.layer == 1 else "above"
