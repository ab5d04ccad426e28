"""Converters between COCO and other formats, one module per outside format.

Each module exposes ``read_<format>(path, *, ...) -> Dataset`` and/or
``write_<format>(dataset, path, *, ...) -> LossReport``; formats never talk to each other
directly, only through the COCO dataset.
"""

from .loss import ConversionError, LossReport

__all__ = ["ConversionError", "LossReport"]
