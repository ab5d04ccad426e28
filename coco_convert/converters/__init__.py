"""The formats around the COCO hub, one module per format (coco, voc, yolo, masks, ...).

Each module defines ``FORMAT`` (its record in :mod:`coco_convert.registry`), ``detect``,
``read_<format>(src, *, ...) -> ({split: dataset}, LossReport)`` and/or
``write_<format>(datasets, out, *, ...) -> LossReport``: the contract of
:mod:`coco_convert.converters.base`. Formats never talk to each other directly, only through
the COCO datasets.
"""

from .loss import ConversionError, LossReport

__all__ = ["ConversionError", "LossReport"]
