"""CVAT for images 1.1 and CVAT for video 1.1 XML to and from COCO (the ``cvat`` format).

:func:`read_cvat` reads a task, job or project export (``annotations.xml``, the folder or zip
CVAT downloads, or Datumaro's ``<subset>.xml`` files): one COCO dataset per subset, streamed
so that a multi-gigabyte project export is read in bounded memory. :func:`write_cvat` writes
one ``annotations.xml`` that CVAT imports (a task for one split, a project for several),
with the labels and their attributes in ``<meta>``. The work is in :mod:`.cvat_read` and
:mod:`.cvat_write` (numpy for masks), imported when a file is read or written, not when the
registry lists this format.

What each shape becomes (docs/cvat.md says the same for users):

``box``
    ``bbox``; with ``rotation`` (degrees clockwise about the box's centre), the
    :mod:`coco_convert.shapes` convention: ``bbox`` the envelope, ``segmentation`` the exact
    four corners, ``attributes.rotation`` the angle, which :func:`write_cvat` turns back
    into the same box.
``polygon``
    one polygon; polygons of one label in one ``group_id`` are one object with several
    parts.
``mask``
    CVAT's run lengths over the mask's own box (``left``, ``top``, ``width``, ``height``,
    row by row, starting with background) placed in the image: the exact COCO RLE.
``ellipse``
    an inscribed polygon, the exact ellipse under ``shape`` (reported).
``skeleton``
    a COCO keypoints object of a category whose ``keypoints`` are the skeleton's point
    labels and ``skeleton`` its edges (from the label's drawing); a box in the same
    ``group_id`` is its ``bbox``. ``points`` shapes become keypoints when every shape of
    their label has the same number of points (``--points drop`` leaves them out).
``polyline``
    reported as lost (``--polylines polygons`` keeps them as polygons), as ``cuboid``.
``tag``
    the image's ``attributes.tags``.

Every object's ``attributes`` hold its label's attributes (typed by the ``<meta>``: a
checkbox is a bool, a number a number) and CVAT's own: ``occluded``, ``z_order``,
``group_id``, ``source``, and for a track's shapes ``track_id`` and ``keyframe`` (CVAT's COCO
export puts them there too). A video's tracks give one object per frame in which the track
is not ``outside`` (CVAT writes every frame's shape, interpolated ones included).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from ..dataset import AnyDataset
from ..errors import InputError, UsageError
from ..io import open_file, peek
from .base import Format, Option, Read
from .loss import LossReport

if TYPE_CHECKING:
    from ..streaming import CocoStream

__all__ = [
    "FORMAT",
    "POINTS_MODES",
    "POLYLINE_MODES",
    "detect",
    "read_cvat",
    "write_cvat",
]

PolylineMode = Literal["drop", "polygons"]
PointsMode = Literal["keypoints", "drop"]
POLYLINE_MODES: tuple[PolylineMode, ...] = get_args(PolylineMode)
POINTS_MODES: tuple[PointsMode, ...] = get_args(PointsMode)

#: An XML document whose root is <annotations> (Pascal VOC's is <annotation>).
_CVAT_ROOT = re.compile(rb"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<annotations[\s>]", re.S)


def read_cvat(
    src: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    polylines: PolylineMode = "drop",
    points: PointsMode = "keypoints",
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read a CVAT XML export into COCO datasets, one per subset (``default`` when the
    export names none).

    ``src`` is ``annotations.xml``, the folder or zip CVAT exports (``annotations.xml`` and
    ``images/``), or a folder of Datumaro's ``<subset>.xml`` files. ``images`` is read (image
    headers only) for frames whose size the XML does not give. ``polylines="polygons"`` keeps
    polylines as polygons; ``points="drop"`` leaves out points shapes instead of making
    keypoints of them. Bad input (malformed XML, a coordinate that is no finite number, a
    mask reaching outside its image, a required attribute missing) is an
    :class:`~coco_convert.errors.InputError` naming the file and line; problems that allow
    reading on are warnings, and with ``strict`` an error. ``jobs`` is accepted for the
    contract (the XML is read in one stream)."""
    if polylines not in POLYLINE_MODES:
        raise UsageError(f"polylines must be one of {', '.join(POLYLINE_MODES)}, not {polylines!r}")
    if points not in POINTS_MODES:
        raise UsageError(f"points must be one of {', '.join(POINTS_MODES)}, not {points!r}")
    from . import cvat_read

    report = LossReport("cvat2coco") if report is None else report
    datasets = cvat_read.read(src, images=images, polylines=polylines, points=points, report=report)
    report.raise_if_strict(strict)
    return datasets, report


def write_cvat(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write COCO ``datasets`` (by split name) as one CVAT XML file that CVAT imports: a
    task export for one split, a project export (each split a task of that subset) for
    several. Labels and their attributes go into ``<meta>`` (from the categories' ``cvat``
    record when they have one, else from the values found); boxes, polygons, RLE masks (as
    CVAT's RLE over the mask's box), keypoints (skeletons, with a box in their group),
    rotated boxes and ellipses (restored exactly from ``shape``/``attributes.rotation``),
    image tags and tracks (``attributes.track_id``: every shape a keyframe) are written;
    what CVAT cannot hold is reported. The file appears whole or not at all.

    A split may be a COCO file read a chunk at a time
    (:class:`~coco_convert.streaming.CocoStream`, ``--stream``): the same bytes and report
    in bounded memory."""
    from . import cvat_write

    report = LossReport("coco2cvat") if report is None else report
    return cvat_write.write(datasets, out, report=report, strict=strict)


def detect(path: Path) -> bool:
    """A CVAT XML file (root ``<annotations>``), a folder holding ``annotations.xml`` or
    such files, or a zip that CVAT exported (``annotations.xml`` at its top)."""
    if path.is_dir():
        xml = path / "annotations.xml"
        if not xml.is_file():
            xml = min(path.glob("*.xml"), default=path / "annotations.xml")
        return xml.is_file() and _is_cvat_xml(xml)
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return _is_cvat_xml(path)
    if suffix == ".zip":
        try:  # (open_file: a named pipe is refused, never waited on)
            with open_file(path) as handle, zipfile.ZipFile(handle) as archive:
                return "annotations.xml" in archive.namelist()
        except (zipfile.BadZipFile, OSError, InputError):
            return False
    return False


def _is_cvat_xml(path: Path) -> bool:
    head = peek(path, 4096)
    return _CVAT_ROOT.match(head.removeprefix(b"\xef\xbb\xbf")) is not None


FORMAT = Format(
    name="cvat",
    title="CVAT for images / CVAT for video 1.1 XML",
    limits=(
        "Reads boxes (rotated too), polygons, masks, ellipses (as polygons, the exact figure "
        "kept), skeletons and points (as keypoints), tags, attributes and tracks. Polylines "
        "and cuboids have no COCO form (reported; --polylines polygons keeps polylines). "
        "Writes no crowd flag but as the is_crowd attribute CVAT uses, no info, licenses or "
        "supercategories, and a multi-part RLE-less object as grouped polygons."
    ),
    kinds=("instances", "keypoints"),
    patterns=("*.xml", "annotations.xml", "*.zip"),
    detect=detect,
    read=read_cvat,
    write=write_cvat,
    read_options=(
        Option(
            "images",
            "Image folder, read (headers only) for images and frames whose size the XML "
            "does not give.",
            type="dir",
        ),
        Option(
            "polylines",
            "drop: polylines are reported as lost; polygons: kept as polygons (their ends joined).",
            type="choice",
            choices=POLYLINE_MODES,
            default="drop",
        ),
        Option(
            "points",
            "keypoints: points shapes become COCO keypoints when every shape of the label has "
            "as many points; drop: left out (reported).",
            type="choice",
            choices=POINTS_MODES,
            default="keypoints",
        ),
    ),
    output="file",
    rules={
        "image_without_size": "C002",
        "unknown_label": "C003",
        "undeclared_attribute": "C004",
        "attribute_type": "C005",
        "attribute_value": "C006",
        "degenerate_box": "C007",
        "polygon_too_few_points": "C007",
        "degenerate_ellipse": "C007",
        "mask_without_image_size": "C008",
        "skeleton_drawing_unreadable": "C009",
        "unknown_skeleton_point": "C009",
        "frame_outside_task": "C010",
        "frame_names_unknown": "C011",
    },
    unreadable="C001",
    docs="docs/cvat.md",
    streams=True,
)
