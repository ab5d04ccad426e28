"""Import a dataset with Datumaro and print what it found, as JSON (run by
tests/test_datumaro_interop.py with the Python of the Datumaro environment that `make test`
builds: Datumaro pins Pillow 12, so it does not share the project's environment).

    .venv-datumaro/bin/python tests/datumaro_import.py FORMAT PATH
"""

from __future__ import annotations

import json
import logging
import sys


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    from datumaro import AnnotationType, Dataset

    fmt, path = sys.argv[1], sys.argv[2]
    kept = _Keep()
    logging.getLogger().addHandler(kept)
    dataset = Dataset.import_from(path, fmt)
    kinds: dict[str, int] = {}
    for item in dataset:
        for ann in item.annotations:
            kinds[ann.type.name] = kinds.get(ann.type.name, 0) + 1
    labels = dataset.categories().get(AnnotationType.label)
    print(
        json.dumps(
            {
                "items": len(dataset),
                "annotations": kinds,
                "labels": [label.name for label in labels] if labels else [],
                "warnings": kept.messages,
            }
        )
    )


if __name__ == "__main__":
    main()
