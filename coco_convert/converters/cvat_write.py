"""COCO to CVAT XML: the writer behind :func:`coco_convert.converters.cvat.write_cvat`.

One split is written as a task export, several as a project export (a task per split, each
image naming its ``subset`` and ``task_id``), which is what CVAT's importers and Datumaro
read. Every text from the data goes through lxml (escaped; characters XML cannot hold
replaced and reported), numbers are written in full (``repr``), so boxes, polygons and masks
come back exactly. The file is written atomically, one image at a time.

A COCO file read a chunk at a time (``--stream``) gives the same bytes and report in bounded
memory: its images are made in one pass, each with its annotations, and parked on disk until
the meta (which needs every label and attribute value) is written before them; what the pass
reports is put back in the order loading gives it (:attr:`_Writer.at`). lxml's
``etree.xmlfile`` is not used for the incremental writing: it writes the XML declaration in
single quotes, where this writer has always written double ones, and every element is
serialised on its own anyway.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from lxml import etree

from ..dataset import AnyDataset, CocoDataset
from ..errors import GeometryError, Location
from ..io import atomic_write, check_output
from ..shapes import SHAPE_KEY, box_from_corners, envelope
from ..xmlio import xml_text
from .base import streamed_splits
from .cvat_meta import INPUT_TYPES, AttributeSpec, render_svg
from .loss import ConversionError, LossReport

if TYPE_CHECKING:
    from ..streaming import CocoStream

__all__ = ["write"]

#: What CVAT gives every shape, kept in ``attributes`` by the reader: written as the shape's
#: XML attributes, never as ``<attribute>`` children.
BUILTIN = frozenset(
    ("occluded", "z_order", "group_id", "source", "track_id", "keyframe", "rotation")
)
#: Annotation keys the XML carries (``area`` is recomputed by any reader; ``shape`` restores
#: ellipses and polylines).
_CARRIED = frozenset(
    ("id", "image_id", "category_id", "segmentation", "bbox", "area", "iscrowd", "attributes",
     "keypoints", "num_keypoints", SHAPE_KEY)
)  # fmt: skip
_IMAGE_CARRIED = frozenset(("id", "file_name", "width", "height", "attributes"))


#: Where a record stands in the order loading visits it: (split number, 0 for an annotation
#: or 1 for an image, its index); categories come first (split 0).
At = tuple[int, int, int]


def _num(value: float) -> str:
    """A coordinate in full: ints as ints, floats in their shortest exact form."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return repr(float(value))


def _points(coords: Sequence[float]) -> str:
    return ";".join(
        f"{_num(x)},{_num(y)}" for x, y in zip(coords[0::2], coords[1::2], strict=False)
    )


@dataclass
class _LabelPlan:
    """A label of the meta: its type, colour, attribute specs, and a skeleton's points."""

    name: str
    type: str = "any"
    color: str = ""
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)
    points: list[str] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    from_points: bool = False
    #: values seen per attribute, for specs the category does not give
    seen: dict[str, _Seen] = field(default_factory=dict)
    declared: bool = False


@dataclass
class _Seen:
    """What the values of an attribute the category does not declare have been (every one
    a boolean; every one a number; their range): enough to choose its spec, in constant
    memory however many there are."""

    first: tuple[At, int]
    bools: bool = True
    numbers: bool = True
    low: Any = None
    high: Any = None
    whole: bool = True

    def add(self, value: bool | float | str) -> None:
        if isinstance(value, bool | str):
            self.numbers = False
            self.bools = self.bools and isinstance(value, bool)
            return
        self.bools = False
        if self.low is None or value < self.low:  # (the first of equal values, as min())
            self.low = value
        if self.high is None or value > self.high:
            self.high = value
        self.whole = self.whole and float(value).is_integer()

    def spec(self, name: str) -> AttributeSpec:
        """All booleans a checkbox, all numbers a number (min, max, step), else text."""
        if self.bools:
            return AttributeSpec(name, "checkbox", False, "false", ["false", "true"])
        if self.numbers:
            step = "1" if self.whole else "0.01"
            return AttributeSpec(
                name, "number", True, _num(self.low),
                [_num(math.floor(self.low)), _num(math.ceil(self.high)), step],
            )  # fmt: skip
        return AttributeSpec(name, "text", True, "", [])


@dataclass
class _Places:
    """The occurrences of one kind of report entry: how many, the first, and the earliest
    few places (kept in bounded memory whatever order they come in)."""

    first: tuple[At, int]
    count: int = 0
    places: list[tuple[At, int, Location | None, str | None]] = field(default_factory=list)

    def add(
        self, at: At, seq: int, where: Location | None, detail: str | None, keep: int | None
    ) -> None:
        self.count += 1
        self.places.append((at, seq, where, detail))
        if keep is not None and len(self.places) > 2 * keep:
            self.places = sorted(self.places)[:keep]

    def earliest(self, keep: int | None) -> list[tuple[At, int, Location | None, str | None]]:
        return sorted(self.places)[:keep]


class _Writer:
    def __init__(self, report: LossReport) -> None:
        self.report = report
        self.labels: dict[str, _LabelPlan] = {}
        self.replaced = 0
        self.tallies: dict[tuple[str, str, str], _Places] = {}
        self.direct: dict[tuple[str, str, str], _Places] = {}
        self.shapes = 0
        #: The record being written (a streamed file gives them in another order than
        #: loading: the report is put in loading's order by it).
        self.at: At = (0, 0, 0)
        self._seq = 0

    # --- reporting (tallied: one report call per kind, not per annotation) ----------------

    def _log(
        self,
        table: dict[tuple[str, str, str], _Places],
        entry: tuple[str, str, str],
        where: Location | None,
        detail: str | None,
        keep: int | None,
    ) -> None:
        self._seq += 1
        places = table.get(entry)
        if places is None:
            places = table[entry] = _Places((self.at, self._seq))
        places.add(self.at, self._seq, where, detail, keep)

    def tally(self, kind: str, key: str, message: str, where: Location) -> None:
        self._log(self.tallies, (kind, key, message), where, None, 5)

    def warn_now(self, key: str, message: str, *, where: Location, detail: str) -> None:
        """``report.warn``, in loading's order (:meth:`flush_warnings`)."""
        self._log(self.direct, ("warn", key, message), where, detail, self.report.max_examples)

    def flush_warnings(self) -> None:
        """Into the report, the warnings of :meth:`warn_now` in loading's order, as a
        loaded file made them: at the end of a split's records."""
        for (_, key, message), entry in sorted(self.direct.items(), key=lambda e: e[1].first):
            shown = entry.earliest(self.report.max_examples)
            for _, _, where, detail in shown:
                self.report.warn(key, message, where=where, detail=detail)
            if entry.count > len(shown):
                self.report.warn(key, message, count=entry.count - len(shown))
        self.direct.clear()

    def flush(self) -> None:
        for (kind, key, message), entry in sorted(self.tallies.items(), key=lambda e: e[1].first):
            record = self.report.lose if kind == "lose" else self.report.warn
            shown = entry.earliest(5)
            for n, (_, _, where, _) in enumerate(shown):
                count = entry.count - len(shown) + 1 if n == len(shown) - 1 else 1
                record(key, message, where=where, count=count)

    def text(self, value: str) -> str:
        clean, replaced = xml_text(value)
        self.replaced += replaced
        return clean

    # --- labels ---------------------------------------------------------------------------

    def categories(self, splits: Mapping[str, CocoDataset[Any, Any]]) -> dict[int, _LabelPlan]:
        """The labels by category id of each split (names shared across splits and ids
        merge into one label)."""
        by_id: dict[int, _LabelPlan] = {}
        for dataset in splits.values():
            source = dataset.source or "<dataset>"
            for i, cat in enumerate(dataset.categories):
                self.at = (0, 0, i)
                name = cat["name"]
                plan = self.labels.get(name)
                if plan is None:
                    plan = self.labels[name] = self._label(cast("dict[str, Any]", cat))
                elif any(c["name"] == name and c["id"] != cat["id"] for c in dataset.categories):
                    self.report.warn(
                        "duplicate_category_name",
                        "categories sharing a name (CVAT labels are names: they merge)",
                        where=Location(source, pointer=f"/categories/{i}"),
                        detail=repr(name),
                    )
                by_id[cat["id"]] = plan
                if cat.get("supercategory"):
                    self.tally("lose", "supercategory",
                               "category supercategories (CVAT labels have none)",
                               Location(source, pointer=f"/categories/{i}"))  # fmt: skip
        return by_id

    def _label(self, cat: dict[str, Any]) -> _LabelPlan:
        plan = _LabelPlan(self.text(cat["name"]))
        cvat = cat.get("cvat") if isinstance(cat.get("cvat"), dict) else {}
        assert isinstance(cvat, dict)
        if isinstance(cvat.get("type"), str):
            plan.type = cvat["type"]
        if isinstance(cvat.get("color"), str):
            plan.color = cvat["color"]
        for record in cvat.get("attributes") or ():
            spec = AttributeSpec.from_dict(record)
            if spec is not None:
                plan.attributes[spec.name] = spec
                plan.declared = True
        names = cat.get("keypoints")
        if isinstance(names, list) and names:
            if cvat.get("keypoints_from") == "points":
                plan.from_points = True
            else:
                plan.type = "skeleton"
                plan.points = [self.text(str(n)) for n in names]
                for edge in cat.get("skeleton") or ():
                    if (
                        isinstance(edge, list)
                        and len(edge) == 2
                        and all(isinstance(v, int) and 1 <= v <= len(names) for v in edge)
                    ):
                        plan.edges.append((edge[0], edge[1]))
        return plan

    def finish_specs(self) -> None:
        """Specs for attributes the categories do not declare, from the values seen
        (:meth:`_Seen.spec`)."""
        for plan in self.labels.values():
            for name, seen in sorted(plan.seen.items(), key=lambda item: item[1].first):
                if name not in plan.attributes:
                    plan.attributes[name] = seen.spec(name)

    def labels_xml(self) -> etree._Element:
        labels = etree.Element("labels")
        for plan in self.labels.values():
            label = etree.SubElement(labels, "label")
            etree.SubElement(label, "name").text = plan.name
            etree.SubElement(label, "color").text = plan.color
            etree.SubElement(label, "type").text = plan.type
            attributes = etree.SubElement(label, "attributes")
            for spec in plan.attributes.values():
                attribute = etree.SubElement(attributes, "attribute")
                etree.SubElement(attribute, "name").text = self.text(spec.name)
                etree.SubElement(attribute, "mutable").text = str(spec.mutable)
                kind = spec.input_type if spec.input_type in INPUT_TYPES else "text"
                etree.SubElement(attribute, "input_type").text = kind
                etree.SubElement(attribute, "default_value").text = self.text(spec.default_value)
                etree.SubElement(attribute, "values").text = self.text("\n".join(spec.values))
            if plan.type == "skeleton":
                etree.SubElement(label, "svg").text = render_svg(plan.points, plan.edges)
                for point in plan.points:
                    child = etree.SubElement(labels, "label")
                    etree.SubElement(child, "name").text = point
                    etree.SubElement(child, "color").text = ""
                    etree.SubElement(child, "type").text = "points"
                    etree.SubElement(child, "attributes")
                    etree.SubElement(child, "parent").text = plan.name
        return labels


def _box(xtl: float, ytl: float, xbr: float, ybr: float) -> dict[str, str]:
    return {"xtl": _num(xtl), "ytl": _num(ytl), "xbr": _num(xbr), "ybr": _num(ybr)}


def write(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    report: LossReport,
    strict: bool,
) -> LossReport:
    """The XML of ``datasets``: loaded, or COCO files read a chunk at a time
    (:class:`~coco_convert.streaming.CocoStream`, ``--stream``), which give the same bytes
    and report in bounded memory: each image is made as it comes with its annotations
    (:func:`~coco_convert.streaming.image_groups`) and parked in a temporary file, since
    the meta before the images needs all of them (labels, attribute specs); what is
    reported is put in the order loading gives (:attr:`_Writer.at`)."""
    streams, splits = streamed_splits(datasets)
    for dataset in splits.values():
        if not isinstance(dataset, CocoDataset) or dataset.kind not in ("instances", "keypoints"):
            raise ConversionError(
                report, f"{report.conversion}: a COCO {dataset.kind} file has no objects for CVAT"
            )
    coco = cast("dict[str, CocoDataset[Any, Any]]", splits)
    writer = _Writer(report)
    by_id = writer.categories(coco)
    project = len(coco) > 1
    with contextlib.ExitStack() as parked:
        planned: dict[str, _SplitPlan] = {}
        for number, (name, loaded) in enumerate(coco.items(), 1):
            task = _Task(number, xml_text(name)[0], project)
            if name in streams:
                body = parked.enter_context(tempfile.TemporaryFile(prefix="coco-convert-cvat."))
                planned[name] = _plan_stream(writer, streams[name], by_id, task, body)
            else:
                planned[name] = _plan_split(writer, loaded, by_id, task)
        writer.finish_specs()
        head = _head(writer, planned)
        writer.flush()
        if writer.replaced:
            report.lose(
                "xml_characters",
                "texts holding characters XML cannot hold: each written as U+FFFD",
                count=writer.replaced,
            )
        report.raise_if_strict(strict)
        check_output(out, [d.source for d in coco.values() if d.source])
        atomic_write(out, _render(head, planned))
    report.count("xml_files", 1)
    report.count("shapes", writer.shapes)
    return report


@dataclass(frozen=True)
class _Task:
    """Which task of the file a split is: its number, its subset's name as written, and
    whether the file is a project (its images and tracks then name both)."""

    number: int
    subset: str
    project: bool

    def xml(self, element: etree._Element) -> bytes:
        """An image or track element of this task, as the file holds it."""
        if self.project:
            element.set("subset", self.subset)
            element.set("task_id", str(self.number))
        etree.indent(element, space="  ", level=1)
        return b"  " + etree.tostring(element, encoding="utf-8") + b"\n"


@dataclass
class _SplitPlan:
    """A split's ``<image>`` elements as the file holds them (made when the file is
    written, or read back from where a streamed file's were parked), how many there are,
    and its ``<track>`` elements."""

    images: Iterable[bytes]
    size: int
    tracks: list[etree._Element]
    task: _Task


def _lose_info(writer: _Writer, document: Mapping[str, Any]) -> None:
    if document.get("info") or document.get("licenses"):
        writer.report.lose("info", "the dataset's info and licenses (CVAT has no such fields)")


Tracked = dict[int, list[tuple[int, etree._Element, _LabelPlan]]]


def _plan_split(
    writer: _Writer, dataset: CocoDataset[Any, Any], by_id: dict[int, _LabelPlan], task: _Task
) -> _SplitPlan:
    source = dataset.source or "<dataset>"
    _lose_info(writer, dataset.document)
    frames = {image["id"]: frame for frame, image in enumerate(dataset.images)}
    images = [etree.Element("image") for _ in dataset.images]
    highest: dict[int, int] = {}
    for ann in dataset.annotations:  # new groups (a skeleton and its box) go above these
        group = _group_of(ann)
        if group is not None:
            highest[ann["image_id"]] = max(highest.get(ann["image_id"], 0), group)
    groups = [[highest.get(image["id"], 0)] for image in dataset.images]
    tracked: Tracked = {}
    for index, ann in enumerate(dataset.annotations):
        writer.at = (task.number, 0, index)
        where = Location(source, pointer=f"/annotations/{index}")
        frame = frames.get(ann["image_id"])
        plan = by_id.get(ann.get("category_id"))
        if frame is None or plan is None:
            _dangling(writer, where)
            continue
        image = dataset.images[frame]
        elements, track = _annotation(writer, ann, plan, image, where, groups[frame])
        if track is not None:
            tracked.setdefault(track, []).append((frame, elements[0], plan))
        else:
            images[frame].extend(elements)
    for frame, image in enumerate(dataset.images):
        writer.at = (task.number, 1, frame)
        _image(writer, image, images[frame], frame, source)
    writer.flush_warnings()
    tracks = _tracks(writer, tracked, len(images))
    return _SplitPlan(map(task.xml, images), len(images), tracks, task)


def _plan_stream(
    writer: _Writer,
    stream: CocoStream,
    by_id: dict[int, _LabelPlan],
    task: _Task,
    body: IO[bytes],
) -> _SplitPlan:
    """:func:`_plan_split` for a streamed file: each image made as it comes with its
    annotations (validated as loading validates them) and parked in ``body``; what is
    reported, the attribute specs and the tracks in loading's order (annotations in file
    order, then images)."""
    from ..streaming import image_groups

    source = stream.name
    _lose_info(writer, stream.header)
    tracked: Tracked = {}
    firsts: dict[int, int] = {}  # each track's first annotation: the tracks' order
    groups = image_groups(
        stream, lambda: stream.checked("images"), lambda: stream.checked("annotations"), last=True
    )
    for frame, image, anns in groups:
        element = etree.Element("image")
        group = [max((g for _, a in anns if (g := _group_of(a)) is not None), default=0)]
        for index, ann in anns:
            writer.at = (task.number, 0, index)
            where = Location(source, pointer=f"/annotations/{index}")
            plan = by_id.get(ann.get("category_id"))
            if frame < 0 or plan is None:
                _dangling(writer, where)
                continue
            elements, track = _annotation(writer, ann, plan, image, where, group)
            if track is not None:
                tracked.setdefault(track, []).append((frame, elements[0], plan))
                firsts[track] = min(firsts.get(track, index), index)
            else:
                element.extend(elements)
        if frame >= 0:
            writer.at = (task.number, 1, frame)
            _image(writer, image, element, frame, source)
            body.write(task.xml(element))
    writer.flush_warnings()
    size = stream.count("images")
    tracks = _tracks(writer, dict(sorted(tracked.items(), key=lambda t: firsts[t[0]])), size)
    return _SplitPlan(_parked(body), size, tracks, task)


def _parked(body: IO[bytes]) -> Iterator[bytes]:
    body.flush()
    body.seek(0)
    while piece := body.read(2**20):
        yield piece


def _group_of(ann: Mapping[str, Any]) -> int | None:
    attributes = ann.get("attributes")
    group = attributes.get("group_id") if isinstance(attributes, dict) else None
    return group if isinstance(group, int) and not isinstance(group, bool) else None


def _dangling(writer: _Writer, where: Location) -> None:
    writer.tally(
        "warn",
        "dangling_annotation",
        "annotations of images or categories not in the file (skipped)",
        where,
    )


def _annotation(
    writer: _Writer,
    ann: Mapping[str, Any],
    plan: _LabelPlan,
    image: Mapping[str, Any],
    where: Location,
    group: list[int],
) -> tuple[list[etree._Element], int | None]:
    """The shapes of one annotation, labelled, for its image's element; or its one shape
    and its track id when it belongs to a track. ``group`` counts the groups of its image."""
    extra = ann.keys() - _CARRIED
    for key in sorted(extra):
        writer.tally("lose", f"field_{key}", f"annotation field '{key}' (CVAT has no place)",
                     where)  # fmt: skip
    attributes = ann.get("attributes")
    if not isinstance(attributes, dict):
        if attributes is not None:
            writer.tally("lose", "attributes", "'attributes' that are not an object", where)
        attributes = {}
    elements = _shapes(writer, ann, attributes, plan, image, where, group)
    track = attributes.get("track_id")
    if isinstance(track, int) and not isinstance(track, bool) and len(elements) == 1:
        if elements[0].tag in ("mask", "skeleton"):
            writer.tally("lose", "track_id",
                         "track ids of masks and skeletons (written as shapes of their frame)",
                         where)  # fmt: skip
        else:
            if attributes.get("keyframe") is False:
                writer.tally("lose", "keyframe",
                             "interpolated track shapes (written as keyframes, so that CVAT "
                             "keeps each one as it is)", where)  # fmt: skip
            return elements, track
    for element in elements:
        element.set("label", plan.name)
    return elements, None


def _image(
    writer: _Writer, image: Mapping[str, Any], element: etree._Element, frame: int, source: str
) -> None:
    """The attributes and tags of an image's element (after its shapes)."""
    element.set("id", str(frame))
    element.set("name", writer.text(image["file_name"]))
    if image.get("width") and image.get("height"):
        element.set("width", str(image["width"]))
        element.set("height", str(image["height"]))
    else:
        writer.tally("warn", "image_size_missing", "images without width and height",
                     Location(source, pointer=f"/images/{frame}"))  # fmt: skip
    extra = image.keys() - _IMAGE_CARRIED
    if extra:
        writer.tally("lose", "image_fields",
                     f"image fields CVAT has no place for ({', '.join(sorted(extra))})",
                     Location(source, pointer=f"/images/{frame}"))  # fmt: skip
    _tags(writer, image, element, Location(source, pointer=f"/images/{frame}"))


def _tracks(writer: _Writer, tracked: Tracked, frames: int) -> list[etree._Element]:
    tracks = [_track(writer, track_id, shapes, frames) for track_id, shapes in tracked.items()]
    return [t for t in tracks if t is not None]


def _tags(writer: _Writer, image: Any, element: etree._Element, where: Location) -> None:
    attributes = image.get("attributes")
    if not isinstance(attributes, dict):
        return
    for key in attributes.keys() - {"tags"}:
        writer.tally("lose", "image_attributes", "image attributes other than tags", where)
        del key
    for tag in attributes.get("tags") or ():
        record = tag if isinstance(tag, dict) else {"label": tag}
        name = record.get("label")
        if not isinstance(name, str):
            writer.tally("lose", "image_tags", "image tags without a label name", where)
            continue
        label = writer.labels.get(name)
        if label is None:
            label = writer.labels[name] = _LabelPlan(writer.text(name), "tag")
        child = etree.SubElement(element, "tag", label=label.name)
        if record.get("source"):
            child.set("source", writer.text(str(record["source"])))
        if isinstance(record.get("group_id"), int) and record["group_id"]:
            child.set("group_id", str(record["group_id"]))
        values = record.get("attributes")
        if isinstance(values, dict):
            _write_attributes(writer, child, values, label, where)


def _write_attributes(
    writer: _Writer,
    element: etree._Element,
    attributes: Mapping[str, Any],
    label: _LabelPlan,
    where: Location,
) -> None:
    for name, value in attributes.items():
        if name in BUILTIN:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = _num(value)
        elif isinstance(value, str):
            text = writer.text(value)
        else:
            writer.tally("lose", "nested_attributes", "attributes with nested values", where)
            continue
        child = etree.SubElement(element, "attribute", name=writer.text(str(name)))
        child.text = text
        seen = label.seen.get(name)
        if seen is None:
            writer._seq += 1
            seen = label.seen[name] = _Seen((writer.at, writer._seq))
        seen.add(value)


def _common(element: etree._Element, attributes: Mapping[str, Any]) -> None:
    """The properties CVAT gives every shape, from the reader's ``attributes``."""
    element.set("occluded", "1" if attributes.get("occluded") else "0")
    source = attributes.get("source")
    if isinstance(source, str) and source:
        element.set("source", source)
    z_order = attributes.get("z_order")
    element.set(
        "z_order", str(z_order if isinstance(z_order, int) and not isinstance(z_order, bool) else 0)
    )
    group = attributes.get("group_id")
    if isinstance(group, int) and not isinstance(group, bool) and group:
        element.set("group_id", str(group))


def _shapes(
    writer: _Writer,
    ann: Mapping[str, Any],
    attributes: dict[str, Any],
    plan: _LabelPlan,
    image: Mapping[str, Any],
    where: Location,
    group: list[int],
) -> list[etree._Element]:
    """The CVAT shapes of one annotation (several for a multi-part polygon or a skeleton
    with its box, grouped: ``group`` holds the last group number of its image)."""
    segmentation = ann.get("segmentation")
    box = ann.get("bbox")
    keypoints = ann.get("keypoints")
    shape = ann.get(SHAPE_KEY)
    elements: list[etree._Element] = []
    if ann.get("iscrowd"):
        attributes = {**attributes, "is_crowd": True}
    if isinstance(keypoints, list) and any(keypoints[2::3]):
        elements += _keypoints(writer, ann, keypoints, plan, where)
        if plan.type == "skeleton" and isinstance(box, list) and len(box) == 4:
            visible = [
                v for i in range(0, len(keypoints), 3) if keypoints[i + 2]
                for v in keypoints[i : i + 2]
            ]  # fmt: skip
            if not visible or [round(v, 6) for v in envelope(visible)] != [
                round(v, 6) for v in box
            ]:
                x, y, w, h = box
                elements.append(etree.Element("box", _box(x, y, x + w, y + h)))
        if isinstance(segmentation, list | dict) and segmentation:
            writer.tally("lose", "keypoints_segmentation",
                         "keypoint objects' segmentations (CVAT skeletons have none; written as "
                         "shapes in the skeleton's group)", where)  # fmt: skip
            elements += _segmentation(writer, segmentation, attributes, box, shape, image, where)
    elif segmentation:
        elements += _segmentation(writer, segmentation, attributes, box, shape, image, where)
    elif isinstance(box, list) and len(box) == 4:
        x, y, w, h = box
        element = etree.Element("box", _box(x, y, x + w, y + h))
        rotation = attributes.get("rotation")
        if isinstance(rotation, int | float) and not isinstance(rotation, bool) and rotation:
            element.set("rotation", _num(rotation))  # CVAT's own COCO export: box + rotation
        elements.append(element)
    else:
        writer.tally("warn", "no_geometry", "annotations without a bbox or segmentation (skipped)",
                     where)  # fmt: skip
        return []
    if len(elements) > 1 and not attributes.get("group_id"):
        group[0] += 1
        attributes = {**attributes, "group_id": group[0]}
    for element in elements:
        _common(element, attributes)
        if element.tag != "skeleton" or not element.get("label"):
            _write_attributes(writer, element, attributes, plan, where)
    writer.shapes += len(elements)
    return elements


def _segmentation(
    writer: _Writer,
    segmentation: Any,
    attributes: Mapping[str, Any],
    box: Any,
    shape: Any,
    image: Mapping[str, Any],
    where: Location,
) -> list[etree._Element]:
    if isinstance(segmentation, dict):
        return _mask(writer, segmentation, image, where)
    polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
    if not polygons:
        return []
    if isinstance(shape, dict) and shape.get("type") == "ellipse":
        center, radii = shape.get("center"), shape.get("radii")
        if (
            isinstance(center, list) and isinstance(radii, list)
            and len(center) == 2 and len(radii) == 2
        ):  # fmt: skip
            element = etree.Element("ellipse", cx=_num(center[0]), cy=_num(center[1]),
                                    rx=_num(radii[0]), ry=_num(radii[1]))  # fmt: skip
            rotation = shape.get("rotation")
            if isinstance(rotation, int | float) and rotation:
                element.set("rotation", _num(rotation))
            return [element]
    if isinstance(shape, dict) and shape.get("type") == "polyline" and len(polygons) == 1:
        return [etree.Element("polyline", points=_points(polygons[0]))]
    rotation = attributes.get("rotation")
    if (
        len(polygons) == 1
        and len(polygons[0]) == 8
        and isinstance(rotation, int | float)
        and rotation
    ):
        rotated = box_from_corners(polygons[0], pivot="center")
        if rotated is not None:
            x, y, w, h, angle = (round(v, 9) for v in rotated)  # (float noise)
            element = etree.Element("box", _box(x, y, round(x + w, 9), round(y + h, 9)))
            element.set("rotation", _num(angle))
            return [element]
    if len(polygons) > 1:
        writer.tally("lose", "multi_polygon",
                     "multi-part polygons (written as grouped polygons; read back as one object)",
                     where)  # fmt: skip
    return [etree.Element("polygon", points=_points(p)) for p in polygons]


def _mask(
    writer: _Writer, rle: dict[str, Any], image: Mapping[str, Any], where: Location
) -> list[etree._Element]:
    from .. import geometry

    try:
        if image.get("height") and image.get("width"):
            geometry.check_rle_size(rle, image["height"], image["width"])
        found = geometry.rle_crop(rle)
    except GeometryError as exc:
        writer.warn_now(
            "bad_segmentation", "segmentations that cannot become a CVAT mask (skipped)",
            where=where, detail=exc.message,
        )  # fmt: skip
        return []
    if found is None:
        writer.tally("lose", "empty_mask", "empty masks (CVAT has no empty mask)", where)
        return []
    left, top, crop = found
    height, width = crop.shape
    return [
        etree.Element(
            "mask",
            rle=", ".join(str(n) for n in _cvat_runs(crop)),
            left=str(left),
            top=str(top),
            width=str(width),
            height=str(height),
        )
    ]


def _cvat_runs(crop: Any) -> list[int]:
    """CVAT's RLE of a mask over its own box: row by row, starting with background."""
    import numpy as np

    flat = np.asarray(crop, dtype=np.uint8).ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    return [0, *runs] if flat[0] else runs


def _keypoints(
    writer: _Writer,
    ann: Mapping[str, Any],
    keypoints: list[Any],
    plan: _LabelPlan,
    where: Location,
) -> list[etree._Element]:
    triples = [keypoints[i : i + 3] for i in range(0, len(keypoints) - 2, 3)]
    if plan.type == "skeleton" and len(plan.points) == len(triples):
        skeleton = etree.Element("skeleton")
        for name, (x, y, v) in zip(plan.points, triples, strict=True):
            etree.SubElement(
                skeleton, "points", label=name, outside="0" if v else "1",
                occluded="1" if v == 1 else "0", points=f"{_num(x)},{_num(y)}",
            )  # fmt: skip
        return [skeleton]
    shown = [c for x, y, v in triples if v for c in (x, y)]
    if len(shown) < len(triples) * 2:
        writer.tally("lose", "keypoint_visibility",
                     "unlabelled keypoints of points shapes (CVAT points have no visibility)",
                     where)  # fmt: skip
    element = etree.Element("points", points=_points(shown))
    if any(v == 1 for _, _, v in triples):
        element.set("occluded", "1")
    return [element]


def _track(
    writer: _Writer,
    track_id: int,
    shapes: list[tuple[int, etree._Element, _LabelPlan]],
    frames: int,
) -> etree._Element | None:
    shapes.sort(key=lambda item: item[0])
    label = shapes[0][2]
    if any(plan is not label for _, _, plan in shapes) or len({e.tag for _, e, _ in shapes}) > 1:
        writer.report.lose(
            "mixed_track",
            "tracks whose objects change label or shape type (CVAT tracks cannot: track "
            "written per shape type of its first object; the others left out)",
            detail=f"track {track_id}",
        )
        shapes = [s for s in shapes if s[2] is label and s[1].tag == shapes[0][1].tag]
    track = etree.Element("track", id=str(track_id), label=label.name)
    first = shapes[0][1]
    for key in ("source", "group_id"):  # a track's, not its shapes'
        if first.get(key) is not None:
            track.set(key, first.get(key, ""))
    present = {frame for frame, _, _ in shapes}
    for frame, element, _ in shapes:
        for key in ("source", "group_id"):
            if key in element.attrib:
                del element.attrib[key]
        element.set("frame", str(frame))
        element.set("keyframe", "1")
        element.set("outside", "0")
        track.append(element)
        if frame + 1 < frames and frame + 1 not in present:
            # CVAT would carry the shape on to the end: an outside keyframe stops it
            end = etree.fromstring(etree.tostring(element))
            end.set("frame", str(frame + 1))
            end.set("outside", "1")
            track.append(end)
    return track


def _head(writer: _Writer, planned: dict[str, _SplitPlan]) -> bytes:
    """The XML up to the first image: the declaration, the version and the meta (the task,
    or the project with its labels, tasks and subsets). Counts the texts of the subset
    names that every image and track of a project repeats."""
    names = list(planned)
    project = len(names) > 1
    meta = etree.Element("meta")
    head = etree.SubElement(meta, "project" if project else "task")
    if project:
        etree.SubElement(head, "id").text = "1"
        etree.SubElement(head, "name").text = "coco-convert"
        head.append(writer.labels_xml())
        tasks = etree.SubElement(head, "tasks")
        for number, name in enumerate(names, 1):
            _task_meta(etree.SubElement(tasks, "task"), str(number), name, planned[name].size)
        etree.SubElement(head, "subsets").text = "\n".join(writer.text(n) for n in names)
        for name, split in planned.items():
            writer.replaced += xml_text(name)[1] * (split.size + len(split.tracks))
    else:
        _task_meta(head, "1", names[0], planned[names[0]].size)
        head.append(writer.labels_xml())
    etree.indent(meta, space="  ", level=1)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  '
        + etree.tostring(meta, encoding="utf-8")
        + b"\n"
    )


def _render(head: bytes, planned: dict[str, _SplitPlan]) -> Iterator[bytes]:
    """The file: ``head``, then each split's images and tracks, one element at a time."""
    yield head
    for split in planned.values():
        yield from split.images
        yield from map(split.task.xml, split.tracks)
    yield b"</annotations>\n"


def _task_meta(task: etree._Element, task_id: str, name: str, size: int) -> None:
    for tag, text in (
        ("id", task_id), ("name", name), ("size", str(size)), ("mode", "annotation"),
        ("overlap", "0"), ("bugtracker", ""), ("subset", name), ("start_frame", "0"),
        ("stop_frame", str(max(0, size - 1))), ("frame_filter", ""),
    ):  # fmt: skip
        etree.SubElement(task, tag).text = xml_text(text)[0]
