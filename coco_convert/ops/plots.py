"""``stats --plots DIR``: PNG plots of a dataset's statistics (matplotlib, an optional extra:
``pip install 'coco-convert[plots]'``).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global state, no display
needed); the PNGs are written together, all or none (``io.atomic_files``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..io import atomic_files
from .statistics import StatsCollector, positions

__all__ = ["PLOTS", "draw_plots"]

#: The files written, and what each shows.
PLOTS = {
    "categories.png": "annotations and images per category",
    "box_sizes.png": "box size against aspect ratio (log scales; hexagons shaded by count)",
    "annotations_per_image.png": "how many images hold how many annotations",
    "box_centres.png": "where box centres fall, relative to the image (heat map)",
}


def draw_plots(
    collector: StatsCollector, found: dict[str, Any], folder: str | os.PathLike[str]
) -> list[Path]:
    """Draw :data:`PLOTS` into ``folder`` (created if needed); returns the files written."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plots needs matplotlib: pip install 'coco-convert[plots]'") from None
    cols = collector.columns()
    out = Path(folder)
    pngs: dict[str, bytes] = {}

    def save(name: str, figure: Figure) -> None:
        FigureCanvasAgg(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        pngs[name] = buffer.getvalue()

    # Categories: annotations and images, most frequent first.
    rows = sorted(found["categories"], key=lambda c: -c.get("annotations", c.get("results", 0)))
    count_key = "results" if found["kind"] == "results" else "annotations"
    figure = Figure(figsize=(8, max(3.0, 0.22 * len(rows) + 1.5)))
    axes = figure.add_subplot()
    y = np.arange(len(rows))
    axes.barh(y - 0.2, [c[count_key] for c in rows], height=0.4, label=count_key)
    axes.barh(y + 0.2, [c["images"] for c in rows], height=0.4, label="images")
    axes.set_yticks(y, [str(c.get("name") or c["id"]) for c in rows], fontsize=7)
    axes.invert_yaxis()
    axes.set_xscale("symlog")
    axes.legend()
    axes.set_title(f"{count_key} and images per category")
    figure.tight_layout()
    save("categories.png", figure)

    # Box size against aspect ratio.
    boxes = cols.bbox
    ok = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    w, h = boxes[ok, 2], boxes[ok, 3]
    figure = Figure(figsize=(7, 5))
    axes = figure.add_subplot()
    if len(w):
        shown = axes.hexbin(
            np.sqrt(w * h), w / h, xscale="log", yscale="log", gridsize=60, mincnt=1, norm=LogNorm()
        )
        figure.colorbar(shown, ax=axes, label="boxes")
    axes.set_xlabel("box size: sqrt(width x height), pixels")
    axes.set_ylabel("aspect ratio: width / height")
    axes.set_title(f"{len(w):,} boxes")
    save("box_sizes.png", figure)

    # Annotations per image.
    index = positions(cols.images, cols.image_id)
    per_image = np.bincount(index[index >= 0], minlength=len(cols.images))
    figure = Figure(figsize=(7, 4))
    axes = figure.add_subplot()
    if len(per_image):
        axes.hist(per_image, bins=[n - 0.5 for n in range(int(per_image.max()) + 2)], log=True)
    axes.set_xlabel("annotations in the image")
    axes.set_ylabel("images")
    axes.set_title(f"{len(per_image):,} images")
    save("annotations_per_image.png", figure)

    # Box centres, relative to their image.
    has_image = ok & (index >= 0)
    width, height = cols.width[index[has_image]], cols.height[index[has_image]]
    x = (boxes[has_image, 0] + boxes[has_image, 2] / 2) / width
    y_centre = (boxes[has_image, 1] + boxes[has_image, 3] / 2) / height
    inside = np.isfinite(x) & np.isfinite(y_centre)
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    counts, _, _ = np.histogram2d(y_centre[inside], x[inside], bins=50, range=[[0, 1], [0, 1]])
    image = axes.imshow(counts, extent=(0, 1, 1, 0), cmap="magma", aspect="auto")
    figure.colorbar(image, ax=axes, label="box centres")
    axes.set_xlabel("x / image width")
    axes.set_ylabel("y / image height")
    axes.set_title("box centres")
    save("box_centres.png", figure)
    with atomic_files(out) as stage:
        for name, data in pngs.items():
            (stage / name).write_bytes(data)
    return [out / name for name in pngs]
