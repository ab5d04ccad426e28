"""``coco-convert coco2yolo`` and ``coco-convert yolo2coco``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..converters.yolo import LAYOUTS, TASKS, read_yolo, split_name, write_yolo
from ..dataset import load
from ..errors import UsageError
from ..io import atomic_files, check_output
from .app import echo_err, finish, jobs_option, main, output_option, report_option, strict_option


@main.command("coco2yolo")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option(help="Dataset folder to write (data.yaml, images/, labels/).")
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default="detect",
    show_default=True,
    help="Rows to write: boxes, polygons, or boxes with keypoints.",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder the COCO file_names are relative to; needs --copy or --symlink.",
)
@click.option("--copy", "image_mode", flag_value="copy", help="Copy the images into the dataset.")
@click.option(
    "--symlink", "image_mode", flag_value="symlink", help="Link the images into the dataset."
)
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="ultralytics",
    show_default=True,
    help="ultralytics: images/ + labels/ + data.yaml; darknet: obj.data, obj.names, train.txt.",
)
@click.option("--split", help="Split name for a single input (default: from its file name).")
@click.option("--include-crowd", is_flag=True, help="Keep crowd annotations as objects.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@jobs_option
@report_option
@strict_option
def coco2yolo(
    inputs: tuple[Path, ...],
    output: Path,
    task: Any,
    images: Path | None,
    image_mode: Any,
    layout: Any,
    split: str | None,
    include_crowd: bool,
    overwrite: bool,
    jobs: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Write COCO files (one per split: instances_train.json instances_val.json ...) as a YOLO
    dataset. Class i is the i-th category by id (COCO's 91 ids give the usual 80 classes);
    data.yaml records the mapping."""
    if split is not None and len(inputs) > 1:
        raise UsageError("--split names a single input; with several, each is named by its file")
    # Every verb validates before it converts: a record the schema refuses is named by its
    # JSON pointer here, never met half-way through writing.
    datasets: dict[str, Any] = {}
    for path in inputs:
        dataset = load(path)
        name = split or split_name(dataset)  # type: ignore[arg-type]
        if name in datasets:
            raise UsageError(f"two inputs give the split name {name!r}; convert them separately")
        datasets[name] = dataset
    loss = write_yolo(
        datasets,
        output,
        task=task,
        layout=layout,
        images=images,
        image_mode=image_mode,
        include_crowd=include_crowd,
        overwrite=overwrite,
        strict=strict,
        jobs=jobs,
    )
    finish(loss, report)


@main.command("yolo2coco")
@click.argument("src", type=click.Path(path_type=Path))
@output_option(help="COCO JSON file (one split), or a folder for instances_<split>.json files.")
@click.option("--split", help="Convert only this split (with a labels folder: its name).")
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="The images of a labels folder SRC.",
)
@click.option("--indent", type=click.IntRange(min=0), help="Pretty-print with this indent.")
@jobs_option
@report_option
@strict_option
def yolo2coco(
    src: Path,
    output: Path,
    split: str | None,
    images: Path | None,
    indent: int | None,
    jobs: int | None,
    report: Path | None,
    strict: bool,
) -> None:
    """Read a YOLO dataset (data.yaml, obj.data, a dataset folder, or a labels folder with
    --images) as COCO JSON, one file per split. Image sizes come from the image headers,
    EXIF rotation applied as training frameworks load the images."""
    single = output.name.endswith((".json", ".json.gz"))
    check_output(output, [src] if images is None else [src, images])
    datasets, loss = read_yolo(src, split=split, images=images, strict=strict, jobs=jobs)
    if single and len(datasets) > 1:
        raise UsageError(
            f"{src} has the splits {', '.join(datasets)}: pass --split NAME for one file, "
            "or an output folder for one file per split"
        )
    if single:
        dataset = next(iter(datasets.values()))
        dataset.save(output, indent=indent)
        written = [(output, dataset)]
    else:
        # One file per split, all of them or none (a failure writing the second split must
        # not leave the first behind).
        with atomic_files(output) as stage:
            for name, dataset in datasets.items():
                dataset.save(stage / f"instances_{name}.json", indent=indent)
        written = [(output / f"instances_{name}.json", d) for name, d in datasets.items()]
    for target, dataset in written:
        loss.count("files_written")
        echo_err(
            f"{target}: {len(dataset.images):,} images, {len(dataset.annotations):,} annotations"
        )
    finish(loss, report)
