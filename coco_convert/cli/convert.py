"""``convert``, ``formats`` and the ``X2coco``/``coco2X`` verbs, all built from the registry.

A conversion is a reader, then a writer (:mod:`coco_convert.converters.base`), through the
COCO datasets in memory, with one loss report for both legs. ``convert SRC --to FMT`` picks
both formats (``--from`` is detected when left out); ``voc2coco`` is the same conversion with
``--from voc --to coco`` fixed, and has exactly the options of reading VOC and writing COCO.
Every reader and writer option is declared once, as an
:class:`~coco_convert.converters.base.Option`; the click options here are made from those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from .. import registry
from ..converters.base import Format, Option
from ..converters.loss import LossReport
from .common import (
    PATH_OR_URL,
    chooses_streaming,
    cluster_options,
    finish,
    jobs_option,
    output_option,
    report_option,
    stream_option,
    strict_option,
)

__all__ = ["conversion_verbs", "convert", "formats", "run_conversion"]

#: The hub: ``X2coco`` reads X and writes COCO, ``coco2X`` reads COCO and writes X.
HUB = "coco"

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


# --- options ---------------------------------------------------------------------------------


def click_options(
    option: Option,
    *,
    help: str | None = None,
    defaults: bool = True,
    legs: Iterable[str] = (),
) -> list[Decorator]:
    """The click option(s) of a declared option: one flag, or one per switch. ``defaults``
    False leaves every default unset (``convert`` passes only what was given); ``legs``
    prefix a switch's help with who takes it."""
    text = help or option.help
    if option.switches:
        prefix = f"[{', '.join(legs)}] " if legs else ""
        return [
            click.option(flag, option.name, flag_value=value, help=prefix + switch_help)
            for flag, value, switch_help in option.switches
        ]
    if option.type == "flag":
        return [click.option(option.flag, option.name, is_flag=True, help=text)]
    kwargs: dict[str, Any] = {"help": text, "metavar": option.metavar}
    if option.type == "choice":
        kwargs["type"] = click.Choice(option.choices)
    elif option.type == "int":
        kwargs["type"] = click.IntRange(min=_int(option.minimum))
    elif option.type == "float":
        kwargs["type"] = click.FloatRange(min=option.minimum)
    elif option.type == "file":
        kwargs["type"] = click.Path(path_type=Path, dir_okay=False)
    elif option.type == "dir":
        kwargs["type"] = click.Path(path_type=Path, file_okay=False)
    if defaults and option.default is not None:
        kwargs.update(default=option.default, show_default=True)
    return [click.option(option.flag, option.name, **kwargs)]


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _given(ctx: click.Context, names: Iterable[str]) -> dict[str, Any]:
    """The options of ``names`` given on the command line (not left at their defaults)."""
    found: dict[str, Any] = {}
    for name in names:
        source = ctx.get_parameter_source(name)
        if source is not None and source != click.core.ParameterSource.DEFAULT:
            found[name] = ctx.params[name]
    return found


def _apply(func: Callable[..., Any], decorators: Iterable[Decorator]) -> Callable[..., Any]:
    for decorator in reversed(list(decorators)):
        func = decorator(func)
    return func


# --- one conversion --------------------------------------------------------------------------


def run_conversion(
    reader: Format,
    writer: Format,
    sources: Iterable[Path],
    output: Path,
    options: dict[str, Any],
    *,
    report: Path | None = None,
    strict: bool = False,
    jobs: int | None = None,
    stream: bool = False,
) -> LossReport:
    """:func:`coco_convert.registry.convert`, then the summary (and ``--report``). A COCO
    file too large to load comfortably is streamed (``--stream``) when the writer can take
    it, and that is said on stderr."""
    sources = list(sources)
    if not stream and reader.name == HUB and writer.streams:
        stream = any(chooses_streaming(Path(path)) for path in sources)
    loss = registry.convert(
        sources,
        output,
        to=writer,
        source_format=reader,
        options=options,
        strict=strict,
        jobs=jobs,
        stream=stream,
    )
    finish(loss, report)
    return loss


def _output_help(writer: Format) -> str:
    shapes = ", ".join(writer.patterns)
    if writer.output == "file or folder":
        return (
            f"{writer.title}: a file ({shapes}) for one split, or a folder for one file per split."
        )
    return f"The {writer.output} to write ({writer.title}: {shapes})."


# --- convert -----------------------------------------------------------------------------------


def _convert_options() -> list[Decorator]:
    """One click option per option name over the whole registry (its first declaration's
    help, and which formats take it)."""
    declared: dict[str, list[tuple[str, Option]]] = {}
    for fmt in registry.FORMATS:
        for leg, options in (("read", fmt.read_options), ("write", fmt.write_options)):
            for option in options:
                declared.setdefault(option.name, []).append((f"{fmt.name} {leg}", option))
    decorators: list[Decorator] = []
    for uses in declared.values():
        option = uses[0][1]
        helps = dict.fromkeys(o.help for _, o in uses)
        if len(helps) == 1:
            text = f"[{', '.join(leg for leg, _ in uses)}] {option.help}"
        else:  # the same kind of value, said for each format that takes it
            text = " ".join(f"[{leg}] {o.help}" for leg, o in uses)
        decorators += click_options(
            option, help=text, defaults=False, legs=[leg for leg, _ in uses]
        )
    return decorators


def _build_convert() -> click.Command:
    def command(
        sources: tuple[Path, ...],
        output: Path,
        to_format: str,
        from_format: str | None,
        report: Path | None,
        strict: bool,
        jobs: int | None,
        stream: bool,
        **_: Any,
    ) -> None:
        ctx = click.get_current_context()
        writer = registry.get(to_format)
        reader = registry.get(from_format) if from_format else registry.guess(sources)
        names = [name for name in ctx.params if name not in _CONVERT_OWN]
        run_conversion(
            reader,
            writer,
            sources,
            output,
            _given(ctx, names),
            report=report,
            strict=strict,
            jobs=jobs,
            stream=stream,
        )

    command.__doc__ = """Convert annotations from any readable format to any writable one,
    through COCO in memory (`coco-convert formats` lists them).

    SRC is what the reader takes (a file or a folder; COCO: one file per split). The format
    of SRC is detected unless --from names it. Each option goes to the reading and the
    writing side that take it (shown in brackets). One report covers both sides: what the
    input held that looked wrong, and what the output could not carry."""
    decorators: list[Decorator] = [
        click.command("convert"),
        click.argument("sources", metavar="SRC...", nargs=-1, required=True, type=PATH_OR_URL),
        output_option(
            urls=True, help="What to write (a file or a folder, as the --to format writes)."
        ),
        click.option(
            "--to",
            "to_format",
            required=True,
            metavar="FORMAT",
            help="Format to write (a name or alias from `coco-convert formats`).",
        ),
        click.option(
            "--from",
            "from_format",
            metavar="FORMAT",
            help="Format of SRC (default: detected; an ambiguous SRC needs it).",
        ),
        *_convert_options(),
        stream_option,
        jobs_option,
        cluster_options,
        report_option,
        strict_option,
    ]
    return _apply(command, decorators)  # type: ignore[return-value]


#: Parameters of ``convert`` itself (not reader or writer options).
_CONVERT_OWN = frozenset(
    {"sources", "output", "to_format", "from_format", "report", "strict", "jobs", "stream"}
)

convert = _build_convert()


# --- X2coco / coco2X -----------------------------------------------------------------------------


def conversion_verbs() -> dict[str, tuple[Format, Format]]:
    """``X2coco`` for every readable format X, ``coco2X`` for every writable one (besides
    COCO itself): verb name -> (reader, writer)."""
    hub = registry.get(HUB)
    verbs: dict[str, tuple[Format, Format]] = {}
    for fmt in registry.FORMATS:
        if fmt is hub:
            continue
        if fmt.read is not None:
            verbs[f"{fmt.name}2{hub.name}"] = (fmt, hub)
        if fmt.write is not None:
            verbs[f"{hub.name}2{fmt.name}"] = (hub, fmt)
    return verbs


def conversion_verb(name: str, reader: Format, writer: Format) -> click.Command:
    """The verb ``name``: read with ``reader``, write with ``writer``; exactly the options of
    those two legs (an option both take, such as voc's ``--coords``, appears once)."""
    declared: dict[str, Option] = {}
    for option in (*reader.read_options, *writer.write_options):
        declared.setdefault(option.name, option)

    def command(
        sources: tuple[Path, ...],
        output: Path,
        report: Path | None,
        strict: bool,
        jobs: int | None,
        stream: bool = False,
        **_: Any,
    ) -> None:
        ctx = click.get_current_context()
        run_conversion(
            reader,
            writer,
            sources,
            output,
            _given(ctx, declared),
            report=report,
            strict=strict,
            jobs=jobs,
            stream=stream,
        )

    if writer.name == HUB:
        what = (
            f"Read {reader.title} ({', '.join(reader.patterns[:2])}, ...) as COCO JSON. "
            "What COCO has no place for, and what looks wrong in the input, is reported."
        )
    else:
        what = (
            f"Write COCO JSON files (one per split) as {writer.title}.\n\n"
            f"What {writer.name} cannot carry (each loss is reported): {writer.limits}"
        )
    command.__doc__ = (
        f"{what}\n\nThe same as `coco-convert convert SRC --from {reader.name} "
        f"--to {writer.name}`; {(reader if writer.name == HUB else writer).docs}."
    )
    decorators: list[Decorator] = [
        click.command(name),
        click.argument("sources", metavar="SRC...", nargs=-1, required=True, type=PATH_OR_URL),
        output_option(urls=True, help=_output_help(writer)),
    ]
    for option in declared.values():
        decorators += click_options(option)
    if reader.name == HUB and writer.streams:
        decorators.append(stream_option)
    decorators += [jobs_option, cluster_options, report_option, strict_option]
    return _apply(command, decorators)  # type: ignore[return-value]


# --- formats -----------------------------------------------------------------------------------


@click.command("formats")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def formats(as_json: bool) -> None:
    """List the formats coco-convert reads and writes, what each carries, and its options."""
    if as_json:
        from ..io import dump_json

        click.echo(dump_json([_describe(fmt) for fmt in registry.FORMATS], indent=2).decode())
        return
    width = max(len(fmt.name) for fmt in registry.FORMATS)
    for fmt in registry.FORMATS:
        can = "/".join(leg for leg, able in (("read", fmt.read), ("write", fmt.write)) if able)
        click.echo(f"{fmt.name:<{width}}  {can:<10}  {fmt.title}")
        aliases = f" (also: {', '.join(fmt.aliases)})" if fmt.aliases else ""
        click.echo(f"{'':<{width}}  kinds: {', '.join(fmt.kinds)}{aliases}")
        click.echo(f"{'':<{width}}  files: {', '.join(fmt.patterns)}")
    click.echo("\n`coco-convert convert SRC --to FORMAT -o OUT`; docs/<format>.md for each.")


def _describe(fmt: Format) -> dict[str, Any]:
    def options(declared: tuple[Option, ...]) -> list[dict[str, Any]]:
        return [
            {
                "name": option.name,
                "flags": [s[0] for s in option.switches] or [option.flag],
                "type": option.type,
                "choices": list(option.choices),
                "default": option.default,
                "help": option.help,
            }
            for option in declared
        ]

    return {
        "name": fmt.name,
        "title": fmt.title,
        "aliases": list(fmt.aliases),
        "read": fmt.read is not None,
        "write": fmt.write is not None,
        "kinds": list(fmt.kinds),
        "patterns": list(fmt.patterns),
        "output": fmt.output,
        "limits": fmt.limits,
        "read_options": options(fmt.read_options),
        "write_options": options(fmt.write_options),
        "docs": fmt.docs,
    }
