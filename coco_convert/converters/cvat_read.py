"""CVAT XML to COCO: the reader behind :func:`coco_convert.converters.cvat.read_cvat`.

The XML is streamed (:func:`coco_convert.xmlio.iterparse`): ``<meta>`` first, then each
``<image>`` and ``<track>`` as it ends, cleared once read, so memory holds the COCO records
being built and one element, never the document. What each CVAT shape becomes is in
docs/cvat.md and :mod:`.cvat`; the conventions for rotated boxes and ellipses are
:mod:`coco_convert.shapes`'.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from ..dataset import AnyDataset, InstancesDataset, KeypointsDataset
from ..errors import GeometryError, InputError, Location, UsageError
from ..images import ImageFileError, find_image, read_size
from ..io import gc_paused, open_file
from ..schemas.types import NUMBER_LIMIT
from ..shapes import (
    SHAPE_KEY,
    Ellipse,
    ellipse_envelope,
    ellipse_polygon,
    ellipse_record,
    envelope,
    polygons_area,
    ring_area,
    rotated_box_corners,
)
from ..xmlio import iterparse
from .base import DEFAULT_SPLIT
from .cvat_meta import Label, Meta, TaskInfo, parse_meta, parse_svg
from .loss import LossReport

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["read", "xml_sources"]

#: Shapes of CVAT that are objects (``tag`` is an image-level label; ``cuboid`` has no COCO
#: form and is reported).
_SHAPES = frozenset(("box", "polygon", "polyline", "points", "ellipse", "mask", "skeleton"))
#: The root's children that are read (the rest, <version>, is skipped unparsed).
_TOP = ("meta", "image", "track")
#: A file name CVAT gives video frames (``images/frame_000012.PNG`` in its exports).
VIDEO_FRAME = "frame_{:06d}.PNG"
#: The name of the annotation file in a CVAT export (a zip or its folder).
ANNOTATIONS_XML = "annotations.xml"


# --- where the XML is ----------------------------------------------------------------------------


def xml_sources(src: Path) -> list[tuple[str, str | None]]:
    """The XML files to read for ``src``: ``(path, member)`` pairs, ``member`` naming the
    file inside a zip. A folder holds ``annotations.xml`` (a CVAT export unpacked) or
    several ``<subset>.xml`` (Datumaro's export); a zip is CVAT's download itself."""
    if not src.exists():
        raise InputError(str(src), "no such file or folder")
    if src.is_dir():
        if (src / ANNOTATIONS_XML).is_file():
            return [(str(src / ANNOTATIONS_XML), None)]
        found = sorted(str(p) for p in src.glob("*.xml") if p.is_file())
        if not found:
            raise InputError(str(src), f"holds no {ANNOTATIONS_XML} or other .xml file")
        return [(path, None) for path in found]
    if src.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(src) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".xml")]
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(str(src), f"cannot read the zip file: {exc}") from None
        top = [n for n in names if "/" not in n.strip("/")]
        chosen = [n for n in top if n == ANNOTATIONS_XML] or top
        if not chosen:
            raise InputError(str(src), f"the zip holds no {ANNOTATIONS_XML}")
        return [(str(src), name) for name in sorted(chosen)]
    return [(str(src), None)]


@contextmanager
def _open(path: str, member: str | None) -> Iterator[IO[bytes]]:
    if member is None:
        with open_file(path) as handle:
            yield handle
        return
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            yield cast("IO[bytes]", _Seekable(handle))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path}/{member}", f"cannot read from the zip file: {exc}") from None


class _Seekable:
    """A zip member that can be read again from its start (the prolog check rewinds)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)


# --- numbers -------------------------------------------------------------------------------------


def _number(text: str | None, element: Any, name: str, where: str) -> float:
    """A coordinate: a finite number within the schema's range, else an :class:`InputError`
    naming the file, line and attribute."""
    if text is None:
        raise InputError(
            where, f"<{element.tag}> has no {name}= (a required attribute)", line=element.sourceline
        )
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:  # (also false for NaN)
        raise InputError(
            where,
            f"<{element.tag}> {name}={text[:30]!r} is not a finite number",
            line=element.sourceline,
        )
    return value


def _points(text: str | None, element: Any, where: str) -> list[float]:
    """``x0,y0;x1,y1;...`` as flat coordinates (checked as :func:`_number` checks)."""
    if text is None:
        raise InputError(
            where, f"<{element.tag}> has no points= (a required attribute)", line=element.sourceline
        )
    try:
        values = [float(v) for v in text.replace(";", ",").split(",")]
    except ValueError:
        raise InputError(
            where,
            f"<{element.tag}> points={text[:40]!r} is not 'x,y;x,y;...' numbers",
            line=element.sourceline,
        ) from None
    if len(values) % 2:
        raise InputError(
            where,
            f"<{element.tag}> points= holds {len(values)} numbers, not x,y pairs",
            line=element.sourceline,
        )
    total = sum(values)
    if total - total != 0 or max(values) > NUMBER_LIMIT or min(values) < -NUMBER_LIMIT:
        raise InputError(
            where,
            f"<{element.tag}> points= holds a number that is not finite ({_first_bad(values)})",
            line=element.sourceline,
        )
    return values


def _first_bad(values: list[float]) -> str:
    return next((repr(v) for v in values if not -NUMBER_LIMIT <= v <= NUMBER_LIMIT), "out of range")


def _int_attr(element: Any, name: str, where: str, default: int = 0) -> int:
    text = element.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(
            where, f"<{element.tag}> {name}={text[:30]!r} is not a whole number",
            line=element.sourceline,
        ) from None  # fmt: skip
    if not -(2**31) <= value < 2**31:
        raise InputError(
            where, f"<{element.tag}> {name}={value} is out of range", line=element.sourceline
        )
    return value


def _value(text: str, spec: Any) -> Any:
    """An attribute's text typed by its label's spec: checkbox -> bool, number -> int or
    float, anything else (select, radio, text, or undeclared) -> the text."""
    if spec is None:
        return text
    kind = spec.input_type
    if kind == "checkbox":
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        if not math.isfinite(number) or abs(number) > NUMBER_LIMIT:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    return text


# --- the per-file reading state --------------------------------------------------------------


@dataclass
class _Split:
    """What one split (CVAT subset) holds so far."""

    images: list[dict[str, Any]] = field(default_factory=list)
    #: (task id, frame) -> image record, for tracks to find their frames
    frames: dict[tuple[str | None, int], dict[str, Any]] = field(default_factory=dict)
    #: (image record, annotation, order) of every object
    objects: list[tuple[dict[str, Any], dict[str, Any], int]] = field(default_factory=list)


@dataclass
class _Pending:
    """A track's shape waiting for its frame's image (tracks may come before images)."""

    split: str
    task: str | None
    frame: int
    annotation: dict[str, Any]
    where: Location
    mask: tuple[list[int], int, int, int, int] | None = None


class Reader:
    """Reads one or more CVAT XML files into COCO datasets by split."""

    def __init__(
        self,
        report: LossReport,
        *,
        images: Path | None,
        polylines: str,
        points: str,
    ) -> None:
        self.report = report
        self.images_dir = images
        self.polylines = polylines
        self.points_mode = points
        self.splits: dict[str, _Split] = {}
        self.labels: dict[str, Label] = {}
        self.points: dict[str, list[Label]] = {}
        #: skeleton label -> its point names in keypoint order, and its 1-based edges
        self.skeletons: dict[str, tuple[list[str], list[list[int]]]] = {}
        #: label -> point counts of its <points> shapes (those that may become keypoints)
        self.point_counts: dict[str, set[int]] = {}
        self.order = 0
        self.pending: list[_Pending] = []
        self.sizes: dict[str, tuple[int, int] | None] = {}

    # --- files ---------------------------------------------------------------------------

    def read_file(self, path: str, member: str | None) -> None:
        where = path if member is None else f"{path}/{member}"
        meta: Meta | None = None
        # Datumaro writes <subset>.xml without a subset in the meta; CVAT annotations.xml
        stem = Path(member or path).stem
        default_split = DEFAULT_SPLIT if stem.lower() == "annotations" else stem
        with _open(path, member) as handle:
            elements = iterparse(handle, where, tag=_TOP, root="annotations")
            for _, element in elements:
                parent = element.getparent()
                if parent is None or parent.getparent() is not None:
                    continue  # an <image> or <track> below the root is none of CVAT's
                tag = element.tag
                if tag == "image":
                    self._image(element, meta or Meta(), default_split, where)
                elif tag == "track":
                    self._track(element, meta or Meta(), default_split, where)
                else:  # <meta>
                    meta = parse_meta(element, where)
                    self._take_meta(meta, where)
                    own = meta.tasks.get(None)
                    if meta.kind != "project" and own is not None and own.subset:
                        default_split = own.subset
                element.clear()
                while element.getprevious() is not None:  # free what was read
                    del parent[0]
        self._frames_of_video(meta, default_split, where)

    def _take_meta(self, meta: Meta, where: str) -> None:
        for name, label in meta.labels.items():
            self.labels.setdefault(name, label)
        for parent, points in meta.points.items():
            self.points.setdefault(parent, points)
            skeleton = meta.labels.get(parent)
            if skeleton is not None and parent not in self.skeletons:
                self.skeletons[parent] = self._skeleton(skeleton, points, where)
        for name, label in meta.labels.items():
            if label.type == "skeleton" and name not in self.skeletons:
                self.skeletons[name] = self._skeleton(label, [], where)

    def _skeleton(
        self, label: Label, points: list[Label], where: str
    ) -> tuple[list[str], list[list[int]]]:
        """A skeleton label's keypoint names (in the drawing's node order) and edges."""
        names = [point.name for point in points]
        if not label.svg:
            return names, []
        try:
            nodes, edges = parse_svg(label.svg, where)
        except InputError as exc:
            self.report.warn(
                "skeleton_drawing_unreadable",
                "skeleton drawings (<svg>) that cannot be read: no edges, points in meta order",
                where=Location(where, line=label.line),
                detail=f"label {label.name!r}: {exc.message}",
            )
            return names, []
        drawn = [name for _, name in nodes]
        if sorted(drawn) == sorted(names) or not names:
            names = drawn
        index = {node: i for i, (node, _) in enumerate(nodes, 1)}
        skeleton = [[index[a], index[b]] for a, b in edges if a in index and b in index]
        return names, skeleton

    # --- images --------------------------------------------------------------------------

    def _split(self, name: str) -> _Split:
        split = self.splits.get(name)
        if split is None:
            split = self.splits[name] = _Split()
        return split

    def _image(self, element: Any, meta: Meta, default_split: str, where: str) -> None:
        get = element.get
        name = get("name")
        if not name:
            raise InputError(where, "<image> has no name=", line=element.sourceline)
        frame = _int_attr(element, "id", where, default=-1)
        task_id = get("task_id")
        split_name = get("subset") or (meta.task(task_id).subset if task_id else None)
        split = self._split(split_name or default_split)
        image: dict[str, Any] = {"id": len(split.images) + 1, "file_name": name}
        width, height = _int_attr(element, "width", where), _int_attr(element, "height", where)
        if width > 0 and height > 0:
            image["width"], image["height"] = width, height
        else:
            self._size_from_file(image, where, element.sourceline)
        split.images.append(image)
        if frame >= 0:
            split.frames[(task_id, frame)] = image
        tags: list[dict[str, Any]] = []
        for child in element:
            tag = child.tag
            if tag in _SHAPES:
                self._shape(child, tag, image, split, where, child.get("label"), None)
            elif tag == "tag":
                tags.append(self._tag(child, where))
            elif isinstance(tag, str):
                self.report.lose(
                    f"shape_{tag}",
                    f"<{tag}> shapes (COCO has no such shape)",
                    where=Location(where, line=child.sourceline),
                )
        if tags:
            image["attributes"] = {"tags": tags}

    def _size_from_file(self, image: dict[str, Any], where: str, line: int | None) -> None:
        """Width and height from the image file under ``--images`` (headers only), when the
        XML has none; otherwise the image stays without a size (reported)."""
        name = image["file_name"]
        size = self.sizes.get(name, ()) if self.images_dir is not None else None
        if size == () and self.images_dir is not None:
            try:
                size = read_size(find_image(self.images_dir, name))
            except (ImageFileError, OSError):
                size = None
            self.sizes[name] = size
        if size:
            image["width"], image["height"] = size
            self.report.count("image sizes read from the image files")
            return
        self.report.warn(
            "image_without_size",
            "images whose size the XML does not give (pass --images DIR to read it from the "
            "image files; masks cannot be placed without it)",
            where=Location(where, line=line),
            detail=f"{name!r} has no width= and height=",
        )

    def _tag(self, element: Any, where: str) -> dict[str, Any]:
        label = element.get("label")
        if label is None:
            raise InputError(where, "<tag> has no label= (a required attribute)",
                             line=element.sourceline)  # fmt: skip
        self._known_label(label, element, where)
        record: dict[str, Any] = {"label": label}
        attributes = self._attributes(element, self.labels.get(label), where)
        if attributes:
            record["attributes"] = attributes
        group = _int_attr(element, "group_id", where)
        if group:
            record["group_id"] = group
        source = element.get("source")
        if source:
            record["source"] = source
        self.report.count("tags")
        return record

    # --- shapes --------------------------------------------------------------------------

    def _known_label(self, label: str, element: Any, where: str) -> None:
        if label not in self.labels:
            self.labels[label] = Label(label)
            self.report.warn(
                "unknown_label",
                "shapes whose label the <meta> does not declare (a category is added; CVAT "
                "refuses them on import)",
                where=Location(where, line=element.sourceline),
                detail=f"label {label!r} is not in <meta><labels>",
            )

    def _attributes(self, element: Any, label: Label | None, where: str) -> dict[str, Any]:
        """The ``<attribute>`` children, typed by the label's specs (:func:`_value`);
        problems reported. (Run for every shape: the spec's type is tested inline.)"""
        found: dict[str, Any] = {}
        specs = label.attributes if label is not None else {}
        for child in element:
            if child.tag != "attribute":
                continue
            name = child.get("name")
            if name is None:
                raise InputError(where, "<attribute> has no name=", line=child.sourceline)
            text = child.text or ""
            spec = specs.get(name)
            if spec is None:
                found[name] = text
                if label is not None:
                    self.report.warn(
                        "undeclared_attribute",
                        "attributes the shape's label does not declare (CVAT drops them on import)",
                        where=Location(where, line=child.sourceline),
                        detail=f"label {label.name!r} has no attribute {name!r}",
                    )
                continue
            kind = spec.input_type
            value = _value(text, spec) if kind == "checkbox" or kind == "number" else text
            found[name] = value
            if value is text and (kind == "checkbox" or kind == "number"):
                self.report.warn(
                    "attribute_type",
                    "attribute values that are not of their declared type (kept as text)",
                    where=Location(where, line=child.sourceline),
                    detail=f"{name!r} is a {kind} but its value is {text[:30]!r}",
                )
            elif (kind == "select" or kind == "radio") and spec.values and text not in spec.values:
                self.report.warn(
                    "attribute_value",
                    "attribute values that are not among their label's choices",
                    where=Location(where, line=child.sourceline),
                    detail=f"{name!r} is {text[:30]!r}, not one of {', '.join(spec.values[:8])}",
                )
        return found

    def _common(
        self, element: Any, label: str, where: str, track: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The attributes of an object: the label's own (``<attribute>``), then what CVAT
        gives every shape (occluded, z_order, group_id, source, and track_id/keyframe for a
        track's shapes), which win over a label attribute of the same name (reported)."""
        get = element.get
        attributes = self._attributes(element, self.labels.get(label), where)
        if track is not None:
            for key, value in track["attributes"].items():
                attributes.setdefault(key, value)
        z_order = get("z_order")
        builtin: dict[str, Any] = {
            "occluded": get("occluded") == "1",
            "z_order": 0 if z_order is None else _int_attr(element, "z_order", where),
        }
        group = track["group_id"] if track is not None else _int_attr(element, "group_id", where)
        if group:
            builtin["group_id"] = group
        source = track["source"] if track is not None else get("source")
        if source:
            builtin["source"] = source
        if track is not None:
            builtin["track_id"] = track["id"]
            builtin["keyframe"] = get("keyframe") == "1"
        if not attributes:
            return builtin
        clash = builtin.keys() & attributes.keys()
        if clash:
            self.report.lose(
                "attribute_shadowed",
                "label attributes named like a CVAT shape property (occluded, z_order, "
                "group_id, source, track_id, keyframe, rotation): the property is kept",
                where=Location(where, line=element.sourceline),
                detail=", ".join(sorted(clash)),
            )
        attributes.update(builtin)
        return attributes

    def _shape(
        self,
        element: Any,
        tag: str,
        image: dict[str, Any] | None,
        split: _Split | None,
        where: str,
        label: str | None,
        track: dict[str, Any] | None,
        pending: tuple[str, str | None, int] | None = None,
    ) -> None:
        """One shape of an image (``image``) or a track's frame (``pending``: split, task,
        frame), turned into an annotation (or reported)."""
        line = element.sourceline
        if label is None:
            raise InputError(where, f"<{tag}> has no label= (a required attribute)", line=line)
        self._known_label(label, element, where)
        ann: dict[str, Any] = {"id": 0, "image_id": 0, "category_id": label}
        here = Location(where, line=line)
        mask: tuple[list[int], int, int, int, int] | None = None
        get = element.get
        if tag == "box":
            xtl, ytl = (
                _number(get("xtl"), element, "xtl", where),
                _number(get("ytl"), element, "ytl", where),
            )
            xbr = _number(get("xbr"), element, "xbr", where)
            ybr = _number(get("ybr"), element, "ybr", where)
            w, h = _clean(xbr - xtl), _clean(ybr - ytl)
            if w <= 0 or h <= 0:
                self.report.warn(
                    "degenerate_box",
                    "boxes with no area (xbr <= xtl or ybr <= ytl; dropped)",
                    where=here,
                    detail=f"box ({get('xtl')}, {get('ytl')}, {get('xbr')}, {get('ybr')})",
                )
                return
            rotation_text = get("rotation")
            rotation = _number(rotation_text, element, "rotation", where) if rotation_text else 0.0
            if rotation % 360:
                corners = rotated_box_corners(xtl, ytl, w, h, rotation, pivot="center")
                ann["segmentation"] = [corners]
                ann["bbox"] = envelope(corners)
            else:
                ann["segmentation"] = []
                ann["bbox"] = [_clean(xtl), _clean(ytl), w, h]
            ann["area"] = _clean(w * h)
            attributes = self._common(element, label, where, track)
            if rotation_text is not None:
                attributes["rotation"] = rotation
        elif tag == "polygon" or (tag == "polyline" and self.polylines == "polygons"):
            coords = _points(get("points"), element, where)
            if len(coords) < 6:
                self.report.warn(
                    "polygon_too_few_points",
                    "polygons with fewer than 3 points (dropped)",
                    where=here,
                    detail=f"<{tag}> has {len(coords) // 2} points",
                )
                return
            ann["segmentation"] = [coords]
            ann["bbox"] = [_clean(v) for v in envelope(coords)]
            ann["area"] = _clean(ring_area(coords))
            attributes = self._common(element, label, where, track)
            if tag == "polyline":
                ann[SHAPE_KEY] = {"type": "polyline"}
                self.report.lose(
                    "polyline_as_polygon",
                    "polylines kept as polygons (--polylines polygons: closed by their last "
                    "edge; the open line is noted under 'shape')",
                    where=here,
                )
        elif tag == "polyline":
            coords = _points(get("points"), element, where)
            closed = len(coords) >= 6 and math.dist(coords[:2], coords[-2:]) <= 1.0
            self.report.lose(
                "polyline",
                "polylines (COCO has no open lines; --polylines polygons keeps them as polygons)",
                where=here,
                detail="its ends meet: an outline drawn as a polyline?" if closed else None,
            )
            return
        elif tag == "points":
            coords = _points(get("points"), element, where)
            if self.points_mode == "drop":
                self.report.lose(
                    "points",
                    "points shapes (--points drop)",
                    where=here,
                )
                return
            self.point_counts.setdefault(label, set()).add(len(coords) // 2)
            v = 1 if get("occluded") == "1" else 2
            keypoints: list[float] = []
            for x, y in zip(coords[0::2], coords[1::2], strict=True):
                keypoints += (x, y, v)
            ann["keypoints"] = keypoints
            ann["num_keypoints"] = len(coords) // 2
            ann["segmentation"] = []
            box = [_clean(c) for c in envelope(coords)] if coords else [0, 0, 0, 0]
            ann["bbox"] = box
            ann["area"] = _clean(box[2] * box[3])
            attributes = self._common(element, label, where, track)
        elif tag == "ellipse":
            cx, cy = (
                _number(get("cx"), element, "cx", where),
                _number(get("cy"), element, "cy", where),
            )
            rx = _number(get("rx"), element, "rx", where)
            ry = _number(get("ry"), element, "ry", where)
            rotation_text = get("rotation")
            rotation = _number(rotation_text, element, "rotation", where) if rotation_text else 0.0
            if rx <= 0 or ry <= 0:
                self.report.warn(
                    "degenerate_ellipse",
                    "ellipses with a radius of 0 or less (dropped)",
                    where=here,
                    detail=f"rx={get('rx')}, ry={get('ry')}",
                )
                return
            figure = Ellipse(cx, cy, rx, ry, rotation)
            ann["segmentation"] = [[_clean(v) for v in ellipse_polygon(figure)]]
            ann["bbox"] = [_clean(v) for v in ellipse_envelope(figure)]
            ann["area"] = _clean(math.pi * rx * ry)
            ann[SHAPE_KEY] = ellipse_record(figure)
            attributes = self._common(element, label, where, track)
            if rotation_text is not None:
                attributes["rotation"] = rotation
            self.report.lose(
                "ellipse_as_polygon",
                "ellipses as inscribed polygons (within 0.25 px; the exact ellipse kept under "
                "'shape', which coco2cvat restores)",
                where=here,
            )
        elif tag == "mask":
            mask = self._mask(element, where)
            ann["segmentation"] = None  # placed once the image size is known
            attributes = self._common(element, label, where, track)
        elif tag == "skeleton":
            ann.update(self._skeleton_shape(element, label, where))
            attributes = self._common(element, label, where, track)
        else:  # pragma: no cover (callers pass shapes only)
            raise AssertionError(tag)
        if attributes.get("is_crowd") is True:
            ann["iscrowd"] = 1
        else:
            ann["iscrowd"] = 0
        ann["attributes"] = attributes
        self.order += 1
        if pending is not None:
            split_name, task, frame = pending
            self.pending.append(_Pending(split_name, task, frame, ann, here, mask))
            return
        assert image is not None
        assert split is not None
        if mask is not None and not self._place_mask(ann, mask, image, here):
            return
        split.objects.append((image, ann, self.order))

    def _skeleton_shape(self, element: Any, label: str, where: str) -> dict[str, Any]:
        names, _ = self.skeletons.get(label, ([], []))
        index = {name: i for i, name in enumerate(names)}
        triples = [0.0] * (3 * len(names))
        for child in element:
            if child.tag != "points":
                if child.tag in _SHAPES:
                    self.report.lose(
                        "skeleton_element",
                        "skeleton elements that are not points",
                        where=Location(where, line=child.sourceline),
                    )
                continue
            name = child.get("label")
            coords = _points(child.get("points"), child, where)
            if name not in index:
                index[name or ""] = len(names)
                names.append(name or "")
                triples += [0.0, 0.0, 0.0]
                self.skeletons[label] = (names, self.skeletons.get(label, ([], []))[1])
                self.report.warn(
                    "unknown_skeleton_point",
                    "skeleton points whose label the skeleton does not declare (added)",
                    where=Location(where, line=child.sourceline),
                    detail=f"point {name!r} of skeleton {label!r}",
                )
            if child.get("outside") == "1" or len(coords) < 2:
                continue
            at = 3 * index[name or ""]
            triples[at : at + 3] = [coords[0], coords[1], 1 if child.get("occluded") == "1" else 2]
            if any(c.tag == "attribute" for c in child):
                self.report.lose(
                    "skeleton_point_attributes",
                    "attributes of single skeleton points (COCO keypoints have none)",
                    where=Location(where, line=child.sourceline),
                )
        visible = [
            (triples[i], triples[i + 1]) for i in range(0, len(triples), 3) if triples[i + 2]
        ]
        flat = [v for xy in visible for v in xy]
        box = [_clean(v) for v in envelope(flat)] if flat else [0, 0, 0, 0]
        return {
            "segmentation": [],
            "bbox": box,
            "area": _clean(box[2] * box[3]),
            "keypoints": [_clean(v) for v in triples],
            "num_keypoints": len(visible),
        }

    def _mask(self, element: Any, where: str) -> tuple[list[int], int, int, int, int]:
        get = element.get
        rle = get("rle")
        if rle is None:
            raise InputError(where, "<mask> has no rle= (a required attribute)",
                             line=element.sourceline)  # fmt: skip
        left, top = _int_attr(element, "left", where, -1), _int_attr(element, "top", where, -1)
        width = _int_attr(element, "width", where, -1)
        height = _int_attr(element, "height", where, -1)
        if min(left, top) < 0 or min(width, height) <= 0:
            raise InputError(
                where,
                "<mask> needs left=, top= (0 or more), width= and height= (1 or more), got "
                f"{get('left')}, {get('top')}, {get('width')}, {get('height')}",
                line=element.sourceline,
            )
        try:
            runs = [int(v) for v in rle.split(",")]
        except ValueError:
            raise InputError(
                where, f"<mask> rle={rle[:40]!r} is not run lengths separated by commas",
                line=element.sourceline,
            ) from None  # fmt: skip
        if min(runs) < 0 or sum(runs) != width * height:
            raise InputError(
                where,
                f"<mask> rle= run lengths add up to {sum(runs):,} pixels, but its {width} x "
                f"{height} box has {width * height:,}" if min(runs) >= 0 else
                "<mask> rle= has a negative run length",
                line=element.sourceline,
            )  # fmt: skip
        return runs, left, top, width, height

    def _place_mask(
        self,
        ann: dict[str, Any],
        mask: tuple[list[int], int, int, int, int],
        image: dict[str, Any],
        here: Location,
    ) -> bool:
        """The image's exact RLE of a CVAT mask; False (reported) when the image has no
        size. A mask reaching outside its image is an :class:`InputError`."""
        runs, left, top, width, height = mask
        if "width" not in image:
            self.report.warn(
                "mask_without_image_size",
                "masks on images of unknown size (dropped; pass --images DIR)",
                where=here,
            )
            return False
        if left + width > image["width"] or top + height > image["height"]:
            raise InputError(
                here,
                f"<mask> of {width} x {height} at ({left}, {top}) reaches outside its "
                f"{image['width']} x {image['height']} image {image['file_name']!r}",
            )
        crop = _cvat_mask(runs, width, height)
        from .. import geometry

        try:
            ann["segmentation"] = geometry.crop_to_rle(
                crop, left, top, image["height"], image["width"]
            )
        except GeometryError as exc:  # pragma: no cover (checked above)
            raise InputError(here, exc.message) from None
        rows = crop.any(axis=1).nonzero()[0]
        cols = crop.any(axis=0).nonzero()[0]
        if rows.size:
            ann["bbox"] = [
                left + int(cols[0]), top + int(rows[0]),
                int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1,
            ]  # fmt: skip
        else:
            ann["bbox"] = [0, 0, 0, 0]
            self.report.warn("empty_mask", "masks without pixels (kept)", where=here)
        ann["area"] = int(crop.sum())
        return True

    # --- tracks --------------------------------------------------------------------------

    def _track(self, element: Any, meta: Meta, default_split: str, where: str) -> None:
        get = element.get
        label = get("label")
        if label is None:
            raise InputError(where, "<track> has no label= (a required attribute)",
                             line=element.sourceline)  # fmt: skip
        task_id = get("task_id")
        split_name = get("subset") or meta.task(task_id).subset if task_id else get("subset")
        split_name = split_name or default_split
        track = {
            "id": _int_attr(element, "id", where),
            "group_id": _int_attr(element, "group_id", where),
            "source": get("source"),
            "attributes": {},
        }
        self.report.count("tracks")
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag not in _SHAPES:
                self.report.lose(
                    f"shape_{tag}",
                    f"<{tag}> shapes (COCO has no such shape)",
                    where=Location(where, line=child.sourceline),
                )
                continue
            frame = _int_attr(child, "frame", where, default=-1)
            if frame < 0:
                raise InputError(where, f"<{tag}> of a track has no frame=",
                                 line=child.sourceline)  # fmt: skip
            if child.get("outside") == "1":
                continue  # CVAT's mark for "not in this frame"
            self._shape(child, tag, None, None, where, label, track, (split_name, task_id, frame))

    def _frames_of_video(self, meta: Meta | None, default_split: str, where: str) -> None:
        """Images for the frames of video tasks (CVAT for video has no <image> elements):
        every frame of the task's range, named as CVAT names them, of the task's
        ``original_size``; then each track shape goes to its frame's image."""
        if meta is None:
            return
        for task_id, info in meta.tasks.items():
            if info.mode != "interpolation" and not self._tracks_without_images(task_id):
                continue
            split = self._split((info.subset if meta.kind == "project" else None) or default_split)
            if any(key[0] == task_id for key in split.frames):
                continue  # the file lists this task's images
            if info.mode != "interpolation":
                self.report.warn(
                    "frame_names_unknown",
                    "image tasks exported as CVAT for video: the XML has no image names "
                    "(frames named frame_NNNNNN.PNG)",
                    where=Location(where),
                )
            for frame in info.frames() or sorted(
                {p.frame for p in self.pending if p.task == task_id}
            ):
                self._frame_image(split, task_id, frame, info, where)
        for item in self.pending:
            split = self._split(item.split)
            image = split.frames.get((item.task, item.frame))
            if image is None:
                image = self._frame_image(split, item.task, item.frame, meta.task(item.task), where)
                self.report.warn(
                    "frame_outside_task",
                    "track shapes on frames the task does not list (an image is added)",
                    where=item.where,
                    detail=f"frame {item.frame}",
                )
            if item.mask is not None and not self._place_mask(
                item.annotation, item.mask, image, item.where
            ):
                continue
            split.objects.append((image, item.annotation, self.order))
            self.order += 1
        self.pending = []

    def _tracks_without_images(self, task_id: str | None) -> bool:
        return any(p.task == task_id for p in self.pending)

    def _frame_image(
        self, split: _Split, task_id: str | None, frame: int, info: TaskInfo, where: str
    ) -> dict[str, Any]:
        image: dict[str, Any] = {
            "id": len(split.images) + 1,
            "file_name": VIDEO_FRAME.format(frame),
        }
        if info.width and info.height:
            image["width"], image["height"] = info.width, info.height
        else:
            self._size_from_file(image, where, None)
        split.images.append(image)
        split.frames[(task_id, frame)] = image
        return image

    # --- datasets ------------------------------------------------------------------------

    def datasets(self, source: str) -> dict[str, AnyDataset]:
        categories = self._categories()
        by_name = {cat["name"]: cat["id"] for cat in categories}
        keypoints = any("keypoints" in cat for cat in categories)
        out: dict[str, AnyDataset] = {}
        for name, split in self.splits.items():
            annotations = self._annotations(split, by_name, name)
            document = {
                "info": {"description": "converted from CVAT XML by coco-convert"},
                "licenses": [],
                "images": split.images,
                "annotations": annotations,
                "categories": categories,
            }
            self.report.count("images", len(split.images))
            self.report.count("annotations", len(annotations))
            dataset_type = KeypointsDataset if keypoints else InstancesDataset
            # built field by field from checked values: valid by construction (tests check)
            out[name] = dataset_type(document, source=source, validate=False)
        self.report.count("categories", len(categories))
        return out

    def _categories(self) -> list[dict[str, Any]]:
        categories: list[dict[str, Any]] = []
        for number, (name, label) in enumerate(self.labels.items(), 1):
            category: dict[str, Any] = {"id": number, "name": name}
            cvat: dict[str, Any] = {}
            if label.type and label.type != "any":
                cvat["type"] = label.type
            if label.color:
                cvat["color"] = label.color
            if label.attributes:
                cvat["attributes"] = [spec.to_dict() for spec in label.attributes.values()]
            skeleton = self.skeletons.get(name)
            counts = self.point_counts.get(name, set())
            if skeleton is not None:
                category["keypoints"], category["skeleton"] = skeleton[0], skeleton[1]
                points = self.points.get(name, [])
                if any(p.attributes for p in points):
                    cvat["points"] = [
                        {"name": p.name, "attributes": [s.to_dict() for s in p.attributes.values()]}
                        for p in points
                    ]
            elif len(counts) == 1:
                (count,) = counts
                category["keypoints"] = [str(i) for i in range(1, count + 1)]
                category["skeleton"] = []
                cvat["keypoints_from"] = "points"
            if cvat:
                category["cvat"] = cvat
            categories.append(category)
        return categories

    def _annotations(
        self, split: _Split, by_name: dict[str, int], split_name: str
    ) -> list[dict[str, Any]]:
        objects = sorted(split.objects, key=lambda item: (item[0]["id"], item[2]))
        grouped: dict[tuple[int, int], list[dict[str, Any]]] = {}
        annotations: list[dict[str, Any]] = []
        for image, ann, _ in objects:
            label = ann["category_id"]
            if "keypoints" in ann and label not in self.skeletons:
                counts = self.point_counts.get(label, set())
                if len(counts) != 1:
                    self.report.lose(
                        "points",
                        "points shapes of labels whose shapes have different numbers of points "
                        "(COCO keypoints need a fixed list)",
                        detail=f"label {label!r}: {sorted(counts)} points",
                    )
                    continue
            ann["image_id"] = image["id"]
            ann["category_id"] = by_name[label]
            group = ann["attributes"].get("group_id")
            if group:
                grouped.setdefault((image["id"], group), []).append(ann)
            annotations.append(ann)
        dropped = self._merge_groups(grouped)
        if dropped:
            annotations = [ann for ann in annotations if id(ann) not in dropped]
        for number, ann in enumerate(annotations, 1):
            ann["id"] = number
        return annotations

    def _merge_groups(self, grouped: dict[tuple[int, int], list[dict[str, Any]]]) -> set[int]:
        """Shapes CVAT groups that are one COCO object: polygons of one label (a multi-part
        segmentation) and a skeleton or points shape with the group's box (its bbox)."""
        dropped: set[int] = set()
        for members in grouped.values():
            if len(members) < 2:
                continue
            polygons: dict[int, list[dict[str, Any]]] = {}
            for ann in members:
                if _is_polygon(ann):
                    polygons.setdefault(ann["category_id"], []).append(ann)
            for parts in polygons.values():
                if len(parts) < 2:
                    continue
                first = parts[0]
                for part in parts[1:]:
                    first["segmentation"] += part["segmentation"]
                    dropped.add(id(part))
                coords = [v for polygon in first["segmentation"] for v in polygon]
                first["bbox"] = [_clean(v) for v in envelope(coords)]
                first["area"] = _clean(polygons_area(first["segmentation"]))
                self.report.count("grouped polygons joined", len(parts) - 1)
            keypoints = [a for a in members if "keypoints" in a]
            boxes = [a for a in members if _is_box(a)]
            if len(keypoints) == 1 and len(boxes) == 1:
                (target,), (box,) = keypoints, boxes
                target["bbox"] = box["bbox"]
                target["area"] = box["area"]
                dropped.add(id(box))
                self.report.count("grouped boxes taken as keypoints' bbox")
        return dropped


def _is_polygon(ann: dict[str, Any]) -> bool:
    segmentation = ann.get("segmentation")
    return (
        isinstance(segmentation, list)
        and bool(segmentation)
        and SHAPE_KEY not in ann
        and "rotation" not in ann["attributes"]
        and "keypoints" not in ann
    )


def _is_box(ann: dict[str, Any]) -> bool:
    return ann.get("segmentation") == [] and "keypoints" not in ann


def _cvat_mask(runs: list[int], width: int, height: int) -> npt.NDArray[np.uint8]:
    """CVAT's mask RLE decoded: run lengths over the mask's own box, row by row, starting
    with background (``cvat/apps/dataset_manager/formats/transformations.py``)."""
    import numpy as np

    values = np.zeros(len(runs), dtype=np.uint8)
    values[1::2] = 1
    return np.repeat(values, runs).reshape(height, width)


def _clean(value: float) -> float:
    """Subtraction noise rounded away (374.9 - 87.5 = 287.40000000000003 is 287.4), and
    whole numbers as ints (integer pixels stay integers in the JSON)."""
    rounded = round(value, 9)
    return int(rounded) if float(rounded).is_integer() else rounded


def read(
    src: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None,
    polylines: str,
    points: str,
    report: LossReport,
) -> dict[str, AnyDataset]:
    """Read a CVAT export (``annotations.xml``, its folder, its zip, or Datumaro's
    ``<subset>.xml`` files) into COCO datasets by split."""
    source = Path(src)
    folder = Path(images) if images is not None else None
    if folder is not None and not folder.is_dir():
        raise UsageError(f"--images {folder}: not a folder")
    reader = Reader(report, images=folder, polylines=polylines, points=points)
    with gc_paused():
        for path, member in xml_sources(source):
            reader.read_file(path, member)
        return reader.datasets(str(source))
