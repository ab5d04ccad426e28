#!/usr/bin/env python3
"""Streaming (``--stream``): the parser chosen for it, and coco2yolo in bounded memory against
the in-memory path, in one run.

    python benchmarks/bench_stream.py --data /tmp/data/coco_30k.json --jobs parse,coco2yolo,validate
    python benchmarks/bench_stream.py --data /tmp/data/coco_full.json --jobs coco2yolo
    python benchmarks/bench_stream.py --data big.json --jobs coco2yolo-stream --repeat 1

Parsers (every image and annotation record as Python objects, one chunk at a time where the
parser allows; GC paused for all): msgspec on the whole file (the floor, holding it all),
ijson's C backend (yajl2_c) over the file, and coco_convert.streaming (msgspec on chunks cut
at record boundaries, after a mapping pass). coco2yolo: ``coco-convert coco2yolo`` with and
without ``--stream``, outputs compared file by file. Each job is a fresh process; wall time
includes the interpreter's start, peak RSS is the process's (wait4). Needs ijson
(``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

from shared_bench import coco_file, time_process

PARSE = r"""
import gc, sys
path, parser = sys.argv[1], sys.argv[2]
gc.disable()
n = 0
if parser == "msgspec":
    import msgspec
    with open(path, "rb") as f:
        document = msgspec.json.decode(f.read())
    n = len(document["images"]) + len(document["annotations"])
elif parser == "ijson":
    import ijson
    assert ijson.backend == "yajl2_c", ijson.backend
    for key in ("images", "annotations"):
        with open(path, "rb") as f:
            for record in ijson.items(f, key + ".item", use_float=True):
                n += 1
else:
    from coco_convert.streaming import CocoStream
    stream = CocoStream(path)
    for key in ("images", "annotations"):
        for _, records in stream.records(key):
            n += len(records)
print(n)
"""

PARSERS = {
    "parse-msgspec": "msgspec.json.decode, whole file",
    "parse-ijson": "ijson yajl2_c items, streamed",
    "parse-stream": "coco_convert.streaming (map + chunks)",
}
CONVERT = {
    "coco2yolo": "coco2yolo (in memory)",
    "coco2yolo-stream": "coco2yolo --stream",
}
VALIDATE = {
    "validate": "validate --output-format json (in memory)",
    "validate-stream": "validate --output-format json --stream",
}


def run(job: str, path: Path, work: Path) -> tuple[float, int]:
    if job.startswith("parse-"):
        command = [sys.executable, "-c", PARSE, str(path), job.removeprefix("parse-")]
    elif job.startswith("validate"):
        cli = str(Path(sys.executable).with_name("coco-convert"))
        findings = work / f"{job}.json"
        stream = " --stream" if job.endswith("-stream") else ""
        command = [
            "sh",
            "-c",
            f"'{cli}' validate --output-format json --exit-zero{stream} '{path}' > '{findings}'",
        ]
    else:
        out = work / job
        shutil.rmtree(out, ignore_errors=True)
        cli = str(Path(sys.executable).with_name("coco-convert"))
        command = [cli, "--quiet", "coco2yolo", str(path), "-o", str(out)]
        if job.endswith("-stream"):
            command.append("--stream")
    seconds, rss, error = time_process(command)
    if error:
        raise SystemExit(f"{job} failed: {error}")
    return seconds, rss


def _same_tree(compare: filecmp.dircmp[str]) -> bool:
    _, mismatch, errors = filecmp.cmpfiles(
        compare.left, compare.right, compare.common_files, shallow=False
    )
    if compare.left_only or compare.right_only or mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in compare.subdirs.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a COCO instances file (generated if missing)")
    parser.add_argument("--images", type=int, default=30_000, help="scale when generating")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--jobs",
        default="parse,coco2yolo",
        help="parse, coco2yolo, or single jobs (parse-ijson, coco2yolo-stream, ...)",
    )
    parser.add_argument("--work", type=Path, help="where coco2yolo writes (default: a temp dir)")
    args = parser.parse_args()
    path = coco_file(args.data, images=args.images)
    jobs: list[str] = []
    for name in args.jobs.split(","):
        groups = {"parse": list(PARSERS), "coco2yolo": list(CONVERT), "validate": list(VALIDATE)}
        jobs += groups.get(name, [name])
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-stream."))
    work.mkdir(parents=True, exist_ok=True)
    best: dict[str, tuple[float, int]] = {}
    try:
        for round_ in range(args.repeat):
            for job in jobs:
                seconds, rss = run(job, path, work)
                print(
                    f"  round {round_ + 1} {job}: {seconds:.2f} s, {rss / 2**20:,.0f} MB",
                    file=sys.stderr,
                )
                if job not in best or seconds < best[job][0]:
                    best[job] = (seconds, rss)
        identical = None
        if {"coco2yolo", "coco2yolo-stream"} <= set(jobs):
            identical = _same_tree(filecmp.dircmp(work / "coco2yolo", work / "coco2yolo-stream"))
        same_findings = None
        if {"validate", "validate-stream"} <= set(jobs):
            same_findings = filecmp.cmp(
                work / "validate.json", work / "validate-stream.json", shallow=False
            )
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    size = path.stat().st_size
    print(f"\n{path.name}: {size / 1e6:,.0f} MB, best of {args.repeat}, {os.cpu_count()} CPUs")
    print(f"{'job':<42} {'seconds':>8} {'peak RSS':>10} {'ratio':>7}")
    labels = {**PARSERS, **CONVERT, **VALIDATE}
    for job in jobs:
        seconds, rss = best[job]
        floor = job.split("-")[0] if not job.startswith("parse-") else "parse-msgspec"
        ratio = f"{seconds / best[floor][0]:.2f}x" if floor in best else ""
        print(f"{labels.get(job, job):<42} {seconds:>8.2f} {rss / 2**20:>7,.0f} MB {ratio:>7}")
    if identical is not None:
        print(f"coco2yolo --stream output identical to the in-memory one: {identical}")
    if same_findings is not None:
        print(f"validate --stream findings identical to the in-memory ones: {same_findings}")


if __name__ == "__main__":
    main()
