"""Annotations painted on their image (Pillow and numpy): the pictures of ``coco-convert draw``
and :meth:`Dataset.draw <coco_convert.dataset.CocoDataset.draw>`.

What a picture shows, layer by layer (second layer of ``--compare`` over the first):

* **Masks** (polygons, RLE, panoptic segments) filled with their colour at ``alpha``, largest
  first so that small objects stay visible, and outlined *inside* the mask. The painted pixels
  are exactly the mask pycocotools rasterises (``annToMask``): holes stay open, nothing spills
  over the edge. **Crowd** regions are hatched.
* **Boxes** drawn on the box's own border pixels (``[x, y, w, h]`` covers columns ``x`` to
  ``x + w - 1``).
* **Keypoints**: skeleton edges between labelled points, then each point centred on its
  coordinates: filled when visible (v=2), hollow when labelled but not visible (v=1).
* **Labels** (category name, score for results) on a patch of the object's colour, above the
  box or inside it, always inside the image.
* **Captions** in a band under the image.

Every picture comes from :func:`render` (or :func:`paint`, which stops before encoding), a
pure function of a :class:`~coco_convert.visual.scene.RenderJob`.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .pixels import Crop, drawable, image_name, mark_crops, no_file, read_upright, upright
from .scene import (
    RGB,
    DrawOptions,
    Mark,
    Note,
    Rendered,
    RenderJob,
    auto_font_size,
    auto_line_width,
    keypoint_extent,
    keypoint_radius,
    label_position,
    marks,
    placement,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

__all__ = ["BLANK", "Rendered", "encode", "paint", "render"]

#: The colour of the canvas drawn when an image's file is missing or unreadable.
BLANK: RGB = (200, 200, 200)

#: A rectangle on the picture: left, top, right, bottom.
Box = tuple[float, float, float, float]


def render(job: RenderJob) -> Rendered:
    """Draw one image and encode it as ``job.options.format``: the per-image unit of work of
    ``coco-convert draw`` (a module-level pure function of a picklable job, for
    :func:`coco_convert.parallel.map_tasks` or a Dask cluster)."""
    picture, notes = paint(job)
    if picture is None:
        return Rendered(b"", tuple(notes))
    return Rendered(encode(picture, job.options), tuple(notes))


def encode(picture: PILImage.Image, options: DrawOptions) -> bytes:
    """``picture`` as PNG (zlib level 1: photos barely compress, and level 6 takes five
    times longer for 3% less) or JPEG of ``options.quality``."""
    buffer = io.BytesIO()
    if options.format == "jpg":
        picture.save(buffer, "JPEG", quality=options.quality)
    else:
        picture.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def paint(
    job: RenderJob, image: PILImage.Image | None = None
) -> tuple[PILImage.Image | None, list[Note]]:
    """The picture of ``job`` (None when there is neither an image nor a size to draw on)
    and its notes. ``image``: draw on this picture instead of reading ``job.path``."""
    from PIL import ImageDraw

    notes: list[Note] = []
    canvas = _canvas(job, image, notes)
    if canvas is None:
        return None, notes
    size = job.size or canvas.size
    options = job.options
    line = options.line_width or auto_line_width(*size)
    # With --compare, the first set's lines are twice as wide, so that where the two sets
    # agree both colours show (the second set's line inside the first's).
    widths = (2 * line, line) if len(job.layers) > 1 else (line, line)
    found = [mark for i, layer in enumerate(job.layers) for mark in marks(layer, i)]
    crops = mark_crops(job, found, size, notes)

    picture = canvas
    order = sorted(
        (i for i, crop in enumerate(crops) if crop is not None),
        key=lambda i: (found[i].layer, -int(_crop(crops, i).mask.sum())),
    )
    for i in order:
        mark = found[i]
        _fill(picture, _crop(crops, i), mark.colour, options.alpha, mark.crowd, widths[mark.layer])
    draw = ImageDraw.Draw(picture)
    if options.boxes:
        for mark in found:
            if mark.bbox is not None and not mark.region:
                _box(draw, mark.bbox, mark.colour, widths[mark.layer])
    for mark in found:
        if mark.keypoints:
            _keypoints(draw, mark, line)
    if options.labels:
        font_size = auto_font_size(*size)
        placed: list[Box] = []
        for mark, crop in zip(found, crops, strict=True):
            _label(picture, mark, crop, font_size, placed)
    captions = job.captions
    if captions:
        picture = _with_captions(picture, captions, _font(auto_font_size(*size)))
    return picture, notes


def _crop(crops: Sequence[Crop | None], i: int) -> Crop:
    crop = crops[i]
    assert crop is not None
    return crop


def _canvas(
    job: RenderJob, image: PILImage.Image | None, notes: list[Note]
) -> PILImage.Image | None:
    from PIL import Image

    size = job.size
    name = image_name(job)
    if size is not None and not drawable(job, size, notes):
        return None
    if image is not None:
        picture = upright(image)
    elif job.path is None:
        if size is None:
            notes.append(Note("image_without_size", name))
            return None
        notes.append(no_file(job))
        return Image.new("RGB", size, BLANK)
    else:
        try:
            picture = read_upright(job.path)
        except Exception as exc:  # ImageFileError, or OSError for data that breaks off
            notes.append(Note("image_unreadable", job.path, str(exc)))
            if size is None:
                notes.append(Note("image_without_size", name))
                return None
            return Image.new("RGB", size, BLANK)
    if size is not None and picture.size != size:
        notes.append(
            Note(
                "image_size_mismatch",
                name,
                f"the file is {picture.size[0]}x{picture.size[1]}, "
                f"the annotations say {size[0]}x{size[1]}",
            )
        )
    return picture


# --- masks --------------------------------------------------------------------------------------


def _fill(
    picture: PILImage.Image, crop: Crop, colour: RGB, alpha: float, crowd: bool, line: int
) -> None:
    """Blend ``colour`` into the mask's pixels and outline it from the inside; crowd regions
    get diagonal hatching (strong stripes on a lighter tint). Clipped to the picture.

    One ``paste`` of the colour through an opacity mask (0 outside the mask, ``alpha`` inside,
    opaque on the outline): Pillow blends in C, only over the mask's box."""
    from PIL import Image

    width, height = picture.size
    mask = crop.mask[: max(height - crop.y0, 0), : max(width - crop.x0, 0)]
    if not mask.size:
        return
    rows, cols = mask.shape
    if crowd:
        spacing = max(6, 4 * line)
        ys, xs = np.ogrid[crop.y0 : crop.y0 + rows, crop.x0 : crop.x0 + cols]
        stripes = ((ys + xs) % spacing) < max(1, line)
        strong, light = round(max(alpha, 0.85) * 255), round(alpha * 0.5 * 255)
        opacity = np.where(mask, np.where(stripes, strong, light), 0).astype(np.uint8)
    else:
        opacity = mask.astype(np.uint8) * np.uint8(round(alpha * 255))
    opacity[mask & ~_eroded(mask, max(1, line // 2))] = 255
    box = (crop.x0, crop.y0, crop.x0 + cols, crop.y0 + rows)
    picture.paste(colour, box, Image.fromarray(opacity, mode="L"))


def _eroded(mask: npt.NDArray[np.bool_], steps: int) -> npt.NDArray[np.bool_]:
    """``mask`` shrunk by ``steps`` pixels (4-neighbourhood; outside the mask is empty)."""
    inner = mask
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.bool_)
    for _ in range(steps):
        padded[1:-1, 1:-1] = inner
        inner = (
            padded[1:-1, 1:-1]
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
        )
    return inner


# --- vector marks ------------------------------------------------------------------------------


def _box(
    draw: ImageDraw.ImageDraw, bbox: tuple[float, float, float, float], colour: RGB, line: int
) -> None:
    """A box on its own border pixels: ``[x, y, w, h]`` covers columns ``round(x)`` to
    ``round(x + w) - 1`` (Pillow draws the width inwards from the given corners)."""
    x, y, w, h = bbox
    x0, y0 = round(x), round(y)
    x1, y1 = max(round(x + w) - 1, x0), max(round(y + h) - 1, y0)
    draw.rectangle((x0, y0, x1, y1), outline=colour, width=line)


def _keypoints(draw: ImageDraw.ImageDraw, mark: Mark, line: int) -> None:
    """Skeleton edges from rim to rim, then the points: filled (v=2, dark rim for contrast)
    or hollow (v=1: a ring, the picture left visible inside), each covering the pixels whose
    centres are within the radius of ``(x, y)``. COCO measures from the image's corner
    (pixel ``i`` spans ``[i, i + 1]``); Pillow's pixel ``i`` is centred on ``i``, hence the
    half pixel."""
    radius = keypoint_radius(line)
    ring = max(1, radius // 2)
    where = {k: (x - 0.5, y - 0.5, state) for k, (x, y, state) in mark.keypoints}
    for a, b in mark.skeleton:
        (xa, ya, _), (xb, yb, _) = where[a], where[b]
        length = float(np.hypot(xb - xa, yb - ya))
        if length <= 2 * radius:
            continue
        dx, dy = (xb - xa) / length * radius, (yb - ya) / length * radius
        draw.line((xa + dx, ya + dy, xb - dx, yb - dy), fill=mark.colour, width=line)
    for x, y, state in where.values():
        corners = (
            math.ceil(x - radius),
            math.ceil(y - radius),
            math.floor(x + radius),
            math.floor(y + radius),
        )
        if state == 2:
            draw.ellipse(corners, fill=mark.colour, outline=(0, 0, 0), width=1)
        else:
            draw.ellipse(corners, outline=mark.colour, width=ring)


# --- labels and captions -----------------------------------------------------------------------


#: Label fonts, first found first: DejaVu Sans (most Linux systems; every script that
#: category names and captions are written in), else the font that Pillow carries (Latin).
FONTS = ("DejaVuSans.ttf",)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)  # Pillow's wheels carry FreeType
    return font


def _label(
    picture: PILImage.Image, mark: Mark, crop: Crop | None, font_size: int, placed: list[Box]
) -> None:
    """The mark's label at :func:`~.scene.label_position`, moved up or down by a line or two
    when it would cover a label already placed (``placed``, which it joins)."""
    if mark.region and crop is not None:
        x, y = crop.centre()
        anchor: tuple[float, float, float, float] | None = (x, y, 0.0, 0.0)
    else:
        anchor = mark.bbox or (crop.box if crop is not None else None) or keypoint_extent(mark)
    if anchor is None:
        return
    patch = _label_patch(mark.label, font_size, mark.colour)
    width, height = patch.size
    left, top = label_position(anchor, (width, height), picture.size, placement(mark))
    for shift in (0, 1, -1, 2, -2):
        moved = min(max(top + shift * height, 0.0), max(picture.height - height, 0.0))
        box = (left, moved, left + width, moved + height)
        if not any(_overlap(box, other) for other in placed):
            top = moved
            break
    placed.append((left, top, left + width, top + height))
    picture.paste(patch, (round(left), round(top)))


@functools.lru_cache(maxsize=1024)
def _label_patch(text: str, font_size: int, colour: RGB) -> PILImage.Image:
    """A label as a small picture: the text on a patch of the object's colour. Made once per
    text, size and colour in a process: the same categories come back on every image."""
    from PIL import Image, ImageDraw

    font = _font(font_size)
    pad = max(1, font_size // 6)
    ascent, descent = font.getmetrics()
    size = (math.ceil(font.getlength(text)) + 2 * pad, ascent + descent + 2 * pad)
    patch = Image.new("RGB", size, colour)
    ImageDraw.Draw(patch).text((pad, pad), text, font=font, fill=_ink(colour))
    return patch


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ink(colour: RGB) -> RGB:
    """Black or white, whichever reads better on ``colour`` (relative luminance)."""
    red, green, blue = colour
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else (255, 255, 255)


def _with_captions(
    picture: PILImage.Image,
    captions: Sequence[tuple[str, RGB]],
    font: ImageFont.FreeTypeFont,
) -> PILImage.Image:
    """``picture`` with a white band under it holding the captions, wrapped to its width,
    each in its colour."""
    from PIL import Image, ImageDraw

    pad = round(font.size) // 2
    per_line = max(8, int((picture.width - 2 * pad) / max(font.getlength("n"), 1)))
    lines = [
        (text, colour)
        for caption, colour in captions
        for text in textwrap.wrap(f"- {caption}", per_line) or [""]
    ]
    ascent, descent = font.getmetrics()
    step = ascent + descent + 2
    height = picture.height + 2 * pad + step * len(lines)
    band = Image.new("RGB", (picture.width, height), "white")
    band.paste(picture, (0, 0))
    draw = ImageDraw.Draw(band)
    for k, (text, colour) in enumerate(lines):
        draw.text((pad, picture.height + pad + k * step), text, font=font, fill=colour)
    return band
