"""What the verbs share: summaries on stderr, ``--quiet``, and the common options
(``-o``, ``-j``, ``--report``, ``--strict``). :mod:`coco_convert.cli.app` re-exports them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import printable

if TYPE_CHECKING:
    from ..converters.loss import LossReport

__all__ = [
    "echo_err",
    "finish",
    "jobs_option",
    "output_option",
    "quiet",
    "report_option",
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


def output_option(**kwargs: Any) -> Callable[[F], F]:
    """``-o/--output PATH`` (required unless told otherwise)."""
    kwargs.setdefault("required", True)
    return click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=True), **kwargs)


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
