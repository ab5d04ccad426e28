"""The COCO JSON format as Pydantic-validated typed dicts: one definition for validation,
static types and the JSON Schema documents.

Records are ``TypedDict``s, so a loaded dataset is made of the plain dicts and lists that
pycocotools, Detectron2 and MMDetection pass around, with their key order and every extra key
a tool wrote. Pydantic validates them (strict: ``"640"`` is not a width, ``1.0`` is not an id,
``true`` is not an ``iscrowd``) and generates the JSON Schema.

What the schema requires is what identifies a record (ids and references); every other field
is optional, but when present it must have the right shape and type. Whether a file is *fit for
training* (boxes inside the image, areas that agree with masks, no category id 0, ...) is the
validator's business (``coco-convert validate``), not the schema's.

Kinds, as in the COCO dataset's own files:

===========  ==========================================  ================================
kind         file (COCO 2017)                            annotation record
===========  ==========================================  ================================
instances    ``instances_*.json``                        :class:`Annotation`
keypoints    ``person_keypoints_*.json``                 :class:`KeypointAnnotation`
captions     ``captions_*.json``                         :class:`CaptionAnnotation`
panoptic     ``panoptic_*.json`` (+ PNG per image)       :class:`PanopticAnnotation`
stuff        ``stuff_*.json``                            :class:`StuffAnnotation`
results      detections or captions (a JSON array)       :class:`Result`, ``CaptionResult``
===========  ==========================================  ================================
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from annotated_types import Ge, Le, Len
from pydantic import AfterValidator, Discriminator, Field, Tag, with_config
from typing_extensions import NotRequired, TypedDict

from .types import (
    MODEL_CONFIG,
    RLE,
    BBox,
    CrowdFlag,
    FiniteFloat,
    Int,
    Keypoints,
    NonNegativeFloat,
    NonNegativeInt,
    Polygon,
    Segmentation,
    Side,
)

__all__ = [
    "KINDS",
    "RLE",
    "Annotation",
    "AnyResult",
    "BBox",
    "CaptionAnnotation",
    "CaptionResult",
    "CaptionsDocument",
    "Category",
    "Image",
    "Info",
    "InstancesDocument",
    "KeypointAnnotation",
    "KeypointCategory",
    "KeypointsDocument",
    "Kind",
    "License",
    "PanopticAnnotation",
    "PanopticCategory",
    "PanopticDocument",
    "PanopticSegment",
    "Polygon",
    "Result",
    "ResultsDocument",
    "Segmentation",
    "StuffAnnotation",
    "StuffDocument",
]

Kind = Literal["instances", "keypoints", "captions", "panoptic", "stuff", "results"]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: Free text that tools write as a string, a number or null (``"year": ""`` from CVAT and
#: Datumaro, ``"year": "2021"`` from Roboflow, ``"version": 1`` from scripts).
_Text = str | Int | FiniteFloat | None


@with_config(MODEL_CONFIG)
class Info(TypedDict):
    """Dataset description. Every field is optional; tools fill them inconsistently."""

    year: NotRequired[_Text]
    version: NotRequired[_Text]
    description: NotRequired[_Text]
    contributor: NotRequired[_Text]
    url: NotRequired[_Text]
    date_created: NotRequired[_Text]


@with_config(MODEL_CONFIG)
class License(TypedDict):
    id: Int
    name: NotRequired[str | None]
    url: NotRequired[str | None]


@with_config(MODEL_CONFIG)
class Image(TypedDict):
    """An image. ``file_name`` is relative to the image folder; ``width`` and ``height`` are
    in pixels as the training framework sees the image (after EXIF rotation)."""

    id: Int
    file_name: str
    width: NotRequired[Side]
    height: NotRequired[Side]
    license: NotRequired[Int | None]
    flickr_url: NotRequired[str | None]
    coco_url: NotRequired[str | None]
    #: ``"2013-11-14 16:28:13"`` in COCO; CVAT writes ``0``, labelme2coco ``null``.
    date_captured: NotRequired[str | Int | None]


@with_config(MODEL_CONFIG)
class Category(TypedDict):
    id: Int
    name: str
    supercategory: NotRequired[str | None]


SkeletonEdge = Annotated[list[Int], Len(2, 2), Field(description="1-based keypoint indices")]


@with_config(MODEL_CONFIG)
class KeypointCategory(Category):
    """A category with named keypoints; ``skeleton`` edges use 1-based keypoint indices."""

    keypoints: NotRequired[list[str]]
    skeleton: NotRequired[list[SkeletonEdge]]


RGB = Annotated[list[Annotated[int, Ge(0), Le(255)]], Len(3, 3)]


@with_config(MODEL_CONFIG)
class PanopticCategory(Category):
    isthing: CrowdFlag
    color: NotRequired[RGB]


@with_config(MODEL_CONFIG)
class Annotation(TypedDict):
    """An object instance: box, optional segmentation (polygons or RLE), area, crowd flag.
    ``segmentation`` null means none, as pylabel writes for boxes."""

    id: Int
    image_id: Int
    category_id: Int
    segmentation: NotRequired[Segmentation | None]
    area: NotRequired[NonNegativeFloat]
    bbox: NotRequired[BBox]
    iscrowd: NotRequired[CrowdFlag]


@with_config(MODEL_CONFIG)
class KeypointAnnotation(Annotation):
    keypoints: NotRequired[Keypoints]
    num_keypoints: NotRequired[NonNegativeInt]


@with_config(MODEL_CONFIG)
class StuffAnnotation(TypedDict):
    """COCO-Stuff: instances-shaped, one RLE per (image, stuff class)."""

    id: Int
    image_id: Int
    category_id: Int
    segmentation: RLE
    area: NotRequired[NonNegativeFloat]
    bbox: NotRequired[BBox]
    iscrowd: NotRequired[CrowdFlag]


@with_config(MODEL_CONFIG)
class CaptionAnnotation(TypedDict):
    id: Int
    image_id: Int
    caption: str


@with_config(MODEL_CONFIG)
class PanopticSegment(TypedDict):
    """One segment of a panoptic PNG: ``id`` is the segment's RGB colour as
    ``R + 256 * G + 256**2 * B``."""

    id: Int
    category_id: Int
    area: NotRequired[NonNegativeFloat]
    bbox: NotRequired[BBox]
    iscrowd: NotRequired[CrowdFlag]


@with_config(MODEL_CONFIG)
class PanopticAnnotation(TypedDict):
    """The segments of one image; ``file_name`` is its PNG in the panoptic folder."""

    image_id: Int
    file_name: str
    segments_info: list[PanopticSegment]


@with_config(MODEL_CONFIG)
class Result(TypedDict):
    """One detection: ``image_id``, ``category_id``, ``score`` and at least one of ``bbox``,
    ``segmentation``, ``keypoints``."""

    image_id: Int
    category_id: Int
    score: FiniteFloat
    bbox: NotRequired[BBox]
    segmentation: NotRequired[Segmentation]
    keypoints: NotRequired[Keypoints]


def _has_geometry(result: Any) -> Any:
    if not any(key in result for key in ("bbox", "segmentation", "keypoints")):
        raise ValueError("a result needs a bbox, a segmentation or keypoints")
    return result


_ResultWithGeometry = Annotated[
    Result,
    AfterValidator(_has_geometry),
    Field(
        json_schema_extra={
            "anyOf": [
                {"required": ["bbox"]},
                {"required": ["segmentation"]},
                {"required": ["keypoints"]},
            ],
            "not": {"required": ["caption"]},
        }
    ),
]


@with_config(MODEL_CONFIG)
class CaptionResult(TypedDict):
    """One generated caption, as COCO caption evaluation (``COCO.loadRes``, pycocoevalcap)
    reads it: ``image_id`` and ``caption``."""

    image_id: Int
    caption: str


def _result_kind(value: Any) -> str:
    return "caption" if isinstance(value, dict) and "caption" in value else "detection"


#: One result: a caption when it has a ``caption`` key (as pycocotools tells them apart),
#: else a detection (box, segmentation or keypoints, with its category and score).
AnyResult = Annotated[
    Annotated[_ResultWithGeometry, Tag("detection")] | Annotated[CaptionResult, Tag("caption")],
    Discriminator(_result_kind),
]


@with_config(MODEL_CONFIG)
class _Document(TypedDict):
    info: NotRequired[Info | None]
    licenses: NotRequired[list[License]]
    images: list[Image]


@with_config(MODEL_CONFIG)
class InstancesDocument(_Document):
    """``instances_*.json``: boxes and segmentations."""

    annotations: list[Annotation]
    categories: list[Category]


@with_config(MODEL_CONFIG)
class KeypointsDocument(_Document):
    """``person_keypoints_*.json``: instances plus keypoints."""

    annotations: list[KeypointAnnotation]
    categories: list[KeypointCategory]


@with_config(MODEL_CONFIG)
class CaptionsDocument(_Document):
    """``captions_*.json``: several captions per image, no categories."""

    annotations: list[CaptionAnnotation]
    categories: NotRequired[list[Category]]


@with_config(MODEL_CONFIG)
class PanopticDocument(_Document):
    """``panoptic_*.json``: one annotation per image with its segments."""

    annotations: list[PanopticAnnotation]
    categories: list[PanopticCategory]


@with_config(MODEL_CONFIG)
class StuffDocument(_Document):
    """``stuff_*.json``: instances-shaped with one RLE per stuff region."""

    annotations: list[StuffAnnotation]
    categories: list[Category]


#: Results, as written for the COCO evaluation server: a JSON array of detections (boxes,
#: segmentations, keypoints) or of captions.
ResultsDocument = list[AnyResult]
