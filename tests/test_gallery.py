"""``coco-convert gallery``: the page's content (read with lxml), and its behaviour in a real
browser, Debian's headless chromium: cards, the category filter, click to enlarge, hover,
no network, and a screenshot compared with a stored reference."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from PIL import Image

import coco_convert
from coco_convert import geometry
from coco_convert.cli import main

from .chromium import Browser, dump_dom
from .conftest import FIXTURES, REALDATA, ROOT

COCO = FIXTURES / "coco"
LABELME = REALDATA / "coco_labelme/labelme2coco-annotations.json"
ROBOFLOW = REALDATA / "coco_roboflow/roboflow-badminton-train-_annotations.coco.json"
REFERENCE = ROOT / "tests/reference/gallery.png"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def gradients(dataset_path: Path, folder: Path) -> Path:
    """A smooth, deterministic picture for every image of the dataset (a screenshot of a page
    made of them is the same on every machine with the same chromium and fonts)."""
    for k, image in enumerate(json.loads(dataset_path.read_text())["images"]):
        path = folder / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        w, h = image["width"], image["height"]
        y, x = np.mgrid[0:h, 0:w]
        pixels = np.stack(
            [x * 255 // w, y * 255 // h, np.full_like(x, (70 * k) % 256)], axis=-1
        ).astype(np.uint8)
        Image.fromarray(pixels).save(path, quality=90)
    return folder


def gallery(tmp_path: Path, src: Path, *args: str | Path, images: Path | None = None) -> Path:
    out = tmp_path / "page" / "gallery.html"
    code, _, err = run("gallery", src, "--images", images or tmp_path, "-o", out, *args)
    assert code == 0, err
    return out


def parse(page: Path) -> Any:
    return lxml_html.fromstring(page.read_bytes())


def overlay(card: Any) -> Any:
    """A card's SVG overlay (kept in ``data-svg`` until the page shows the card)."""
    return lxml_html.fragment_fromstring(card.get("data-svg"))


def marks(tree: Any) -> list[Any]:
    """Every annotation's ``<g class="m">`` on the page."""
    return [m for card in tree.cssselect(".card") for m in overlay(card).cssselect("g.m")]


# --- the page, as written ------------------------------------------------------------------------


def test_a_card_per_image_with_its_id_and_categories(tmp_path: Path) -> None:
    images = gradients(LABELME, tmp_path / "images")
    tree = parse(gallery(tmp_path, LABELME, images=images))
    dataset = coco_convert.load(LABELME)
    cards = tree.cssselect("#cards > .card")
    assert [int(c.get("data-image-id")) for c in cards] == sorted(dataset.get_img_ids())
    for card in cards:
        image_id = int(card.get("data-image-id"))
        names = sorted(
            {
                dataset.index.cats[a["category_id"]]["name"]
                for a in dataset.index.img_to_anns[image_id]
            }
        )
        assert json.loads(card.get("data-categories")) == names
        assert card.get("data-file") == dataset.index.imgs[image_id]["file_name"]
        found = overlay(card).cssselect("g.m")
        assert sorted(int(m.get("data-id")) for m in found) == sorted(
            a["id"] for a in dataset.index.img_to_anns[image_id]
        )


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    """No stylesheet, script or image is fetched from anywhere: thumbnails are data URIs,
    style and script inline, and a content security policy forbids the network."""
    images = gradients(COCO / "instances.json", tmp_path / "images")
    page = gallery(tmp_path, COCO / "instances.json", images=images)
    tree = parse(page)
    assert not tree.cssselect("link, script[src], iframe, object, embed")
    for element in tree.iter():
        for attribute in ("src", "href"):
            value = element.get(attribute)
            assert value is None or value.startswith("data:image/webp;base64,"), value
    csp = tree.cssselect('meta[http-equiv="Content-Security-Policy"]')[0].get("content")
    assert "default-src 'none'" in csp
    assert "http" not in re.sub(r"http-equiv", "", page.read_text()).replace(
        "http://www.w3.org", ""
    )


def test_thumbnails_are_embedded_at_the_asked_size(tmp_path: Path) -> None:
    images = gradients(COCO / "instances.json", tmp_path / "images")
    tree = parse(gallery(tmp_path, COCO / "instances.json", "--thumb", "120", images=images))
    sizes = []
    for img in tree.cssselect(".card img"):
        data = base64.b64decode(img.get("src").split(",", 1)[1])
        sizes.append(Image.open(io.BytesIO(data)).size)
    assert sorted(sizes) == [(80, 120), (120, 90)]  # 426x640 and 500x375


def test_overlays_are_the_annotations_in_image_coordinates(tmp_path: Path) -> None:
    """Polygons are drawn as annotated (to 0.1 px); RLE masks by their exact outlines, which
    rasterise back to the very pixels of the mask; hover data says id, category, area, crowd."""
    tree = parse(gallery(tmp_path, COCO / "instances.json"))
    dataset = coco_convert.load(COCO / "instances.json")
    svg = overlay(tree.cssselect('.card[data-image-id="1153"]')[0])
    assert svg.get("viewbox") == "0 0 500 375"  # (lxml.html lowercases)
    for mark in svg.cssselect("g.m"):
        ann = dataset.index.anns[int(mark.get("data-id"))]
        rings = rings_of(mark.cssselect("path.f")[0].get("d"))
        assert len(rings) == len(ann["segmentation"])
        for ring, polygon in zip(rings, ann["segmentation"], strict=True):
            assert np.abs(np.subtract(ring, polygon)).max() <= 0.05 + 1e-9  # to 0.1 px
        assert mark.get("data-cat") == dataset.index.cats[ann["category_id"]]["name"]
        assert float(mark.get("data-area")) == pytest.approx(ann["area"], abs=0.05)
        assert mark.get("data-iscrowd") is None  # 0, the default
    crowd = overlay(tree.cssselect('.card[data-image-id="1176"]')[0]).cssselect("g.m")[0]
    assert "crowd" in crowd.get("class")
    assert crowd.get("data-iscrowd") == "1"
    ann = dataset.index.anns[int(crowd.get("data-id"))]
    outline = geometry.to_rle(rings_of(crowd.cssselect("path.f")[0].get("d")), 640, 426)
    assert geometry.iou(outline, geometry.to_rle(ann["segmentation"], 640, 426)) == 1.0


def rings_of(d: str) -> list[list[float]]:
    """The rings of a path ``M x y l dx dy dx dy ... z M ...`` as absolute flat lists."""
    rings = []
    for part in d.split("M")[1:]:
        start, steps = part.rstrip("z").split("l")
        ring = [float(v) for v in start.split()]
        for step in re.findall(r"-?(?:\d+\.?\d*|\.\d+)", steps):
            ring.append(round(ring[-2] + float(step), 1))
        rings.append(ring)
    return rings


def test_compare_draws_two_sets(tmp_path: Path) -> None:
    tree = parse(
        gallery(tmp_path, COCO / "instances.json", "--compare", COCO / "results_bbox.json")
    )
    card = tree.cssselect('.card[data-image-id="1153"]')[0]
    layers = [m.get("data-layer", "0") for m in overlay(card).cssselect("g.m")]
    results = [
        r for r in json.loads((COCO / "results_bbox.json").read_text()) if r["image_id"] == 1153
    ]
    assert layers.count("0") == 8
    assert layers.count("1") == len(results)
    scores = sorted(
        float(m.get("data-score")) for m in overlay(card).cssselect('g.m[data-layer="1"]')
    )
    assert scores == pytest.approx(sorted(r["score"] for r in results), abs=5e-4)
    legend = tree.cssselect(".legend")[0].text_content()
    assert "instances.json" in legend
    assert "results_bbox.json" in legend
    assert tree.cssselect("body")[0].get("class") == "compare"


def test_cat_selects_cards_and_marks(tmp_path: Path) -> None:
    tree = parse(gallery(tmp_path, LABELME, "--cat", "person"))
    cards = tree.cssselect(".card")
    assert len(cards) == 2
    assert {m.get("data-cat") for m in marks(tree)} == {"person"}


def test_every_kind_has_cards(tmp_path: Path) -> None:
    panoptic = parse(gallery(tmp_path, COCO / "panoptic.json"))
    found = marks(panoptic)
    assert len(found) == len(
        coco_convert.load(COCO / "panoptic.json").annotations[0]["segments_info"]
    )
    assert all(m.cssselect("path.f") for m in found)  # every segment outlined from the PNG
    captions = parse(gallery(tmp_path / "c", COCO / "captions.json", images=tmp_path))
    assert (
        "A man is in a kitchen making pizzas." in captions.cssselect(".captions")[0].text_content()
    )
    keypoints = parse(gallery(tmp_path / "k", COCO / "person_keypoints.json", images=tmp_path))
    svg = overlay(keypoints.cssselect(".card")[0])
    assert svg.cssselect("circle.p2")
    assert svg.cssselect("circle.p1")
    assert svg.cssselect("path.k")


def test_missing_images_are_shown_and_warned(tmp_path: Path) -> None:
    out = tmp_path / "g.html"
    code, _, err = run("gallery", COCO / "instances.json", "--images", tmp_path, "-o", out)
    assert code == 0
    assert "2 x images whose file was not found" in err
    assert len(parse(out).cssselect(".card .missing")) == 2


def test_gallery_output_must_be_html(tmp_path: Path) -> None:
    code, _, err = run(
        "gallery", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "g"
    )
    assert code == 2
    assert "name it *.html" in err


# --- in the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(window=(1200, 800)) as started:
        yield started


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gallery")
    images = gradients(ROBOFLOW, root / "images")
    gradients(LABELME, root / "images")
    merged = root / "both.json"
    a, b = json.loads(ROBOFLOW.read_text()), json.loads(LABELME.read_text())
    offset = 1000
    for image in b["images"]:
        image["id"] += offset
    for ann in b["annotations"]:
        ann["image_id"] += offset
        ann["id"] += offset
        ann["category_id"] += 10
    for cat in b["categories"]:
        cat["id"] += 10
    a["images"] += b["images"]
    a["annotations"] += b["annotations"]
    a["categories"] += b["categories"]
    merged.write_text(json.dumps(a))
    out = root / "report" / "gallery.html"
    code, _, err = run("gallery", merged, "--images", images, "-o", out)
    assert code == 0, err
    return out


VISIBLE = "Array.from(document.querySelectorAll('.card')).filter(c => !c.hidden).length"


def test_dump_dom_cards_and_filter_from_the_url(page: Path) -> None:
    dom = lxml_html.fromstring(dump_dom(page.as_uri()))
    assert len(dom.cssselect(".card")) == 12
    filtered = lxml_html.fromstring(dump_dom(page.as_uri() + "#cat=person"))
    shown = [c for c in filtered.cssselect(".card") if c.get("hidden") is None]
    assert sorted(int(c.get("data-image-id")) for c in shown) == [1000, 1002]
    assert filtered.cssselect("#shown")[0].text == "2"
    pressed = filtered.cssselect('#filter button[aria-pressed="true"]')
    assert [b.get("data-cat") for b in pressed] == ["person"]


def test_filter_buttons_show_counts_and_filter(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    counts = browser.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#filter button'), "
        "b => [b.dataset.cat, b.querySelector('.n').textContent]))"
    )
    assert counts[""] == "12"
    assert counts["shuttlecock"] == "9"
    assert counts["person"] == "2"
    assert "badminton" not in counts  # a category without annotations has no button
    browser.click('#filter button[data-cat="person"]')
    assert browser.evaluate(VISIBLE) == 2
    assert browser.evaluate("location.hash") == "#cat=person"
    browser.click('#filter button[data-cat="bottle"]')  # any of the selected categories
    assert browser.evaluate(VISIBLE) == 2
    browser.click('#filter button[data-cat="person"]')
    assert browser.evaluate(VISIBLE) == 1
    browser.click('#filter button[data-cat=""]')
    assert browser.evaluate(VISIBLE) == 12
    assert browser.evaluate("document.getElementById('shown').textContent") == "12"


def test_click_to_enlarge_hover_and_keys(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    assert browser.evaluate("document.getElementById('lightbox').hidden") is True
    browser.click('.card[data-image-id="1000"]')
    assert browser.evaluate("document.getElementById('lightbox').hidden") is False
    labelme = coco_convert.load(LABELME)
    expected = len(labelme.index.img_to_anns[0])
    marks = browser.evaluate("document.querySelectorAll('#lightbox .stage g.m').length")
    assert marks == expected
    assert browser.evaluate("document.querySelectorAll('#lightbox tbody tr').length") == expected
    width = browser.evaluate("document.querySelector('#lightbox .stage .view').offsetWidth")
    assert width > 500  # enlarged from a 256 px thumbnail
    ann_id = browser.evaluate("document.querySelector('#lightbox .stage g.m').dataset.id")
    dataset = coco_convert.load(LABELME)
    ann = dataset.index.anns[int(ann_id) - 1000]
    x, y = browser.centre(f'#lightbox .stage g.m[data-id="{ann_id}"] path.f')
    browser.mouse("mouseMoved", x, y)
    tip = browser.evaluate("document.getElementById('tip').textContent")
    name = dataset.index.cats[ann["category_id"]]["name"]
    assert tip.startswith(f"id {ann_id} \u00b7 {name} \u00b7 area ")
    assert tip.endswith("iscrowd 0")
    assert browser.evaluate("document.getElementById('tip').hidden") is False
    browser.key("ArrowRight", 39)
    assert (
        browser.evaluate("document.querySelector('#lightbox h2').textContent")
        == (dataset.index.imgs[1]["file_name"])
    )
    browser.key("Escape", 27)
    assert browser.evaluate("document.getElementById('lightbox').hidden") is True


def test_overlays_appear_as_cards_come_into_view(browser: Browser, tmp_path: Path) -> None:
    """A page of many cards adds each card's SVG overlay when it comes near the viewport
    (parsing thousands of overlays up front made large pages slow to open)."""
    doc = {
        "images": [
            {"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 48} for i in range(1, 301)
        ],
        "annotations": [
            {"id": i, "image_id": i, "category_id": 1, "bbox": [8, 8, 30, 20]}
            for i in range(1, 301)
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (tmp_path / "many.json").write_text(json.dumps(doc))
    out = gallery(tmp_path, tmp_path / "many.json", "--thumb", "64")
    browser.open(out.as_uri())
    settled = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    browser.evaluate(settled)
    shown = "document.querySelectorAll('#cards .card .view svg').length"
    first = browser.evaluate(shown)
    assert 0 < first < 300
    assert browser.evaluate("document.querySelector('.card').querySelector('svg g.m') !== null")
    browser.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    browser.evaluate(settled)
    assert browser.evaluate(shown) > first
    assert browser.evaluate("document.querySelector('.card:last-child svg') !== null")


def test_the_page_makes_no_network_request(page: Path) -> None:
    with Browser(network=True) as browser:
        _no_network(browser, page)


def _no_network(browser: Browser, page: Path) -> None:
    browser.open(page.as_uri())
    browser.click('.card[data-image-id="3"]')  # the original image is linked, by file://
    urls = browser.requested_urls()
    assert urls
    assert all(url.startswith(("file:", "data:")) for url in urls), urls
    src = browser.evaluate("document.querySelector('#lightbox .stage img').src")
    assert src.startswith("file://")
    assert src.endswith(".jpg")


def test_screenshot_matches_the_reference(browser: Browser, tmp_path: Path) -> None:
    """The fixture page looks as it did when the reference was made (within a tolerance for
    font hinting and JPEG decoders). After a deliberate change of the page's look, run with
    COCO_CONVERT_UPDATE_REFERENCE=1 and look at the new tests/reference/gallery.png."""
    images = gradients(COCO / "instances.json", tmp_path / "images")
    out = gallery(
        tmp_path, COCO / "instances.json", "--compare", COCO / "results_bbox.json", images=images
    )
    browser.open(out.as_uri())
    shot = Image.open(io.BytesIO(browser.screenshot())).convert("RGB")
    if os.environ.get("COCO_CONVERT_UPDATE_REFERENCE"):
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        shot.save(REFERENCE)
    reference = Image.open(REFERENCE).convert("RGB")
    assert shot.size == reference.size
    difference = np.abs(np.asarray(shot, dtype=int) - np.asarray(reference, dtype=int)).max(axis=2)
    assert difference.mean() < 2.0
    assert (difference > 48).mean() < 0.01


def test_title_and_large_page_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coco_convert.visual import gallery as module

    tree = parse(gallery(tmp_path, COCO / "instances.json", "--title", "Bananas & co"))
    assert tree.cssselect("title")[0].text == "Bananas & co"
    assert tree.cssselect("h1")[0].text == "Bananas & co"
    monkeypatch.setattr(module, "LARGE_PAGE", 1)
    out = tmp_path / "big.html"
    code, _, err = run("gallery", COCO / "instances.json", "--images", tmp_path, "-o", out)
    assert code == 0
    assert "2 x images on one page: more than 1 makes a page slow to open" in err
