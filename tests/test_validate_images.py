"""``--images DIR``: image files on disk (I005, I006, I008) and panoptic PNGs (P002)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from coco_convert.validate import Settings, validate_path
from tests.validate_cases import instances, panoptic


def _image(path: Path, width: int, height: int, *, orientation: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.new("RGB", (width, height), "gray")
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    picture.save(path, exif=exif)


def _codes(doc: object, tmp_path: Path, images: Path | None) -> list[tuple[str, str | None]]:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    result = validate_path(path, Settings(images=images))
    return [(d.code, d.location.pointer) for d in result.diagnostics]


def test_images_on_disk(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    _image(folder / "a.jpg", 100, 80)
    _image(folder / "b.jpg", 50, 50)
    doc = instances()
    assert _codes(doc, tmp_path, folder) == []
    # Without --images nothing is looked up.
    (folder / "a.jpg").unlink()
    assert _codes(doc, tmp_path, None) == []
    assert _codes(doc, tmp_path, folder) == [("I005", "/images/0/file_name")]


def test_size_from_header_with_exif_rotation(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    # Stored 80 x 100 with "rotate 90": loaders that honour EXIF see 100 x 80, as declared.
    _image(folder / "a.jpg", 80, 100, orientation=6)
    _image(folder / "b.jpg", 50, 40)
    found = _codes(instances(), tmp_path, folder)
    assert found == [("I006", "/images/1")]
    path = tmp_path / "doc.json"
    (diagnostic,) = validate_path(path, Settings(images=folder)).diagnostics
    assert diagnostic.message == "image file is 50x40 but the record says 50x50"


def test_swapped_size_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    _image(folder / "a.jpg", 80, 100)  # no EXIF: really portrait
    _image(folder / "b.jpg", 50, 50)
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(instances()))
    (diagnostic,) = validate_path(path, Settings(images=folder)).diagnostics
    assert diagnostic.code == "I006"
    assert "swapped" in diagnostic.message


def test_unreadable_image(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg")
    _image(folder / "b.jpg", 50, 50)
    assert _codes(instances(), tmp_path, folder) == [("I008", "/images/0/file_name")]


def test_panoptic_pngs(tmp_path: Path) -> None:
    folder = tmp_path / "panoptic"
    for name, size in (("a.jpg", (100, 80)), ("b.jpg", (100, 80))):
        _image(folder / name, *size)
    Image.new("RGB", (100, 80)).save(folder / "a.png")
    assert _codes(panoptic(), tmp_path, folder) == [("P002", "/annotations/1/file_name")]
