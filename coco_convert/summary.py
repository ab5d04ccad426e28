"""What a dataset holds, in numbers: the facts behind ``coco-convert info``, a short view of
the statistics ``coco-convert stats`` gives in full (:mod:`coco_convert.ops.statistics`)."""

from __future__ import annotations

from typing import Any

from .dataset import Dataset
from .ops.statistics import segmentation_kind, stats

__all__ = ["segmentation_kind", "summarize", "summarize_stats"]

_CATEGORY_KEYS = ("id", "name", "supercategory", "annotations", "images")
_COCO_KEYS = (
    "kind",
    "images",
    "annotations",
    "categories",
    "images_without_annotations",
    "segments",
    "segmentation",
    "crowd",
    "keypoints",
    "unknown_category_ids",
)


def summarize(dataset: Dataset) -> dict[str, Any]:
    """Counts of images, annotations and categories; per-category counts; the kinds of
    segmentation, crowd regions and keypoints found. JSON-ready."""
    return summarize_stats(stats(dataset))


def summarize_stats(full: dict[str, Any]) -> dict[str, Any]:
    """:func:`summarize` from the full statistics (:func:`coco_convert.ops.stats`; a
    streamed file's come from :func:`~coco_convert.ops.statistics.collect_stream`)."""
    if full["kind"] == "results":
        return {
            "kind": "results",
            "results": full["results"],
            "images": full["images"],
            "categories": [{"id": c["id"], "results": c["results"]} for c in full["categories"]],
            "geometry": full.get("geometry", {}),
        }
    summary = {key: full[key] for key in _COCO_KEYS if full.get(key) is not None}
    if not summary.get("crowd"):
        summary.pop("crowd", None)
    summary["categories"] = [
        {key: category.get(key) for key in _CATEGORY_KEYS} for category in full["categories"]
    ]
    if "keypoints" in summary:
        summary["keypoints"] = {key: full["keypoints"][key] for key in ("annotations", "labelled")}
    return summary
