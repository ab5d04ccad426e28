"""LabelMe JSON to and from COCO (the ``labelme`` format).

LabelMe saves one JSON file per image (``version``, ``flags``, ``shapes``, ``imagePath``,
``imageData``, ``imageHeight``, ``imageWidth``), usually beside the image. :func:`read_labelme`
reads one file or a folder of them (searched recursively; versions 3 to 6) into one COCO
dataset; :func:`write_labelme` writes one file per image that LabelMe opens.

What each shape becomes (shapes sharing ``(label, group_id)`` are one object, as LabelMe's own
converters group them; ``group_id`` null is an object of its own):

``rectangle``
    The ``bbox`` (corners in either order); ``segmentation`` is ``[]`` (a box, as CVAT and
    voc2coco write boxes) unless the object has other parts, where it is a 4-point polygon.
``polygon``
    A polygon; several in one object are a multi-part segmentation (what labelme2coco loses).
``circle`` (centre, a point on the circle)
    An inscribed polygon (:func:`coco_convert.shapes.ellipse_polygon`; ``ellipse_vertices``
    vertices, default: no edge more than 0.25 px inside), the exact circle kept under the
    annotation key ``shape`` (:mod:`coco_convert.shapes`).
``oriented_rectangle`` (4 corners)
    The exact 4-point polygon, ``bbox`` its envelope, ``attributes.rotation`` its clockwise
    angle: the rotated-box convention of :mod:`coco_convert.shapes`.
``mask`` (a base64 PNG and its box)
    The PNG placed with its top-left pixel at the first point, as labelme does
    (``int(x1), int(y1)``): an exact COCO RLE of the whole image.
``point``
    A keypoint of the object sharing its ``group_id`` (named by the point's label); any other
    point is reported.
``line``, ``linestrip``, ``points``
    Reported: COCO has no open curves (``points`` are LabelMe's prompts for its AI models).

Shape ``flags`` and ``description`` become the annotation's ``attributes``, the file's
``flags`` the image's ``attributes``; a shape flag ``iscrowd`` is COCO's crowd flag (what
:func:`write_labelme` writes for crowd regions). Pixel frame: LabelMe's points are in the
continuous frame COCO uses (origin at the image's top-left corner), so they are taken as they
are. (LabelMe's own ``shape_to_mask`` draws with Pillow, which puts pixel centres on whole
numbers: its masks are half a pixel off COCO's and include the outline; docs/labelme.md
lists the differences.)
"""

# Per-file paths are strings (os.path): at 100k files, Path objects cost more than the parse.
# ruff: noqa: PTH100, PTH113, PTH118, PTH119, PTH120, PTH122

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast, get_args

from .. import shapes
from ..dataset import AnyDataset, CocoDataset, InstancesDataset, KeypointsDataset
from ..errors import InputError, JSONSyntaxError, Location, UsageError
from ..images import ImageFileError, ImageSizeError, open_image, read_size, read_size_of
from ..io import atomic_directory, atomic_files, dump_json, gc_paused, parse_json, read_file
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from ..schemas.coco import Category
from ..schemas.types import NUMBER_LIMIT, SIDE_MAX
from .base import DEFAULT_SPLIT, Format, Option, Read, streamed_splits
from .classes import NOT_CLASSES, category_list, label_names, numbered
from .loss import ConversionError, LossReport

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..streaming import CocoStream

__all__ = [
    "FORMAT",
    "LABELME_VERSION",
    "RleShape",
    "detect",
    "find_label_files",
    "parse_labelme",
    "read_labelme",
    "write_labelme",
]

RleShape = Literal["mask", "polygon"]
RLE_SHAPES: tuple[RleShape, ...] = get_args(RleShape)

#: The ``version`` coco2labelme writes: the LabelMe release whose file format it follows
#: (``oriented_rectangle`` shapes need LabelMe 6; every other shape opens in LabelMe 5.3+).
LABELME_VERSION = "6.3.1"

#: Shape types LabelMe draws.
SHAPE_TYPES = frozenset(
    {"polygon", "rectangle", "circle", "line", "linestrip", "point", "points", "mask",
     "oriented_rectangle"}
)  # fmt: skip
#: Keys of a shape that are read; LabelMe 3's colours are reported; others are lost.
_SHAPE_KEYS = frozenset(
    {"label", "points", "group_id", "shape_type", "flags", "description", "mask"}
)
#: The fewest points of each shape type (3 for the others).
_POINTS_NEEDED = {"point": 1, "rectangle": 2, "circle": 2, "mask": 1, "oriented_rectangle": 4}
_COLOUR_KEYS = frozenset({"line_color", "fill_color", "lineColor", "fillColor"})
_FILE_KEYS = frozenset(
    {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"}
)
#: The shape flag that carries COCO's crowd flag through LabelMe.
CROWD_FLAG = "iscrowd"

#: What each problem key means (the same sentence for every occurrence) and whether it is a
#: warning (a problem of the input) or a loss (what COCO cannot hold).
_PROBLEMS: dict[str, tuple[Literal["warn", "lose"], str]] = {
    "not_labelme": ("warn", "JSON files that are not LabelMe annotations (skipped)"),
    "bad_shape": ("warn", "shapes that cannot be read (dropped)"),
    "unknown_shape_type": ("warn", "shapes of a type LabelMe does not draw (dropped)"),
    "too_few_points": ("warn", "shapes with too few points for their type (dropped)"),
    "empty_shape": ("warn", "shapes that enclose no area (dropped)"),
    "not_a_rectangle": (
        "warn",
        "oriented rectangles whose corners are not a rectangle's (kept as polygons)",
    ),
    "shape_outside_image": ("warn", "shapes reaching outside the image (kept as drawn)"),
    "image_size_mismatch": (
        "warn",
        "files whose imageWidth/imageHeight disagree with the embedded image (its size is used)",
    ),
    "no_image_size": (
        "warn",
        "images of unknown size (no imageWidth/imageHeight, image data or image file; "
        "masks and bounds cannot be checked)",
    ),
    "mask_without_size": ("warn", "mask shapes in images of unknown size (dropped)"),
    "mask_size_mismatch": (
        "warn",
        "mask shapes whose second point disagrees with the PNG's size (placed at the first)",
    ),
    "unknown_class": ("warn", "shapes whose label is not in the class list (dropped)"),
    "empty_label": ("warn", "shapes without a label (dropped)"),
    "duplicate_image": ("warn", "images named by two label files"),
    "bad_group_id": ("warn", "group_id values that are not integers (taken as none)"),
    "bad_flags": ("warn", "flags that are not an object of true/false values (ignored)"),
    "duplicate_keypoint": (
        "warn",
        "points repeating a keypoint name within one object (the first is kept)",
    ),
    "image_path_outside": (
        "warn",
        "imagePath values leading outside the label folder (kept as the COCO file_name)",
    ),
    "no_image_path": ("warn", "files without an imagePath (the JSON file's name is used)"),
    "lines": ("lose", "line and linestrip shapes (COCO has no open curves)"),
    "points": (
        "lose",
        "points that are no keypoint: no group_id shared with exactly one object",
    ),
    "prompt_points": ("lose", "'points' shapes (LabelMe's prompts for its AI models)"),
    "ignore_regions": (
        "lose",
        "__ignore__ shapes (labelme's regions to leave out; COCO has no unlabelled regions)",
    ),
    "colours": ("lose", "shape colours of LabelMe 3 (line_color, fill_color)"),
    "extra_keys": ("lose", "file and shape keys COCO has no place for"),
    "exact_figure_in_group": (
        "lose",
        "circles and oriented rectangles in objects of several shapes (kept as polygons; "
        "the exact figure is kept for objects of one shape)",
    ),
    "rasterised_parts": (
        "lose",
        "polygon parts of objects that also have a mask (rasterised into its RLE)",
    ),
    "image_data": (
        "lose",
        "images embedded in the files (imageData; pass --extract-images DIR to write them)",
    ),
}


# --- one file -> COCO records (pure, no reports: the problems come back with it) ----------------


class Problem(NamedTuple):
    """One problem of a file: its key (see ``_PROBLEMS``), JSON pointer and detail."""

    key: str
    pointer: str
    detail: str | None = None


class Parsed(NamedTuple):
    """One LabelMe file as COCO records: the image (without ``id``), its annotations (without
    ids; ``category`` the label, ``keypoints`` a ``{name: [x, y]}`` mapping still to be laid
    out in the category's order), the problems met, and the embedded image's bytes when
    asked for."""

    path: str
    image: dict[str, Any]
    annotations: list[dict[str, Any]]
    problems: list[Problem]
    image_data: bytes | None = None


class _Shape(NamedTuple):
    number: int  # its index in the file's shapes
    label: str
    kind: str  # the shape_type
    coords: list[float]  # flat x, y pairs
    flags: dict[str, bool]
    description: str
    mask: Any = None  # (rle, box) of a mask shape
    area: float | None = None  # a polygon's (shapes.ring_area, computed once)
    bounds: tuple[float, float, float, float] | None = None  # its points' (computed once)


def parse_labelme(
    data: bytes,
    path: str = "<labelme>",
    *,
    folder: str | None = None,
    images: str | None = None,
    ellipse_vertices: int | None = None,
    keep_image_data: bool = False,
) -> Parsed | None:
    """The COCO records of one LabelMe file's bytes, or None when the JSON is not a LabelMe
    annotation. ``folder`` is the root the image's ``file_name`` is made relative to (default:
    the file's own folder); ``images`` a folder to read the image's size from when the file
    does not give it. Raises :class:`~coco_convert.errors.InputError` with the JSON pointer
    for what cannot be read at all: malformed JSON, ``imageData`` or a mask that is not
    base64 of an image, coordinates that are not finite numbers, a mask outside its image."""
    document = _parse_json(data, path)
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        return None
    problems: list[Problem] = []
    image, image_data = _image(document, path, folder, images, problems)
    width, height = image.get("width"), image.get("height")
    annotations = _annotations(document["shapes"], path, width, height, ellipse_vertices, problems)
    extra = sorted(k for k in document if k not in _FILE_KEYS and k not in _COLOUR_KEYS)
    if extra:
        problems.append(Problem("extra_keys", "", ", ".join(extra)))
    if any(document.get(k) is not None for k in _COLOUR_KEYS):
        problems.append(Problem("colours", ""))
    if image_data is not None and not keep_image_data:
        problems.append(Problem("image_data", "/imageData"))
        image_data = None
    return Parsed(path, image, annotations, problems, image_data)


def _parse_json(data: bytes, path: str) -> Any:
    """The parsed JSON. LabelMe writes with Python's ``json``, which writes a NaN coordinate
    as ``NaN`` (not JSON): such a file is refused at the NaN's JSON pointer."""
    try:
        return parse_json(data, path)
    except JSONSyntaxError:
        if b"NaN" not in data and b"Infinity" not in data:
            raise
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            raise JSONSyntaxError(path, "not JSON", line=1, column=1) from None
        found = _non_finite(document)
        if found is None:
            raise
        raise InputError(path, f"{found[1]} is not a number", pointer=found[0]) from None


def _non_finite(document: Any) -> tuple[str, float] | None:
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return pointer, value
        if isinstance(value, dict):
            stack.extend((v, f"{pointer}/{_escape(str(k))}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(value))
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _image(
    document: dict[str, Any],
    path: str,
    folder: str | None,
    images: str | None,
    problems: list[Problem],
) -> tuple[dict[str, Any], bytes | None]:
    """The image record (``file_name``, size, flags) and the embedded image's bytes."""
    here = os.path.dirname(path)
    image_path = document.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        stem = os.path.splitext(os.path.basename(path))[0]
        problems.append(Problem("no_image_path", "/imagePath", f"{stem}.jpg is used"))
        image_path = f"{stem}.jpg"
    written = image_path.replace("\\", "/")
    if written.startswith("/") or re.match(r"[A-Za-z]:/", written):
        # an absolute path of the machine that wrote it: its base name, beside the JSON
        problems.append(Problem("image_path_outside", "/imagePath", repr(image_path)))
        written = PurePosixPath(written).name
    relative = os.path.relpath(here, folder).replace(os.sep, "/") if folder else "."
    file_name = os.path.normpath(os.path.join(relative, written)).replace(os.sep, "/")
    if (file_name.startswith("../") and not written.startswith("../")) or written.startswith("../"):
        problems.append(Problem("image_path_outside", "/imagePath", repr(image_path)))
    image: dict[str, Any] = {"file_name": file_name}

    image_data: bytes | None = None
    embedded: tuple[int, int] | None = None
    raw = document.get("imageData")
    if raw is not None:
        image_data = _base64(raw, path, "/imageData", "imageData")
        try:
            embedded = read_size_of(image_data)
        except ImageSizeError as exc:
            raise InputError(
                path, f"imageData is not an image: {exc}", pointer="/imageData"
            ) from None
    width, height = _side(document, "imageWidth", path), _side(document, "imageHeight", path)
    if embedded is not None:
        if (width, height) != embedded and (width is not None or height is not None):
            problems.append(
                Problem(
                    "image_size_mismatch",
                    "/imageWidth",
                    f"imageWidth x imageHeight {width} x {height}, the embedded image "
                    f"{embedded[0]} x {embedded[1]}",
                )
            )
        width, height = embedded
    if width is None or height is None:
        found = _size_from_file(os.path.join(here, written), file_name, images)
        if isinstance(found, str):
            problems.append(Problem("no_image_size", "", found))
        else:
            width, height = found
    if width is not None and height is not None:
        image["width"], image["height"] = width, height
    flags = _flags(document.get("flags"), "/flags", problems)
    if flags:
        image["attributes"] = flags
    return image, image_data


def _side(document: dict[str, Any], key: str, path: str) -> int | None:
    value = document.get(key)
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 <= value <= SIDE_MAX:
        raise InputError(
            path, f"{key} is {value!r}, expected a whole number of pixels", pointer=f"/{key}"
        )
    return value or None


def _size_from_file(beside: str, file_name: str, images: str | None) -> tuple[int, int] | str:
    """The size of the image file (beside the JSON, as LabelMe finds it, or in ``images``),
    or why there is none."""
    candidates = [beside]
    if images is not None:
        candidates.append(os.path.join(images, file_name))
        candidates.append(os.path.join(images, PurePosixPath(file_name).name))
    for candidate in candidates:
        if os.path.isfile(candidate):
            try:
                return read_size(candidate)
            except ImageSizeError as exc:
                return f"{candidate}: {exc}"
    hint = "" if images is not None else " (pass --images DIR)"
    return f"no image at {' or '.join(candidates)}{hint}"


def _base64(raw: Any, path: str, pointer: str, what: str) -> bytes:
    if not isinstance(raw, str):
        raise InputError(path, f"{what} is not base64 text", pointer=pointer)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            path, f"{what} is not base64 (an image encoded as text)", pointer=pointer
        ) from None


def _flags(raw: Any, pointer: str, problems: list[Problem]) -> dict[str, bool]:
    if raw is None or raw == {}:
        return {}
    if isinstance(raw, dict) and all(type(v) is bool for v in raw.values()):
        return cast("dict[str, bool]", raw)
    problems.append(Problem("bad_flags", pointer, repr(raw)[:60]))
    return {}


def _annotations(
    raw_shapes: list[Any],
    path: str,
    width: int | None,
    height: int | None,
    ellipse_vertices: int | None,
    problems: list[Problem],
) -> list[dict[str, Any]]:
    """The objects of one file, in the order of their first shapes."""
    objects: dict[tuple[str, Any], list[_Shape]] = {}
    points: list[tuple[_Shape, int | None]] = []
    for index, raw in enumerate(raw_shapes):
        found = _shape(raw, index, path, width, height, problems)
        if found is None:
            continue
        shape, group = found
        if shape.kind == "point":
            points.append((shape, group))
            continue
        key = (shape.label, group if group is not None else ("single", index))
        objects.setdefault(key, []).append(shape)
    annotations = [
        _object(parts, path, width, height, ellipse_vertices, problems)
        for parts in objects.values()
    ]
    by_group: dict[int, list[int]] = {}
    for number, (_, group) in enumerate(objects):
        if isinstance(group, int):
            by_group.setdefault(group, []).append(number)
    for shape, group in points:
        owners = by_group.get(group, []) if group is not None else []
        if len(owners) != 1:
            why = (
                "no group_id"
                if group is None
                else f"group_id {group} is shared by {len(owners)} objects"
            )
            problems.append(Problem("points", f"/shapes/{shape.number}", why))
            continue
        keypoints = annotations[owners[0]].setdefault("keypoints", {})
        if shape.label in keypoints:
            problems.append(
                Problem("duplicate_keypoint", f"/shapes/{shape.number}", repr(shape.label))
            )
            continue
        keypoints[shape.label] = shape.coords[:2]
    return annotations


def _shape(
    raw: Any,
    index: int,
    path: str,
    width: int | None,
    height: int | None,
    problems: list[Problem],
) -> tuple[_Shape, int | None] | None:
    """One shape read, or None when it is dropped (the reason in ``problems``)."""
    where = f"/shapes/{index}"
    if not isinstance(raw, dict):
        problems.append(Problem("bad_shape", where, "not an object"))
        return None
    label = raw.get("label")
    if not isinstance(label, str):
        problems.append(Problem("bad_shape", f"{where}/label", "the label is not text"))
        return None
    if not label.strip():
        problems.append(Problem("empty_label", f"{where}/label"))
        return None
    kind = raw.get("shape_type")
    if kind is None:
        kind = "polygon"  # LabelMe 3 wrote no shape_type: polygons
    if kind not in SHAPE_TYPES:
        problems.append(Problem("unknown_shape_type", f"{where}/shape_type", repr(kind)))
        return None
    coords = _coords(raw.get("points"), path, f"{where}/points")
    if coords is None:
        problems.append(Problem("bad_shape", f"{where}/points", "points are not [x, y] pairs"))
        return None
    extra = [] if raw.keys() <= _SHAPE_KEYS else [k for k in raw if k not in _SHAPE_KEYS]
    if extra:
        if any(raw[k] is not None for k in extra if k in _COLOUR_KEYS):
            problems.append(Problem("colours", where))
        others = sorted(k for k in extra if k not in _COLOUR_KEYS)
        if others:
            problems.append(Problem("extra_keys", where, ", ".join(others)))
    if label == "__ignore__":
        problems.append(Problem("ignore_regions", where))
        return None
    if kind in ("line", "linestrip"):
        problems.append(Problem("lines", where, kind))
        return None
    if kind == "points":
        problems.append(Problem("prompt_points", where))
        return None
    group = raw.get("group_id")
    if group is not None and type(group) is not int:
        problems.append(Problem("bad_group_id", f"{where}/group_id", repr(group)))
        group = None
    flags = _flags(raw.get("flags"), f"{where}/flags", problems)
    description = raw.get("description")
    description = description if isinstance(description, str) else ""
    count = len(coords) // 2
    if count < _POINTS_NEEDED.get(kind, 3):
        problems.append(
            Problem("too_few_points", f"{where}/points", f"a {kind} with {count} points")
        )
        return None
    mask = bounds = None
    if kind == "mask":
        if width is None or height is None:
            problems.append(Problem("mask_without_size", where))
            return None
        mask = _mask(raw, coords, path, where, width, height, problems)
    elif kind != "circle":
        xs, ys = coords[0::2], coords[1::2]
        bounds = (min(xs), min(ys), max(xs), max(ys))
        if width is not None and height is not None:
            _check_inside(bounds, width, height, where, problems)
    if kind == "circle":
        radius = math.hypot(coords[2] - coords[0], coords[3] - coords[1])
        if radius == 0:
            problems.append(Problem("empty_shape", where, "a circle of radius 0"))
            return None
        coords = coords[:4]
        if width is not None and height is not None:
            cx, cy = coords[0], coords[1]
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            _check_inside(box, width, height, where, problems)
    elif kind == "rectangle":
        coords = coords[:4]
        if coords[0] == coords[2] or coords[1] == coords[3]:
            problems.append(Problem("empty_shape", where, "a rectangle of width or height 0"))
            return None
    area = None
    if kind in ("polygon", "oriented_rectangle"):
        area = shapes.ring_area(coords)
        if area == 0:
            problems.append(Problem("empty_shape", where, "all points on one line"))
            return None
    return _Shape(index, label, kind, coords, flags, description, mask, area, bounds), group


#: The types a coordinate may have (``bool`` is no number here).
_NUMBER_TYPES = frozenset((int, float))


def _coords(raw: Any, path: str, pointer: str) -> list[float] | None:
    """Flat ``[x1, y1, ...]`` of ``[[x, y], ...]``; None when it is not that shape; an
    :class:`InputError` at the value for a coordinate that is not a finite number."""
    if not isinstance(raw, list):
        return None
    # (the checks run over whole lists in C: most of a file's numbers are here)
    if not raw:
        return []
    if set(map(type, raw)) != {list} or set(map(len, raw)) != {2}:
        return None
    flat: list[float] = list(chain.from_iterable(raw))
    if not set(map(type, flat)) <= _NUMBER_TYPES:
        return None
    try:
        total = sum(flat)
        bad = total - total != 0  # inf or NaN among them (sums of values in range are finite)
    except OverflowError:  # an int too large for a float
        bad = True
    if bad or min(flat) < -NUMBER_LIMIT or max(flat) > NUMBER_LIMIT:
        at = next(i for i, v in enumerate(flat) if not -NUMBER_LIMIT <= v <= NUMBER_LIMIT)
        raise InputError(
            path,
            f"{flat[at]!r} is not a coordinate (a finite number of pixels)",
            pointer=f"{pointer}/{at // 2}/{at % 2}",
        )
    return flat


def _check_inside(
    bounds: tuple[float, float, float, float],
    width: int,
    height: int,
    where: str,
    problems: list[Problem],
) -> None:
    left, top, right, bottom = bounds
    if left < 0 or top < 0 or right > width or bottom > height:
        problems.append(
            Problem("shape_outside_image", where, f"outside the {width} x {height} image")
        )


def _mask(
    raw: dict[str, Any],
    coords: list[float],
    path: str,
    where: str,
    width: int,
    height: int,
    problems: list[Problem],
) -> tuple[dict[str, Any], list[float]]:
    """A mask shape's PNG placed at its first point: (its RLE over the whole image, the box
    of its pixels). Refused when it is no PNG or does not fit in the image."""
    import io

    import numpy as np

    from .. import geometry

    data = _base64(raw.get("mask"), path, f"{where}/mask", "the mask")
    try:
        with open_image(io.BytesIO(data)) as png:
            pixels = np.asarray(png)
    except ImageFileError as exc:
        raise InputError(
            path, f"the mask is not an image: {exc}", pointer=f"{where}/mask"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated pixel data
        raise InputError(
            path, f"the mask cannot be decoded: {exc}", pointer=f"{where}/mask"
        ) from None
    if pixels.ndim != 2:
        raise InputError(
            path,
            f"the mask has {pixels.shape[2]} channels; LabelMe masks are one channel",
            pointer=f"{where}/mask",
        )
    rows, cols = pixels.shape
    x0, y0 = int(coords[0]), int(coords[1])  # as labelme places it: points.astype(int)
    if x0 < 0 or y0 < 0 or x0 + cols > width or y0 + rows > height:
        raise InputError(
            path,
            f"the {cols} x {rows} mask at ({x0}, {y0}) does not fit in the {width} x "
            f"{height} image",
            pointer=f"{where}/points",
        )
    if len(coords) >= 4:
        x1, y1 = int(coords[2]), int(coords[3])
        if (x1 - x0 + 1, y1 - y0 + 1) != (cols, rows):
            problems.append(
                Problem(
                    "mask_size_mismatch",
                    f"{where}/points",
                    f"the points span {x1 - x0 + 1} x {y1 - y0 + 1} pixels, the PNG is "
                    f"{cols} x {rows}",
                )
            )
    full: npt.NDArray[np.uint8] = np.zeros((height, width), dtype=np.uint8)
    full[y0 : y0 + rows, x0 : x0 + cols] = pixels != 0
    rle = geometry.mask_to_rle(full)
    return cast("dict[str, Any]", rle), geometry.rle_bbox([rle])[0]


def _object(
    parts: list[_Shape],
    path: str,
    width: int | None,
    height: int | None,
    ellipse_vertices: int | None,
    problems: list[Problem],
) -> dict[str, Any]:
    """The annotation of one object's shapes (its ``category`` still a label)."""
    first = parts[0]
    where = f"/shapes/{first.number}"
    annotation: dict[str, Any] = {"category": first.label, "where": where}
    attributes: dict[str, Any] = {}
    for part in parts:
        for flag, value in part.flags.items():
            attributes.setdefault(flag, value)
        if part.description and "description" not in attributes:
            attributes["description"] = part.description
    crowd = attributes.pop(CROWD_FLAG, False) is True
    single = len(parts) == 1
    figure: dict[str, Any] | None = None
    exact: shapes.Ellipse | None = None
    polygons: list[list[float]] = []
    masks: list[dict[str, Any]] = []
    for part in parts:
        if part.kind == "rectangle":
            x0, y0, x1, y1 = part.coords
            left, top, right, bottom = min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
            polygons.append([left, top, right, top, right, bottom, left, bottom])
        elif part.kind == "circle":
            cx, cy, px, py = part.coords
            radius = math.hypot(px - cx, py - cy)
            circle = shapes.Ellipse(cx, cy, radius, radius)
            polygons.append(shapes.ellipse_polygon(circle, vertices=ellipse_vertices))
            if single:
                exact = circle
        elif part.kind == "oriented_rectangle":
            corners = part.coords[:8]
            polygons.append(corners)
            if single:
                box = _rotated_box(corners)
                if box is None:
                    problems.append(Problem("not_a_rectangle", f"/shapes/{part.number}/points"))
                else:
                    attributes["rotation"] = box.rotation
        elif part.kind == "mask":
            masks.append(part.mask[0])
        else:
            polygons.append(part.coords)
        if not single and part.kind in ("circle", "oriented_rectangle"):
            problems.append(Problem("exact_figure_in_group", f"/shapes/{part.number}", part.kind))
    if masks:
        rle = _merge_masks(masks, polygons, width, height)  # (size known: masks need it)
        if polygons:
            problems.append(Problem("rasterised_parts", where, f"{len(polygons)} parts"))
        from .. import geometry

        annotation["segmentation"] = rle
        annotation["area"] = geometry.rle_area([cast("Any", rle)])[0]
        annotation["bbox"] = geometry.rle_bbox([cast("Any", rle)])[0]
    else:
        if single and first.kind == "rectangle":
            annotation["segmentation"] = []
        else:
            annotation["segmentation"] = polygons
        if exact is not None:  # one circle: the exact circle's box and area (shapes.py)
            annotation["bbox"] = [_clean(v) for v in shapes.ellipse_envelope(exact)]
            annotation["area"] = _clean(math.pi * exact.rx * exact.ry)
            figure = shapes.ellipse_record(exact)
        else:
            # (one polygon: its box and area, computed when it was read)
            bounds = first.bounds if single and first.kind == "polygon" else None
            annotation["bbox"] = _envelope(polygons) if bounds is None else _box(bounds)
            area = first.area if single else None
            annotation["area"] = shapes.polygons_area(polygons) if area is None else round(area, 9)
    annotation["iscrowd"] = int(crowd)
    if attributes:
        annotation["attributes"] = attributes
    if figure is not None:
        annotation[shapes.SHAPE_KEY] = figure
    return annotation


def _rotated_box(corners: list[float]) -> shapes.RotatedBox | None:
    """The rotated box of an oriented rectangle's 4 corners, listed clockwise on screen (as
    :mod:`coco_convert.shapes` lists them) or the other way round (LabelMe keeps the order
    they were drawn in); None when they are no rectangle's."""
    box = shapes.box_from_corners(corners, pivot="center")
    if box is None:  # counter-clockwise: the same corners from the first, the other way
        turned = [*corners[:2], *corners[6:8], *corners[4:6], *corners[2:4]]
        box = shapes.box_from_corners(turned, pivot="center")
    return box


def _merge_masks(
    masks: list[dict[str, Any]], polygons: list[list[float]], width: int | None, height: int | None
) -> dict[str, Any]:
    from pycocotools import mask as coco_mask

    from .. import geometry

    assert width is not None, "masks are dropped in images of unknown size"
    assert height is not None
    rles = [geometry.to_rle(cast("Any", m), height, width) for m in masks]
    if polygons:
        rles.append(geometry.to_rle(polygons, height, width))
    if len(rles) == 1:
        return cast("dict[str, Any]", rles[0])
    encoded = [
        {"size": r["size"], "counts": cast("str", r["counts"]).encode("ascii")} for r in rles
    ]
    merged = coco_mask.merge(encoded)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def _envelope(polygons: list[list[float]]) -> list[float]:
    if len(polygons) == 1:  # (the same values, in one pass each)
        xs, ys = polygons[0][0::2], polygons[0][1::2]
        return _box((min(xs), min(ys), max(xs), max(ys)))
    left = min(min(p[0::2]) for p in polygons)
    top = min(min(p[1::2]) for p in polygons)
    right = max(max(p[0::2]) for p in polygons)
    bottom = max(max(p[1::2]) for p in polygons)
    return [left, top, _clean(right - left), _clean(bottom - top)]


def _box(bounds: tuple[float, float, float, float]) -> list[float]:
    left, top, right, bottom = bounds
    return [left, top, _clean(right - left), _clean(bottom - top)]


def _clean(value: float) -> float:
    """Subtraction noise (374.9 - 87.5 = 287.40000000000003) is not in the data."""
    return value if type(value) is int else round(value, 9)


# --- LabelMe -> COCO ------------------------------------------------------------------------


def find_label_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every ``.json`` file below ``folder`` (searched recursively, hidden folders skipped),
    sorted: the files :func:`read_labelme` reads (it skips those that are not LabelMe's)."""
    paths: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        paths.extend(
            os.path.join(dirpath, name)
            for name in filenames
            if name.lower().endswith(".json") and not name.startswith(".")
        )
    paths.sort()
    return paths


class _Task(NamedTuple):
    paths: list[str]
    folder: str
    images: str | None
    ellipse_vertices: int | None
    keep_image_data: bool
    single: bool


def _parse_task(task: _Task) -> list[Parsed | tuple[str, None]]:
    """A worker's share: each file parsed (``(path, None)`` for a JSON that is not
    LabelMe's)."""
    found: list[Parsed | tuple[str, None]] = []
    for path in task.paths:
        parsed = parse_labelme(
            read_file(path),
            path,
            folder=task.folder,
            images=task.images,
            ellipse_vertices=task.ellipse_vertices,
            keep_image_data=task.keep_image_data,
        )
        if parsed is None and task.single:
            raise InputError(
                path,
                "not a LabelMe annotation (a JSON object with a 'shapes' list)",
            )
        found.append((path, None) if parsed is None else parsed)
    return found


#: Files per chunk of work, and the count from which one worker process per core pays off.
_CHUNK = 500
_WORKERS_WORTH_IT = 20_000


def read_labelme(
    src: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | Sequence[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    ellipse_vertices: int | None = None,
    extract_images: str | os.PathLike[str] | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read LabelMe files (one, or a folder searched recursively) into one COCO dataset
    (split ``default``): instances, or keypoints when points belong to objects.

    ``labels`` (labelme's ``labels.txt``, any class list file, or names) fixes the classes and
    their ids 1..N; without it a ``labels.txt`` in the folder is used, else the labels found,
    sorted. ``images`` is where image sizes are read when a file gives none.
    ``ellipse_vertices`` sets the vertex count of circle polygons. ``extract_images`` writes
    the images embedded in the files (``imageData``) under their ``file_name`` into that
    folder (all of them or none). ``jobs``: worker processes (default: every core for large
    folders). Problems go to ``report`` (with ``strict``, a warning refuses the input)."""
    if ellipse_vertices is not None and ellipse_vertices < 3:
        raise UsageError(f"--ellipse-vertices must be at least 3, not {ellipse_vertices}")
    report = LossReport("labelme2coco") if report is None else report
    source = Path(src)
    if not source.exists():
        raise InputError(str(source), "no such file or folder")
    if source.is_dir():
        folder = str(source)
        paths = find_label_files(source)
        if not paths:
            raise InputError(folder, "holds no .json files", hint="LabelMe saves <image>.json")
        if labels is None and (source / "labels.txt").is_file():
            labels = source / "labels.txt"
            report.count("classes from labels.txt")
    else:
        folder, paths = str(source.parent), [str(source)]
    names = label_names(labels) if labels is not None else None
    task = _Task([], folder, None if images is None else os.fspath(images), ellipse_vertices,
                 extract_images is not None, single=not source.is_dir())  # fmt: skip
    tasks = (task._replace(paths=paths[i : i + _CHUNK]) for i in range(0, len(paths), _CHUNK))
    workers = choose_jobs(jobs, len(paths), worth_it=_WORKERS_WORTH_IT)
    total = -(-len(paths) // _CHUNK)
    parsed: list[Parsed] = []
    with gc_paused():
        for chunk in track(
            map_tasks(_parse_task, tasks, jobs=workers), total=total, desc="reading", unit="chunk"
        ):
            for item in chunk:
                if isinstance(item, Parsed):
                    parsed.append(item)
                else:
                    _report(report, "not_labelme", Location(item[0]))
        dataset = build_coco(parsed, report, names=names, source=str(source))
    if extract_images is not None:
        _extract(parsed, Path(extract_images), report)
    report.raise_if_strict(strict)
    return {DEFAULT_SPLIT: dataset}, report


def _report(report: LossReport, key: str, where: Location, detail: str | None = None) -> None:
    kind, message = _PROBLEMS[key]
    (report.warn if kind == "warn" else report.lose)(key, message, where=where, detail=detail)


def build_coco(
    files: Sequence[Parsed],
    report: LossReport,
    *,
    names: Sequence[str] | None = None,
    source: str | None = None,
) -> InstancesDataset | KeypointsDataset:
    """The COCO dataset of parsed files (their problems go to ``report``): images 1..N in
    the files' order, categories from ``names`` or the labels found (sorted)."""
    for parsed in files:
        for problem in parsed.problems:
            _report(report, problem.key, Location(parsed.path, problem.pointer), problem.detail)
    if names is None:
        found = {ann["category"] for parsed in files for ann in parsed.annotations}
        names = sorted(found - NOT_CLASSES) if found else []
    categories: list[Category] = numbered(names)
    ids = {cat["name"]: cat["id"] for cat in categories}
    keypoint_names: dict[str, dict[str, None]] = {}
    for parsed in files:
        for ann in parsed.annotations:
            if "keypoints" in ann and ann["category"] in ids:
                keypoint_names.setdefault(ann["category"], {}).update(
                    dict.fromkeys(ann["keypoints"])
                )
    for cat in categories:
        if cat["name"] in keypoint_names:
            cast("dict[str, Any]", cat)["keypoints"] = list(keypoint_names[cat["name"]])
            cast("dict[str, Any]", cat)["skeleton"] = []
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for image_id, parsed in enumerate(files, 1):
        image = {"id": image_id, **parsed.image}
        file_name = image["file_name"]
        if file_name in seen:
            _report(
                report,
                "duplicate_image",
                Location(parsed.path, "/imagePath"),
                f"{file_name!r} is also the image of {seen[file_name]}",
            )
        seen.setdefault(file_name, parsed.path)
        images.append(image)
        for ann in parsed.annotations:
            label = ann.pop("category")
            where = ann.pop("where")
            category_id = ids.get(label)
            if category_id is None:
                _report(
                    report,
                    "unknown_class",
                    Location(parsed.path, f"{where}/label"),
                    f"{label!r} is not in the class list",
                )
                continue
            record: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category_id,
                **ann,
            }
            if label in keypoint_names:
                placed = ann.get("keypoints", {})
                layout: list[float] = []
                for name in keypoint_names[label]:
                    xy = placed.get(name)
                    layout.extend((xy[0], xy[1], 2) if xy is not None else (0, 0, 0))
                record["keypoints"] = layout
                record["num_keypoints"] = len(placed)
            annotations.append(record)
    report.count("images", len(images))
    report.count("annotations", len(annotations))
    report.count("categories", len(categories))
    if categories:
        report.stats["categories"] = category_list(categories)
    document = {
        "info": {"description": "converted from LabelMe by coco-convert"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    cls = KeypointsDataset if keypoint_names else InstancesDataset
    return cls(document, source=source, validate=True)


def _extract(files: Sequence[Parsed], folder: Path, report: LossReport) -> None:
    """Write the embedded images under their ``file_name``\\ s into ``folder``, all or none;
    names that would lead outside it are reported and left out."""
    written = 0
    with atomic_files(folder) as stage:
        for parsed in files:
            if parsed.image_data is None:
                continue
            name = parsed.image["file_name"]
            parts = PurePosixPath(name).parts
            if ".." in parts or name.startswith("/") or not parts:
                _report(report, "image_path_outside", Location(parsed.path, "/imagePath"), name)
                continue
            target = stage.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(parsed.image_data)
            written += 1
    report.count("images_extracted", written)


# --- COCO -> LabelMe ------------------------------------------------------------------------

_ANNOTATION_KEYS = frozenset(
    {"id", "image_id", "category_id", "segmentation", "bbox", "area", "iscrowd", "attributes",
     "keypoints", "num_keypoints", shapes.SHAPE_KEY}
)  # fmt: skip
_IMAGE_KEYS = frozenset({"id", "file_name", "width", "height", "attributes"})


def write_labelme(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    embed_images: bool = False,
    rle_shape: RleShape = "mask",
    overwrite: bool = False,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write one LabelMe file per image into the folder ``out`` (``<split>/`` per split when
    there are several), at the image's ``file_name`` with ``.json`` for its suffix, plus
    ``labels.txt`` (labelme's class list: ``__ignore__``, ``_background_``, then the
    categories in id order).

    ``imagePath`` is the image's path from its JSON file: under ``images`` (the folder the
    ``file_name``\\ s are relative to) when given, else beside it (copy the JSON files into
    the image folder). ``embed_images`` stores each image in its file (``imageData``, as
    LabelMe saves by default; needs ``images``). RLE segmentations become ``mask`` shapes
    (exact), or with ``rle_shape="polygon"`` polygons that rasterise to the same pixels.
    The folder appears whole or not at all; an existing non-empty one is replaced only with
    ``overwrite``.

    A split may be a COCO file read a chunk at a time
    (:class:`~coco_convert.streaming.CocoStream`, ``--stream``): each image's file is
    written as the image comes with its annotations, the same files and report in bounded
    memory (image ids must be unique)."""
    if rle_shape not in RLE_SHAPES:
        raise UsageError(f"rle_shape must be one of {', '.join(RLE_SHAPES)}, not {rle_shape!r}")
    if embed_images and images is None:
        raise UsageError("--embed-images needs --images DIR (where the images are)")
    report = LossReport("coco2labelme") if report is None else report
    streams, splits = streamed_splits(datasets)
    for dataset in splits.values():
        if not isinstance(dataset, CocoDataset) or dataset.kind not in ("instances", "keypoints"):
            raise ConversionError(
                report, f"{report.conversion}: a COCO {dataset.kind} file has no shapes for LabelMe"
            )
    for stream in streams.values():
        stream.require_unique_image_ids("coco2labelme")
    coco = cast("dict[str, CocoDataset[Any, Any]]", splits)
    # (each split's and the embedding's places, as many as the report keeps: merged in order)
    keeps = report.max_examples
    plans = {
        name: _Plan(dataset, rle_shape, LossReport(report.conversion, max_examples=keeps))
        for name, dataset in coco.items()
    }
    for name, plan in plans.items():  # (a streamed file is planned as it is written)
        if name not in streams:
            plan.files = [plan.image(i, image) for i, image in enumerate(plan.images)]
    if not streams:
        for plan in plans.values():
            _report_plan(report, plan)
    labels = _labels(coco.values())
    report.raise_if_strict(strict)
    inputs = [dataset.source for dataset in coco.values() if dataset.source]
    image_root = None if images is None else os.path.abspath(images)
    embedded = LossReport(report.conversion, max_examples=keeps)
    written = 0
    with atomic_directory(out, overwrite=overwrite, inputs=inputs) as tmp:
        final = Path(os.path.abspath(out))
        for name, plan in plans.items():
            base = tmp if len(plans) == 1 else tmp / name
            final_base = final if len(plans) == 1 else final / name
            files = _stream_files(plan, streams[name]) if name in streams else plan.files
            for relative, document in files:
                target = base / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                file_name = document["imagePath"]
                if image_root is not None:
                    image_file = os.path.join(image_root, file_name)
                    document["imagePath"] = os.path.relpath(
                        image_file, (final_base / relative).parent
                    ).replace(os.sep, "/")
                    if embed_images:
                        document["imageData"] = _embedded(image_file, embedded)
                else:
                    document["imagePath"] = PurePosixPath(file_name).name
                target.write_bytes(dump_json(document, indent=2))
                written += 1
        (tmp / "labels.txt").write_text(
            "".join(f"{line}\n" for line in ("__ignore__", "_background_", *labels)),
            encoding="utf-8",
        )
        if streams:  # (what loading reports before writing, in the same order: the files
            for plan in plans.values():  # appear only after this)
                _report_plan(report, plan)
            report.raise_if_strict(strict)
    report.merge(embedded)
    report.count("label_files", written)
    return report


def _embedded(path: str, report: LossReport) -> str | None:
    try:
        return base64.b64encode(read_file(path, limit=None)).decode("ascii")
    except InputError as exc:
        report.warn(
            "image_unreadable",
            "images that cannot be read for --embed-images (imageData null)",
            where=exc.location,
            detail=exc.message,
        )
        return None


def _labels(datasets: Any) -> list[str]:
    categories = [cat for dataset in datasets for cat in dataset.categories]
    return list(dict.fromkeys(c["name"] for c in sorted(categories, key=lambda c: c["id"])))


class _Plan:
    """The LabelMe document of each image of a split and where it goes (``file_name`` with
    ``.json``), ``imagePath`` still the ``file_name``; what they could not carry goes into
    ``report`` (added to the conversion's by :func:`_report_plan`, after the split's own
    losses, which need all its annotations)."""

    def __init__(
        self, dataset: CocoDataset[Any, Any], rle_shape: RleShape, report: LossReport
    ) -> None:
        self.source = dataset.source or "<dataset>"
        self.document = dataset.document
        self.images = dataset.images
        self.categories = {cat["id"]: cat for cat in dataset.categories}
        self.rle_shape = rle_shape
        self.report = report
        self.by_image: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for index, ann in enumerate(dataset.annotations):
            self.by_image.setdefault(ann["image_id"], []).append((index, ann))
        self.used = {ann.get("category_id") for ann in dataset.annotations}
        self.taken: set[str] = set()
        self.files: list[tuple[str, dict[str, Any]]] = []

    def image(
        self, i: int, image: Any, anns: list[tuple[int, dict[str, Any]]] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The file of image ``i``, with ``anns`` (``(index, annotation)``; default: those
        of its id)."""
        report, source = self.report, self.source
        where = Location(source, f"/images/{i}")
        extra = image.keys() - _IMAGE_KEYS
        if extra:
            report.lose(
                "image_fields",
                "image fields LabelMe has no place for",
                where=where,
                detail=", ".join(sorted(extra)),
            )
        flags = _bool_flags(image.get("attributes"), report, where, "image")
        width, height = image.get("width"), image.get("height")
        document: dict[str, Any] = {
            "version": LABELME_VERSION,
            "flags": flags,
            "shapes": [],
            "imagePath": image["file_name"],
            "imageData": None,
            "imageHeight": height,
            "imageWidth": width,
        }
        group = 0
        for index, ann in self.by_image.get(image["id"], []) if anns is None else anns:
            shapes_of, group = _shapes(
                ann, self.categories, width, height, self.rle_shape, report,
                Location(source, f"/annotations/{index}"), group,
            )  # fmt: skip
            document["shapes"].extend(shapes_of)
        relative = _json_name(image["file_name"], image["id"], self.taken, report, where)
        return relative, document


def _report_plan(report: LossReport, plan: _Plan) -> None:
    """A split's losses, then what its images' files could not carry."""
    if plan.document.get("info") or plan.document.get("licenses"):
        report.lose("info", "the dataset's info and licenses (LabelMe has no such fields)")
    unused = set(plan.categories) - plan.used
    if unused:
        report.lose(
            "unused_categories",
            "categories no annotation uses (listed in labels.txt only)",
            count=len(unused),
        )
    report.merge(plan.report)


def _stream_files(plan: _Plan, stream: CocoStream) -> Iterator[tuple[str, dict[str, Any]]]:
    """The files of a streamed split, one image at a time with its annotations
    (:func:`~coco_convert.streaming.image_groups`), its records validated as
    :func:`~coco_convert.load` validates them."""
    from ..streaming import image_groups

    groups = image_groups(
        stream, lambda: stream.checked("images"), lambda: stream.checked("annotations")
    )
    for i, image, anns in groups:
        plan.used.update(ann.get("category_id") for _, ann in anns)
        if i >= 0:  # (annotations of no image: in no file, as loaded)
            yield plan.image(i, image, anns)


def _json_name(
    file_name: str, image_id: int, taken: set[str], report: LossReport, where: Location
) -> str:
    """``file_name`` with ``.json`` for its suffix, inside the output folder (parts that would
    lead out of it dropped, reported), unique."""
    parts = [p for p in file_name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts or re.match(r"[A-Za-z]:", file_name):
        report.warn(
            "unsafe_file_name",
            "file names reaching outside the image folder (written under their last part)",
            where=where,
            detail=repr(file_name),
        )
        parts = parts[-1:]
    if not parts:
        parts = [f"image_{image_id}"]
    stem = os.path.splitext(parts[-1])[0] or f"image_{image_id}"
    relative = "/".join([*parts[:-1], f"{stem}.json"])
    if relative.lower() in taken or relative.lower() == "labels.txt":
        report.warn(
            "json_name_collision",
            "images whose names differ only in their suffix (the JSON name gets the image id)",
            where=where,
            detail=repr(file_name),
        )
        relative = "/".join([*parts[:-1], f"{stem}_{image_id}.json"])
    taken.add(relative.lower())
    return relative


def _bool_flags(raw: Any, report: LossReport, where: Location, what: str) -> dict[str, bool]:
    """The true/false attributes (LabelMe flags hold booleans only; the rest is reported)."""
    if not isinstance(raw, dict):
        if raw is not None:
            report.lose("attributes", f"{what} attributes that are not an object", where=where)
        return {}
    flags = {k: v for k, v in raw.items() if type(v) is bool}
    dropped = sorted(k for k in raw if k not in flags and k not in ("rotation", "description"))
    if dropped:
        report.lose(
            "attributes",
            "attributes other than true/false (LabelMe flags are booleans)",
            where=where,
            detail=", ".join(dropped),
        )
    return flags


def _shapes(
    ann: dict[str, Any],
    categories: dict[int, Any],
    width: int | None,
    height: int | None,
    rle_shape: RleShape,
    report: LossReport,
    where: Location,
    group: int,
) -> tuple[list[dict[str, Any]], int]:
    """The LabelMe shapes of one annotation, and the last group id used."""
    category = categories.get(cast("int", ann.get("category_id")))
    if category is None:
        report.warn("unknown_category", "annotations of unknown categories (skipped)", where=where)
        return [], group
    for key in ann.keys() - _ANNOTATION_KEYS:
        report.lose(f"field_{key}", f"annotation field '{key}' (LabelMe has no place for it)",
                    where=where)  # fmt: skip
    attributes = ann.get("attributes")
    flags = _bool_flags(attributes, report, where, "annotation")
    if ann.get("iscrowd"):
        flags[CROWD_FLAG] = True
    description = ""
    if isinstance(attributes, dict) and isinstance(attributes.get("description"), str):
        description = attributes["description"]
    label = category["name"]
    geometry = _geometry(ann, width, height, rle_shape, report, where)
    if not geometry:
        report.warn(
            "no_geometry",
            "annotations without a usable box or segmentation (skipped)",
            where=where,
        )
        return [], group
    keypoints = _points(ann, category, report, where)
    needs_group = len(geometry) > 1 or bool(keypoints)
    group_id = None
    if needs_group:
        group += 1
        group_id = group
    out = []
    for shape_type, points, mask in geometry:
        shape: dict[str, Any] = {
            "label": label,
            "points": points,
            "group_id": group_id,
            "description": description,
            "shape_type": shape_type,
            "flags": flags,
            "mask": mask,
        }
        out.append(shape)
    for name, x, y in keypoints:
        out.append(
            {"label": name, "points": [[x, y]], "group_id": group_id, "description": "",
             "shape_type": "point", "flags": {}, "mask": None}
        )  # fmt: skip
    return out, group


def _geometry(
    ann: dict[str, Any],
    width: int | None,
    height: int | None,
    rle_shape: RleShape,
    report: LossReport,
    where: Location,
) -> list[tuple[str, list[list[float]], str | None]]:
    """``(shape_type, points, mask)`` of each shape an annotation becomes."""
    segmentation = ann.get("segmentation")
    figure = ann.get(shapes.SHAPE_KEY)
    attributes = ann.get("attributes")
    rotated = isinstance(attributes, dict) and "rotation" in attributes
    if isinstance(segmentation, dict):
        return _rle_shapes(segmentation, width, height, rle_shape, report, where)
    if isinstance(segmentation, list) and segmentation:
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if len(polygons) < len(segmentation):
            report.warn(
                "short_polygon",
                "polygons with fewer than 3 points (not written)",
                where=where,
            )
        if len(polygons) == 1 and isinstance(figure, dict) and figure.get("type") == "ellipse":
            circle = _circle(figure)
            if circle is not None:
                return [("circle", circle, None)]
            report.lose(
                "ellipses",
                "ellipses (LabelMe draws circles only: written as their polygon)",
                where=where,
            )
        if len(polygons) == 1 and len(polygons[0]) == 8 and rotated:
            corners = polygons[0]
            if _rotated_box(corners) is not None:
                return [("oriented_rectangle", _pairs(corners), None)]
        return [("polygon", _pairs(p), None) for p in polygons]
    box = ann.get("bbox")
    if isinstance(box, list) and len(box) == 4 and box[2] > 0 and box[3] > 0:
        x, y, w, h = box
        return [("rectangle", [[x, y], [x + w, y + h]], None)]
    return []


def _circle(figure: dict[str, Any]) -> list[list[float]] | None:
    """The two points of a LabelMe circle (centre, a point on it) of an exact ellipse record
    with equal radii; None for any other figure."""
    try:
        (cx, cy), (rx, ry) = figure["center"], figure["radii"]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(isinstance(v, int | float) for v in (cx, cy, rx, ry)) or rx != ry or rx <= 0:
        return None
    return [[cx, cy], [cx + rx, cy]]


def _pairs(flat: Sequence[float]) -> list[list[float]]:
    return [[flat[i], flat[i + 1]] for i in range(0, len(flat) - 1, 2)]


def _rle_shapes(
    segmentation: dict[str, Any],
    width: int | None,
    height: int | None,
    rle_shape: RleShape,
    report: LossReport,
    where: Location,
) -> list[tuple[str, list[list[float]], str | None]]:
    from .. import geometry
    from ..errors import GeometryError

    if not isinstance(width, int) or not isinstance(height, int):
        report.warn(
            "rle_without_size",
            "RLE segmentations of images without a size (not written)",
            where=where,
        )
        return []
    try:
        rle = geometry.to_rle(segmentation, height, width)
    except GeometryError as exc:
        report.warn(
            "bad_rle",
            "RLE segmentations that do not fit their image (not written)",
            where=where,
            detail=exc.message,
        )
        return []
    if rle_shape == "polygon":
        return [("polygon", _pairs(p), None) for p in geometry.rle_to_polygons(rle)]
    mask = geometry.rle_to_mask(rle)
    x, y, w, h = (int(v) for v in geometry.rle_bbox([rle])[0])
    if w == 0 or h == 0:
        report.lose(
            "empty_mask", "RLE masks without pixels (LabelMe has no empty mask)", where=where
        )
        return []
    return [("mask", [[x, y], [x + w - 1, y + h - 1]], _png_base64(mask[y : y + h, x : x + w]))]


def _png_base64(mask: npt.NDArray[Any]) -> str:
    """A mask as LabelMe stores it: a PNG (one bit per pixel), base64."""
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _points(
    ann: dict[str, Any], category: dict[str, Any], report: LossReport, where: Location
) -> list[tuple[str, float, float]]:
    """The labelled keypoints of an annotation as (name, x, y)."""
    values = ann.get("keypoints")
    if not isinstance(values, list) or not values:
        return []
    names = category.get("keypoints") or []
    found = []
    hidden = 0
    for k in range(len(values) // 3):
        x, y, v = values[3 * k : 3 * k + 3]
        if not v:
            continue
        if v == 1:
            hidden += 1
        name = names[k] if k < len(names) else f"keypoint_{k + 1}"
        found.append((name, x, y))
    if hidden:
        report.lose(
            "keypoint_visibility",
            "keypoints labelled but not visible (v=1; LabelMe points have no visibility)",
            where=where,
            count=hidden,
        )
    if category.get("skeleton"):
        report.lose("skeleton", "keypoint skeletons (LabelMe has no edges between points)")
    return found


# --- the format -----------------------------------------------------------------------------

#: A LabelMe file: a JSON object whose keys include "shapes" (a list) and one of LabelMe's.
_SHAPES = re.compile(rb'"shapes"\s*:\s*\[')
_LABELME_KEY = re.compile(rb'"(?:imagePath|imageHeight|imageData|version)"\s*:')
_PEEK = 65536


def _is_labelme(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(_PEEK)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            tail = b""
            if size > _PEEK:
                handle.seek(max(_PEEK, size - _PEEK))
                tail = handle.read()
    except OSError:
        return False
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    both = head + tail
    return _SHAPES.search(both) is not None and _LABELME_KEY.search(both) is not None


def detect(path: Path) -> bool:
    """A LabelMe JSON file, or a folder whose first JSON files (sorted) include one."""
    if path.is_dir():
        candidates = sorted(p for p in path.glob("*.json") if not p.name.startswith("."))[:5]
        return any(_is_labelme(p) for p in candidates)
    return path.suffix.lower() == ".json" and _is_labelme(path)


def validation_pieces(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """How ``validate`` reads LabelMe: each file on its own (one that cannot be read must not
    hide the findings of the others), with the folder's ``labels.txt`` when it has one."""
    if not path.is_dir():
        return [(path, {})]
    options: dict[str, Any] = {}
    if (path / "labels.txt").is_file():
        options["labels"] = path / "labels.txt"
    return [(Path(p), options) for p in find_label_files(path) if _is_labelme(Path(p))]


FORMAT = Format(
    name="labelme",
    title="LabelMe JSON (one file per image)",
    limits=(
        "Shapes with a label, flags (true/false) and a group_id: polygons, rectangles, "
        "circles, oriented rectangles, masks (PNG over a box) and points. No ellipses "
        "(written as polygons), keypoint visibility, skeletons, category ids or "
        "supercategories (labels.txt keeps the order), non-boolean attributes, info or "
        "licenses. Lines and line strips have no COCO counterpart (reported when read)."
    ),
    kinds=("instances", "keypoints"),
    patterns=("*.json", "<folder>/**/*.json", "labels.txt"),
    detect=detect,
    read=read_labelme,
    write=write_labelme,
    read_options=(
        Option(
            "labels",
            "Class names, one per line, in id order (labelme's labels.txt: __ignore__ and "
            "_background_ are skipped). Default: labels.txt in the folder, else the labels "
            "found, sorted.",
            metavar="FILE",
        ),
        Option(
            "images",
            "Image folder, read (headers only) when a file has no imageWidth/imageHeight "
            "and no embedded image. Default: beside each JSON file.",
            type="dir",
        ),
        Option(
            "ellipse_vertices",
            "Vertices of the polygon of each circle (default: enough that no edge is more "
            "than 0.25 px inside the circle).",
            type="int",
            minimum=3,
            metavar="N",
        ),
        Option(
            "extract_images",
            "Write the images embedded in the files (imageData) into this folder, under "
            "their COCO file_name.",
            type="dir",
        ),
    ),
    write_options=(
        Option(
            "images",
            "Folder the COCO file_names are relative to: each imagePath then leads there "
            "from its JSON file (default: the image beside its JSON file).",
            type="dir",
        ),
        Option(
            "embed_images",
            "Store each image in its file (imageData), as LabelMe saves by default "
            "(needs --images).",
            type="flag",
        ),
        Option(
            "rle_shape",
            "RLE segmentations as LabelMe masks (exact) or as polygons tracing the same pixels.",
            type="choice",
            choices=RLE_SHAPES,
            default="mask",
        ),
        Option("overwrite", "Replace the output folder if it exists.", type="flag"),
    ),
    output="folder",
    rules={
        "not_labelme": "M002",
        "bad_shape": "M003",
        "unknown_shape_type": "M004",
        "too_few_points": "M005",
        "empty_shape": "M006",
        "not_a_rectangle": "M007",
        "shape_outside_image": "M008",
        "image_size_mismatch": "M009",
        "no_image_size": "M010",
        "mask_without_size": "M010",
        "mask_size_mismatch": "M011",
        "unknown_class": "M012",
        "empty_label": "M013",
        "duplicate_image": "M014",
        "bad_group_id": "M015",
        "bad_flags": "M015",
        "duplicate_keypoint": "M016",
        "image_path_outside": "M017",
        "no_image_path": "M018",
    },
    unreadable="M001",
    other="M019",
    validation=validation_pieces,
    docs="docs/labelme.md",
    streams=True,
)
