"""``python -m coco_convert`` is ``coco-convert``."""

from .cli import main

main(prog_name="coco-convert")
