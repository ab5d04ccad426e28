"""A deterministic data set in SA-1B's layout (Segment Anything's 1-billion-mask release).

    python benchmarks/gen_sa1b.py OUT --images 1000 [--masks 100] [--shards 0] [--seed 0]
                                  [--size 1500x2250] [--jpeg]

SA-1B's own files cannot be fetched here, so this writes files of the same shape: one
``sa_<n>.json`` per image, ``{"image": {image_id, width, height, file_name}, "annotations":
[{id, segmentation (COCO RLE, compressed), bbox, area, predicted_iou, stability_score,
crop_box, point_coords}]}``, in the folder OUT, or (``--shards K``) in K tar shards
``OUT/sa_000000.tar`` ... holding ``sa_<n>.jpg`` and ``sa_<n>.json`` member pairs, as the
release ships them. The masks are random blobs (unions of ellipses, some with a hole, some in
two parts) encoded by pycocotools; the boxes follow Segment Anything's convention (corners
of the first and last pixel, so ``w``/``h`` are one less than the mask's extent); areas are
pixel counts. ``--jpeg`` writes a grey JPEG of the image's size beside each JSON (always
inside tar shards). The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pycocotools import mask as mask_utils


def blob(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, int, int]:
    """A random blob in a window of the image: (window mask, left, top)."""
    scale = float(np.exp(rng.uniform(np.log(0.01), np.log(0.4))))  # mostly small, as in SA-1B
    wh = max(3, int(height * scale * rng.uniform(0.5, 1.5)))
    ww = max(3, int(width * scale * rng.uniform(0.5, 1.5)))
    wh, ww = min(wh, height), min(ww, width)
    top = int(rng.integers(0, height - wh + 1))
    left = int(rng.integers(0, width - ww + 1))
    ys = (np.arange(wh)[:, None] + 0.5) / wh
    xs = (np.arange(ww)[None, :] + 0.5) / ww
    window = np.zeros((wh, ww), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.3, 0.7, size=2)
        ry, rx = rng.uniform(0.15, 0.5, size=2)
        window |= ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1
    if rng.random() < 0.3:  # a ring: a hole inside a disc
        disc = ((ys - 0.5) / 0.45) ** 2 + ((xs - 0.5) / 0.45) ** 2
        window |= disc <= 1
        window &= disc > rng.uniform(0.05, 0.3)
    if rng.random() < 0.15:  # a second part, apart from the first
        window[:, : max(1, ww // 8)] = False
        window[wh // 3 : wh // 2, : max(1, ww // 10)] = True
    if not window.any():
        window[wh // 2, ww // 2] = True
    return window, left, top


def encode(window: np.ndarray, left: int, top: int, height: int, width: int) -> dict[str, Any]:
    """The compressed COCO RLE of ``window`` placed at (left, top) in a height x width image,
    by pycocotools (its runs counted column by column, as COCO does)."""
    columns = np.zeros((height, window.shape[1]), dtype=np.uint8)
    columns[top : top + window.shape[0]] = window
    flat = np.concatenate(([0], columns.ravel(order="F"), [0])).astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + left * height
    counts = np.diff(np.concatenate(([0], changes, [height * width]))).tolist()
    if counts[-1] == 0:  # (the mask reaches the last pixel)
        counts.pop()
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def record(
    rng: np.random.Generator, image_id: int, first_id: int, masks: int, height: int, width: int
) -> dict[str, Any]:
    """One image's SA-1B JSON document."""
    annotations = []
    for k in range(masks):
        window, left, top = blob(rng, height, width)
        rle = encode(window, left, top, height, width)
        rows = np.flatnonzero(window.any(axis=1))
        cols = np.flatnonzero(window.any(axis=0))
        x0, x1 = left + int(cols[0]), left + int(cols[-1])
        y0, y1 = top + int(rows[0]), top + int(rows[-1])
        inside = np.unravel_index(int(np.argmax(window)), window.shape)  # the first pixel
        crop = (
            [0.0, 0.0, float(width), float(height)]
            if rng.random() < 0.6
            else [float(width // 2 * (k % 2)), 0.0, float(width - width // 2), float(height)]
        )
        annotations.append(
            {
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "area": int(window.sum()),
                "segmentation": rle,
                "predicted_iou": round(float(rng.uniform(0.8, 1.02)), 6),
                "point_coords": [[float(left + inside[1]) + 0.5, float(top + inside[0]) + 0.5]],
                "crop_box": crop,
                "id": first_id + k,
                "stability_score": round(float(rng.uniform(0.85, 1.0)), 6),
            }
        )
    return {
        "image": {
            "image_id": image_id,
            "width": width,
            "height": height,
            "file_name": f"sa_{image_id}.jpg",
        },
        "annotations": annotations,
    }


def jpeg(height: int, width: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


def generate(
    out: Path,
    *,
    images: int,
    masks: int = 100,
    shards: int = 0,
    seed: int = 0,
    size: tuple[int, int] = (1500, 2250),
    with_jpeg: bool = False,
) -> list[Path]:
    """Write the data set under ``out`` (created); returns the files written (JSON files, or
    the shards)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    height, width = size
    picture = jpeg(height, width) if (with_jpeg or shards) else b""

    def members(n: int) -> list[tuple[str, bytes]]:
        """Image n's JSON (and JPEG): (file name, bytes)."""
        image_id = n + 1
        # two orientations, as photos come
        h, w = (height, width) if n % 3 else (width, height)
        data = orjson.dumps(record(rng, image_id, 1_000_000 * image_id, masks, h, w))
        image = jpeg(h, w) if n % 3 == 0 else picture
        return [(f"sa_{image_id}.jpg", image), (f"sa_{image_id}.json", data)]

    written: list[Path] = []
    if not shards:
        for n in range(images):
            for name, content in members(n):
                if name.endswith(".json") or with_jpeg:
                    (out / name).write_bytes(content)
            written.append(out / f"sa_{n + 1}.json")
        return written
    per_shard = -(-images // shards)
    for number, first in enumerate(range(0, images, per_shard)):
        written.append(out / f"sa_{number:06d}.tar")
        with tarfile.open(written[-1], "w", format=tarfile.USTAR_FORMAT) as shard:
            for n in range(first, min(images, first + per_shard)):
                for name, content in members(n):
                    info = tarfile.TarInfo(name)
                    info.size = len(content)
                    info.mtime = 1_680_000_000
                    shard.addfile(info, io.BytesIO(content))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--masks", type=int, default=100, help="masks per image")
    parser.add_argument("--shards", type=int, default=0, help="tar shards (0: a JSON folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", default="1500x2250", help="HEIGHTxWIDTH of the images")
    parser.add_argument("--jpeg", action="store_true", help="grey JPEGs beside the JSON files")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    generate(
        args.out,
        images=args.images,
        masks=args.masks,
        shards=args.shards,
        seed=args.seed,
        size=(height, width),
        with_jpeg=args.jpeg,
    )


if __name__ == "__main__":
    main()
