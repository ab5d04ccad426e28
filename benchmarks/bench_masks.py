#!/usr/bin/env python3
"""poly2rle and rle2poly at COCO train2017 scale, against the floor and the peer, in one run.

    python benchmarks/bench_masks.py [--data /tmp/data/coco_full.json] [--sample 50000]
                                     [--repeat 2] [--jobs poly2rle rle2poly rle2poly-full]

(full scale: ``flock /tmp/bench.lock .venv/bin/python benchmarks/bench_masks.py``; the data
comes from ``/work/shared/bench/gen_coco.py``: 118,287 images, ~853k polygons, ~7.7k crowd
RLEs; needs ``pip install -e '.[bench]'`` for psutil and the peer.)

Each job runs in its own process on the loaded file; inside it the variants run interleaved
``--repeat`` times and the best run of each counts (machines are noisy):

``poly2rle``
    ``floor``: a bare loop over the images calling pycocotools ``frPyObjects`` once per image
    on all its polygons (grouped beforehand, untimed), the least any polygon -> RLE job can
    do; ``poly2rle -j1`` / ``-j2``: :func:`coco_convert.transforms.poly2rle` end to end
    (grouping, checks, merging multi-part annotations, new annotation dicts) on one core and
    on two.
``rle2poly``
    the first ``--sample`` masks of the poly2rle output: ``peer``: supervision's
    ``mask_to_polygons`` (OpenCV ``findContours``; each mask decoded by pycocotools first, as
    supervision needs a full mask) against ``rle2poly -j1`` / ``-j2`` (tracing, cutting holes
    and the IoU check of every mask), plus the IoU each one's polygons reach.
``rle2poly-full``
    ``rle2poly -j2`` over the RLE annotations of the file as it is (in train2017, and in
    gen_coco's file, the crowd regions), once.

Wall and CPU seconds (workers included) of the job alone (the load is reported once);
``extra memory``: peak of the job's processes above what the process held before the job
(the sum of their proportional set sizes, so pages shared after the fork count once).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from shared_bench import coco_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# --- the jobs (run in a child process each) --------------------------------------------------


class PeakMemory:
    """Samples the memory of this process and its workers until stopped: the sum of their
    proportional set sizes (``/proc/PID/smaps_rollup``), so that the pages forked workers
    share with this process count once. ``peak`` in bytes."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.start = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(OSError):  # a worker that just ended
                rollup = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
                pss = next(line for line in rollup.splitlines() if line.startswith("Pss:"))
                total += int(pss.split()[1]) * 1024
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _load(path: str) -> Any:
    import coco_convert as cc

    t = time.perf_counter()
    dataset = cc.load(path, validate=False)
    return dataset, time.perf_counter() - t


def _rle_dataset(dataset: Any, sample: int | None = None) -> Any:
    """The poly2rle output (untimed), optionally cut to the images of the first masks."""
    from coco_convert import from_document
    from coco_convert.transforms import poly2rle

    if sample:
        annotations = [
            a for a in dataset.annotations[: sample * 2] if isinstance(a["segmentation"], list)
        ][:sample]
        ids = {a["image_id"] for a in annotations}
        document = {
            **dataset.document,
            "annotations": annotations,
            "images": [i for i in dataset.images if i["id"] in ids],
        }
        dataset = from_document(document, kind="instances", validate=False)
    converted, _ = poly2rle(dataset, jobs=2)
    return converted


def _timed(function: Any) -> dict[str, Any]:
    """Wall and CPU seconds (this process and its workers) and extra peak memory of a call."""
    import resource

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

    with PeakMemory() as memory:
        c, t = cpu(), time.perf_counter()
        value = function()
        wall, used = time.perf_counter() - t, cpu() - c
    del value
    return {"seconds": wall, "cpu": used, "extra_memory": memory.peak - memory.start}


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = min(runs, key=lambda r: r["seconds"])
    return {
        **best,
        "runs": [round(r["seconds"], 2) for r in runs],
        "extra_memory": max(r["extra_memory"] for r in runs),
    }


def job(name: str, data: str, sample: int, repeat: int) -> dict[str, Any]:
    """One process per job: load the data once, then run the variants interleaved
    ``repeat`` times (machines are noisy; the best run of each counts)."""
    import gc

    dataset, load_s = _load(data)
    gc.collect()
    gc.freeze()
    out: dict[str, Any] = {"load_s": load_s}
    if name == "poly2rle":
        from pycocotools import mask as coco_mask

        from coco_convert.transforms import poly2rle

        sizes = {i["id"]: (i["height"], i["width"]) for i in dataset.images}
        by_image: dict[int, list[Any]] = {}
        for ann in dataset.annotations:
            if isinstance(ann["segmentation"], list):
                by_image.setdefault(ann["image_id"], []).extend(ann["segmentation"])
        work = [(*sizes[i], polygons) for i, polygons in by_image.items()]
        out["polygons"] = sum(len(p) for *_, p in work)

        def floor() -> None:
            for h, w, polygons in work:
                coco_mask.frPyObjects(polygons, h, w)

        variants = {
            "floor": floor,
            "poly2rle -j1": lambda: poly2rle(dataset, jobs=1),
            "poly2rle -j2": lambda: poly2rle(dataset, jobs=2),
        }
    elif name == "rle2poly":
        from coco_convert.transforms import rle2poly

        rles = _rle_dataset(dataset, sample)
        out["masks"] = len(rles.annotations)
        variants = {
            "peer": lambda: _peer(rles),
            "rle2poly -j1": lambda: rle2poly(rles, jobs=1)[1],
            "rle2poly -j2": lambda: rle2poly(rles, jobs=2)[1],
        }
        out["quality"] = {
            "peer": _peer(rles, ious=True),
            "ours": {
                k: v
                for k, v in rle2poly(rles, jobs=2)[1].stats.items()
                if k.startswith(("iou", "vertices"))
            },
        }
    elif name == "rle2poly-full":
        from coco_convert.transforms import rle2poly

        out["masks"] = sum(isinstance(a["segmentation"], dict) for a in dataset.annotations)
        variants = {"rle2poly -j2": lambda: rle2poly(dataset, jobs=2)[1]}
        repeat = 1
    else:
        raise SystemExit(f"unknown job {name}")
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for _ in range(repeat):
        for variant, function in variants.items():
            runs[variant].append(_timed(function))
    out["variants"] = {variant: _best(r) for variant, r in runs.items()}
    return out


def _peer(rles: Any, *, ious: bool = False) -> Any:
    """supervision's mask -> polygons on every mask (the mask decoded by pycocotools first, as
    supervision needs a full mask); with ``ious``, the quality of its polygons instead."""
    import numpy as np
    import supervision as sv
    from pycocotools import mask as coco_mask

    polygons = []
    for ann in rles.annotations:
        rle = ann["segmentation"]
        mask = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        polygons.append(sv.mask_to_polygons(mask))
    if not ious:
        return polygons
    from coco_convert import geometry
    from coco_convert.transforms import summarize_ious

    found = []
    for ann, parts in zip(rles.annotations, polygons, strict=True):
        h, w = ann["segmentation"]["size"]
        flat = [p.astype(np.float64).ravel().tolist() for p in parts]
        found.append(geometry.iou(geometry.to_rle(flat, h, w), ann["segmentation"]))
    return {
        **summarize_ious(found),
        "vertices": sum(len(p) for parts in polygons for p in parts),
        "tool": f"supervision {sv.__version__} mask_to_polygons ({sv._cv2.BACKEND_NAME})",
    }


# --- the driver -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="COCO file (default: gen_coco.py at train2017 scale)")
    parser.add_argument(
        "--sample", type=int, default=50_000, help="masks for the rle2poly comparison"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each variant")
    parser.add_argument("--jobs", nargs="*", default=["poly2rle", "rle2poly", "rle2poly-full"])
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.job:
        args.data = str(coco_file(Path(args.data) if args.data else None))
    if args.job:
        print(json.dumps(job(args.job, args.data, args.sample, args.repeat)))
        return
    size = Path(args.data).stat().st_size / 1e6
    print(f"data: {args.data} ({size:,.0f} MB), cores: {os.cpu_count()}, repeat {args.repeat}")
    results = {}
    for name in args.jobs:
        command = [sys.executable, __file__, "--data", args.data, "--job", name]
        command += ["--sample", str(args.sample), "--repeat", str(args.repeat)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode:
            print(f"{name}: failed\n{proc.stderr[-3000:]}")
            continue
        results[name] = result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(_render(name, result), flush=True)
    print("\n" + json.dumps(results, indent=1))


def _render(name: str, result: dict[str, Any]) -> str:
    lines = [f"{name} (load {result['load_s']:.1f} s):"]
    variants = result["variants"]
    base = variants.get("floor") or variants.get("peer")
    for variant, r in variants.items():
        line = (
            f"  {variant:<14} {r['seconds']:8.2f} s wall {r['cpu']:8.2f} s cpu"
            f"   extra memory {r['extra_memory'] / 2**20:7.0f} MiB   runs {r['runs']}"
        )
        if "polygons" in result:
            line += f"   {r['seconds'] / result['polygons'] * 1e6:6.2f} us/polygon"
        if "masks" in result:
            line += f"   {result['masks'] / r['seconds']:7,.0f} masks/s"
        if base is not None and r is not base:
            line += f"   {r['seconds'] / base['seconds']:.2f}x the {next(iter(variants))} (wall)"
            line += f", {r['cpu'] / base['cpu']:.2f}x (cpu)"
        lines.append(line)
    for who, q in result.get("quality", {}).items():
        lines.append(
            f"  quality {who:<5} IoU min {q['iou_min']:.4f} p1 {q['iou_p1']:.4f} "
            f"median {q['iou_median']:.4f} mean {q['iou_mean']:.4f}   vertices {q['vertices']:,}"
            + (f"   ({q['tool']})" if "tool" in q else "")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
