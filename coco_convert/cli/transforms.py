"""``poly2rle`` and ``rle2poly``: the segmentations of a COCO file between polygons and RLE
(dataset transforms, :mod:`coco_convert.transforms`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import urls
from ..converters.loss import LossReport
from ..dataset import CocoDataset, Dataset, load
from ..errors import UsageError
from ..io import check_output
from ..transforms import poly2rle, rle2poly
from .app import (
    PATH_OR_URL,
    cluster_options,
    finish,
    jobs_option,
    main,
    output_option,
    report_option,
)

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


def _finish(dataset: Dataset, loss: LossReport, output: Path | str, report: Path | None) -> None:
    with urls.staged_output(output) as target:
        dataset.save(target)
    finish(loss, report)


def _load(src: Path | str, output: Path | str) -> CocoDataset[Any, Any]:
    """A COCO dataset (polygons need their image's size: results files are refused)."""
    dataset = _load_any(src, output)
    if not isinstance(dataset, CocoDataset):
        raise UsageError(
            f"{src}: results carry no image sizes, which polygons need to become pixels; "
            "convert the dataset (rle2poly takes results: each RLE carries its size)"
        )
    return dataset


def _load_any(src: Path | str, output: Path | str) -> Dataset:
    """SRC (a path, or a URL fetched first), once the output is known not to replace it."""
    if not urls.is_url(output) and not urls.is_url(src):
        check_output(output, [src])
    with urls.staged_input(src) as local:
        dataset = load(local)
    dataset.source = str(src)
    return dataset


@main.command("poly2rle")
@click.argument("src", type=PATH_OR_URL)
@output_option(urls=True, help="Output COCO JSON file (a path or a URL).")
@click.option("--crowd-only", is_flag=True, help="Convert only crowd (iscrowd 1) annotations.")
@click.option("--compress", is_flag=True, help="Also compress uncompressed (list) RLEs.")
@jobs_option
@cluster_options
@report_option
def poly2rle_command(
    src: Path | str,
    output: Path | str,
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
@click.argument("src", type=PATH_OR_URL)
@output_option(urls=True, help="Output COCO JSON file (a path or a URL).")
@polygon_options
@jobs_option
@cluster_options
@report_option
def rle2poly_command(
    src: Path | str,
    output: Path | str,
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
