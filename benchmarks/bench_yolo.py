#!/usr/bin/env python3
"""COCO <-> YOLO at COCO train2017 scale: coco-convert against its peers and the floor, in one run.

    python benchmarks/bench_yolo.py                             # both parts, full scale
    python benchmarks/bench_yolo.py --coco /tmp/data/coco10k.json --yolo-images 10000
    python benchmarks/bench_yolo.py --only coco2yolo --tasks detect

coco2yolo (``--coco``, default /tmp/data/coco_full.json: 118,287 images, 860k annotations,
written by shared/bench/gen_coco.py), for ``detect`` and ``segment``:

* ``coco-convert coco2yolo`` (this checkout);
* the floor: a bare loop (orjson load, f-strings, one file per image), as the issue defines it,
  and the same loop with the cyclic garbage collector paused while parsing;
* ultralytics ``convert_coco``, datumaro ``datum convert -if coco_instances -f yolo`` and globox
  (``AnnotationSet.from_coco`` + ``save_yolo_v5`` with a label map), from a scratch environment
  (``--peers``, default /tmp/peers-yolo: ``pip install torch==2.13.0 ultralytics datumaro
  globox``). datumaro and globox write boxes only, so they run for ``detect``.

yolo2coco (``--yolo-images``, default 100,000): a dataset from shared/bench/gen_yolo.py (JPEGs
of 5 sizes, 7.3 boxes per image) is read by ``coco-convert yolo2coco`` on all CPUs and on one,
and by the floor (labels + ``imagesize`` headers in a bare loop, one process).

Every job is a fresh process, timed whole (interpreter start included) with its peak RSS; jobs
of one part are interleaved across ``--repeat`` runs and the best time is kept. Run full scale
alone: ``flock /tmp/bench.lock python benchmarks/bench_yolo.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared_bench import SHARED_BENCH, coco_file, time_process

HERE = Path(__file__).resolve().parent

FLOOR_COCO2YOLO = r"""
import gc, os, sys, orjson
src, out, task, gc_off = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
data = open(src, "rb").read()
if gc_off:
    gc.disable()
doc = orjson.loads(data)
gc.enable()
index = {c["id"]: i for i, c in enumerate(sorted(doc["categories"], key=lambda c: c["id"]))}
rows = {img["id"]: [] for img in doc["images"]}
sizes = {img["id"]: (img["width"], img["height"]) for img in doc["images"]}
for ann in doc["annotations"]:
    if ann.get("iscrowd"):
        continue
    w, h = sizes[ann["image_id"]]
    cls = index[ann["category_id"]]
    if task == "detect":
        x, y, bw, bh = ann["bbox"]
        rows[ann["image_id"]].append(
            f"{cls} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}\n"
        )
    else:
        ring = ann["segmentation"][0]
        coords = " ".join(
            f"{v / (w if i % 2 == 0 else h):.6f}" for i, v in enumerate(ring)
        )
        rows[ann["image_id"]].append(f"{cls} {coords}\n")
os.makedirs(out)
for img in doc["images"]:
    stem = img["file_name"].rsplit(".", 1)[0]
    with open(f"{out}/{stem}.txt", "w") as f:
        f.write("".join(rows[img["id"]]))
"""

ULTRALYTICS = r"""
import sys
from ultralytics.data.converter import convert_coco
convert_coco(sys.argv[1], sys.argv[2], use_segments=sys.argv[3] == "segment")
"""

GLOBOX = r"""
import sys, globox
annotations = globox.AnnotationSet.from_coco(sys.argv[1])
labels = sorted({box.label for ann in annotations for box in ann.boxes})
annotations.save_yolo_v5(sys.argv[2], label_to_id={l: i for i, l in enumerate(labels)})
"""

FLOOR_YOLO2COCO = r"""
import os, sys, imagesize, orjson
root = sys.argv[1]
images, anns = [], []
for split in ("train", "val"):
    folder = f"{root}/images/{split}"
    for name in sorted(os.listdir(folder)):
        w, h = imagesize.get(f"{folder}/{name}")
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        try:
            text = open(f"{root}/labels/{split}/{name.rsplit('.', 1)[0]}.txt").read()
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            c, cx, cy, bw, bh = line.split()
            cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": int(c) + 1,
                         "bbox": [cx - bw / 2, cy - bh / 2, bw, bh], "area": bw * bh,
                         "iscrowd": 0})
open(sys.argv[2], "wb").write(orjson.dumps({"images": images, "annotations": anns}))
"""


def run(command: list[str], scratch: Path) -> dict[str, float | str]:
    """Run a job in a fresh process, in an empty ``scratch`` folder: wall seconds and peak RSS
    (GB), or its error."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    seconds, rss, error = time_process(command, cwd=scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    if error is not None:
        return {"error": error.splitlines()[-1]}
    return {"seconds": seconds, "rss_gb": rss / 1024 / 1e6}


def best(results: list[dict[str, float | str]]) -> dict[str, float | str]:
    done = [r for r in results if "seconds" in r]
    return min(done, key=lambda r: r["seconds"]) if done else results[-1]


def coco2yolo_jobs(args: argparse.Namespace, task: str, work: Path) -> dict[str, list[str]]:
    python, peers = sys.executable, args.peers / "bin"
    coco = str(args.coco)
    # ultralytics converts every *.json of a folder; datumaro wants annotations/ + images/.
    ultra_in = work / "ultralytics-in"
    datum_in = work / "datumaro-in"
    for folder in (ultra_in, datum_in / "annotations", datum_in / "images"):
        folder.mkdir(parents=True, exist_ok=True)
    for link in (ultra_in / "instances_train.json", datum_in / "annotations/instances_train.json"):
        if not link.exists():
            link.symlink_to(Path(coco).resolve())
    jobs = {
        "coco-convert": [python, "-m", "coco_convert", "-q", "coco2yolo", coco, "-o", "out",
                         "--task", task],
        "floor (bare loop)": [python, "-c", FLOOR_COCO2YOLO, coco, "out", task, "0"],
        "floor, GC paused": [python, "-c", FLOOR_COCO2YOLO, coco, "out", task, "1"],
    }  # fmt: skip
    if (peers / "python").exists():
        jobs["ultralytics convert_coco"] = [str(peers / "python"), "-c", ULTRALYTICS,
                                            str(ultra_in), "out", task]  # fmt: skip
        if task == "detect":
            jobs["datumaro"] = [str(peers / "datum"), "convert", "-if", "coco_instances", "-i",
                                str(datum_in), "-f", "yolo", "-o", "out"]  # fmt: skip
            jobs["globox"] = [str(peers / "python"), "-c", GLOBOX, coco, "out"]
    return jobs


def yolo2coco_jobs(args: argparse.Namespace, data: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "coco-convert (all CPUs)": [python, "-m", "coco_convert", "-q", "yolo2coco", str(data),
                                    "-o", "out"],
        "coco-convert (--jobs 1)": [python, "-m", "coco_convert", "-q", "yolo2coco", str(data),
                                    "-o", "out", "--jobs", "1"],
        "floor (labels + imagesize, 1 process)": [python, "-c", FLOOR_YOLO2COCO, str(data),
                                                  "out.json"],
    }  # fmt: skip


def measure(jobs: dict[str, list[str]], repeat: int, scratch: Path) -> dict[str, dict]:
    runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, command in jobs.items():
            runs[name].append(run(command, scratch))
            print(f"  {name}: {runs[name][-1]}", file=sys.stderr, flush=True)
    return {name: best(found) for name, found in runs.items()}


def table(title: str, results: dict[str, dict], reference: str, unit: float | None) -> str:
    ours = results[reference].get("seconds")
    lines = [
        f"\n{title}",
        f"| job | s | peak RSS GB | vs {reference} |" + (" images/s |" if unit else ""),
        "|---|---|---|---|" + ("---|" if unit else ""),
    ]
    for name, found in results.items():
        if "seconds" not in found:
            lines.append(f"| {name} | failed: {found['error'][:80]} | | |" + (" |" if unit else ""))
            continue
        ratio = f"{found['seconds'] / ours:.2f}x" if isinstance(ours, float) else "-"
        row = f"| {name} | {found['seconds']:.2f} | {found['rss_gb']:.2f} | {ratio} |"
        if unit:
            row += f" {unit / found['seconds']:,.0f} |"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coco", type=Path, help="default: gen_coco.py at train2017 scale")
    parser.add_argument("--yolo-images", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/yolo-bench"))
    parser.add_argument("--peers", type=Path, default=Path("/tmp/peers-yolo"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tasks", nargs="+", default=["detect", "segment"])
    parser.add_argument("--only", choices=("coco2yolo", "yolo2coco"))
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"machine": {"cpus": os.cpu_count()}}
    text = []
    if args.only in (None, "coco2yolo"):
        args.coco = coco_file(args.coco)
        for task in args.tasks:
            print(f"coco2yolo {task} on {args.coco}", file=sys.stderr)
            jobs = coco2yolo_jobs(args, task, args.work)
            results = measure(jobs, args.repeat, args.work / "scratch")
            report[f"coco2yolo-{task}"] = results
            text.append(
                table(f"coco2yolo --task {task}, {args.coco}", results, "coco-convert", None)
            )
    if args.only in (None, "yolo2coco"):
        data = args.work / f"yolo{args.yolo_images}"
        if not (data / "data.yaml").exists():
            print(f"generating {data} ...", file=sys.stderr)
            subprocess.run(
                [sys.executable, str(SHARED_BENCH / "gen_yolo.py"), str(data), "--images",
                 str(args.yolo_images)], check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        results = measure(yolo2coco_jobs(args, data), args.repeat, args.work / "scratch")
        report["yolo2coco"] = results
        text.append(
            table(f"yolo2coco, {args.yolo_images:,} images ({data})", results,
                  "coco-convert (all CPUs)", args.yolo_images)
        )  # fmt: skip
    print("\n".join(text))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
