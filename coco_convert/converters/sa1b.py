"""SA-1B, Segment Anything's 1-billion-mask data set: per-image JSON files, or the
``sa_XXXXXX.tar`` shards it ships in, read as COCO.

Each image is one ``sa_<n>.json``::

    {"image": {"image_id": 1, "width": 2250, "height": 1500, "file_name": "sa_1.jpg"},
     "annotations": [{"id": 1000001, "segmentation": {"size": [1500, 2250], "counts": "..."},
                      "bbox": [x, y, w, h], "area": 5120, "predicted_iou": 0.97,
                      "stability_score": 0.98, "crop_box": [x, y, w, h],
                      "point_coords": [[x, y]]}, ...]}

Read from a folder of such files, from one shard or a folder of shards (streamed with
:mod:`tarfile`, never unpacked: the JSON members are parsed and the images only counted by
name), or from one file. In COCO: the image, and each annotation with its id, its RLE as it
is (pixel for pixel), ``area`` and ``bbox`` from the mask (pycocotools; SA-1B's boxes span
the first to the last pixel, one less than COCO's width, and are replaced without a word when
that is the only difference), ``iscrowd`` 0, one category ``object`` (SA-1B has no classes),
and ``predicted_iou``, ``stability_score``, ``point_coords`` and ``crop_box`` as extra keys.
``--min-predicted-iou`` and ``--min-stability`` leave out the masks below (counted).

The work is per image: each task parses some files, or one shard, and checks every mask
(:mod:`coco_convert.parallel`, on every core or a Dask cluster with ``--workers`` /
``--scheduler``; its workers open the shards themselves, so they may be fsspec URLs such as
``s3://bucket/sa_000000.tar`` that the workers can reach).
"""

from __future__ import annotations

import math
import os
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .. import urls
from ..dataset import InstancesDataset
from ..errors import GeometryError, InputError, Location
from ..io import open_file, parse_json, read_file
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from .base import DEFAULT_SPLIT, Format, Option, Read
from .loss import LossReport

__all__ = ["FORMAT", "detect", "read_sa1b"]

#: The one category: SA-1B's masks are of no class.
CATEGORY = {"id": 1, "name": "object", "supercategory": "object"}
#: SA-1B's score and prompt fields, kept on each COCO annotation as they are.
EXTRA_KEYS = ("predicted_iou", "stability_score", "point_coords", "crop_box")

#: JSON files per task (each about a hundred masks).
_FILES_PER_TASK = 64
#: Files (or shards x this) below which one process is faster than starting workers.
_WORKERS_WORTH_IT = 200
_SHARD_WORK = 1000
#: A JSON file larger than this is not an image's annotations.
_JSON_LIMIT = 512 * 2**20

_JSON_NAME = re.compile(r"sa_(\d+)\.json$")
_SHARD_NAME = re.compile(r"sa_\d+\.tar$")
_HEAD = re.compile(rb'^\s*\{\s*"(?:image|annotations)"\s*:')
_IMAGE_ID = re.compile(rb'"image_id"\s*:')
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

#: Every warning a task can give: key -> the sentence the report counts.
_WARNINGS = {
    "bad_annotation": "annotations that are not an object with an integer id (left out)",
    "bad_segmentation": "segmentations that are not a COCO RLE (left out)",
    "mask_size": "masks whose size is not their image's (left out)",
    "bbox_mismatch": "boxes that are not the mask's box (the mask's box is used)",
    "area_mismatch": "areas that are not the mask's pixel count (the mask's is used)",
    "empty_mask": "masks without a pixel (kept)",
    "bad_score": "predicted_iou or stability_score not a number in range (kept as is)",
    "bad_prompt": "point_coords or crop_box not numbers of the right shape (kept as is)",
    "image_missing": "JSON files whose image is not in the shard (kept)",
    "duplicate_image": "images whose image_id an earlier file has (left out, with their masks)",
    "duplicate_id": "annotation ids used twice (kept: ids are SA-1B's)",
}


# --- tasks (they run in worker processes, or on a Dask cluster) ------------------------------


@dataclass(frozen=True)
class _Task:
    """One task: a shard (``files`` empty), or some JSON files. Paths or fsspec URLs."""

    shard: str | None
    files: tuple[str, ...]
    min_predicted_iou: float
    min_stability: float


@dataclass
class _Part:
    """What a task read, in order."""

    images: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[list[dict[str, Any]]] = field(default_factory=list)  # per image
    places: list[Location] = field(default_factory=list)  # per image: its JSON file
    warnings: list[tuple[str, Location, str | None]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def warn(self, key: str, where: Location, detail: str | None = None) -> None:
        self.warnings.append((key, where, detail))

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _read_task(task: _Task) -> _Part:
    part = _Part()
    if task.shard is None:
        for name in task.files:
            _read_document(_read_json(name), name, task, part)
    else:
        _read_shard(task.shard, task, part)
    return part


def _read_json(name: str) -> bytes:
    if urls.is_url(name):
        with urls.open_binary(name) as handle:
            return handle.read()
    return read_file(name, limit=_JSON_LIMIT)


@contextmanager
def _open_shard(name: str) -> Iterator[IO[bytes]]:
    if urls.is_url(name):
        with urls.open_binary(name) as handle:
            yield handle
    else:
        with open_file(name) as handle:
            yield handle


def _read_shard(shard: str, task: _Task, part: _Part) -> None:
    """Stream a shard: parse its JSON members in order, note its images' names."""
    images: set[str] = set()
    member_name = ""
    try:
        with _open_shard(shard) as handle, tarfile.open(fileobj=handle, mode="r|") as tar:
            for member in tar:
                member_name = member.name
                if not member.isfile():
                    continue
                base = PurePosixPath(member.name).name
                if base.lower().endswith(_IMAGE_SUFFIXES):
                    images.add(base)
                    continue
                if not base.endswith(".json"):
                    continue
                stream = tar.extractfile(member)
                data = stream.read() if stream is not None else b""
                if len(data) != member.size:
                    raise tarfile.ReadError("unexpected end of data")
                _read_document(data, f"{shard}/{member.name}", task, part)
                member_name = ""
    except (tarfile.ReadError, EOFError) as error:
        if member_name:
            raise InputError(
                Location(f"{shard}/{member_name}"),
                "the shard ends inside this member (truncated or damaged tar)",
                hint="download the shard again (compare its size and checksum)",
            ) from None
        raise InputError(shard, f"not a tar archive, or a damaged one ({error})") from None
    if images:
        for image, place in zip(part.images, part.places, strict=True):
            if image["file_name"] not in images:
                part.warn("image_missing", place, f"no {image['file_name']} in the shard")


def _read_document(data: bytes, name: str, task: _Task, part: _Part) -> None:
    """One image's SA-1B JSON: its image record and annotations, checked."""
    document = parse_json(data, name)
    image = _image(document, name)
    place = Location(name)
    part.images.append(image)
    part.places.append(place)
    part.annotations.append(_annotations(document["annotations"], image, name, task, part))


def _image(document: Any, name: str) -> dict[str, Any]:
    """The COCO image of an SA-1B file, or an :class:`InputError` saying it is not one."""
    hint = (
        'SA-1B holds one image per file: {"image": {"image_id", "width", "height", '
        '"file_name"}, "annotations": [...]}'
    )
    if not isinstance(document, dict) or not isinstance(document.get("image"), dict):
        raise InputError(name, "not an SA-1B file: no 'image' object", hint=hint, pointer="")
    if not isinstance(document.get("annotations"), list):
        raise InputError(
            name, "not an SA-1B file: 'annotations' is not a list", hint=hint, pointer=""
        )
    record = document["image"]
    image_id, width, height = (record.get(k) for k in ("image_id", "width", "height"))
    file_name = record.get("file_name")
    for key, value in (("image_id", image_id), ("width", width), ("height", height)):
        if type(value) is not int or (key != "image_id" and value <= 0):
            raise InputError(
                name,
                f"not an SA-1B file: image {key} must be a positive integer, not {value!r}",
                hint=hint,
                pointer=f"/image/{key}",
            )
    if not isinstance(file_name, str) or not file_name:
        raise InputError(
            name, "not an SA-1B file: image file_name is missing", hint=hint, pointer="/image"
        )
    return {"id": image_id, "width": width, "height": height, "file_name": file_name}


def _annotations(
    records: list[Any], image: dict[str, Any], name: str, task: _Task, part: _Part
) -> list[dict[str, Any]]:
    from .. import geometry

    height, width = image["height"], image["width"]
    kept: list[tuple[int, dict[str, Any], geometry.RLE]] = []  # (index, record, rle)
    for index, record in enumerate(records):
        where = Location(name, pointer=f"/annotations/{index}")
        if not isinstance(record, dict) or type(record.get("id")) is not int:
            part.warn("bad_annotation", where)
            continue
        segmentation: Any = record.get("segmentation")
        size = segmentation.get("size") if isinstance(segmentation, dict) else None
        if isinstance(size, list) and _whole_numbers(size) and size != [height, width]:
            detail = f"size {size}, the image {height} x {width}"
            part.warn("mask_size", _at(where, "/segmentation/size"), detail)
            continue
        try:
            geometry.check_rle(segmentation)
        except GeometryError as error:
            part.warn("bad_segmentation", _at(where, "/segmentation"), error.message)
            continue
        if not _scores_pass(record, where, task, part):
            continue
        kept.append((index, record, geometry.compress_rle(segmentation)))
    rles = [rle for _, _, rle in kept]
    areas = geometry.rle_area(rles)
    boxes = geometry.rle_bbox(rles)
    out = []
    for (index, record, rle), area, box in zip(kept, areas, boxes, strict=True):
        where = Location(name, pointer=f"/annotations/{index}")
        _check_box_and_area(record, box, area, where, part)
        _check_prompts(record, where, part)
        annotation: dict[str, Any] = {
            "id": record["id"],
            "image_id": image["id"],
            "category_id": CATEGORY["id"],
            "segmentation": rle,
            "area": area,
            "bbox": box,
            "iscrowd": 0,
        }
        for key in EXTRA_KEYS:
            if key in record:
                annotation[key] = record[key]
        out.append(annotation)
    return out


def _at(where: Location, pointer: str) -> Location:
    return Location(where.file, pointer=f"{where.pointer}{pointer}")


def _scores_pass(record: dict[str, Any], where: Location, task: _Task, part: _Part) -> bool:
    """Whether the mask's scores reach the filters (warning about scores that are no
    numbers; a filtered score that is missing does not reach it)."""
    passed = True
    for key, minimum, upper in (
        ("predicted_iou", task.min_predicted_iou, None),  # (a prediction: may pass 1)
        ("stability_score", task.min_stability, 1.0),
    ):
        value: Any = record.get(key)
        number = type(value) in (int, float) and math.isfinite(value)
        if key in record and (not number or value < 0 or (upper is not None and value > upper)):
            part.warn("bad_score", _at(where, f"/{key}"), f"{key} is {value!r}")
        if minimum and not (number and value >= minimum):
            passed = False
            part.count(f"masks_below_min_{key}")
    return passed


def _check_box_and_area(
    record: dict[str, Any], box: list[float], area: int, where: Location, part: _Part
) -> None:
    given = record.get("bbox")
    if given != box:
        corners = [*box[:2], max(0.0, box[2] - 1), max(0.0, box[3] - 1)]
        if given == corners and area:
            part.count("boxes_first_to_last_pixel")
        else:
            detail = f"bbox {given!r}, the mask's {box!r}"
            part.warn("bbox_mismatch", _at(where, "/bbox"), detail)
    if record.get("area") != area:
        part.warn("area_mismatch", _at(where, "/area"), f"area {record.get('area')!r}, mask {area}")
    if not area:
        part.warn("empty_mask", _at(where, "/segmentation"))


def _check_prompts(record: dict[str, Any], where: Location, part: _Part) -> None:
    points = record.get("point_coords")
    if "point_coords" in record and not (
        isinstance(points, list)
        and all(isinstance(p, list) and len(p) == 2 and _numbers(p) for p in points)
    ):
        part.warn("bad_prompt", _at(where, "/point_coords"), "expected [[x, y], ...]")
    crop = record.get("crop_box")
    if "crop_box" in record and not (isinstance(crop, list) and len(crop) == 4 and _numbers(crop)):
        part.warn("bad_prompt", _at(where, "/crop_box"), "expected [x, y, w, h]")


def _whole_numbers(values: list[Any]) -> bool:
    return len(values) == 2 and all(type(v) is int for v in values)


def _numbers(values: list[Any]) -> bool:
    return all(type(v) in (int, float) and math.isfinite(v) for v in values)


# --- the reader --------------------------------------------------------------------------------


def read_sa1b(
    src: str | os.PathLike[str],
    *,
    min_predicted_iou: float = 0.0,
    min_stability: float = 0.0,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """An instances dataset (split ``default``) from SA-1B: a folder of ``sa_<n>.json``
    files, a shard ``sa_XXXXXX.tar`` or a folder of shards, or one JSON file (local paths
    or fsspec URLs). Masks whose ``predicted_iou`` is below ``min_predicted_iou`` or whose
    ``stability_score`` is below ``min_stability`` are left out (counted). ``jobs``: worker
    processes (default: every core for large inputs; a Dask cluster inside
    :func:`coco_convert.cluster.connect`)."""
    report = LossReport("sa1b2coco") if report is None else report
    name = os.fspath(src)
    shards, files = _sources(name)
    options = (float(min_predicted_iou), float(min_stability))
    tasks = [_Task(shard, (), *options) for shard in shards] + [
        _Task(None, tuple(files[i : i + _FILES_PER_TASK]), *options)
        for i in range(0, len(files), _FILES_PER_TASK)
    ]
    workers = choose_jobs(jobs, len(files) + _SHARD_WORK * len(shards), worth_it=_WORKERS_WORTH_IT)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    seen_images: set[int] = set()
    seen_ids: set[int] = set()
    stats: dict[str, int] = {}  # boxes in SA-1B's convention, masks filtered out
    parts = map_tasks(_read_task, tasks, jobs=workers)
    for part in track(parts, total=len(tasks), desc="sa1b", unit="part"):
        for key, where, detail in part.warnings:
            report.warn(key, _WARNINGS[key], where=where, detail=detail)
        for key, n in part.counts.items():
            stats[key] = stats.get(key, 0) + n
        for image, masks, place in zip(part.images, part.annotations, part.places, strict=True):
            if image["id"] in seen_images:
                detail = f"image_id {image['id']} again"
                report.warn(
                    "duplicate_image", _WARNINGS["duplicate_image"], where=place, detail=detail
                )
                continue
            seen_images.add(image["id"])
            images.append(image)
            for annotation in masks:
                if annotation["id"] in seen_ids:
                    report.warn(
                        "duplicate_id",
                        _WARNINGS["duplicate_id"],
                        where=place,
                        detail=f"annotation id {annotation['id']} again",
                    )
                seen_ids.add(annotation["id"])
            annotations.extend(masks)
    if not images:
        raise InputError(name, "holds no SA-1B image files (sa_<n>.json, or shards of them)")
    report.count("images", len(images))
    report.count("annotations", len(annotations))
    report.count("categories", 1)
    report.stats.update(stats)
    report.stats["processes"] = workers
    document = {
        "info": {"description": "SA-1B (Segment Anything), converted by coco-convert"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [dict(CATEGORY)],
    }
    dataset = InstancesDataset(document, source=name, validate=False)
    report.raise_if_strict(strict)
    return {DEFAULT_SPLIT: dataset}, report


def _sources(name: str) -> tuple[list[str], list[str]]:
    """The shards and the JSON files under ``name``, in SA-1B's order (by number)."""
    if urls.is_url(name):
        entries = urls.listing(name)
        if entries is None:  # one file
            entries = [name]
    elif Path(name).is_dir():
        entries = [str(p) for p in Path(name).iterdir() if p.is_file()]
    elif Path(name).exists():
        entries = [name]
    else:
        raise InputError(name, "no such file or folder")
    shards = sorted((e for e in entries if e.lower().endswith(".tar")), key=_order)
    files = sorted((e for e in entries if _JSON_NAME.search(_base(e))), key=_order)
    if len(entries) == 1 and not shards and entries[0].endswith(".json"):
        files = entries  # one file, whatever its name
    if not shards and not files:
        raise InputError(name, "holds no SA-1B files (sa_<n>.json, or sa_XXXXXX.tar shards)")
    return shards, files


def _base(entry: str) -> str:
    return entry.rstrip("/").rsplit("/", 1)[-1]


def _order(entry: str) -> tuple[int, str]:
    digits = re.search(r"(\d+)", _base(entry))
    return (int(digits.group(1)) if digits else -1, entry)


# --- the format ----------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """An SA-1B JSON file (``{"image": {"image_id": ...``), a shard (``sa_<n>.tar``), or a
    folder holding either."""
    if path.is_dir():
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.is_file() and (
                        _SHARD_NAME.match(entry.name) or _JSON_NAME.match(entry.name)
                    ):
                        return detect(Path(entry.path))
        except OSError:
            return False
        return False
    if _SHARD_NAME.match(path.name):
        return path.is_file() and tarfile.is_tarfile(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return _HEAD.match(head) is not None and _IMAGE_ID.search(head) is not None


FORMAT = Format(
    name="sa1b",
    title="SA-1B (Segment Anything): per-image JSON files or sa_XXXXXX.tar shards",
    limits=(
        "Read only. Class-agnostic masks (one category, 'object'); the RLEs are kept pixel "
        "for pixel, boxes and areas taken from the masks; predicted_iou, stability_score, "
        "point_coords and crop_box kept as extra keys of each annotation."
    ),
    kinds=("instances",),
    patterns=("sa_<n>.json", "sa_XXXXXX.tar"),
    detect=detect,
    read=read_sa1b,
    read_options=(
        Option(
            "min_predicted_iou",
            "Leave out masks whose predicted_iou is below this (0: keep all).",
            type="float",
            default=0.0,
            minimum=0.0,
            metavar="X",
        ),
        Option(
            "min_stability",
            "Leave out masks whose stability_score is below this (0: keep all).",
            type="float",
            default=0.0,
            minimum=0.0,
            metavar="X",
        ),
    ),
    aliases=("sa-1b", "segment-anything"),
    rules={
        "bad_annotation": "B002",
        "bad_segmentation": "B003",
        "mask_size": "B004",
        "bbox_mismatch": "B005",
        "area_mismatch": "B006",
        "empty_mask": "B007",
        "bad_score": "B008",
        "bad_prompt": "B009",
        "image_missing": "B010",
        "duplicate_image": "B011",
        "duplicate_id": "B012",
    },
    unreadable="B001",
    other="B013",
    docs="docs/sa1b.md",
    reads_urls=True,
)
