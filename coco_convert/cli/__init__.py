"""The ``coco-convert`` command line: one verb per job.

A verb is one small function in a module of this package, registered with ``@main.command()``
from :mod:`coco_convert.cli.app`; importing the module below is all it takes to add it.
"""

from __future__ import annotations

from . import info, masks, schema, validate, voc, yolo  # noqa: F401  (each module registers its verbs)
from .app import main

__all__ = ["main"]
