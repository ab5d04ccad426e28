#!/usr/bin/env python3
"""Load and save a COCO train2017-scale file: coco-convert against the raw parsers and
pycocotools, in one run.

    python benchmarks/bench_load.py                      # train2017 scale (~530 MB, generated once)
    python benchmarks/bench_load.py --data big.json      # a file of yours (generated if missing)
    python benchmarks/bench_load.py --images 10000       # smaller

Each job runs in a fresh process (so peak RSS is its own) and is repeated; the table shows the
best wall time (of the job itself, not the interpreter start) and the peak RSS of the process;
CPU s is the whole process's user + system time (interpreter start and imports included) with
its children's, and helper RSS the peak of the helper process a large file's load forks.
Jobs are interleaved across repeats, so a noisy machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from shared_bench import coco_file

# Each job prints one JSON line: {"seconds": ..., "rss": ...} (and extra timings).
JOB = r"""
import gc, json, resource, sys, time
path, job = sys.argv[1], sys.argv[2]
extra = {}
if job in ("msgspec-gc-paused", "read+msgspec-gc-paused"):
    import msgspec
    gc.disable()
    t0 = time.perf_counter()
    data = open(path, "rb").read()
    if job == "msgspec-gc-paused":
        t0 = time.perf_counter()  # (the decode alone)
    doc = msgspec.json.decode(data)
    seconds = time.perf_counter() - t0
elif job in ("orjson", "orjson-gc-paused", "orjson.dumps"):
    import orjson
    data = open(path, "rb").read()
    if job == "orjson-gc-paused":
        gc.disable()
    t0 = time.perf_counter()
    doc = orjson.loads(data)
    seconds = time.perf_counter() - t0
    if job == "orjson.dumps":
        t0 = time.perf_counter()
        out = orjson.dumps(doc)
        seconds = time.perf_counter() - t0
elif job == "json.load":
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        doc = json.load(f)
    seconds = time.perf_counter() - t0
elif job == "pycocotools":
    import contextlib, io
    from pycocotools.coco import COCO
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(path)
    seconds = time.perf_counter() - t0
elif job.startswith("coco_convert"):
    import coco_convert
    if job == "coco_convert-in-process":
        from coco_convert.schemas import decode
        decode._Outliner.MIN_BYTES = 2**62  # the outline pass in-process, as on one CPU
    t0 = time.perf_counter()
    ds = coco_convert.load(path, validate=job != "coco_convert-novalidate")
    seconds = time.perf_counter() - t0
    if job == "coco_convert+index":
        ds.index
        seconds = time.perf_counter() - t0
    if job == "coco_convert+gc":
        gc.collect()  # the collection that loading with the collector paused put off
        seconds = time.perf_counter() - t0
    if job == "coco_convert.save":
        out_path = sys.argv[3]
        t0 = time.perf_counter()
        ds.save(out_path)
        seconds = time.perf_counter() - t0
else:
    raise SystemExit(f"unknown job {job}")
self = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
extra["helper_rss"] = children.ru_maxrss * 1024  # (the load's forked helper, if it ran)
extra["cpu"] = self.ru_utime + self.ru_stime + children.ru_utime + children.ru_stime
print(json.dumps({"seconds": seconds, "rss": self.ru_maxrss * 1024, **extra}))
"""

JOBS = [
    ("orjson", "orjson.loads(bytes)"),
    ("orjson-gc-paused", "orjson.loads(bytes), GC paused"),
    ("msgspec-gc-paused", "msgspec.json.decode(bytes), GC paused"),
    ("read+msgspec-gc-paused", "read the file + msgspec.json.decode, GC paused"),
    ("json.load", "json.load"),
    ("pycocotools", "pycocotools COCO(path) (load + index)"),
    ("coco_convert-novalidate", "coco_convert.load(validate=False)"),
    ("coco_convert", "coco_convert.load (full validation)"),
    ("coco_convert-in-process", "coco_convert.load, no helper process"),
    ("coco_convert+index", "coco_convert.load + index"),
    ("coco_convert+gc", "coco_convert.load + a full gc.collect()"),
    ("orjson.dumps", "orjson.dumps(document)"),
    ("coco_convert.save", "coco_convert save (dumps + atomic write + fsync)"),
]


def run_job(path: Path, job: str, out: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", JOB, str(path), job, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an existing COCO JSON file to use")
    parser.add_argument("--images", type=int, default=118_287, help="scale when generating")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--jobs", help="only these jobs, comma-separated (names as in the table's first rows)"
    )
    args = parser.parse_args()
    jobs = [job for job in JOBS if not args.jobs or job[0] in args.jobs.split(",")]

    path = coco_file(args.data, images=args.images)
    with tempfile.TemporaryDirectory() as tmp:
        size = path.stat().st_size
        best: dict[str, dict[str, float]] = {}
        identical = True
        for round_ in range(args.repeat):
            for job, _ in jobs:
                result = run_job(path, job, Path(tmp) / "saved.json")
                if job == "coco_convert.save":
                    identical &= filecmp.cmp(path, Path(tmp) / "saved.json", shallow=False)
                print(f"  round {round_ + 1} {job}: {result['seconds']:.2f} s", file=sys.stderr)
                if job not in best or result["seconds"] < best[job]["seconds"]:
                    best[job] = result

    floor = best["orjson"]["seconds"] if "orjson" in best else float("nan")
    paused = "msgspec-gc-paused" if "msgspec-gc-paused" in best else "orjson-gc-paused"
    floor_paused = best[paused]["seconds"] if paused in best else float("nan")
    dumps = best["orjson.dumps"]["seconds"] if "orjson.dumps" in best else float("nan")
    print(
        f"\n{path.name}: {size / 1e6:,.0f} MB, best of {args.repeat},"
        f" Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'job':<50} {'seconds':>8} {'peak RSS':>9} {'x orjson':>9} {'x paused':>9}"
        f" {'CPU s':>6} {'helper RSS':>10}"
    )
    for job, label in jobs:
        seconds, rss = best[job]["seconds"], best[job]["rss"]
        ref = (
            (dumps, dumps)
            if job in ("orjson.dumps", "coco_convert.save")
            else (floor, floor_paused)
        )
        helper = best[job].get("helper_rss", 0)
        print(
            f"{label:<50} {seconds:>8.2f} {rss / 2**30:>7.2f} GB {seconds / ref[0]:>8.2f}x"
            f" {seconds / ref[1]:>8.2f}x {best[job].get('cpu', 0):>6.2f}"
            f" {f'{helper / 2**30:.2f} GB' if helper else '-':>10}"
        )
    print(f"(x paused: relative to {paused}; save rows are relative to orjson.dumps)")
    if not identical:
        print(
            "note: the saved file differs in bytes from the input (same JSON value; e.g. spacing)"
        )


if __name__ == "__main__":
    main()
