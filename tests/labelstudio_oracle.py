"""Label Studio's own brush decoder on a Label Studio JSON export: run with the Python of an
environment that has label-studio-sdk (`make test` builds `.venv-labelstudio`):

    .venv-labelstudio/bin/python tests/labelstudio_oracle.py EXPORT.json

Prints, per task, each brush region of its predictions and annotations in order: its id, its
labels and the mask that `label_studio_sdk.converter.brush.decode_rle` gives, as Label Studio's
own exporter reads it (the RGBA image's alpha channel), given as the flat row-major positions
where the mask switches on or off. Standard library and numpy besides the SDK: this file runs
in that environment, not the project's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from label_studio_sdk.converter.brush import decode_rle


def main() -> None:
    tasks = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    found = []
    for task in tasks:
        regions = []
        for block in (*task.get("predictions", ()), *task.get("annotations", ())):
            for result in block["result"]:
                if result["type"] != "brushlabels":
                    continue
                height, width = result["original_height"], result["original_width"]
                image = np.reshape(decode_rle(result["value"]["rle"]), [height, width, 4])
                flat = (image[:, :, 3] > 0).astype(np.int8).ravel()
                edges = np.flatnonzero(np.diff(np.concatenate(([0], flat, [0]))))
                regions.append(
                    {
                        "id": result["id"],
                        "labels": result["value"]["brushlabels"],
                        "edges": edges.tolist(),
                    }
                )
        found.append(regions)
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main()
