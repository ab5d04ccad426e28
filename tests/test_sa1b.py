"""SA-1B (Segment Anything) to COCO: folders of per-image JSON files and tar shards read in
place, every mask bit for bit, the filters, bad input refused with file and member, the B
rules, and the same bytes on a Dask cluster."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from distributed import Client
from pycocotools import mask as mask_utils

from coco_convert.cli import main
from coco_convert.converters.sa1b import read_sa1b
from coco_convert.errors import InputError

from .conftest import FIXTURES, ROOT

FOLDER = FIXTURES / "sa1b" / "folder"
SHARDS = FIXTURES / "sa1b" / "shards"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_sa1b", ROOT / "benchmarks" / "gen_sa1b.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_sa1b"] = module
    spec.loader.exec_module(module)
    return module


gen_sa1b = _generator()


def _sources(folder: Path = FOLDER) -> dict[int, dict[str, Any]]:
    """SA-1B's own annotations of the fixture folder, by id."""
    found = {}
    for path in sorted(folder.glob("sa_*.json")):
        for record in json.loads(path.read_text())["annotations"]:
            found[record["id"]] = record
    return found


def _decode(rle: dict[str, Any]) -> np.ndarray:
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_mask_is_bit_exact_in_coco() -> None:
    (dataset,) = read_sa1b(FOLDER)[0].values()
    sources = _sources()
    assert len(dataset.annotations) == len(sources) == 32
    for ann in dataset.annotations:
        source = sources[ann["id"]]  # the id is SA-1B's
        assert np.array_equal(_decode(ann["segmentation"]), _decode(source["segmentation"]))
        assert ann["segmentation"] == source["segmentation"]
        mask = _decode(ann["segmentation"])
        assert ann["area"] == int(mask.sum()) == source["area"]
        ys, xs = np.nonzero(mask)
        assert ann["bbox"] == [
            float(xs.min()),
            float(ys.min()),
            float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1),
        ]
        for key in ("predicted_iou", "stability_score", "point_coords", "crop_box"):
            assert ann[key] == source[key]
        assert ann["category_id"] == 1
        assert ann["iscrowd"] == 0
    assert [c["name"] for c in dataset.categories] == ["object"]
    assert {i["file_name"] for i in dataset.images} == {f"sa_{n}.jpg" for n in range(1, 5)}
    dataset.validate()


def test_masks_with_holes_and_parts_are_covered() -> None:
    """(the fixtures are worth their name: some masks have holes, some several parts)"""
    from coco_convert import geometry

    outlines = [geometry.rle_to_outlines(record["segmentation"]) for record in _sources().values()]
    assert any(len(o) > 1 for o in outlines)
    assert any(part.holes for o in outlines for part in o)


def test_shards_and_folder_give_the_same_coco(tmp_path: Path) -> None:
    _run("sa1b2coco", str(FOLDER), "-o", str(tmp_path / "folder.json"))
    output = _run("sa1b2coco", str(SHARDS), "-o", str(tmp_path / "shards.json"))
    assert (tmp_path / "shards.json").read_bytes() == (tmp_path / "folder.json").read_bytes()
    assert "32 annotations" in output
    assert "boxes first to last pixel: 32" in output
    assert "nothing lost" in output


def test_one_shard_and_one_file(tmp_path: Path) -> None:
    (one,) = read_sa1b(SHARDS / "sa_000001.tar")[0].values()
    assert [i["id"] for i in one.images] == [3, 4]
    (single,) = read_sa1b(FOLDER / "sa_2.json")[0].values()
    assert [i["id"] for i in single.images] == [2]
    assert len(single.annotations) == 8


def test_the_filters_leave_out_and_count(tmp_path: Path) -> None:
    sources = _sources()
    low_iou = {i for i, r in sources.items() if r["predicted_iou"] < 0.9}
    unstable = {i for i, r in sources.items() if r["stability_score"] < 0.95}
    assert low_iou
    assert unstable
    assert low_iou != unstable
    datasets, report = read_sa1b(SHARDS, min_predicted_iou=0.9, min_stability=0.95)
    kept = {a["id"] for a in datasets["default"].annotations}
    assert kept == set(sources) - low_iou - unstable
    assert report.stats["masks_below_min_predicted_iou"] == len(low_iou)
    assert report.stats["masks_below_min_stability_score"] == len(unstable)
    output = _run(
        "sa1b2coco", str(SHARDS), "-o", str(tmp_path / "x.json"), "--min-predicted-iou", "0.9"
    )
    assert f"masks below min predicted iou: {len(low_iou)}" in output


def test_to_yolo_segment_traces_each_mask_exactly(tmp_path: Path) -> None:
    _run("convert", str(SHARDS), "--to", "yolo", "--task", "segment", "-o", str(tmp_path / "y"))
    (dataset,) = read_sa1b(SHARDS)[0].values()
    images = {i["id"]: i for i in dataset.images}
    rows: dict[int, list[str]] = {}
    for image in dataset.images:
        label = next((tmp_path / "y").rglob(f"sa_{image['id']}.txt"))
        rows[image["id"]] = label.read_text().splitlines()
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in dataset.annotations:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image_id, anns in by_image.items():
        h, w = images[image_id]["height"], images[image_id]["width"]
        assert len(rows[image_id]) == len(anns)
        for ann, row in zip(anns, rows[image_id], strict=True):
            values = [float(v) for v in row.split()[1:]]
            polygon = [v * (w if k % 2 == 0 else h) for k, v in enumerate(values)]
            rle = mask_utils.merge(mask_utils.frPyObjects([polygon], h, w))
            traced = mask_utils.decode(rle)
            mask = _decode(ann["segmentation"])
            # one ring per mask (holes joined by cuts, parts by bridges): the same pixels
            iou = (traced & mask).sum() / (traced | mask).sum()
            assert iou == pytest.approx(1.0, abs=0.02), (ann["id"], iou)


# --- bad input ----------------------------------------------------------------------------------


def _copy_shard(tmp_path: Path, keep: int | None = None) -> Path:
    data = (SHARDS / "sa_000001.tar").read_bytes()
    out = tmp_path / "sa_000001.tar"
    out.write_bytes(data if keep is None else data[:keep])
    return out


def _member_offset(shard: Path, name: str) -> int:
    with tarfile.open(shard) as tar:
        return tar.getmember(name).offset_data


def test_a_truncated_member_is_refused_with_shard_and_member(tmp_path: Path) -> None:
    whole = _copy_shard(tmp_path)
    cut = _member_offset(whole, "sa_4.json") + 100
    shard = _copy_shard(tmp_path, keep=cut)
    with pytest.raises(InputError) as caught:
        read_sa1b(shard)
    assert str(caught.value.location.file) == f"{shard}/sa_4.json"
    assert "ends inside this member" in str(caught.value)
    result = CliRunner().invoke(main, ["sa1b2coco", str(shard), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert f"{shard}/sa_4.json" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.json").exists()


def test_a_damaged_tar_is_refused(tmp_path: Path) -> None:
    shard = tmp_path / "sa_000007.tar"
    shard.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InputError, match="not a tar archive"):
        read_sa1b(shard)


def test_a_json_that_is_not_sa1b_is_refused_naming_file_and_member(tmp_path: Path) -> None:
    coco = {"images": [], "annotations": [], "categories": []}
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "sa_9.json").write_text(json.dumps(coco))
    with pytest.raises(InputError, match="not an SA-1B file") as caught:
        read_sa1b(folder)
    assert caught.value.location.file == str(folder / "sa_9.json")
    shard = tmp_path / "sa_000009.tar"
    with tarfile.open(shard, "w") as tar:
        data = json.dumps({"image": {"image_id": 9, "width": 0, "height": 5}, "annotations": []})
        info = tarfile.TarInfo("sa_9.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data.encode()))
    with pytest.raises(InputError, match="width must be a positive integer") as caught:
        read_sa1b(shard)
    assert str(caught.value.location) == f"{shard}/sa_9.json:/image/width"


def test_problems_of_masks_are_b_findings(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    document = json.loads((FOLDER / "sa_2.json").read_text())
    anns = document["annotations"]
    anns[0]["bbox"] = [1, 2, 3, 4]
    anns[1]["area"] += 5
    anns[2]["segmentation"]["size"] = [7, 7]
    anns[3]["segmentation"]["counts"] = "not RLE \u00e9"
    anns[4]["stability_score"] = 1.5
    anns[5]["id"] = anns[6]["id"]
    anns[7]["point_coords"] = [1, 2]
    h, w = anns[0]["segmentation"]["size"]
    empty = mask_utils.encode(np.zeros((h, w), dtype=np.uint8, order="F"))["counts"].decode()
    anns.append({**anns[1], "id": 77, "segmentation": {"size": [h, w], "counts": empty}})
    anns.append("not an annotation")
    (folder / "sa_2.json").write_text(json.dumps(document))
    # another file of the same image: left out
    (folder / "sa_3.json").write_text((FOLDER / "sa_2.json").read_text())
    result = CliRunner().invoke(main, ["validate", str(folder), "--output-format", "json"])
    codes = sorted(d["code"] for d in json.loads(result.output)["diagnostics"])
    expected = ["B002", "B003", "B004", "B005", "B005", "B006", "B006", "B007", "B008"]
    assert codes == [*expected, "B009", "B011", "B012"]  # (the empty mask: box, area too)
    datasets, report = read_sa1b(folder)
    # the bad RLE, the wrong size and the non-annotation left out; the empty mask kept
    assert len(datasets["default"].annotations) == 7
    assert [i["id"] for i in datasets["default"].images] == [2]
    assert report.warnings["bbox_mismatch"].count == 2
    # a file that cannot be read is B001, at its place
    (folder / "sa_4.json").write_text('{"image": {"image_id": 4,')
    result = CliRunner().invoke(main, ["validate", str(folder), "--output-format", "json"])
    unreadable = [d for d in json.loads(result.output)["diagnostics"] if d["code"] == "B001"]
    assert len(unreadable) == 1
    assert "sa_4.json" in json.dumps(unreadable[0])


def test_an_image_missing_from_its_shard_is_warned(tmp_path: Path) -> None:
    shard = tmp_path / "sa_000001.tar"
    with tarfile.open(SHARDS / "sa_000001.tar") as source, tarfile.open(shard, "w") as out:
        for member in source:
            if member.name != "sa_4.jpg":
                out.addfile(member, source.extractfile(member))
    _, report = read_sa1b(shard)
    assert report.warnings["image_missing"].count == 1


# --- scale ----------------------------------------------------------------------------------------


def test_generated_data_of_any_size_converts_alike(tmp_path: Path) -> None:
    """The generator's larger outputs (as the benchmark uses): shards and files agree."""
    gen_sa1b.generate(tmp_path / "f", images=30, masks=20, size=(90, 120), with_jpeg=False)
    gen_sa1b.generate(tmp_path / "s", images=30, masks=20, size=(90, 120), shards=3)
    (folder,) = read_sa1b(tmp_path / "f", jobs=2)[0].values()
    (shards,) = read_sa1b(tmp_path / "s", jobs=1)[0].values()
    assert folder.to_json() == shards.to_json()
    assert len(folder.annotations) == 600


def test_on_a_cluster_the_same_bytes(cluster: Client, tmp_path: Path) -> None:
    gen_sa1b.generate(tmp_path / "s", images=40, masks=20, size=(90, 120), shards=4)
    _run("sa1b2coco", str(tmp_path / "s"), "-o", str(tmp_path / "one.json"), "-j", "1")
    address = cluster.scheduler.address
    _run("sa1b2coco", str(tmp_path / "s"), "-o", str(tmp_path / "c.json"), "--scheduler", address)
    assert (tmp_path / "c.json").read_bytes() == (tmp_path / "one.json").read_bytes()


def test_bad_input_on_a_cluster_is_the_same_one_line(cluster: Client, tmp_path: Path) -> None:
    """The worker's InputError travels back to the command: file and member, no traceback."""
    whole = _copy_shard(tmp_path)
    shard = _copy_shard(tmp_path, keep=_member_offset(whole, "sa_4.json") + 100)
    address = cluster.scheduler.address
    result = CliRunner().invoke(
        main, ["sa1b2coco", str(shard), "-o", str(tmp_path / "x.json"), "--scheduler", address]
    )
    assert result.exit_code == 1
    assert f"{shard}/sa_4.json: the shard ends inside this member" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.json").exists()
