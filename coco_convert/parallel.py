"""Spread a long job over the machine's cores: ordered chunks of work in forked processes.

The work is a function of a chunk ``(start, stop)`` of some sequence the caller holds in
memory (a dataset's images). Worker processes are forked after the data is in memory, so they
read it without copying or pickling it; only each chunk's (small) result travels back. The
cyclic garbage collector is frozen across the fork so that it does not touch, and so copy, the
parent's millions of objects in every worker.

Without ``fork`` (Windows, macOS' default) or with ``jobs=1`` the chunks run in this process,
with the same results in the same order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["available_cores", "choose_jobs", "map_chunks"]

R = TypeVar("R")

#: The work of the pool being run (set just before the fork, read by the workers).
_WORK: Callable[[int, int], Any] | None = None


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def choose_jobs(jobs: int | None, work: float, *, worth_forking: float) -> int:
    """``jobs`` if given (0 or less: every core), else every core when ``work`` (in any unit)
    reaches ``worth_forking`` and one process otherwise."""
    if jobs is not None and jobs > 0:
        return jobs
    if jobs is not None or work >= worth_forking:
        return available_cores()
    return 1


def map_chunks(
    work: Callable[[int, int], R], total: int, *, jobs: int = 1, chunk: int = 1000
) -> Iterator[R]:
    """``work(start, stop)`` for consecutive chunks of ``range(total)``, results in order.

    With ``jobs`` > 1 (and ``fork`` available) the chunks run in ``jobs`` forked processes
    that inherit ``work`` and whatever it refers to."""
    bounds = [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
    if jobs <= 1 or len(bounds) <= 1 or not _can_fork():
        for start, stop in bounds:
            yield work(start, stop)
        return
    global _WORK
    _WORK = work
    gc.collect()
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(jobs, len(bounds)), initializer=gc.disable) as pool:
            yield from pool.imap(_run, bounds)
    finally:
        _WORK = None
        gc.unfreeze()


def _run(bounds: tuple[int, int]) -> Any:
    assert _WORK is not None, "worker forked without work"
    return _WORK(*bounds)


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
