"""``coco-convert schema [--kind K]``: the JSON Schema of a COCO kind."""

from __future__ import annotations

import click

from ..schemas.coco import KINDS
from ..schemas.export import schema_path
from .app import main


@main.command()
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="instances",
    show_default=True,
    help="Which COCO document.",
)
def schema(kind: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a COCO document, for editors and CI tools.

    The same files ship in the package under coco_convert/schemas/*.schema.json."""
    click.echo(schema_path(kind).read_text(encoding="utf-8"), nl=False)  # type: ignore[arg-type]
