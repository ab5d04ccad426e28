"""Reading Label Studio exports (full JSON and JSON-MIN) as COCO: :func:`read`.

One task is one image, one region one annotation; coordinates are percent of the
``original_width``/``original_height`` each region carries, so pixels are ``x * width / 100``
exactly as Label Studio's own converters compute them.

=================  ===========================================================================
region             COCO annotation
=================  ===========================================================================
rectanglelabels    ``bbox``; turned by ``rotation`` (clockwise, about its top-left corner): the
                   envelope as ``bbox``, the exact corners as a 4-point polygon,
                   ``attributes.rotation`` (:mod:`coco_convert.shapes`)
polygonlabels      one polygon; ``bbox`` its envelope, ``area`` its own
brushlabels        one exact RLE of the pixels whose alpha is not 0
                   (:mod:`.labelstudio_brush`); ``area`` and ``bbox`` from pycocotools
ellipselabels      an inscribed polygon, the exact ellipse under ``shape``
keypointlabels     the keypoints of the region its ``parentID`` names (one COCO keypoints
                   annotation per parent); the category gets the keypoint names
choices, ...       classifications: ``attributes[from_name]`` of the image, or of the region
                   whose ``id`` they share (per-region choices)
=================  ===========================================================================
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard
from urllib.parse import unquote, urlsplit

from ..dataset import AnyDataset, from_document
from ..errors import GeometryError, InputError, JSONSyntaxError, Location
from ..images import ImageFileError, find_image, read_size
from ..io import gc_paused, parse_json, read_bytes
from ..schemas.coco import Kind
from ..schemas.types import SIDE_MAX
from ..shapes import (
    SHAPE_KEY,
    Ellipse,
    ellipse_envelope,
    ellipse_polygon,
    ellipse_record,
    envelope,
    polygons_area,
    rotated_box_corners,
)
from .base import DEFAULT_SPLIT, Read
from .labelstudio_config import LabelingConfig, read_config
from .loss import LossReport

__all__ = ["CONFIG_SUFFIX", "file_name_of", "read"]

#: The labeling config beside an export (``tasks.json`` -> ``tasks.label_config.xml``), as
#: label-studio-sdk's COCO import and ``coco2labelstudio`` write it.
CONFIG_SUFFIX = ".label_config.xml"

#: Keys of a region's value that hold its labels.
_LABEL_KEYS = (
    "rectanglelabels",
    "polygonlabels",
    "brushlabels",
    "ellipselabels",
    "keypointlabels",
    "labels",
)
#: Keys of a JSON-MIN record that are the annotation's, not the task's data.
_MIN_META = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time")
_MIN_META_ALL = frozenset((*_MIN_META, "agreement", "history"))
#: Image file endings, to find the image among a task's data without a config.
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Annotation keys a detection result does not have.
_NOT_RESULTS = frozenset(("id", "image_id", "category_id", "iscrowd", "area"))
#: Percent beyond [0, 100] a region may reach before it is reported as outside the image.
_OUTSIDE = 0.01

Shape = Literal["rectangle", "polygon", "brush", "ellipse", "keypoint"]


@dataclass
class _Region:
    """One region of one annotation, converted to pixels."""

    shape: Shape
    label: str | None
    where: Location
    rid: Any = None
    parent: Any = None
    from_name: str | None = None
    ann: dict[str, Any] = field(default_factory=dict)
    point: tuple[float, float, int] | None = None
    score: float | None = None


@dataclass
class _Image:
    """One task: its image record and the regions and classifications taken from it."""

    record: dict[str, Any]
    where: Location
    regions: list[_Region] = field(default_factory=list)
    sizes: list[tuple[int, int, Location]] = field(default_factory=list)


class _Reader:
    def __init__(
        self,
        name: str,
        report: LossReport,
        config: LabelingConfig | None,
        annotation: str,
        predictions: bool,
        image_root_url: str | None,
    ) -> None:
        self.name = name
        self.report = report
        self.config = config
        self.choice = annotation
        self.predictions = predictions
        self.root = image_root_url
        self.labels_seen: dict[str, Location] = {}

    # --- tasks -----------------------------------------------------------------------------

    def tasks(self, document: Any) -> Iterator[tuple[int, dict[str, Any], list[Any]]]:
        """``(index, task, [(kind, result list, pointer, annotation or prediction), ...])``
        of each task, whatever the export's shape (a list of tasks, one task, JSON-MIN)."""
        if isinstance(document, dict):
            document = [document]
            single = True
        else:
            single = False
        if not isinstance(document, list):
            raise InputError(
                self.name,
                "not a Label Studio export: expected a list of tasks",
                pointer="",
            )
        minimal = bool(document) and all(
            isinstance(task, dict) and not _is_full_task(task) for task in document[:50]
        )
        if minimal:
            yield from self._min_tasks(document)
            return
        for index, task in enumerate(document):
            base = "" if single else f"/{index}"
            if not isinstance(task, dict):
                raise InputError(self.name, "a task must be a JSON object", pointer=base or "")
            yield index, task, self._pieces(task, base)

    def _pieces(self, task: dict[str, Any], base: str) -> list[Any]:
        """The annotations (or predictions) of a full-JSON task to convert."""
        wanted = "predictions" if self.predictions else "annotations"
        other = "annotations" if self.predictions else "predictions"
        key = wanted
        if not self.predictions and "annotations" not in task and "completions" in task:
            key = "completions"  # Label Studio before 1.0
        items = task.get(key) or []
        if not isinstance(items, list):
            raise InputError(self.name, f"'{key}' must be a list", pointer=f"{base}/{key}")
        skipped = task.get(other)
        if isinstance(skipped, list):  # (exports list predictions by id: nothing to read)
            skipped = [item for item in skipped if isinstance(item, dict)]
        if isinstance(skipped, list) and skipped:
            if self.predictions:
                self.report.lose(
                    "annotations_not_read",
                    "annotations not converted (without --predictions they are)",
                    count=len(skipped),
                )
            else:
                self.report.lose(
                    "predictions_not_read",
                    "predictions not converted (--predictions converts them as COCO results)",
                    count=len(skipped),
                )
        pieces = []
        for i, item in enumerate(items):
            where = f"{base}/{key}/{i}"
            if key == "predictions" and type(item) is int:
                self.report.lose(
                    "prediction_ids",
                    "predictions exported as ids only (Label Studio's export through "
                    "/api/projects/<id>/exports with predictions gives them whole)",
                    where=Location(self.name, pointer=where),
                )
                continue
            if not isinstance(item, dict):
                raise InputError(self.name, "expected a JSON object", pointer=where)
            result = item.get("result") or []
            if not isinstance(result, list):
                raise InputError(self.name, "'result' must be a list", pointer=f"{where}/result")
            pieces.append(
                (
                    item,
                    [
                        (r, f"{where}/result/{j}", f"{where}/result/{j}/value")
                        for j, r in enumerate(result)
                    ],
                )
            )
        if not self.predictions:
            pieces = self._choose(pieces, base)
        return pieces

    def _choose(self, pieces: list[Any], base: str) -> list[Any]:
        """The annotations ``--annotation`` picks: cancelled ones never, then the latest,
        the first, every one, or the latest by one annotator (id or e-mail)."""
        kept = []
        for item, results in pieces:
            if item.get("was_cancelled") or item.get("skipped"):
                self.report.lose(
                    "cancelled_annotations",
                    "annotations cancelled (skipped) in Label Studio, not converted",
                )
            else:
                kept.append((item, results))
        if len(kept) <= 1 and self.choice in ("latest", "first", "all"):
            return kept
        if self.choice == "all":
            return kept
        order = sorted(range(len(kept)), key=lambda i: (str(kept[i][0].get("created_at", "")), i))
        if self.choice == "latest":
            chosen = [kept[order[-1]]]
        elif self.choice == "first":
            chosen = [kept[order[0]]]
        else:
            mine = [i for i in order if _annotator_matches(kept[i][0], self.choice)]
            chosen = [kept[mine[-1]]] if mine else []
        others = len(kept) - len(chosen)
        if others:
            self.report.lose(
                "other_annotations",
                "annotations of a task that --annotation did not pick (--annotation all "
                "converts every one)",
                where=Location(self.name, pointer=base or None),
                count=others,
            )
        return chosen

    def _min_tasks(self, records: list[Any]) -> Iterator[tuple[int, dict[str, Any], list[Any]]]:
        """JSON-MIN: one record per annotation (its task's data, then one key per control tag
        holding the values of its results), grouped back into tasks by ``id``."""
        groups: dict[Any, list[int]] = {}
        for index, record in enumerate(records):
            key = record.get("id", f"#{index}")
            groups.setdefault(key if _hashable(key) else f"#{index}", []).append(index)
        for indices in groups.values():
            first = records[indices[0]]
            data = {
                k: v
                for k, v in first.items()
                if k not in _MIN_META_ALL and not self._is_output(k, v)
            }
            task = {"id": first.get("id"), "data": data}
            pieces = []
            for index in indices:
                record = records[index]
                if record.get("annotation_id") is None and not any(
                    self._is_output(k, v) for k, v in record.items()
                ):
                    continue  # a task without annotations
                results = []
                for key, value in record.items():
                    if key in _MIN_META_ALL or not self._is_output(key, value):
                        continue
                    values = value if isinstance(value, list) else [value]
                    for j, item in enumerate(values):
                        where = f"/{index}/{key}" + (f"/{j}" if isinstance(value, list) else "")
                        results.append((_min_result(key, item, self.config), where, where))
                item = {
                    "id": record.get("annotation_id"),
                    "completed_by": record.get("annotator"),
                    "created_at": record.get("created_at"),
                }
                pieces.append((item, results))
            pieces = self._choose(pieces, f"/{indices[0]}") if not self.predictions else []
            yield indices[0], task, pieces
        self.report.lose(
            "json_min",
            "JSON-MIN keeps no region ids: keypoints cannot be linked to their rectangle, "
            "per-region classifications not told from the image's",
        )

    def _is_output(self, key: str, value: Any) -> bool:
        """Whether a JSON-MIN key holds results (a control tag's values), not task data."""
        if self.config is not None and self.config.tags:
            return key in self.config.tags
        if not isinstance(value, list) or not value:
            return False
        first = value[0]
        return isinstance(first, dict) and (
            "original_width" in first or any(k in first for k in (*_LABEL_KEYS, "choices"))
        )

    # --- regions ---------------------------------------------------------------------------

    def image(self, index: int, task: dict[str, Any], base: str) -> _Image:
        data = task.get("data")
        if not isinstance(data, dict):
            raise InputError(
                self.name,
                "a task needs 'data' (an object naming its image)",
                pointer=base + "/data",
            )
        key = self._image_key(data)
        if key is None:
            raise InputError(
                self.name,
                "the task's data names no image",
                hint='pass --config: its <Image value="$key"> says which data field is the image',
                pointer=base + "/data",
            )
        url = data[key]
        if not isinstance(url, str) or not url:
            raise InputError(
                self.name, "the image must be a URL or path (text)", pointer=f"{base}/data/{key}"
            )
        file_name = file_name_of(url, self.root)
        record: dict[str, Any] = {"id": task.get("id"), "file_name": file_name}
        if file_name != url:
            record["coco_url"] = url
        return _Image(record, Location(self.name, pointer=base or None))

    def _image_key(self, data: dict[str, Any]) -> str | None:
        if self.config is not None and self.config.image_key in data:
            return self.config.image_key
        if "image" in data:
            return "image"
        texts = [k for k, v in data.items() if isinstance(v, str)]
        for key in texts:
            if data[key].lower().split("?")[0].endswith(_IMAGE_ENDINGS):
                return key
        return texts[0] if len(texts) == 1 else None

    def regions(self, image: _Image, pieces: list[Any], *, everyone: bool) -> None:
        """Every region of the chosen annotations (or predictions) of one task, converted;
        classifications into the image's or their region's attributes."""
        for item, results in pieces:
            by_id: dict[Any, _Region] = {}
            classifications: list[tuple[dict[str, Any], str, Any]] = []
            start = len(image.regions)
            for result, pointer, vpointer in results:
                if not isinstance(result, dict):
                    raise InputError(self.name, "a result must be a JSON object", pointer=pointer)
                region = self.region(image, result, pointer, vpointer, item)
                if region is None:
                    continue
                if isinstance(region, tuple):
                    classifications.append(region)
                    continue
                image.regions.append(region)
                if region.rid is not None and _hashable(region.rid):
                    by_id.setdefault(region.rid, region)
            for result, from_name, payload in classifications:
                owner = by_id.get(result.get("id")) if _hashable(result.get("id")) else None
                if owner is None:
                    image.record.setdefault("attributes", {})[from_name] = payload
                elif owner.shape != "keypoint":
                    owner.ann.setdefault("attributes", {})[from_name] = payload
                else:
                    self.report.lose(
                        "keypoint_classifications",
                        "classifications of single keypoints (COCO keypoints have no attributes)",
                        where=owner.where,
                    )
            if everyone:
                annotator = _annotator(item)
                for region in image.regions[start:]:
                    attributes = region.ann.setdefault("attributes", {})
                    attributes["annotator"] = annotator
                    attributes["annotation_id"] = item.get("id")

    def region(
        self,
        image: _Image,
        result: dict[str, Any],
        pointer: str,
        vpointer: str,
        item: dict[str, Any],
    ) -> _Region | tuple[dict[str, Any], str, Any] | None:
        kind = str(result.get("type", "")).lower()
        if kind == "relation":
            self.report.lose("relations", "relations between regions (COCO has none)")
            return None
        value = result.get("value")
        if not isinstance(value, dict):
            raise InputError(self.name, "a result needs a 'value' object", pointer=pointer)
        shape = _SHAPES.get(kind)
        if shape is None and kind in ("", "labels") and any(k in value for k in _LABEL_KEYS):
            shape = _shape_of(value)  # (a <Labels> tag's regions, JSON-MIN without a config)
        from_name = result.get("from_name")
        if shape is None:
            payload = value.get(kind, value) if kind else value
            if from_name is None or payload == {}:
                self.report.lose(
                    "unsupported_results",
                    "results of a kind coco-convert does not read",
                    where=Location(self.name, pointer=pointer),
                    detail=f"type {kind!r}",
                )
                return None
            return (result, str(from_name), payload)
        where = Location(self.name, pointer=pointer)
        width, height = self._size(image, result, pointer)
        if width is None or height is None:
            return None
        if result.get("image_rotation"):
            self.report.warn(
                "image_rotation",
                "regions drawn on a rotated view of the image (image_rotation; coordinates "
                "taken as they are)",
                where=Location(self.name, pointer=f"{pointer}/image_rotation"),
            )
        label = self._label(value, where, vpointer, shape)
        if label is False:
            return None
        score = result.get("score", item.get("score"))
        region = _Region(
            shape,
            label if isinstance(label, str) else None,
            where,
            rid=result.get("id"),
            parent=result.get("parentID"),
            from_name=str(from_name) if from_name is not None else None,
            score=_number(score) if _is_number(score) else None,
        )
        try:
            if shape == "keypoint":
                x = self._coordinate(value, "x", vpointer) * width / 100
                y = self._coordinate(value, "y", vpointer) * height / 100
                region.point = (x, y, 1 if value.get("hidden") else 2)
                return region
            ann = self._geometry(shape, value, vpointer, width, height, where)
        except GeometryError as exc:
            raise InputError(self.name, exc.message, pointer=f"{vpointer}/rle") from None
        if ann is None:
            return None
        region.ann = ann
        return region

    def _size(
        self, image: _Image, result: dict[str, Any], pointer: str
    ) -> tuple[int | None, int | None]:
        width, height = result.get("original_width"), result.get("original_height")
        if width is None and height is None:
            self.report.warn(
                "region_without_size",
                "regions without original_width/original_height (dropped: their percent "
                "coordinates cannot be placed)",
                where=Location(self.name, pointer=pointer),
            )
            return None, None
        sides: list[int] = []
        for key, number in (("original_width", width), ("original_height", height)):
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            if type(number) is not int or not 0 < number <= SIDE_MAX:
                raise InputError(
                    self.name,
                    f"{key} must be a whole number of pixels above 0, not {number!r}",
                    pointer=f"{pointer}/{key}",
                )
            sides.append(number)
        width, height = sides
        record = image.record
        if "width" not in record:
            record["width"], record["height"] = width, height
        elif (record["width"], record["height"]) != (width, height):
            self.report.warn(
                "size_mismatch",
                "regions whose original_width/original_height differ from the task's first "
                "region (dropped: they were drawn on another image)",
                where=Location(self.name, pointer=pointer),
                detail=f"{width} x {height}, the task's first region says "
                f"{record['width']} x {record['height']}",
            )
            return None, None
        return width, height

    def _label(self, value: dict[str, Any], where: Location, pointer: str, shape: Shape) -> Any:
        key = next((k for k in _LABEL_KEYS if k in value), None)
        labels = value.get(key) if key else None
        if key is not None and not isinstance(labels, list):
            raise InputError(
                self.name, f"'{key}' must be a list of labels", pointer=f"{pointer}/{key}"
            )
        if not labels:
            self.report.warn(
                "region_without_label",
                "regions without a label (dropped)",
                where=where,
            )
            return False
        label = labels[0]
        if not isinstance(label, str):
            raise InputError(self.name, "a label must be text", pointer=f"{pointer}/{key}/0")
        if len(labels) > 1:
            self.report.lose(
                "extra_labels",
                "labels beyond a region's first (COCO has one category per annotation)",
                where=where,
                detail=f"{', '.join(map(str, labels[1:]))} besides {label}",
                count=len(labels) - 1,
            )
        if shape != "keypoint" and label not in self.labels_seen:
            self.labels_seen[label] = where
        return label

    def _coordinate(self, value: dict[str, Any], key: str, pointer: str) -> float:
        number = value.get(key)
        if not _is_number(number):
            raise InputError(
                self.name, f"'{key}' must be a number, not {number!r}", pointer=f"{pointer}/{key}"
            )
        if not math.isfinite(number):
            raise InputError(self.name, f"'{key}' is {number}", pointer=f"{pointer}/{key}")
        return float(number)

    def _geometry(
        self,
        shape: Shape,
        value: dict[str, Any],
        pointer: str,
        width: int,
        height: int,
        where: Location,
    ) -> dict[str, Any] | None:
        if shape == "rectangle":
            x, y, w, h = (
                self._coordinate(value, k, pointer) for k in ("x", "y", "width", "height")
            )
            rotation = value.get("rotation", 0) or 0
            if not _is_number(rotation) or not math.isfinite(rotation):
                raise InputError(
                    self.name,
                    f"'rotation' must be a number, not {rotation!r}",
                    pointer=f"{pointer}/rotation",
                )
            if w <= 0 or h <= 0:
                self._degenerate(where, f"a box {w}% x {h}% of the image")
                return None
            px, py, pw, ph = x * width / 100, y * height / 100, w * width / 100, h * height / 100
            if rotation:
                corners = rotated_box_corners(px, py, pw, ph, rotation, pivot="top-left")
                left, top, across, down = envelope(corners)
                self._outside(
                    where,
                    left * 100 / width,
                    top * 100 / height,
                    (left + across) * 100 / width,
                    (top + down) * 100 / height,
                )
                return {
                    "segmentation": [corners],
                    "area": round(pw * ph, 9),
                    "bbox": envelope(corners),
                    "iscrowd": 0,
                    "attributes": {"rotation": float(rotation) % 360.0},
                }
            self._outside(where, x, y, x + w, y + h)
            return {
                "segmentation": [],
                "area": round(pw * ph, 9),
                "bbox": [px, py, pw, ph],
                "iscrowd": 0,
            }
        if shape == "polygon":
            points = value.get("points")
            if not isinstance(points, list):
                raise InputError(
                    self.name, "'points' must be a list of [x, y]", pointer=f"{pointer}/points"
                )
            flat: list[float] = []
            percent: list[float] = []
            for i, point in enumerate(points):
                if not (isinstance(point, list) and len(point) == 2):
                    raise InputError(
                        self.name, "a point must be [x, y]", pointer=f"{pointer}/points/{i}"
                    )
                for j, (number, scale) in enumerate(zip(point, (width, height), strict=True)):
                    if not _is_number(number) or not math.isfinite(number):
                        raise InputError(
                            self.name,
                            f"a coordinate must be a finite number, not {number!r}",
                            pointer=f"{pointer}/points/{i}/{j}",
                        )
                    flat.append(number * scale / 100)
                    percent.append(number)
            if len(points) < 3:
                self._degenerate(where, f"a polygon of {len(points)} points")
                return None
            lefts, tops = percent[0::2], percent[1::2]
            self._outside(where, min(lefts), min(tops), max(lefts), max(tops))
            area = polygons_area([flat])
            return {"segmentation": [flat], "area": area, "bbox": envelope(flat), "iscrowd": 0}
        if shape == "ellipse":
            cx, cy, rx, ry = (
                self._coordinate(value, k, pointer) for k in ("x", "y", "radiusX", "radiusY")
            )
            rotation = value.get("rotation", 0) or 0
            if not _is_number(rotation) or not math.isfinite(rotation):
                raise InputError(
                    self.name, "'rotation' must be a number", pointer=f"{pointer}/rotation"
                )
            if rx <= 0 or ry <= 0:
                self._degenerate(where, f"an ellipse of radii {rx}% and {ry}%")
                return None
            ellipse = Ellipse(
                cx * width / 100,
                cy * height / 100,
                rx * width / 100,
                ry * height / 100,
                float(rotation) % 360.0,
            )
            self.report.lose(
                "ellipses_as_polygons",
                "ellipses kept as inscribed polygons (the exact ellipse under 'shape')",
            )
            return {  # the exact ellipse's box and area (coco_convert/shapes.py)
                "segmentation": [ellipse_polygon(ellipse)],
                "area": round(math.pi * ellipse.rx * ellipse.ry, 9),
                "bbox": ellipse_envelope(ellipse),
                "iscrowd": 0,
                SHAPE_KEY: ellipse_record(ellipse),
            }
        # brush
        from ..geometry import rle_area, rle_bbox
        from .labelstudio_brush import brush_to_rle

        rle_format = value.get("format", "rle")
        if rle_format != "rle":
            self.report.lose(
                "unsupported_results",
                "results of a kind coco-convert does not read",
                where=where,
                detail=f"brush format {rle_format!r}",
            )
            return None
        stream: Any = value.get("rle")
        rle = brush_to_rle(stream, height, width)
        area = rle_area([rle])[0]
        if not area:
            self._degenerate(where, "a brush mask without pixels")
            return None
        return {"segmentation": rle, "area": area, "bbox": rle_bbox([rle])[0], "iscrowd": 0}

    def _outside(self, where: Location, x0: float, y0: float, x1: float, y1: float) -> None:
        """Warn when a region's extent (percent of the image) reaches outside it."""
        if x0 < -_OUTSIDE or y0 < -_OUTSIDE or x1 > 100 + _OUTSIDE or y1 > 100 + _OUTSIDE:
            self.report.warn(
                "region_outside_image",
                "regions reaching outside the image (beyond 0..100%)",
                where=where,
                detail=f"from {x0:.4g}%, {y0:.4g}% to {x1:.4g}%, {y1:.4g}%",
            )

    def _degenerate(self, where: Location, what: str) -> None:
        self.report.warn(
            "degenerate_region",
            "regions with no area (dropped)",
            where=where,
            detail=what,
        )


#: Region types and what they draw.
_SHAPES: dict[str, Shape] = {
    "rectanglelabels": "rectangle",
    "rectangle": "rectangle",
    "polygonlabels": "polygon",
    "polygon": "polygon",
    "brushlabels": "brush",
    "brush": "brush",
    "ellipselabels": "ellipse",
    "ellipse": "ellipse",
    "keypointlabels": "keypoint",
    "keypoint": "keypoint",
}


def _owners(image: _Image) -> dict[Any, _Region]:
    """The regions keypoints may name as their parent, by id."""
    return {
        r.rid: r
        for r in image.regions
        if r.shape != "keypoint" and r.rid is not None and _hashable(r.rid)
    }


def _shape_of(value: dict[str, Any]) -> Shape | None:
    """What a region's value draws, from its keys (the result's type may be the generic
    ``labels`` of a <Labels> tag)."""
    if "rle" in value or value.get("format") == "rle":
        return "brush"
    if "points" in value:
        return "polygon"
    if "radiusX" in value:
        return "ellipse"
    if "x" in value and "y" in value:
        return "rectangle" if "height" in value else "keypoint"
    return None


def _is_full_task(task: dict[str, Any]) -> bool:
    return "data" in task or "annotations" in task or "predictions" in task or "completions" in task


def _min_result(key: str, item: Any, config: LabelingConfig | None) -> dict[str, Any]:
    """A JSON-MIN value as the result it was: ``original_width``/``height`` moved out of the
    value, a single choice (a bare string) back into ``{"choices": [...]}``."""
    tag = config.tags.get(key) if config is not None else None
    if isinstance(item, str):
        kind = tag or "choices"
        payload_key = "text" if kind == "textarea" else "choices"
        return {"from_name": key, "type": kind, "value": {payload_key: [item]}}
    if not isinstance(item, dict):
        return {"from_name": key, "type": tag or "", "value": {"value": item}}
    value = {k: v for k, v in item.items() if k not in ("original_width", "original_height")}
    result: dict[str, Any] = {"from_name": key, "type": tag or "", "value": value}
    for size in ("original_width", "original_height"):
        if size in item:
            result[size] = item[size]
    return result


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float:
    return float(value)


def _annotator(item: dict[str, Any]) -> Any:
    who = item.get("completed_by")
    if isinstance(who, dict):
        return who.get("email") or who.get("id")
    return who


def _annotator_matches(item: dict[str, Any], wanted: str) -> bool:
    who = item.get("completed_by")
    if isinstance(who, dict):
        return wanted in (str(who.get("id")), str(who.get("email")))
    return str(who) == wanted


def file_name_of(url: str, root: str | None = None) -> str:
    """The COCO ``file_name`` of a task's image URL: the part after ``root`` when it starts
    with it; the path of Label Studio's local-files URLs (``/data/local-files/?d=PATH``);
    the name of an upload (``/data/upload/<project>/<name>``); the path of a cloud or web URL
    (``s3://bucket/PATH``, ``https://host/PATH``); anything else as it is."""
    if root and url.startswith(root) and len(url) > len(root):
        return unquote(url[len(root) :])
    parts = urlsplit(url)
    if parts.path.rstrip("/").endswith("/data/local-files") and parts.query:
        for pair in parts.query.split("&"):
            if pair.startswith("d=") and len(pair) > 2:
                return unquote(pair[2:])
    if parts.path.startswith("/data/upload/") and not parts.scheme:
        return unquote(parts.path.split("/", 4)[-1])
    if parts.scheme and parts.netloc and parts.path.strip("/"):
        return unquote(parts.path.lstrip("/"))
    return url


def _parse(data: bytes, name: str) -> Any:
    """The export parsed; NaN and Infinity (which Python's json module writes, and JSON has
    no word for) are read so that the value holding one can be named by its pointer."""
    try:
        return parse_json(data, name)
    except JSONSyntaxError:
        if b"NaN" not in data and b"Infinity" not in data:
            raise
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise JSONSyntaxError(name, "not JSON", line=1, column=1) from None


def read(
    src: str | os.PathLike[str],
    *,
    annotation: str = "latest",
    predictions: bool = False,
    config: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    image_root_url: str | None = None,
    report: LossReport | None = None,
    strict: bool = False,
) -> Read:
    """See :func:`coco_convert.converters.labelstudio.read_labelstudio`."""
    report = LossReport("labelstudio2coco") if report is None else report
    name = os.fspath(src)
    labeling = _config(name, config, report)
    data = read_bytes(name)
    with gc_paused():
        document = _parse(data, name)
        del data
        reader = _Reader(name, report, labeling, annotation, predictions, image_root_url)
        found: list[_Image] = []
        for index, task, pieces in reader.tasks(document):
            base = _task_pointer(document, index)
            image = reader.image(index, task, base)
            reader.regions(image, pieces, everyone=annotation == "all" and not predictions)
            found.append(image)
        dataset = _build(reader, found, name, images, predictions)
    report.raise_if_strict(strict)
    return {DEFAULT_SPLIT: dataset}, report


def _task_pointer(document: Any, index: int) -> str:
    return "" if isinstance(document, dict) else f"/{index}"


def _config(
    name: str, given: str | os.PathLike[str] | None, report: LossReport
) -> LabelingConfig | None:
    if given is not None:
        return read_config(given)
    beside = Path(name).with_name(Path(name).name.removesuffix(".json") + CONFIG_SUFFIX)
    if name.endswith(".json") and beside.is_file():
        report.stats["labeling_config"] = str(beside)
        return read_config(beside)
    return None


def _build(
    reader: _Reader,
    found: list[_Image],
    name: str,
    images_dir: str | os.PathLike[str] | None,
    predictions: bool,
) -> AnyDataset:
    report = reader.report
    config = reader.config
    _image_ids(found, reader)
    names = _category_names(reader)
    category_ids = {label: i + 1 for i, label in enumerate(names)}
    categories: list[dict[str, Any]] = [
        {"id": i + 1, "name": label, "supercategory": ""} for i, label in enumerate(names)
    ]
    keypoint_names = _keypoint_names(found, config)
    for category in categories:
        if category["name"] in keypoint_names:
            category["keypoints"] = keypoint_names[category["name"]]
            category["skeleton"] = []
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for image in found:
        record = image.record
        if "width" not in record:
            _size_from_files(record, image.where, images_dir, report)
        images.append(record)
        report.count("images")
        owners = _owners(image)
        children: dict[int, list[_Region]] = {}
        for region in image.regions:
            if region.shape != "keypoint":
                continue
            parent = owners.get(region.parent) if _hashable(region.parent) else None
            if parent is None or parent.label is None:
                report.warn(
                    "keypoint_without_parent",
                    "keypoints not linked to a region by parentID (dropped)",
                    where=region.where,
                    detail=None
                    if region.parent is None
                    else f"parentID {region.parent!r} names no region",
                )
                continue
            children.setdefault(id(parent), []).append(region)
        for region in image.regions:
            if region.shape == "keypoint" or region.label is None:
                continue
            ann = {"id": 0, "image_id": record["id"], "category_id": category_ids[region.label]}
            ann.update(region.ann)
            points = children.get(id(region))
            if points:
                ann.update(_keypoints(points, keypoint_names[region.label], report))
            if predictions:
                score = region.score
                if score is None:
                    report.warn(
                        "prediction_without_score",
                        "predictions without a score (given 1.0)",
                        where=region.where,
                    )
                    score = 1.0
                result = {"image_id": record["id"], "category_id": ann["category_id"]}
                for key, value in ann.items():
                    if key not in _NOT_RESULTS and (key != "segmentation" or value):
                        result[key] = value
                result["score"] = score
                results.append(result)
                continue
            ann["id"] = len(annotations) + 1
            annotations.append(ann)
    if predictions:
        report.count("results", len(results))
        return from_document(results, kind="results", validate=False, source=name)
    report.count("annotations", len(annotations))
    report.count("categories", len(categories))
    document = {
        "info": {
            "description": f"Label Studio export {Path(name).name}",
            "contributor": "Label Studio",
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    kind: Kind = "keypoints" if keypoint_names else "instances"
    return from_document(document, kind=kind, validate=False, source=name)


def _image_ids(found: list[_Image], reader: _Reader) -> None:
    """Task ids as image ids when every task has a distinct whole-number id, else 1, 2, ..."""
    ids = [image.record["id"] for image in found]
    usable = all(type(i) is int and 0 <= i < 2**63 for i in ids)
    if usable and len(set(ids)) == len(ids):
        return
    if usable or any(i is not None for i in ids):
        seen: set[Any] = set()
        for image in found:
            task = image.record["id"]
            if task in seen or type(task) is not int:
                reader.report.warn(
                    "task_id",
                    "tasks whose id is missing, repeated or not a whole number (images "
                    "numbered 1, 2, ... instead)",
                    where=Location(reader.name, pointer=(image.where.pointer or "") + "/id"),
                    detail=f"id {task!r}",
                )
            seen.add(task)
    for number, image in enumerate(found, start=1):
        image.record["id"] = number


def _category_names(reader: _Reader) -> list[str]:
    """The config's labels in its order, then labels the config does not list (reported);
    without a config, the labels used, sorted."""
    config = reader.config
    if config is None:
        return sorted(reader.labels_seen)
    names = list(config.labels)
    known = set(names)
    for label, where in reader.labels_seen.items():
        if label not in known:
            reader.report.warn(
                "label_not_in_config",
                "labels the labeling config does not list (added after its labels)",
                where=where,
                detail=f"label {label!r}",
            )
            names.append(label)
    return names


def _keypoint_names(found: list[_Image], config: LabelingConfig | None) -> dict[str, list[str]]:
    """Per category with keypoints: its keypoint names (the config's KeyPointLabels order,
    then names it does not list in the order met)."""
    by_category: dict[str, dict[str, None]] = {}
    tags: dict[str, dict[str, None]] = {}
    for image in found:
        owners = _owners(image)
        for region in image.regions:
            if region.shape != "keypoint" or region.label is None or not _hashable(region.parent):
                continue
            parent = owners.get(region.parent)
            if parent is None or parent.label is None:
                continue
            by_category.setdefault(parent.label, {})[region.label] = None
            tags.setdefault(parent.label, {})[region.from_name or ""] = None
    names: dict[str, list[str]] = {}
    for category, seen in by_category.items():
        ordered: list[str] = []
        if config is not None:
            for tag in tags[category]:
                ordered.extend(n for n in config.keypoints.get(tag, ()) if n not in ordered)
        ordered.extend(n for n in seen if n not in ordered)
        names[category] = ordered
    return names


def _keypoints(points: list[_Region], names: list[str], report: LossReport) -> dict[str, Any]:
    values: list[float] = [0] * (3 * len(names))
    index = {n: i for i, n in enumerate(names)}
    placed: set[int] = set()
    for point in points:
        assert point.point is not None
        assert point.label is not None
        k = index[point.label]
        if k in placed:
            report.warn(
                "duplicate_keypoint",
                "keypoints whose label the same parent already has (the first kept)",
                where=point.where,
                detail=f"a second {point.label!r}",
            )
            continue
        placed.add(k)
        x, y, v = point.point
        values[3 * k : 3 * k + 3] = [x, y, v]
    return {"keypoints": values, "num_keypoints": len(placed)}


def _size_from_files(
    record: dict[str, Any],
    where: Location,
    folder: str | os.PathLike[str] | None,
    report: LossReport,
) -> None:
    if folder is not None:
        try:
            width, height = read_size(find_image(folder, record["file_name"]))
        except ImageFileError as exc:
            report.warn(
                "image_unreadable",
                "images whose size could not be read from --images",
                where=where,
                detail=str(exc),
            )
        else:
            record["width"], record["height"] = width, height
            return
    report.warn(
        "image_without_size",
        "tasks with no region giving the image's size (pass --images to read it from the "
        "image files)",
        where=where,
    )
