"""What the benchmarks share: where the data generators are (``shared/bench/gen_*.py``, beside
the checkout (CI) or beside a folder above it (git worktrees)), the train2017-scale file, and
how one job is timed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent

#: ``shared/bench``: gen_coco.py, gen_voc.py, gen_yolo.py (``$COCO_CONVERT_SHARED/bench`` when
#: set, as for the tests' real exports).
SHARED_BENCH = (
    Path(os.environ["COCO_CONVERT_SHARED"]) / "bench"
    if os.environ.get("COCO_CONVERT_SHARED")
    else next(
        (p / "shared" / "bench" for p in HERE.parents if (p / "shared" / "bench").is_dir()),
        HERE.parents[1] / "shared" / "bench",
    )
)


def coco_file(path: Path | None = None, *, images: int = 118_287) -> Path:
    """A COCO instances file from ``gen_coco.py`` (train2017 scale by default): ``path`` when
    it exists, else generated there, or by default in a cache under the temporary folder (it
    takes about two minutes to write, so it is kept for the next run)."""
    if path is None:
        path = Path(tempfile.gettempdir()) / "coco-convert-bench" / f"gen_coco-{images}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({images:,} images) with gen_coco.py ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        subprocess.run(
            [
                sys.executable,
                str(SHARED_BENCH / "gen_coco.py"),
                str(partial),
                "--images",
                str(images),
            ],
            check=True,
        )
        partial.replace(path)
    return path


class Run(NamedTuple):
    """One job's run: wall seconds (interpreter start included); user and system CPU seconds
    of the job and of every child it waited for (user time is what another job on a busy
    machine moves least; system time also holds the file system's own state: on ext4, the
    files created right after many were deleted cost several times more); peak resident set
    of the job or its largest descendant (bytes); the end of its stderr when it failed (else
    None)."""

    seconds: float
    user: float
    system: float
    rss: int
    failed: str | None


def run_process(command: list[str], *, cwd: Path | None = None) -> Run:
    """Run ``command`` as a fresh process. The disk is synced first, so no job pays for the
    previous job's write-back; stderr goes to a file, not a pipe, so a chatty peer cannot
    block."""
    os.sync()
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, cwd=cwd
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip()
            return Run(seconds, usage.ru_utime, usage.ru_stime, 0, text[-2000:] or "failed")
    return Run(seconds, usage.ru_utime, usage.ru_stime, usage.ru_maxrss * 1024, None)


def time_process(command: list[str], *, cwd: Path | None = None) -> tuple[float, int, str | None]:
    """:func:`run_process`'s wall seconds, peak RSS and failure."""
    run = run_process(command, cwd=cwd)
    return run.seconds, run.rss, run.failed


def best_of(jobs: dict[str, list[str]], runs: int, out: Path) -> dict[str, tuple[float, float]]:
    """Each job's best wall seconds and its peak RSS then (MB) over ``runs`` rounds, the jobs
    interleaved within a round, ``out`` emptied before each; exits naming a job that fails."""
    import shutil

    best: dict[str, tuple[float, float]] = {}
    for _ in range(runs):
        for name, command in jobs.items():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            seconds, rss, error = time_process(command)
            if error is not None:
                sys.exit(f"{name} failed:\n{error}")
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, rss / 2**20)
    return best


def print_table(best: dict[str, tuple[float, float]], floor: str) -> None:
    """The jobs' seconds, peak MB and ratio to the ``floor`` job, one row each."""
    width = max(len(name) for name in best) + 2
    print(f"\n  {'job':<{width}}{'seconds':>9}{'peak MB':>9}{'x floor':>9}")
    for name, (seconds, rss) in best.items():
        print(f"  {name:<{width}}{seconds:9.2f}{rss:9.0f}{seconds / best[floor][0]:9.2f}")
