#!/usr/bin/env python3
"""Which contour library for mask -> polygon: fidelity, vertices and speed, measured.

    python benchmarks/compare_contours.py [--synthetic 2000]

Needs ``pip install opencv-python-headless scikit-image`` next to the project (they are
not dependencies; a missing one is skipped). Each method traces every mask, holes are joined
to their ring by coco-convert's zero-width cut (so only the outline geometry differs), and
the polygons are rasterised back by pycocotools (``frPyObjects`` + ``merge``); IoU against
the original mask. Mask sets: every real mask in ../shared/realdata (tests/real_masks.py),
its crowd RLEs alone, and ``--synthetic`` COCO-style masks (gen_coco star polygons of
/tmp/data/coco10k.json rasterised by pycocotools). Time is per mask, the mask already
decoded and cropped to its box (what each library is handed).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coco_convert import geometry  # noqa: E402
from coco_convert.geometry import _cut_holes, _drop_redundant  # noqa: E402

Rings = list[tuple[np.ndarray, list[np.ndarray]]]  # (exterior, holes) in crop coordinates


def ours(crop: np.ndarray) -> Rings:
    return [(o.exterior, list(o.holes)) for o in geometry.trace(crop)]


def contourpy_serial(crop: np.ndarray) -> Rings:
    import contourpy

    padded = np.pad(crop, 1).astype(np.float64)
    generator = contourpy.contour_generator(z=padded, fill_type="OuterOffset")
    points, offsets = generator.filled(0.5, 1.5)
    out = []
    for xy, offset in zip(points, offsets, strict=True):
        rings = [xy[a : b - 1] - 0.5 for a, b in itertools.pairwise(offset)]
        out.append((rings[0], rings[1:]))
    return out


def opencv(crop: np.ndarray, upsample: int = 1) -> Rings:
    import cv2

    image = crop.astype(np.uint8)
    if upsample > 1:
        image = np.repeat(np.repeat(image, upsample, 0), upsample, 1)
    contours, hierarchy = cv2.findContours(image, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []

    # OpenCV's contours run through the centres of the boundary pixels, (i + 0.5, j + 0.5):
    # at 2x, through the centres of half-pixels, a quarter pixel inside the pixel edges.
    def ring(c: np.ndarray) -> np.ndarray:
        return (c.reshape(-1, 2).astype(np.float64) + 0.5) / upsample

    out = []
    for i, contour in enumerate(contours):
        if hierarchy[0][i][3] != -1:
            continue
        holes, child = [], hierarchy[0][i][2]
        while child != -1:
            holes.append(ring(contours[child]))
            child = hierarchy[0][child][0]
        out.append((ring(contour), holes))
    return out


def skimage_marching_squares(crop: np.ndarray) -> Rings:
    from skimage import measure

    rings = []
    for contour in measure.find_contours(np.pad(crop, 1).astype(np.float64), 0.5):
        xy = contour[:-1, ::-1] - 0.5
        x, y = xy[:, 0], xy[:, 1]
        rings.append((0.5 * (x @ np.roll(y, -1) - y @ np.roll(x, -1)), xy))
    if not rings:
        return []
    import shapely

    sign = np.sign(max(rings, key=lambda r: abs(r[0]))[0])
    outers = [xy for a, xy in rings if np.sign(a) == sign]
    holes = [xy for a, xy in rings if np.sign(a) != sign]
    shapes = [shapely.Polygon(o) for o in outers]
    out: Rings = [(o, []) for o in outers]
    for hole in holes:  # skimage does not say which ring a hole belongs to
        inside = [k for k, s in enumerate(shapes) if s.covers(shapely.Point(hole[0]))]
        if inside:
            out[min(inside, key=lambda k: shapes[k].area)][1].append(hole)
    return out


METHODS: dict[str, tuple[str, Callable[[np.ndarray], Rings]]] = {
    "coco-convert (contourpy mpl2005, edge midpoints)": ("contourpy", ours),
    "contourpy serial, edge midpoints": ("contourpy", contourpy_serial),
    "scikit-image find_contours 0.5": ("skimage", skimage_marching_squares),
    "OpenCV findContours 2x upsampled": ("cv2", lambda c: opencv(c, 2)),
    "OpenCV findContours pixel centres": ("cv2", opencv),
}


def crop(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], int(cols[0]), int(rows[0])


def measure(masks: list[dict[str, Any]], trace: Callable[[np.ndarray], Rings]) -> dict[str, Any]:
    ious, vertices, seconds = [], 0, 0.0
    for rle in masks:
        h, w = rle["size"]
        mask = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        part, x0, y0 = crop(mask)
        start = time.perf_counter()
        rings = trace(np.ascontiguousarray(part))
        seconds += time.perf_counter() - start
        polygons = []
        for exterior, holes in rings:
            ring = _cut_holes(exterior, holes) if holes else exterior
            ring = _drop_redundant(ring + np.array([x0, y0]))
            if len(ring) >= 3:
                polygons.append(ring.ravel().tolist())
        vertices += geometry.polygon_vertices(polygons)
        ious.append(geometry.iou(geometry.to_rle(polygons, h, w), rle))
    values = np.asarray(ious)
    return {
        "median": float(np.median(values)),
        "p1": float(np.percentile(values, 1)),
        "min": float(values.min()),
        "vertices": vertices,
        "ms": seconds / len(masks) * 1e3,
    }


def synthetic(path: str, count: int) -> list[dict[str, Any]]:
    import orjson

    document = orjson.loads(Path(path).read_bytes())
    sizes = {i["id"]: (i["height"], i["width"]) for i in document["images"]}
    polygons = [a for a in document["annotations"] if isinstance(a["segmentation"], list)]
    return [geometry.to_rle(a["segmentation"], *sizes[a["image_id"]]) for a in polygons[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=2000)
    parser.add_argument("--data", default="/tmp/data/coco10k.json")
    args = parser.parse_args()
    from tests.real_masks import real_masks

    real = real_masks()
    sets = {
        f"real masks ({len(real)})": [m.rle for m in real],
        f"real crowd RLEs ({sum(m.crowd for m in real)})": [m.rle for m in real if m.crowd],
    }
    if args.synthetic:
        sets[f"COCO-style synthetic ({args.synthetic})"] = synthetic(args.data, args.synthetic)
    for label, masks in sets.items():
        print(f"== {label}")
        for name, (module, trace) in METHODS.items():
            try:
                __import__(module)
            except ImportError:
                print(f"  {name:<50} skipped ({module} not installed)")
                continue
            r = measure(masks, trace)
            print(
                f"  {name:<50} IoU median {r['median']:.4f} p1 {r['p1']:.4f} min {r['min']:.4f}"
                f"  vertices {r['vertices']:>8,}  {r['ms']:.3f} ms/mask"
            )


if __name__ == "__main__":
    main()
