"""Pascal VOC's class list and colour table, shared by the VOC format and the mask PNG reader.

Segmentation PNGs in the VOC style are palette images: pixel value ``i`` is class (or object)
``i``, drawn in the devkit's colour ``voc_color(i)`` (``VOClabelcolormap.m``); 0 is the
background and 255 the void border around objects. Exports that write RGB PNGs instead
(Datumaro, CVAT) use the same colours, so :func:`palette_indices` maps them back.
"""

from __future__ import annotations

import functools

__all__ = [
    "BACKGROUND",
    "VOC_CLASSES",
    "VOC_LABELS",
    "VOID",
    "palette_indices",
    "voc_color",
    "voc_palette",
]

#: The 20 Pascal VOC classes in the devkit's order (``VOCopts.classes``).
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
#: Pascal VOC's labels by pixel value: the background, then the 20 classes.
VOC_LABELS: tuple[str, ...] = ("background", *VOC_CLASSES)
#: Pixel values with a meaning of their own in VOC-style PNGs.
BACKGROUND, VOID = 0, 255


def voc_color(index: int) -> tuple[int, int, int]:
    """Pascal VOC's palette colour of a class index (the bit-interleaving colour map)."""
    r = g = b = 0
    for shift in range(8):
        r |= ((index >> 0) & 1) << (7 - shift)
        g |= ((index >> 1) & 1) << (7 - shift)
        b |= ((index >> 2) & 1) << (7 - shift)
        index >>= 3
    return r, g, b


@functools.cache
def voc_palette() -> tuple[int, ...]:
    """The devkit's 256-colour palette, flat ``(r, g, b, r, g, b, ...)`` as Pillow's
    ``putpalette`` takes it (computed once per process)."""
    return tuple(channel for index in range(256) for channel in voc_color(index))


@functools.cache
def palette_indices() -> dict[tuple[int, int, int], int]:
    """Colour -> index of the VOC palette (computed once per process; do not modify)."""
    return {voc_color(index): index for index in range(256)}
