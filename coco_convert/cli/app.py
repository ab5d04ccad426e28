"""The command group, its error handling and the options verbs share.

Exit status: 0 success, 1 invalid input (or, for ``validate``, findings), 2 usage errors.
Problems with the input are printed as one ``coco-convert: error: ...`` line each, never as a
traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__, progress
from ..errors import CocoConvertError, printable

if TYPE_CHECKING:
    from ..converters.loss import LossReport

__all__ = [
    "echo_err",
    "finish",
    "jobs_option",
    "main",
    "output_option",
    "quiet",
    "report_option",
    "strict_option",
]

F = TypeVar("F", bound=Callable[..., Any])


#: Each verb and the module of this package that defines it (imported when the verb runs).
VERBS = {
    "info": "info",
    "schema": "schema",
    "voc2coco": "voc",
    "coco2voc": "voc",
    "yolo2coco": "yolo",
    "coco2yolo": "yolo",
    "poly2rle": "masks",
    "rle2poly": "masks",
    "masks2coco": "masks",
    "validate": "validate",
    "draw": "draw",
    "gallery": "draw",
}


class _Group(click.Group):
    """Loads a verb's module when the verb is asked for, runs it with progress bars set up,
    and turns input errors into clean exits."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(VERBS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in VERBS and cmd_name not in self.commands:
            importlib.import_module(f"{__package__}.{VERBS[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CocoConvertError as exc:
            for line in str(exc).splitlines() or [type(exc).__name__]:
                click.echo(f"coco-convert: error: {printable(line)}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            # The OS refusing a path the input named (too long, a link loop, permissions) or
            # an output (a full disk): about the input or the machine, so one line, exit 1.
            click.echo(f"coco-convert: error: {_os_error(exc)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("coco-convert: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `coco-convert info big.json | head`: the reader went away; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return printable(reason)
    name = os.fsdecode(exc.filename)
    if len(name) > 200:
        name = f"{name[:100]}...{name[-60:]} ({len(name):,} characters)"
    return printable(f"{name}: {reason}")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="coco-convert")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars and no summaries on stderr.")
@click.pass_context
def main(ctx: click.Context, quiet: bool) -> None:
    """COCO as the hub for computer-vision annotations: inspect, convert and validate.

    Run `coco-convert VERB --help` for a verb's options."""
    ctx.obj = {"quiet": quiet}
    show_bars = not quiet and sys.stderr.isatty()
    ctx.with_resource(progress.enabled(show_bars))


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
    echo_err(loss.render())


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
