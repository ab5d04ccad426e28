#!/usr/bin/env python3
"""voc2coco and coco2voc: coco-convert against the floor and a peer, in one run.

    python benchmarks/bench_voc.py [--scales 1,10] [--runs 3] [--coco /tmp/data/coco_full.json]
        [--peer-python /tmp/peers-voc/bin/python] [--work /tmp/bench-voc]
        [--baseline CHECKOUT] [--skip-coco2voc]

``--scales ''`` leaves voc2coco out; ``--baseline`` also times another checkout of coco-convert
(``git worktree add /tmp/base main``) in the same run, as ``baseline``, for before/after.

voc2coco, at VOC2012 scale (17,125 files from ../shared/bench/gen_voc.py) and 10x:
  floor    lxml parse of the same files, reading just the fields a converter needs
           (filename, size, and per object name and box), one process, nothing written
  ours     `coco-convert voc2coco DIR -o OUT.json` (a worker per core for large inputs)
  ours -j1 the same on one core
  peer     globox: AnnotationSet.from_pascal_voc(DIR).save_coco(OUT) (pip install globox into
           --peer-python's venv; never a dependency of coco-convert)
coco2voc, at COCO train2017 scale (../shared/bench/gen_coco.py, default /tmp/data/coco_full.json):
  floor    orjson load + writing one file of the same size per image (no XML built)
  ours     `coco-convert coco2voc IN.json -o DIR`
  peer     globox: AnnotationSet.from_coco(IN).save_xml(DIR)

Every figure is a whole process (interpreter start included): the minimum wall time of
--runs runs, with the largest resident set of that run, tools interleaved within each round so
that a noisy machine hurts them alike. Prints a table and the ratios. Run full scale under
`flock /tmp/bench.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared_bench import SHARED_BENCH, coco_file, time_process

ROOT = Path(__file__).resolve().parents[1]
GEN_VOC = SHARED_BENCH / "gen_voc.py"

FLOOR_VOC = r"""
import os, sys
from lxml import etree
root = os.path.join(sys.argv[1], "Annotations")
n = 0
for name in sorted(os.listdir(root)):
    r = etree.parse(os.path.join(root, name)).getroot()
    r.findtext("filename"); int(r.findtext("size/width")); int(r.findtext("size/height"))
    for o in r.iter("object"):
        b = o.find("bndbox"); o.findtext("name"); n += 1
        [float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
print(n)
"""

PEER_VOC = r"""
import sys
from globox import AnnotationSet
AnnotationSet.from_pascal_voc(sys.argv[1] + "/Annotations").save_coco(sys.argv[2], auto_ids=True)
"""

FLOOR_COCO = r"""
import gc, os, sys, orjson
gc.disable()
doc = orjson.loads(open(sys.argv[1], "rb").read())
out = sys.argv[2]; os.makedirs(out)
data = b"x" * 900  # about the size of one VOC XML with a few objects
for img in doc["images"]:
    fd = os.open(os.path.join(out, os.path.splitext(img["file_name"])[0] + ".xml"),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.write(fd, data); os.close(fd)
"""

PEER_COCO = r"""
import sys
from globox import AnnotationSet
AnnotationSet.from_coco(sys.argv[1]).save_xml(sys.argv[2])
"""


def timed(cmd: list[str], cleanup: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, largest process) of one run."""
    if cleanup is not None:
        shutil.rmtree(cleanup, ignore_errors=True)
        if cleanup.suffix == ".json":
            cleanup.unlink(missing_ok=True)
    seconds, rss, error = time_process(cmd)
    if error is not None:
        sys.exit(f"failed: {' '.join(cmd)}\n{error}")
    return seconds, rss / 2**20


def baseline(checkout: Path, cli: str, *args: str) -> list[str]:
    """The command ``cli -q ARGS`` running the coco-convert of another ``checkout``."""
    return ["env", f"PYTHONPATH={checkout.resolve()}", cli, "-q", *args]


def run_all(
    jobs: dict[str, tuple[list[str], Path | None]], runs: int
) -> dict[str, tuple[float, float]]:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(runs):
        for name, (cmd, cleanup) in jobs.items():
            result = timed(cmd, cleanup)
            if name not in best or result[0] < best[name][0]:
                best[name] = result
    return best


def report(
    title: str, best: dict[str, tuple[float, float]], base: str, files: int | None = None
) -> None:
    print(f"\n{title}")
    header = f"  {'tool':<18}{'seconds':>9}{'peak MB':>9}{'x ' + base:>16}"
    print(header + (f"{'files/s':>10}" if files else ""))
    for name, (seconds, rss) in best.items():
        line = f"  {name:<18}{seconds:9.2f}{rss:9.0f}{seconds / best[base][0]:16.2f}"
        print(line + (f"{files / seconds:10,.0f}" if files else ""))
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,10", help="multiples of VOC2012's 17,125 files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--coco", type=Path, help="default: gen_coco.py at train2017 scale")
    parser.add_argument("--coco-runs", type=int, default=1)
    parser.add_argument("--peer-python", default="/tmp/peers-voc/bin/python")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-voc"))
    parser.add_argument("--skip-coco2voc", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout, timed as 'baseline'")
    args = parser.parse_args()
    args.coco = coco_file(args.coco)
    python = sys.executable
    cli = str(Path(python).with_name("coco-convert"))
    args.work.mkdir(parents=True, exist_ok=True)
    peer = Path(args.peer_python).exists()
    if not peer:
        print(f"{args.peer_python} not found: globox is left out", file=sys.stderr)
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")

    for scale in (int(s) for s in args.scales.split(",") if s):
        files = 17125 * scale
        data = args.work / f"voc-{files}"
        if not (data / "Annotations").is_dir():
            subprocess.run([python, str(GEN_VOC), str(data), "--images", str(files)], check=True)
        out = args.work / "out.json"
        jobs = {
            "floor (lxml)": ([python, "-c", FLOOR_VOC, str(data)], None),
            "coco-convert": ([cli, "-q", "voc2coco", str(data), "-o", str(out)], out),
            "coco-convert -j1": (
                [cli, "-q", "voc2coco", str(data), "-o", str(out), "-j", "1"],
                out,
            ),
        }
        if args.baseline:
            jobs["baseline"] = (
                baseline(args.baseline, cli, "voc2coco", str(data), "-o", str(out)),
                out,
            )
        if peer:
            jobs["globox"] = ([args.peer_python, "-c", PEER_VOC, str(data), str(out)], out)
        best = run_all(jobs, args.runs)
        report(f"voc2coco, {files:,} XML files (min of {args.runs})", best, "floor (lxml)")
        ours, floor = best["coco-convert"][0], best["floor (lxml)"][0]
        against = f", {best['globox'][0] / ours:.2f}x faster than globox" if peer else ""
        print(f"  => coco-convert: {ours / floor:.2f}x the floor{against}")

    if args.skip_coco2voc:
        return
    out_dir = args.work / "voc-out"
    # (counted in a child: a child forked from a parent that held the parsed file would
    # report the parent's peak as its own)
    count = "import orjson, sys; print(len(orjson.loads(open(sys.argv[1], 'rb').read())['images']))"
    images = int(
        subprocess.run(
            [python, "-c", count, str(args.coco)], check=True, capture_output=True, text=True
        ).stdout
    )
    jobs = {
        "floor (write)": ([python, "-c", FLOOR_COCO, str(args.coco), str(out_dir)], out_dir),
        "coco-convert": ([cli, "-q", "coco2voc", str(args.coco), "-o", str(out_dir)], out_dir),
        "coco-convert -j1": (
            [cli, "-q", "coco2voc", str(args.coco), "-o", str(out_dir), "-j", "1"],
            out_dir,
        ),
    }
    if args.baseline:
        jobs["baseline"] = (
            baseline(args.baseline, cli, "coco2voc", str(args.coco), "-o", str(out_dir)),
            out_dir,
        )
    if peer:
        jobs["globox"] = (
            [args.peer_python, "-c", PEER_COCO, str(args.coco), str(out_dir)],
            out_dir,
        )
    best = run_all(jobs, args.coco_runs)
    title = f"coco2voc, {args.coco.name}: {images:,} images (min of {args.coco_runs})"
    report(title, best, "floor (write)", files=images)
    ours = best["coco-convert"][0]
    against = f", {best['globox'][0] / ours:.2f}x faster than globox" if peer else ""
    print(f"  => coco-convert: {images / ours:,.0f} files/s{against}")
    shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
