"""T: which tool wrote a file, and the known quirks of that tool.

Recognition uses fingerprints the tools leave in every export (their ``info`` block, extra
keys of their own); the evidence for each quirk is in the rule's documentation
(``coco-convert validate --explain T001``). Generic rules name most quirks already (category
id 0, annotation id 0, empty segmentations); their messages mention the tool when it is known.
"""

from __future__ import annotations

import re
from typing import Any

from ..context import Context, check, fmt
from ..diagnostics import Fix

__all__ = ["native_format", "recognise_tool"]

_LS_PREFIX = re.compile(r"^[0-9a-f]{8}-")
_BACKGROUND = {"_background_", "__background__"}


def native_format(document: Any) -> tuple[str, str] | None:
    """The labeling tool whose *own* format ``document`` is (not COCO), if any: what it is,
    and the name of the format (in :mod:`coco_convert.registry`) that reads it."""
    if isinstance(document, dict):
        if "shapes" in document and ("imagePath" in document or "imageHeight" in document):
            return "a LabelMe annotation (one image's shapes)", "labelme"
        if "_via_img_metadata" in document:
            return "a VGG Image Annotator project", "via"
        values = list(document.values())[:5]
        if values and all(
            isinstance(v, dict) and "regions" in v and "filename" in v for v in values
        ):
            return "a VGG Image Annotator region export", "via"
    if isinstance(document, list) and document:
        first = document[0]
        if (
            isinstance(first, dict)
            and "data" in first
            and ("annotations" in first or "predictions" in first)
        ):
            return "a Label Studio task export", "labelstudio"
    return None


def recognise_tool(document: Any) -> str | None:
    """The tool that wrote a COCO document, from its fingerprints (None when unknown)."""
    if not isinstance(document, dict):
        return None
    info = document.get("info")
    info = info if isinstance(info, dict) else {}
    text = " ".join(str(info.get(key) or "") for key in ("description", "url", "contributor"))
    lowered = text.lower()
    if "roboflow" in lowered:
        return "Roboflow"
    if "fiftyone" in lowered or "voxel51" in lowered:
        return "FiftyOne"
    if "vgg image annotator" in lowered:
        return "VGG Image Annotator"
    if info.get("contributor") == "Label Studio":
        return "Label Studio"
    images = document.get("images")
    first_image = images[0] if isinstance(images, list) and images else None
    annotations = document.get("annotations")
    first_ann = annotations[0] if isinstance(annotations, list) and annotations else None
    if isinstance(first_image, dict) and "dataset_id" in first_image:
        return "COCO Annotator"
    if isinstance(first_ann, dict) and "isbbox" in first_ann:
        return "COCO Annotator"
    categories = document.get("categories")
    names = {
        c.get("name")
        for c in (categories if isinstance(categories, list) else ())
        if isinstance(c, dict) and isinstance(c.get("name"), str)
    }
    if document.get("type") == "instances" or names & _BACKGROUND:
        return "labelme2coco"
    if (
        isinstance(first_ann, dict)
        and isinstance(first_ann.get("attributes"), dict)
        and ("occluded" in first_ann["attributes"])
    ):
        return "CVAT"
    if info and set(info) == {"description"} and "licenses" not in document:
        return "makesense.ai"
    return None


@check("T001", "T002", kinds=("instances", "keypoints", "stuff", "panoptic"), scope="document")
def placeholder_categories(ctx: Context) -> None:
    categories = list(ctx.records("categories"))
    used = ctx.used_category_ids
    for i, category in categories:
        name = category["name"]
        unused = category["id"] not in used
        where = f"/categories/{i}"
        if (
            unused
            and len(categories) > 1
            and category.get("supercategory") in ("none", None, "")
            and all(c.get("supercategory") == name for j, c in categories if j != i)
        ):
            ctx.report(
                "T001",
                where,
                f"category {category['id']} ({name!r}) is Roboflow's placeholder superclass: "
                "every other category names it as supercategory and no annotation uses it",
                Fix.remove("delete the placeholder category", where, unsafe=True),
            )
        if name in _BACKGROUND:
            fix = Fix.remove("delete the category", where, unsafe=True) if unused else None
            ctx.report(
                "T002",
                where,
                f"category {category['id']} is labelme2coco's {name!r}: COCO has no "
                "background class",
                fix,
            )


@check("T003", kinds=("instances", "keypoints"))
def cvat_rotation(ctx: Context) -> None:
    for i, ann in ctx.records("annotations"):
        attributes = ann.get("attributes")
        if not isinstance(attributes, dict):
            continue
        rotation = attributes.get("rotation")
        if isinstance(rotation, int | float) and not isinstance(rotation, bool) and rotation % 360:
            ctx.report(
                "T003",
                f"/annotations/{i}/attributes/rotation",
                f"box rotated by {fmt(rotation)} degrees in CVAT, but bbox is the unrotated box",
            )


@check("T004")
def label_studio_names(ctx: Context) -> None:
    if ctx.tool == "Label Studio":
        for i, image in ctx.records("images"):
            base = image["file_name"].replace("\\", "/").rsplit("/", 1)[-1]
            if _LS_PREFIX.match(base):
                ctx.report(
                    "T004",
                    f"/images/{i}/file_name",
                    f"file_name {base!r} carries Label Studio's upload prefix "
                    f"{base[:9]!r}; the original file is {base[9:]!r}",
                )


@check("T005", "T006", scope="document")
def tool_exports(ctx: Context) -> None:
    tables = ctx.tables
    if ctx.tool == "makesense.ai":
        unlabelled = tables.unlabelled
        if unlabelled:
            ctx.report(
                "T005",
                "/annotations",
                f"{unlabelled} of {tables.annotation_objects} shapes have no label (makesense.ai "
                "leaves out category_id for unlabelled shapes)",
            )
    if ctx.tool == "VGG Image Annotator":
        strings = tables.strings
        if strings:
            ctx.report(
                "T006",
                "/annotations",
                f"{strings} annotations have a string image_id or a null category_id "
                "(VIA's COCO export)",
            )
