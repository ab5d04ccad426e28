"""coco-convert: COCO as the hub for computer-vision annotations.

>>> import coco_convert
>>> ds = coco_convert.load("instances_val2017.json")      # doctest: +SKIP
>>> ds.get_ann_ids(cat_ids=ds.get_cat_ids(cat_nms="person"), iscrowd=False)  # doctest: +SKIP
>>> ds.save("out.json")                                    # doctest: +SKIP
"""

from __future__ import annotations

from .dataset import (
    AnyDataset,
    CaptionsDataset,
    CocoDataset,
    Dataset,
    InstancesDataset,
    KeypointsDataset,
    PanopticDataset,
    ResultsDataset,
    StuffDataset,
    detect_kind,
    from_document,
    load,
)
from .errors import CocoConvertError, InputError, Issue, JSONSyntaxError, SchemaError, UsageError
from .interop import from_pycocotools, to_pycocotools

__version__ = "0.1.0"

__all__ = [
    "AnyDataset",
    "CaptionsDataset",
    "CocoConvertError",
    "CocoDataset",
    "Dataset",
    "InputError",
    "InstancesDataset",
    "Issue",
    "JSONSyntaxError",
    "KeypointsDataset",
    "PanopticDataset",
    "ResultsDataset",
    "SchemaError",
    "StuffDataset",
    "UsageError",
    "__version__",
    "detect_kind",
    "from_document",
    "from_pycocotools",
    "load",
    "to_pycocotools",
]
