"""``coco-convert draw``: one picture per selected image, rendered over every core.

The images are rendered by :func:`coco_convert.visual.render.render`, one job per image, in
worker processes (:func:`coco_convert.parallel.map_tasks`); this process only plans the jobs
and writes the pictures, in order, into a folder that appears whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePosixPath

from ..converters.loss import LossReport
from ..errors import Location
from ..io import atomic_directory, files_written_behind
from ..parallel import choose_jobs, map_batched
from ..progress import track
from .plan import Plan
from .scene import NOTES, Note, Rendered, RenderJob

__all__ = ["PARALLEL_MIN_IMAGES", "draw_images", "output_names", "report_notes"]

#: Below this many images, worker processes cost more than they save (starting one and
#: importing numpy, Pillow and pycocotools there takes about as long as drawing 50 images).
PARALLEL_MIN_IMAGES = 64

#: Notes that mean something asked for is not in the picture (the rest are warnings).
_LOSSES = frozenset({"segmentation_invalid", "image_without_size", "image_too_large"})


def draw_images(
    plan: Plan,
    image_ids: Sequence[int],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    overwrite: bool = False,
) -> LossReport:
    """Draw the images ``image_ids`` of ``plan`` into the folder ``out_dir``, one file each
    named after the image's file (``<stem>.png``; ``<stem>_<id>.png`` for stems that several
    images share). ``jobs``: worker processes (0: every core; default: every core for more
    than :data:`PARALLEL_MIN_IMAGES` images). Returns what was drawn and what was not."""
    report = LossReport("draw")
    names = output_names(plan, image_ids)
    workers = choose_jobs(jobs, len(image_ids), worth_it=PARALLEL_MIN_IMAGES)
    counts: list[int] = []

    def counted(jobs: Iterable[RenderJob]) -> Iterator[RenderJob]:
        for job in jobs:
            counts.append(job.count)
            yield job

    with (
        atomic_directory(out_dir, overwrite=overwrite, inputs=plan.inputs) as folder,
        files_written_behind(pending=32) as write,
    ):
        results = map_batched(_render, counted(plan.jobs(image_ids)), jobs=workers)
        for k, (name, result) in enumerate(
            track(zip(names, results, strict=True), total=len(image_ids), desc="draw", unit="img")
        ):
            report_notes(report, result.notes)
            if result.data:
                write([(folder / name, result.data)])
                report.count("images")
                report.count("annotations", counts[k])
    _report_unmatched(report, plan)
    return report


def _render(job: RenderJob) -> Rendered:
    """:func:`coco_convert.visual.render.render`, imported where it runs: with workers, this
    process only hands out jobs and writes files, and never loads numpy, Pillow or
    pycocotools (a third of a second that the workers would wait for)."""
    from .render import render

    return render(job)


def output_names(plan: Plan, image_ids: Sequence[int]) -> list[str]:
    """The picture's file name of each image: its file's stem and the output format's
    suffix, with ``_<id>`` added where several images share a stem."""
    suffix = plan.options.format
    images = plan.dataset.index.imgs
    stems = [_stem(images[i]["file_name"]) or f"image_{i}" for i in image_ids]
    seen: dict[str, int] = {}
    for stem in stems:
        seen[stem] = seen.get(stem, 0) + 1
    return [
        f"{stem}_{image_id}.{suffix}" if seen[stem] > 1 else f"{stem}.{suffix}"
        for stem, image_id in zip(stems, image_ids, strict=True)
    ]


def _stem(file_name: str) -> str:
    return PurePosixPath(file_name.replace("\\", "/")).stem


def report_notes(report: LossReport, notes: Iterable[Note]) -> None:
    """Count an image's notes in ``report``: what is missing from a picture as a loss, the
    rest as warnings, each with the place."""
    for note in notes:
        record = report.lose if note.key in _LOSSES else report.warn
        record(note.key, NOTES[note.key], where=Location(note.file), detail=note.detail)


def _report_unmatched(report: LossReport, plan: Plan) -> None:
    images = plan.dataset.index.imgs
    report_notes(
        report, [Note("compare_unmatched", images[i]["file_name"]) for i in plan.unmatched]
    )
