"""Spread a long job over the machine's cores: ordered, self-contained tasks in worker processes.

:func:`map_tasks` runs ``function(task)`` for each task in fresh worker processes (``spawn``:
they share nothing with this process, so a dataset of several GB in memory here costs nothing
there; forked workers would write the reference counts of every object they read and so copy
its memory page by page). ``function`` must be a module-level function, and a task must carry
all it needs in a compact, quickly pickled form (numpy arrays, strings, small lists): the
tasks are pickled to the workers as they need them, the results come back in order.

With ``jobs=1`` the tasks run in this process, with the same results in the same order.

Inside ``with using(engine):`` every :func:`map_tasks` (and so every verb built on it) runs
its tasks on that :class:`Engine` instead, whatever ``jobs`` says: a Dask cluster
(:mod:`coco_convert.cluster`, ``--scheduler``/``--workers``). The tasks are the same
self-contained chunks of images and the results come back in the same order, so the output is
the same byte for byte.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

from .errors import UsageError

__all__ = [
    "Engine",
    "available_cores",
    "choose_jobs",
    "current_engine",
    "map_batched",
    "map_tasks",
    "using",
]

R = TypeVar("R")
T = TypeVar("T")


class Engine(Protocol):
    """Somewhere else to run :func:`map_tasks`' work (a Dask cluster: :mod:`.cluster`)."""

    @property
    def workers(self) -> int:
        """How many tasks it runs at once (at least 1)."""

    def map(self, function: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``function(task)`` for every task, the results in the order of the tasks, each
        exactly once (a task lost with its worker runs again elsewhere)."""


_ENGINE: ContextVar[Engine | None] = ContextVar("coco_convert_engine", default=None)


@contextmanager
def using(engine: Engine | None) -> Iterator[None]:
    """Run every :func:`map_tasks` of this thread on ``engine`` until the block ends
    (``None``: on this machine, as without the block)."""
    token = _ENGINE.set(engine)
    try:
        yield
    finally:
        _ENGINE.reset(token)


def current_engine() -> Engine | None:
    """The engine of the enclosing :func:`using` block, if any."""
    return _ENGINE.get()


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def choose_jobs(jobs: int | None, work: float, *, worth_it: float) -> int:
    """``jobs`` if given (0: every core), else every core when ``work`` (in any unit) reaches
    ``worth_it`` (starting workers costs about half a second) and one process otherwise.
    Inside :func:`using`, the engine's workers (the user chose the cluster)."""
    engine = _ENGINE.get()
    if engine is not None:
        return max(1, engine.workers)
    if jobs is not None and jobs > 0:
        return jobs
    if jobs is not None or work >= worth_it:
        return available_cores()
    return 1


def map_tasks(function: Callable[[T], R], tasks: Iterable[T], *, jobs: int = 1) -> Iterator[R]:
    """``function(task)`` for every task, results in order; with ``jobs`` > 1 in ``jobs``
    worker processes, at most two tasks per worker packed ahead.

    Workers start by importing the caller's main module, as ``spawn`` does: a script that
    calls this with ``jobs`` > 1 needs the usual ``if __name__ == "__main__":`` guard (without
    it the workers fail to start and a :class:`UsageError` says so).

    Inside :func:`using`, the tasks run on that engine (``jobs`` is then not used)."""
    engine = _ENGINE.get()
    if engine is not None:
        yield from engine.map(function, tasks)
        return
    if jobs <= 1:
        for task in tasks:
            yield function(task)
        return
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError("a worker process is importing the main module, which starts work")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(function, task))
                if len(pending) >= 2 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise UsageError(
                "worker processes could not start: a script that runs coco-convert's parallel "
                'work needs an `if __name__ == "__main__":` guard (or pass jobs=1)'
            ) from None
        finally:
            for future in pending:
                future.cancel()


def map_batched(
    function: Callable[[T], R], items: Iterable[T], *, jobs: int = 1, batch: int = 8
) -> Iterator[R]:
    """:func:`map_tasks` for many small tasks: ``function(item)`` for every item, results in
    order, the items sent to the workers ``batch`` at a time (one round trip each instead of
    one per item)."""
    if jobs <= 1 and _ENGINE.get() is None:
        yield from map(function, items)
        return
    chunks = ((function, chunk) for chunk in _chunks(items, batch))
    for results in map_tasks(_apply_each, chunks, jobs=jobs):
        yield from results


def _apply_each(task: tuple[Callable[[T], R], list[T]]) -> list[R]:
    function, items = task
    return [function(item) for item in items]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
