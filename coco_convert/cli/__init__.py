"""The ``coco-convert`` command line: one verb per job.

A verb is one small function in a module of this package, registered with ``@main.command()``
from :mod:`coco_convert.cli.app`, plus one line in :data:`coco_convert.cli.app.VERBS` naming its
module; the format conversions (``convert``, ``voc2coco``, ``coco2yolo``, ...) are made from the
format registry instead (:mod:`coco_convert.cli.convert`). A verb's module (and the converter
behind it) is imported only when that verb runs, so ``coco-convert validate`` in a pre-commit
hook does not pay for numpy, Pillow or pycocotools.
"""

from __future__ import annotations

from .app import main

__all__ = ["main"]
