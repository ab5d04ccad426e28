"""A deterministic CVAT for images 1.1 export at scale (the benchmark input of bench_cvat.py).

    python benchmarks/gen_cvat.py /tmp/data/cvat-10k.xml --images 10000 [--seed 0]

A task export of ``--images`` images (1280 x 720), about 12 objects each: boxes (one in ten
rotated), polygons of 6 to 40 points, masks over their own box (CVAT's RLE), and every
tenth image in a video-like stretch tracked by box tracks (``<track>`` after the images, as a
file holding both is imported by CVAT; the task's ``<original_size>`` gives the tracks' frame
size, which Datumaro requires). Labels with checkbox, select and number attributes.
Standard library only."""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

LABELS = ("car", "person", "bicycle", "truck", "sign", "road")
WIDTH, HEIGHT = 1280, 720


def _meta(images: int) -> str:
    labels = "".join(
        f"""
        <label>
          <name>{name}</name>
          <color>#{(37 * i) % 256:02x}{(91 * i) % 256:02x}{(53 * i) % 256:02x}</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>occluded_by</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>none</default_value>
              <values>none
car
tree</values>
            </attribute>
            <attribute>
              <name>moving</name>
              <mutable>True</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false
true</values>
            </attribute>
            <attribute>
              <name>speed</name>
              <mutable>True</mutable>
              <input_type>number</input_type>
              <default_value>0</default_value>
              <values>0
200
1</values>
            </attribute>
          </attributes>
        </label>"""
        for i, name in enumerate(LABELS)
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>1</id>
      <name>generated</name>
      <size>{images}</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>{images - 1}</stop_frame>
      <frame_filter></frame_filter>
      <labels>{labels}
      </labels>
      <original_size>
        <width>{WIDTH}</width>
        <height>{HEIGHT}</height>
      </original_size>
    </task>
    <dumped>2024-01-01 00:00:00.000000+00:00</dumped>
  </meta>
"""


def _attributes(rng: random.Random) -> str:
    return (
        f'\n      <attribute name="occluded_by">{rng.choice(("none", "car", "tree"))}</attribute>'
        f'\n      <attribute name="moving">{rng.choice(("true", "false"))}</attribute>'
        f'\n      <attribute name="speed">{rng.randrange(0, 120)}</attribute>\n    '
    )


def _box(rng: random.Random, tag: str = "box", extra: str = "") -> tuple[str, str]:
    w, h = rng.uniform(8, 300), rng.uniform(8, 300)
    x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
    rotation = f' rotation="{rng.uniform(0, 360):.2f}"' if rng.random() < 0.1 else ""
    return tag, (
        f'xtl="{x:.2f}" ytl="{y:.2f}" xbr="{x + w:.2f}" ybr="{y + h:.2f}"{rotation}{extra}'
    )


def _polygon(rng: random.Random) -> str:
    n = rng.randrange(6, 41)
    cx, cy = rng.uniform(60, WIDTH - 60), rng.uniform(60, HEIGHT - 60)
    r = rng.uniform(10, 58)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        radius = r * rng.uniform(0.6, 1.0)
        points.append(f"{cx + radius * math.cos(t):.2f},{cy + radius * math.sin(t):.2f}")
    return f'points="{";".join(points)}"'


def _mask(rng: random.Random) -> str:
    w, h = rng.randrange(10, 120), rng.randrange(10, 120)
    left, top = rng.randrange(0, WIDTH - w), rng.randrange(0, HEIGHT - h)
    # an ellipse-like blob, row by row, as CVAT's brush leaves it
    runs: list[int] = []
    value, length = 0, 0
    for row in range(h):
        half = (w / 2) * math.sqrt(max(0.0, 1 - ((row + 0.5 - h / 2) / (h / 2)) ** 2))
        for col in range(w):
            inside = int(abs(col + 0.5 - w / 2) <= half)
            if inside == value:
                length += 1
            else:
                runs.append(length)
                value, length = inside, 1
    runs.append(length)
    return f'rle="{", ".join(map(str, runs))}" left="{left}" top="{top}" width="{w}" height="{h}"'


def generate(path: Path, images: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(_meta(images))
        for frame in range(images):
            out.write(
                f'  <image id="{frame}" name="scene_{frame // 500:03d}/frame_{frame:06d}.jpg" '
                f'width="{WIDTH}" height="{HEIGHT}">\n'
            )
            for _ in range(rng.randrange(6, 19)):
                label = rng.choice(LABELS)
                kind = rng.random()
                if kind < 0.55:
                    tag, body = _box(rng)
                elif kind < 0.9:
                    tag, body = "polygon", _polygon(rng)
                else:
                    tag, body = "mask", _mask(rng)
                occluded = int(rng.random() < 0.2)
                out.write(
                    f'    <{tag} label="{label}" source="manual" occluded="{occluded}" '
                    f'{body} z_order="{rng.randrange(0, 3)}">{_attributes(rng)}</{tag}>\n'
                )
            out.write("  </image>\n")
        # tracks: 30-frame stretches of every tenth image
        for track in range(images // 10 // 3):
            start = rng.randrange(0, max(1, images - 30))
            x, y = rng.uniform(0, 900), rng.uniform(0, 500)
            out.write(f'  <track id="{track}" label="{rng.choice(LABELS)}" source="manual">\n')
            for step in range(30):
                frame = start + step
                outside = int(step == 29)
                out.write(
                    f'    <box frame="{frame}" keyframe="{int(step % 5 == 0)}" outside="{outside}" '
                    f'occluded="0" xtl="{x + step:.2f}" ytl="{y:.2f}" xbr="{x + step + 80:.2f}" '
                    f'ybr="{y + 60:.2f}" z_order="0">{_attributes(rng)}</box>\n'
                )
            out.write("  </track>\n")
        out.write("</annotations>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_suffix(".partial")
    generate(partial, args.images, args.seed)
    partial.replace(args.output)


if __name__ == "__main__":
    main()
