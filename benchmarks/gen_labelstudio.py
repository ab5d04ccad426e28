"""A deterministic Label Studio JSON export at scale (the benchmark input of bench_labelstudio.py).

    python benchmarks/gen_labelstudio.py /tmp/data/ls-10k.json --tasks 10000 [--seed 0]

A project export ("JSON", the full format) of ``--tasks`` image tasks (1280 x 720), each with
one finished annotation of about 12 regions: rectangles (one in ten rotated), polygons of 6 to
40 points, brush masks (Label Studio's ``rle-pack`` stream of the RGBA pixels, alpha = mask)
and an image-level ``choices``; coordinates in percent of ``original_width/height`` as Label
Studio stores them, with the task and annotation keys its export writes. The labeling config
is written beside it as ``<name>.label_config.xml`` (where ``labelstudio2coco`` looks).
Standard library only."""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

LABELS = ("car", "person", "bicycle", "truck", "sign", "road")
WIDTH, HEIGHT = 1280, 720

CONFIG = (
    '<View>\n  <Image name="image" value="$image"/>\n'
    + "".join(
        f'  <{tag} name="{name}" toName="image">\n'
        + "".join(f'    <Label value="{label}"/>\n' for label in LABELS)
        + f"  </{tag}>\n"
        for tag, name in (
            ("RectangleLabels", "box"),
            ("PolygonLabels", "polygon"),
            ("BrushLabels", "brush"),
        )
    )
    + '  <Choices name="weather" toName="image">\n'
    '    <Choice value="day"/>\n    <Choice value="night"/>\n  </Choices>\n</View>\n'
)

#: rle-pack's four count-field widths (label-studio-sdk's ``encode_rle``) and their limits.
_WIDTHS = (3, 4, 8, 16)
_LONGEST = 1 << 16


def _brush_stream(runs: list[tuple[int, int]], total: int) -> list[int]:
    """Label Studio's brush RLE (thi.ng ``rle-pack``, 8-bit words) of ``runs`` of
    ``(value, length)`` covering ``total`` values: every run one repeat record."""
    bits, size = 0, 0

    def put(value: int, width: int) -> None:
        nonlocal bits, size
        bits = bits << width | value
        size += width

    put(total, 32)
    put(7, 5)
    for width in _WIDTHS:
        put(width - 1, 4)
    for value, length in runs:
        while length:
            count = min(length, _LONGEST)
            choice = next(i for i, w in enumerate(_WIDTHS) if count <= 1 << w)
            put(1, 1)
            put(choice, 2)
            put(count - 1, _WIDTHS[choice])
            put(value, 8)
            length -= count
    put(0, 8 - size % 8)
    return list(bits.to_bytes(size // 8, "big"))


def _brush(rng: random.Random) -> tuple[dict[str, object], str]:
    """An ellipse-like blob as a brush region's value (RGBA, every channel 255 inside)."""
    w, h = rng.randrange(10, 160), rng.randrange(10, 160)
    left, top = rng.randrange(0, WIDTH - w), rng.randrange(0, HEIGHT - h)
    runs: list[tuple[int, int]] = []

    def add(value: int, pixels: int) -> None:
        if not pixels:
            return
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 4 * pixels)
        else:
            runs.append((value, 4 * pixels))

    add(0, top * WIDTH)
    for row in range(h):
        half = (w / 2) * math.sqrt(max(0.0, 1 - ((row + 0.5 - h / 2) / (h / 2)) ** 2))
        inside = [abs(col + 0.5 - w / 2) <= half for col in range(w)]
        first = inside.index(True) if any(inside) else w
        count = sum(inside)
        add(0, left + first)
        add(255, count)
        add(0, WIDTH - left - first - count)
    add(0, (HEIGHT - top - h) * WIDTH)
    return {"format": "rle", "rle": _brush_stream(runs, 4 * WIDTH * HEIGHT)}, "brush"


def _rectangle(rng: random.Random) -> tuple[dict[str, object], str]:
    w, h = rng.uniform(8, 300), rng.uniform(8, 300)
    x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
    value: dict[str, object] = {
        "x": x * 100 / WIDTH,
        "y": y * 100 / HEIGHT,
        "width": w * 100 / WIDTH,
        "height": h * 100 / HEIGHT,
        "rotation": rng.uniform(0, 360) if rng.random() < 0.1 else 0,
    }
    return value, "box"


def _polygon(rng: random.Random) -> tuple[dict[str, object], str]:
    n = rng.randrange(6, 41)
    cx, cy = rng.uniform(60, WIDTH - 60), rng.uniform(60, HEIGHT - 60)
    r = rng.uniform(10, 58)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        radius = r * rng.uniform(0.6, 1.0)
        points.append(
            [(cx + radius * math.cos(t)) * 100 / WIDTH, (cy + radius * math.sin(t)) * 100 / HEIGHT]
        )
    return {"points": points, "closed": True}, "polygon"


_TYPES = {"box": "rectanglelabels", "polygon": "polygonlabels", "brush": "brushlabels"}


def _task(rng: random.Random, index: int) -> dict[str, object]:
    stamp = f"2024-01-01T00:{index // 600 % 60:02d}:{index % 60:02d}.000000Z"
    result: list[dict[str, object]] = []
    for k in range(rng.randrange(6, 19)):
        kind = rng.random()
        maker = _rectangle if kind < 0.55 else _polygon if kind < 0.9 else _brush
        value, name = maker(rng)
        region_type = _TYPES[name]
        value[region_type] = [rng.choice(LABELS)]
        result.append(
            {
                "id": f"r{index}_{k}",
                "type": region_type,
                "value": value,
                "origin": "manual",
                "to_name": "image",
                "from_name": name,
                "image_rotation": 0,
                "original_width": WIDTH,
                "original_height": HEIGHT,
            }
        )
    result.append(
        {
            "id": f"c{index}",
            "type": "choices",
            "value": {"choices": [rng.choice(("day", "night"))]},
            "origin": "manual",
            "to_name": "image",
            "from_name": "weather",
        }
    )
    return {
        "id": index + 1,
        "annotations": [
            {
                "id": index + 1,
                "completed_by": 1,
                "result": result,
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": stamp,
                "updated_at": stamp,
                "lead_time": round(rng.uniform(5, 120), 3),
                "prediction": {},
                "result_count": len(result),
                "task": index + 1,
                "project": 1,
                "parent_prediction": None,
                "parent_annotation": None,
            }
        ],
        "drafts": [],
        "predictions": [],
        "data": {"image": f"/data/upload/1/scene_{index // 500:03d}_frame_{index:06d}.jpg"},
        "meta": {},
        "created_at": stamp,
        "updated_at": stamp,
        "inner_id": index + 1,
        "total_annotations": 1,
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "project": 1,
    }


def generate(path: Path, tasks: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for index in range(tasks):
            out.write(",\n" if index else "\n")
            out.write(json.dumps(_task(rng, index), ensure_ascii=False))
        out.write("\n]\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_suffix(".partial")
    generate(partial, args.tasks, args.seed)
    args.output.with_name(args.output.stem + ".label_config.xml").write_text(CONFIG)
    partial.replace(args.output)


if __name__ == "__main__":
    main()
