"""``coco-convert draw``: the selection (pycocotools' getImgIds(catIds=getCatIds(catNms=...))),
the options, the output folder, the summary and the errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import coco_convert
from coco_convert.cli import main

from .conftest import FIXTURES, REALDATA

COCO = FIXTURES / "coco"
ROBOFLOW = REALDATA / "coco_roboflow/roboflow-badminton-train-_annotations.coco.json"
LABELME = REALDATA / "coco_labelme/labelme2coco-annotations.json"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def photos(dataset_path: Path, folder: Path) -> Path:
    """A textured image of the right size for every image of the dataset, under its
    file_name."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for image in json.loads(dataset_path.read_text())["images"]:
        path = folder / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (image["height"], image["width"], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, quality=90)
    return folder


@pytest.mark.parametrize(
    ("path", "names"),
    [
        (COCO / "instances.json", []),
        (COCO / "instances.json", ["banana"]),
        (COCO / "instances.json", ["banana", "person"]),
        (COCO / "instances.json", ["person"]),
        (ROBOFLOW, []),
        (ROBOFLOW, ["shuttlecock"]),
        (ROBOFLOW, ["badminton"]),  # Roboflow's placeholder category: no image
        (ROBOFLOW, ["shuttlecock", "badminton"]),
        (LABELME, ["person"]),
        (LABELME, ["person", "bottle"]),
        (LABELME, ["_background_"]),
    ],
)
def test_selection_is_pycocotools_getImgIds(path: Path, names: list[str], tmp_path: Path) -> None:
    """The pictures written are those of getImgIds(catIds=getCatIds(catNms=names)): with
    several names, the images holding every one."""
    dataset = coco_convert.load(path)
    coco = coco_convert.to_pycocotools(dataset)
    assert set(names) <= {cat["name"] for cat in dataset.categories}
    expected = coco.getImgIds(catIds=coco.getCatIds(catNms=names)) if names else coco.getImgIds()
    stems = {Path(coco.imgs[i]["file_name"]).stem for i in expected}
    args = ["draw", path, "--images", tmp_path, "-o", tmp_path / "out"]
    for name in names:
        args += ["--cat", name]
    code, _, err = run(*args)
    assert code == 0, err
    assert {p.stem for p in (tmp_path / "out").iterdir()} == stems


def test_options_reach_the_picture(tmp_path: Path) -> None:
    """--cat, --no-labels, --no-boxes, --line-width, --alpha give the picture that
    Dataset.draw gives with the same options."""
    images = photos(COCO / "instances.json", tmp_path / "images")
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", images, "-o", tmp_path / "out",
        "--cat", "spoon,bottle", "--no-labels", "--line-width", "3", "--alpha", "0.2",
        "--img-ids", "1153",
    )  # fmt: skip
    assert code == 0, err
    written = Image.open(tmp_path / "out/COCO_val2014_000000001153.png")
    dataset = coco_convert.load(COCO / "instances.json")
    expected = dataset.draw(
        1153, images, cat_names=["spoon", "bottle"], labels=False, line_width=3, alpha=0.2
    )
    assert np.array_equal(np.asarray(written), np.asarray(expected))
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", images, "-o", tmp_path / "boxless",
        "--no-boxes", "--img-ids", "1153",
    )  # fmt: skip
    assert code == 0, err
    boxless = dataset.draw(1153, images, boxes=False)
    written = Image.open(tmp_path / "boxless/COCO_val2014_000000001153.png")
    assert np.array_equal(np.asarray(written), np.asarray(boxless))


def test_img_ids_limit_and_jpg(tmp_path: Path) -> None:
    code, _, err = run(
        "draw", ROBOFLOW, "--images", tmp_path, "-o", tmp_path / "out",
        "--img-ids", "5,1", "--img-ids", "3", "--limit", "2", "--format", "jpg",
    )  # fmt: skip
    assert code == 0, err
    dataset = coco_convert.load(ROBOFLOW)
    stems = sorted(Path(dataset.index.imgs[i]["file_name"]).stem + ".jpg" for i in (1, 3))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == stems
    for path in (tmp_path / "out").iterdir():
        assert path.read_bytes()[:2] == b"\xff\xd8"


def test_missing_images_are_blank_canvases_with_a_warning(tmp_path: Path) -> None:
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "out",
        "--report", tmp_path / "report.json",
    )  # fmt: skip
    assert code == 0, err
    assert "warning: 2 x images whose file was not found: drawn on a blank canvas" in err
    assert "COCO_val2014_000000001153.jpg" in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"] == {"images": 2, "annotations": 9}
    assert report["warnings"]["image_missing"]["count"] == 2
    picture = Image.open(tmp_path / "out/COCO_val2014_000000001176.png")
    assert picture.size == (426, 640)


def test_exif_orientation_through_the_command_line(tmp_path: Path) -> None:
    """The picture is the upright image, as ultralytics and OpenCV see it, and its size
    agrees with the annotation file's (no size warning)."""
    from .test_draw import exif_image

    exif_image(tmp_path / "turned.jpg", 6)
    doc = {
        "images": [{"id": 1, "file_name": "turned.jpg", "width": 40, "height": 60}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [30, 0, 10, 10]}],
        "categories": [{"id": 1, "name": "corner"}],
    }
    (tmp_path / "exif.json").write_text(json.dumps(doc))
    code, _, err = run("draw", tmp_path / "exif.json", "--images", tmp_path, "-o", tmp_path / "o")
    assert code == 0, err
    assert "warning" not in err
    assert Image.open(tmp_path / "o/turned.png").size == (40, 60)


def test_pictures_are_named_after_their_files(tmp_path: Path) -> None:
    """One picture per image, ``<stem>.<format>``; images that share a stem get their id."""
    doc = {
        "images": [
            {"id": 1, "file_name": "train/x.jpg", "width": 8, "height": 8},
            {"id": 2, "file_name": "val\\x.jpg", "width": 8, "height": 8},
            {"id": 3, "file_name": "y.png", "width": 8, "height": 8},
        ],
        "annotations": [],
        "categories": [],
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    code, _, err = run("draw", tmp_path / "a.json", "--images", tmp_path, "-o", tmp_path / "out")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x_1.png", "x_2.png", "y.png"]


def test_parallel_workers_give_the_same_pictures(tmp_path: Path) -> None:
    images = photos(ROBOFLOW, tmp_path / "images")
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        code, _, err = run("draw", ROBOFLOW, "--images", images, "-o", out, "-j", jobs)
        assert code == 0, err
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 9


def test_compare_pairs_images_by_file_name(tmp_path: Path) -> None:
    """Datumaro renumbers nothing here but reorders the images; the second set is paired by
    file_name and drawn in orange; an image the second set lacks is named in a warning."""
    images = photos(COCO / "instances.json", tmp_path / "images")
    other = COCO / "tools/datumaro-instances.json"
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", images, "-o", tmp_path / "out",
        "--compare", other, "--no-labels",
    )  # fmt: skip
    assert code == 0, err
    assert "compare" not in err
    pixels = np.asarray(Image.open(tmp_path / "out/COCO_val2014_000000001153.png"))
    colours = {tuple(p) for p in pixels.reshape(-1, 3)}
    assert (0, 114, 178) in colours
    assert (230, 159, 0) in colours
    doc = json.loads(other.read_text())
    doc["images"] = [i for i in doc["images"] if i["id"] != 1176]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] != 1176]
    (tmp_path / "partial.json").write_text(json.dumps(doc))
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", images, "-o", tmp_path / "out2",
        "--compare", tmp_path / "partial.json",
    )  # fmt: skip
    assert code == 0, err
    assert "1 x images that the compare set has no image for" in err
    assert "COCO_val2014_000000001176.jpg" in err


def test_results_compare_with_min_score(tmp_path: Path) -> None:
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "out",
        "--compare", COCO / "results_bbox.json", "--min-score", "0.9", "--report",
        tmp_path / "r.json",
    )  # fmt: skip
    assert code == 0, err
    results = json.loads((COCO / "results_bbox.json").read_text())
    kept = sum(1 for r in results if r["score"] >= 0.9 and r["image_id"] in (1153, 1176))
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["annotations"] == 9 + kept


def test_panoptic_pngs_are_found_beside_the_json(tmp_path: Path) -> None:
    code, _, err = run("draw", COCO / "panoptic.json", "--images", tmp_path, "-o", tmp_path / "o")
    assert code == 0, err
    assert "panoptic PNG" not in err
    code, _, err = run(
        "draw", COCO / "panoptic.json", "--images", tmp_path, "-o", tmp_path / "o2",
        "--panoptic-dir", tmp_path,
    )  # fmt: skip
    assert code == 0, err
    assert "panoptic PNGs not found: segments drawn as boxes" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cat", "bananna"], "no category named 'bananna' (did you mean 'banana'?)"),
        (["--img-ids", "7"], "no image with id 7"),
        (["--img-ids", "x"], "--img-ids: 'x' is not an image id"),
        (["--alpha", "2"], "--alpha"),
        (["--format", "gif"], "--format"),
    ],
)
def test_bad_requests_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "o", *args
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bad_inputs_and_outputs(tmp_path: Path) -> None:
    code, _, err = run("draw", COCO / "results_bbox.json", "--images", tmp_path, "-o", tmp_path)
    assert code == 2
    assert "draw them over the dataset they belong to" in err
    code, _, err = run("draw", COCO / "instances.json", "--images", tmp_path / "no", "-o", "o")
    assert code == 2
    assert "no such folder" in err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/keep.txt").write_text("mine")
    args = ["draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "busy"]
    code, _, err = run(*args)
    assert code == 2
    assert "not empty" in err
    assert (tmp_path / "busy/keep.txt").read_text() == "mine"
    code, _, err = run(*args, "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == [
        "COCO_val2014_000000001153.png",
        "COCO_val2014_000000001176.png",
    ]
    (tmp_path / "broken.json").write_text('{"images": [}')
    code, _, err = run("draw", tmp_path / "broken.json", "--images", tmp_path, "-o", tmp_path / "x")
    assert code == 1
    assert "broken.json:1:" in err


def test_unreadable_image_files_are_warned_about(tmp_path: Path) -> None:
    (tmp_path / "COCO_val2014_000000001153.jpg").write_bytes(b"not a jpeg")
    code, _, err = run("draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "o")
    assert code == 0, err
    assert "1 x image files that could not be read: drawn on a blank canvas" in err


def test_draw_and_gallery_show_progress(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from coco_convert.visual import batch

    seen: list[dict[str, Any]] = []

    def track(items: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return items

    monkeypatch.setattr(batch, "track", track)
    code, _, err = run("draw", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "o")
    assert code == 0, err
    assert seen == [{"total": 2, "desc": "draw", "unit": "img"}]
    from coco_convert.visual import gallery

    monkeypatch.setattr(gallery, "track", track)
    args = ("gallery", COCO / "instances.json", "--images", tmp_path, "-o", tmp_path / "g.html")
    code, _, err = run(*args)
    assert code == 0, err
    assert seen[1] == {"total": 2, "desc": "gallery", "unit": "img"}


def test_draw_and_gallery_start_without_the_numeric_stack() -> None:
    """--help of draw and gallery imports neither numpy nor Pillow nor pycocotools."""
    probe = (
        "import sys\n"
        "from coco_convert.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "heavy = {'numpy', 'pycocotools', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    for verb in ("draw", "gallery"):
        done = subprocess.run(
            [sys.executable, "-c", probe, verb, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


def test_picture_bytes_are_png_by_default(tmp_path: Path) -> None:
    code, _, err = run("draw", COCO / "captions.json", "--images", tmp_path, "-o", tmp_path / "o")
    assert code == 0, err
    (picture,) = (tmp_path / "o").iterdir()
    image = Image.open(io.BytesIO(picture.read_bytes()))
    assert image.format == "PNG"
    assert image.height > 427  # the caption band


def test_image_files_outside_the_images_folder_are_not_read(tmp_path: Path) -> None:
    """A file_name leading out of --images (``../``) is refused, as coco2yolo refuses it: the
    picture is a blank canvas and the warning says why."""
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "secret.png")
    doc = {
        "images": [{"id": 1, "file_name": "../secret.png", "width": 8, "height": 8}],
        "annotations": [],
        "categories": [],
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    code, _, err = run("draw", tmp_path / "a.json", "--images", images, "-o", tmp_path / "out")
    assert code == 0, err
    assert "1 x images whose file_name leads out of the images folder" in err
    picture = np.asarray(Image.open(tmp_path / "out/secret.png"))
    assert (picture != (255, 0, 0)).any(axis=-1).all()


def test_outputs_never_replace_their_inputs(tmp_path: Path) -> None:
    images = photos(COCO / "instances.json", tmp_path / "images")
    before = sorted(p.name for p in images.iterdir())
    code, _, err = run(
        "draw", COCO / "instances.json", "--images", images, "-o", images, "--overwrite"
    )
    assert code == 2
    assert "would overwrite the input" in err
    assert sorted(p.name for p in images.iterdir()) == before
    source = tmp_path / "instances.json"
    source.write_bytes((COCO / "instances.json").read_bytes())
    code, _, err = run("gallery", source, "--images", images, "-o", tmp_path / "x.html")
    assert code == 0, err
    code, _, err = run("draw", source, "--images", images, "-o", tmp_path, "--overwrite")
    assert code == 2
    assert "holds the input" in err


def test_an_image_beyond_the_pixel_limit_is_skipped(tmp_path: Path) -> None:
    """A record that says 100000 x 100000 (a mistyped size, or a bomb) is not drawn: a
    canvas of that size would take 30 GB."""
    doc = {
        "images": [
            {"id": 1, "file_name": "huge.jpg", "width": 100_000, "height": 100_000},
            {"id": 2, "file_name": "small.jpg", "width": 8, "height": 8},
        ],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}],
        "categories": [{"id": 1, "name": "a"}],
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    for verb, out in (("draw", tmp_path / "out"), ("gallery", tmp_path / "g.html")):
        report = tmp_path / f"{verb}.json"
        code, _, err = run(
            verb, tmp_path / "a.json", "--images", tmp_path, "-o", out, "--report", report
        )
        assert code == 0, err
        assert "lost: 1 x images whose width x height is beyond Pillow's pixel limit" in err
        assert "100000x100000" in json.dumps(json.loads(report.read_text())["losses"])
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["small.png"]
    dataset = coco_convert.from_document(doc)
    with pytest.raises(coco_convert.UsageError, match="cannot be drawn: images whose width"):
        dataset.draw(1)


def test_with_workers_this_process_loads_no_renderer(tmp_path: Path) -> None:
    """With worker processes, the main process only hands out jobs and writes files: it never
    imports numpy, Pillow or pycocotools (the workers would wait for it)."""
    probe = (
        "import sys\n"
        "from coco_convert.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "heavy = {'numpy', 'pycocotools', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    args = ["draw", str(COCO / "instances.json"), "--images", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-c", probe, "-q", *args, "-o", str(tmp_path / "o"), "-j", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o").iterdir())) == 2
