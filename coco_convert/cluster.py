"""The per-image work on a Dask cluster: ``--scheduler tcp://HOST:PORT`` (a running cluster)
or ``--workers N`` (a local one, N worker processes).

:func:`connect` makes a :class:`DaskEngine` the engine of :mod:`coco_convert.parallel` for a
block: every :func:`~coco_convert.parallel.map_tasks` in it (``poly2rle``, ``rle2poly``,
``draw``, the format readers and writers that use it, SA-1B) sends its tasks, the same
self-contained chunks of images as on one machine, to the cluster's workers and takes the
results back in the order of the tasks. The output is therefore the same, byte for byte, as on
one machine.

A worker that dies (killed, out of memory, its node gone) loses the tasks it held; the scheduler
runs them again on another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by
default, before it gives up on a task that kills every worker it meets). Each result is taken
once, by its position, so nothing is lost or counted twice.

``dask[distributed]`` is an optional extra (``pip install 'coco-convert[dask]'``), imported only
here and only when a cluster is asked for. Workers of a cluster elsewhere need coco-convert
installed (the same version) and must see the files a task names: images for ``draw``, SA-1B
shards (or fsspec URLs they can open, ``s3://...``).
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import CocoConvertError, UsageError
from .parallel import using

if TYPE_CHECKING:
    from distributed import Future

__all__ = ["ClusterError", "DaskEngine", "connect", "local_cluster", "require_distributed"]

R = TypeVar("R")
T = TypeVar("T")

#: Tasks handed to the scheduler ahead of the results taken, per worker thread: enough to keep
#: every worker busy while the results are used in order, few enough to bound memory.
_AHEAD_PER_WORKER = 3

#: Seconds to wait for the scheduler of ``--scheduler`` to answer.
CONNECT_TIMEOUT = 30


class ClusterError(CocoConvertError):
    """The cluster could not do the work: unreachable, or a task killed every worker it met."""


def require_distributed() -> None:
    """Import ``distributed``, or say how to install it."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(
            "--scheduler and --workers need Dask's distributed scheduler: "
            "pip install 'coco-convert[dask]'"
        ) from None


class DaskEngine:
    """A :class:`coco_convert.parallel.Engine` on a ``distributed.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client  # a distributed.Client (Any: much of its API is untyped)

    @property
    def workers(self) -> int:
        """The cluster's worker threads now (at least 1: workers may still be coming)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def map(self, function: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``function(task)`` for every task on the cluster, results in order. At most
        :data:`_AHEAD_PER_WORKER` tasks per worker wait ahead of the one taken next."""
        from distributed import KilledWorker

        prefix = f"{getattr(function, '__name__', 'task')}-{uuid.uuid4().hex[:12]}"
        pending: deque[Future[R]] = deque()
        numbers = itertools.count()
        ahead = _AHEAD_PER_WORKER * self.workers
        try:
            for task in tasks:
                number = next(numbers)
                pending.append(self._submit(function, task, f"{prefix}-{number}"))
                if number % 256 == 255:  # (workers may have joined or left: ask again)
                    ahead = _AHEAD_PER_WORKER * self.workers
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except KilledWorker as error:
            raise ClusterError(
                f"a task of {prefix} failed on {len(error.args) and error.args[0]!s}: it killed "
                "every worker that ran it (out of memory?); the cluster's worker logs say why"
            ) from None
        finally:
            if pending:
                self.client.cancel(list(pending))

    def _submit(self, function: Callable[[T], R], task: T, key: str) -> Future[R]:
        # pure=False: the key is ours (hashing every task's data to name it would cost time)
        future: Future[R] = self.client.submit(function, task, key=key, pure=False)
        return future


def local_cluster(workers: int) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` worker processes of one thread each (the
    work is Python and numpy in small pieces, which threads would share under the GIL), on
    the loopback interface, its dashboard on a free port."""
    require_distributed()
    from distributed import LocalCluster

    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        host="127.0.0.1",
        # (a task's InputError reaches the user as coco-convert's one line, not the workers'
        # log of it; a lost worker is retried without a word either)
        silence_logs=logging.ERROR,
    )


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Run the block's parallel work on a Dask cluster: the scheduler at ``scheduler``
    (``tcp://HOST:PORT``, or a scheduler file's path), or a local cluster of ``workers``
    worker processes (one thread each) started here and stopped at the end. Neither: the
    block runs as without it. Yields the ``distributed.Client`` (or None)."""
    if scheduler is None and workers is None:
        yield None
        return
    if scheduler is not None and workers is not None:
        raise UsageError(
            "give --scheduler (a running cluster) or --workers (a local one), not both"
        )
    if workers is not None and workers < 1:
        raise UsageError("--workers takes at least 1 worker process")
    require_distributed()
    import distributed

    Client: Any = distributed.Client  # (Any: untyped)

    if workers is not None:
        with (
            local_cluster(workers) as cluster,
            Client(cluster) as client,
            using(DaskEngine(client)),
        ):
            yield client
        return
    # a scheduler file (dask-jobqueue, dask-mpi, `dask scheduler --scheduler-file`) or an address
    where = "scheduler_file" if Path(str(scheduler)).is_file() else "address"
    try:
        client = Client(**{where: scheduler}, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler {scheduler}: {error}") from None
    with client, using(DaskEngine(client)):
        yield client
