"""Writing COCO as Label Studio tasks to import, with their labeling config: :func:`write`.

Every image is a task ``{"data": {"image": URL}, "predictions": [...]}`` (or
``"annotations"``); its objects are results in percent of the image's size:

===========================================  ===============================================
COCO annotation                              Label Studio result (``from_name``)
===========================================  ===============================================
keypoints                                    a rectangle (its ``bbox``) and one
                                             ``keypointlabels`` point per labelled keypoint,
                                             linked to it by ``parentID`` (``keypoints``)
RLE segmentation                             ``brushlabels`` in Label Studio's own RLE
                                             (``brush``)
``shape`` ellipse                            ``ellipselabels`` (``ellipse``)
4-point polygon + ``attributes.rotation``    ``rectanglelabels`` turned about its top-left
                                             corner (``label``)
polygons                                     ``polygonlabels``, one per part (``polygon``)
a box only                                   ``rectanglelabels`` (``label``)
===========================================  ===============================================

A detection results file becomes the ``predictions`` (each result's ``score`` on its
region, their mean on the prediction) of the tasks of the dataset given with it, whose own
objects are then the tasks' ``annotations``. The labeling config lists every category in
id order in each control tag the tasks use, and image attributes of text as Choices.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..dataset import AnyDataset, CocoDataset, ResultsDataset
from ..errors import GeometryError, InputError, Location, UsageError
from ..io import atomic_files, write_document, write_json
from ..shapes import SHAPE_KEY, box_from_corners
from .base import streamed_splits
from .labelstudio_config import render_config
from .labelstudio_read import CONFIG_SUFFIX
from .loss import LossReport

if TYPE_CHECKING:
    from ..streaming import CocoStream

__all__ = ["LOCAL_FILES", "write"]

#: How Label Studio serves files of a local storage: the default image root.
LOCAL_FILES = "/data/local-files/?d="
#: Image attribute keys that are not choices to offer (what the reader adds).
_NOT_CHOICES = frozenset(("annotator", "annotation_id"))
#: Annotation attributes a region carries (rotation) or the reader adds back.
_KEPT = frozenset(("rotation", "annotator", "annotation_id"))


class _Writer:
    def __init__(
        self,
        report: LossReport,
        *,
        model_version: str,
        image_root_url: str | None,
        source: str,
    ) -> None:
        self.report = report
        self.model_version = model_version
        self.root = image_root_url
        self.source = source
        self.tags: dict[str, None] = {}
        self.keypoints: dict[str, None] = {}
        self.choices: dict[str, tuple[dict[str, None], bool]] = {}

    def url(self, image: Mapping[str, Any]) -> str:
        name = str(image["file_name"])
        if self.root is not None:
            return self.root + quote(name, safe="/")
        url = image.get("coco_url")
        if isinstance(url, str) and url:
            return url
        return LOCAL_FILES + quote(name, safe="/")

    def results(
        self,
        anns: list[Any],
        image: Mapping[str, Any],
        names: Mapping[int, str],
        keypoint_names: Mapping[int, list[str]],
        *,
        scored: bool,
        where: str = "/annotations",
    ) -> list[dict[str, Any]]:
        width, height = image.get("width"), image.get("height")
        if not (isinstance(width, int) and isinstance(height, int)) or width <= 0 or height <= 0:
            if anns:
                self.report.lose(
                    "image_without_size",
                    "objects of images without a width and height (Label Studio places "
                    "regions in percent of the image)",
                    where=Location(self.source, pointer=f"/images/{image.get('id')}"),
                    count=len(anns),
                )
            return []
        out: list[dict[str, Any]] = []
        for index, ann in anns:
            label = names.get(ann.get("category_id"))
            if label is None:
                self.report.lose(
                    "unknown_category",
                    "objects whose category_id is not among the categories",
                    detail=f"category_id {ann.get('category_id')!r}",
                )
                continue
            base = {"original_width": width, "original_height": height, "image_rotation": 0}
            if scored:
                base["score"] = ann["score"]
            try:
                made = self._regions(ann, label, width, height, keypoint_names)
            except GeometryError as exc:
                pointer = f"{where}/{index}/segmentation"
                raise InputError(self.source, exc.message, pointer=pointer) from None
            for region in made:
                region.update(base)
                out.append(region)
        return out

    def _regions(
        self,
        ann: dict[str, Any],
        label: str,
        width: int,
        height: int,
        keypoint_names: Mapping[int, list[str]],
    ) -> list[dict[str, Any]]:
        rid = f"a{ann.get('id', id(ann))}"
        segmentation = ann.get("segmentation")
        keypoints = ann.get("keypoints")
        if ann.get("iscrowd"):
            self.report.lose("crowd", "crowd flags (Label Studio has none; the region is kept)")
        attributes = ann.get("attributes")
        if isinstance(attributes, dict) and any(k not in _KEPT for k in attributes):
            self.report.lose(
                "annotation_attributes",
                "annotation attributes other than rotation (Label Studio keeps them only as "
                "per-region controls of the project)",
            )
        if keypoints and any(v > 0 for v in keypoints[2::3]):
            return self._keypoints(ann, rid, label, width, height, keypoint_names)
        if isinstance(segmentation, dict):
            return [self._brush(segmentation, rid, label)]
        shape = ann.get(SHAPE_KEY)
        if isinstance(shape, dict) and shape.get("type") == "ellipse":
            return [self._ellipse(shape, rid, label, width, height)]
        polygons = segmentation if isinstance(segmentation, list) else []
        rotation = (ann.get("attributes") or {}).get("rotation")
        if rotation and len(polygons) == 1 and len(polygons[0]) == 8:
            box = box_from_corners(polygons[0], pivot="top-left", tolerance=1e-4)
            if box is not None:
                return [self._rectangle(box[:4], box.rotation, rid, label, width, height)]
        if polygons:
            if len(polygons) > 1:
                self.report.lose(
                    "polygon_parts",
                    "objects of several polygons written as one region per polygon "
                    "(Label Studio's polygons have one ring)",
                )
            return [
                self._polygon(part, f"{rid}-{k}" if k else rid, label, width, height)
                for k, part in enumerate(polygons)
            ]
        if rotation:
            self.report.lose(
                "rotation_without_corners",
                "attributes.rotation without the turned box's 4-point polygon (written unturned)",
            )
        box = ann.get("bbox")
        if not box:
            self.report.lose("no_geometry", "objects without a bbox or a segmentation")
            return []
        return [self._rectangle(box, 0, rid, label, width, height)]

    def _rectangle(
        self, box: Any, rotation: float, rid: str, label: str, width: int, height: int
    ) -> dict[str, Any]:
        self.tags["label"] = None
        x, y, w, h = box
        value = {
            "x": x * 100 / width,
            "y": y * 100 / height,
            "width": w * 100 / width,
            "height": h * 100 / height,
            "rotation": rotation,
            "rectanglelabels": [label],
        }
        return _result(rid, "rectanglelabels", "label", value)

    def _polygon(
        self, polygon: list[float], rid: str, label: str, width: int, height: int
    ) -> dict[str, Any]:
        self.tags["polygon"] = None
        points = [
            [polygon[i] * 100 / width, polygon[i + 1] * 100 / height]
            for i in range(0, len(polygon) - 1, 2)
        ]
        return _result(
            rid, "polygonlabels", "polygon", {"points": points, "polygonlabels": [label]}
        )

    def _ellipse(
        self, shape: dict[str, Any], rid: str, label: str, width: int, height: int
    ) -> dict[str, Any]:
        self.tags["ellipse"] = None
        (cx, cy), (rx, ry) = shape["center"], shape["radii"]
        value = {
            "x": cx * 100 / width,
            "y": cy * 100 / height,
            "radiusX": rx * 100 / width,
            "radiusY": ry * 100 / height,
            "rotation": shape.get("rotation", 0),
            "ellipselabels": [label],
        }
        return _result(rid, "ellipselabels", "ellipse", value)

    def _brush(self, rle: dict[str, Any], rid: str, label: str) -> dict[str, Any]:
        from .labelstudio_brush import rle_to_brush

        self.tags["brush"] = None
        stream = rle_to_brush(rle)
        value = {"format": "rle", "rle": stream, "brushlabels": [label]}
        return _result(rid, "brushlabels", "brush", value)

    def _keypoints(
        self,
        ann: dict[str, Any],
        rid: str,
        label: str,
        width: int,
        height: int,
        keypoint_names: Mapping[int, list[str]],
    ) -> list[dict[str, Any]]:
        names = keypoint_names.get(ann["category_id"], [])
        values = ann["keypoints"]
        box = ann.get("bbox")
        if not box:
            xs = [values[i] for i in range(0, len(values), 3) if values[i + 2] > 0]
            ys = [values[i + 1] for i in range(0, len(values), 3) if values[i + 2] > 0]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        if ann.get("segmentation"):
            self.report.lose(
                "keypoint_segmentations",
                "segmentations of keypoint annotations (written: the box and the points)",
            )
        out = [self._rectangle(box, 0, rid, label, width, height)]
        self.tags["keypoints"] = None
        self.keypoints.update(dict.fromkeys(names))  # every name, in the category's order
        for k in range(len(values) // 3):
            x, y, v = values[3 * k : 3 * k + 3]
            if v <= 0:
                continue
            name = names[k] if k < len(names) else str(k + 1)
            self.keypoints[name] = None
            value: dict[str, Any] = {
                "x": x * 100 / width,
                "y": y * 100 / height,
                "width": 1.0,
                "keypointlabels": [name],
            }
            if v == 1:
                value["hidden"] = True
            point = _result(f"{rid}-{k + 1}", "keypointlabels", "keypoints", value)
            point["parentID"] = rid
            out.append(point)
        return out

    def choices_of(self, image: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Image attributes of text (or lists of text) as Choices results."""
        attributes = image.get("attributes")
        if not isinstance(attributes, dict):
            return []
        out = []
        for key, value in attributes.items():
            values = value if isinstance(value, list) else [value]
            if key in _NOT_CHOICES or not values or not all(isinstance(v, str) for v in values):
                self.report.lose(
                    "image_attributes",
                    "image attributes that are not text (Label Studio choices)",
                    detail=f"{key!r}",
                )
                continue
            seen, several = self.choices.setdefault(str(key), ({}, False))
            seen.update(dict.fromkeys(values))
            self.choices[str(key)] = (seen, several or len(values) > 1)
            out.append(
                {
                    "id": f"c-{key}",
                    "type": "choices",
                    "from_name": str(key),
                    "to_name": "image",
                    "value": {"choices": list(values)},
                }
            )
        return out

    def config(self, labels: list[str]) -> bytes:
        choices = {k: (list(seen), several) for k, (seen, several) in self.choices.items()}
        tags = [t for t in ("label", "polygon", "brush", "ellipse", "keypoints") if t in self.tags]
        return render_config(labels, tags, keypoints=list(self.keypoints), choices=choices)


def _result(rid: str, kind: str, from_name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "type": kind, "from_name": from_name, "to_name": "image", "value": value}


def write(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    as_annotations: bool = False,
    model_version: str = "coco-convert",
    image_root_url: str | None = None,
    report: LossReport | None = None,
    strict: bool = False,
) -> LossReport:
    """See :func:`coco_convert.converters.labelstudio.write_labelstudio`. A COCO file read
    a chunk at a time (:class:`~coco_convert.streaming.CocoStream`, ``--stream``) is
    written as it is read, task by task (:func:`_stream_tasks`): the same bytes and report
    in bounded memory. A detection results file given with it is loaded."""
    from ..dataset import load

    report = LossReport("coco2labelstudio") if report is None else report
    streams, splits = streamed_splits(datasets, kinds=("instances", "keypoints", "results"))
    for name, stream in streams.items():
        if stream.results:
            splits[name] = load(stream.name)
        else:
            stream.require_unique_image_ids("coco2labelstudio")
    results = {k: d for k, d in splits.items() if isinstance(d, ResultsDataset)}
    truth = {k: d for k, d in splits.items() if isinstance(d, CocoDataset)}
    for split, dataset in truth.items():
        if dataset.kind not in ("instances", "keypoints"):
            raise UsageError(
                f"{split}: Label Studio tasks hold objects; a COCO {dataset.kind} file cannot "
                "be written as them"
            )
    if results and len(truth) != 1:
        raise UsageError(
            "a detection results file names images by id only: give the COCO dataset it was "
            "made on with it (one), whose images become the tasks"
        )
    target = Path(out)
    single = target.name.lower().endswith(".json")
    if single and len(truth) > 1:
        raise UsageError(
            f"{target}: the input has the splits {', '.join(truth)}; write them to a folder "
            "(one tasks file per split)"
        )
    scored = next(iter(results.values()), None)
    folder = target.parent if single else target
    # (the report is whole once the tasks are written: it is checked before they appear)
    with atomic_files(folder) as stage:
        for split, dataset in truth.items():
            writer = _Writer(
                report,
                model_version=model_version,
                image_root_url=image_root_url,
                source=dataset.source or split,
            )
            stem = target.name[: -len(".json")] if single else split
            plan = _Plan(writer, dataset, scored, as_annotations=as_annotations or bool(scored))
            if split in streams:
                count = _stream_tasks(plan, streams[split], stage / f"{stem}.json")
            else:
                tasks = plan.tasks(dataset)
                write_json(stage / f"{stem}.json", tasks)
                count = len(tasks)
            labels = [str(c["name"]) for c in sorted(dataset.categories, key=lambda c: c["id"])]
            (stage / (stem + CONFIG_SUFFIX)).write_bytes(writer.config(labels))
            report.count("tasks_written", count)
        report.raise_if_strict(strict)
    report.count("files_written", 2 * len(truth))
    return report


class _Plan:
    """The tasks of a split: one per image, with the results of its annotations (and of
    the detection results given with it)."""

    def __init__(
        self,
        writer: _Writer,
        dataset: CocoDataset[Any, Any],
        results: ResultsDataset | None,
        *,
        as_annotations: bool,
    ) -> None:
        self.writer = writer
        self.as_annotations = as_annotations
        self.names = {c["id"]: str(c["name"]) for c in dataset.categories}
        self.keypoint_names = {
            c["id"]: list(c["keypoints"]) for c in dataset.categories if c.get("keypoints")
        }
        self.with_results = results is not None
        self.scored: dict[Any, list[Any]] = {}
        if results is not None:
            for number, result in enumerate(results.results):
                self.scored.setdefault(result["image_id"], []).append(
                    (number, {"id": f"r{number}", **result})
                )
        self.regions = 0

    def tasks(self, dataset: CocoDataset[Any, Any]) -> list[dict[str, Any]]:
        """Every task of a loaded dataset."""
        by_image: dict[Any, list[Any]] = {}
        for index, ann in enumerate(dataset.annotations):
            by_image.setdefault(ann["image_id"], []).append((index, ann))
        tasks = [self.task(image, by_image.get(image["id"], [])) for image in dataset.images]
        self.finish()
        return tasks

    def task(self, image: Mapping[str, Any], anns: list[Any]) -> dict[str, Any]:
        """The task of an image, given its annotations (``(index, annotation)``)."""
        writer = self.writer
        found = writer.results(anns, image, self.names, self.keypoint_names, scored=False)
        found.extend(writer.choices_of(image))
        task: dict[str, Any] = {"data": {"image": writer.url(image)}}
        key = "annotations" if self.as_annotations else "predictions"
        item: dict[str, Any] = {"result": found}
        if key == "predictions":
            item = {"model_version": writer.model_version, **item}
        task[key] = [item] if found or key == "annotations" else []
        self.regions += len(found)
        if self.with_results:
            guesses = writer.results(
                self.scored.pop(image["id"], []),
                image,
                self.names,
                self.keypoint_names,
                scored=True,
                where="",
            )
            scores = [r["score"] for r in guesses]
            prediction = {
                "model_version": writer.model_version,
                "score": sum(scores) / len(scores) if scores else 0.0,
                "result": guesses,
            }
            task["predictions"] = [prediction]
            self.regions += len(guesses)
        return task

    def finish(self) -> None:
        """Report the results no task took, and count the regions written."""
        if self.scored:
            self.writer.report.lose(
                "results_without_image",
                "results whose image_id is not an image of the dataset",
                count=sum(len(v) for v in self.scored.values()),
            )
        self.writer.report.count("regions_written", self.regions)


#: Tasks per piece of a streamed tasks file.
_TASKS_PER_PIECE = 1000


def _stream_tasks(plan: _Plan, stream: CocoStream, path: Path) -> int:
    """Write the tasks of a streamed file to ``path`` as they are made, each image with its
    annotations (:func:`~coco_convert.streaming.image_groups`), its records validated as
    :func:`~coco_convert.load` validates them; returns how many."""
    from ..streaming import image_groups

    written = 0

    def pieces() -> Iterator[list[Any]]:
        nonlocal written
        batch: list[Any] = []
        groups = image_groups(
            stream, lambda: stream.checked("images"), lambda: stream.checked("annotations")
        )
        for position, image, anns in groups:
            if position < 0:  # annotations of no image: no task takes them, as loaded
                continue
            batch.append(plan.task(image, anns))
            if len(batch) == _TASKS_PER_PIECE:
                written += len(batch)
                yield batch
                batch = []
        written += len(batch)
        yield batch
        plan.finish()

    write_document(path, [], {"": pieces})
    return written
