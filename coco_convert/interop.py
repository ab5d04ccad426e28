"""pycocotools interop: hand a dataset to existing evaluation code and take one back.

No temporary files and no copies: the ``COCO`` object and the dataset share the same dicts.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

from .dataset import AnyDataset, Dataset, ResultsDataset, from_document
from .errors import UsageError
from .schemas.coco import Kind

if TYPE_CHECKING:
    from pycocotools.coco import COCO

__all__ = ["from_pycocotools", "to_pycocotools"]


def to_pycocotools(dataset: Dataset, *, gt: Dataset | COCO | None = None) -> COCO:
    """A ``pycocotools.coco.COCO`` over the same records, indexed, without printing.

    Detection results need the ground truth they refer to: ``to_pycocotools(results, gt=...)``
    returns ``gt.loadRes(results)`` (on shallow copies, since ``loadRes`` writes ``id``,
    ``area`` and ``bbox`` into each result)."""
    from pycocotools.coco import COCO

    if isinstance(dataset, ResultsDataset):
        if gt is None:
            raise UsageError("detection results need their ground truth: pass gt=<dataset>")
        gt_coco = gt if isinstance(gt, COCO) else to_pycocotools(gt)
        with contextlib.redirect_stdout(io.StringIO()):
            return gt_coco.loadRes([dict(result) for result in dataset.results])
    coco = COCO()
    coco.dataset = dataset.document
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def from_pycocotools(coco: Any, *, kind: Kind | None = None, validate: bool = True) -> AnyDataset:
    """A dataset over ``coco.dataset`` (shared, not copied), validated unless told not to."""
    return from_document(coco.dataset, kind=kind, validate=validate, source="<pycocotools COCO>")
