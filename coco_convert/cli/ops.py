"""Dataset operations: ``merge``, ``split``, ``filter``, ``remap``, ``diff``, ``stats``,
``sample`` (the library side is :mod:`coco_convert.ops`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from ..converters.loss import LossReport
from ..dataset import Dataset, ResultsDataset, load
from ..errors import CocoConvertError, InputError, Location, UsageError
from ..io import check_output, dump_json
from ..ops import diffing, filtering, merging, remapping, splitting
from ..ops.partition import parse_ratios
from .app import main
from .common import (
    chooses_streaming,
    finish,
    output_option,
    report_option,
    stream_option,
    strict_option,
)
from .info import collect_from, render_summary

F = TypeVar("F", bound=Callable[..., Any])


def indent_option(func: F) -> F:
    return click.option(
        "--indent", type=click.IntRange(min=0), help="Pretty-print with this indent."
    )(func)


def seed_option(func: F) -> F:
    return click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of the random choice (the same seed gives the same result everywhere).",
    )(func)


def stratify_option(func: F) -> F:
    return click.option(
        "--stratify",
        is_flag=True,
        help="Keep each category's share of the images in every part (iterative "
        "stratification, multi-label).",
    )(func)


def _save(
    dataset: Dataset,
    loss: LossReport,
    output: Path,
    indent: int | None,
    strict: bool,
    report: Path | None,
) -> None:
    loss.raise_if_strict(strict)
    dataset.save(output, indent=indent)
    finish(loss, report)


# --- merge -----------------------------------------------------------------------------------


@main.command("merge")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option(help="The merged COCO JSON file.")
@click.option(
    "--match",
    type=click.Choice(["exact", "normalized"]),
    default="exact",
    show_default=True,
    help="Categories are one when their names are equal (exact), or equal ignoring case, "
    "spaces, '_' and '-' (normalized).",
)
@click.option(
    "--ids",
    type=click.Choice(["renumber", "keep"]),
    default="renumber",
    show_default=True,
    help="Number images and annotations from 1, or keep the inputs' ids (an error when "
    "they collide).",
)
@click.option(
    "--gt",
    "gts",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For detection results: their ground truth (once for all, or once per results file, "
    "in order: the results then follow the ids `merge` gives those files).",
)
@indent_option
@report_option
@strict_option
def merge_command(
    inputs: tuple[Path, ...],
    output: Path,
    match: Any,
    ids: Any,
    gts: tuple[Path, ...],
    indent: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Merge COCO files (or detection results, with --gt) into one: categories unified by
    name, images with the same file_name joined, ids renumbered."""
    check_output(output, [*inputs, *gts])
    datasets = [load(path) for path in inputs]
    results = [d for d in datasets if isinstance(d, ResultsDataset)]
    if results and len(results) != len(datasets):
        raise UsageError("merge: give either datasets or detection results, not both")
    merged: Dataset
    if results:
        if not gts:
            raise UsageError("merge: detection results need their ground truth (--gt FILE)")
        merged, loss = merging.merge_results(
            results, [load(path) for path in gts], match=match, ids=ids
        )
    else:
        if gts:
            raise UsageError("merge: --gt goes with detection results")
        # The inputs are this command's own: rewritten in place, not copied.
        merged, loss = merging.merge(datasets, match=match, ids=ids, copy=False)
    _save(merged, loss, output, indent, strict, report)


# --- split and sample ------------------------------------------------------------------------


@main.command("split")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="Folder to write <name>.json into, one per split.")
@click.option(
    "--ratios",
    required=True,
    metavar="NAME=R,...",
    help="The splits and their shares of the images, summing to 1: train=0.8,val=0.1,test=0.1",
)
@seed_option
@stratify_option
@click.option(
    "--group-by",
    metavar="KEY",
    help="Keep images together: an image field (video_id), or a regular expression with one "
    "group over file_name ('^(.+)_frame').",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder the file_names are relative to; with --copy-images or --symlink-images.",
)
@click.option(
    "--copy-images",
    "image_mode",
    flag_value="copy",
    help="Copy each split's images to DIR/<name>/.",
)
@click.option(
    "--symlink-images", "image_mode", flag_value="symlink", help="Link them instead of copying."
)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@indent_option
@stream_option
@report_option
@strict_option
def split_command(
    src: Path,
    output: Path,
    ratios: str,
    seed: int,
    stratify: bool,
    group_by: str | None,
    images: Path | None,
    image_mode: Any,
    overwrite: bool,
    indent: int | None,
    stream: bool,
    report: Path | None,
    strict: bool,
) -> None:
    """Split a COCO file's images (and their annotations) into parts: DIR/<name>.json each."""
    shares = parse_ratios(ratios)
    if (images is None) != (image_mode is None):
        raise UsageError("--images goes with --copy-images or --symlink-images")
    if chooses_streaming(src, forced=stream):
        from ..streaming import CocoStream

        found = CocoStream(src)
        loss = splitting.split_stream(
            found,
            shares,
            output,
            seed=seed,
            stratify=stratify,
            group_by=group_by,
            images=images,
            image_mode=image_mode,
            overwrite=overwrite,
            indent=indent,
            strict=strict,
        )
        finish(loss, report)
        return
    parts, loss = splitting.split(
        load(src), shares, seed=seed, stratify=stratify, group_by=group_by
    )
    loss.raise_if_strict(strict)
    splitting.write_splits(
        parts,
        output,
        images=images,
        image_mode=image_mode,
        overwrite=overwrite,
        indent=indent,
        report=loss,
        inputs=[src],
    )
    finish(loss, report)


@main.command("sample")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="The sample's COCO JSON file.")
@click.option("-n", "count", type=click.IntRange(min=0), help="How many images.")
@click.option(
    "--fraction", type=click.FloatRange(0, 1, min_open=True), help="Which share of the images."
)
@seed_option
@stratify_option
@indent_option
@stream_option
@report_option
@strict_option
def sample_command(
    src: Path,
    output: Path,
    count: int | None,
    fraction: float | None,
    seed: int,
    stratify: bool,
    indent: int | None,
    stream: bool,
    report: Path | None,
    strict: bool,
) -> None:
    """A random sample of a COCO file's images, with their annotations."""
    if (count is None) == (fraction is None):
        raise UsageError("sample: give -n N or --fraction F")
    check_output(output, [src])
    if chooses_streaming(src, forced=stream):
        from ..streaming import CocoStream

        loss = splitting.sample_stream(
            CocoStream(src),
            output,
            n=count,
            fraction=fraction,
            seed=seed,
            stratify=stratify,
            indent=indent,
            strict=strict,
        )
        finish(loss, report)
        return
    sampled, loss = splitting.sample(
        load(src), n=count, fraction=fraction, seed=seed, stratify=stratify
    )
    _save(sampled, loss, output, indent, strict, report)


# --- filter ----------------------------------------------------------------------------------


@main.command("filter")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="The filtered COCO JSON file.")
@click.option("--cat", "cats", multiple=True, metavar="NAME", help="Keep this category (repeat).")
@click.option(
    "--img-ids",
    metavar="IDS",
    help="Keep these images: 1,2,3 or @FILE (ids separated by commas or whitespace).",
)
@click.option(
    "--area",
    metavar="MIN:MAX",
    help="Keep annotations with MIN < area < MAX (either may be empty).",
)
@click.option("--iscrowd", type=click.Choice(["0", "1"]), help="Keep only non-crowd or crowd.")
@click.option(
    "--min-annotations",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Keep images holding at least this many kept annotations.",
)
@click.option("--keep-empty", is_flag=True, help="Keep every image, with or without annotations.")
@click.option(
    "--all-categories",
    is_flag=True,
    help="Keep images holding every --cat category (default: any of them).",
)
@click.option(
    "--prune-categories",
    is_flag=True,
    help="Keep only the categories the kept annotations use (default: all, ids unchanged).",
)
@indent_option
@stream_option
@report_option
@strict_option
def filter_command(
    src: Path,
    output: Path,
    cats: tuple[str, ...],
    img_ids: str | None,
    area: str | None,
    iscrowd: str | None,
    min_annotations: int,
    keep_empty: bool,
    all_categories: bool,
    prune_categories: bool,
    indent: int | None,
    stream: bool,
    report: Path | None,
    strict: bool,
) -> None:
    """Keep the annotations pycocotools' getAnnIds selects for these filters, and the images
    holding them."""
    check_output(output, [src])
    criteria: dict[str, Any] = {
        "cat_nms": cats,
        "img_ids": _image_ids(img_ids),
        "area_rng": _area(area),
        "iscrowd": None if iscrowd is None else iscrowd == "1",
        "min_annotations": min_annotations,
        "keep_empty": keep_empty,
        "all_categories": all_categories,
        "prune_categories": prune_categories,
    }
    if chooses_streaming(src, forced=stream):
        from ..streaming import CocoStream

        loss = filtering.filter_stream(
            CocoStream(src), output, indent=indent, strict=strict, **criteria
        )
        finish(loss, report)
        return
    subset, loss = filtering.filter_dataset(load(src), **criteria)
    _save(subset, loss, output, indent, strict, report)


def _image_ids(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    source = "--img-ids"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    ids = []
    for token in text.replace(",", " ").split():
        try:
            ids.append(int(token))
        except ValueError:
            raise UsageError(f"{source}: {token!r} is not an image id") from None
    if not ids:
        raise UsageError(f"{source}: no image ids")
    return tuple(ids)


def _area(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    low, sep, high = text.partition(":")
    if not sep:
        raise UsageError(f"--area {text!r}: expected MIN:MAX (32:96, :1024, 9216:)")
    try:
        return (float(low) if low else float("-inf"), float(high) if high else float("inf"))
    except ValueError:
        raise UsageError(f"--area {text!r}: MIN and MAX must be numbers") from None


# --- remap -----------------------------------------------------------------------------------


@main.command("remap")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--map",
    "map_file",
    required=True,
    type=click.Path(path_type=Path),
    help="YAML or JSON {old name: new name | null}: rename, merge (several to one), drop.",
)
@output_option(help="The remapped COCO JSON file.")
@click.option(
    "--ids",
    type=click.Choice(["keep", "compact"]),
    default="keep",
    show_default=True,
    help="Keep category ids (a renamed category keeps its id), or number them 1, 2, ...",
)
@click.option(
    "--unmapped",
    type=click.Choice(["keep", "drop"]),
    default="keep",
    show_default=True,
    help="What happens to categories the map does not name.",
)
@indent_option
@report_option
@strict_option
def remap_command(
    src: Path,
    map_file: Path,
    output: Path,
    ids: Any,
    unmapped: Any,
    indent: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Rename, merge and drop categories by a map file."""
    check_output(output, [src, map_file])
    mapping = remapping.read_map(map_file)
    remapped, loss = remapping.remap(load(src), mapping, ids=ids, unmapped=unmapped)
    _save(remapped, loss, output, indent, strict, report)


# --- diff ------------------------------------------------------------------------------------


@contextmanager
def _trouble_exits_2() -> Iterator[None]:
    """diff's exit status is diff's: 0 equal, 1 different, 2 trouble (bad input too)."""
    try:
        yield
    except CocoConvertError as exc:
        exc.exit_code = 2
        raise


@main.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option(
    "--match",
    type=click.Choice(["id", "iou"]),
    default="id",
    show_default=True,
    help="Match records by id, or (for exports that number differently) images by file_name, "
    "categories by name and annotations by box IoU.",
)
@click.option(
    "--iou",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="Lowest box IoU at which two annotations are the same one (--match iou).",
)
@click.option("--summary", is_flag=True, help="Only the counts, not one line per record.")
@report_option
@strict_option
def diff_command(
    a: Path,
    b: Path,
    as_json: bool,
    match: Any,
    iou: float,
    summary: bool,
    report: Path | None,
    strict: bool,
) -> None:
    """Show what differs between two COCO files: images, annotations and categories added,
    removed and changed (field: old -> new). Exit 0 when equal, 1 when different, 2 on
    trouble, like diff."""
    with _trouble_exits_2():
        left, right = load(a), load(b)
        loss = LossReport("diff")
        for dataset in (left, right):
            diffing.check_ids(dataset, loss)
        loss.raise_if_strict(strict)
        found = diffing.diff(left, right, match=match, iou=iou)
    if as_json:
        click.echo(dump_json(found.to_dict(), indent=2).decode())
    else:
        for line in found.lines(summary=summary):
            click.echo(line)
    loss.count(
        "differences",
        sum(len(s.added) + len(s.removed) + len(s.changed) for s in found.sections)
        + len(found.top),
    )
    finish(loss, report)
    click.get_current_context().exit(0 if found.equal else 1)


# --- stats -----------------------------------------------------------------------------------


@main.command("stats")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option(
    "--plots",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also draw PNG plots into this folder (needs matplotlib: pip install "
    "'coco-convert[plots]').",
)
@stream_option
@report_option
@strict_option
def stats_command(
    src: Path,
    as_json: bool,
    plots: Path | None,
    stream: bool,
    report: Path | None,
    strict: bool,
) -> None:
    """Statistics of a COCO file: per category, per image, areas, boxes, keypoints."""

    loss = LossReport("stats")
    collector = collect_from(src, stream=stream)
    found = collector.result()
    # The references are checked by the counting itself (no second pass over the file).
    if found.get("annotations_without_image"):
        loss.warn(
            "dangling_image_id",
            "annotations whose image_id no image has",
            where=Location(str(src)),
            count=found["annotations_without_image"],
        )
    if found.get("unknown_category_ids"):
        ids = ", ".join(map(str, found["unknown_category_ids"][:20]))
        loss.warn(
            "dangling_category_id",
            "category ids that annotations use and no category defines",
            where=Location(str(src)),
            detail=ids,
            count=len(found["unknown_category_ids"]),
        )
    loss.raise_if_strict(strict)
    if plots is not None:
        from ..ops.plots import draw_plots

        written = draw_plots(collector, found, plots)
        loss.count("plots", len(written))
    if as_json:
        click.echo(dump_json(found, indent=2).decode())
    else:
        click.echo(render_stats(src, found))
    finish(loss, report)


def render_stats(src: Path, found: dict[str, Any]) -> str:
    """The text form of the statistics: ``info``'s summary, then each distribution."""
    lines = [render_summary(src, found), ""]
    if "area" in found:
        area = found["area"]
        lines.append(
            "  area (COCO): "
            + ", ".join(f"{key} {area.get(key, 0):,}" for key in ("small", "medium", "large"))
            + (f", missing {area['missing']:,}" if "missing" in area else "")
        )
    rows = [("annotations per image", found.get("annotations_per_image", {}))]
    boxes = found.get("boxes", {})
    for key in ("width", "height", "aspect_ratio", "size", "relative_size"):
        rows.append((f"box {key.replace('_', ' ')}", boxes.get(key, {})))
    sizes = found.get("image_sizes", {})
    rows += [("image width", sizes.get("width", {})), ("image height", sizes.get("height", {}))]
    if "scores" in found:
        rows.append(("score", found["scores"]))
    if "caption_words" in found:
        rows.append(("caption words", found["caption_words"]))
    shown = [(name, values) for name, values in rows if values]
    if shown:
        keys = ("min", "p5", "median", "mean", "p95", "max")
        lines.append("")
        lines.append(f"  {'':<24}" + "".join(f"{key:>10}" for key in keys))
        for name, values in shown:
            lines.append(f"  {name:<24}" + "".join(f"{values[key]:>10.4g}" for key in keys))
    if boxes.get("degenerate"):
        lines.append(f"  boxes with no width or height: {boxes['degenerate']:,}")
    if sizes.get("most_common"):
        common = ", ".join(
            f"{s['width']}x{s['height']} ({s['images']:,})" for s in sizes["most_common"][:5]
        )
        lines.append(f"  image sizes: {sizes['distinct']:,} distinct; most common {common}")
    keypoints = found.get("keypoints")
    if keypoints:
        v = keypoints["visibility"]
        lines.append(
            f"  keypoints: {v.get('v2', 0):,} visible, {v.get('v1', 0):,} labelled but hidden, "
            f"{v.get('v0', 0):,} not labelled"
        )
    return "\n".join(lines)
