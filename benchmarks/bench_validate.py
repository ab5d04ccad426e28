#!/usr/bin/env python3
"""``coco-convert validate`` against the floor: ``orjson.loads`` of the same bytes.

Each measurement runs in a fresh interpreter (so peak memory is its own), in this order (the
order repeated ``--repeat`` times), in one run of this script:

* ``orjson``        read the file, ``orjson.loads`` (the cyclic GC as Python leaves it)
* ``orjson-nogc``   the same with the cyclic GC paused (what coco-convert does while parsing)
* ``validate``      every rule that needs no masks (schema, references, boxes, keypoints,
                    images, tool profiles): read, parse, check
* ``geometry``      only the rules that rasterise or decode masks with pycocotools/shapely
                    (G104-G107, G109): read, parse, check, the masks' tasks on every core
                    (what ``validate`` does with a large file)
* ``geometry-j1``   the same in one process (``-j 1``)

Times are wall-clock seconds of the work itself (interpreter start and imports excluded),
best of ``--repeat``, with the CPU seconds of the whole child and its worker processes (what
other jobs on a shared machine move least); peak is the child's maximum resident set size.
Ratios are against ``orjson`` of the same run.

    flock /tmp/bench.lock python benchmarks/bench_validate.py /tmp/data/coco_full.json
    flock /tmp/bench.lock python benchmarks/bench_validate.py /tmp/data/coco_full.json \
        --modes orjson,geometry,geometry-j1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from shared_bench import coco_file

#: The rules that need pycocotools (RLE, area, bbox of masks) or shapely.
MASK_RULES = frozenset({"G104", "G105", "G106", "G107", "G109"})
MODES = ("orjson", "orjson-nogc", "validate", "geometry", "geometry-j1")


def _child(mode: str, path: Path) -> dict[str, float | int]:
    if mode.startswith("orjson"):
        import gc

        import orjson

        start = time.perf_counter()
        data = path.read_bytes()
        if mode == "orjson-nogc":
            gc.disable()
        document = orjson.loads(data)
        seconds = time.perf_counter() - start
        findings = len(document)
    else:
        from coco_convert.validate import RULES, Settings, validate_path

        select = MASK_RULES if mode.startswith("geometry") else frozenset(RULES) - MASK_RULES
        jobs = 1 if mode == "geometry-j1" else None
        start = time.perf_counter()
        result = validate_path(path, Settings(select=frozenset(select), jobs=jobs))
        seconds = time.perf_counter() - start
        findings = len(result.diagnostics)
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
    peak = own.ru_maxrss / 1024  # KiB -> MiB
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak, "findings": findings}


def _run(mode: str, path: Path) -> dict[str, float | int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def _measure(modes: list[str], path: Path, repeat: int) -> dict[str, dict[str, float | int]]:
    """Each mode ``repeat`` times, the modes interleaved (a neighbour's job on a shared
    machine then weighs on all of them alike); the best run of each."""
    runs: dict[str, list[dict[str, float | int]]] = {mode: [] for mode in modes}
    for _ in range(repeat):
        for mode in modes:
            runs[mode].append(_run(mode, path))
    return {
        mode: {
            **min(found, key=lambda run: run["seconds"]),
            "peak_mib": max(run["peak_mib"] for run in found),
        }
        for mode, found in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path", type=Path, nargs="?", help="COCO file (default: gen_coco.py at train2017 scale)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode (best is kept)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated jobs to run (orjson always)"
    )
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.path)))
        return
    args.path = coco_file(args.path)
    size = args.path.stat().st_size / 2**20
    print(f"{args.path} ({size:,.0f} MiB), best of {args.repeat}")
    chosen = {"orjson", *args.modes.split(",")}
    unknown = chosen - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    results = _measure([mode for mode in MODES if mode in chosen], args.path, args.repeat)
    floor = results["orjson"]["seconds"]
    print(f"{'job':<14}{'seconds':>10}{'x orjson':>10}{'CPU s':>9}{'peak MiB':>11}{'findings':>10}")
    for mode, run in results.items():
        print(
            f"{mode:<14}{run['seconds']:>10.2f}{run['seconds'] / floor:>10.2f}{run['cpu']:>9.2f}"
            f"{run['peak_mib']:>11,.0f}{run['findings']:>10,}"
        )


if __name__ == "__main__":
    main()
