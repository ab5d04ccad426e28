"""cvat2coco against the parse floor and Datumaro, on a generated 10,000-image CVAT export.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_cvat.py [--images 10000] [--runs 3]

Jobs, each a fresh process, best of ``--runs`` (wall seconds, peak RSS of the process):

* floor: lxml ``iterparse`` of the file (``<image>``/``<track>`` elements cleared as read)
  touching what a conversion needs: every label, coordinate (``float``), points string
  (split, ``float``), mask run lengths (split, ``int``) and attribute text;
* whole tree: ``lxml.etree.parse`` of the file, what reading it without streaming holds (the
  memory a reader that is not streamed needs before it converts anything);
* ours, read: ``read_cvat`` (COCO datasets in memory: masks placed as exact RLE, tracks
  split into frames);
* ours, cvat2coco: the command, read and COCO JSON written;
* Datumaro: ``Dataset.import_from(dir, "cvat")`` then ``export(out, "coco_instances")``
  (Datumaro 1.13.12 from ``.venv-datumaro``, which `make test` builds). Datumaro needs every
  image file to exist: empty files are laid out beside the XML once.

The data is generated once under ``--work`` (default /tmp/data/cvat-bench) by gen_cvat.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from shared_bench import best_of, print_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FLOOR = r"""
import gc, sys
from lxml import etree
gc.disable()
n = 0
for _, el in etree.iterparse(sys.argv[1], events=("end",), tag=("image", "track", "meta"),
                              resolve_entities=False, no_network=True, huge_tree=False):
    get = el.get
    if el.tag == "image":
        get("name"); int(get("width")); int(get("height"))
    for child in el:
        child.get("label"); child.get("occluded"); child.get("z_order")
        if child.tag == "box":
            [float(child.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
        elif child.tag == "mask":
            [int(v) for v in child.get("rle").split(",")]
            [int(child.get(k)) for k in ("left", "top", "width", "height")]
        elif child.get("points") is not None:
            [float(v) for v in child.get("points").replace(";", ",").split(",")]
        for attribute in child:
            attribute.get("name"); attribute.text
        n += 1
    el.clear()
    parent = el.getparent()
    while el.getprevious() is not None:
        del parent[0]
print(n)
"""

TREE = r"""
import sys
from lxml import etree
tree = etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True))
print(len(tree.getroot()))
"""

OURS = r"""
import sys
from coco_convert.converters.cvat import read_cvat
datasets, report = read_cvat(sys.argv[1])
print(sum(len(d.annotations) for d in datasets.values()))
"""

PEER = r"""
import sys
from datumaro import Dataset
Dataset.import_from(sys.argv[1], "cvat").export(sys.argv[2], "coco_instances", save_media=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/data/cvat-bench"))
    parser.add_argument("--peer-python", type=Path, default=ROOT / ".venv-datumaro/bin/python")
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("coco-convert"))
    export = args.work / f"cvat-{args.images}"
    xml = export / "annotations.xml"
    if not xml.is_file():
        subprocess.run(
            [python, str(HERE / "gen_cvat.py"), str(xml), "--images", str(args.images)],
            check=True,
        )
    images = export / "images"
    if not images.is_dir():
        from coco_convert.converters.cvat import read_cvat

        (dataset,) = read_cvat(xml)[0].values()
        for image in dataset.images:
            target = images / image["file_name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
    out = args.work / "out"
    jobs = {
        "floor (lxml)": [python, "-c", FLOOR, str(xml)],
        "whole tree (lxml)": [python, "-c", TREE, str(xml)],
        "ours, read": [python, "-c", OURS, str(xml)],
        "ours, cvat2coco": [cli, "--quiet", "cvat2coco", str(xml), "-o", str(out / "ours.json")],
    }
    if args.peer_python.is_file():
        jobs["Datumaro"] = [str(args.peer_python), "-c", PEER, str(export), str(out / "dm")]
    else:
        print(f"{args.peer_python} not found: Datumaro left out", file=sys.stderr)
    print(f"{xml}: {xml.stat().st_size / 2**20:.0f} MiB, {args.images:,} images")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    best = best_of(jobs, args.runs, out)
    print_table(best, "floor (lxml)")
    if "Datumaro" in best:
        ours = best["ours, cvat2coco"][0]
        print(f"\n  Datumaro / cvat2coco: {best['Datumaro'][0] / ours:.2f}x")


if __name__ == "__main__":
    main()
