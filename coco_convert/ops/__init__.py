"""Dataset operations: merge, split, filter, remap, diff, stats and sample.

Each takes loaded datasets and returns new ones (sharing or copying records, never modifying
the inputs) with a :class:`~coco_convert.converters.loss.LossReport` saying what could not be
carried over; the ``coco-convert`` verbs of the same names are thin wrappers around them
(:mod:`coco_convert.cli.ops`). The decisions that streaming would reuse (which image goes to
which split, which annotation a filter keeps, the statistics' counters) live apart from the
documents: :class:`~coco_convert.ops.partition.SplitPlan`,
:class:`~coco_convert.ops.filtering.Selection`,
:class:`~coco_convert.ops.statistics.StatsCollector`.
"""

from __future__ import annotations

from .diffing import DatasetDiff, diff
from .filtering import Criteria, Selection, filter_dataset
from .merging import MergePlan, merge, merge_results, merge_with_plan
from .partition import SplitPlan
from .remapping import read_map, remap
from .splitting import sample, split, write_splits
from .statistics import StatsCollector, stats

__all__ = [
    "Criteria",
    "DatasetDiff",
    "MergePlan",
    "Selection",
    "SplitPlan",
    "StatsCollector",
    "diff",
    "filter_dataset",
    "merge",
    "merge_results",
    "merge_with_plan",
    "read_map",
    "remap",
    "sample",
    "split",
    "stats",
    "write_splits",
]
