"""VGG Image Annotator (VIA 2.x) projects and exports as COCO (the ``via`` format; read only).

VIA 2 saves three things, all read here into one COCO dataset:

* a project (*Project > Save*): ``{"_via_settings", "_via_img_metadata", "_via_attributes",
  "_via_data_format_version", "_via_image_id_list"}``;
* *Annotation > Export annotations (as json)*: the ``_via_img_metadata`` object alone,
  ``{"<filename><size>": {"filename", "size", "regions", "file_attributes"}}``;
* *Annotation > Export annotations (as csv)*: one row per region,
  ``filename,file_size,file_attributes,region_count,region_id,region_shape_attributes,
  region_attributes``, the last three JSON (an image without regions has one row with
  ``region_count`` 0).

``regions`` is a list (VIA 2) or an object keyed by region number (VIA 1). Each region's
``shape_attributes`` is one of ``rect`` (``x, y, width, height``: the ``bbox``,
``segmentation: []``), ``polygon`` (``all_points_x``, ``all_points_y``), ``circle`` (``cx, cy,
r``) and ``ellipse`` (``cx, cy, rx, ry`` and, since VIA 2.0.8, ``theta``: clockwise radians),
both an inscribed polygon with the exact figure under the annotation key ``shape``
(:mod:`coco_convert.shapes`), or ``point`` and ``polyline`` (reported: a point belongs to no
object, COCO has no open curves).

The category is the value of one region attribute (``label_attribute``; default: the only
region attribute, then ``label``, then ``class``): a text value, or the option of a radio or
dropdown attribute, named by the option's description when the project has one (as VIA's own
COCO export names categories), else by its id. Without any, every region is one category
``object`` (reported). The other region attributes become the annotation's ``attributes``, the
file attributes the image's.

VIA keeps no image sizes (``size`` is the file's length in bytes): they are read from the
image headers, in ``images`` (default: the folder of the annotation file), and an input whose
images cannot all be found is refused with the list of those missing.
"""

# ruff: noqa: PTH100, PTH120

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from .. import shapes
from ..dataset import InstancesDataset
from ..errors import InputError, JSONSyntaxError, Location, UsageError
from ..images import ImageFileError, find_image, sizes_in_folder
from ..io import gc_paused, parse_json, read_bytes
from ..schemas.types import NUMBER_LIMIT
from .base import DEFAULT_SPLIT, Format, Option, Read
from .classes import category_list, label_names, numbered
from .loss import LossReport

__all__ = ["CSV_HEADER", "FORMAT", "detect", "read_via"]

#: The header VIA 2 writes on its CSV export (VIA 1.0 wrote it after a ``#``).
CSV_HEADER = (
    "filename,file_size,file_attributes,region_count,region_id,region_shape_attributes,"
    "region_attributes"
)
#: The category of regions when the project has no label attribute.
DEFAULT_CATEGORY = "object"
#: Attribute names tried, in order, for the category when there are several.
_LABEL_NAMES = ("label", "class")

_PROBLEMS: dict[str, tuple[str, str]] = {
    "bad_region": ("warn", "regions that cannot be read (dropped)"),
    "unknown_shape": ("warn", "regions of a shape VIA 2 does not draw (dropped)"),
    "too_few_points": ("warn", "polygons with fewer than 3 points (dropped)"),
    "empty_region": ("warn", "regions that enclose no area (dropped)"),
    "region_outside_image": ("warn", "regions reaching outside the image (kept as drawn)"),
    "no_label": ("warn", "regions without a value for the label attribute (dropped)"),
    "several_labels": (
        "warn",
        "regions with several checkbox options of the label attribute (the first is used)",
    ),
    "unknown_class": ("warn", "regions whose label is not in the class list (dropped)"),
    "no_label_attribute": (
        "warn",
        f"projects without a region attribute for the class (every region is "
        f"'{DEFAULT_CATEGORY}'; pass --label-attribute NAME)",
    ),
    "file_size_differs": (
        "warn",
        "images whose file is not the size VIA recorded (another image than the one annotated?)",
    ),
    "duplicate_image": ("warn", "images listed twice"),
    "bad_csv_row": ("warn", "CSV rows that cannot be read (skipped)"),
    "points": ("lose", "point regions (a point belongs to no object in COCO)"),
    "polylines": ("lose", "polyline regions (COCO has no open curves)"),
}


class _Image(NamedTuple):
    filename: str
    size: Any  # the file's length in bytes, as VIA recorded it
    regions: list[tuple[Any, Location]]  # (region, where it is)
    attributes: Any
    where: Location


# --- reading the three layouts ---------------------------------------------------------------


def _load(path: str, report: LossReport) -> tuple[list[_Image], dict[str, Any] | None]:
    """The images of a VIA file (project, JSON export or CSV) and the project's
    ``_via_attributes`` (None when the file has none)."""
    data = read_bytes(path)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith((b"{", b"[")):
        return _load_csv(data, path, report), None
    document = parse_json(data, path)
    if not isinstance(document, dict):
        raise InputError(path, "not a VIA project or export: expected a JSON object")
    attributes = None
    metadata: Any = document
    prefix = ""
    if "_via_img_metadata" in document:
        metadata, prefix = document["_via_img_metadata"], "/_via_img_metadata"
        attributes = document.get("_via_attributes")
        if not isinstance(metadata, dict):
            raise InputError(path, "_via_img_metadata is not an object", pointer=prefix)
        if attributes is not None and not isinstance(attributes, dict):
            raise InputError(path, "_via_attributes is not an object", pointer="/_via_attributes")
    order = list(metadata)
    listed = document.get("_via_image_id_list")
    if isinstance(listed, list) and sorted(map(str, listed)) == sorted(order):
        order = [str(key) for key in listed]
    images: list[_Image] = []
    for key in order:
        entry = metadata[key]
        pointer = f"{prefix}/{_escape(key)}"
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise InputError(
                path,
                "not a VIA image entry (an object with a 'filename')",
                pointer=pointer,
                hint="expected a VIA project (Project > Save) or annotation export",
            )
        regions = entry.get("regions", [])
        if isinstance(regions, dict):  # VIA 1: {"0": region, "1": region, ...}
            items = [(r, f"{pointer}/regions/{_escape(k)}") for k, r in regions.items()]
        elif isinstance(regions, list):
            items = [(r, f"{pointer}/regions/{i}") for i, r in enumerate(regions)]
        else:
            raise InputError(
                path, "regions is neither a list nor an object", pointer=f"{pointer}/regions"
            )
        images.append(
            _Image(
                entry["filename"],
                entry.get("size"),
                [(region, Location(path, where)) for region, where in items],
                entry.get("file_attributes"),
                Location(path, pointer),
            )
        )
    return images, attributes


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _load_csv(data: bytes, path: str, report: LossReport) -> list[_Image]:
    """The images of a VIA CSV export, in the order of their first rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("#") != CSV_HEADER:
        raise InputError(
            path,
            "not a VIA CSV export: the first line is not VIA's header",
            line=1,
            hint=f"expected {CSV_HEADER}",
        )
    images: dict[str, _Image] = {}
    for number, row in enumerate(csv.reader(io.StringIO("\n".join(lines[1:]))), 2):
        if not row or not "".join(row).strip():
            continue
        where = Location(path, line=number)
        if len(row) != 7:
            _report(report, "bad_csv_row", where, f"{len(row)} fields, expected 7")
            continue
        filename, size, file_attributes, count, _, shape, region = row
        try:
            parsed = [
                parse_json(value.encode("utf-8"), path)
                for value in (file_attributes, shape, region)
            ]
        except JSONSyntaxError as exc:
            _report(report, "bad_csv_row", where, f"a field is not JSON: {exc.message}")
            continue
        key = f"{filename}{size}"
        image = images.get(key)
        if image is None:
            image = images[key] = _Image(filename, _int(size), [], parsed[0], where)
        if count.strip() != "0" and parsed[1] != {}:
            image.regions.append(
                ({"shape_attributes": parsed[1], "region_attributes": parsed[2]}, where)
            )
    return list(images.values())


def _int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


# --- the category ------------------------------------------------------------------------------


def _label_attribute(
    images: Sequence[_Image], attributes: dict[str, Any] | None, chosen: str | None
) -> str | None:
    """The region attribute that names the class: ``chosen``, else the only one, else
    ``label``, else ``class``; None when there is none."""
    declared = attributes.get("region") if isinstance(attributes, dict) else None
    if isinstance(declared, dict):
        names = list(declared)
    else:
        found: dict[str, None] = {}
        for image in images:
            for region, _ in image.regions:
                values = region.get("region_attributes") if isinstance(region, dict) else None
                if isinstance(values, dict):
                    found.update(dict.fromkeys(values))
        names = list(found)
    if chosen is not None:
        if names and chosen not in names:
            raise UsageError(
                f"--label-attribute {chosen!r} is not a region attribute of the input "
                f"(it has: {', '.join(names)})"
            )
        return chosen
    if len(names) == 1:
        return str(names[0])
    return next((name for name in _LABEL_NAMES if name in names), None)


def _option_names(attributes: dict[str, Any] | None, attribute: str | None) -> dict[str, str]:
    """Option id -> category name of a radio, dropdown or checkbox attribute: the option's
    description when it has one (what VIA shows, and names categories by in its COCO
    export), else the id."""
    declared = attributes.get("region") if isinstance(attributes, dict) else None
    spec = declared.get(attribute) if isinstance(declared, dict) and attribute else None
    options = spec.get("options") if isinstance(spec, dict) else None
    if not isinstance(options, dict):
        return {}
    return {
        str(key): value.strip() if isinstance(value, str) and value.strip() else str(key)
        for key, value in options.items()
    }


def _label(value: Any, names: dict[str, str]) -> tuple[str | None, bool]:
    """The category name of a label attribute's value (text, an option id, or a checkbox's
    ``{id: true}``) and whether several options were set."""
    if isinstance(value, dict):
        chosen = [str(k) for k, v in value.items() if v is True or v == "true"]
        if not chosen:
            return None, False
        return names.get(chosen[0], chosen[0]), len(chosen) > 1
    if isinstance(value, bool) or value is None:
        return None, False
    text = str(value).strip()
    if not text:
        return None, False
    return names.get(text, text), False


# --- regions -> annotations --------------------------------------------------------------------


def _numbers(shape: dict[str, Any], keys: Sequence[str]) -> list[float] | None:
    values = [shape.get(key) for key in keys]
    if not all(type(v) in (int, float) for v in values):
        return None
    return [float(v) if type(v) is float else v for v in values]  # type: ignore[misc]


def _finite(values: Sequence[float], where: Location) -> None:
    for value in values:
        if not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:
            raise InputError(where, f"{value!r} is not a coordinate (a finite number of pixels)")


def _region(
    region: Any,
    where: Location,
    width: int,
    height: int,
    ellipse_vertices: int | None,
    report: LossReport,
) -> dict[str, Any] | None:
    """The geometry of one region (``segmentation``, ``area``, ``bbox``, maybe ``shape``),
    or None when it gives no object (reported)."""
    shape = region.get("shape_attributes") if isinstance(region, dict) else None
    if not isinstance(shape, dict):
        _report(report, "bad_region", where, "no shape_attributes object")
        return None
    name = shape.get("name")
    if name == "point":
        _report(report, "points", where)
        return None
    if name == "polyline":
        _report(report, "polylines", where)
        return None
    if name == "rect":
        values = _numbers(shape, ("x", "y", "width", "height"))
        if values is None:
            _report(report, "bad_region", where, "rect needs numbers x, y, width, height")
            return None
        _finite(values, where)
        x, y, w, h = values
        if w <= 0 or h <= 0:
            _report(report, "empty_region", where, f"a rect of width {w} and height {h}")
            return None
        found: dict[str, Any] = {"segmentation": [], "area": w * h, "bbox": [x, y, w, h]}
        coords = [x, y, x + w, y + h]
    elif name == "polygon":
        xs, ys = shape.get("all_points_x"), shape.get("all_points_y")
        if (
            not isinstance(xs, list)
            or not isinstance(ys, list)
            or len(xs) != len(ys)
            or not all(type(v) in (int, float) for v in (*xs, *ys))
        ):
            _report(
                report,
                "bad_region",
                where,
                "all_points_x and all_points_y must be equal-length lists of numbers",
            )
            return None
        coords = [v for xy in zip(xs, ys, strict=True) for v in xy]
        _finite(coords, where)
        if len(xs) > 3 and xs[0] == xs[-1] and ys[0] == ys[-1]:
            coords = coords[:-2]  # a closing point repeating the first
        if len(coords) < 6:
            _report(report, "too_few_points", where, f"a polygon with {len(coords) // 2} points")
            return None
        area = shapes.ring_area(coords)
        if area == 0:
            _report(report, "empty_region", where, "all points on one line")
            return None
        found = {"segmentation": [coords], "area": area, "bbox": shapes.envelope(coords)}
    elif name in ("circle", "ellipse"):
        keys = ("cx", "cy", "r") if name == "circle" else ("cx", "cy", "rx", "ry")
        values = _numbers(shape, keys)
        theta = shape.get("theta", 0)
        if values is None or type(theta) not in (int, float):
            _report(report, "bad_region", where, f"{name} needs numbers {', '.join(keys)}")
            return None
        _finite([*values, theta], where)
        cx, cy, rx = values[:3]
        ry = values[3] if name == "ellipse" else rx
        if rx <= 0 or ry <= 0:
            _report(report, "empty_region", where, f"a {name} of radius 0")
            return None
        ellipse = shapes.Ellipse(cx, cy, rx, ry, math.degrees(theta) % 360.0)
        polygon = shapes.ellipse_polygon(ellipse, vertices=ellipse_vertices)
        found = {  # the exact figure's box and area (coco_convert/shapes.py)
            "segmentation": [polygon],
            "area": math.pi * rx * ry,
            "bbox": shapes.ellipse_envelope(ellipse),
            shapes.SHAPE_KEY: shapes.ellipse_record(ellipse),
        }
        left, top, w, h = found["bbox"]
        coords = [
            left,
            top,
            left + w,
            top + h,
        ]
    else:
        _report(report, "unknown_shape", where, repr(name))
        return None
    xs_, ys_ = coords[0::2], coords[1::2]
    if min(xs_) < 0 or min(ys_) < 0 or max(xs_) > width or max(ys_) > height:
        _report(report, "region_outside_image", where, f"outside the {width} x {height} image")
    found["bbox"] = [_clean(v) for v in found["bbox"]]
    found["area"] = _clean(found["area"])
    return found


def _clean(value: float) -> float:
    return value if type(value) is int else round(value, 9)


def _report(report: LossReport, key: str, where: Location, detail: str | None = None) -> None:
    kind, message = _PROBLEMS[key]
    (report.warn if kind == "warn" else report.lose)(key, message, where=where, detail=detail)


# --- VIA -> COCO ----------------------------------------------------------------------------


def read_via(
    src: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    label_attribute: str | None = None,
    labels: str | os.PathLike[str] | Sequence[str] | None = None,
    ellipse_vertices: int | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read a VIA 2 project, JSON export or CSV export into one COCO instances dataset
    (split ``default``).

    ``images`` is the folder the image sizes are read from (default: the annotation file's
    folder); an input with images that cannot be found or read is refused, listing them.
    ``label_attribute`` names the region attribute that holds the class; ``labels`` (a
    class list file or names) fixes the classes and their ids 1..N (default: the classes
    found, sorted). ``ellipse_vertices`` sets the vertex count of circle and ellipse
    polygons. ``jobs``: processes reading image headers (default: every core for many
    images)."""
    if ellipse_vertices is not None and ellipse_vertices < 3:
        raise UsageError(f"--ellipse-vertices must be at least 3, not {ellipse_vertices}")
    report = LossReport("via2coco") if report is None else report
    path = os.fspath(src)
    with gc_paused():
        entries, attributes = _load(path, report)
    folder = os.fspath(images) if images is not None else os.path.dirname(os.path.abspath(path))
    sizes = _sizes(entries, folder, path, jobs)
    attribute = _label_attribute(entries, attributes, label_attribute)
    option_names = _option_names(attributes, attribute)
    if attribute is None and any(image.regions for image in entries):
        _report(report, "no_label_attribute", Location(path))
    images_out: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    labelled: list[tuple[str, dict[str, Any], Location]] = []
    seen: dict[str, Location] = {}
    for image_id, (entry, (width, height, on_disk)) in enumerate(
        zip(entries, sizes, strict=True), 1
    ):
        if entry.filename in seen:
            _report(
                report,
                "duplicate_image",
                entry.where,
                f"{entry.filename!r} is also at {seen[entry.filename]}",
            )
        seen.setdefault(entry.filename, entry.where)
        if type(entry.size) is int and entry.size >= 0 and on_disk != entry.size:
            _report(
                report,
                "file_size_differs",
                entry.where,
                f"{entry.filename!r}: VIA recorded {entry.size} bytes, the file has {on_disk}",
            )
        image: dict[str, Any] = {
            "id": image_id,
            "file_name": entry.filename,
            "width": width,
            "height": height,
        }
        if isinstance(entry.attributes, dict) and entry.attributes:
            image["attributes"] = entry.attributes
        images_out.append(image)
        for region, where in entry.regions:
            geometry = _region(region, where, width, height, ellipse_vertices, report)
            if geometry is None:
                continue
            values = region.get("region_attributes")
            values = dict(values) if isinstance(values, dict) else {}
            if attribute is None:
                name: str | None = DEFAULT_CATEGORY
            else:
                name, several = _label(values.pop(attribute, None), option_names)
                if name is None:
                    _report(report, "no_label", where, f"no value for {attribute!r}")
                    continue
                if several:
                    _report(report, "several_labels", where)
            annotation: dict[str, Any] = {
                "id": 0,
                "image_id": image_id,
                "category_id": 0,
                **geometry,
            }
            annotation["iscrowd"] = 0
            if values:
                annotation["attributes"] = values
            # (the exact figure last, after the COCO fields)
            if shapes.SHAPE_KEY in annotation:
                annotation[shapes.SHAPE_KEY] = annotation.pop(shapes.SHAPE_KEY)
            labelled.append((str(name), annotation, where))
    names = label_names(labels) if labels is not None else sorted({n for n, _, _ in labelled})
    categories = numbered(names)
    ids = {cat["name"]: cat["id"] for cat in categories}
    for name, annotation, where in labelled:
        category_id = ids.get(name)
        if category_id is None:
            _report(report, "unknown_class", where, f"{name!r} is not in the class list")
            continue
        annotation["category_id"] = category_id
        annotation["id"] = len(annotations) + 1
        annotations.append(annotation)
    report.count("images", len(images_out))
    report.count("annotations", len(annotations))
    report.count("categories", len(categories))
    if attribute is not None:
        report.stats["label_attribute"] = attribute
    if categories:
        report.stats["categories"] = category_list(categories)
    document = {
        "info": {"description": "converted from VIA by coco-convert"},
        "licenses": [],
        "images": images_out,
        "annotations": annotations,
        "categories": categories,
    }
    dataset = InstancesDataset(document, source=path, validate=True)
    report.raise_if_strict(strict)
    return {DEFAULT_SPLIT: dataset}, report


def _sizes(
    entries: Sequence[_Image], folder: str, path: str, jobs: int | None
) -> list[tuple[int, int, int | None]]:
    """``(width, height, bytes on disk)`` of every image, from its header under ``folder``;
    an :class:`InputError` listing the images without one."""
    found = sizes_in_folder(folder, [entry.filename for entry in entries], jobs=jobs)
    missing = [
        (entry, why) for entry, why in zip(entries, found, strict=True) if isinstance(why, str)
    ]
    if missing:
        shown = "; ".join(f"{entry.filename} ({why})" for entry, why in missing[:5])
        more = f"; and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(
            path,
            f"VIA keeps no image sizes, and {len(missing)} of {len(entries)} images have none "
            f"under {folder}: {shown}{more}",
            hint="pass --images DIR, the folder holding the images",
        )
    sizes: list[tuple[int, int, int | None]] = []
    for entry, size in zip(entries, found, strict=True):
        assert not isinstance(size, str)  # (refused above)
        try:
            on_disk: int | None = find_image(folder, entry.filename).stat().st_size
        except (ImageFileError, OSError):
            on_disk = None
        sizes.append((size[0], size[1], on_disk))
    return sizes


# --- the format -----------------------------------------------------------------------------

_PROJECT = re.compile(rb'"_via_img_metadata"\s*:')
#: An export: ``{"<key>": {"filename": "...", "size": ..., "regions": ...``.
_EXPORT = re.compile(
    rb'^\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\{\s*"filename"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"size"\s*:'
)


def detect(path: Path) -> bool:
    """A VIA project or JSON export (``.json``), or a VIA CSV export (``.csv``)."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv") or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf")
    if suffix == ".csv":
        first = head.split(b"\n", 1)[0].strip().lstrip(b"#")
        return first == CSV_HEADER.encode("ascii")
    return _PROJECT.search(head) is not None or _EXPORT.match(head) is not None


FORMAT = Format(
    name="via",
    title="VGG Image Annotator 2 (project, JSON and CSV exports)",
    limits=(
        "Read only. Regions with region and file attributes: rectangles, polygons, "
        "circles and ellipses (kept exactly under 'shape'); points and polylines have no "
        "COCO counterpart. No image sizes (read from the images), no category ids."
    ),
    kinds=("instances",),
    patterns=("via_project.json", "via_region_data.json", "*_csv.csv"),
    detect=detect,
    read=read_via,
    read_options=(
        Option(
            "images",
            "Folder of the images, whose headers give their sizes (VIA keeps none). "
            "Default: the annotation file's folder.",
            type="dir",
        ),
        Option(
            "label_attribute",
            "The region attribute holding the class (default: the only region attribute, "
            "else 'label', else 'class').",
            metavar="NAME",
        ),
        Option(
            "labels",
            "Class names, one per line, in id order. Default: the classes found, sorted.",
            metavar="FILE",
        ),
        Option(
            "ellipse_vertices",
            "Vertices of the polygon of each circle or ellipse (default: enough that no "
            "edge is more than 0.25 px inside the curve).",
            type="int",
            minimum=3,
            metavar="N",
        ),
    ),
    aliases=("vgg", "via2"),
    rules={
        "bad_region": "A002",
        "unknown_shape": "A003",
        "too_few_points": "A004",
        "empty_region": "A005",
        "region_outside_image": "A006",
        "no_label": "A007",
        "several_labels": "A008",
        "unknown_class": "A009",
        "no_label_attribute": "A010",
        "file_size_differs": "A011",
        "duplicate_image": "A012",
        "bad_csv_row": "A014",
    },
    unreadable="A001",
    other="A013",
    docs="docs/via.md",
)
