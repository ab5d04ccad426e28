"""See the annotations: pictures (``coco-convert draw``, :meth:`Dataset.draw
<coco_convert.dataset.CocoDataset.draw>`) and a self-contained HTML gallery
(``coco-convert gallery``).

* :mod:`.scene`: what is drawn on an image (marks, colours, labels); pure Python.
* :mod:`.plan`: which images, with which annotations, files and PNGs (the render jobs).
* :mod:`.pixels`: images opened upright, masks as pycocotools rasterises them (numpy, Pillow).
* :mod:`.render`: the pictures (Pillow, numpy).
* :mod:`.gallery`: the HTML page (thumbnails as data URIs, overlays as SVG).

Importing this package costs nothing: numpy and Pillow are imported when a picture is made.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .scene import NOTES, DrawOptions, Layer, Note, RenderJob

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from ..dataset import Dataset

__all__ = ["DrawOptions", "DrawWarning", "RenderJob", "draw_image", "show_image"]


class DrawWarning(UserWarning):
    """Something a picture could not show as asked (a missing image file, a segmentation
    that cannot be rasterised, ...); the picture is drawn all the same."""


def draw_image(
    dataset: Dataset,
    img_id: int,
    image: str | os.PathLike[str] | PILImage.Image | None = None,
    *,
    cat_names: str | list[str] | None = None,
    compare: Dataset | None = None,
    labels: bool = True,
    boxes: bool = True,
    line_width: int | None = None,
    alpha: float = 0.45,
    min_score: float | None = None,
    panoptic_dir: str | os.PathLike[str] | None = None,
) -> PILImage.Image:
    """The picture of :meth:`Dataset.draw <coco_convert.dataset.CocoDataset.draw>`."""
    from .plan import Plan, is_coco, is_results, locate, select_images
    from .render import paint

    options = DrawOptions(labels=labels, boxes=boxes, line_width=line_width, alpha=alpha)
    names = [cat_names] if isinstance(cat_names, str) else list(cat_names or [])
    if is_results(dataset):
        job = _results_job(dataset, img_id, image, names, options, min_score)
    elif is_coco(dataset):
        if img_id not in dataset.index.imgs:
            raise UsageError(f"{dataset.source or 'the dataset'}: no image with id {img_id}")
        _, cat_ids = select_images(dataset, cat_names=names)
        plan = Plan(
            dataset,
            options=options,
            cat_ids=cat_ids,
            compare=compare,
            min_score=min_score,
            panoptic_dir=Path(panoptic_dir) if panoptic_dir is not None else None,
        )
        path: str | None = None
        missing: Note | None = None
        if isinstance(image, str | os.PathLike):
            if Path(image).is_dir():
                path, missing = locate(image, dataset.index.imgs[img_id]["file_name"])
            elif Path(image).is_file():
                path = os.fspath(image)
            else:
                missing = Note("image_missing", os.fspath(image))
        job = plan.job(img_id, path=path, missing=missing)
    else:
        raise UsageError(f"a {dataset.kind} dataset has no images to draw")
    picture, notes = paint(job, None if isinstance(image, str | os.PathLike) else image)
    if picture is None:
        last = notes[-1]
        raise UsageError(f"image {img_id} cannot be drawn: {NOTES[last.key]} ({last})")
    _warn(notes)
    return picture


def show_image(
    dataset: Dataset,
    img_id: int,
    image: str | os.PathLike[str] | PILImage.Image | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Path | None:
    """:meth:`Dataset.show <coco_convert.dataset.CocoDataset.show>`: the picture displayed
    in a Jupyter notebook (None returned), or else saved as a PNG at ``path`` (default: a new
    file in the temporary folder) whose path is returned."""
    picture = draw_image(dataset, img_id, image, **options)
    if path is None and _in_notebook():
        from IPython.display import display  # type: ignore[import-not-found]

        display(picture)
        return None
    if path is None:
        handle, name = tempfile.mkstemp(prefix=f"coco-convert-{img_id}-", suffix=".png")
        os.close(handle)
        path = name
    from ..io import atomic_write
    from .render import encode

    atomic_write(path, encode(picture, DrawOptions()))
    return Path(path)


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (an IPython shell that can show pictures)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _results_job(
    dataset: Any,
    img_id: int,
    image: Any,
    names: list[str],
    options: DrawOptions,
    min_score: float | None,
) -> RenderJob:
    """A results list on its own: it names no image file and no size, so the picture must
    be given, and it has no categories, so they show as ids."""
    if names:
        raise UsageError(
            "detection results have no category names: draw them over their dataset, "
            "dataset.draw(img_id, compare=results, cat_names=...)"
        )
    if image is None or (isinstance(image, str | os.PathLike) and not Path(image).is_file()):
        raise UsageError(
            "detection results carry no image size: pass the image (a file or a PIL image), "
            "or draw them over their dataset, dataset.draw(img_id, compare=results)"
        )
    path = os.fspath(image) if isinstance(image, str | os.PathLike) else None
    results = [r for r in dataset.for_image(img_id) if min_score is None or r["score"] >= min_score]
    record = {"id": img_id, "file_name": Path(path).name if path else f"image {img_id}"}
    layer = Layer(kind="results", annotations=results, categories={}, name="results")
    return RenderJob(image=record, path=path, layers=(layer,), options=options)


def _warn(notes: list[Note]) -> None:
    for note in notes:
        warnings.warn(f"{NOTES[note.key]} ({note})", DrawWarning, stacklevel=4)
