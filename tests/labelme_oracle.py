"""LabelMe's own code on LabelMe files, printing what it finds as JSON (run by
tests/test_labelme.py with the Python of the LabelMe environment that `make test` builds:
LabelMe pulls in PyQt5 and onnxruntime, which the project's environment does without).

    .venv-labelme/bin/python tests/labelme_oracle.py masks FILE   # shape_to_mask of each shape
    .venv-labelme/bin/python tests/labelme_oracle.py load FILE... # LabelFile opens each file
"""

from __future__ import annotations

import base64
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def masks(path: str) -> list[dict[str, object]]:
    """Each shape's mask as LabelMe's converters make it: ``shape_to_mask``, and for a mask
    shape the PNG placed as ``shapes_to_label`` places it."""
    import numpy as np
    from labelme import LabelFile, utils

    label_file = LabelFile(path)
    size = utils.img_data_to_arr(label_file.image_data).shape[:2]
    found = []
    for index, shape in enumerate(label_file.shapes):
        if shape["shape_type"] == "mask":
            mask = np.zeros(size, dtype=bool)
            (x1, y1), (x2, y2) = np.asarray(shape["points"]).astype(int)
            mask[y1 : y2 + 1, x1 : x2 + 1] = shape["mask"]
        else:
            mask = utils.shape_to_mask(size, shape["points"], shape["shape_type"])
        found.append(
            {
                "index": index,
                "shape_type": shape["shape_type"],
                "size": list(size),
                "bits": base64.b64encode(np.packbits(mask)).decode("ascii"),
            }
        )
    return found


def load(paths: list[str]) -> list[dict[str, object]]:
    """What LabelMe's ``LabelFile`` reads from each file (it checks every shape and that the
    image matches imageWidth/imageHeight)."""
    from labelme import LabelFile, utils

    found = []
    for path in paths:
        label_file = LabelFile(path)
        height, width = utils.img_data_to_arr(label_file.image_data).shape[:2]
        found.append(
            {
                "path": path,
                "size": [width, height],
                "shapes": [
                    [s["label"], s["shape_type"], s["group_id"], s["flags"]]
                    for s in label_file.shapes
                ],
            }
        )
    return found


def main() -> None:
    import labelme

    mode, *paths = sys.argv[1:]
    result = masks(paths[0]) if mode == "masks" else load(paths)
    print(json.dumps({"version": labelme.__version__, "result": result}))


if __name__ == "__main__":
    main()
