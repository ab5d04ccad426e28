#!/usr/bin/env python3
"""Streaming (``--stream``): the parser chosen for it, and the verbs in bounded memory against
the in-memory path, in one run.

    python benchmarks/bench_stream.py --data /tmp/data/coco_30k.json --jobs parse,coco2yolo,validate
    python benchmarks/bench_stream.py --data /tmp/data/coco_full.json --jobs coco2voc,poly2rle
    python benchmarks/bench_stream.py --data /tmp/data/coco_10k_rle.json --jobs rle2poly
    python benchmarks/bench_stream.py --data /tmp/data/coco_30k.json \
        --jobs sample,coco2cvat,coco2labelstudio,coco2labelme
    python benchmarks/bench_stream.py --data big.json --jobs coco2yolo-stream --repeat 1 \
        --baseline /tmp/data/coco_full.json

Parsers (every image and annotation record as Python objects, one chunk at a time where the
parser allows; GC paused for all): msgspec on the whole file (the floor, holding it all),
ijson's C backend (yajl2_c) over the file, and coco_convert.streaming (msgspec on chunks cut
at record boundaries, after a mapping pass). Verbs (coco2yolo, coco2voc, poly2rle, rle2poly,
validate, sample, coco2cvat, ...: ``VERBS``): ``coco-convert VERB`` with and without
``--stream``, outputs compared byte for byte. ``--baseline FILE`` adds each verb's in-memory
run on FILE to the same rounds (a file small enough to load), and the table gives every
verb's time per annotation (a file too large to load, streamed, against the in-memory path on
the baseline). Each job is a fresh process;
wall time includes the interpreter's start, peak RSS is the process's (wait4). Needs ijson
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
#: The verbs timed with and without --stream: what each writes (a folder, a file with this
#: suffix, or findings) and the arguments it needs besides the input and the output.
VERBS: dict[str, tuple[str, tuple[str, ...]]] = {
    "coco2yolo": ("folder", ()),
    "coco2voc": ("folder", ()),
    "poly2rle": (".json", ()),
    "rle2poly": (".json", ()),
    "validate": ("findings", ()),
    "sample": (".json", ("--fraction", "0.5", "--seed", "1")),
    "coco2cvat": (".xml", ()),
    "coco2labelstudio": (".json", ()),
    "coco2labelme": ("folder", ()),
}
BASELINE = "@baseline"


def label(job: str) -> str:
    if job in PARSERS:
        return PARSERS[job]
    verb = job.split("-")[0].removesuffix(BASELINE)
    where = " (baseline file)" if job.endswith(BASELINE) else ""
    how = " --stream" if job.endswith("-stream") else f" (in memory){where}"
    return f"{verb}{' --output-format json' if verb == 'validate' else ''}{how}"


def run(job: str, path: Path, work: Path) -> tuple[float, int]:
    if job.startswith("parse-"):
        command = [sys.executable, "-c", PARSE, str(path), job.removeprefix("parse-")]
    else:
        verb = job.split("-")[0].removesuffix(BASELINE)
        cli = str(Path(sys.executable).with_name("coco-convert"))
        stream = ["--stream"] if job.endswith("-stream") else []
        what, extra = VERBS[verb]
        out = work / (job if what in ("folder", "findings") else job + what)
        if what == "findings":
            command = [
                "sh",
                "-c",
                f"'{cli}' validate --output-format json --exit-zero {' '.join(stream)} "
                f"'{path}' > '{out}'",
            ]
        else:
            if what == "folder":
                shutil.rmtree(out, ignore_errors=True)
            command = [cli, "--quiet", verb, str(path), "-o", str(out), *extra, *stream]
    seconds, rss, error = time_process(command)
    if error:
        raise SystemExit(f"{job} failed: {error}")
    return seconds, rss


def same_output(a: Path, b: Path) -> bool:
    if a.is_dir():
        return _same_tree(filecmp.dircmp(a, b))
    return filecmp.cmp(a, b, shallow=False)


def annotations_in(path: Path) -> int:
    from coco_convert.streaming import CocoStream

    stream = CocoStream(path)
    return stream.count("" if stream.results else "annotations")


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
    parser.add_argument("--work", type=Path, help="where the verbs write (default: a temp dir)")
    parser.add_argument(
        "--baseline", type=Path, help="also run each verb in memory on this (smaller) file"
    )
    args = parser.parse_args()
    path = coco_file(args.data, images=args.images)
    jobs: list[str] = []
    for name in args.jobs.split(","):
        if name == "parse":
            jobs += list(PARSERS)
        elif name in VERBS:
            jobs += [name, f"{name}-stream"]
        else:
            jobs.append(name)
    if args.baseline:
        verbs = dict.fromkeys(job.split("-")[0] for job in jobs if not job.startswith("parse-"))
        jobs += [verb + BASELINE for verb in verbs]
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-stream."))
    work.mkdir(parents=True, exist_ok=True)
    best: dict[str, tuple[float, int]] = {}
    identical: dict[str, bool] = {}
    try:
        for round_ in range(args.repeat):
            for job in jobs:
                source = args.baseline if job.endswith(BASELINE) else path
                seconds, rss = run(job, source, work)
                print(
                    f"  round {round_ + 1} {job}: {seconds:.2f} s, {rss / 2**20:,.0f} MB",
                    file=sys.stderr,
                )
                if job not in best or seconds < best[job][0]:
                    best[job] = (seconds, rss)
        for verb, (what, _) in VERBS.items():
            if {verb, f"{verb}-stream"} <= set(jobs):
                suffix = "" if what in ("folder", "findings") else what
                identical[verb] = same_output(
                    work / (verb + suffix), work / f"{verb}-stream{suffix}"
                )
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    counts = {path: annotations_in(path)}
    if args.baseline:
        counts[args.baseline] = annotations_in(args.baseline)
    for counted, n in counts.items():
        size = counted.stat().st_size
        print(f"\n{counted.name}: {size / 1e6:,.0f} MB, {n:,} annotations", end="")
    print(f"\nbest of {args.repeat}, {os.cpu_count()} CPUs")
    print(f"{'job':<52} {'seconds':>8} {'peak RSS':>10} {'ratio':>7} {'us/ann':>7} {'ratio':>7}")
    for job in jobs:
        seconds, rss = best[job]
        floor = job.split("-")[0] if not job.startswith("parse-") else "parse-msgspec"
        ratio = f"{seconds / best[floor][0]:.2f}x" if floor in best and floor != job else ""
        per, per_ratio = "", ""
        if not job.startswith("parse-"):
            source = args.baseline if job.endswith(BASELINE) else path
            per_annotation = seconds / max(counts[source], 1)
            per = f"{per_annotation * 1e6:.1f}"
            baseline = job.split("-")[0].removesuffix(BASELINE) + BASELINE
            if baseline in best and baseline != job:
                reference = best[baseline][0] / max(counts[args.baseline], 1)
                per_ratio = f"{per_annotation / reference:.2f}x"
        print(
            f"{label(job):<52} {seconds:>8.2f} {rss / 2**20:>7,.0f} MB {ratio:>7} {per:>7}"
            f" {per_ratio:>7}"
        )
    print("(ratio: against the in-memory run on the same file; us/ann ratio: against the")
    print(" in-memory run on the baseline file, per annotation)")
    for verb, same in identical.items():
        print(f"{verb} --stream output identical to the in-memory one: {same}")


if __name__ == "__main__":
    main()
