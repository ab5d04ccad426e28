"""The same jobs timed with two checkouts of coco-convert in one run: did a change make
anything slower, and did it change any output?

Each checkout is given as the Python of an environment it is installed in (``--before`` and
``--after``: e.g. a ``git worktree`` of the older commit with ``python -m venv .venv &&
.venv/bin/pip install -e .``). Every job runs as a fresh process (``python -m coco_convert``),
the two checkouts' runs interleaved and repeated, the best run of each kept; the outputs of the
two are compared byte for byte (a file's bytes; a folder's file names and bytes). Wall seconds,
user and system CPU seconds (the job's and its children's; user time is what another job on a
shared machine moves least) and peak RSS are each the best of the runs. The outputs go to the
RAM disk /dev/shm when there is one.

    python benchmarks/bench_checkouts.py --before ../before/.venv/bin/python \\
        --after .venv/bin/python --repeat 2

The data (generated once under /tmp/coco-convert-bench when not given): ``gen_coco.py`` at
train2017 scale (118,287 images, 860,745 annotations), the same at 10,000 images made RLE for
``rle2poly``, ``gen_voc.py`` (VOC2012's 17,125 files) and ``gen_yolo.py`` (20,000 images).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from shared_bench import SHARED_BENCH, Run, coco_file, run_process

CACHE = Path(tempfile.gettempdir()) / "coco-convert-bench"
#: A RAM disk: the outputs written there cost what the code does, not what the disk is still
#: flushing or what ext4's inode allocator scans after the previous job's files were deleted.
SHM = Path("/dev/shm")


def _generated(name: str, command: Callable[[Path], list[str]]) -> Path:
    """``CACHE/name``, made by ``command(partial)`` the first time."""
    path = CACHE / name
    if not path.exists():
        partial = CACHE / f"{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", file=sys.stderr)
        subprocess.run(command(partial), check=True, stdout=subprocess.DEVNULL)
        partial.replace(path)
    return path


def jobs(coco: Path, rle: Path, voc: Path, yolo: Path) -> dict[str, list[str]]:
    """Each job's command after ``python``; ``{out}`` is where it writes."""
    load = "import sys, coco_convert as cc; cc.load(sys.argv[1])"
    save = "import sys, coco_convert as cc; cc.load(sys.argv[1]).save(sys.argv[2])"
    cli = ["-m", "coco_convert", "--quiet"]
    return {
        "load": ["-c", load, str(coco)],
        "load + save": ["-c", save, str(coco), "{out}"],
        "validate": [*cli, "validate", "--exit-zero", str(coco)],
        "coco2yolo detect": [*cli, "coco2yolo", str(coco), "-o", "{out}"],
        "coco2yolo segment": [*cli, "coco2yolo", str(coco), "-o", "{out}", "--task", "segment"],
        "coco2voc": [*cli, "coco2voc", str(coco), "-o", "{out}"],
        "voc2coco (17k files)": [*cli, "voc2coco", str(voc), "-o", "{out}"],
        "yolo2coco (20k images)": [*cli, "yolo2coco", str(yolo / "data.yaml"), "-o", "{out}"],
        "poly2rle": [*cli, "poly2rle", str(coco), "-o", "{out}"],
        "rle2poly (10k images)": [*cli, "rle2poly", str(rle), "-o", "{out}"],
        "sample": [*cli, "sample", str(coco), "-o", "{out}", "--fraction", "0.5"],
        "coco2cvat": [*cli, "coco2cvat", str(coco), "-o", "{out}"],
        "coco2labelstudio": [*cli, "coco2labelstudio", str(coco), "-o", "{out}"],
        "coco2labelme": [*cli, "coco2labelme", str(coco), "-o", "{out}"],
    }


def digest(path: Path) -> str:
    """The bytes of a file, or the relative names and bytes of a folder's files."""
    hasher = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as handle:
            hasher.update(handle.read())
        return hasher.hexdigest()
    for root, folders, files in os.walk(path):
        folders.sort()
        for name in sorted(files):
            file = Path(root, name)
            hasher.update(str(file.relative_to(path)).encode() + b"\0")
            hasher.update(file.read_bytes())
    return hasher.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="python of the older checkout's venv")
    parser.add_argument("--after", default=sys.executable, help="python of the newer one")
    parser.add_argument("--coco", type=Path, help="default: gen_coco.py at train2017 scale")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="job names (default: all)")
    parser.add_argument(
        "--work",
        type=Path,
        default=SHM / "coco-convert-checkouts" if SHM.is_dir() else CACHE / "checkouts",
        help="where the jobs write (default: the RAM disk /dev/shm when there is one)",
    )
    args = parser.parse_args()

    coco = coco_file(args.coco)
    small = coco_file(images=10_000)
    rle = _generated(
        "gen_coco-10000-rle.json",
        lambda out: [
            args.after,
            "-m",
            "coco_convert",
            "-q",
            "poly2rle",
            str(small),
            "-o",
            str(out),
        ],
    )
    voc = _generated(
        "gen_voc-17125", lambda out: [sys.executable, str(SHARED_BENCH / "gen_voc.py"), str(out)]
    )
    yolo = _generated(
        "gen_yolo-20000",
        lambda out: [
            sys.executable,
            str(SHARED_BENCH / "gen_yolo.py"),
            str(out),
            "--images",
            "20000",
        ],
    )
    pythons = {"before": args.before, "after": args.after}
    table = jobs(coco, rle, voc, yolo)
    if args.only:
        table = {name: table[name] for name in args.only}
    best: dict[tuple[str, str], Run] = {}
    digests: dict[tuple[str, str], str] = {}
    for repeat in range(args.repeat):
        for name, command in table.items():
            for side in pythons if repeat % 2 == 0 else reversed(pythons):
                out = args.work / side
                shutil.rmtree(out, ignore_errors=True)
                out.parent.mkdir(parents=True, exist_ok=True)
                argv = [pythons[side], *(part.replace("{out}", str(out)) for part in command)]
                run = run_process(argv)
                if run.failed:
                    sys.exit(f"{name} ({side}) failed:\n{run.failed}")
                print(
                    f"  {name:24} {side:6} {run.seconds:7.2f} s, user {run.user:7.2f} s,"
                    f" system {run.system:6.2f} s",
                    flush=True,
                )
                if (name, side) in best:  # each figure's best
                    old = best[name, side]
                    run = Run(*(min(a, b) for a, b in zip(run[:4], old[:4], strict=True)), None)
                best[name, side] = run
                if out.exists():
                    digests[name, side] = digest(out)
                if out.is_dir():
                    shutil.rmtree(out)
                else:
                    out.unlink(missing_ok=True)

    print(
        "\n| job | wall s, before | after | user CPU s, before | after | after/before |"
        " system s, before | after | peak RSS MB, before | after | outputs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in table:
        before, after = best[name, "before"], best[name, "after"]
        same = (
            "-"
            if (name, "before") not in digests
            else "same"
            if digests[name, "before"] == digests[name, "after"]
            else "differ"
        )
        print(
            f"| {name} | {before.seconds:.2f} | {after.seconds:.2f} | {before.user:.2f} |"
            f" {after.user:.2f} | {after.user / before.user:.2f} | {before.system:.2f} |"
            f" {after.system:.2f} | {before.rss / 2**20:.0f} | {after.rss / 2**20:.0f} | {same} |"
        )


if __name__ == "__main__":
    main()
