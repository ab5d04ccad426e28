"""K: keypoint annotations against their category's keypoint names and skeleton."""

from __future__ import annotations

from ..context import Context, check, fmt
from ..diagnostics import Edit, Fix


@check("K004", kinds=("keypoints",), scope="document")
def skeletons(ctx: Context) -> None:
    for i, category in ctx.records("categories"):
        count = len(category.get("keypoints", ()))
        for j, edge in enumerate(category.get("skeleton", ())):
            bad = [index for index in edge if not 1 <= index <= count]
            if bad:
                ctx.report(
                    "K004",
                    f"/categories/{i}/skeleton/{j}",
                    f"skeleton edge {edge} names keypoint {bad[0]}, but the category has "
                    f"{count} keypoint{'s' if count != 1 else ''} (indices are 1-based)",
                )


@check("K001", "K002", "K003", "K005", "K006", kinds=("keypoints",))
def keypoint_annotations(ctx: Context) -> None:
    margin = ctx.settings.keypoint_margin
    categories = ctx.categories_by_id
    for i, ann in ctx.records("annotations"):
        keypoints = ann.get("keypoints")
        if keypoints is None:
            continue
        where = f"/annotations/{i}"
        category = categories.get(ann["category_id"])
        names = category.get("keypoints") if category is not None else None
        if isinstance(names, list) and len(keypoints) != 3 * len(names):
            ctx.report(
                "K001",
                f"{where}/keypoints",
                f"{len(keypoints)} numbers for the category's {len(names)} keypoints "
                f"(expected {3 * len(names)})",
            )
        visibilities = keypoints[2::3]
        bad = [v for v in visibilities if v not in (0, 1, 2)]
        if bad:
            ctx.report(
                "K003",
                f"{where}/keypoints",
                f"visibility {bad[0]!r} is not 0, 1 or 2",
            )
        labelled = sum(1 for v in visibilities if v > 0)
        declared = ann.get("num_keypoints")
        if declared != labelled:
            said = "missing" if declared is None else f"{declared}"
            ctx.report(
                "K002",
                f"{where}/num_keypoints" if declared is not None else where,
                f"num_keypoints is {said}; {labelled} keypoints are labelled",
                Fix.replace(f"set num_keypoints {labelled}", f"{where}/num_keypoints", labelled),
            )
        hidden = [
            k
            for k in range(0, len(keypoints) - 2, 3)
            if keypoints[k + 2] == 0 and (keypoints[k] != 0 or keypoints[k + 1] != 0)
        ]
        if hidden:
            ctx.report(
                "K006",
                f"{where}/keypoints",
                f"{len(hidden)} unlabelled keypoint{'s have' if len(hidden) > 1 else ' has'} "
                "non-zero coordinates",
                Fix(
                    "set x and y of unlabelled keypoints to 0",
                    tuple(
                        Edit(f"{where}/keypoints/{k + axis}", 0) for k in hidden for axis in (0, 1)
                    ),
                ),
            )
        bbox = ann.get("bbox")
        if bbox is None or bbox[2] <= 0 or bbox[3] <= 0:
            continue
        x, y, w, h = bbox
        for k in range(0, len(keypoints) - 2, 3):
            px, py, v = keypoints[k], keypoints[k + 1], keypoints[k + 2]
            if v > 0 and not (
                x - margin * w <= px <= x + w + margin * w
                and y - margin * h <= py <= y + h + margin * h
            ):
                ctx.report(
                    "K005",
                    f"{where}/keypoints/{k}",
                    f"keypoint {k // 3 + 1} at ({fmt(px)}, {fmt(py)}) lies far outside the bbox",
                )
                break
