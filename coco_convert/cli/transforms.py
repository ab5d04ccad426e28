"""``poly2rle`` and ``rle2poly``: the segmentations of a COCO file between polygons and RLE
(dataset transforms, :mod:`coco_convert.transforms`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import urls
from ..converters.loss import LossReport
from ..dataset import CocoDataset, Dataset, load
from ..errors import UsageError
from ..io import check_output
from ..transforms import poly2rle, poly2rle_stream, rle2poly, rle2poly_stream
from .app import (
    PATH_OR_URL,
    cluster_options,
    finish,
    jobs_option,
    main,
    output_option,
    report_option,
)
from .common import chooses_streaming, stream_option

if TYPE_CHECKING:
    from ..streaming import CocoStream

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
        raise _results_refused(src)
    return dataset


def _results_refused(src: Path | str) -> UsageError:
    return UsageError(
        f"{src}: results carry no image sizes, which polygons need to become pixels; "
        "convert the dataset (rle2poly takes results: each RLE carries its size)"
    )


def _load_any(src: Path | str, output: Path | str) -> Dataset:
    """SRC (a path, or a URL fetched first), once the output is known not to replace it."""
    _check_output(src, output)
    with urls.staged_input(src) as local:
        dataset = load(local)
    dataset.source = str(src)
    return dataset


def _check_output(src: Path | str, output: Path | str) -> None:
    if not urls.is_url(output) and not urls.is_url(src):
        check_output(output, [src])


def _streams(src: Path | str, stream: bool) -> bool:
    """Whether to read SRC a chunk at a time: ``--stream``, or a local file too large for
    the memory available."""
    return stream or (not urls.is_url(src) and chooses_streaming(Path(src)))


@contextmanager
def _streamed(src: Path | str, output: Path | str) -> Iterator[tuple[CocoStream, Path | str]]:
    """SRC mapped for reading a chunk at a time (a URL fetched first), and where to write."""
    from ..streaming import CocoStream

    _check_output(src, output)
    with urls.staged_input(src) as local, urls.staged_output(output) as target:
        yield CocoStream(local), target


@main.command("poly2rle")
@click.argument("src", type=PATH_OR_URL)
@output_option(urls=True, help="Output COCO JSON file (a path or a URL).")
@click.option("--crowd-only", is_flag=True, help="Convert only crowd (iscrowd 1) annotations.")
@click.option("--compress", is_flag=True, help="Also compress uncompressed (list) RLEs.")
@stream_option
@jobs_option
@cluster_options
@report_option
def poly2rle_command(
    src: Path | str,
    output: Path | str,
    crowd_only: bool,
    compress: bool,
    stream: bool,
    jobs: int | None,
    report: Path | None,
) -> None:
    """Polygon segmentations of SRC as compressed RLE (the pixels pycocotools rasterises)."""
    if _streams(src, stream):
        with _streamed(src, output) as (coco, target):
            if coco.results:
                coco.check()
                raise _results_refused(src)
            loss = poly2rle_stream(
                coco, target, crowd_only=crowd_only, compress=compress, jobs=jobs, source=str(src)
            )
        finish(loss, report)
        return
    dataset, loss = poly2rle(
        _load(src, output), crowd_only=crowd_only, compress=compress, jobs=jobs
    )
    _finish(dataset, loss, output, report)


@main.command("rle2poly")
@click.argument("src", type=PATH_OR_URL)
@output_option(urls=True, help="Output COCO JSON file (a path or a URL).")
@polygon_options
@stream_option
@jobs_option
@cluster_options
@report_option
def rle2poly_command(
    src: Path | str,
    output: Path | str,
    tolerance: float,
    min_area: float,
    holes: str,
    stream: bool,
    jobs: int | None,
    report: Path | None,
) -> None:
    """RLE segmentations of SRC as polygons that rasterise back to the same pixels."""
    if _streams(src, stream):
        with _streamed(src, output) as (coco, target):
            loss = rle2poly_stream(
                coco,
                target,
                tolerance=tolerance,
                min_area=min_area,
                holes=holes,  # type: ignore[arg-type]
                jobs=jobs,
                source=str(src),
            )
        finish(loss, report)
        return
    dataset, loss = rle2poly(
        _load_any(src, output),
        tolerance=tolerance,
        min_area=min_area,
        holes=holes,  # type: ignore[arg-type]
        jobs=jobs,
    )
    _finish(dataset, loss, output, report)
