#!/usr/bin/env python3
"""voc2coco next to its peers on the same input: every kind of difference, counted.

    python benchmarks/compare_voc.py VOC_DEVKIT [--peer-python /tmp/peers-voc/bin/python]

Runs `coco-convert voc2coco` and, in the peers' venv (pip install globox datumaro; never a
dependency of coco-convert), globox (AnnotationSet.from_pascal_voc -> save_coco) and datumaro
(Dataset.import_from(..., "voc_detection") -> export "coco_instances"). Objects are matched by
image file name and order; the output lists, per peer, how categories, ids, boxes, images
and fields differ. docs/voc.md explains each difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

GLOBOX = r"""
import sys
from globox import AnnotationSet
AnnotationSet.from_pascal_voc(sys.argv[1] + "/Annotations").save_coco(sys.argv[2], auto_ids=True)
"""

DATUMARO = r"""
import glob, shutil, sys
import datumaro as dm
dm.Dataset.import_from(sys.argv[1], "voc_detection").export(sys.argv[2] + ".d", "coco_instances")
parts = sorted(glob.glob(sys.argv[2] + ".d/annotations/*.json"))
# VOC lists an image in train.txt, val.txt and trainval.txt: keep one subset of each image
parts = [p for p in parts if p.endswith("_trainval.json")] or parts
merged = {"images": [], "annotations": [], "categories": None}
for part in parts:  # one file per subset (train, val, ...)
    doc = __import__("json").load(open(part))
    merged["categories"] = doc["categories"]
    merged["images"] += doc["images"]
    merged["annotations"] += doc["annotations"]
__import__("json").dump(merged, open(sys.argv[2], "w"))
shutil.rmtree(sys.argv[2] + ".d")
"""


def by_image(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    names = {img["id"]: Path(img["file_name"]).name for img in doc["images"]}
    cats = {cat["id"]: cat["name"] for cat in doc["categories"]}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names.values()}
    for ann in doc["annotations"]:
        out[names[ann["image_id"]]].append({**ann, "_class": cats.get(ann["category_id"])})
    return out


def compare(ours: dict[str, Any], peer: dict[str, Any]) -> Counter[str]:
    found: Counter[str] = Counter()
    ours_cats = [(c["id"], c["name"]) for c in ours["categories"]]
    peer_cats = [(c["id"], c["name"]) for c in peer["categories"]]
    if ours_cats != peer_cats:
        found[f"categories: ours {ours_cats[:3]}... peer {peer_cats[:3]}..."] += 1
    if len(ours["images"]) != len(peer["images"]):
        found[f"images: ours {len(ours['images'])}, peer {len(peer['images'])}"] += 1
    ids_ours = sorted(img["id"] for img in ours["images"])
    ids_peer = sorted(img["id"] for img in peer["images"])
    if ids_ours[:1] != ids_peer[:1]:
        found[f"image ids start at: ours {ids_ours[:1]}, peer {ids_peer[:1]}"] += 1
    a, b = by_image(ours), by_image(peer)
    for name in a.keys() & b.keys():
        if len(a[name]) != len(b[name]):
            found["objects per image differ"] += 1
        for x, y in zip(a[name], b[name], strict=False):
            if x["_class"] != y["_class"]:
                found["class of an object differs"] += 1
            delta = [
                round(float(p) - float(q), 6) for p, q in zip(x["bbox"], y["bbox"], strict=True)
            ]
            if any(delta):
                found[f"bbox ours - peer = {delta}"] += 1
            for key in sorted(x.keys() - y.keys() - {"_class"}):
                found[f"field only in ours: {key}"] += 1
            for key in sorted(y.keys() - x.keys() - {"_class"}):
                found[f"field only in peer: {key} (e.g. {y[key]!r})"] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("devkit", type=Path)
    parser.add_argument("--peer-python", default="/tmp/peers-voc/bin/python")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("coco-convert"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run(
            [cli, "-q", "voc2coco", str(args.devkit), "-o", str(out / "ours.json")], check=True
        )
        ours = json.loads((out / "ours.json").read_text())
        for peer, script in (("globox", GLOBOX), ("datumaro", DATUMARO)):
            target = out / f"{peer}.json"
            subprocess.run(
                [args.peer_python, "-c", script, str(args.devkit), str(target)], check=True
            )
            found = compare(ours, json.loads(target.read_text()))
            print(f"\n{peer}: {sum(found.values()):,} differences on {args.devkit}")
            for kind, count in found.most_common(12):
                print(f"  {count:>7,} x {kind}")


if __name__ == "__main__":
    main()
