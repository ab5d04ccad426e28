#!/usr/bin/env python3
"""labelme2coco: coco-convert against the floor and the labelme2coco package, in one run.

    python benchmarks/bench_labelme.py [--files 10000] [--runs 3] [--data /tmp/data/labelme10k]
        [--peer-python /work/venvs/labelme2coco/bin/python]

The data: ``--files`` LabelMe files (LabelMe 5's layout, ``imageData`` null, no images),
generated once into ``--data`` (deterministic): per file 3 to 12 objects, polygons of 8 to 40
points, a third of the objects rectangles, one in ten a circle, one in eight drawn as two
disjoint polygons sharing a group_id; about 11 KB of JSON indented as LabelMe writes it.

  floor  read every file and ``orjson.loads`` it (sorted, garbage collector paused), nothing
         built or written: the least any converter can cost
  ours   ``coco-convert labelme2coco DIR -o OUT.json`` (one process below 20,000 files)
  peer   the labelme2coco package (``pip install labelme2coco`` into --peer-python's venv;
         never a dependency of coco-convert): ``labelme2coco.convert(DIR, OUT_DIR, 1.0)``,
         which reads each file with its own loader and writes the same COCO JSON

Every figure is a whole process (interpreter start included): the minimum wall time of --runs
runs and the peak resident set, tools interleaved within each round. Run under
``flock /tmp/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
from pathlib import Path

from shared_bench import time_process

ROOT = Path(__file__).resolve().parents[1]

FLOOR = r"""
import gc, os, sys, orjson
gc.disable()
root = sys.argv[1]
n = 0
for name in sorted(os.listdir(root)):
    if name.endswith(".json"):
        with open(os.path.join(root, name), "rb") as handle:
            n += len(orjson.loads(handle.read())["shapes"])
print(n)
"""

PEER = r"""
import sys
from labelme2coco import convert
convert(sys.argv[1], sys.argv[2], train_split_rate=1.0)
"""


def generate(folder: Path, files: int) -> None:
    """``files`` LabelMe files in ``folder`` (skipped when it holds them already)."""
    if folder.is_dir() and len(list(folder.glob("*.json"))) == files:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(12)
    labels = ["person", "car", "bicycle", "dog", "cat", "tree", "sign", "bus"]
    for number in range(files):
        width, height = rng.choice([(640, 480), (1280, 720), (800, 600)])
        shapes = []
        for obj in range(rng.randint(3, 12)):
            label = rng.choice(labels)
            cx, cy = rng.uniform(50, width - 50), rng.uniform(50, height - 50)
            size = rng.uniform(10, 45)
            kind = rng.random()
            if kind < 0.33:
                points = [[cx - size, cy - size], [cx + size, cy + size]]
                shapes.append(_shape(label, points, "rectangle"))
            elif kind < 0.43:
                shapes.append(_shape(label, [[cx, cy], [cx + size, cy]], "circle"))
            else:
                parts = 2 if kind > 0.88 else 1
                for part in range(parts):
                    n = rng.randint(8, 40)
                    points = [
                        [
                            round(cx + part * 2.5 * size + size * math.cos(2 * math.pi * k / n), 4),
                            round(cy + size * 0.8 * math.sin(2 * math.pi * k / n), 4),
                        ]
                        for k in range(n)
                    ]
                    group = obj if parts > 1 else None
                    shapes.append(_shape(label, points, "polygon", group))
        document = {
            "version": "5.4.1",
            "flags": {},
            "shapes": shapes,
            "imagePath": f"{number:06d}.jpg",
            "imageData": None,
            "imageHeight": height,
            "imageWidth": width,
        }
        (folder / f"{number:06d}.json").write_text(json.dumps(document, indent=2))


def _shape(label: str, points: list[list[float]], kind: str, group: int | None = None) -> dict:
    return {"label": label, "points": points, "group_id": group, "description": "",
            "shape_type": kind, "flags": {}, "mask": None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/data/labelme10k"))
    parser.add_argument("--peer-python", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-labelme"))
    args = parser.parse_args()
    generate(args.data, args.files)
    args.work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "coco_convert"]
    ours = [*cli, "--quiet", "labelme2coco", str(args.data), "-o", str(args.work / "ours.json")]
    jobs = {
        "floor: orjson over the files": [sys.executable, "-c", FLOOR, str(args.data)],
        "coco-convert labelme2coco": ours,
    }
    if args.peer_python is not None:
        jobs["labelme2coco 0.2.6 (peer)"] = [
            str(args.peer_python), "-c", PEER, str(args.data), str(args.work / "peer"),
        ]  # fmt: skip
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.runs):
        for name, command in jobs.items():
            shutil.rmtree(args.work / "peer", ignore_errors=True)
            seconds, rss, failed = time_process(command, cwd=ROOT)
            if failed:
                raise SystemExit(f"{name} failed: {failed}")
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, rss)
    floor = best["floor: orjson over the files"][0]
    mine = best["coco-convert labelme2coco"][0]
    print(f"{args.files:,} LabelMe files, best of {args.runs}")
    print(f"{'job':<34} {'seconds':>8} {'x floor':>8} {'x ours':>8} {'peak RSS':>10}")
    for name, (seconds, rss) in best.items():
        print(
            f"{name:<34} {seconds:8.2f} {seconds / floor:8.2f} {seconds / mine:8.2f} "
            f"{rss / 2**20:8.0f} MB"
        )


if __name__ == "__main__":
    main()
