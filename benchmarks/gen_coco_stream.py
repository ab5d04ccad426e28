#!/usr/bin/env python3
"""``shared/bench/gen_coco.py`` in bounded memory: the same file, byte for byte, for any size.

    python benchmarks/gen_coco_stream.py OUT.json --images 1100000

gen_coco.py builds the whole document before writing it (about 20 GB of Python objects at
1.1 M images); this writes the images as they are made and the annotations to a file beside
the output, then joins them, drawing the same random numbers in the same order (it calls
gen_coco.py's own record functions). Only the default options (no --keypoints, no --indent).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import sys
from pathlib import Path

from shared_bench import SHARED_BENCH


def _gen_coco():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_coco", SHARED_BENCH / "gen_coco.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", type=int, default=118_287)
    parser.add_argument("--anns-per-image", type=float, default=7.27)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crowd-frac", type=float, default=0.009)
    args = parser.parse_args()
    gen = _gen_coco()
    rng = random.Random(args.seed)
    dump = json.JSONEncoder(separators=(",", ":")).encode
    cat_ids = [c[0] for c in gen.COCO_CATEGORIES]
    partial = args.out.with_name(args.out.name + ".partial")
    spill = args.out.with_name(args.out.name + ".annotations")
    ann_id = 1
    n_images = 0
    with partial.open("w") as out, spill.open("w") as anns:
        info = {
            "description": "synthetic COCO-shaped data",
            "version": "1.0",
            "year": 2017,
            "contributor": "gen_coco.py",
            "date_created": "2017/09/01",
        }
        licenses = [
            {"url": f"http://licenses.example.org/{i}", "id": i, "name": f"License {i}"}
            for i in range(1, 9)
        ]
        out.write(f'{{"info":{dump(info)},"licenses":{dump(licenses)},"images":[')
        for img_id in range(1, args.images + 1):
            w, h = rng.choice(gen.SIZES)
            image = {
                "license": rng.randint(1, 8),
                "file_name": f"{img_id:012d}.jpg",
                "coco_url": f"http://images.example.org/train/{img_id:012d}.jpg",
                "height": h,
                "width": w,
                "date_captured": "2013-11-14 16:28:13",
                "flickr_url": f"http://farm.example.org/{img_id}.jpg",
                "id": img_id,
            }
            out.write(("," if n_images else "") + dump(image))
            n_images += 1
            for _ in range(max(0, round(rng.expovariate(1 / args.anns_per_image)))):
                cat = 1 if rng.random() < 0.3 else rng.choice(cat_ids)
                if rng.random() < args.crowd_frac:
                    seg, bbox, area = gen.crowd_rle(rng, w, h)
                    iscrowd = 1
                else:
                    flat, bbox, area = gen.star_polygon(rng, w, h)
                    seg, iscrowd = [flat], 0
                ann = {
                    "segmentation": seg,
                    "area": area,
                    "iscrowd": iscrowd,
                    "image_id": img_id,
                    "bbox": bbox,
                    "category_id": cat,
                    "id": ann_id,
                }
                anns.write(("," if ann_id > 1 else "") + dump(ann))
                ann_id += 1
    cats = [{"supercategory": s, "id": i, "name": n} for i, n, s in gen.COCO_CATEGORIES]
    with partial.open("a") as out, spill.open() as anns:
        out.write('],"annotations":[')
        shutil.copyfileobj(anns, out, 64 * 2**20)
        out.write(f'],"categories":{dump(cats)}}}')
    spill.unlink()
    partial.replace(args.out)
    print(f"{args.out}: {n_images} images, {ann_id - 1} annotations", file=sys.stderr)


if __name__ == "__main__":
    main()
