"""Seeded corruptions of real inputs, and how each verb is run on them (tests/test_corruption.py).

A *mutant* is a small input tree in a fresh folder: a COCO JSON file, a Pascal VOC XML file, a
YOLO dataset folder or a folder of mask PNGs, one of its files corrupted. :data:`VERBS` says, for
every verb of the command line, which kinds of mutant it reads and the arguments that run it on
one; a verb added to the command line without an entry fails ``test_every_verb_has_an_entry``.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .conftest import FIXTURES, REALDATA

# --- the seeds: real inputs, read in place ---------------------------------------------------

COCO_SEEDS = sorted(
    [
        *(FIXTURES / "coco").glob("*.json"),
        *(FIXTURES / "coco" / "tools").glob("*.json"),
        *REALDATA.glob("coco_*/*.json"),
        FIXTURES / "validate" / "broken.json",
        FIXTURES / "yolo" / "instances_edge.json",
    ]
)
VOC_SEEDS = sorted(
    [
        *(FIXTURES / "voc").glob("*/*.xml"),
        *(FIXTURES / "voc").glob("*/Annotations/*.xml"),
        *(REALDATA / "voc_xml").glob("*.xml"),
    ]
)
MASK_SEEDS = sorted((FIXTURES / "voc").glob("*/Segmentation*/*.png"))
CVAT_SEEDS = sorted((REALDATA / "cvat_xml").glob("*.xml"))
LABEL_STUDIO_SEEDS = sorted((REALDATA / "label_studio_json").glob("*.json"))
LABELME_SEEDS = sorted((REALDATA / "labelme_json").glob("*.json"))
VIA_SEEDS = sorted((REALDATA / "via_json").glob("*.json"))
SA1B_SEEDS = sorted((FIXTURES / "sa1b" / "folder").glob("*.json"))
#: Every kind of input a mutant can be (the formats coco-convert reads).
READ_KINDS = ("coco", "voc", "yolo", "masks", "cvat", "labelstudio", "labelme", "via", "sa1b")
_GOOD = str(FIXTURES / "coco" / "instances.json")
YOLO_LABEL_SEEDS = sorted(
    p for p in (REALDATA / "yolo").glob("*.txt") if "classes" not in p.name and "obj." not in p.name
) + sorted((REALDATA / "yolo_pose").glob("*.txt"))
YAML_SEEDS = sorted([*(REALDATA / "yolo").glob("*.yaml"), *(REALDATA / "yolo_pose").glob("*.yaml")])


@dataclass(frozen=True)
class Mutant:
    """One corrupted input: its ``kind`` (coco, voc, yolo, masks), the path a verb is given,
    the files that must come out of every verb unchanged, and how it was made."""

    kind: str
    path: Path
    root: Path
    how: str


# --- how each verb runs on a mutant ----------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """The kinds of mutant a verb reads, and its arguments given the mutant, an empty folder
    for its output (which must still be empty after a failure) and shared helper folders
    (``images``: small pictures for every ``file_name`` of the COCO seeds)."""

    kinds: tuple[str, ...]
    args: Callable[[Mutant, Path, dict[str, Path]], list[str]]


def _to_folder(mutant: Mutant, work: Path) -> list[str]:
    return [str(mutant.path), "-o", str(work / "out")]


def _to_file(mutant: Mutant, work: Path, name: str = "out.json") -> list[str]:
    return [str(mutant.path), "-o", str(work / name)]


#: Every verb of ``coco-convert``. A verb that takes no input file (``schema``) has no kinds
#: and runs once with the arguments given. Add an entry with every new verb (see
#: CONTRIBUTING.md): ``test_every_verb_has_an_entry`` fails until there is one.
VERBS: dict[str, Invocation] = {
    "info": Invocation(("coco",), lambda m, w, h: [str(m.path)]),
    "schema": Invocation((), lambda m, w, h: ["--kind", "results"]),
    "validate": Invocation(READ_KINDS, lambda m, w, h: [str(m.path)]),
    "coco2voc": Invocation(("coco",), lambda m, w, h: [*_to_folder(m, w), "--masks"]),
    "coco2yolo": Invocation(
        ("coco",),
        lambda m, w, h: [
            *_to_folder(m, w),
            "--task",
            "segment",
            "--images",
            str(h["images"]),
            "--copy",
        ],
    ),
    "poly2rle": Invocation(("coco",), lambda m, w, h: [*_to_file(m, w), "--compress"]),
    "rle2poly": Invocation(("coco",), lambda m, w, h: _to_file(m, w)),
    "voc2coco": Invocation(("voc",), lambda m, w, h: [*_to_file(m, w), "--coords", "zero-based"]),
    "yolo2coco": Invocation(("yolo",), lambda m, w, h: _to_folder(m, w)),
    "masks2coco": Invocation(("masks",), lambda m, w, h: [*_to_file(m, w), "--kind", "instance"]),
    "draw": Invocation(
        ("coco",), lambda m, w, h: [*_to_folder(m, w), "--images", str(h["images"]), "--limit", "1"]
    ),
    "formats": Invocation((), lambda m, w, h: []),
    "cvat2coco": Invocation(("cvat",), lambda m, w, h: _to_file(m, w)),
    "labelme2coco": Invocation(("labelme",), lambda m, w, h: _to_file(m, w)),
    "via2coco": Invocation(("via",), lambda m, w, h: _to_file(m, w)),
    "sa1b2coco": Invocation(("sa1b",), lambda m, w, h: _to_file(m, w)),
    "coco2labelme": Invocation(("coco",), lambda m, w, h: _to_folder(m, w)),
    "merge": Invocation(("coco",), lambda m, w, h: [*_to_file(m, w), _GOOD]),
    "split": Invocation(
        ("coco",), lambda m, w, h: [*_to_folder(m, w), "--ratios", "a=0.5,b=0.5", "--stratify"]
    ),
    "filter": Invocation(
        ("coco",), lambda m, w, h: [*_to_file(m, w), "--cat", "person", "--area", "10:"]
    ),
    "sample": Invocation(("coco",), lambda m, w, h: [*_to_file(m, w), "-n", "1", "--stratify"]),
    "remap": Invocation(
        ("coco",), lambda m, w, h: [*_to_file(m, w), "--map", str(h["map"]), "--ids", "compact"]
    ),
    "diff": Invocation(("coco",), lambda m, w, h: [str(m.path), _GOOD, "--match", "iou"]),
    "stats": Invocation(("coco",), lambda m, w, h: [str(m.path), "--json"]),
    "labelstudio2coco": Invocation(("labelstudio",), lambda m, w, h: _to_file(m, w)),
    "coco2cvat": Invocation(("coco",), lambda m, w, h: _to_file(m, w, "annotations.xml")),
    "coco2labelstudio": Invocation(("coco",), lambda m, w, h: _to_file(m, w, "tasks.json")),
    "convert": Invocation(
        READ_KINDS,
        lambda m, w, h: [*_to_folder(m, w), "--to", "voc" if m.kind == "coco" else "coco"],
    ),
    "gallery": Invocation(
        ("coco",),
        lambda m, w, h: [*_to_file(m, w, "g.html"), "--images", str(h["images"]), "--limit", "1"],
    ),
}


# --- corrupting JSON documents (structural: driven by hypothesis) -----------------------------

#: Values put in place of others: wrong types, numbers beyond every range, text that breaks
#: lines or is no text at all, nesting deeper than parsers recurse.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    2**31,
    2**63,
    -(2**63) - 1,
    10**40,
    1e308,
    -1e308,
    5e-324,
    float("nan"),
    float("inf"),
    "",
    "640",
    "false",
    "a\nb\x1b[31m",
    "é\u2028\u0000",
    "../../etc/passwd",
    "/abs/x.jpg",
    "C:\\\\x.jpg",
    "x" * 5000,
    [],
    [[]],
    [1, 2],
    [0, 0, 0, 0],
    [1e308, 1e308, 1e308, 1e308],
    {},
    {"counts": "é\u00ff", "size": [10, 10]},
    {"counts": [5, -3], "size": [2, 2]},
    {"counts": "0", "size": [2**31, 2**31]},
    {"size": [100000, 100000], "counts": [10**10]},
]


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def locations(document: Any, limit: int = 400) -> list[tuple[Any, Any]]:
    """(container, key) of values in the document, breadth first (the top levels, where the
    records and their fields are)."""
    found: list[tuple[Any, Any]] = []
    queue: list[Any] = [document]
    while queue and len(found) < limit:
        value = queue.pop(0)
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for key, item in list(items)[:40]:
            found.append((value, key))
            if isinstance(item, dict | list):
                queue.append(item)
    return found


def mutate_document(document: Any, operations: list[tuple[int, int, int]]) -> tuple[Any, str]:
    """Apply ``(place, operation, value)`` choices (any integers: taken modulo what there is)
    to a parsed document; returns it and a description."""
    done = []
    for place, operation, choice in operations:
        spots = locations(document)
        if not spots:
            document = copy.deepcopy(ODD_VALUES[choice % len(ODD_VALUES)])
            done.append("document replaced")
            continue
        container, key = spots[place % len(spots)]
        value = container[key]
        kind = operation % 7
        if kind == 0:
            # a copy: the same list put in twice, then changed, would be a cycle (and would
            # change ODD_VALUES for the examples that follow)
            container[key] = copy.deepcopy(ODD_VALUES[choice % len(ODD_VALUES)])
            done.append(f"{key!r} = {ODD_VALUES[choice % len(ODD_VALUES)]!r:.40}")
        elif kind == 1:
            del container[key]
            done.append(f"del {key!r}")
        elif kind == 2 and isinstance(value, list) and value:
            container[key] = value + value[: 1 + choice % len(value)]  # duplicates
            done.append(f"{key!r} duplicated items")
        elif kind == 3 and isinstance(value, list):
            container[key] = value[: choice % (len(value) + 1)]
            done.append(f"{key!r} cut")
        elif kind == 4:
            container[key] = deep(100 + choice % 3000)
            done.append(f"{key!r} nested deep")
        elif kind == 5 and isinstance(value, int | float) and not isinstance(value, bool):
            container[key] = [value * 10**12, -value, value + 0.5, 0][choice % 4]
            done.append(f"{key!r} number changed")
        elif kind == 6 and isinstance(value, dict):
            keys = list(value)
            if len(keys) > 1:
                a, b = keys[choice % len(keys)], keys[(choice + 1) % len(keys)]
                value[a], value[b] = value[b], value[a]
                done.append(f"{key!r}: swapped {a!r} and {b!r}")
        else:
            container[key] = str(value)[:50]
            done.append(f"{key!r} as text")
    return document, "; ".join(done)


def dump(document: Any) -> bytes:
    """JSON as a careless tool writes it: NaN and Infinity tokens, any text, nesting deeper
    than Python's default recursion limit lets the json module write."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")
    finally:
        sys.setrecursionlimit(limit)


# --- corrupting bytes (every format) ------------------------------------------------------------


def _xml_mutations(text: str, rng: random.Random) -> tuple[str, str]:
    tags = re.findall(r"<(\w+)>([^<]*)</\1>", text)
    choice = rng.randrange(9)
    if choice == 0 and tags:
        tag, _ = rng.choice(tags)
        value = rng.choice(["9" * 400, "-5", "nan", "1e999", "", "  ", "12.5", "0", "x"])
        return re.sub(
            rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1
        ), f"<{tag}> = {value[:20]!r}"
    if choice == 1 and tags:
        tag, _ = rng.choice(tags)
        return re.sub(rf"<{tag}>[^<]*</{tag}>", "", text, count=1), f"<{tag}> removed"
    if choice == 2:
        bomb = '<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return bomb + text.split("?>", 1)[-1], "entity expansion bomb"
    if choice == 3:
        xxe = '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        return xxe + text.replace("<name>", "<name>&x;", 1), "external entity"
    if choice == 4:
        return text.replace("<annotation", "<annotations", 1).replace(
            "</annotation>", "</annotations>"
        ), "root renamed"
    if choice == 5:
        obj = re.search(r"<object>.*?</object>", text, re.S)
        return (text.replace(obj.group(), obj.group() * 300) if obj else text), "objects repeated"
    if choice == 6:
        return "<annotation>" * 3000 + "</annotation>" * 3000, "nested 3000 deep"
    if choice == 7:
        return text.replace(
            "<object>", "<object><bndbox><xmin>1</xmin></bndbox>", 1
        ), "a second, partial box"
    return text.replace("</name>", "\x01</name>", 1), "control character in a name"


def _yaml_mutations(text: str, rng: random.Random) -> tuple[str, str]:
    choice = rng.randrange(8)
    if choice == 0:
        letters = "abcdefghij"
        laughs = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        for i in range(1, 9):
            refs = ", ".join(["*" + letters[i - 1]] * 9)
            laughs += f"{letters[i]}: &{letters[i]} [{refs}]\n"
        return laughs + "names: *i\n", "billion laughs in names"
    if choice == 1:
        return text + "\nnames: {0: a, 1000000000: b}\n", "names index 10^9"
    if choice == 2:
        return text + "\nnames: " + "[" * 3000 + "]" * 3000 + "\n", "names nested 3000 deep"
    if choice == 3:
        return text + "\nkpt_shape: [99999999999, 3]\n", "huge kpt_shape"
    if choice == 4:
        return text + f"\nnc: {10**30}\n", "huge nc"
    if choice == 5:
        return text.replace(":", ": [", 1), "unbalanced bracket"
    if choice == 6:
        return text + "\ntrain: ../../../../etc\nval: /dev\n", "splits outside the dataset"
    return text + "\nnames: [[a, b], {c: d}]\n", "names of the wrong type"


def _label_mutations(text: str, rng: random.Random) -> tuple[str, str]:
    rows = [
        "0 nan 0.5 0.1 0.1",
        "0 inf 0.5 0.1 0.1",
        f"{10**30} 0.5 0.5 0.1 0.1",
        "-1 0.5 0.5 0.1 0.1",
        "0 0.5 0.5 1e308 1e308",
        "0 0.5",
        "0 " + " ".join(["0.5"] * 20001),
        "1.5 0.5 0.5 0.1 0.1",
        "zero 0.5 0.5 0.1 0.1",
        "0 0.5 0.5 0 0",
        "0 0.1 0.1 0.2 0.1 0.2 0.2",
        "0 5 5 10 10",
        "\x00\x01\x02",
    ]
    picked = rng.sample(rows, 1 + rng.randrange(3))
    return text + "\n" + "\n".join(picked) + "\n", f"rows {picked!r:.60}"


def byte_mutation(data: bytes, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    """One corruption of a file's bytes, chosen by ``rng``: format-aware edits (XML
    entities, YAML bombs, label rows), truncation, byte flips, encodings, gzip damage."""
    choice = rng.randrange(12)
    text = data.decode("utf-8", "replace")
    if choice <= 2 and fmt in ("xml", "yaml", "label"):
        mutate = {"xml": _xml_mutations, "yaml": _yaml_mutations, "label": _label_mutations}[fmt]
        mutated, how = mutate(text, rng)
        return mutated.encode("utf-8", "surrogatepass"), how
    if choice == 3:
        at = rng.randrange(len(data) + 1)
        return data[:at], f"truncated at byte {at}"
    if choice == 4:
        out = bytearray(data)
        for _ in range(1 + rng.randrange(8)):
            if out:
                out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out), "bytes flipped"
    if choice == 5:
        encoding = rng.choice(["utf-16", "utf-32", "utf-16-be", "latin-1", "cp1252"])
        return text.encode(encoding, "replace"), f"encoded as {encoding}"
    if choice == 6:
        return b"\xef\xbb\xbf" + data, "byte-order mark"
    if choice == 7:
        zipped = bytearray(gzip.compress(data))
        if rng.random() < 0.7 and len(zipped) > 30:
            for _ in range(4):
                zipped[rng.randrange(10, len(zipped))] ^= 0xFF
            return bytes(zipped), "gzip, damaged"
        return bytes(zipped), "gzip"
    if choice == 8:
        return data + data, "written twice"
    if choice == 9:
        return rng.randbytes(rng.randrange(1, 200)), "random bytes"
    if choice == 10:
        return b"", "empty"
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"[" * 5000 + data[at:], "5000 brackets inserted"


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)
