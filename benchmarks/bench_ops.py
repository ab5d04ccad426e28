#!/usr/bin/env python3
"""merge, split and stats at COCO train2017 scale: coco-convert against their floors and
against Datumaro's merge/split and kwcoco's split, on the same files, in one run.

    python benchmarks/bench_ops.py --data /tmp/data/coco_full.json --work /tmp/data/ops-bench
    python benchmarks/bench_ops.py --images 10000          # smaller (generated once)

Floors (what the job cannot cost less than, with our own load and save):
  merge  load both halves (validated) and save their concatenation
  split  load the file (validated) and save it
  stats  load the file (validated)

Every job is a fresh process (interpreter start included), timed with its peak RSS; jobs are
interleaved across ``--repeat`` runs and the best counts (peers run ``--peer-repeat`` times,
they are slow). The halves merged are a 50/50 split of the file (disjoint file names).
After each split the outputs are checked the same way for every tool: the share of images
each split got against its ratio, images in more than one split (leaked) or in none, and for
the stratified ones the categories a split lacks and the largest gap between a category's
share of a split's images and that split's ratio.

Peers (never dependencies of coco-convert), each in its own venv:
  python -m venv /work/venvs/datumaro
  /work/venvs/datumaro/bin/pip install 'datumaro[cli]==1.13.12'
  python -m venv /work/venvs/kwcoco && /work/venvs/kwcoco/bin/pip install kwcoco==0.9.1
Run under ``flock /tmp/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from shared_bench import coco_file, time_process

RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}

LOAD_BOTH_SAVE_ONE = r"""
import sys, coco_convert
a, b = coco_convert.load(sys.argv[1]), coco_convert.load(sys.argv[2])
doc = dict(a.document)
doc["images"] = a.images + b.images
doc["annotations"] = a.annotations + b.annotations
coco_convert.from_document(doc, validate=False).save(sys.argv[3])
"""
LOAD_SAVE = "import sys, coco_convert; coco_convert.load(sys.argv[1]).save(sys.argv[2])"
LOAD = "import sys, coco_convert; coco_convert.load(sys.argv[1])"
#: The stratified assignment alone (loading excluded), pinned to one core by taskset.
DECIDE = r"""
import sys, time, coco_convert
from coco_convert.ops.partition import SplitPlan
ds = coco_convert.load(sys.argv[1], validate=False)
t0 = time.perf_counter()
plan = SplitPlan(ds.images)
anns = ds.annotations
plan.add_annotations([a["image_id"] for a in anns], [a["category_id"] for a in anns])
where = plan.decide([0.8, 0.1, 0.1], seed=0, stratify=True)
print(f"{time.perf_counter() - t0:.3f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="COCO file (generated at --images if missing)")
    parser.add_argument("--images", type=int, default=118_287)
    parser.add_argument("--work", type=Path, default=Path("/tmp/data/ops-bench"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--peer-repeat", type=int, default=1)
    parser.add_argument("--datumaro", type=Path, default=Path("/work/venvs/datumaro/bin"))
    parser.add_argument("--kwcoco", type=Path, default=Path("/work/venvs/kwcoco/bin"))
    parser.add_argument("--only", help="comma-separated groups: merge,split,stats,decide")
    args = parser.parse_args()
    data = coco_file(args.data, images=args.images).resolve()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    halves = _halves(data, work)
    groups = set((args.only or "merge,split,stats,decide").split(","))
    py = sys.executable
    cli = [py, "-m", "coco_convert", "-q"]
    ours = "coco-convert"

    jobs: list[tuple[str, str, list[str], Path, bool]] = []  # group, name, command, output, peer

    def job(group: str, name: str, command: list[str], output: Path, peer: bool = False) -> None:
        if group in groups:
            jobs.append((group, name, command, output, peer))

    out = work / "out"
    a, b = halves / "a.json", halves / "b.json"
    job(
        "merge",
        "floor: load both, save one",
        [py, "-c", LOAD_BOTH_SAVE_ONE, str(a), str(b), str(out / "floor.json")],
        out / "floor.json",
    )
    job(
        "merge",
        f"{ours} merge",
        [*cli, "merge", str(a), str(b), "-o", str(out / "merged.json")],
        out / "merged.json",
    )
    datum = args.datumaro / "datum"
    if datum.exists():
        layout = _datumaro_layout(work, {"a": a, "b": b, "full": data})
        job(
            "merge",
            "datumaro merge (union)",
            [
                str(datum),
                "merge",
                "-o",
                str(out / "dm-merged"),
                "-f",
                "coco_instances",
                f"{layout['a']}:coco_instances",
                f"{layout['b']}:coco_instances",
            ],
            out / "dm-merged",
            peer=True,
        )
    ratios = ",".join(f"{k}={v}" for k, v in RATIOS.items())
    job(
        "split",
        "floor: load, save",
        [py, "-c", LOAD_SAVE, str(data), str(out / "copy.json")],
        out / "copy.json",
    )
    job(
        "split",
        f"{ours} split",
        [*cli, "split", str(data), "-o", str(out / "split"), "--ratios", ratios],
        out / "split",
    )
    job(
        "split",
        f"{ours} split --stratify",
        [*cli, "split", str(data), "-o", str(out / "strat"), "--ratios", ratios, "--stratify"],
        out / "strat",
    )
    job(
        "split",
        f"{ours} split --stratify (2-way 0.8/0.2)",
        [
            *cli,
            "split",
            str(data),
            "-o",
            str(out / "strat2"),
            "--ratios",
            "train=0.8,test=0.2",
            "--stratify",
        ],
        out / "strat2",
    )
    subsets = [x for k, v in RATIOS.items() for x in ("-s", f"{k}:{v}")]
    if datum.exists():
        job(
            "split",
            "datumaro random_split",
            [
                str(datum),
                "transform",
                "-t",
                "random_split",
                "-o",
                str(out / "dm-random"),
                f"{layout['full']}:coco_instances",
                "--",
                *subsets,
                "--seed",
                "0",
            ],
            out / "dm-random",
            peer=True,
        )
        job(
            "split",
            "datumaro split -t detection",
            [
                str(datum),
                "transform",
                "-t",
                "split",
                "-o",
                str(out / "dm-split"),
                f"{layout['full']}:coco_instances",
                "--",
                "-t",
                "detection",
                *subsets,
                "--seed",
                "0",
            ],
            out / "dm-split",
            peer=True,
        )
    kwcoco = args.kwcoco / "kwcoco"
    if kwcoco.exists():
        job(
            "split",
            "kwcoco split (2-way, factor 5)",
            [
                str(kwcoco),
                "split",
                "--src",
                str(data),
                "--dst1",
                str(out / "kw/train.json"),
                "--dst2",
                str(out / "kw/test.json"),
                "--factor",
                "5",
                "--rng",
                "0",
                "--compress",
                "False",
            ],
            out / "kw",
            peer=True,
        )
    job("stats", "floor: load", [py, "-c", LOAD, str(data)], out / "none")
    job("stats", f"{ours} stats --json", [*cli, "stats", "--json", str(data)], out / "none")

    best: dict[str, tuple[float, int, str | None]] = {}
    rounds = max(args.repeat, args.peer_repeat)
    for round_ in range(rounds):
        for group, name, command, output, peer in jobs:
            if round_ >= (args.peer_repeat if peer else args.repeat):
                continue
            _clear(output)
            output.parent.mkdir(parents=True, exist_ok=True)
            if name.startswith("kwcoco"):
                output.mkdir()  # kwcoco writes into an existing folder only
            seconds, rss, error = time_process(command, cwd=work)
            print(
                f"[{round_ + 1}/{rounds}] {group}: {name}: {seconds:.2f} s, {rss / 2**30:.2f} GB"
                + (f" FAILED: {error}" if error else ""),
                file=sys.stderr,
                flush=True,
            )
            if error or name not in best or seconds < best[name][0]:
                best[name] = (seconds, rss, error)
    # Checked after every job has run: a child's peak RSS counts the memory of the process
    # it was forked from, so this one stays small while the jobs run.
    for group, name, _, output, _ in jobs:
        if not best[name][2]:
            _quality[name] = _check(group, name, output, data, halves)
    _report(jobs, best, data)
    if "decide" in groups:
        _decide(data)


_quality: dict[str, str] = {}


def _halves(data: Path, work: Path) -> Path:
    """A 50/50 split of the file (disjoint file names), made once by coco-convert itself."""
    halves = work / f"halves-{data.stem}"
    if not (halves / "b.json").exists():
        shutil.rmtree(halves, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "coco_convert",
                "-q",
                "split",
                str(data),
                "-o",
                str(halves),
                "--ratios",
                "a=0.5,b=0.5",
            ],
            check=True,
        )
    return halves


def _datumaro_layout(work: Path, files: dict[str, Path]) -> dict[str, Path]:
    """Datumaro's COCO importer wants DIR/annotations/instances_<subset>.json and DIR/images."""
    found = {}
    for name, path in files.items():
        root = work / "datumaro-in" / name
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "images").mkdir(exist_ok=True)
        link = root / "annotations" / "instances_default.json"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path.resolve())
        found[name] = root
    return found


def _clear(output: Path) -> None:
    if output.is_dir() and not output.is_symlink():
        shutil.rmtree(output)
    elif output.exists():
        output.unlink()


def _load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _check(group: str, name: str, output: Path, data: Path, halves: Path) -> str:
    """What the job produced, checked the same way for every tool."""
    if group == "merge":
        path = output / "annotations" / "instances_default.json" if output.is_dir() else output
        merged = _load(path)
        inputs = [_load(halves / "a.json"), _load(halves / "b.json")]
        same_ids = {c["name"]: c["id"] for c in inputs[0]["categories"]} == {
            c["name"]: c["id"] for c in merged["categories"]
        }
        want = sum(len(d["images"]) for d in inputs), sum(len(d["annotations"]) for d in inputs)
        got = len(merged["images"]), len(merged["annotations"])
        return (
            f"{got[0]:,} images, {got[1]:,} annotations (inputs {want[0]:,}, {want[1]:,}); "
            f"category ids {'kept' if same_ids else 'changed'}"
        )
    if group != "split" or name.startswith("floor"):
        return ""
    if (output / "annotations").is_dir():
        parts = {
            p.stem.removeprefix("instances_"): p for p in (output / "annotations").glob("*.json")
        }
    else:
        parts = {p.stem: p for p in output.glob("*.json")}
    source = _load(data)
    total = len(source["images"])
    seen: Counter[str] = Counter()
    shares = {}
    images_of: dict[str, dict[int, set[str]]] = {}
    for part, path in sorted(parts.items()):
        doc = _load(path)
        names = {i["id"]: i["file_name"] for i in doc["images"]}
        seen.update(names.values())
        shares[part] = len(names) / total
        per: dict[int, set[str]] = {}
        for ann in doc["annotations"]:
            per.setdefault(ann["category_id"], set()).add(names.get(ann["image_id"], ""))
        images_of[part] = per
    leaked = sum(1 for n in seen.values() if n > 1)
    missing = total - len(seen)
    ratios = RATIOS if len(parts) == 3 else {"train": 0.8, "test": 0.2}
    by_name = {"train": "train", "val": "val", "test": "test"}
    wanted = {p: ratios.get(by_name.get(p, p), 0.0) for p in parts}
    share_text = ", ".join(f"{p} {shares[p]:.4f}" for p in sorted(parts))
    all_images: dict[int, set[str]] = {}
    for per in images_of.values():
        for category, names in per.items():
            all_images.setdefault(category, set()).update(names)
    lacking = sum(
        1
        for category, names in all_images.items()
        if len(names) >= len(parts)
        for p in parts
        if not images_of[p].get(category)
    )
    gap = max(
        (
            abs(len(images_of[p].get(c, ())) / len(names) - wanted[p])
            for c, names in all_images.items()
            for p in parts
            if wanted[p]
        ),
        default=0.0,
    )
    return (
        f"shares {share_text}; leaked {leaked}; in no split {missing}; categories missing from "
        f"a split {lacking}; largest category gap {gap:.4f}"
    )


def _report(
    jobs: list[tuple[str, str, list[str], Path, bool]],
    best: dict[str, tuple[float, int, str | None]],
    data: Path,
) -> None:
    print(f"\n{data} ({data.stat().st_size / 2**20:,.0f} MiB)\n")
    for group in ("merge", "split", "stats"):
        rows = [(name, best[name]) for g, name, *_ in jobs if g == group and name in best]
        if not rows:
            continue
        floor = next((t for name, t in rows if name.startswith("floor")), None)
        print(f"| {group} | seconds | x floor | peak RSS | result |")
        print("|---|---:|---:|---:|---|")
        for name, (seconds, rss, error) in rows:
            ratio = f"{seconds / floor[0]:.2f}" if floor and not error else ""
            shown = "failed: " + (error or "")[-200:] if error else _quality.get(name, "")
            print(f"| {name} | {seconds:.2f} | {ratio} | {rss / 2**30:.2f} GB | {shown} |")
        print()


def _decide(data: Path) -> None:
    command = [sys.executable, "-c", DECIDE, str(data)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    seconds = [
        float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(2)
    ]
    print(
        f"stratified assignment of {data.name} on one core (SplitPlan, load excluded): "
        f"best of 2 {min(seconds):.2f} s"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
