"""coco2yolo and yolo2coco: real exports from ../shared/realdata, fixtures, round trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image
from pycocotools.coco import COCO

import coco_convert
from coco_convert.cli import main
from coco_convert.converters.coco import read_coco
from coco_convert.converters.loss import ConversionError
from coco_convert.converters.yolo import read_yolo, write_yolo
from coco_convert.errors import SchemaError, UsageError

from .conftest import FIXTURES, REALDATA

YOLO = REALDATA / "yolo"
POSE = REALDATA / "yolo_pose"
EDGE = FIXTURES / "yolo" / "instances_edge.json"
GEN20 = FIXTURES / "yolo" / "person_keypoints_gen20.json"


def _image(path: Path, size: tuple[int, int], exif_orientation: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (10, 20, 30))
    if exif_orientation is None:
        image.save(path)
    else:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(path, exif=exif.tobytes())


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _pycocotools(dataset: Any, tmp_path: Path) -> COCO:
    path = tmp_path / "loaded.json"
    dataset.save(path)
    return COCO(str(path))


# --- coco2yolo -------------------------------------------------------------------------------


def test_edge_cases_are_written_and_reported(tmp_path: Path) -> None:
    dataset = coco_convert.load(EDGE)
    report = write_yolo(dataset, tmp_path / "out", task="segment")
    labels = tmp_path / "out" / "labels" / "edge"
    # Label Studio's images/ prefix dropped, backslashes read as folders, absolute paths
    # reduced to the base name, the image without a size left out.
    assert sorted(p.relative_to(labels).as_posix() for p in labels.rglob("*.txt")) == [
        "a.txt",
        "abs.txt",
        "empty.txt",
        "sub/dir/b.txt",
    ]
    assert (labels / "empty.txt").read_bytes() == b""  # background image
    a = (labels / "a.txt").read_text().splitlines()
    assert a[0] == "0 0.100000 0.100000 0.300000 0.100000 0.300000 0.300000 0.100000 0.300000"
    assert a[1].split()[1:] == [
        "0.900000",
        "0.800000",
        "1.000000",
        "0.800000",
        "1.000000",
        "1.000000",
        "0.900000",
        "1.000000",
    ]
    assert len((labels / "abs.txt").read_text().splitlines()) == 1  # duplicate written once
    result = report.to_dict()
    assert set(result["warnings"]) == {
        "image_size_unknown",
        "empty_box",
        "unknown_category",
        "unknown_image",
    }
    # places as text and as parts (the --report JSON)
    assert result["warnings"]["unknown_category"]["examples"] == [
        {
            "at": f"{EDGE}:/annotations/5/category_id",
            "file": str(EDGE),
            "pointer": "/annotations/5/category_id",
            "line": None,
            "column": None,
            "detail": None,
        }
    ]
    losses = result["losses"]
    assert losses["crowd"]["count"] == 1
    assert losses["multi_part_joined"]["count"] == 1
    assert losses["clipped"]["count"] == 1
    assert losses["duplicate_rows"]["count"] == 1
    assert losses["box_as_polygon"]["count"] == 2
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert data["names"] == {0: "car", 1: "yes", 2: "traffic light"}  # "yes" stays a string
    assert data["coco_category_ids"] == [3, 5, 7]
    assert data["nc"] == 3
    assert data["train"] == data["val"] == "images/edge"
    assert "path" not in data


def test_strict_refuses_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="unknown_category"):
        write_yolo(coco_convert.load(EDGE), tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="--overwrite"):
        write_yolo(coco_convert.load(GEN20), tmp_path / "out")
    write_yolo(coco_convert.load(GEN20), tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "keep.txt").exists()


def test_category_ids_in_id_order_give_coco80(tmp_path: Path) -> None:
    dataset = coco_convert.load(GEN20)
    write_yolo({"train2017": dataset}, tmp_path / "out")
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert len(data["names"]) == 80
    assert data["names"][11] == "stop sign"  # id 13: 91-set ids 12 is unused
    assert data["names"][79] == "toothbrush"  # id 90
    assert data["coco_category_ids"][11] == 13


def test_pose_yaml_has_kpt_shape_flip_idx_and_names(tmp_path: Path) -> None:
    report = write_yolo(coco_convert.load(GEN20), tmp_path / "out", task="pose")
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert data["kpt_shape"] == [17, 3]
    # ultralytics' coco-pose.yaml
    assert data["flip_idx"] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert data["kpt_names"][0][:3] == ["nose", "left_eye", "right_eye"]
    assert report.stats["flip_idx_pairs"] == 8
    assert report.losses["skeleton"].count == 1
    rows = [
        line.split()
        for path in (tmp_path / "out" / "labels").rglob("*.txt")
        for line in path.read_text().splitlines()
    ]
    assert rows
    assert all(len(r) == 5 + 17 * 3 for r in rows)
    assert all(r[v] in ("0", "1", "2") for r in rows for v in range(7, len(r), 3))


def test_images_are_placed_and_sizes_checked(tmp_path: Path) -> None:
    dataset = coco_convert.load(EDGE)
    source = tmp_path / "src"
    _image(source / "images" / "a.jpg", (100, 50))
    _image(source / "sub" / "dir" / "b.png", (64, 64))
    _image(source / "empty.jpg", (30, 40))  # wrong size: COCO says 40x30
    _image(source / "nosize.jpg", (8, 4), exif_orientation=6)  # upright: 4x8
    report = write_yolo(dataset, tmp_path / "out", images=source, image_mode="symlink")
    out = tmp_path / "out" / "images" / "edge"
    assert (out / "a.jpg").is_symlink()
    assert (out / "sub" / "dir" / "b.png").resolve() == (source / "sub/dir/b.png").resolve()
    assert report.warnings["size_mismatch"].count == 1
    assert report.warnings["image_unreadable"].count == 1  # abs.jpg is not in the folder
    assert report.counts["sizes_from_image_headers"] == 1
    row = (tmp_path / "out" / "labels" / "edge" / "nosize.txt").read_text().split()
    assert row == ["0", "0.500000", "0.250000", "0.500000", "0.250000"]  # 2x2 box at (1,1) in 4x8


def test_unreadable_images_get_labels_but_are_not_placed(tmp_path: Path) -> None:
    dataset = coco_convert.load(EDGE)
    source = tmp_path / "src"
    _image(source / "images" / "a.jpg", (100, 50))
    (source / "empty.jpg").write_bytes(b"not an image")
    report = write_yolo(dataset, tmp_path / "out", images=source, image_mode="copy")
    out = tmp_path / "out"
    assert (out / "images" / "edge" / "a.jpg").is_file()
    assert not (out / "images" / "edge" / "empty.jpg").exists()  # as the warning says
    assert (out / "labels" / "edge" / "empty.txt").is_file()
    assert any("empty.jpg" in str(where) for where in report.warnings["image_unreadable"].examples)


def test_images_need_copy_or_symlink(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--copy or --symlink"):
        write_yolo(coco_convert.load(EDGE), tmp_path / "out", images=tmp_path)


def _gen20_with_images(tmp_path: Path) -> tuple[Any, Path]:
    dataset = coco_convert.load(GEN20)
    source = tmp_path / "src"
    for image in dataset.images:
        _image(source / image["file_name"], (image["width"], image["height"]))
    return dataset, source


def test_darknet_layout_round_trips(tmp_path: Path) -> None:
    dataset, source = _gen20_with_images(tmp_path)
    write_yolo(
        {"train": dataset}, tmp_path / "dk", layout="darknet", images=source, image_mode="copy"
    )
    root = tmp_path / "dk"
    assert (root / "obj.data").read_text().splitlines() == [
        "classes = 80",
        "train = data/train.txt",
        "names = data/obj.names",
        "backup = backup/",
    ]
    first = (root / "train.txt").read_text().splitlines()[0]
    assert first == "data/obj_train_data/000000000001.jpg"
    assert (root / "obj_train_data" / "000000000001.txt").is_file()
    back, _ = read_yolo(root / "obj.data")
    assert len(back["train"].images) == 20
    assert [c["name"] for c in back["train"].categories][:2] == ["person", "bicycle"]


def test_darknet_is_boxes_only(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="boxes only"):
        write_yolo(coco_convert.load(GEN20), tmp_path / "o", layout="darknet", task="segment")


def test_invalid_record_is_located_by_the_schema(tmp_path: Path) -> None:
    document = json.loads(EDGE.read_text())
    document["annotations"][0]["bbox"] = ["1", 2, 3, 4]
    path = tmp_path / "instances_bad.json"
    path.write_text(json.dumps(document))
    # coco2yolo reads with the COCO reader, which validates every record first
    result = CliRunner().invoke(main, ["coco2yolo", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{path}:/annotations/0/bbox/0: " in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(SchemaError, match=r"/annotations/0/bbox/0"):
        read_coco(path)


@pytest.mark.parametrize(
    "name",
    [
        "coco_roboflow/roboflow-badminton-train-_annotations.coco.json",
        "coco_cvat/cvat-coco-street-instances_default.json",
        "coco_other/coco-annotator-export-ls-sdk-import.json",
        "coco_mmdet_d2/mmdet-coco_sample.json",
    ],
)
def test_real_coco_exports_convert(tmp_path: Path, name: str) -> None:
    dataset = coco_convert.load(REALDATA / name, validate=False)
    for task in ("detect", "segment"):
        out = tmp_path / task
        report = write_yolo({"train": dataset}, out, task=task)
        files = list((out / "labels" / "train").rglob("*.txt"))
        assert len(files) == report.counts["label_files"]
        for path in files:
            for line in path.read_text().splitlines():
                values = [float(v) for v in line.split()]
                assert values[0] < len(dataset.categories)
                assert all(0 <= v <= 1 for v in values[1:])


def test_round_trip_keeps_geometry_and_category_ids(tmp_path: Path) -> None:
    dataset, source = _gen20_with_images(tmp_path)
    write_yolo({"train": dataset}, tmp_path / "y", task="segment", images=source, image_mode="copy")
    back, report = read_yolo(tmp_path / "y" / "data.yaml", split="train")
    result = back["train"]
    result.validate()
    assert [c["id"] for c in result.categories] == sorted(c["id"] for c in dataset.categories)
    original = [a for a in dataset.annotations if not a["iscrowd"]]
    assert len(result.annotations) == len(original)
    by_image = {i["file_name"]: i["id"] for i in dataset.images}
    new_name = {i["id"]: i["file_name"] for i in result.images}
    key = lambda a, names: (names[a["image_id"]], a["category_id"])  # noqa: E731
    old = sorted(original, key=lambda a: (a["image_id"], a["id"]))
    new = sorted(result.annotations, key=lambda a: (by_image[new_name[a["image_id"]]], a["id"]))
    for a, b in zip(old, new, strict=True):
        assert key(b, new_name)[1] == a["category_id"]
        np.testing.assert_allclose(b["segmentation"][0], a["segmentation"][0], atol=0.0007)
        np.testing.assert_allclose(b["bbox"], a["bbox"], atol=0.006)
        assert b["area"] == pytest.approx(a["area"], rel=1e-3)
    coco = _pycocotools(result, tmp_path)
    assert len(coco.getAnnIds()) == len(original)
    assert report.lossless


# --- yolo2coco on real exports ---------------------------------------------------------------


def test_cvat_pose_export(tmp_path: Path) -> None:
    root = tmp_path / "salmon"
    _copy(POSE / "cvat-ultralytics-pose-salmon-data.yaml", root / "data.yaml")
    stem = "2024_08_09_09_56_52_frame_000540"
    _copy(POSE / "cvat-ultralytics-pose-salmon-frame_000540.txt", root / f"labels/train/{stem}.txt")
    _image(root / f"images/train/{stem}.jpg", (1280, 720))
    datasets, report = read_yolo(root / "data.yaml")
    assert list(datasets) == ["train"]  # val and test folders do not exist here
    dataset = datasets["train"]
    assert isinstance(dataset, coco_convert.KeypointsDataset)
    dataset.validate()
    # the absolute path of the exporting machine is reported, the folder of data.yaml used
    assert "path_not_here" in report.warnings
    assert report.warnings["split_missing"].count == 2
    assert dataset.categories[0]["name"] == "salmon"
    assert len(dataset.categories[0]["keypoints"]) == 11
    first, _, third = dataset.annotations
    assert first["bbox"] == pytest.approx(
        [
            (0.536182 - 0.330750 / 2) * 1280,
            (0.557185 - 0.163370 / 2) * 720,
            0.330750 * 1280,
            0.163370 * 720,
        ]
    )
    assert first["keypoints"][:3] == [
        pytest.approx(0.701557 * 1280),
        pytest.approx(0.602546 * 720),
        2,
    ]
    assert first["num_keypoints"] == 11
    # CVAT writes coordinates for points with visibility 0; COCO stores them as 0, 0, 0
    assert third["keypoints"][:3] == [0, 0, 0]
    assert third["num_keypoints"] == 8
    assert report.counts["keypoint_coords_with_visibility_0"] == 3
    coco = _pycocotools(dataset, tmp_path)
    assert len(coco.getAnnIds(catIds=[1])) == 3


def test_label_studio_segment_export_with_windows_path(tmp_path: Path) -> None:
    root = tmp_path / "interior"
    _copy(YOLO / "ls-yolo-interior-config.yaml", root / "config.yaml")
    _copy(YOLO / "ls-yolo-interior-classes.txt", root / "yolo" / "classes.txt")
    _copy(YOLO / "ls-yolo-interior-78b77b52-14.txt", root / "yolo/labels/78b77b52-14.txt")
    _image(root / "yolo/images/78b77b52-14.jpg", (640, 480))
    datasets, report = read_yolo(root)
    assert list(datasets) == ["train", "val"]
    assert "path_not_here" in report.warnings  # C:\ilham files\... unquoted, with a space
    assert report.warnings["splits_share_images"].count == 1
    dataset = datasets["train"]
    assert [c["name"] for c in dataset.categories] == [
        "Chair",
        "Painting",
        "Plant",
        "Sofa",
        "Table",
    ]
    ann = dataset.annotations[0]
    assert ann["category_id"] == 2
    ring = ann["segmentation"][0]
    assert len(ring) == 8
    assert ring[0] == pytest.approx(0.0883839050567323 * 640, abs=1e-6)
    xs, ys = np.array(ring[0::2]), np.array(ring[1::2])
    shoelace = 0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys))
    assert ann["area"] == pytest.approx(shoelace, abs=1e-5)
    assert ann["bbox"] == pytest.approx(
        [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()], abs=1e-5
    )
    _pycocotools(dataset, tmp_path)


def test_names_from_yaml_win_and_disagreement_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "mousekb"
    _copy(YOLO / "ls-yolo-mousekb-data.yaml", root / "data.yaml")
    _copy(YOLO / "ls-yolo-mousekb-classes.txt", root / "classes.txt")
    _copy(YOLO / "ls-yolo-mousekb-9431dbfe.txt", root / "train/labels/9431dbfe-x.txt")
    _image(root / "train/images/9431dbfe-x.jpg", (319, 319))
    datasets, report = read_yolo(root / "data.yaml", split="train")
    assert [c["name"] for c in datasets["train"].categories] == ["keyboard", "mouse"]
    assert "names_disagree" in report.warnings
    assert len(datasets["train"].annotations) == 4


def test_roboflow_relative_paths_and_darknet_names(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    _copy(YOLO / "datumaro-roboflow-yolo-data.yaml", root / "data.yaml")
    _copy(YOLO / "datumaro-darknet-1.txt", root / "train/labels/1.txt")
    _image(root / "train/images/1.jpg", (30, 20))
    with pytest.raises(ConversionError, match="class_out_of_range"):
        read_yolo(root / "data.yaml", strict=True)
    _datasets, report = read_yolo(root / "data.yaml")  # ../train/images: Roboflow's quirk
    assert report.warnings["class_out_of_range"].count == 2  # classes 2 and 4 of 2 names
    assert (
        report.warnings["class_out_of_range"]
        .examples[0]
        .__str__()
        .startswith(f"{root / 'train/labels/1.txt'}:1: class index 2 is not one of 0..1")
    )


def test_darknet_obj_data(tmp_path: Path) -> None:
    root = tmp_path / "dk"
    _copy(YOLO / "datumaro-darknet-obj.data", root / "obj.data")
    _copy(YOLO / "datumaro-darknet-obj.names", root / "obj.names")
    _copy(YOLO / "datumaro-darknet-1.txt", root / "obj_train_data/1.txt")
    _image(root / "obj_train_data/1.jpg", (15, 10))
    (root / "train.txt").write_text("data/obj_train_data/1.jpg\n")
    datasets, report = read_yolo(root)
    dataset = datasets["train"]
    assert [a["category_id"] for a in dataset.annotations] == [3, 5]
    assert dataset.annotations[0]["bbox"] == pytest.approx([0.0, 2.0, 4.0, 2.0], abs=1e-5)
    assert report.lossless
    assert not report.warnings


def test_dota_rows_are_named_not_guessed(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    _copy(YOLO / "datumaro-roboflow-yolo_obb-train_001.txt", labels / "train_001.txt")
    _image(tmp_path / "images" / "train_001.jpg", (10, 10))
    datasets, report = read_yolo(labels, images=tmp_path / "images")
    assert datasets["default"].annotations == []
    example = str(report.warnings["bad_row"].examples[0])
    assert example.startswith(f"{labels / 'train_001.txt'}:1: 'label_0' is not a number")
    assert "DOTA" in example


def test_labelimg_labels_folder_with_names_with_spaces(tmp_path: Path) -> None:
    labels = tmp_path / "plates"
    _copy(YOLO / "labelimg-plates-classes.txt", labels / "classes.txt")
    _copy(YOLO / "labelimg-plates-0007.txt", labels / "0007.txt")
    _image(tmp_path / "imgs" / "0007.jpg", (1024, 768))
    _image(tmp_path / "imgs" / "0008.jpg", (1024, 768))  # no label file: a background image
    datasets, report = read_yolo(labels, images=tmp_path / "imgs", split="plates")
    dataset = datasets["plates"]
    assert dataset.categories[16]["name"] == "RAE 734W"
    assert dataset.categories[17]["name"] == "RAE 734 W"
    assert [i["file_name"] for i in dataset.images] == ["0007.jpg", "0008.jpg"]
    assert [a["category_id"] for a in dataset.annotations] == [6, 7]
    assert report.counts["images_without_label_file"] == 1


def test_bad_rows_and_unreadable_images_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "labels/train").mkdir(parents=True)
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [a, b]\n")
    _image(root / "images/train/ok.jpg", (100, 100), exif_orientation=6)
    (root / "labels/train/ok.txt").write_text(
        "0 0.5 0.5 0.2 0.4\n"  # fine (in the upright 100x100 image)
        "1 0.5 0.5 0.2\n"  # too few values
        "3 0.5 0.5 0.2 0.2\n"  # class beyond names
        "0 320 240 50 60\n"  # pixels, not normalised
        "0 0.5 0.5 0 0.2\n"  # empty box
        "0 nan 0.5 0.2 0.2\n"  # not finite
        "1 1.005 0.5 0.2 0.2\n"  # within ultralytics' tolerance: clipped
    )
    (root / "images/train/broken.jpg").write_bytes(b"not an image")
    (root / "labels/train/broken.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "labels/train/orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    datasets, report = read_yolo(root / "data.yaml", split="train")
    dataset = datasets["train"]
    assert [i["file_name"] for i in dataset.images] == ["ok.jpg"]
    assert len(dataset.annotations) == 2
    assert dataset.annotations[1]["bbox"][0] + dataset.annotations[1]["bbox"][2] == 100
    warnings = report.warnings
    label = root / "labels/train/ok.txt"
    assert warnings["bad_row"].count == 2
    assert str(warnings["bad_row"].examples[0]).startswith(f"{label}:2: 4 values")
    assert str(warnings["class_out_of_range"].examples[0]).startswith(f"{label}:3:")
    assert str(warnings["out_of_range"].examples[0]).startswith(f"{label}:4: value 320")
    assert str(warnings["empty_box"].examples[0]).startswith(f"{label}:5:")
    assert warnings["image_unreadable"].count == 1
    assert warnings["label_without_image"].count == 1
    assert report.counts["rows_clipped_to_image"] == 1


def test_exif_rotated_image_gets_the_upright_size(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    _image(tmp_path / "images" / "phone.jpg", (40, 20), exif_orientation=6)
    labels.mkdir()
    (labels / "phone.txt").write_text("0 0.5 0.25 0.5 0.5\n")
    datasets, _ = read_yolo(labels, images=tmp_path / "images")
    image = datasets["default"].images[0]
    assert (image["width"], image["height"]) == (20, 40)  # as cv2.imread and ultralytics see it
    assert datasets["default"].annotations[0]["bbox"] == [5.0, 0.0, 10.0, 20.0]


def test_many_images_use_worker_processes(tmp_path: Path) -> None:
    root = tmp_path / "big"
    for i in range(2100):
        _image(root / "images" / "train" / f"{i:05d}.png", (8 + i % 3, 8))
        if i % 2:
            label = root / "labels" / "train" / f"{i:05d}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("0 0.5 0.5 0.5 0.5\n")
    serial, _ = read_yolo(root, jobs=1)
    parallel, _ = read_yolo(root, jobs=2)
    assert serial["train"].document == parallel["train"].document
    assert len(parallel["train"].annotations) == 1050


# --- command line ----------------------------------------------------------------------------


def test_cli_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "yolo"
    result = runner.invoke(
        main, ["coco2yolo", str(GEN20), "-o", str(out), "--report", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["losses"]["crowd"]["count"] > 0
    for i in range(1, 21):
        _image(out / "images" / "gen20" / f"{i:012d}.jpg", (64, 48))
    result = runner.invoke(main, ["yolo2coco", str(out), "-o", str(tmp_path / "coco")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "coco").iterdir()) == [
        "instances_train.json",
        "instances_val.json",
    ]
    result = runner.invoke(main, ["yolo2coco", str(out), "-o", str(tmp_path / "one.json")])
    assert result.exit_code == 2
    assert "pass --split NAME" in result.output


def test_cli_reports_bad_yaml_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text('path: "C:\\data\\set"\ntrain: x\n')
    result = CliRunner().invoke(main, ["yolo2coco", str(tmp_path / "data.yaml"), "-o", "x.json"])
    assert result.exit_code == 1
    assert "data.yaml:1: invalid YAML" in result.output
    assert "Traceback" not in result.output


def test_rle_masks_become_one_exact_ring(tmp_path: Path) -> None:
    from pycocotools import mask as coco_mask

    mask = np.zeros((40, 60), dtype=np.uint8)
    mask[5:15, 5:25] = 1  # two islands, the first with a hole
    mask[8:11, 10:14] = 0
    mask[25:35, 30:55] = 1
    rle = coco_mask.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode()
    document = {
        "images": [{"id": 1, "file_name": "m.png", "width": 60, "height": 40}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 50, 30],
             "segmentation": rle, "iscrowd": 0, "area": float(mask.sum())},
        ],
        "categories": [{"id": 1, "name": "blob"}],
    }  # fmt: skip
    dataset = coco_convert.from_document(document, source="instances_m.json")
    report = write_yolo(dataset, tmp_path / "out", task="segment")
    assert report.counts["rle_traced_to_polygons"] == 1
    assert report.losses["multi_part_joined"].count == 1
    (row,) = (tmp_path / "out/labels/m/m.txt").read_text().splitlines()
    ring = np.array([float(v) for v in row.split()[1:]]).reshape(-1, 2) * [60, 40]
    back = coco_mask.decode(coco_mask.frPyObjects([ring.ravel().tolist()], 40, 60))[..., 0]
    assert (back == mask).all()  # zero-width bridges and cuts cover no pixel centre


def test_obb_rows_read_as_four_point_polygons(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "ship.txt").write_text("0 0.1 0.2 0.5 0.1 0.6 0.4 0.2 0.5\n")
    _image(tmp_path / "images" / "ship.jpg", (100, 50))
    datasets, report = read_yolo(labels, images=tmp_path / "images")
    (ann,) = datasets["default"].annotations
    assert ann["segmentation"] == [[10.0, 10.0, 50.0, 5.0, 60.0, 20.0, 20.0, 25.0]]
    assert ann["bbox"] == [10.0, 5.0, 50.0, 20.0]
    assert list(report.warnings) == ["no_names"]
    assert datasets["default"].categories[0]["name"] == "class_0"


def test_cli_splits_from_file_names(tmp_path: Path) -> None:
    for split in ("train", "val"):
        _copy(GEN20, tmp_path / f"instances_{split}.json")
    out = tmp_path / "out"
    args = [
        "coco2yolo",
        str(tmp_path / "instances_train.json"),
        str(tmp_path / "instances_val.json"),
    ]
    result = CliRunner().invoke(main, [*args, "-o", str(out), "--task", "pose"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    assert len(list((out / "labels" / "val").iterdir())) == 20
    result = CliRunner().invoke(main, [*args, "-o", str(out), "--split", "x"])
    assert result.exit_code == 2
