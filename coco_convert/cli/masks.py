"""``poly2rle``, ``rle2poly`` and ``masks2coco``: segmentations between polygons, RLE and PNGs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..converters.loss import LossReport
from ..converters.masks import poly2rle, read_masks, rle2poly
from ..dataset import CocoDataset, Dataset, load
from ..errors import UsageError
from ..io import check_output
from .app import finish, jobs_option, main, output_option, report_option

F = TypeVar("F", bound=Callable[..., Any])


def polygon_options(func: F) -> F:
    """``--tolerance``, ``--min-area`` and ``--holes``: how masks become polygons."""
    options = [
        _pixels("--tolerance", "Simplify outlines within PX pixels (0: exact, the same pixels)."),
        _pixels("--min-area", "Drop mask parts smaller than PX pixels."),
        click.option(
            "--holes",
            type=click.Choice(["cut", "fill", "rle"]),
            default="cut",
            show_default=True,
            help="Masks with holes: cut each hole into its outline (exact), fill the holes, "
            "or keep such masks as RLE.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _pixels(name: str, help: str) -> Callable[[F], F]:
    return click.option(
        name, type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="PX", help=help
    )


def _finish(dataset: Dataset, loss: LossReport, output: Path, report: Path | None) -> None:
    dataset.save(output)
    finish(loss, report)


def _load(src: Path, output: Path) -> CocoDataset[Any, Any]:
    """A COCO dataset (polygons need their image's size: results files are refused)."""
    dataset = _load_any(src, output)
    if not isinstance(dataset, CocoDataset):
        raise UsageError(
            f"{src}: results carry no image sizes, which polygons need to become pixels; "
            "convert the dataset (rle2poly takes results: each RLE carries its size)"
        )
    return dataset


def _load_any(src: Path, output: Path) -> Dataset:
    check_output(output, [src])
    return load(src)


@main.command("poly2rle")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="Output COCO JSON file.")
@click.option("--crowd-only", is_flag=True, help="Convert only crowd (iscrowd 1) annotations.")
@click.option("--compress", is_flag=True, help="Also compress uncompressed (list) RLEs.")
@jobs_option
@report_option
def poly2rle_command(
    src: Path,
    output: Path,
    crowd_only: bool,
    compress: bool,
    jobs: int | None,
    report: Path | None,
) -> None:
    """Polygon segmentations of SRC as compressed RLE (the pixels pycocotools rasterises)."""
    dataset, loss = poly2rle(
        _load(src, output), crowd_only=crowd_only, compress=compress, jobs=jobs
    )
    _finish(dataset, loss, output, report)


@main.command("rle2poly")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="Output COCO JSON file.")
@polygon_options
@jobs_option
@report_option
def rle2poly_command(
    src: Path,
    output: Path,
    tolerance: float,
    min_area: float,
    holes: str,
    jobs: int | None,
    report: Path | None,
) -> None:
    """RLE segmentations of SRC as polygons that rasterise back to the same pixels."""
    dataset, loss = rle2poly(
        _load_any(src, output),
        tolerance=tolerance,
        min_area=min_area,
        holes=holes,  # type: ignore[arg-type]
        jobs=jobs,
    )
    _finish(dataset, loss, output, report)


@main.command("masks2coco")
@click.argument("mask_dir", type=click.Path(path_type=Path))
@output_option(help="Output COCO JSON file.")
@click.option(
    "--kind",
    type=click.Choice(["auto", "instance", "class"]),
    default="auto",
    show_default=True,
    help="instance: one object per pixel value (VOC SegmentationObject); class: one object per "
    "connected part of each class (VOC SegmentationClass); auto: by the folder's name.",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the images: their file names, and a check of their sizes.",
)
@click.option(
    "--labels",
    metavar="FILE|voc",
    help="Class names, one per line by pixel value (line 0: background), or CVAT's "
    "labelmap.txt (gives RGB colours too), or 'voc'.",
)
@click.option(
    "--class-masks",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --kind instance: the class masks (SegmentationClass) giving each object's class.",
)
@click.option("--rle", is_flag=True, help="Write RLE segmentations instead of polygons.")
@polygon_options
@report_option
def masks2coco_command(
    mask_dir: Path,
    output: Path,
    kind: str,
    images: Path | None,
    labels: str | None,
    class_masks: Path | None,
    rle: bool,
    holes: str,
    tolerance: float,
    min_area: float,
    report: Path | None,
) -> None:
    """COCO instances from a folder of mask PNGs (0 background, 255 void)."""
    check_output(output, [p for p in (mask_dir, images, class_masks) if p is not None])
    dataset, loss = read_masks(
        mask_dir,
        kind=kind,  # type: ignore[arg-type]
        images=images,
        labels=labels,
        class_masks=class_masks,
        rle=rle,
        holes=holes,  # type: ignore[arg-type]
        tolerance=tolerance,
        min_area=min_area,
    )
    _finish(dataset, loss, output, report)
