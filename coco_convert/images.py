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

import contextlib
import io
import os
import shutil
import stat
import struct
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Literal

import imagesize

from .errors import InputError
from .io import open_file, real_path
from .parallel import choose_jobs, map_tasks
from .progress import track

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "PARALLEL_MIN_IMAGES",
    "PNG_SIGNATURE",
    "ImageFileError",
    "ImageMode",
    "ImageOutsideFolderError",
    "ImageSizeError",
    "find_image",
    "is_image_name",
    "open_image",
    "place_images",
    "read_size",
    "read_size_of",
    "read_sizes",
    "sizes_in_folder",
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
#: The first bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Below this many images a process pool costs more than it saves (header reads here, and
#: yolo2coco's label and header reads).
PARALLEL_MIN_IMAGES = 2000


#: The most pixels an image (or mask) may have: Pillow's own limit, beyond which it refuses to
#: decode a file as a possible decompression bomb (twice ``PIL.Image.MAX_IMAGE_PIXELS``). A mask
#: written larger could not be read back by Pillow-based tools (ours, Datumaro, torchvision).
MAX_PIXELS = 2 * 89_478_485


class ImageFileError(Exception):
    """An image file cannot be used (``str()`` says why, in a few words: missing, outside its
    folder, not an image, too large)."""


class ImageOutsideFolderError(ImageFileError):
    """A ``file_name`` that leads out of its image folder (``..``, or a symbolic link)."""


class ImageSizeError(ImageFileError):
    """No reader could get the size of an image (``str()`` says why, in a few words)."""


def find_image(
    folder: str | os.PathLike[str], file_name: str, *, by_base_name: bool = True
) -> Path:
    """The image file that a COCO ``file_name`` names under ``folder``.

    ``file_name`` is read as a relative path (backslashes as ``/``, a leading ``/`` dropped);
    when no file is there and ``by_base_name``, the file of the same base name directly in
    ``folder`` is taken (exports that flattened their folders). The file found must be a
    regular file, and it must lie inside ``folder`` once symbolic links are followed: a
    ``../secret.jpg`` or a link pointing out of the folder is refused, so copying, linking or
    reading what this returns never reaches other files. Raises :class:`ImageFileError`
    saying why no file can be used; returns the resolved path."""
    root = real_path(folder)
    text = file_name.replace("\\", "/").lstrip("/")
    candidates = [Path(folder, text)]
    base = PurePosixPath(text).name
    if by_base_name and base and base != text:
        candidates.append(Path(folder, base))
    for candidate in candidates:
        try:
            info = candidate.stat()
        except (OSError, ValueError):  # missing, a loop, a NUL in the name
            continue
        real = real_path(candidate)
        if real != root and root not in real.parents:
            raise ImageOutsideFolderError(f"{file_name!r} resolves to {real}, outside {folder}")
        if not stat.S_ISREG(info.st_mode):
            raise ImageFileError(f"{candidate} is not a regular file")
        return real
    raise ImageFileError(f"no file {candidates[0]}")


@contextlib.contextmanager
def open_image(path: str | os.PathLike[str] | BinaryIO) -> Iterator[PILImage]:
    """Pillow's lazy ``Image.open``, with every way a file can fail to be an image it decodes
    (not an image, a broken header, over :data:`MAX_PIXELS`: a decompression bomb, pixel data
    that breaks while the block decodes it) turned into an :class:`ImageFileError` that says
    why in a few words."""
    with contextlib.ExitStack() as stack:
        if isinstance(path, str | os.PathLike):
            try:  # a regular file (Pillow would wait forever on a named pipe)
                path = stack.enter_context(open_file(path, limit=None))
            except InputError as exc:
                raise ImageFileError(exc.message) from None
        with _pillow_image(path) as image:
            yield image


@contextlib.contextmanager
def _pillow_image(handle: BinaryIO) -> Iterator[PILImage]:
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(handle)
    except UnidentifiedImageError:
        raise ImageFileError("not an image that imagesize or Pillow can read") from None
    except Image.DecompressionBombError:
        raise ImageFileError(f"more than {MAX_PIXELS:,} pixels (Pillow's limit)") from None
    except FileNotFoundError:
        raise ImageFileError("no such file") from None
    except Exception as exc:  # Pillow raises SyntaxError, struct.error, ... on broken headers
        raise ImageFileError(f"broken image header ({type(exc).__name__}: {exc})") from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageFileError(f"{width}x{height} is more than {MAX_PIXELS:,} pixels")
        try:
            yield image
        except _DECODE_ERRORS as exc:  # decoding the pixels in the block: broken data
            raise ImageFileError(f"broken image data ({type(exc).__name__}: {exc})") from None


#: What Pillow raises on pixel data it cannot decode (a truncated file, a broken chunk).
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, zlib.error)


#: How image files are put into a dataset folder: copied, or linked to where they are.
ImageMode = Literal["copy", "symlink"]


def place_images(jobs: Sequence[tuple[Path, Path]], mode: ImageMode) -> None:
    """Copy or link each ``(source, target)`` (sources as :func:`find_image` returns them),
    making the target folders; four threads, since the time goes to the file system."""
    for folder in sorted({target.parent for _, target in jobs}):
        folder.mkdir(parents=True, exist_ok=True)
    place = _copy if mode == "copy" else _symlink
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in track(pool.map(place, jobs), total=len(jobs), desc="images", unit="img"):
            pass


def _copy(job: tuple[Path, Path]) -> None:
    shutil.copyfile(job[0], job[1])


def _symlink(job: tuple[Path, Path]) -> None:
    job[1].symlink_to(job[0])


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
        # A named pipe would block the readers; hot loop (100k files): os, not pathlib.
        mode = os.stat(name).st_mode  # noqa: PTH116
        if not stat.S_ISREG(mode):
            raise ImageSizeError(
                "is a folder, not an image" if stat.S_ISDIR(mode) else "not a regular file"
            )
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
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the name
        raise ImageSizeError(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def read_size_of(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of the upright image whose file bytes are ``data`` (an image
    embedded in an annotation file), from its header, EXIF orientation applied as
    :func:`read_size` does; :class:`ImageSizeError` when Pillow cannot read it."""
    return _pillow_size(io.BytesIO(data))


def _pillow_size(handle: BinaryIO) -> tuple[int, int]:
    from PIL import Image

    try:
        with open_image(handle) as image:
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
    except ImageFileError as exc:
        raise ImageSizeError(str(exc)) from None
    except Exception as exc:  # a broken EXIF block: struct.error, SyntaxError, ...
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


def sizes_in_folder(
    folder: str | os.PathLike[str], names: Sequence[str], *, jobs: int | None = None
) -> list[tuple[int, int] | str]:
    """:func:`read_sizes` of the images that ``names`` (COCO ``file_name``\\ s) name under
    ``folder``, each found by :func:`find_image` (by its base name when the path is not
    there; never outside the folder): a ``(width, height)`` or why there is none."""
    paths: list[str] = []
    found: list[tuple[int, int] | str | None] = []
    for name in names:
        try:
            paths.append(os.fspath(find_image(folder, name)))
            found.append(None)
        except ImageFileError as exc:
            found.append(str(exc))
    sizes = iter(read_sizes(paths, jobs=jobs))
    return [next(sizes) if item is None else item for item in found]
