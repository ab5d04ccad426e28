"""labelstudio2coco against the parse floor and label-studio-sdk, on a generated 10,000-task export.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_labelstudio.py [--tasks 10000]
        [--runs 3] [--peer-python /work/venvs/label-studio/bin/python]

Jobs, each a fresh process, best of ``--runs`` (wall seconds, peak RSS of the process):

* floor: ``orjson.loads`` of the export (garbage collector paused) touching what a conversion
  needs: every region's label, its coordinates scaled from percent to pixels, and the length
  of every brush stream; nothing built or written: the least any converter can cost;
* ours, read: ``read_labelstudio`` (COCO datasets in memory: boxes, rotated boxes as exact
  polygons, polygons, brushes decoded to exact COCO RLE, choices as image attributes);
* ours, labelstudio2coco: the command, read and COCO JSON written;
* label-studio-sdk: ``Converter(config, None, download_resources=False).convert_to_coco(...)``
  (the export's own converter, label-studio-sdk 2.1.2 in ``--peer-python``'s venv:
  ``python -m venv /work/venvs/label-studio && /work/venvs/label-studio/bin/pip install
  label-studio``; never a dependency of coco-convert). It does less: it skips brush regions
  (about one in ten) and writes no rotation, so its time is a lower bound of the same work.

The data is generated once under ``--work`` (default /tmp/data/ls-bench) by gen_labelstudio.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from shared_bench import best_of, print_table

HERE = Path(__file__).resolve().parent

FLOOR = r"""
import gc, sys, orjson
gc.disable()
with open(sys.argv[1], "rb") as handle:
    tasks = orjson.loads(handle.read())
n = 0
for task in tasks:
    task["data"]["image"]
    for annotation in task["annotations"]:
        for region in annotation["result"]:
            value = region["value"]
            if "original_width" not in region:
                continue
            w, h = region["original_width"] / 100, region["original_height"] / 100
            kind = region["type"]
            value[kind][0]
            if kind == "rectanglelabels":
                value["x"] * w; value["y"] * h; value["width"] * w; value["height"] * h
            elif kind == "polygonlabels":
                [(x * w, y * h) for x, y in value["points"]]
            else:
                len(value["rle"])
            n += 1
print(n)
"""

OURS = r"""
import sys
from coco_convert.converters.labelstudio import read_labelstudio
datasets, report = read_labelstudio(sys.argv[1])
print(sum(len(d.annotations) for d in datasets.values()))
"""

PEER = r"""
import sys
from label_studio_sdk.converter import Converter
converter = Converter(config=sys.argv[2], project_dir=None, download_resources=False)
converter.convert_to_coco(input_data=sys.argv[1], output_dir=sys.argv[3], is_dir=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/data/ls-bench"))
    parser.add_argument(
        "--peer-python", type=Path, default=Path("/work/venvs/label-studio/bin/python")
    )
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("coco-convert"))
    export = args.work / f"ls-{args.tasks}.json"
    config = export.with_name(export.stem + ".label_config.xml")
    if not export.is_file():
        subprocess.run(
            [python, str(HERE / "gen_labelstudio.py"), str(export), "--tasks", str(args.tasks)],
            check=True,
        )
    out = args.work / "out"
    target = str(out / "ours.json")
    jobs = {
        "floor (orjson)": [python, "-c", FLOOR, str(export)],
        "ours, read": [python, "-c", OURS, str(export)],
        "ours, labelstudio2coco": [cli, "--quiet", "labelstudio2coco", str(export), "-o", target],
    }
    if args.peer_python.is_file():
        peer = [str(args.peer_python), "-c", PEER]
        jobs["label-studio-sdk"] = [*peer, str(export), str(config), str(out / "sdk")]
    else:
        print(f"{args.peer_python} not found: label-studio-sdk left out", file=sys.stderr)
    print(f"{export}: {export.stat().st_size / 2**20:.0f} MiB, {args.tasks:,} tasks")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    best = best_of(jobs, args.runs, out)
    print_table(best, "floor (orjson)")
    if "label-studio-sdk" in best:
        ours = best["ours, labelstudio2coco"][0]
        print(f"\n  label-studio-sdk / labelstudio2coco: {best['label-studio-sdk'][0] / ours:.2f}x")


if __name__ == "__main__":
    main()
