"""``coco-convert gallery``: one self-contained HTML page of a dataset's images.

The page is a single file that works offline from a ``file://`` URL: thumbnails are embedded
as JPEG data URIs, the annotations are SVG overlays in the image's own pixel coordinates (so
they stay sharp when enlarged), and the CSS and script are inline. A content security policy
forbids the page any network access. What it offers:

* a card per image carrying ``data-image-id`` and its category names (``data-categories``, a
  JSON list), with the file name, id and counts;
* a category filter with the number of images holding each category (``#cat=a,b`` in the URL
  selects on load, so a filtered view can be linked);
* click (or Enter) to enlarge: the overlay at full size, with labels and a table of the
  annotations; the original image file is shown when the page can reach it (relative link),
  else the thumbnail;
* hover over an annotation for its id, category, area and crowd flag (and score);
* with ``--compare``, the two annotation sets in blue and orange on the same card.

Each card is made by :func:`card`, a pure function of a :class:`CardJob`, in worker
processes; this process assembles the page.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..converters.loss import LossReport
from ..errors import printable
from ..images import read_size
from ..io import atomic_write, check_output
from ..parallel import choose_jobs, map_batched
from ..progress import track
from .batch import PARALLEL_MIN_IMAGES, report_notes
from .pixels import Crop, drawable, image_name, mark_crops, no_file, read_upright
from .plan import Plan
from .scene import (
    COMPARE_COLOURS,
    RGB,
    Mark,
    Note,
    RenderJob,
    auto_font_size,
    auto_line_width,
    hex_colour,
    keypoint_extent,
    keypoint_radius,
    label_position,
    marks,
    placement,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["Card", "CardJob", "card", "write_gallery"]

#: Above this many cards a page takes long to open; the command line suggests --limit.
LARGE_PAGE = 10_000
#: WebP quality and effort of the thumbnails: a 256 px thumbnail of a photo takes 6-8 kB
#: (JPEG of the same look: 10 kB), 4 ms to encode. The page's bytes are what it takes a
#: browser to open it.
THUMB_QUALITY = 70
THUMB_METHOD = 2


@dataclass(frozen=True)
class CardJob:
    """One card: the image's render job, the thumbnail's longest side, and the link (relative
    to the page) to the original image for the enlarged view."""

    render: RenderJob
    thumb: int
    link: str | None = None


@dataclass(frozen=True)
class Card:
    """A card's HTML (empty when the image could not be shown at all), the categories on it
    as (name, colour) and the colours of its crowd regions (hatch patterns), its number of
    annotations, and the problems met."""

    html: str
    categories: tuple[tuple[str, str], ...] = ()
    crowd_colours: tuple[str, ...] = ()
    annotations: int = 0
    notes: tuple[Note, ...] = ()


def card(job: CardJob) -> Card:
    """The card of one image (a module-level pure function of a picklable job)."""
    notes: list[Note] = []
    render = job.render
    if render.size is not None and not drawable(render, render.size, notes):
        return Card("", notes=tuple(notes))
    thumbnail, file_size = _thumbnail(render, job.thumb, notes)
    size = render.size or file_size
    if size is None:
        notes.append(Note("image_without_size", image_name(render)))
        return Card("", notes=tuple(notes))
    if render.size and file_size and file_size != render.size:
        notes.append(
            Note(
                "image_size_mismatch",
                image_name(render),
                f"the file is {file_size[0]}x{file_size[1]}, "
                f"the annotations say {size[0]}x{size[1]}",
            )
        )
    found = [mark for i, layer in enumerate(render.layers) for mark in marks(layer, i)]
    pixels = [i for i, m in enumerate(found) if m.segment_id is not None or _is_rle(m)]
    crops: list[Crop | None] = [None] * len(found)
    made = mark_crops(render, [found[i] for i in pixels], size, notes)
    for i, crop in zip(pixels, made, strict=True):
        crops[i] = crop
    svg = _svg(found, crops, size)
    image = render.image
    names = sorted({m.category for m in found})
    colours = {m.category: hex_colour(m.colour) for m in found}
    captions = render.captions
    attrs = {
        "class": "card",
        "tabindex": "0",
        "data-image-id": str(image.get("id")),
        "data-categories": json.dumps(names, ensure_ascii=False),
        "data-file": str(image.get("file_name", "")),
        "data-size": f"{size[0]}x{size[1]}",
    }
    if job.link:
        attrs["data-src"] = job.link
    # The overlay waits in an attribute until the card comes near the viewport (the script
    # adds it then): parsing thousands of SVG overlays up front is what made a large page
    # slow to open; an attribute is only a string to the parser.
    picture = (
        f'<img src="data:image/webp;base64,{thumbnail}" alt="" loading="lazy" decoding="async">'
        if thumbnail
        else '<span class="missing">image not found</span>'
    )
    count = render.count
    parts = [
        f"<figure {_attrs(attrs)} data-svg='{_single_quoted(svg)}'>",
        f'<div class="view" style="aspect-ratio:{size[0]}/{size[1]}">{picture}</div>',
        "<figcaption>",
        f'<span class="name">{_text(str(image.get("file_name", "")))}</span>',
        f'<span class="meta">id {_text(str(image.get("id")))} \N{MIDDLE DOT} {size[0]}x{size[1]}'
        f" \N{MIDDLE DOT} {count} annotation{'s' if count != 1 else ''}</span>",
        f'<span class="cats">{_text(", ".join(names))}</span>' if names else "",
        _captions(captions),
        "</figcaption></figure>\n",
    ]
    crowd = tuple(sorted({hex_colour(m.colour) for m in found if m.crowd}))
    return Card(
        "".join(parts),
        categories=tuple((name, colours[name]) for name in names),
        crowd_colours=crowd,
        annotations=count,
        notes=tuple(notes),
    )


def _is_rle(mark: Mark) -> bool:
    return isinstance(mark.segmentation, dict)


def _thumbnail(
    job: RenderJob, thumb: int, notes: list[Note]
) -> tuple[str | None, tuple[int, int] | None]:
    """The thumbnail as base64 JPEG and the image file's upright size (None, None when there
    is no readable file: a note says why). JPEGs are decoded at a reduced scale when the
    thumbnail allows (``draft``), which is most of the time saved."""
    if job.path is None:
        notes.append(no_file(job))
        return None, None
    try:
        width, height = read_size(job.path)
        # JPEG decodes at 1/2, 1/4, 1/8 scale: allow one a few percent short of the thumbnail
        # (500x375 halves to 250x188 for a 256x192 thumbnail), an invisible stretch.
        short = math.ceil(0.9 * thumb * min(width, height) / max(width, height))
        picture = read_upright(job.path, at_least=(short, short))
        return _webp(picture, thumb), (width, height)
    except Exception as exc:  # ImageFileError, or OSError for data that breaks off
        notes.append(Note("image_unreadable", job.path, str(exc)))
        return None, None


def _webp(picture: PILImage.Image, thumb: int) -> str:
    scale = thumb / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(size, reducing_gap=2.0)
    buffer = io.BytesIO()
    picture.save(buffer, "WEBP", quality=THUMB_QUALITY, method=THUMB_METHOD)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- SVG ------------------------------------------------------------------------------------------


def _svg(found: Sequence[Mark], crops: Sequence[Crop | None], size: tuple[int, int]) -> str:
    """The overlay: one ``<g class="m">`` per mark, in image coordinates (``viewBox`` of the
    image's size), largest masks first so that small objects stay on top for the hover."""
    width, height = size
    line = auto_line_width(width, height)
    font = auto_font_size(width, height)
    order = sorted(range(len(found)), key=lambda i: (found[i].layer, -_extent(found[i], crops[i])))
    groups = [_group(found[i], crops[i], size, line, font) for i in order]
    return (
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'style="--fs:{font}px">{"".join(groups)}</svg>'
    )


def _extent(mark: Mark, crop: Crop | None) -> float:
    if mark.area is not None:
        return mark.area
    if crop is not None:
        return float(crop.mask.sum())
    if mark.bbox is not None:
        return mark.bbox[2] * mark.bbox[3]
    return 0.0


def _group(mark: Mark, crop: Crop | None, size: tuple[int, int], line: int, font: int) -> str:
    classes = ["m"]
    path = _mask_path(mark, crop)
    if path:
        classes.append("s")
    if mark.crowd:
        classes.append("crowd")
    area = mark.area if mark.area is not None else (float(crop.mask.sum()) if crop else None)
    attrs = {
        "class": " ".join(classes),
        "data-cat": mark.category,
        "style": f"--c:{hex_colour(mark.colour)}",
    }
    # (left out when they are the default: the page's bytes are its opening time)
    if mark.layer:
        attrs["data-layer"] = str(mark.layer)
    if mark.crowd:
        attrs["data-iscrowd"] = "1"
    if mark.crowd:
        attrs["style"] += f";--h:url(#h-{hex_colour(mark.colour)[1:]})"
    if mark.ann_id is not None:
        attrs["data-id"] = str(mark.ann_id)
    if area is not None:
        attrs["data-area"] = _num(area)
    if mark.score is not None:
        attrs["data-score"] = f"{mark.score:.3f}"
    parts = [f"<g {_attrs(attrs)}>"]
    if path:
        parts.append(f'<path class="f" d="{path}"/>')
    if mark.bbox is not None and not mark.region:
        x, y, w, h = mark.bbox
        parts.append(
            f'<rect class="b" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"/>'
        )
    if mark.keypoints:
        parts.append(_keypoints(mark, keypoint_radius(line)))
    anchor = _anchor(mark, crop)
    if anchor is not None:
        text_size = (0.6 * font * len(mark.label) + 4, 1.25 * font)
        left, top = label_position(anchor, text_size, size, placement(mark))
        parts.append(
            f'<text class="t" x="{_num(left + 2)}" y="{_num(top + font)}">'
            f"{_text(mark.label)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _anchor(mark: Mark, crop: Crop | None) -> tuple[float, float, float, float] | None:
    if mark.region and crop is not None:
        x, y = crop.centre()
        return x, y, 0.0, 0.0
    return mark.bbox or (crop.box if crop is not None else None) or keypoint_extent(mark)


def _mask_path(mark: Mark, crop: Crop | None) -> str:
    """The mask as an SVG path (even-odd): polygons as annotated, RLE and panoptic masks
    by their exact pixel outlines, holes left open."""
    if crop is not None:
        import numpy as np

        from ..geometry import trace

        offset = np.array([crop.x0, crop.y0], dtype=np.float64)
        return "".join(
            _ring(np.add(ring, offset).ravel().tolist())
            for outline in trace(crop.mask)
            for ring in (outline.exterior, *outline.holes)
        )
    segmentation = mark.segmentation
    if isinstance(segmentation, list):
        return "".join(
            _ring(polygon)
            for polygon in segmentation
            if isinstance(polygon, list) and len(polygon) >= 6
        )
    return ""


def _ring(flat: Sequence[float]) -> str:
    """A closed ring as a compact SVG path: the first point, then each step from the one
    before (``l``, implicit after the first), in tenths of a pixel. Steps are taken between
    the rounded points, so rounding never accumulates."""
    tenths = [round(v * 10) for v in flat[: len(flat) // 2 * 2]]
    steps = [b - a for a, b in zip(tenths, tenths[2:], strict=False)]
    text = [f"M{_tenths(tenths[0])} {_tenths(tenths[1])}l"]
    for k, step in enumerate(steps):
        number = _tenths(step)
        text.append(number if k == 0 or number[0] == "-" else f" {number}")
    text.append("z")
    return "".join(text)


def _tenths(value: int) -> str:
    """An integer number of tenths as the shortest decimal: 12 -> ``1.2``, -5 -> ``-.5``,
    30 -> ``3``."""
    sign = "-" if value < 0 else ""
    whole, tenth = divmod(abs(value), 10)
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole or ''}.{tenth}"


def _keypoints(mark: Mark, radius: int) -> str:
    where = {k: (x, y, state) for k, (x, y, state) in mark.keypoints}
    parts = []
    if mark.skeleton:
        edges = "".join(
            f"M{_num(where[a][0])} {_num(where[a][1])}L{_num(where[b][0])} {_num(where[b][1])}"
            for a, b in mark.skeleton
        )
        parts.append(f'<path class="k" d="{edges}"/>')
    for x, y, state in where.values():
        parts.append(f'<circle class="p{state}" cx="{_num(x)}" cy="{_num(y)}" r="{radius}"/>')
    return "".join(parts)


def _captions(captions: Sequence[tuple[str, RGB]]) -> str:
    if not captions:
        return ""
    items = "".join(
        f'<li style="color:{hex_colour(colour)}">{_text(caption)}</li>'
        for caption, colour in captions
    )
    return f'<ul class="captions">{items}</ul>'


def _num(value: float) -> str:
    """A coordinate to 0.1 px, without trailing zeros (SVG is most of the page)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(value: str) -> str:
    # printable: a file name that is not UTF-8 (or holds control characters) is shown escaped
    return html.escape(printable(value), quote=False)


def _single_quoted(value: str) -> str:
    """``value`` for an attribute in single quotes: the SVG's own double quotes stay as they
    are (a third shorter than escaping them)."""
    return value.replace("&", "&amp;").replace("'", "&#39;")


def _attrs(attrs: dict[str, str]) -> str:
    return " ".join(f'{key}="{html.escape(value)}"' for key, value in attrs.items())


# --- the page -----------------------------------------------------------------------------------


def write_gallery(
    plan: Plan,
    image_ids: Sequence[int],
    output: str | os.PathLike[str],
    *,
    thumb: int = 256,
    title: str = "gallery",
    jobs: int | None = None,
) -> LossReport:
    """Write the gallery of the images ``image_ids`` of ``plan`` to the HTML file
    ``output`` (atomically); returns what was shown and what was not."""
    check_output(output, plan.inputs)
    report = LossReport("gallery")
    if len(image_ids) > LARGE_PAGE:
        report.warn(
            "large_page",
            f"images on one page: more than {LARGE_PAGE:,} makes a page slow to open "
            "(--limit or --cat choose fewer)",
            count=len(image_ids),
        )
    page_dir = Path(output).resolve().parent
    card_jobs = (
        CardJob(render, thumb, _link(render.path, page_dir)) for render in plan.jobs(image_ids)
    )
    workers = choose_jobs(jobs, len(image_ids), worth_it=PARALLEL_MIN_IMAGES)
    cards: list[Card] = []
    for made in track(
        map_batched(card, card_jobs, jobs=workers),
        total=len(image_ids),
        desc="gallery",
        unit="img",
    ):
        report_notes(report, made.notes)
        if made.html:
            cards.append(made)
    images = plan.dataset.index.imgs
    report_notes(
        report, [Note("compare_unmatched", images[i]["file_name"]) for i in plan.unmatched]
    )
    report.count("images", len(cards))
    report.count("annotations", sum(c.annotations for c in cards))
    atomic_write(output, page(cards, plan, title=title, thumb=thumb).encode("utf-8"))
    return report


def _link(path: str | None, page_dir: Path) -> str | None:
    """The image file as a URL relative to the page (None when there is no file, or when it
    is on another drive than the page)."""
    if path is None:
        return None
    try:
        relative = os.path.relpath(Path(path).resolve(), page_dir)
    except ValueError:
        return None
    return urllib.parse.quote(Path(relative).as_posix())


def page(cards: Sequence[Card], plan: Plan, *, title: str, thumb: int) -> str:
    """The HTML page of ``cards``."""
    counts: Counter[str] = Counter()
    colours: dict[str, str] = {}
    for made in cards:
        for name, colour in made.categories:
            counts[name] += 1
            colours.setdefault(name, colour)
    compare = plan.compare is not None
    buttons = [
        f'<button type="button" data-cat="" aria-pressed="true">all '
        f'<span class="n">{len(cards):,}</span></button>'
    ]
    for name in sorted(counts, key=lambda n: (-counts[n], n)):
        swatch = "" if compare else f'<i class="sw" style="--c:{colours[name]}"></i>'
        buttons.append(
            f'<button type="button" data-cat="{html.escape(name)}" aria-pressed="false">'
            f'{swatch}{_text(name)} <span class="n">{counts[name]:,}</span></button>'
        )
    legend = ""
    if compare:
        first = plan.dataset.source or "dataset"
        second = (plan.compare.source if plan.compare is not None else None) or "compare"
        legend = (
            '<p class="legend">'
            f'<i class="sw" style="--c:{hex_colour(COMPARE_COLOURS[0])}"></i>'
            f"{_text(Path(first).name)} "
            f'<i class="sw" style="--c:{hex_colour(COMPARE_COLOURS[1])}"></i>'
            f"{_text(Path(second).name)}</p>"
        )
    hatches = sorted({colour for made in cards for colour in made.crowd_colours})
    annotations = sum(c.annotations for c in cards)
    summary = (
        f'<span id="shown">{len(cards):,}</span> of {len(cards):,} images \N{MIDDLE DOT} '
        f"{annotations:,} annotations \N{MIDDLE DOT} {_text(Path(plan.dataset.source or '').name)}"
    )
    return _TEMPLATE.format(
        title=_text(title),
        style=_asset("gallery.css"),
        script=_asset("gallery.js"),
        thumb=thumb,
        mode="compare" if compare else "single",
        summary=summary,
        legend=legend,
        filter="".join(buttons),
        defs=_hatches(hatches),
        cards="".join(made.html for made in cards),
    )


def _hatches(colours: Sequence[str]) -> str:
    """One diagonal hatch pattern per crowd colour (``fill: url(#h-rrggbb)``)."""
    return "".join(
        f'<pattern id="h-{colour[1:]}" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="{colour}" '
        f'fill-opacity=".2"/><rect width="3" height="8" fill="{colour}" fill-opacity=".8"/>'
        "</pattern>"
        for colour in colours
    )


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data: \
file:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="generator" content="coco-convert gallery">
<title>{title}</title>
<style>{style}</style>
</head>
<body class="{mode}" style="--thumb:{thumb}px">
<header>
<h1>{title}</h1>
<p class="summary">{summary}</p>
{legend}
<nav id="filter" aria-label="categories">{filter}</nav>
</header>
<main id="cards">
{cards}</main>
<div id="lightbox" hidden><div class="stage"></div><aside class="info"></aside>\
<button type="button" class="close" aria-label="close">\N{MULTIPLICATION SIGN}</button></div>
<div id="tip" hidden></div>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>{defs}</defs></svg>
<script>{script}</script>
</body>
</html>
"""
