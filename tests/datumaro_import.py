"""Import a dataset with Datumaro and print what it found, as JSON (run by
tests/test_datumaro_interop.py with the Python of the Datumaro environment that `make test`
builds: Datumaro pins Pillow 12, so it does not share the project's environment).

    .venv-datumaro/bin/python tests/datumaro_import.py FORMAT PATH [--details]

With ``--details``, each item's boxes ``[label, x, y, w, h, rotated]``, polygons and
polylines ``[label, [x, y, ...]]`` and masks ``[label, area]`` too (rounded to 0.01 px), for
tests that compare annotations, not only counts.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    from datumaro import AnnotationType, Dataset

    fmt, path = sys.argv[1], sys.argv[2]
    details = "--details" in sys.argv[3:]
    kept = _Keep()
    logging.getLogger().addHandler(kept)
    dataset = Dataset.import_from(path, fmt)
    kinds: dict[str, int] = {}
    labels = dataset.categories().get(AnnotationType.label)
    names = [label.name for label in labels] if labels else []
    items = []
    for item in dataset:
        for ann in item.annotations:
            kinds[ann.type.name] = kinds.get(ann.type.name, 0) + 1
        if details:
            items.append(_details(item, names))
    found = {
        "items": len(dataset),
        "annotations": kinds,
        "labels": names,
        "warnings": kept.messages,
    }
    if details:
        found["details"] = items
    print(json.dumps(found))


def _details(item: Any, names: list[str]) -> dict[str, Any]:
    from datumaro import AnnotationType

    def label(ann: Any) -> str:
        return names[ann.label] if ann.label is not None else ""

    boxes, polygons, polylines, masks = [], [], [], []
    for ann in item.annotations:
        if ann.type == AnnotationType.bbox:
            boxes.append([label(ann), *(round(v, 2) for v in ann.get_bbox()), False])
        elif ann.type == AnnotationType.rotated_bbox:
            boxes.append([label(ann), *(round(v, 2) for v in ann.get_bbox()), True])
        elif ann.type == AnnotationType.polygon:
            polygons.append([label(ann), [round(v, 2) for v in ann.points]])
        elif ann.type == AnnotationType.polyline:
            polylines.append([label(ann), [round(v, 2) for v in ann.points]])
        elif ann.type == AnnotationType.mask:
            masks.append([label(ann), int(ann.image.astype(bool).sum())])
    return {
        "id": item.id,
        "boxes": boxes,
        "polygons": polygons,
        "polylines": polylines,
        "masks": masks,
    }


if __name__ == "__main__":
    main()
