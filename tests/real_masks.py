"""Real masks for geometry tests and benchmarks, read in place from the real exports.

Every segmentation in the real COCO files (the panopticapi RLEs, crowd RLEs, polygons drawn in
labelme, CVAT, COCO Annotator, makesense) rasterised by pycocotools, plus the mask shape of the
labelme example (a base64 PNG).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from .conftest import REALDATA


@dataclass(frozen=True)
class RealMask:
    name: str  # file:annotation id
    rle: dict[str, Any]  # compressed, str counts
    crowd: bool

    @property
    def mask(self) -> np.ndarray:
        return coco_mask.decode({"size": self.rle["size"], "counts": self.rle["counts"].encode()})


def _compressed(encoded: dict[str, Any]) -> dict[str, Any]:
    return {"size": list(encoded["size"]), "counts": encoded["counts"].decode()}


def real_masks(root: Path = REALDATA) -> list[RealMask]:
    found: list[RealMask] = []
    for path in sorted(root.glob("coco_*/*.json")):
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or "annotations" not in document:
            continue
        images = {image["id"]: image for image in document.get("images", [])}
        for ann in document["annotations"]:
            segmentation = ann.get("segmentation")
            image = images.get(ann.get("image_id"))
            if not segmentation or image is None:
                continue
            h, w = image["height"], image["width"]
            if isinstance(segmentation, dict):
                if isinstance(segmentation["counts"], list):
                    encoded = coco_mask.frPyObjects(segmentation, h, w)
                else:
                    encoded = {**segmentation, "counts": segmentation["counts"].encode()}
            else:
                encoded = coco_mask.merge(coco_mask.frPyObjects(segmentation, h, w))
            name = f"{path.name}:{ann.get('id')}"
            found.append(RealMask(name, _compressed(encoded), bool(ann.get("iscrowd"))))
    found.extend(_labelme_masks(root / "labelme_json" / "labelme-primitives.json"))
    return found


def _labelme_masks(path: Path) -> list[RealMask]:
    from PIL import Image

    document = json.loads(path.read_text())
    out = []
    for k, shape in enumerate(document["shapes"]):
        if shape.get("shape_type") != "mask":
            continue
        part = np.asarray(Image.open(io.BytesIO(base64.b64decode(shape["mask"])))) != 0
        (x1, y1), _ = shape["points"]
        x, y = round(x1), round(y1)
        full = np.zeros((document["imageHeight"], document["imageWidth"]), dtype=np.uint8)
        full[y : y + part.shape[0], x : x + part.shape[1]] = part
        encoded = coco_mask.encode(np.asfortranarray(full))
        out.append(RealMask(f"{path.name}:shape{k}", _compressed(encoded), False))
    return out
