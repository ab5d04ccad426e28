"""Pixels for the renderers: images opened upright, and the mask of every mark.

Images are opened as the training frameworks see them: EXIF orientation applied (OpenCV's
``imread``, which ultralytics, Detectron2 and MMDetection use, does the same), so an
annotation made on the upright picture lands on the right pixels.

Masks are exactly what pycocotools rasterises (:func:`coco_convert.geometry.encode_image`:
polygons by ``frPyObjects`` + ``merge``, RLE as stored) or, for panoptic segments, the pixels
of the segment's id in its PNG. Each comes back cropped to its tight box, so painting costs
in proportion to the object, not to the image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import geometry
from ..errors import GeometryError
from ..images import MAX_PIXELS, open_image
from .scene import Mark, Note, RenderJob

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "Crop",
    "drawable",
    "image_name",
    "mark_crops",
    "no_file",
    "read_upright",
    "upright",
]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Crop:
    """A mask cut to its tight box: ``mask[r, c]`` is pixel ``(x0 + c, y0 + r)``."""

    x0: int
    y0: int
    mask: BoolArray

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The box of the pixels, ``(x, y, w, h)``, as pycocotools' ``toBbox`` gives it."""
        height, width = self.mask.shape
        return float(self.x0), float(self.y0), float(width), float(height)

    def centre(self) -> tuple[float, float]:
        """A point on the mask near its middle (the median pixel): where a region's label
        goes, inside the region even when the region is not convex."""
        rows, cols = np.nonzero(self.mask)
        order = np.argsort(cols * self.mask.shape[0] + rows)
        middle = order[len(order) // 2]
        return self.x0 + float(cols[middle]) + 0.5, self.y0 + float(rows[middle]) + 0.5


def image_name(job: RenderJob) -> str:
    """How notes name an image: its file name, or its id."""
    return str(job.image.get("file_name") or f"image {job.image.get('id')}")


def drawable(job: RenderJob, size: tuple[int, int], notes: list[Note]) -> bool:
    """Whether an image of ``size`` can be drawn: not beyond Pillow's pixel limit (a JSON
    that says 100000 x 100000 would otherwise ask for a 30 GB canvas)."""
    if size[0] * size[1] <= MAX_PIXELS:
        return True
    notes.append(Note("image_too_large", image_name(job), f"{size[0]}x{size[1]}"))
    return False


def no_file(job: RenderJob) -> Note:
    """The note of a job without an image file."""
    return job.missing or Note("image_missing", image_name(job))


def upright(image: PILImage.Image) -> PILImage.Image:
    """``image`` as RGB with its EXIF orientation applied (a new image; the EXIF tag gone)."""
    from PIL import ImageOps

    turned = ImageOps.exif_transpose(image)
    assert turned is not None  # not in place
    return turned if turned.mode == "RGB" else turned.convert("RGB")


def read_upright(
    path: str | os.PathLike[str], *, at_least: tuple[int, int] | None = None
) -> PILImage.Image:
    """The image at ``path`` decoded, RGB and upright. ``at_least`` (width, height): the
    picture may come back smaller than stored but not smaller than this (JPEG decodes at 1/2,
    1/4 or 1/8 scale, several times faster), for thumbnails. Raises
    :class:`~coco_convert.images.ImageFileError` for what is no image Pillow reads (or a
    decompression bomb), ``OSError`` for data that breaks off."""
    with open_image(path) as image:
        if at_least is not None:
            image.draft("RGB", at_least)
        return upright(image)


def mark_crops(
    job: RenderJob, marks: Sequence[Mark], size: tuple[int, int], notes: list[Note]
) -> list[Crop | None]:
    """The mask of each mark (None: it has none, or it could not be rasterised: a note says
    so) in an image of ``size`` (width, height)."""
    width, height = size
    crops: list[Crop | None] = [None] * len(marks)
    with_segmentation = [i for i, m in enumerate(marks) if m.segment_id is None and m.has_mask]
    rles = _encode(job, [marks[i] for i in with_segmentation], height, width, notes)
    for i, rle in zip(with_segmentation, rles, strict=True):
        found = geometry.rle_crop(rle) if rle is not None else None
        if found is not None:
            crops[i] = Crop(found[0], found[1], np.ascontiguousarray(found[2]))
    segments = [i for i, m in enumerate(marks) if m.segment_id is not None]
    if segments:
        from_png = _panoptic(job, [marks[i] for i in segments], notes)
        for i, crop in zip(segments, from_png, strict=True):
            crops[i] = crop
    return crops


def _encode(
    job: RenderJob, marks: Sequence[Mark], height: int, width: int, notes: list[Note]
) -> list[geometry.RLE | None]:
    """The RLE of each mark: one pycocotools call for the whole image, or mark by mark when
    one of them cannot be rasterised (so that only that one is left out, with a note)."""
    if not marks:
        return []
    try:
        return list(geometry.encode_image([m.segmentation for m in marks], height, width))
    except GeometryError:
        pass
    found: list[geometry.RLE | None] = []
    for mark in marks:
        try:
            found.append(geometry.to_rle(mark.segmentation, height, width))
        except GeometryError as exc:
            where = f"annotation {mark.ann_id}" if mark.ann_id is not None else mark.category
            notes.append(Note("segmentation_invalid", image_name(job), f"{where}: {exc}"))
            found.append(None)
    return found


def _crop(mask: BoolArray) -> Crop | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return Crop(x0, y0, mask[y0:y1, x0:x1])


def _panoptic(job: RenderJob, marks: Sequence[Mark], notes: list[Note]) -> list[Crop | None]:
    """Masks of panoptic segments from their layer's PNG (``id = R + 256 G + 256² B``)."""
    layer = job.layers[marks[0].layer]
    ids = _panoptic_ids(job, layer.panoptic_png, notes)
    if ids is None:
        return [None] * len(marks)
    crops: list[Crop | None] = []
    for mark in marks:
        crop = _crop(ids == mark.segment_id)
        if crop is None:
            notes.append(
                Note(
                    "panoptic_segment_empty", str(layer.panoptic_png), f"segment {mark.segment_id}"
                )
            )
        crops.append(crop)
    return crops


def _panoptic_ids(
    job: RenderJob, png: str | None, notes: list[Note]
) -> npt.NDArray[np.uint32] | None:
    if png is None or not Path(png).is_file():
        notes.append(Note("panoptic_png_missing", image_name(job), png or "no PNG named"))
        return None
    try:
        with open_image(png) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint32)
    except Exception as exc:  # ImageFileError, or OSError for data that breaks off
        notes.append(Note("panoptic_png_unreadable", png, str(exc)))
        return None
    size = job.size
    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
        notes.append(
            Note(
                "panoptic_png_size",
                png,
                f"{rgb.shape[1]}x{rgb.shape[0]}, the image is {size[0]}x{size[1]}",
            )
        )
        return None
    ids: Any = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    return ids  # type: ignore[no-any-return]
