"""LabelMe JSON: the real exports, every shape type against LabelMe's own masks, round trips
through COCO, files LabelMe opens, and bad input refused at its JSON pointer.

LabelMe's own code runs from its environment (`make test` builds `.venv-labelme` with the
version pinned in the Makefile: LabelMe pulls in PyQt5 and onnxruntime);
`COCO_CONVERT_LABELME` names another Python that has it."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from PIL import Image
from pycocotools.coco import COCO

import coco_convert
from coco_convert import geometry, shapes
from coco_convert.cli import main
from coco_convert.converters.labelme import parse_labelme, read_labelme, write_labelme
from coco_convert.converters.loss import ConversionError
from coco_convert.errors import InputError

from .conftest import FIXTURES, REALDATA, ROOT

LABELME = FIXTURES / "labelme"
REAL = REALDATA / "labelme_json"
ORACLE = Path(__file__).with_name("labelme_oracle.py")
PYTHON = Path(os.environ.get("COCO_CONVERT_LABELME", ROOT / ".venv-labelme" / "bin" / "python"))


def labelme(mode: str, *paths: Path) -> Any:
    """What LabelMe's own code finds (tests/labelme_oracle.py in LabelMe's environment)."""
    if not PYTHON.is_file():
        pytest.fail(
            f"no LabelMe environment at {PYTHON}: `make test` builds it (or set "
            "COCO_CONVERT_LABELME to a Python with labelme installed)"
        )
    done = subprocess.run(
        [str(PYTHON), str(ORACLE), mode, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def read(path: Path, **options: Any) -> tuple[Any, Any]:
    datasets, report = read_labelme(path, **options)
    return datasets["default"], report


# --- the real exports ------------------------------------------------------------------------


def test_group_id_joins_polygons_into_one_object() -> None:
    dataset, report = read(REAL / "labelme-instseg-2011_000003.json")
    document = json.loads((REAL / "labelme-instseg-2011_000003.json").read_text())
    names = {c["id"]: c["name"] for c in dataset.categories}
    objects = [(names[a["category_id"]], len(a["segmentation"])) for a in dataset.annotations]
    # person (alone), person drawn as two polygons (group_id 0), bottle; __ignore__ left out
    assert objects == [("person", 1), ("person", 2), ("bottle", 1)]
    joined = dataset.annotations[1]
    flat = [[v for point in s["points"] for v in point] for s in document["shapes"][1:3]]
    assert joined["segmentation"] == flat
    assert joined["bbox"] == pytest.approx(shapes.envelope(flat[0] + flat[1]))
    assert report.losses["ignore_regions"].count == 1
    assert dataset.images == [
        {"id": 1, "file_name": "2011_000003.jpg", "width": 500, "height": 338}
    ]


def test_every_primitive_of_labelme_5() -> None:
    dataset, report = read(REAL / "labelme-primitives.json")
    names = {c["id"]: c["name"] for c in dataset.categories}
    by_name: dict[str, list[Any]] = {}
    for ann in dataset.annotations:
        by_name.setdefault(names[ann["category_id"]], []).append(ann)
    first, second = by_name["rectangle"]
    assert (first["bbox"], first["segmentation"]) == ([32.0, 35.0, 100.0, 100.0], [])
    assert second["bbox"] == [391.0, 33.0, 151.0, 102.0]
    (circle,) = by_name["circle"]
    radius = math.hypot(225 - 195, 125 - 84)
    assert circle["shape"] == {
        "type": "ellipse", "center": [195.0, 84.0], "radii": [radius, radius], "rotation": 0.0
    }  # fmt: skip
    assert circle["bbox"] == pytest.approx([195 - radius, 84 - radius, 2 * radius, 2 * radius])
    (polygon,) = by_name["polygon"]
    assert polygon["segmentation"] == [[69.0, 318.0, 45.0, 403.0, 173.0, 406.0, 198.0, 321.0]]
    (octagon,) = by_name["octagon"]
    png = json.loads((REAL / "labelme-primitives.json").read_text())["shapes"][-1]["mask"]
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(png)))) != 0
    mask = geometry.rle_to_mask(octagon["segmentation"])
    assert mask.shape == (450, 560)
    assert (mask[305 : 305 + 100, 417 : 417 + 100] == pixels).all()  # at int(first point)
    assert octagon["area"] == int(pixels.sum()) == int(mask.sum())
    assert report.losses["lines"].count == 2  # line, linestrip
    assert report.losses["points"].count == 1  # a point in no group
    assert not report.warnings


# --- LabelMe's own masks ---------------------------------------------------------------------


def _bits(entry: dict[str, Any]) -> Any:
    height, width = entry["size"]
    packed = np.frombuffer(base64.b64decode(entry["bits"]), dtype=np.uint8)
    return np.unpackbits(packed)[: height * width].reshape(height, width).astype(bool)


@pytest.mark.parametrize("name", ["labelme6/street.json", "labelme6/cells/cells.json"])
def test_masks_agree_with_labelme_shape_to_mask(name: str) -> None:
    """Every shape's pixels against LabelMe's ``shape_to_mask`` (and its placement of mask
    shapes). The differences are LabelMe's, and systematic: it draws with Pillow, which puts
    pixel centres on whole coordinates and paints the outline too, so its masks are half a
    pixel off COCO's (pycocotools': a pixel is in when its centre is) and one boundary ring
    larger. A rectangle [x0, x1] covers x1 - x0 + 1 columns there, x1 - x0 in COCO; a circle
    covers all of COCO's pixels and a ring more; polygons differ only within 1.5 px of their
    outline. Mask shapes are exactly the same pixels."""
    path = LABELME / name
    document = json.loads(path.read_text())
    height, width = document["imageHeight"], document["imageWidth"]
    found = labelme("masks", path)
    assert found["version"] == "6.3.1"
    checked = set()
    for entry in found["result"]:
        raw = document["shapes"][entry["index"]]
        kind, theirs = raw["shape_type"], _bits(entry)
        if kind in ("line", "linestrip", "point"):
            continue  # no COCO pixels: reported (LabelMe paints them 10 px wide)
        ours = _our_mask(raw, height, width)
        checked.add(kind)
        if kind == "mask":
            assert (ours == theirs).all()
            continue
        if kind == "rectangle":
            (x0, y0), (x1, y1) = raw["points"]
            left, top = int(min(x0, x1)), int(min(y0, y1))
            right, bottom = int(max(x0, x1)), int(max(y0, y1))
            assert ours[top:bottom, left:right].all()
            assert ours.sum() == (bottom - top) * (right - left)
            assert theirs[top : bottom + 1, left : right + 1].all()  # one more column and row
            assert theirs.sum() == (bottom - top + 1) * (right - left + 1)
            continue
        if kind == "circle":
            assert not (ours & ~theirs).any()  # Pillow's circle holds all of ours
        outline = _outline(raw)
        rows, cols = np.nonzero(ours ^ theirs)
        centres = shapely.points(cols + 0.5, rows + 0.5)
        assert (shapely.distance(outline, centres) <= 1.5).all(), kind
    expected = {"rectangle", "polygon", "circle", "oriented_rectangle"} if "street" in name else {
        "mask", "polygon"
    }  # fmt: skip
    assert checked == expected


def _our_mask(raw: dict[str, Any], height: int, width: int) -> Any:
    """The pixels of the COCO annotation we make of this one shape."""
    document = {"shapes": [dict(raw, group_id=None)], "imagePath": "x.png",
                "imageHeight": height, "imageWidth": width}  # fmt: skip
    parsed = parse_labelme(json.dumps(document).encode(), "x.json")
    assert parsed is not None
    (ann,) = parsed.annotations
    segmentation = ann["segmentation"] or [_box_polygon(ann["bbox"])]
    return geometry.rle_to_mask(geometry.to_rle(segmentation, height, width)).astype(bool)


def _box_polygon(box: list[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def _outline(raw: dict[str, Any]) -> Any:
    points = raw["points"]
    if raw["shape_type"] == "circle":
        (cx, cy), (px, py) = points
        return shapely.Point(cx, cy).buffer(math.hypot(px - cx, py - cy), 256).exterior
    return shapely.LinearRing(points)


# --- COCO -> LabelMe -> COCO -----------------------------------------------------------------


def test_round_trip_is_exact_for_boxes_polygons_and_rle(tmp_path: Path) -> None:
    source = coco_convert.load(FIXTURES / "coco" / "instances.json")
    report = write_labelme(source, tmp_path / "labelme")
    assert "crowd" not in report.losses  # kept as the shape flag iscrowd
    again, _ = read(tmp_path / "labelme")
    assert [c["name"] for c in again.categories] == [c["name"] for c in source.categories]
    names = {c["id"]: c["name"] for c in source.categories}
    back = {c["id"]: c["name"] for c in again.categories}
    assert len(again.annotations) == len(source.annotations)
    for before, after in zip(source.annotations, again.annotations, strict=True):
        assert names[before["category_id"]] == back[after["category_id"]]
        assert after["iscrowd"] == before["iscrowd"]
        if isinstance(before["segmentation"], dict):  # the crowd, uncompressed RLE
            assert after["segmentation"] == geometry.compress_rle(before["segmentation"])
            assert after["bbox"] == geometry.rle_bbox([after["segmentation"]])[0]
        else:
            assert after["segmentation"] == before["segmentation"]
            assert after["bbox"] == pytest.approx(before["bbox"], abs=1e-9)
    # pycocotools loads what went through LabelMe
    again.save(tmp_path / "again.json")
    assert len(COCO(str(tmp_path / "again.json")).getAnnIds()) == len(source.annotations)


def test_boxes_rotated_boxes_circles_and_keypoints_come_back(tmp_path: Path) -> None:
    first, _ = read(LABELME / "labelme6")
    write_labelme(first, tmp_path / "out")
    again, report = read(tmp_path / "out")
    assert again.kind == "keypoints"
    assert again.document["annotations"] == first.document["annotations"]
    assert again.categories == first.categories
    assert "image_data" not in report.losses  # (the embedded image is not written back)


def test_rle_as_exact_polygons(tmp_path: Path) -> None:
    first, _ = read(LABELME / "labelme6" / "cells" / "cells.json")
    write_labelme(first, tmp_path / "out", rle_shape="polygon")
    written = json.loads((tmp_path / "out" / "cells.json").read_text())
    assert {s["shape_type"] for s in written["shapes"]} == {"polygon"}
    again, _ = read(tmp_path / "out")
    (mask_before, *_), (mask_after, *_) = first.annotations, again.annotations
    rle = geometry.to_rle(mask_after["segmentation"], 60, 80)
    assert geometry.iou(rle, mask_before["segmentation"]) == 1.0  # a hole, cut in


def test_labelme_opens_what_we_write(tmp_path: Path) -> None:
    first, _ = read(LABELME / "labelme6")
    images = tmp_path / "images"
    shutil.copytree(LABELME / "labelme6", images)
    write_labelme(first, tmp_path / "out", images=images)
    write_labelme(first, tmp_path / "embedded", images=images, embed_images=True)
    files = sorted((tmp_path / "out").rglob("*.json")) + sorted(
        (tmp_path / "embedded").rglob("*.json")
    )
    found = labelme("load", *files)["result"]
    assert [entry["size"] for entry in found] == [[80, 60], [96, 64]] * 2
    street = found[1]["shapes"]
    kinds = sorted({kind for _, kind, _, _ in street})
    assert kinds == ["circle", "oriented_rectangle", "point", "polygon", "rectangle"]
    assert ["person", "polygon", 1, {}] in street
    assert ["head", "point", 1, {}] in street
    cells = json.loads((tmp_path / "embedded" / "cells" / "cells.json").read_text())
    assert base64.b64decode(cells["imageData"]) == (images / "cells" / "cells.png").read_bytes()
    assert cells["imagePath"] == "../../images/cells/cells.png"


def test_extract_images(tmp_path: Path) -> None:
    read(LABELME / "labelme6", extract_images=tmp_path / "images")
    written = sorted(p.relative_to(tmp_path / "images") for p in (tmp_path / "images").rglob("*"))
    assert written == [Path("cells"), Path("cells/cells.png")]
    data = (tmp_path / "images" / "cells" / "cells.png").read_bytes()
    assert data == (LABELME / "labelme6" / "cells" / "cells.png").read_bytes()


def test_labels_file_fixes_ids_and_drops_others(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\nperson\ncar\n")
    dataset, report = read(LABELME / "labelme4", labels=labels)
    assert [(c["id"], c["name"]) for c in dataset.categories] == [(1, "person"), (2, "car")]
    assert report.warnings["unknown_class"].count == 2  # sign, wheel
    with pytest.raises(ConversionError, match="unknown_class"):
        read(LABELME / "labelme4", labels=labels, strict=True)


def test_labelme_3_and_4() -> None:
    three, report = read(LABELME / "labelme3")
    assert report.losses["colours"].count == 1
    assert len(three.annotations) == 4  # 2 rectangles, polygon, circle
    four, _ = read(LABELME / "labelme4")
    assert four.kind == "keypoints"  # the head point of the two-polygon person


# --- bad input -------------------------------------------------------------------------------


def _file(tmp_path: Path, text: str, name: str = "a.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _shape(points: Any, kind: str = "polygon", **extra: Any) -> dict[str, Any]:
    return {"label": "cat", "points": points, "group_id": None, "shape_type": kind,
            "flags": {}, **extra}  # fmt: skip


def _document(*shapes_: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"version": "5.4.1", "flags": {}, "shapes": list(shapes_),
                       "imagePath": "a.jpg", "imageData": None, "imageHeight": 20,
                       "imageWidth": 30, **extra})  # fmt: skip


def test_nan_points_are_refused_at_their_pointer(tmp_path: Path) -> None:
    text = _document(_shape([[1, 2], [3, 4], [5, 6]])).replace("[3, 4]", "[NaN, 4]")
    with pytest.raises(InputError) as error:
        read(_file(tmp_path, text))
    assert str(error.value) == f"{tmp_path / 'a.json'}:/shapes/0/points/1/0: nan is not a number"


@pytest.mark.parametrize("value", ["1" + "0" * 400, "-9223372036854775809"])
def test_points_beyond_any_coordinate_are_refused_at_their_pointer(
    tmp_path: Path, value: str
) -> None:
    # (an int too large for a float is not summed into an OverflowError traceback)
    text = _document(_shape([[1, 2], [3, 4], [5, 6]])).replace("[3, 4]", f"[3, {value}]")
    with pytest.raises(InputError) as error:
        read(_file(tmp_path, text))
    assert error.value.location.pointer == "/shapes/0/points/1/1"
    assert f"{value} is not a coordinate" in str(error.value)


def test_image_data_that_is_not_base64(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        read(_file(tmp_path, _document(imageData="not base64 at all!")))
    assert error.value.location.pointer == "/imageData"
    assert "is not base64" in str(error.value)
    not_an_image = base64.b64encode(b"hello").decode()
    with pytest.raises(InputError, match="imageData is not an image"):
        read(_file(tmp_path, _document(imageData=not_an_image)))


def test_mask_that_does_not_fit(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.ones((10, 10), dtype=bool)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    shape = _shape([[25, 5], [34, 14]], "mask", mask=png)
    with pytest.raises(InputError) as error:
        read(_file(tmp_path, _document(shape)))
    assert error.value.location.pointer == "/shapes/0/points"
    assert "the 10 x 10 mask at (25, 5) does not fit in the 30 x 20 image" in str(error.value)
    broken = _shape([[0, 0], [9, 9]], "mask", mask="!!!")
    with pytest.raises(InputError, match="/shapes/0/mask: the mask is not base64"):
        read(_file(tmp_path, _document(broken)))


def test_problems_are_warnings_at_their_pointer(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _document(
            _shape([[1, 1], [2, 2]]),  # too few points
            _shape([[1, 1], [5, 5], [9, 9]]),  # on one line
            _shape([[1, 1], [40, 5], [9, 9]]),  # outside the image
            _shape([[1, 1], [4, 4]], "ellipse"),  # not a LabelMe shape
            {"label": 3, "points": [], "shape_type": "polygon"},
            _shape([[1, 1], [5, 1], [5, 5]], group_id="a"),
        ),
    )
    _, report = read(path)
    where = {
        key: [str(e.location) for e in entry.examples] for key, entry in report.warnings.items()
    }
    assert where == {
        "too_few_points": [f"{path}:/shapes/0/points"],
        "empty_shape": [f"{path}:/shapes/1"],
        "shape_outside_image": [f"{path}:/shapes/2"],
        "unknown_shape_type": [f"{path}:/shapes/3/shape_type"],
        "bad_shape": [f"{path}:/shapes/4/label"],
        "bad_group_id": [f"{path}:/shapes/5/group_id"],
    }


def test_validate_lists_rule_codes(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    _file(folder, _document(_shape([[1, 1], [2, 2]]), _shape([[1, 1], [9, 1], [9, 9]], "ellipse")))
    _file(folder, '{"shapes": [], "imagePath": "b.jpg", "imageData": "@@"}', "b.json")
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    assert f"{folder / 'a.json'}:/shapes/0/points: M005 a polygon with 2 points" in result.output
    assert f"{folder / 'a.json'}:/shapes/1/shape_type: M004 'ellipse'" in result.output
    assert f"{folder / 'b.json'}:/imageData: M001 imageData is not base64" in result.output
    assert "F004" not in result.output
