"""``coco-convert draw`` and ``coco-convert gallery``: see the annotations on their images.

Only click and the option helpers are imported here; the renderers (numpy, Pillow,
pycocotools) are imported when a verb runs, so ``--help`` starts as fast as any verb's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import UsageError
from .app import (
    cluster_options,
    echo_err,
    finish,
    jobs_option,
    main,
    output_option,
    report_option,
)

if TYPE_CHECKING:
    from ..visual.plan import Plan
    from ..visual.scene import DrawOptions

F = TypeVar("F", bound=Callable[..., Any])


def _split(values: tuple[str, ...]) -> list[str]:
    """``--cat dog --cat "hot dog,cat"``: every name, in order, once."""
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names


def _ids(values: tuple[str, ...]) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                ids.append(int(part))
            except ValueError:
                raise UsageError(f"--img-ids: {part.strip()!r} is not an image id") from None
    return ids


def selection_options(func: F) -> F:
    """``--cat``, ``--img-ids``, ``--limit``, ``--compare``, ``--min-score`` and
    ``--panoptic-dir``: which images, which annotations."""
    options = [
        click.option(
            "--cat",
            "cat",
            multiple=True,
            metavar="NAMES",
            help="Only images holding every one of these categories (comma-separated or "
            "repeated), and only their annotations: pycocotools' "
            "getImgIds(catIds=getCatIds(catNms=...)).",
        ),
        click.option(
            "--img-ids",
            multiple=True,
            metavar="IDS",
            help="Only these image ids (comma-separated or repeated).",
        ),
        click.option(
            "--limit", type=click.IntRange(min=1), help="At most N images (the first by id)."
        ),
        click.option(
            "--compare",
            type=click.Path(path_type=Path, dir_okay=False),
            help="A second annotation set (detection results, or another version of IN) drawn "
            "over IN's, the two in blue and orange.",
        ),
        click.option(
            "--min-score",
            type=float,
            help="Leave out detection results scoring less than this.",
        ),
        click.option(
            "--panoptic-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Folder of the panoptic PNGs (default: beside the JSON file, named after it).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _plan(
    src: Path,
    images: Path,
    options: DrawOptions,
    cat: tuple[str, ...],
    img_ids: tuple[str, ...],
    limit: int | None,
    compare: Path | None,
    min_score: float | None,
    panoptic_dir: Path | None,
) -> tuple[Plan, list[int]]:
    from ..dataset import CocoDataset, load
    from ..visual.plan import Plan, select_images

    if not images.is_dir():
        raise UsageError(f"--images {images}: no such folder")
    dataset = load(src)
    if not isinstance(dataset, CocoDataset):
        raise UsageError(
            f"{src}: detection results name no image files; draw them over the dataset they "
            f"belong to: coco-convert draw DATASET.json --compare {src}"
        )
    image_ids, cat_ids = select_images(
        dataset, cat_names=_split(cat), img_ids=_ids(img_ids), limit=limit
    )
    if not image_ids:
        echo_err(f"{src}: no image holds every category of --cat {', '.join(_split(cat))}")
    plan = Plan(
        dataset,
        images=images,
        options=options,
        cat_ids=cat_ids,
        compare=load(compare) if compare is not None else None,
        min_score=min_score,
        panoptic_dir=panoptic_dir,
    )
    return plan, image_ids


@main.command("draw")
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder the COCO file_names are relative to (found as coco2yolo --images finds them).",
)
@output_option(help="Folder to write the pictures into, one per image, named after its file.")
@selection_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "jpg"]),
    default="png",
    show_default=True,
    help="Picture format.",
)
@click.option("--no-labels", is_flag=True, help="No category names (and scores) on the objects.")
@click.option("--no-boxes", is_flag=True, help="No boxes (masks, keypoints and labels only).")
@click.option(
    "--line-width",
    type=click.IntRange(min=1),
    metavar="W",
    help="Line width in pixels (default: 2, more for large images).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1),
    default=0.45,
    show_default=True,
    metavar="A",
    help="Opacity of mask fills (0: outlines only, 1: opaque).",
)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@jobs_option
@cluster_options
@report_option
def draw(
    src: Path,
    images: Path,
    output: Path,
    cat: tuple[str, ...],
    img_ids: tuple[str, ...],
    limit: int | None,
    compare: Path | None,
    min_score: float | None,
    panoptic_dir: Path | None,
    fmt: Any,
    no_labels: bool,
    no_boxes: bool,
    line_width: int | None,
    alpha: float,
    overwrite: bool,
    jobs: int | None,
    report: Path | None,
) -> None:
    """Draw the annotations of SRC on their images: one picture per image in a folder."""
    from ..visual.batch import draw_images
    from ..visual.scene import DrawOptions

    options = DrawOptions(
        labels=not no_labels, boxes=not no_boxes, line_width=line_width, alpha=alpha, format=fmt
    )
    plan, image_ids = _plan(
        src, images, options, cat, img_ids, limit, compare, min_score, panoptic_dir
    )
    loss = draw_images(plan, image_ids, output, jobs=jobs, overwrite=overwrite)
    finish(loss, report)


@main.command("gallery")
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder the COCO file_names are relative to (found as coco2yolo --images finds them).",
)
@output_option(help="The HTML file to write (one self-contained file).")
@selection_options
@click.option(
    "--thumb",
    type=click.IntRange(min=32, max=2048),
    default=256,
    show_default=True,
    metavar="PX",
    help="Longest side of the thumbnails embedded in the page.",
)
@click.option("--title", help="Title of the page (default: SRC's file name).")
@jobs_option
@cluster_options
@report_option
def gallery(
    src: Path,
    images: Path,
    output: Path,
    cat: tuple[str, ...],
    img_ids: tuple[str, ...],
    limit: int | None,
    compare: Path | None,
    min_score: float | None,
    panoptic_dir: Path | None,
    thumb: int,
    title: str | None,
    jobs: int | None,
    report: Path | None,
) -> None:
    """One self-contained HTML page of SRC's images and annotations: thumbnails with SVG
    overlays, a category filter, click to enlarge, hover for an annotation's details."""
    from ..visual.gallery import write_gallery
    from ..visual.scene import DrawOptions

    if output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"-o {output}: the gallery is one HTML file; name it *.html")
    plan, image_ids = _plan(
        src, images, DrawOptions(), cat, img_ids, limit, compare, min_score, panoptic_dir
    )
    loss = write_gallery(plan, image_ids, output, thumb=thumb, title=title or src.name, jobs=jobs)
    finish(loss, report)
