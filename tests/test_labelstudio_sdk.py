"""What `coco2labelstudio` writes, decoded by Label Studio's own code: every brush region's
mask, as label-studio-sdk's `brush.decode_rle` reads it, is the COCO mask it came from, pixel
for pixel.

label-studio-sdk runs from its own environment, which `make test` builds
(`.venv-labelstudio`, the version pinned in the Makefile: it pulls in OpenCV, pandas and NLTK,
none of which the project's tests should run beside). `COCO_CONVERT_LABELSTUDIO` names another
Python that has it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import coco_convert
from coco_convert import geometry
from coco_convert.converters.labelstudio import write_labelstudio

from .conftest import FIXTURES, ROOT

SCRIPT = Path(__file__).with_name("labelstudio_oracle.py")
PYTHON = Path(
    os.environ.get("COCO_CONVERT_LABELSTUDIO", ROOT / ".venv-labelstudio" / "bin" / "python")
)


def sdk_brushes(export: Path) -> list[list[dict[str, Any]]]:
    """Per task, its brush regions as label-studio-sdk decodes them (labelstudio_oracle.py)."""
    if not PYTHON.is_file():
        pytest.fail(
            f"no label-studio-sdk environment at {PYTHON}: `make test` builds it (or set "
            "COCO_CONVERT_LABELSTUDIO to a Python with label-studio-sdk installed)"
        )
    done = subprocess.run(
        [str(PYTHON), str(SCRIPT), str(export)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: list[list[dict[str, Any]]] = json.loads(done.stdout)
    return found


def edges(mask: np.ndarray) -> list[int]:
    """The flat row-major positions where ``mask`` switches on or off (the oracle's form)."""
    flat = (mask > 0).astype(np.int8).ravel()
    return np.flatnonzero(np.diff(np.concatenate(([0], flat, [0])))).tolist()


def masks_dataset(tmp_path: Path) -> coco_convert.Dataset:
    """COCO's val2014 fixture with every polygon made RLE (crowd RLE as it is), and an image of
    random masks: holes, islands, runs across rows, a mask touching every border."""
    rng = np.random.default_rng(7)
    document = json.loads((FIXTURES / "coco" / "instances.json").read_text(encoding="utf-8"))
    for annotation in document["annotations"]:
        image = next(i for i in document["images"] if i["id"] == annotation["image_id"])
        if isinstance(annotation["segmentation"], list):
            annotation["segmentation"] = geometry.to_rle(
                annotation["segmentation"], image["height"], image["width"]
            )
    height, width = 37, 53
    document["images"].append(
        {"id": 10**6, "file_name": "random.png", "height": height, "width": width}
    )
    speckle = rng.random((height, width)) < 0.4
    ring = np.ones((height, width), bool)
    ring[5:-5, 7:-7] = False
    ring[15:20, 20:30] = True  # an island in the hole
    for number, mask in enumerate([speckle, ring, np.ones((height, width), bool)]):
        rle = geometry.mask_to_rle(mask.astype(np.uint8))
        document["annotations"].append(
            {
                "id": 10**6 + number,
                "image_id": 10**6,
                "category_id": document["categories"][0]["id"],
                "segmentation": rle,
                "area": int(mask.sum()),
                "bbox": geometry.bbox(rle, height, width),
                "iscrowd": 0,
            }
        )
    path = tmp_path / "masks.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return coco_convert.load(path)


@pytest.mark.parametrize("as_annotations", [False, True])
def test_label_studio_decodes_our_brushes_to_our_masks(
    tmp_path: Path, as_annotations: bool
) -> None:
    dataset = masks_dataset(tmp_path)
    export = tmp_path / "tasks.json"
    write_labelstudio(dataset, export, as_annotations=as_annotations)
    decoded = sdk_brushes(export)
    names = {c["id"]: c["name"] for c in dataset.categories}
    assert len(decoded) == len(dataset.images)
    compared = 0
    for image, regions in zip(dataset.images, decoded, strict=True):
        ours = [a for a in dataset.annotations if a["image_id"] == image["id"]]
        assert len(regions) == len(ours) > 0
        for annotation, region in zip(ours, regions, strict=True):
            assert region["labels"] == [names[annotation["category_id"]]]
            mask = geometry.rle_to_mask(annotation["segmentation"])
            assert mask.shape == (image["height"], image["width"])
            assert region["edges"] == edges(mask)
            compared += 1
    assert compared == len(dataset.annotations) == 12
