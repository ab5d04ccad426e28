"""The command group and its error handling; the options verbs share (from
:mod:`coco_convert.cli.common`, re-exported here).

Exit status: 0 success, 1 invalid input (or, for ``validate``, findings), 2 usage errors.
Problems with the input are printed as one ``coco-convert: error: ...`` line each, never as a
traceback.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

import click

from .. import __version__, progress
from ..errors import CocoConvertError, printable
from .common import (
    PATH_OR_URL,
    cluster_options,
    echo_err,
    finish,
    jobs_option,
    output_option,
    quiet,
    report_option,
    strict_option,
)

__all__ = [
    "PATH_OR_URL",
    "cluster_options",
    "echo_err",
    "finish",
    "jobs_option",
    "main",
    "output_option",
    "quiet",
    "report_option",
    "strict_option",
]

#: Each verb and the module of this package that defines it (imported when the verb runs).
#: The format conversions (``voc2coco``, ``coco2yolo``, ...) are not listed: they are made
#: from the format registry (:func:`coco_convert.cli.convert.conversion_verbs`).
VERBS = {
    "info": "info",
    "schema": "schema",
    "convert": "convert",
    "formats": "convert",
    "poly2rle": "transforms",
    "rle2poly": "transforms",
    "validate": "validate",
    "draw": "draw",
    "gallery": "draw",
    "merge": "ops",
    "split": "ops",
    "filter": "ops",
    "remap": "ops",
    "diff": "ops",
    "stats": "ops",
    "sample": "ops",
}


class _Group(click.Group):
    """Loads a verb's module when the verb is asked for (a format conversion is made from
    the registry then), runs it with progress bars set up, and turns input errors into clean
    exits."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from .convert import conversion_verbs

        return sorted(set(super().list_commands(ctx)) | set(VERBS) | set(conversion_verbs()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in VERBS:
                module = importlib.import_module(f"{__package__}.{VERBS[cmd_name]}")
                command = getattr(module, cmd_name, None)
                if isinstance(command, click.Command) and cmd_name not in self.commands:
                    self.add_command(command, cmd_name)
            else:
                from .convert import conversion_verb, conversion_verbs

                legs = conversion_verbs().get(cmd_name)
                if legs is not None:
                    self.add_command(conversion_verb(cmd_name, *legs), cmd_name)
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
    for stream in (sys.stdout, sys.stderr):
        # A file name that is not UTF-8 (surrogates from os.fsdecode) is printed escaped by
        # every verb, never a UnicodeEncodeError (messages also go through printable()).
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    show_bars = not quiet and sys.stderr.isatty()
    ctx.with_resource(progress.enabled(show_bars))
    # A verb's process is short-lived and holds a parsed dataset: millions of acyclic records,
    # which a full collection would re-scan for seconds each time and free nothing. Young
    # generations are still collected; the full one waits for the exit.
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 2**31 - 1)
    ctx.call_on_close(lambda: gc.set_threshold(*thresholds))  # (run in-process, as in tests)
