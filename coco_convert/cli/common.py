"""What the verbs share: summaries on stderr, ``--quiet``, and the common options
(``-o``, ``-j``, ``--report``, ``--strict``). :mod:`coco_convert.cli.app` re-exports them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import UsageError, printable

if TYPE_CHECKING:
    from ..converters.loss import LossReport

__all__ = [
    "PATH_OR_URL",
    "chooses_streaming",
    "cluster_options",
    "echo_err",
    "finish",
    "jobs_option",
    "output_option",
    "quiet",
    "report_option",
    "stream_option",
    "strict_option",
]

F = TypeVar("F", bound=Callable[..., Any])


def quiet() -> bool:
    """Whether ``--quiet`` was given (summaries on stderr are then left out)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("quiet"))


def echo_err(message: str) -> None:
    """Summary lines on stderr (each :func:`~coco_convert.errors.printable`), unless
    ``--quiet``."""
    if not quiet():
        click.echo("\n".join(printable(line) for line in message.split("\n")), err=True)


class PathOrURL(click.ParamType):  # type: ignore[type-arg]
    """A path, or a URL (``s3://...``: kept as text for fsspec, :mod:`coco_convert.urls`);
    a ``file://`` URL is its path."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Path):
            return value
        from .. import urls

        text = str(value)
        if urls.is_url(text):
            local = urls.local_path(text)
            return text if local is None else local
        return Path(text)


#: A path or URL argument or option (``Path | str``).
PATH_OR_URL = PathOrURL()


def output_option(*, urls: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """``-o/--output PATH`` (required unless told otherwise; ``urls``: or a URL)."""
    kwargs.setdefault("required", True)
    kind = PATH_OR_URL if urls else click.Path(path_type=Path, dir_okay=True)
    return click.option("-o", "--output", type=kind, **kwargs)


def finish(loss: LossReport, report: Path | None) -> None:
    """The end of a conversion: write the ``--report`` JSON if asked, print the summary."""
    if report is not None:
        loss.save(report)
    echo_err(loss.to_text())


def jobs_option(func: F) -> F:
    """``-j/--jobs N``: worker processes (default: every core when the input is large)."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=0),
        default=None,
        help="Worker processes (0: every core; default: every core for large inputs).",
    )(func)


def cluster_options(func: F) -> F:
    """``--scheduler ADDRESS`` / ``--workers N``: run the verb's per-image work on a Dask
    cluster (:mod:`coco_convert.cluster`). The command runs inside the connection; ``-j``
    with either is a usage error."""

    @functools.wraps(func)
    def run(*args: Any, scheduler: str | None, workers: int | None, **kwargs: Any) -> Any:
        if (scheduler is not None or workers is not None) and kwargs.get("jobs") is not None:
            raise UsageError(
                "-j/--jobs is for this machine; with --scheduler or --workers the "
                "cluster's workers do the work"
            )
        from ..cluster import connect

        with connect(scheduler, workers):
            return func(*args, **kwargs)

    options = [
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run the per-image work on this Dask cluster: its scheduler's address "
            "(tcp://HOST:PORT) or scheduler file (pip install 'coco-convert[dask]').",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="Run the per-image work on a local Dask cluster of N worker processes.",
        ),
    ]
    command: Any = run
    for option in reversed(options):
        command = option(command)
    return command  # type: ignore[no-any-return]


def report_option(func: F) -> F:
    """``--report FILE``: write the conversion's loss report as JSON."""
    return click.option(
        "--report",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Also write what the conversion could not carry over, as JSON.",
    )(func)


def strict_option(func: F) -> F:
    """``--strict``: treat every warning as an error (nothing is written then)."""
    return click.option(
        "--strict", is_flag=True, help="Treat warnings as errors; nothing is written then."
    )(func)


def chooses_streaming(path: Path, *, forced: bool = False) -> bool:
    """Whether to read the COCO file ``path`` a chunk at a time: when ``--stream`` says so,
    or by itself (said on stderr, one line) when the file is too large to load comfortably
    in the memory available (:func:`coco_convert.streaming.prefers_streaming`)."""
    if forced:
        return True
    from ..streaming import prefers_streaming

    if not path.is_file() or not prefers_streaming(path):
        return False
    echo_err(
        f"coco-convert: {path} is large for the memory available: reading it a chunk at a "
        "time (--stream)"
    )
    return True


stream_option = click.option(
    "--stream",
    is_flag=True,
    help="Read the COCO file a chunk at a time, in bounded memory (chosen by itself for a "
    "file too large for the memory available); the same results.",
)
