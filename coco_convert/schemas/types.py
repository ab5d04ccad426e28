"""Shared field types of the COCO format: boxes, polygons, RLE, segmentation, keypoints.

Each is a named ``Annotated`` alias so that every model uses the same definition and the
JSON Schema documents say the same thing everywhere. Constraints that JSON Schema can express
(lengths, ranges, types) are pydantic-core constraints; the two it cannot (an even number of
polygon coordinates, keypoints in triples) are small validators that say so in their
description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Ge, Le, Len, MinLen
from pydantic import AfterValidator, ConfigDict, Discriminator, Field, Tag, with_config
from typing_extensions import TypedDict

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "MODEL_CONFIG",
    "NUMBER_LIMIT",
    "RLE",
    "SIDE_MAX",
    "BBox",
    "CrowdFlag",
    "FiniteFloat",
    "Int",
    "Keypoints",
    "LengthMultiple",
    "NonNegativeFloat",
    "NonNegativeInt",
    "Polygon",
    "RLECounts",
    "Segmentation",
    "Side",
]

#: Every model validates strictly (``"640"`` is not a width, ``1.0`` is not an id, ``true`` is
#: not an ``iscrowd``) and lets extra keys through: tools add their own, and they are kept.
MODEL_CONFIG = ConfigDict(strict=True, extra="ignore")

#: Integers are 64-bit signed: what orjson writes, numpy's int64 and SQL's BIGINT hold.
#: JSON itself has no limit, so a 38-digit id parses; it is refused here, on the way in, and
#: not at write time or deep inside pycocotools.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: Numbers lie within the same range: a coordinate of 1e308 is finite, but ``x + w`` is not.
NUMBER_LIMIT = 2**63
#: Image sides (and RLE sizes) fit in 32 bits, as OpenCV, numpy indexing and pycocotools' C
#: code take them; whether a size is plausible is the validator's business (I007).
SIDE_MAX = 2**31 - 1

Int = Annotated[int, Ge(INT_MIN), Le(INT_MAX)]
#: Any finite JSON number within +-2**63 (integers are numbers too; NaN and infinities are not).
FiniteFloat = Annotated[float, Field(allow_inf_nan=False), Ge(-NUMBER_LIMIT), Le(NUMBER_LIMIT)]
NonNegativeFloat = Annotated[float, Field(allow_inf_nan=False), Ge(0), Le(NUMBER_LIMIT)]
NonNegativeInt = Annotated[int, Ge(0), Le(INT_MAX)]
#: An image's width or height in pixels (VIA writes -1 for unknown: refused by the validator).
Side = Annotated[int, Ge(-SIDE_MAX), Le(SIDE_MAX)]

#: ``[x, y, width, height]`` in pixels; x and y are the top-left corner, 0-based.
BBox = Annotated[
    list[FiniteFloat],
    Len(4, 4),
    Field(description="[x, y, width, height] in pixels, top-left corner, 0-based"),
]

#: 0 or 1 (COCO marks crowd regions with 1 and stores them as RLE).
CrowdFlag = Annotated[int, Ge(0), Le(1)]


@dataclass(frozen=True)
class LengthMultiple:
    """An after-validator: a list's length is a multiple of ``n`` (which JSON Schema cannot
    express). A rule on lengths only, so a batch of lists can be checked by their lengths."""

    n: int
    #: The message, with ``{}`` for the length found.
    message: str

    def __call__(self, values: list[float]) -> list[float]:
        if len(values) % self.n:
            raise ValueError(self.message.format(len(values)))
        return values


_even_count = LengthMultiple(2, "expected an even number of coordinates (x, y pairs), got {}")
_triples = LengthMultiple(3, "expected (x, y, v) triples, got {} numbers")


#: One polygon ring as a flat list ``[x1, y1, x2, y2, ...]``: at least 3 points.
Polygon = Annotated[
    list[FiniteFloat],
    MinLen(6),
    AfterValidator(_even_count),
    Field(
        description=(
            "flat [x1, y1, x2, y2, ...] of at least 3 points; the count must be even "
            "(JSON Schema cannot express evenness; coco-convert checks it)"
        )
    ),
]


def _counts_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "compressed"
    if isinstance(value, list):
        return "uncompressed"
    return None


#: RLE counts: pycocotools' compressed string, or the run lengths as a list of ints.
RLECounts = Annotated[
    Annotated[str, Tag("compressed")] | Annotated[list[NonNegativeInt], Tag("uncompressed")],
    Discriminator(
        _counts_kind,
        custom_error_type="rle_counts_type",
        custom_error_message="expected a compressed RLE string or a list of run lengths",
    ),
]


@with_config(MODEL_CONFIG)
class RLE(TypedDict):
    """Run-length encoded mask: column-major runs alternating background and foreground,
    starting with background. ``counts`` is a list of ints (uncompressed, as COCO stores
    crowd regions) or pycocotools' compressed string."""

    counts: RLECounts
    size: Annotated[
        list[Annotated[int, Ge(0), Le(SIDE_MAX)]], Len(2, 2), Field(description="[height, width]")
    ]


def _segmentation_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "rle"
    if isinstance(value, list):
        return "polygons"
    return None


#: A list of polygons (an object in several parts has several), or one RLE.
Segmentation = Annotated[
    Annotated[list[Polygon], Tag("polygons")] | Annotated[RLE, Tag("rle")],
    Discriminator(
        _segmentation_kind,
        custom_error_type="segmentation_type",
        custom_error_message="expected a list of polygons or an RLE object",
    ),
]

#: ``[x1, y1, v1, x2, y2, v2, ...]``: v is 0 (not labelled), 1 (labelled, not visible) or 2.
Keypoints = Annotated[
    list[FiniteFloat],
    AfterValidator(_triples),
    Field(
        description=(
            "flat [x1, y1, v1, ...] triples; v is 0 not labelled, 1 labelled but not "
            "visible, 2 visible (JSON Schema cannot express triples; coco-convert checks it)"
        )
    ),
]
