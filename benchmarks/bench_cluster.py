#!/usr/bin/env python3
"""The per-image work on a Dask cluster against one machine, in one run: poly2rle, rle2poly
and sa1b2coco, 1 and 2 workers.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_cluster.py \\
        [--coco /tmp/data/coco_full.json] [--masks /tmp/data/coco_10k_rle.json] \\
        [--sa1b /tmp/data/sa1b-400] [--repeat 2] [--jobs sa1b2coco rle2poly poly2rle]

Inputs: ``--coco`` a gen_coco.py file (train2017 scale: 853k polygons), ``--masks`` a COCO
file whose segmentations are RLE (``coco-convert poly2rle /tmp/data/coco_10k.json -o ...``:
gen_coco's 10k images, 72k masks), ``--sa1b`` SA-1B shards from ``benchmarks/gen_sa1b.py``
(``--images 400 --masks 100 --shards 4``: 40,000 masks on 1500 x 2250 images).

Every variant is the whole command in a fresh process (interpreter start, load and save
included), best of ``--repeat``:

* ``-j 1``: one process (today's single-machine path, the reference output);
* ``-j 2``: this machine's two worker processes (``parallel.map_tasks``);
* ``--workers N``: a local Dask cluster of N worker processes, started by the command;
* ``--scheduler`` (N workers): a Dask cluster of N worker processes already running
  (started by this script, warmed by one run), which is how a real cluster is used: the
  scaling from 1 to 2 workers is read here.

Every output is compared with the ``-j 1`` output byte for byte. Peak RSS is the command's
own (the workers of a running cluster are other processes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared_bench import time_process

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("coco-convert"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _command(job: str, source: Path, out: Path, extra: list[str]) -> list[str]:
    return [CLI, "--quiet", job, str(source), "-o", str(out), *extra]


def run_job(
    job: str, source: Path, work: Path, repeat: int, clusters: dict[int, Any]
) -> list[dict[str, Any]]:
    report = work / f"{job}.report.json"
    reference = work / f"{job}-reference.json"
    variants: list[tuple[str, list[str]]] = [
        ("-j 1 (one process)", ["-j", "1"]),
        ("-j 2 (this machine's pool)", ["-j", "2"]),
        ("--workers 1 (cluster started by the command)", ["--workers", "1"]),
        ("--workers 2 (cluster started by the command)", ["--workers", "2"]),
        *[
            (f"--scheduler, {n} worker{'s' if n > 1 else ''} (running cluster)", ["--scheduler"])
            for n in sorted(clusters)
        ],
    ]
    # the reference output and the report (what was converted)
    seconds, _, error = time_process(
        _command(job, source, reference, ["-j", "1", "--report", str(report)])
    )
    if error:
        raise SystemExit(f"{job}: {error}")
    counts = json.loads(report.read_text())["counts"]
    expected = _digest(reference)
    rows = []
    for label, extra in variants:
        if extra == ["--scheduler"]:
            workers = int(label.split(", ")[1].split()[0])
            extra = ["--scheduler", clusters[workers].scheduler_address]
            # warm the workers (imports) once, untimed
            time_process(_command(job, source, work / "warm.json", extra))
        best: tuple[float, int] | None = None
        for _ in range(repeat):
            out = work / f"{job}-out.json"
            seconds, rss, error = time_process(_command(job, source, out, extra))
            if error:
                raise SystemExit(f"{job} {label}: {error}")
            same = _digest(out) == expected
            if not same:
                raise SystemExit(f"{job} {label}: output differs from -j 1")
            if best is None or seconds < best[0]:
                best = (seconds, rss)
        assert best is not None
        rows.append({"job": job, "variant": label, "seconds": best[0], "rss": best[1]})
        print(f"  {job:10} {label:50} {best[0]:8.2f} s  {best[1] / 2**30:5.2f} GB", flush=True)
    unit = "polygons" if job == "poly2rle" else "masks" if job == "rle2poly" else "annotations"
    for row in rows:
        row["items"] = counts.get(unit, 0)
        row["unit"] = unit
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coco", type=Path, default=Path("/tmp/data/coco_full.json"))
    parser.add_argument("--masks", type=Path, default=Path("/tmp/data/coco_10k_rle.json"))
    parser.add_argument("--sa1b", type=Path, default=Path("/tmp/data/sa1b-400"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--jobs", nargs="+", default=["sa1b2coco", "rle2poly", "poly2rle"], metavar="JOB"
    )
    args = parser.parse_args()
    sources = {"poly2rle": args.coco, "rle2poly": args.masks, "sa1b2coco": args.sa1b}

    from distributed import Client

    sys.path.insert(0, str(ROOT))
    from coco_convert.cluster import local_cluster

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as folder:
        work = Path(folder)
        for job in args.jobs:
            clusters: dict[int, Any] = {}
            try:
                for n in (1, 2):
                    clusters[n] = local_cluster(n)
                    with Client(clusters[n]) as client:
                        client.wait_for_workers(n)
                print(f"{job}: {sources[job]}", flush=True)
                rows += run_job(job, sources[job], work, args.repeat, clusters)
            finally:
                for cluster in clusters.values():
                    cluster.close()
    print()
    print("| job | variant | seconds | x -j 1 | items/s | peak RSS |")
    print("|---|---|---:|---:|---:|---:|")
    for row in rows:
        base = next(r for r in rows if r["job"] == row["job"])["seconds"]
        rate = row["items"] / row["seconds"] if row["items"] else 0
        print(
            f"| {row['job']} | {row['variant']} | {row['seconds']:.2f} | "
            f"{row['seconds'] / base:.2f} | {rate:,.0f} {row['unit']}/s | "
            f"{row['rss'] / 2**30:.2f} GB |"
        )


if __name__ == "__main__":
    main()
