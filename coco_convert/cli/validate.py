"""``coco-convert validate PATH...``: find what would break training, in CI and pre-commit.

Exit status: 0 clean (warnings and notes allowed), 1 findings at error level or files changed
by ``--fix`` (the pre-commit convention) or changes shown by ``--diff``, 2 usage errors.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..errors import UsageError
from ..validate import REPORTERS, RULES, load_config, render, render_diff, render_statistics
from ..validate.report import render_summary
from ..validate.runner import FileResult, validate_target
from .app import cluster_options, jobs_option, main
from .common import chooses_streaming


def _split(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]


def _explain(code: str) -> str:
    code = code.strip().upper()
    if code == "ALL":
        return "\n".join(
            f"{rule.code}  {rule.name:<34} {rule.severity:<8} {rule.summary}"
            for rule in RULES.values()
        )
    if code not in RULES:
        raise UsageError(f"unknown rule code {code!r} (`--explain ALL` lists them)")
    return RULES[code].explain()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Only these rules: codes or prefixes, comma-separated (G, G1, R006, ALL).",
)
@click.option(
    "--ignore", multiple=True, metavar="CODES", help="Leave out these rules (codes or prefixes)."
)
@click.option("--fix", is_flag=True, help="Apply safe fixes and rewrite the files atomically.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="With --fix or --diff, also apply fixes that delete or renumber.",
)
@click.option("--diff", is_flag=True, help="Show what --fix would change; write nothing.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="How to print the findings.",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False),
    help="Image folder: check that files exist and their sizes match (I005, I006, I008, P002).",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Read COCO files a chunk at a time, in bounded memory (chosen by itself for a file "
    "too large for the memory available); the same findings. Not with --fix or --diff.",
)
@click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation (ALL lists rules).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="pyproject.toml to read [tool.coco-convert.validate] from (default: the nearest).",
)
@jobs_option
@cluster_options
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    output_format: str,
    images: Path | None,
    stream: bool,
    statistics: bool,
    exit_zero: bool,
    explain: str | None,
    config_path: Path | None,
    jobs: int | None,
) -> None:
    """Check annotations for problems that break training: COCO JSON files (any kind) with
    the rules, and every other format coco-convert reads (`coco-convert formats`: Pascal VOC
    XML files or folders, YOLO datasets, ...) with its own reader. With --fix, repair the safe
    ones.

    Each finding has a stable rule code (`--explain CODE` documents it) and a location:
    file plus JSON pointer, or file:line."""
    if explain is not None:
        text = _explain(explain)
        click.echo(text, nl=not text.endswith("\n"))
        return
    if not paths:
        raise UsageError("give at least one PATH to validate (or --explain CODE)")
    if images is not None and not images.is_dir():
        raise UsageError(f"{images}: --images must be an existing folder")
    if stream and (fix or diff):
        raise UsageError("--fix and --diff rewrite the whole file: leave out --stream")
    config = load_config(config_path, select=_split(select), ignore=_split(ignore), images=images)
    results: list[FileResult] = [
        result
        for path in paths
        for result in validate_target(
            path,
            replace(config.for_file(path), jobs=jobs),
            fix=fix or diff,
            unsafe_fixes=unsafe_fixes,
            write=fix and not diff,
            stream=not (fix or diff) and chooses_streaming(path, forced=stream),
        )
    ]
    if diff and output_format == "text":
        for result in results:
            text = render_diff(result.file, result.applied)
            if text:
                click.echo(text, nl=False)
    if statistics and output_format == "text":
        table = render_statistics(results)
        if table:
            click.echo(table)
        click.echo(render_summary(results, fixing=fix))
    else:
        text = render(results, output_format, fixing=fix)
        if text:
            click.echo(text)
    errors = any(d.severity == "error" for r in results for d in r.diagnostics)
    changed = any(r.applied for r in results)
    if not exit_zero and (errors or changed):
        ctx.exit(1)
