"""Image sizes from headers (the EXIF cases are checked against ultralytics in
test_yolo_interop.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from coco_convert import images
from coco_convert.images import ImageSizeError, is_image_name, read_size, read_sizes


def test_formats_without_imagesize_support_fall_back_to_pillow(tmp_path: Path) -> None:
    path = tmp_path / "a.ppm"
    Image.new("RGB", (7, 5)).save(path)
    assert read_size(path) == (7, 5)
    gif = tmp_path / "a.gif"
    Image.new("P", (9, 3)).save(gif)
    assert read_size(gif) == (9, 3)


def test_unreadable_images_say_why(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageSizeError, match=r"not an image|broken"):
        read_size(tmp_path / "x.jpg")
    with pytest.raises(ImageSizeError, match="no such file"):
        read_size(tmp_path / "missing.jpg")
    with pytest.raises(ImageSizeError, match="folder"):
        read_size(tmp_path)


def test_read_sizes_in_parallel_keeps_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "PARALLEL_MIN_IMAGES", 3)
    paths = []
    for i in range(7):
        path = tmp_path / f"{i}.png"
        Image.new("L", (i + 1, 2)).save(path)
        paths.append(str(path))
    paths.append(str(tmp_path / "gone.png"))
    found = read_sizes(paths, jobs=2, chunk=2)
    assert found[:7] == [(i + 1, 2) for i in range(7)]
    assert found[7] == "no such file"


def test_image_names() -> None:
    assert is_image_name("a.JPG")
    assert is_image_name("b.webp")
    assert not is_image_name("a.gif")
    assert not is_image_name("noext")
