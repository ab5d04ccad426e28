"""Image sizes from file headers, without decoding pixels, as training frameworks see them.

Formats that store coordinates relative to the image (YOLO) need every image's size, and a
wrong size is a wrong box. Two things matter:

* **Speed.** Only the header is read: ``imagesize`` for JPEG, TIFF, HEIF/AVIF, BMP, GIF and
  JPEG 2000 (about 17 us per JPEG here); Pillow's lazy open for PNG and WebP and for anything
  ``imagesize`` cannot read. :func:`read_sizes` spreads large inputs over the CPU cores.
* **EXIF orientation.** Phones store a portrait photo as a landscape bitmap plus an EXIF
  orientation tag. OpenCV's ``imread``, which ultralytics and most training code use, applies
  the tag, and ultralytics' ``exif_size`` (the size its label checks use) swaps width and height
  for orientations 5 to 8. So do we, for JPEG, TIFF, HEIF/AVIF (``imagesize``) and for PNG and
  WebP (the ``eXIf`` / ``EXIF`` chunk read by Pillow, which ``imagesize`` does not look at):
  the size returned is the size of the upright image. Orientations 2 to 4 (mirror, 180 degrees)
  keep the size. A size that disagrees with an annotation file's is therefore worth a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO

import imagesize

from .parallel import choose_jobs, map_tasks

__all__ = [
    "IMAGE_SUFFIXES",
    "PARALLEL_MIN_IMAGES",
    "ImageSizeError",
    "is_image_name",
    "read_size",
    "read_sizes",
]

#: File suffixes that ultralytics lists as images (``ultralytics.data.utils.IMG_FORMATS``).
IMAGE_SUFFIXES = frozenset(
    {
        "avif",
        "bmp",
        "dng",
        "heic",
        "heif",
        "jp2",
        "jpeg",
        "jpg",
        "mpo",
        "png",
        "tif",
        "tiff",
        "webp",
    }
)

#: EXIF orientations that turn the stored bitmap by 90 or 270 degrees (width and height swap).
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Below this many images a process pool costs more than it saves (header reads here, and
#: yolo2coco's label and header reads).
PARALLEL_MIN_IMAGES = 2000


class ImageSizeError(Exception):
    """No reader could get the size of an image (``str()`` says why, in a few words)."""


def is_image_name(name: str) -> bool:
    """Whether a file name has a suffix that training frameworks load as an image."""
    return name.rpartition(".")[2].lower() in IMAGE_SUFFIXES


def read_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` of the upright image (EXIF orientation applied), from its header.

    Raises :class:`ImageSizeError` when the file is missing, is not an image, or is too broken
    for any reader to find its size."""
    name = os.fspath(path)
    if name.startswith(("http://", "https://")):
        name = f"./{name}"  # imagesize would fetch a URL; a path is a path
    try:
        if name.lower().endswith((".png", ".webp")):
            # imagesize does not read EXIF orientation from PNG and WebP; Pillow's lazy open
            # does, and also reads a file misnamed so.
            with open(name, "rb") as handle:  # noqa: PTH123 - hot loop, 100k files
                return _pillow_size(handle)
        try:
            # By name: given a file object, imagesize checks it against a runtime Protocol,
            # which costs more than opening the file again.
            info = imagesize.get_info(
                name, size=True, dpi=False, colors=False, exif_rotation=True, channels=False
            )
            width, height = info.width, info.height
        except Exception:  # imagesize raises a mix of ValueError, struct.error, ...
            width = height = -1
        if width > 0 and height > 0:
            return width, height
        with open(name, "rb") as handle:  # noqa: PTH123
            return _pillow_size(handle)
    except FileNotFoundError:
        raise ImageSizeError("no such file") from None
    except IsADirectoryError:
        raise ImageSizeError("is a folder, not an image") from None
    except OSError as exc:
        raise ImageSizeError(f"cannot read: {exc.strerror or exc}") from None


def _pillow_size(handle: BinaryIO) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(handle) as image:
            width, height = image.size
            # PNG keeps EXIF in an eXIf chunk and WebP in an EXIF chunk; Pillow's lazy open
            # reads both into ``info`` without decoding pixels (``getexif()`` would decode a
            # PNG that has none).
            raw = image.info.get("exif")
            if raw is None and image.format not in ("PNG", "WEBP"):
                raw_exif = image.getexif()
                orientation = raw_exif.get(_EXIF_ORIENTATION)
            elif raw:
                exif = Image.Exif()
                exif.load(raw)
                orientation = exif.get(_EXIF_ORIENTATION)
            else:
                orientation = None
    except UnidentifiedImageError:
        raise ImageSizeError("not an image that imagesize or Pillow can read") from None
    except Exception as exc:  # Pillow raises SyntaxError, struct.error, ... on broken headers
        raise ImageSizeError(f"broken image header ({type(exc).__name__}: {exc})") from None
    if width <= 0 or height <= 0:
        raise ImageSizeError(f"header gives an empty size {width}x{height}")
    if orientation in _SWAPPING_ORIENTATIONS:
        return height, width
    return width, height


def _sizes_chunk(paths: Sequence[str]) -> list[tuple[int, int] | str]:
    found: list[tuple[int, int] | str] = []
    for path in paths:
        try:
            found.append(read_size(path))
        except ImageSizeError as exc:
            found.append(str(exc))
    return found


def read_sizes(
    paths: Sequence[str], *, jobs: int | None = None, chunk: int = 1000
) -> list[tuple[int, int] | str]:
    """:func:`read_size` of many images, in order: a ``(width, height)`` or, for an image that
    cannot be read, the reason as a string. ``jobs`` processes (default: every available CPU)
    share large inputs."""
    workers = choose_jobs(jobs, len(paths), worth_it=PARALLEL_MIN_IMAGES)
    if workers == 1:
        return _sizes_chunk(paths)
    parts = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    found: list[tuple[int, int] | str] = []
    for sizes in map_tasks(_sizes_chunk, parts, jobs=workers):
        found.extend(sizes)
    return found
