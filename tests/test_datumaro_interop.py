"""What we write, imported by Datumaro (and so by CVAT, which imports through it): every item,
annotation and class arrives, without warnings.

Datumaro runs from its own environment, which `make test` builds (`.venv-datumaro`, the version
pinned in the Makefile): it pins Pillow 12, so it cannot share the project's environment
without changing what the other tests run on. `COCO_CONVERT_DATUMARO` names another Python
that has it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import coco_convert
from coco_convert.converters.voc import read_voc, write_voc
from coco_convert.converters.yolo import read_yolo, write_yolo

from .conftest import FIXTURES, ROOT
from .yolo_cases import make_images

INSTANCES = FIXTURES / "coco" / "instances.json"
SCRIPT = Path(__file__).with_name("datumaro_import.py")
PYTHON = Path(os.environ.get("COCO_CONVERT_DATUMARO", ROOT / ".venv-datumaro" / "bin" / "python"))


def datumaro(fmt: str, path: Path, *, details: bool = False) -> dict[str, Any]:
    """What Datumaro's importer of ``fmt`` finds at ``path`` (``details``: each item's
    boxes, polygons, polylines and masks too; see tests/datumaro_import.py)."""
    if not PYTHON.is_file():
        pytest.fail(
            f"no Datumaro environment at {PYTHON}: `make test` builds it (or set "
            "COCO_CONVERT_DATUMARO to a Python with datumaro installed)"
        )
    done = subprocess.run(
        [str(PYTHON), str(SCRIPT), fmt, str(path), *(["--details"] if details else [])],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@pytest.fixture(scope="module")
def dataset() -> Any:
    return coco_convert.load(INSTANCES)


def test_our_voc_with_classes_beyond_voc_twenty(tmp_path: Path, dataset: Any) -> None:
    write_voc(dataset, tmp_path / "voc")
    found = datumaro("voc", tmp_path / "voc")
    names = [category["name"] for category in dataset.categories]
    assert found["labels"] == ["background", *names]  # from labelmap.txt: spoon, banana, ...
    assert found["items"] == len(dataset.images)
    objects = sum(1 for ann in dataset.annotations if not ann["iscrowd"])  # VOC has no crowd
    assert found["annotations"] == {"bbox": objects}
    assert found["warnings"] == []


def test_our_coco_from_voc_and_yolo(tmp_path: Path, dataset: Any) -> None:
    datasets, _ = read_voc(FIXTURES / "voc" / "labelimg", coords="zero-based")
    voc = datasets["default"]
    root = tmp_path / "from_voc"
    voc.save(root / "annotations" / "instances_default.json")
    (root / "images" / "default").mkdir(parents=True)  # where Datumaro looks for images
    found = datumaro("coco_instances", root)
    assert found["items"] == len(voc.images)
    assert found["annotations"] == {"bbox": len(voc.annotations)}
    assert found["warnings"] == []  # "Missing annotation field 'segmentation'" once per box

    write_yolo({"val": dataset}, tmp_path / "yolo", images=make_images(dataset, tmp_path / "p"),
               image_mode="copy")  # fmt: skip
    splits, _ = read_yolo(tmp_path / "yolo" / "data.yaml", split="val")
    root = tmp_path / "from_yolo"
    splits["val"].save(root / "annotations" / "instances_val.json")
    (root / "images" / "val").mkdir(parents=True)
    found = datumaro("coco_instances", root)
    assert found["items"] == len(dataset.images)
    assert found["annotations"] == {"bbox": len(splits["val"].annotations)}
    assert found["warnings"] == []


@pytest.mark.parametrize("layout", ["ultralytics", "darknet"])
def test_our_yolo(tmp_path: Path, dataset: Any, layout: str) -> None:
    images = make_images(dataset, tmp_path / "photos")
    write_yolo({"train": dataset}, tmp_path / "yolo", layout=layout, images=images,  # type: ignore[arg-type]
               image_mode="copy")  # fmt: skip
    found = datumaro("yolo", tmp_path / "yolo")
    assert found["labels"] == [category["name"] for category in dataset.categories]
    assert found["items"] == len(dataset.images)
    objects = sum(1 for ann in dataset.annotations if not ann["iscrowd"])  # crowds left out
    assert found["annotations"] == {"bbox": objects}
    assert found["warnings"] == []
