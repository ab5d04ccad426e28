"""``coco-convert info FILE``: what a COCO file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..dataset import load
from ..errors import printable
from ..ops.statistics import StatsCollector, collect, collect_stream
from ..summary import summarize_stats
from .app import main
from .common import chooses_streaming, stream_option

_AREAS = ("small", "medium", "large")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@stream_option
def info(file: Path, as_json: bool, stream: bool) -> None:
    """Show the kind of a COCO FILE and count its images, annotations and categories."""
    summary = summarize_stats(collect_from(file, stream=stream).result())
    if as_json:
        from ..io import dump_json

        click.echo(dump_json(summary, indent=2).decode())
        return
    # (names from the file and the file's own name may hold control characters)
    click.echo("\n".join(printable(line) for line in render_summary(file, summary).split("\n")))


def collect_from(file: Path, *, stream: bool = False) -> StatsCollector:
    """The statistics of a COCO file: loaded whole, or read a chunk at a time with
    ``stream`` (or by itself when the file is too large for the memory available)."""
    if chooses_streaming(file, forced=stream):
        from ..streaming import CocoStream

        return collect_stream(CocoStream(file))
    return collect(load(file))


def render_summary(file: Path, summary: dict[str, Any]) -> str:
    """The text form of :func:`~coco_convert.summary.summarize` (and of the same keys of the
    fuller statistics ``stats`` prints: then with crowd and area columns)."""
    lines = [f"{file}: COCO {summary['kind']}"]
    counted = (
        "images",
        "annotations",
        "results",
        "segments",
        "crowd",
        "images_without_annotations",
    )
    for key in counted:
        if key in summary:
            lines.append(f"  {key.replace('_', ' '):<27}{summary[key]:>10,}")
    categories = summary["categories"]
    if summary["kind"] != "results":
        lines.append(f"  {'categories':<27}{len(categories):>10,}")
    if "segmentation" in summary:
        kinds = ", ".join(f"{name} {n:,}" for name, n in summary["segmentation"].items())
        lines.append(f"  segmentation: {kinds}")
    if "geometry" in summary:
        kinds = ", ".join(f"{name} {n:,}" for name, n in summary["geometry"].items())
        lines.append(f"  geometry: {kinds}")
    if "keypoints" in summary:
        kp = summary["keypoints"]
        lines.append(
            f"  keypoints: {kp['annotations']:,} annotations, {kp['labelled']:,} labelled points"
        )
    if "unknown_category_ids" in summary:
        ids = ", ".join(map(str, summary["unknown_category_ids"][:10]))
        lines.append(f"  annotations refer to categories that do not exist: {ids}")
    count_key = "results" if summary["kind"] == "results" else "annotations"
    unused = [c for c in categories if not c[count_key]]
    categories = [c for c in categories if c[count_key]]
    if categories:
        width = max([len(str(c.get("name", ""))) for c in categories] + [4])
        lines.append("")
        areas = "area" in categories[0]
        header = f"  {'id':>5}  {'name':<{width}}  {count_key:>11}"
        if count_key == "annotations":
            header += f"  {'images':>8}"
            if areas:
                header += "".join(f"  {key:>7}" for key in ("crowd", *_AREAS))
            header += "  supercategory"
        lines.append(header)
        for cat in categories:
            row = f"  {cat['id']:>5}  {cat.get('name') or '':<{width}}  {cat[count_key]:>11,}"
            if count_key == "annotations":
                row += f"  {cat['images']:>8,}"
                if areas:
                    counts = [cat["crowd"], *(cat["area"][key] for key in _AREAS)]
                    row += "".join(f"  {n:>7,}" for n in counts)
                row += f"  {cat.get('supercategory') or ''}"
            lines.append(row.rstrip())
    if unused:
        names = ", ".join(str(c.get("name")) for c in unused[:8])
        more = f" and {len(unused) - 8} more" if len(unused) > 8 else ""
        lines.append(f"  {len(unused)} categories without {count_key}: {names}{more}")
    return "\n".join(lines)
