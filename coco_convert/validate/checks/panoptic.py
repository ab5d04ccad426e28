"""P: panoptic segments and PNGs; D: detection results."""

from __future__ import annotations

from ..context import Context, check, fmt


@check("P001", "P003", "P004", kinds=("panoptic",))
def segments(ctx: Context) -> None:
    seen_images: dict[int, int] = {}
    for i, ann in ctx.records("annotations"):
        where = f"/annotations/{i}"
        image_id = ann["image_id"]
        if image_id in seen_images:
            ctx.report(
                "P003",
                f"{where}/image_id",
                f"image {image_id} already has a panoptic annotation "
                f"(/annotations/{seen_images[image_id]})",
            )
        else:
            seen_images[image_id] = i
        first: dict[int, int] = {}
        for j, segment in enumerate(ann["segments_info"]):
            segment_id = segment["id"]
            if segment_id == 0:
                ctx.report(
                    "P004", f"{where}/segments_info/{j}/id", "segment id 0 is VOID in the PNG"
                )
            if segment_id in first:
                ctx.report(
                    "P001",
                    f"{where}/segments_info/{j}/id",
                    f"segment id {segment_id} is also used by segments_info/{first[segment_id]}",
                )
            else:
                first[segment_id] = j


@check("P002", kinds=("panoptic",))
def pngs(ctx: Context) -> None:
    folder = ctx.settings.images
    if folder is None:
        return
    for i, ann in ctx.records("annotations"):
        path = folder / ann["file_name"]
        if not path.is_file():
            ctx.report("P002", f"/annotations/{i}/file_name", f"panoptic PNG {path} does not exist")


@check("D002", kinds=("results",), scope="document")
def empty_results(ctx: Context) -> None:
    if not ctx.tables.counts.get("", 0):
        ctx.report("D002", "", "the results list is empty (pycocotools' loadRes fails on [])")


@check("D001", kinds=("results",))
def scores(ctx: Context) -> None:
    for i, result in ctx.records(""):
        score = result.get("score", 0)  # (caption results have none)
        if not 0 <= score <= 1:
            ctx.report("D001", f"/{i}/score", f"score {fmt(score)} is outside [0, 1]")
