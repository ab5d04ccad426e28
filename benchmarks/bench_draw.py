#!/usr/bin/env python3
"""``draw`` and ``gallery`` against supervision's annotators and pycocotools + matplotlib, on the
same images in one run.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_draw.py [--data /tmp/data/draw]
        [--images 1000] [--gallery-images 5000] [--repeat 2] [--peer-python PY]
        [--jobs draw gallery]

The data (generated once into ``--data``): ``gen_coco.py`` (COCO's annotation density: 7.3
objects per image, star polygons, ~1% crowd RLE, the 80 categories) for ``--gallery-images``
images, scaled to Pascal VOC's sizes (longest side 500 px: 500x375, 375x500, 500x333 ...),
and one JPEG per image (quality 90, textured like a photo: 60-110 kB, as VOC's JPEGs). The
first ``--images`` of them make the draw file.

``draw`` (every job a fresh process, output JPEG quality 90 into an empty folder, best of
``--repeat``):

``coco-convert``, ``coco-convert -j1``
    ``coco-convert draw IN --images DIR -o OUT --format jpg`` (load, select, render on every
    core or on one, write).
``supervision``
    supervision's ``BoxAnnotator`` + ``MaskAnnotator`` + ``LabelAnnotator`` per image, as its
    documentation shows them: ``cv2.imread``, ``sv.Detections`` with the boxes, the masks
    (pycocotools ``annToMask``) and class ids, the three annotators, ``cv2.imwrite``; the COCO
    file loaded by pycocotools.
``pycocotools + matplotlib``
    the COCO documentation's way: ``plt.imshow``, ``coco.showAnns(anns, draw_bbox=True)``,
    ``savefig`` at the image's size (Agg backend).

``gallery``: ``coco-convert gallery IN --images DIR -o page.html`` on ``--gallery-images``
images on every core, then the page opened in headless chromium (a fresh browser each time,
tests/chromium.py): seconds from navigation to the load event, and to the first contentful
paint.

The peers run under ``--peer-python`` (default: this interpreter); they need supervision,
OpenCV, matplotlib and pycocotools (``pip install -e '.[bench]'``, or a separate venv such as
``/work/venvs/draw-bench``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared_bench import SHARED_BENCH, time_process

ROOT = Path(__file__).resolve().parents[1]
COCO_CONVERT = [sys.executable, "-m", "coco_convert", "-q"]
#: Pascal VOC's image sizes (width, height): the longest side is 500 px.
VOC_LONGEST = 500


# --- data ------------------------------------------------------------------------------------


def prepare(folder: Path, count: int, subset: int) -> tuple[Path, Path, Path]:
    """``coco_<count>.json`` and ``coco_<subset>.json`` (its first images) and ``images/``,
    made once."""
    full = folder / f"coco_{count}.json"
    part = folder / f"coco_{subset}.json"
    images = folder / "images"
    if full.exists() and part.exists() and images.is_dir():
        return full, part, images
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "gen_coco.json"
    print(f"generating {count:,} images of annotations with gen_coco.py ...", file=sys.stderr)
    subprocess.run(
        [sys.executable, str(SHARED_BENCH / "gen_coco.py"), str(raw), "--images", str(count)],
        check=True,
    )
    document = _voc_sized(json.loads(raw.read_text()))
    raw.unlink()
    print(f"writing {count:,} JPEGs into {images} ...", file=sys.stderr)
    images.mkdir(exist_ok=True)
    _photos(document["images"], images)
    full.write_text(json.dumps(document))
    first = {image["id"] for image in document["images"][:subset]}
    part.write_text(
        json.dumps(
            {
                **document,
                "images": document["images"][:subset],
                "annotations": [a for a in document["annotations"] if a["image_id"] in first],
            }
        )
    )
    return full, part, images


def _voc_sized(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every image scaled to VOC's size (longest side 500 px), its
    polygons, boxes and areas scaled with it, crowd RLEs resampled (nearest pixel)."""
    import numpy as np
    from PIL import Image
    from pycocotools import mask as coco_mask

    scale: dict[int, tuple[float, int, int]] = {}
    for image in document["images"]:
        s = VOC_LONGEST / max(image["width"], image["height"])
        width, height = round(image["width"] * s), round(image["height"] * s)
        scale[image["id"]] = (s, width, height)
        image["width"], image["height"] = width, height
    for ann in document["annotations"]:
        s, width, height = scale[ann["image_id"]]
        ann["bbox"] = [round(v * s, 2) for v in ann["bbox"]]
        ann["area"] = round(ann["area"] * s * s, 2)
        segmentation = ann["segmentation"]
        if isinstance(segmentation, list):
            ann["segmentation"] = [[round(v * s, 2) for v in p] for p in segmentation]
        else:
            h, w = segmentation["size"]
            rle = coco_mask.frPyObjects(segmentation, h, w)
            mask = Image.fromarray(coco_mask.decode(rle) * 255).resize((width, height))
            small = np.asfortranarray(np.asarray(mask) > 127, dtype=np.uint8)
            encoded = coco_mask.encode(small)
            ann["segmentation"] = {
                "size": [height, width],
                "counts": encoded["counts"].decode("ascii"),
            }
    return document


def _photos(records: list[dict[str, Any]], folder: Path) -> None:
    """A photo-like JPEG per image: smooth colour fields, edges and sensor noise (60-110 kB
    at quality 90, as VOC's photos)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for image in records:
        width, height = image["width"], image["height"]
        coarse = rng.integers(0, 256, (height // 20 + 2, width // 20 + 2, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC))
        grain = rng.normal(0, 9, (height, width, 3))
        pixels = np.clip(smooth + grain, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / image["file_name"], quality=90)


# --- the peers (run in a process each, under --peer-python) ------------------------------------


def peer_supervision(coco_path: Path, images: Path, out: Path) -> None:
    import cv2
    import numpy as np
    import supervision as sv
    from pycocotools.coco import COCO

    coco = COCO(str(coco_path))
    names = {cat["id"]: cat["name"] for cat in coco.dataset["categories"]}
    index = {cid: i for i, cid in enumerate(sorted(names))}
    boxes, masks, labels = sv.BoxAnnotator(), sv.MaskAnnotator(), sv.LabelAnnotator()
    out.mkdir(parents=True, exist_ok=True)
    for image_id in sorted(coco.getImgIds()):
        info = coco.imgs[image_id]
        scene = cv2.imread(str(images / info["file_name"]))
        anns = coco.imgToAnns[image_id]
        if anns:
            detections = sv.Detections(
                xyxy=np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]),
                mask=np.stack([coco.annToMask(a).astype(bool) for a in anns]),
                class_id=np.array([index[a["category_id"]] for a in anns]),
            )
            scene = masks.annotate(scene, detections)
            scene = boxes.annotate(scene, detections)
            scene = labels.annotate(
                scene, detections, labels=[names[a["category_id"]] for a in anns]
            )
        name = out / f"{Path(info['file_name']).stem}.jpg"
        cv2.imwrite(str(name), scene, [cv2.IMWRITE_JPEG_QUALITY, 90])


def peer_matplotlib(coco_path: Path, images: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pycocotools.coco import COCO

    coco = COCO(str(coco_path))
    out.mkdir(parents=True, exist_ok=True)
    for image_id in sorted(coco.getImgIds()):
        info = coco.imgs[image_id]
        picture = plt.imread(images / info["file_name"])
        figure = plt.figure(figsize=(info["width"] / 100, info["height"] / 100), dpi=100)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.imshow(picture)
        axes.axis("off")
        coco.showAnns(coco.imgToAnns[image_id], draw_bbox=True)
        name = out / f"{Path(info['file_name']).stem}.jpg"
        figure.savefig(name, dpi=100, pil_kwargs={"quality": 90})
        plt.close(figure)


PEERS = {"supervision": peer_supervision, "matplotlib": peer_matplotlib}


# --- the run -----------------------------------------------------------------------------------


def timed(command: list[str], out: Path) -> float:
    """Seconds of ``command`` as a fresh process, writing into ``out`` (emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    seconds, _, failed = time_process(command, cwd=ROOT)
    if failed:
        raise SystemExit(f"{' '.join(command)} failed:\n{failed}")
    return seconds


def page_open(page: Path, repeat: int) -> tuple[float, float]:
    """Best seconds to the load event and to the first contentful paint, each in a fresh
    headless chromium."""
    sys.path.insert(0, str(ROOT))
    from tests.chromium import Browser

    loads, paints = [], []
    for _ in range(repeat):
        with Browser(window=(1600, 1000), timeout=120) as browser:
            loads.append(browser.open(page.as_uri()))
            paint = browser.evaluate(
                "new Promise(done => requestAnimationFrame(() => setTimeout(() => done("
                "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
                " || null), 0)))"
            )
            paints.append((paint or math.nan) / 1000)
    return min(loads), min(paints)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/data/draw"))
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--gallery-images", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--peer-python", default=sys.executable)
    parser.add_argument("--jobs", nargs="+", default=["draw", "gallery"])
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("peer_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        coco_path, images, out = (Path(a) for a in args.peer_args)
        PEERS[args.peer](coco_path, images, out)
        return

    full, part, images = prepare(args.data, args.gallery_images, args.images)
    work = Path(tempfile.mkdtemp(prefix="bench-draw-", dir=args.data))
    try:
        if "draw" in args.jobs:
            out = str(work / "out")
            ours = [*COCO_CONVERT, "draw", str(part), "--images", str(images), "-o", out,
                    "--format", "jpg"]  # fmt: skip
            peer = [args.peer_python, __file__, "--peer"]
            commands = {
                "coco-convert": ours,
                "coco-convert -j1": [*ours, "-j", "1"],
                "supervision": [*peer, "supervision", str(part), str(images), out],
                "pycocotools + matplotlib": [*peer, "matplotlib", str(part), str(images), out],
            }
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                for name, command in commands.items():
                    seconds = timed(command, work / "out")
                    best[name] = min(best.get(name, math.inf), seconds)
                    print(f"  {name}: {seconds:.2f} s", file=sys.stderr)
            first = best["coco-convert"]
            print(f"\ndraw, {args.images:,} VOC-sized JPEGs, {_count(part):,} annotations:")
            print("| job | seconds | images/s | x coco-convert |\n|---|---:|---:|---:|")
            for name, seconds in best.items():
                print(
                    f"| {name} | {seconds:.2f} | {args.images / seconds:,.0f} | "
                    f"{seconds / first:.1f} |"
                )
        if "gallery" in args.jobs:
            page = work / "gallery.html"
            command = [*COCO_CONVERT, "gallery", str(full), "--images", str(images),
                       "-o", str(page)]  # fmt: skip
            seconds = min(timed(command, work / "out") for _ in range(args.repeat))
            load, paint = page_open(page, args.repeat)
            size = page.stat().st_size / 2**20
            print(f"\ngallery, {args.gallery_images:,} images, {_count(full):,} annotations:")
            print("| job | seconds |\n|---|---:|")
            print(f"| coco-convert gallery (2 cores) | {seconds:.2f} |")
            print(f"| chromium: load event | {load:.2f} |")
            print(f"| chromium: first contentful paint | {paint:.2f} |")
            print(f"page: {size:.1f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _count(path: Path) -> int:
    return len(json.loads(path.read_text())["annotations"])


if __name__ == "__main__":
    main()
