"""Where the benchmarks find the shared data generators (``shared/bench/gen_*.py``): beside the
checkout (CI) or beside a folder above it (git worktrees)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: ``shared/bench``: gen_coco.py, gen_voc.py, gen_yolo.py.
SHARED_BENCH = next(
    (p / "shared" / "bench" for p in HERE.parents if (p / "shared" / "bench").is_dir()),
    HERE.parents[1] / "shared" / "bench",
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
