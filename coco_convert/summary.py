"""What a dataset holds, in numbers: the facts behind ``coco-convert info``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .dataset import CocoDataset, Dataset, PanopticDataset, ResultsDataset

__all__ = ["segmentation_kind", "summarize"]


def segmentation_kind(segmentation: Any) -> str:
    """``polygon``, ``multi-polygon``, ``rle`` (compressed), ``rle-uncompressed``, ``empty``
    (``[]``, as CVAT and Roboflow write for boxes) or ``none`` (no key)."""
    if segmentation is None:
        return "none"
    if isinstance(segmentation, dict):
        return "rle" if isinstance(segmentation.get("counts"), str) else "rle-uncompressed"
    if not segmentation:
        return "empty"
    return "polygon" if len(segmentation) == 1 else "multi-polygon"


def summarize(dataset: Dataset) -> dict[str, Any]:
    """Counts of images, annotations and categories; per-category counts; the kinds of
    segmentation, crowd regions and keypoints found. JSON-ready."""
    if isinstance(dataset, ResultsDataset):
        results = dataset.results
        per_category = Counter(
            result["category_id"] for result in results if "category_id" in result
        )
        return {
            "kind": dataset.kind,
            "results": len(results),
            "images": len({result["image_id"] for result in results}),
            "categories": [{"id": cid, "results": n} for cid, n in sorted(per_category.items())],
            "geometry": dict(
                Counter(
                    key
                    for result in results
                    for key in ("bbox", "segmentation", "keypoints", "caption")
                    if key in result
                )
            ),
        }
    assert isinstance(dataset, CocoDataset)
    anns: list[Any] = dataset.annotations
    images_per_cat: dict[int, set[int]] = {}
    anns_per_cat: Counter[int] = Counter()
    segmentation: Counter[str] = Counter()
    crowd = keypoint_anns = labelled_keypoints = 0
    is_panoptic = isinstance(dataset, PanopticDataset)
    is_captions = dataset.kind == "captions"
    for ann in anns:
        if is_captions:
            continue
        records = ann.get("segments_info", ()) if is_panoptic else (ann,)
        for record in records:
            category_id = record.get("category_id")
            if category_id is not None:
                anns_per_cat[category_id] += 1
                images_per_cat.setdefault(category_id, set()).add(ann.get("image_id"))
            crowd += bool(record.get("iscrowd"))
        if not is_panoptic:
            segmentation[segmentation_kind(ann.get("segmentation"))] += 1
        if "keypoints" in ann:
            keypoint_anns += 1
            labelled_keypoints += ann.get("num_keypoints", 0)
    known = {cat["id"] for cat in dataset.categories}
    categories = [
        {
            "id": cat["id"],
            "name": cat["name"],
            "supercategory": cat.get("supercategory"),
            "annotations": anns_per_cat.get(cat["id"], 0),
            "images": len(images_per_cat.get(cat["id"], ())),
        }
        for cat in dataset.categories
    ]
    unknown = sorted(cid for cid in anns_per_cat if cid not in known)
    summary: dict[str, Any] = {
        "kind": dataset.kind,
        "images": len(dataset.images),
        "annotations": len(anns),
        "categories": categories,
        "images_without_annotations": len(dataset.images) - len(dataset.index.img_to_anns),
    }
    if is_panoptic:
        summary["segments"] = sum(anns_per_cat.values())
    if segmentation:
        summary["segmentation"] = dict(segmentation.most_common())
    if crowd:
        summary["crowd"] = crowd
    if keypoint_anns:
        summary["keypoints"] = {"annotations": keypoint_anns, "labelled": labelled_keypoints}
    if unknown:
        summary["unknown_category_ids"] = unknown
    return summary
