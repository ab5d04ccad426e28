"""Folders of mask PNGs as COCO instances (the ``masks`` format; read only).

VOC-style segmentation PNGs: pixel value ``i`` is class ``i`` (``SegmentationClass``: one
annotation per connected part of a class) or object ``i`` (``SegmentationObject``: one
annotation per value, possibly in parts); 0 is background and 255 void. Palette and greyscale
PNGs hold the values; RGB PNGs (CVAT, Datumaro) are mapped back through the colours of a
``labelmap.txt`` or VOC's palette (:mod:`coco_convert.palette`). Segmentations are polygons
that rasterise to exactly the mask's pixels (:mod:`coco_convert.geometry`), or RLE.

numpy and Pillow are imported when masks are read, not when the registry lists the format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ..dataset import from_document
from ..errors import InputError, Location, UsageError
from ..images import PNG_SIGNATURE, ImageFileError, open_image
from ..io import is_unicode, open_file, read_text
from ..palette import BACKGROUND, VOC_LABELS, VOID, voc_color
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from .base import DEFAULT_SPLIT, Format, Option, Read
from .loss import LossReport

if TYPE_CHECKING:
    from ..transforms import RleHoles

__all__ = ["FORMAT", "Label", "MaskKind", "detect", "read_labels", "read_mask_values", "read_masks"]

# --- mask PNGs -> COCO ------------------------------------------------------------------------

MaskKind = Literal["auto", "instance", "class"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Label:
    """A class of a mask PNG: its pixel value (the category id), name and, for RGB masks, the
    colour that stands for it."""

    value: int
    name: str
    color: tuple[int, int, int] | None = None


def read_labels(source: str | os.PathLike[str]) -> list[Label]:
    """Class names by pixel value: ``voc`` for Pascal VOC's, or a text file with one name per
    line, line ``i`` naming value ``i`` (line 0 is the background). CVAT's ``labelmap.txt``
    (``name:r,g,b:parts:actions``, ``#`` comments) works too and gives the RGB colours; one
    without colours (``name:::``, as Datumaro writes it) means VOC's palette."""
    if os.fspath(source) == "voc":
        return [Label(i, name, voc_color(i)) for i, name in enumerate(VOC_LABELS)]
    path = Path(source)
    text = read_text(path)
    labels: list[Label] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition(":")
        color = None
        field = rest.split(":")[0].strip()
        if field:
            try:
                r, g, b = (int(p) for p in field.split(","))
            except ValueError:
                raise InputError(
                    str(path), f"expected name:r,g,b:..., got {line.strip()!r}", line=number
                ) from None
            color = (r, g, b)
        elif rest:  # `name:::` (Datumaro): the VOC palette colour of the class's index
            color = voc_color(len(labels))
        labels.append(Label(len(labels), name.strip(), color))
    if not labels:
        raise InputError(str(path), "holds no label names")
    return labels


def read_masks(
    mask_dir: str | os.PathLike[str],
    *,
    kind: MaskKind = "auto",
    images: str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
    class_masks: str | os.PathLike[str] | None = None,
    rle: bool = False,
    holes: RleHoles = "cut",
    tolerance: float = 0.0,
    min_area: float = 0.0,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """An instances dataset from a folder of mask PNGs, one image per PNG (one split,
    ``default``).

    ``kind``: ``"class"`` (VOC ``SegmentationClass``: the pixel value is the class, one
    annotation per connected part, pixels sharing an edge) or ``"instance"`` (VOC
    ``SegmentationObject``: the value is the object, one annotation per value, possibly in
    parts); ``"auto"`` tells them by the folder's name. 0 is background and 255 is void (not
    annotated) in both. Indexed (palette) and greyscale PNGs hold the values; RGB PNGs need
    ``labels`` with colours (CVAT's ``labelmap.txt``, or ``voc``). ``labels`` names the classes
    (category id = pixel value); ``class_masks``: the ``SegmentationClass`` folder that gives
    each instance its class (the class most of its pixels have). ``images``: the folder of the
    images, for their file names and to check their sizes. Segmentations are polygons that
    rasterise to exactly the mask's pixels (``rle``: RLE instead; ``holes``, ``tolerance`` and
    ``min_area`` as for :func:`~coco_convert.transforms.rle2poly`); ``area`` and ``bbox`` are
    the pixels'. ``jobs``: worker processes (default: every core for 64 PNGs or more; a Dask
    cluster inside :func:`coco_convert.cluster.connect`), one task per PNG."""

    from ..transforms import summarize_ious

    folder = Path(mask_dir)
    if not folder.is_dir():
        raise InputError(str(folder), "no such folder (expected a folder of mask PNGs)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise InputError(str(folder), "holds no .png masks")
    kind = _mask_kind(folder, kind)
    report = LossReport("masks2coco") if report is None else report
    report.stats["mask_kind"] = kind
    names = read_labels(labels) if labels is not None else None
    colors = {label.color: label.value for label in names or () if label.color is not None}
    image_files = _image_files(Path(images)) if images is not None else None
    class_dir = Path(class_masks) if class_masks is not None else None
    document_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    used: dict[int, int] = {}
    ious: list[float] = []
    for path in files:
        if not is_unicode(path.name):
            report.warn(
                "file_name_not_utf8",
                "masks whose file name is not UTF-8 (JSON cannot hold it): left out; rename "
                "the files",
                where=Location(str(path)),
            )
    files = [path for path in files if is_unicode(path.name)]
    options = (kind, colors, rle, holes, tolerance, min_area)
    tasks: list[_PngTask] = []
    for path in files:
        found = image_files.get(path.stem) if image_files is not None else None
        class_path = class_dir / path.name if kind == "instance" and class_dir else None
        tasks.append(_PngTask(path, found, class_path, *options))
    workers = choose_jobs(jobs, len(tasks), worth_it=_WORKERS_WORTH_IT)
    results = map_tasks(_read_png, tasks, jobs=workers)
    for image_id, (task, result) in enumerate(
        track(zip(tasks, results, strict=True), total=len(tasks), desc="masks", unit="png"), 1
    ):
        if image_files is not None and task.image is None:
            report.warn(
                "image_not_found",
                "masks without an image of the same name",
                where=Location(str(task.path)),
            )
        elif image_files is None and image_id == 1:
            report.warn(
                "file_names_assumed", "image file names assumed <mask name>.jpg (give --images)"
            )
        report.merge(result.report)
        file_name = task.image.name if task.image is not None else f"{task.path.stem}.jpg"
        document_images.append(
            {"id": image_id, "file_name": file_name, "height": result.height, "width": result.width}
        )
        ious.extend(result.ious)
        for category, segmentation, area, box in result.objects:
            used[category] = used.get(category, 0) + 1
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category,
                    "segmentation": segmentation,
                    "area": area,
                    "bbox": box,
                    "iscrowd": 0,
                }
            )
    categories = _categories(kind, names, used, class_dir is not None, report, labels or folder)
    report.count("images", len(document_images))
    report.count("annotations", len(annotations))
    report.stats.update(summarize_ious(ious))
    document = {
        "info": {"description": f"masks2coco from {folder.name}"},
        "licenses": [],
        "images": document_images,
        "annotations": annotations,
        "categories": categories,
    }
    dataset = from_document(document, kind="instances", validate=True, source=str(folder))
    report.raise_if_strict(strict)
    return {DEFAULT_SPLIT: dataset}, report


def _mask_kind(folder: Path, kind: MaskKind) -> Literal["instance", "class"]:
    if kind != "auto":
        return kind
    name = folder.name.lower()
    if "object" in name or "instance" in name:
        return "instance"
    if "class" in name:
        return "class"
    raise UsageError(
        f"{folder}: cannot tell instance masks from class masks by the folder's name; "
        "give --kind instance or --kind class"
    )


def _image_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(str(folder), "no such folder (--images)")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in _IMAGE_SUFFIXES:
            found.setdefault(path.stem, path)
    return found


def read_mask_values(
    path: Path, colors: dict[tuple[int, int, int], int], report: LossReport
) -> Any:
    """The pixel values of a mask PNG (``(h, w)`` ints), RGB masks mapped through ``colors``."""
    import numpy as np

    try:
        with open_image(path) as picture:
            mode = picture.mode
            values = np.asarray(picture.convert("RGB") if mode in ("RGBA", "LA") else picture)
    except ImageFileError as exc:
        raise InputError(str(path), f"cannot read the PNG: {exc}") from None
    if mode in ("P", "L", "I", "I;16", "I;16B", "1"):
        return values.astype(np.int64)
    if values.ndim == 3 and values.shape[2] >= 3:
        if not colors:
            raise InputError(
                str(path),
                f"is an RGB ({mode}) mask: say which colour is which class",
                hint="--labels labelmap.txt (name:r,g,b per line, as CVAT writes) or --labels voc",
            )
        rgb = values[..., :3].astype(np.int64)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        out = np.full(packed.shape, VOID, dtype=np.int64)
        table = {(r << 16) | (g << 8) | b: value for (r, g, b), value in colors.items()}
        unknown = np.ones(packed.shape, dtype=np.bool_)
        for code, value in table.items():
            hit = packed == code
            out[hit] = value
            unknown &= ~hit
        void_color = (224 << 16) | (224 << 8) | 192  # VOC's void colour
        unknown &= packed != void_color
        if unknown.any():
            report.warn(
                "unknown_colour",
                "pixels of a colour not in the labels, treated as void",
                where=Location(str(path)),
                count=int(unknown.sum()),
            )
        return out
    raise InputError(str(path), f"unsupported PNG mode {mode} for a mask")


#: Mask PNGs below which one process is faster than starting workers.
_WORKERS_WORTH_IT = 64


@dataclass(frozen=True)
class _PngTask:
    """One mask PNG to read (in a worker process, or on a Dask cluster): its image (to check
    the size against), its class mask (instance masks with --class-masks) and the options."""

    path: Path
    image: Path | None
    class_path: Path | None
    kind: Literal["instance", "class"]
    colors: dict[tuple[int, int, int], int]
    rle: bool
    holes: RleHoles
    tolerance: float
    min_area: float


@dataclass
class _PngResult:
    """A mask PNG's size, its objects ``(category, segmentation, area, bbox)`` in order, the
    IoU of each inexact one, and what was warned about or lost on the way."""

    height: int
    width: int
    objects: list[tuple[int, Any, int, list[float]]]
    ious: list[float]
    report: LossReport


def _read_png(task: _PngTask) -> _PngResult:
    """One mask PNG's objects: each value (or, for class masks, each connected part of a
    value) traced to polygons that rasterise to exactly its pixels, or RLE."""
    import numpy as np

    from .. import geometry

    report = LossReport("masks2coco", max_examples=None)
    path = task.path
    values = read_mask_values(path, task.colors, report)
    h, w = values.shape
    if task.image is not None:
        try:
            with open_image(task.image) as picture:
                image_size = picture.size
        except ImageFileError as exc:
            raise InputError(str(task.image), f"cannot read the image: {exc}") from None
        if image_size != (w, h):
            raise InputError(
                str(path),
                f"mask is {w} x {h} but its image {task.image} is "
                f"{image_size[0]} x {image_size[1]}",
            )
    void = int(np.count_nonzero(values == VOID))
    if void:
        report.count("void_pixels", void)
    classes = None
    if task.class_path is not None:
        if not task.class_path.is_file():
            raise InputError(str(task.class_path), f"no class mask for {path.name} (--class-masks)")
        classes = read_mask_values(task.class_path, task.colors, report)
        if classes.shape != values.shape:
            raise InputError(
                str(task.class_path),
                f"is {classes.shape[1]} x {classes.shape[0]}, its instance mask {w} x {h}",
            )
    result = _PngResult(h, w, [], [], report)
    min_area, holes, tolerance = task.min_area, task.holes, task.tolerance
    for value in np.unique(values):
        value = int(value)
        if value in (BACKGROUND, VOID):
            continue
        mask = values == value
        if task.kind == "class":
            parts = [[o] for o in geometry.trace(mask)]
            category = value
        else:
            parts = [geometry.trace(mask)]
            majority = _majority(classes[mask]) if classes is not None else 1
            if majority is None:
                report.warn(
                    "instance_without_class",
                    "instances whose pixels are all background or void in the class mask",
                    where=Location(str(path)),
                    detail=f"value {value}",
                )
            category = majority or 1
        for outlines in parts:
            exact = geometry.outlines_to_polygons(outlines)
            rle_exact = geometry.to_rle(exact, h, w)
            area, box = geometry.rle_area([rle_exact])[0], geometry.rle_bbox([rle_exact])[0]
            if min_area and area < min_area:
                report.lose(
                    "parts_below_min_area",
                    f"parts smaller than {min_area:g} px dropped (--min-area)",
                    where=Location(str(path)),
                    detail=f"value {value}",
                )
                continue
            has_holes = any(o.holes for o in outlines)
            if task.rle or (holes == "rle" and has_holes):
                segmentation: Any = rle_exact
            elif holes != "fill" and not tolerance and not min_area:
                segmentation = exact  # (what the options ask for: rasterises to rle_exact)
                result.ious.append(1.0)
            else:
                segmentation = geometry.outlines_to_polygons(
                    outlines,
                    holes="fill" if holes == "fill" else "cut",
                    tolerance=tolerance,
                    min_area=min_area,
                )
                result.ious.append(geometry.iou(geometry.to_rle(segmentation, h, w), rle_exact))
            result.objects.append((category, segmentation, area, box))
    return result


def _majority(classes: Any) -> int | None:
    import numpy as np

    counted = np.bincount(classes[(classes != BACKGROUND) & (classes != VOID)])
    return int(counted.argmax()) if counted.size and counted.max() > 0 else None


def _categories(
    kind: str,
    names: list[Label] | None,
    used: dict[int, int],
    classed: bool,
    report: LossReport,
    source: str | os.PathLike[str],
) -> list[dict[str, Any]]:
    if kind == "instance" and not classed:
        return [{"id": 1, "name": "object", "supercategory": ""}]
    by_value = {label.value: label.name for label in names or ()}
    ids = sorted(set(used) | {v for v in by_value if v not in (BACKGROUND, VOID)})
    categories = []
    for value in ids:
        name = by_value.get(value)
        if name is None:
            report.warn(
                "unnamed_class",
                "pixel values without a name in the labels (named by value)",
                where=Location(os.fspath(source)),
                detail=f"value {value}",
            )
            name = str(value)
        categories.append({"id": value, "name": name, "supercategory": ""})
    return categories


def detect(path: Path) -> bool:
    """A folder of mask PNGs: PNG files only, the first a palette or greyscale image (what
    VOC-style masks are), or a folder named like VOC's mask folders."""
    if not path.is_dir():
        return False
    try:  # one listing; DirEntry.is_file() needs no stat on the common file systems
        with os.scandir(path) as entries:
            names = [entry.name for entry in entries if entry.is_file()]
    except OSError:
        return False
    pngs = sorted(n for n in names if n.lower().endswith(".png"))
    if not pngs or len(pngs) < len(names) - 2:  # a labelmap.txt or README may sit beside
        return False
    if path.name.lower().startswith(("segmentationobject", "segmentationclass")):
        return True
    try:
        with open_file(path / pngs[0]) as handle:  # (never blocks on a named pipe)
            header = handle.read(26)
    except (InputError, OSError):
        return False
    # PNG signature, IHDR, then colour type at byte 25: 0 greyscale, 3 palette
    return header[:8] == PNG_SIGNATURE and len(header) == 26 and header[25] in (0, 3)


def validation_pieces(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """How ``validate`` reads a mask folder: with the class list beside it (CVAT's and
    Datumaro's ``labelmap.txt``, which also gives the colours of RGB masks), if there is one."""
    for folder in (path, path.parent):
        if (folder / "labelmap.txt").is_file():
            return [(path, {"labels": folder / "labelmap.txt"})]
    return [(path, {})]


_PX = "PX"

FORMAT = Format(
    name="masks",
    title="Mask PNG folders (VOC SegmentationObject / SegmentationClass style)",
    limits=(
        "Read only. One image per PNG, pixels only: object or class by pixel value, no "
        "boxes of their own (taken from the pixels), no crowd flags, no attributes; the void "
        "border (255) is left out. Image file names are <mask name>.jpg unless --images "
        "gives the images."
    ),
    kinds=("instances",),
    patterns=("SegmentationObject/*.png", "SegmentationClass/*.png", "<folder>/*.png"),
    detect=detect,
    read=read_masks,
    read_options=(
        Option(
            "kind",
            "instance: one object per pixel value (VOC SegmentationObject); class: one object "
            "per connected part of each class (VOC SegmentationClass); auto: by the folder's "
            "name.",
            type="choice",
            choices=get_args(MaskKind),
            default="auto",
        ),
        Option(
            "images",
            "Folder of the images: their file names, and a check of their sizes.",
            type="dir",
        ),
        Option(
            "labels",
            "Class names, one per line by pixel value (line 0: background), or CVAT's "
            "labelmap.txt (gives RGB colours too), or 'voc'.",
            metavar="FILE|voc",
        ),
        Option(
            "class_masks",
            "With --kind instance: the class masks (SegmentationClass) giving each object's class.",
            type="dir",
        ),
        Option("rle", "Write RLE segmentations instead of polygons.", type="flag"),
        Option(
            "holes",
            "Masks with holes: cut each hole into its outline (exact), fill the holes, or "
            "keep such masks as RLE.",
            type="choice",
            choices=("cut", "fill", "rle"),
            default="cut",
        ),
        Option(
            "tolerance",
            "Simplify outlines within PX pixels (0: exact, the same pixels).",
            type="float",
            default=0.0,
            minimum=0,
            metavar=_PX,
        ),
        Option(
            "min_area",
            "Drop mask parts smaller than PX pixels.",
            type="float",
            default=0.0,
            minimum=0,
            metavar=_PX,
        ),
    ),
    output="folder",
    aliases=("mask-png", "segmentation-masks"),
    validation=validation_pieces,
    docs="docs/masks.md",
)
