"""``coco-convert voc2coco`` and ``coco2voc``: Pascal VOC and ImageNet ILSVRC XML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import click

from ..converters.voc import (
    COORDS,
    IMAGE_IDS,
    Coords,
    ImageIds,
    read_voc,
    write_voc,
)
from ..dataset import CocoDataset, load
from ..io import check_output
from .app import echo_err, finish, jobs_option, main, output_option, report_option, strict_option

_COORDS_HELP = (
    "Pixel convention of the XML boxes: one-based inclusive (VOC devkit, Detectron2) or "
    "zero-based corners (LabelImg, CVAT/Datumaro, Label Studio, labelme). See docs/voc.md."
)


@main.command("voc2coco")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="The COCO JSON file to write (.json, or .json.gz).")
@click.option("--split", metavar="NAME", help="Read the ids in ImageSets/Main/NAME.txt.")
@click.option(
    "--labels",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Class names, one per line, in id order (CVAT's labelmap.txt works too).",
)
@click.option(
    "--synsets",
    type=click.Path(path_type=Path, dir_okay=False),
    help="ImageNet LOC_synset_mapping.txt: names for synset ids, standard 1000-class order.",
)
@click.option(
    "--coords", type=click.Choice(COORDS), default="one-based", show_default=True, help=_COORDS_HELP
)
@click.option("--skip-difficult", is_flag=True, help="Leave out objects marked difficult.")
@click.option(
    "--image-ids",
    type=click.Choice(IMAGE_IDS),
    default="sequential",
    show_default=True,
    help="1, 2, ... in sorted file-name order, or the number in each (numeric) file name.",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="Image folder, read (headers only) when an XML has no <size>. "
    "Default: JPEGImages/ of the devkit, or beside the XML.",
)
@click.option(
    "--masks",
    is_flag=True,
    help="Read SegmentationObject/*.png into each object's segmentation (instance k is the "
    "k-th <object>; 255, the void border, is left out).",
)
@click.option("--rle", is_flag=True, help="With --masks: RLE segmentations instead of polygons.")
@click.option("--indent", type=int, default=None, help="Pretty-print the JSON.")
@jobs_option
@report_option
@strict_option
def voc2coco(
    src: Path,
    output: Path,
    split: str | None,
    labels: Path | None,
    synsets: Path | None,
    coords: str,
    skip_difficult: bool,
    image_ids: str,
    images: Path | None,
    masks: bool,
    rle: bool,
    indent: int | None,
    jobs: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Convert Pascal VOC or ImageNet ILSVRC XML annotations to one COCO JSON file.

    SRC is a VOC devkit folder (Annotations/, ImageSets/Main/, JPEGImages/), a folder of XML
    files (searched recursively), a text file listing XML paths, or one XML file."""
    check_output(output, [p for p in (src, labels, synsets, images) if p is not None])
    dataset, loss = read_voc(
        src,
        split=split,
        labels=labels,
        synsets=synsets,
        coords=cast("Coords", coords),
        skip_difficult=skip_difficult,
        image_ids=cast("ImageIds", image_ids),
        images=images,
        masks=masks,
        rle=rle,
        jobs=jobs,
        strict=strict,
    )
    dataset.save(output, indent=indent)
    finish(loss, report)
    mapping = ", ".join(f"{cat['id']} {cat['name']}" for cat in dataset.categories)
    echo_err(f"categories: {mapping}")


@main.command("coco2voc")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@output_option(
    help="The devkit folder to create (Annotations/, ImageSets/Main/, labels.txt, labelmap.txt)."
)
@click.option(
    "--coords", type=click.Choice(COORDS), default="one-based", show_default=True, help=_COORDS_HELP
)
@click.option(
    "--split",
    metavar="NAME",
    help="Name of the ImageSets/Main list. Default: the input's name without 'instances_'.",
)
@click.option(
    "--masks",
    is_flag=True,
    help="Also write SegmentationObject/ and SegmentationClass/ PNGs from the segmentations.",
)
@click.option("--overwrite", is_flag=True, help="Replace the output folder if it exists.")
@jobs_option
@report_option
@strict_option
def coco2voc(
    file: Path,
    output: Path,
    coords: str,
    split: str | None,
    masks: bool,
    overwrite: bool,
    jobs: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Convert a COCO instances FILE to a Pascal VOC devkit tree, one XML per image."""
    dataset = load(file)
    name = split or _split_name(file)
    loss = write_voc(
        cast("CocoDataset[Any, Any]", dataset),
        output,
        coords=cast("Coords", coords),
        split=name,
        overwrite=overwrite,
        masks=masks,
        jobs=jobs,
        strict=strict,
    )
    finish(loss, report)


def _split_name(file: Path) -> str:
    stem = file.name.split(".")[0]
    for prefix in ("instances_", "person_keypoints_"):
        if stem.startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix) :]
    return stem or "default"
