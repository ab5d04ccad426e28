"""The mask rules (G104-G107, G109) against the straightforward computation, annotation by
annotation: pycocotools' ``frPyObjects`` + ``merge`` + ``area`` + ``toBbox`` on one
segmentation at a time, and shapely's scalar ``Polygon.is_valid`` / ``make_valid`` on one ring
at a time. The validator batches all of it (one encoding per image, shapely's array functions
over every ring, chunks in worker processes): its findings must be the same, code, place,
message, fix and order, on the fixtures, the real exports and generated polygons (degenerate,
self-crossing, holes made of parts, tiny, outside the image, RLE crowds)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from coco_convert.errors import GeometryError
from coco_convert.geometry import check_rle
from coco_convert.schemas.coco import Kind
from coco_convert.validate import RULES, Settings
from coco_convert.validate.context import Context, fmt
from coco_convert.validate.diagnostics import Diagnostic, Edit, Fix, Location
from coco_convert.validate.engine import run_checks
from coco_convert.validate.results import sort_key
from coco_convert.validate.runner import validate_document
from tests.conftest import REALDATA

MASK_RULES = frozenset({"G104", "G105", "G106", "G107", "G109"})
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FILE = "masks.json"


# --- the straightforward computation ------------------------------------------------------


def _pycocotools(segmentation: Any, height: int, width: int) -> tuple[int, list[float]] | None:
    """Area and box of one segmentation, by pycocotools alone (None: not rasterisable)."""
    if isinstance(segmentation, dict):
        try:  # (G108 and G109 report the RLEs that do not fit their image)
            check_rle(segmentation, height, width)
        except GeometryError:
            return None
        counts = segmentation["counts"]
        if isinstance(counts, list):
            rle = coco_mask.frPyObjects(segmentation, height, width)
        else:
            rle = {"size": segmentation["size"], "counts": counts.encode("ascii")}
    else:
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    return int(coco_mask.area(rle)), [float(v) for v in coco_mask.toBbox(rle)]


def _ring_problem(index: int, polygon: list[float]) -> tuple[str, str] | None:
    """G106 or G107 of one ring, with its message (shapely's scalar API)."""
    ring = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    twice = 0.0
    for k in range(len(ring)):  # the shoelace, summed in order
        x, y = ring[k]
        nx, ny = ring[(k + 1) % len(ring)]
        twice += x * ny - y * nx
    if twice == 0 and np.linalg.matrix_rank(ring - ring[0]) <= 1:
        return "G106", f"polygon {index}: all points on one line"
    shape = shapely.Polygon(np.where(np.abs(ring) < 1e-9, 0.0, ring))
    if shape.is_valid:
        return None
    filled = shapely.make_valid(shape).area
    if math.isclose(filled, abs(twice) / 2, rel_tol=1e-6, abs_tol=1e-6):
        return None
    return "G107", f"polygon {index} crosses itself ({shapely.is_valid_reason(shape)})"


def _show(box: list[float]) -> str:
    return "[" + ", ".join(fmt(v) for v in box) + "]"


def oracle(
    document: Any, settings: Settings | None = None, kind: Kind = "instances"
) -> list[Diagnostic]:
    """The mask rules' findings, one annotation at a time."""
    settings = Settings(select=MASK_RULES) if settings is None else settings
    # the schema alone (any schema code runs it): which records the rules may read
    ctx = Context(FILE, document, kind, Settings(select=frozenset({"S001"})))
    run_checks(ctx)
    found: list[tuple[str, str, str, Fix | None]] = []
    tolerance, relative = settings.bbox_tolerance, settings.area_tolerance
    for i, ann in ctx.records("annotations"):
        segmentation = ann.get("segmentation")
        size = ctx.image_size(ann.get("image_id"))
        if isinstance(segmentation, dict):
            try:
                check_rle(segmentation)
            except GeometryError as exc:
                found.append(("G109", f"/annotations/{i}/segmentation/counts", str(exc), None))
        if isinstance(segmentation, list) and segmentation:
            where = f"/annotations/{i}/segmentation"
            problems = []
            for k, polygon in enumerate(segmentation):
                problem = _ring_problem(k, polygon)
                if problem is not None:
                    problems.append((k, problem))
            degenerate = [k for k, (code, _) in problems if code == "G106"]
            if degenerate:
                if len(degenerate) < len(segmentation):
                    edits = tuple(Edit(f"{where}/{k}") for k in degenerate)
                    fix = Fix("delete the polygons that enclose nothing", edits, "unsafe")
                else:
                    fix = Fix.remove(
                        "delete the segmentation (nothing is left)", where, unsafe=True
                    )
                first = next((k, p) for k, p in problems if p[0] == "G106")
                found.append(("G106", f"{where}/{first[0]}", first[1][1], fix))
            for k, (code, message) in problems:
                if code == "G107":
                    found.append(("G107", f"{where}/{k}", message, None))
        if not segmentation or size is None or not ("bbox" in ann or "area" in ann):
            continue
        measured = _pycocotools(segmentation, size[1], size[0])
        if measured is None:
            continue
        area, box = measured
        where = f"/annotations/{i}"
        bbox = ann.get("bbox")
        if bbox is not None and area > 0 and bbox[2] > 0 and bbox[3] > 0:
            x, y, w, h = bbox
            edges = {
                "left": abs(x - box[0]),
                "top": abs(y - box[1]),
                "right": abs(x + w - (box[0] + box[2])),
                "bottom": abs(y + h - (box[1] + box[3])),
            }
            fits = False
            if isinstance(segmentation, list):
                xs = [v for p in segmentation for v in p[0::2]]
                ys = [v for p in segmentation for v in p[1::2]]
                vertices = {
                    "left": abs(x - min(xs)),
                    "top": abs(y - min(ys)),
                    "right": abs(x + w - max(xs)),
                    "bottom": abs(y + h - max(ys)),
                }
                fits = max(vertices.values()) <= tolerance
            worst = max(edges.values())
            if worst > tolerance and not fits:
                edge = next(k for k, v in edges.items() if v == worst)
                found.append(
                    (
                        "G104",
                        f"{where}/bbox",
                        f"bbox {_show(bbox)} differs from the segmentation's box {_show(box)} "
                        f"by {fmt(worst)} px at the {edge} edge",
                        Fix.replace("set bbox to the segmentation's box", f"{where}/bbox", box),
                    )
                )
        declared = ann.get("area")
        if declared is not None:
            allowed = max(relative * max(declared, area), box[2] + box[3], 4.0)
            if abs(declared - area) > allowed:
                found.append(
                    (
                        "G105",
                        f"{where}/area",
                        f"area {fmt(declared)} differs from the segmentation's {area:,} pixels",
                        Fix.replace(f"set area {area}", f"{where}/area", area),
                    )
                )
    diagnostics = [
        Diagnostic(code, message, Location(FILE, pointer), RULES[code].severity, fix)
        for code, pointer, message, fix in found
        if code in settings.select
    ]
    return sorted(diagnostics, key=sort_key)


def _findings(diagnostics: list[Diagnostic]) -> list[tuple[Any, ...]]:
    return [(d.code, str(d.location), d.message, d.severity, d.fix) for d in diagnostics]


def _validated(document: Any, **options: Any) -> list[Diagnostic]:
    # (with X001: a check that crashes is a finding the oracle never has)
    settings = Settings(select=MASK_RULES | {"X001"}, **options)
    diagnostics, _, _ = validate_document(document, FILE, settings, kind="instances")
    return diagnostics


# --- generated documents --------------------------------------------------------------------

#: Coordinates on a grid of quarter pixels (exact in binary: the shoelace has no rounding),
#: reaching past every edge of the images below.
_COORD = st.integers(-24, 240).map(lambda v: v / 4)
_FINE = st.integers(0, 6).map(lambda v: v / 8)


@st.composite
def _polygon(draw: st.DrawFn, width: int, height: int) -> list[list[float]]:
    """The polygons of one object."""
    shape = draw(st.sampled_from(("random", "collinear", "tiny", "bowtie", "holes", "parts")))
    if shape == "random":
        points = draw(st.lists(st.tuples(_COORD, _COORD), min_size=3, max_size=8))
        return [[v for point in points for v in point]]
    if shape == "collinear":
        x, y = draw(_COORD), draw(_COORD)
        dx, dy = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
        steps = draw(st.lists(st.integers(0, 6), min_size=3, max_size=6))
        return [[v for t in steps for v in (x + t * dx, y + t * dy)]]
    if shape == "tiny":
        x, y = draw(_COORD), draw(_COORD)
        points = draw(st.lists(st.tuples(_FINE, _FINE), min_size=3, max_size=5))
        return [[v for px, py in points for v in (x + px, y + py)]]
    left, top = draw(_COORD), draw(_COORD)
    right = left + draw(st.integers(1, 40)) / 2
    bottom = top + draw(st.integers(1, 40)) / 2
    if shape == "bowtie":
        return [[left, top, right, bottom, left, bottom, right, top]]
    outer = [left, top, right, top, right, bottom, left, bottom]
    if shape == "holes":  # a square inside another: pycocotools fills the union
        cx, cy = (left + right) / 2, (top + bottom) / 2
        inner = [cx - 0.5, cy - 0.5, cx + 0.5, cy - 0.5, cx + 0.5, cy + 0.5, cx - 0.5, cy + 0.5]
        return [outer, inner]
    shift = draw(st.integers(-20, 20)) / 2
    return [outer, [v + shift for v in outer]]


@st.composite
def _rle(draw: st.DrawFn, width: int, height: int) -> dict[str, Any]:
    bits = draw(st.lists(st.booleans(), min_size=width * height, max_size=width * height))
    mask = np.asfortranarray(np.array(bits, dtype=np.uint8).reshape(height, width))
    encoded = coco_mask.encode(mask)
    if draw(st.booleans()):
        return {"size": [height, width], "counts": encoded["counts"].decode("ascii")}
    runs: list[int] = []
    value, count = 0, 0
    for bit in mask.ravel(order="F"):
        if bit != value:
            runs.append(count)
            value, count = bit, 0
        count += 1
    runs.append(count)
    return {"size": [height, width], "counts": runs}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    sizes = draw(
        st.lists(st.tuples(st.integers(1, 48), st.integers(1, 48)), min_size=1, max_size=3)
    )
    images = [
        {"id": k + 1, "file_name": f"{k}.jpg", "width": w, "height": h}
        for k, (w, h) in enumerate(sizes)
    ]
    annotations = []
    for k in range(draw(st.integers(1, 10))):
        image_id = draw(st.integers(1, len(images) + 1))  # (the last one is missing)
        width, height = sizes[image_id - 1] if image_id <= len(images) else (16, 16)
        crowd = width * height <= 64 and draw(st.integers(0, 4)) == 0
        if crowd:
            segmentation: Any = draw(_rle(width, height))
        else:
            segmentation = draw(_polygon(width, height))
        ann: dict[str, Any] = {
            "id": k + 1,
            "image_id": image_id,
            "category_id": 1,
            "segmentation": segmentation,
            "iscrowd": int(crowd),
        }
        truth = _pycocotools(segmentation, height, width)
        area, box = truth if truth is not None else (0, [0.0, 0.0, 0.0, 0.0])
        bbox = draw(st.sampled_from(("pycocotools", "vertices", "shifted", "random", "absent")))
        if bbox == "pycocotools":
            ann["bbox"] = box
        elif bbox == "vertices" and isinstance(segmentation, list):
            xs = [v for p in segmentation for v in p[0::2]]
            ys = [v for p in segmentation for v in p[1::2]]
            ann["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        elif bbox in ("shifted", "vertices"):
            ann["bbox"] = [v + draw(st.integers(-8, 8)) / 4 for v in box]
        elif bbox == "random":
            ann["bbox"] = [draw(_COORD) for _ in range(4)]
        declared = draw(st.sampled_from(("pycocotools", "off", "random", "absent")))
        if declared == "pycocotools":
            ann["area"] = area
        elif declared == "off":
            ann["area"] = area * draw(st.integers(0, 30)) / 10 + draw(st.integers(0, 8))
        elif declared == "random":
            ann["area"] = draw(st.integers(0, 3000)) / 2
        annotations.append(ann)
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "thing", "supercategory": ""}],
    }


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents())
def test_generated_polygons_as_one_at_a_time(document: dict[str, Any]) -> None:
    assert _findings(_validated(document, jobs=1)) == _findings(oracle(document))


def _square(left: float, top: float, side: float) -> list[float]:
    return [left, top, left + side, top, left + side, top + side, left, top + side]


#: One annotation for each finding, and the clean cases beside them.
KNOWN = {
    "images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
    "annotations": [
        # G107: a bow-tie
        {"segmentation": [[2, 2, 10, 10, 2, 10, 10, 2]], "bbox": [2, 2, 8, 8], "area": 32},
        # G106: all points on one line, beside a good part
        {"segmentation": [[1, 1, 2, 2, 3, 3], _square(20, 20, 4)], "area": 16},
        # G104: the box is elsewhere
        {"segmentation": [_square(5, 5, 10)], "bbox": [15, 5, 10, 10], "area": 100},
        # G105: the area is far off
        {"segmentation": [_square(5, 5, 10)], "bbox": [5, 5, 10, 10], "area": 400},
        # clean: a hole made of parts, an RLE crowd
        {"segmentation": [_square(0, 0, 20), _square(5, 5, 4)], "bbox": [0, 0, 20, 20]},
        {"segmentation": {"size": [30, 40], "counts": [0, 1200]}, "iscrowd": 1, "area": 1200},
    ],
    "categories": [{"id": 1, "name": "thing", "supercategory": ""}],
}
for _k, _ann in enumerate(KNOWN["annotations"]):
    _ann.update({"id": _k + 1, "image_id": 1, "category_id": 1})
    _ann.setdefault("iscrowd", 0)


def test_every_rule_against_the_straightforward_computation() -> None:
    """The oracle finds what each rule is about (so the comparisons below can fail)."""
    expected = oracle(KNOWN)
    assert [(d.code, d.location.pointer) for d in expected] == [
        ("G107", "/annotations/0/segmentation/0"),
        ("G106", "/annotations/1/segmentation/0"),
        ("G104", "/annotations/2/bbox"),
        ("G105", "/annotations/3/area"),
    ]
    assert _findings(_validated(KNOWN, jobs=1)) == _findings(expected)


def _many(seed: int, count: int) -> dict[str, Any]:
    """A larger document of random polygons (quarter pixels, past the edges), some crossing
    themselves or flat, with boxes and areas right, off by a little, or wrong."""
    rng = np.random.default_rng(seed)
    images = [{"id": k + 1, "file_name": f"{k}.jpg", "width": 64, "height": 48} for k in range(40)]
    annotations: list[dict[str, Any]] = []
    for k in range(count):
        parts = []
        for _ in range(int(rng.integers(1, 3))):
            points = rng.integers(-8, 72 * 4, size=(int(rng.integers(3, 9)), 2)) / 4
            if rng.random() < 0.1:  # flat
                points[:, 1] = points[:, 0] / 2
            parts.append(points.ravel().tolist())
        truth = _pycocotools(parts, 48, 64)
        assert truth is not None
        area, box = truth
        ann: dict[str, Any] = {
            "id": k + 1,
            "image_id": int(rng.integers(1, 42)),  # (41 is missing)
            "category_id": 1,
            "segmentation": parts,
            "iscrowd": 0,
            "bbox": [v + float(rng.integers(-6, 7)) / 4 for v in box],
            "area": area * float(rng.integers(5, 16)) / 10,
        }
        annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": KNOWN["categories"]}


def test_worker_processes_find_the_same() -> None:
    """Chunks in two spawned workers (`-j 2`), several tasks each: the same findings as one
    process and as the straightforward computation."""
    from coco_convert.validate.checks import masks

    document = _many(7, 600)
    one = _validated(document, jobs=1)
    chunk = masks._IMAGES_PER_TASK
    try:  # (tasks are made here: several for each worker)
        masks._IMAGES_PER_TASK = 3
        two = _validated(document, jobs=2)
    finally:
        masks._IMAGES_PER_TASK = chunk
    assert _findings(two) == _findings(one) == _findings(oracle(document))
    assert {d.code for d in one} >= {"G104", "G105", "G106", "G107"}


# --- fixtures and real exports --------------------------------------------------------------


def _coco_files() -> list[Path]:
    files = sorted((FIXTURES / "coco").rglob("*.json"))
    files += sorted(p for p in REALDATA.glob("coco_*/*.json"))
    return [p for p in files if p.name != "conformance.json"]


@pytest.mark.parametrize("path", _coco_files(), ids=lambda p: p.name)
def test_fixtures_and_real_exports_as_one_at_a_time(path: Path) -> None:
    document = orjson.loads(path.read_bytes())
    settings = Settings(select=MASK_RULES | {"X001"})
    diagnostics, kind, _ = validate_document(document, FILE, settings)
    instances = kind in ("instances", "keypoints", "stuff")
    expected = oracle(document, kind=kind) if instances else []
    assert _findings(diagnostics) == _findings(expected)
