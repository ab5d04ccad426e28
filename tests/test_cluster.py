"""The per-image work on a real Dask cluster (``distributed.LocalCluster``, worker processes):
the same bytes as one machine, through ``--scheduler`` and ``--workers``, and a worker killed in
the middle of a job loses and repeats nothing."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from distributed import Client

import coco_convert
from coco_convert import transforms
from coco_convert.cli import main
from coco_convert.cluster import ClusterError, DaskEngine, connect
from coco_convert.errors import UsageError
from coco_convert.parallel import current_engine, map_tasks, using


def _star(rng: random.Random, w: int, h: int) -> list[float]:
    """A star-shaped polygon inside a w x h image (some spikes make holes' worth of detail)."""
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    radius = rng.uniform(5, min(w, h) / 4)
    n = rng.randint(6, 30)
    points: list[float] = []
    for k in range(n):
        angle = 2 * math.pi * k / n
        r = radius * rng.uniform(0.4, 1.0)
        points += [round(cx + r * math.cos(angle), 2), round(cy + r * math.sin(angle), 2)]
    return points


def coco_with_polygons(path: Path, *, images: int, per_image: int = 4, seed: int = 0) -> Path:
    rng = random.Random(seed)
    document: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": 1, "name": "thing"}],
    }
    for image_id in range(1, images + 1):
        w, h = rng.choice([(640, 480), (480, 640), (500, 375)])
        document["images"].append(
            {"id": image_id, "file_name": f"{image_id:06d}.jpg", "width": w, "height": h}
        )
        for _ in range(per_image):
            polygon = _star(rng, w, h)
            xs, ys = polygon[0::2], polygon[1::2]
            document["annotations"].append(
                {
                    "id": len(document["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "segmentation": [polygon],
                    "area": 1.0,
                    "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                    "iscrowd": 0,
                }
            )
    coco_convert.from_document(document).save(path)
    return path


@pytest.fixture(scope="module")
def polygons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return coco_with_polygons(tmp_path_factory.mktemp("cluster") / "polygons.json", images=600)


@pytest.fixture(scope="module")
def masks(polygons: Path) -> Path:
    """The same objects as RLE (the input of rle2poly)."""
    out = polygons.with_name("masks.json")
    dataset, _ = transforms.poly2rle(coco_convert.load(polygons), jobs=1)
    dataset.save(out)
    return out


@pytest.fixture(scope="module")
def one_machine(polygons: Path, masks: Path) -> dict[str, bytes]:
    """What poly2rle and rle2poly write in one process: the bytes every cluster run must give."""
    out: dict[str, bytes] = {}
    for verb, src in (("poly2rle", polygons), ("rle2poly", masks)):
        dataset, _ = getattr(transforms, verb)(coco_convert.load(src), jobs=1)
        out[verb] = dataset.to_json()
    return out


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("verb", "source"), [("poly2rle", "polygons"), ("rle2poly", "masks")])
def test_scheduler_gives_the_bytes_of_one_machine(
    cluster: Client,
    verb: str,
    source: str,
    one_machine: dict[str, bytes],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    src = request.getfixturevalue(source)
    _run(verb, str(src), "-o", str(tmp_path / "one.json"), "-j", "1")
    assert (tmp_path / "one.json").read_bytes() == one_machine[verb]
    address = cluster.scheduler.address
    _run(verb, str(src), "-o", str(tmp_path / "cluster.json"), "--scheduler", address)
    assert (tmp_path / "cluster.json").read_bytes() == one_machine[verb]
    assert len(one_machine[verb]) > 100_000  # (real work: 600 images)


def test_the_work_ran_on_the_workers(cluster: Client, masks: Path) -> None:
    """The tasks run in the worker processes (not here): each result says where it ran."""
    with using(DaskEngine(cluster)):
        pids = set(map_tasks(_pid_after, [0.2] * 8, jobs=1))
    workers = set(cluster.run(os.getpid).values())
    assert pids <= workers
    assert len(pids) == 2  # both workers took tasks
    assert os.getpid() not in pids


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_results_come_in_the_order_of_the_tasks(cluster: Client) -> None:
    # the later tasks finish first; the results still come in task order
    delays = [0.4, 0.3, 0.2, 0.1, 0.0, 0.0]
    with using(DaskEngine(cluster)):
        assert list(map_tasks(_echo_after, enumerate(delays))) == list(range(len(delays)))


def _echo_after(task: tuple[int, float]) -> int:
    index, seconds = task
    time.sleep(seconds)
    return index


def test_a_worker_killed_mid_job_loses_and_repeats_nothing(
    cluster: Client,
    masks: Path,
    one_machine: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rle2poly on the cluster while one worker process is killed (SIGKILL) as it works on a
    partition: the scheduler runs that worker's partitions again elsewhere, and the output is
    byte-identical to one machine's."""
    # 24 partitions of 25 images, so that the kill lands in the middle of the job
    monkeypatch.setattr(transforms, "_CHUNK", 25)
    pids = cluster.run(os.getpid)
    killed: dict[str, Any] = {}
    finished = threading.Event()

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not finished.is_set():
            busy = {
                address: keys
                for address, keys in cluster.processing().items()
                if any(str(key).startswith("_trace_task") for key in keys)
            }
            if busy and len(killed) == 0:
                address, keys = next(iter(busy.items()))
                killed.update(address=address, keys=list(keys), done=finished.is_set())
                os.kill(pids[address], signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker)
    with using(DaskEngine(cluster)):
        killer.start()
        result, report = transforms.rle2poly(coco_convert.load(masks))
        finished.set()
    killer.join()
    result.save(tmp_path / "cluster.json")

    assert killed, "no worker was killed"
    assert killed["done"] is False
    assert killed["keys"]
    assert killed["address"] not in cluster.scheduler_info()["workers"]  # it is gone
    assert (tmp_path / "cluster.json").read_bytes() == one_machine["rle2poly"]
    assert report.counts["masks"] == len(coco_convert.load(masks).annotations)
    cluster.wait_for_workers(2)  # (the nanny started a new worker for the next tests)


def test_workers_starts_a_local_cluster(
    polygons: Path, one_machine: dict[str, bytes], tmp_path: Path
) -> None:
    output = _run("poly2rle", str(polygons), "-o", str(tmp_path / "two.json"), "--workers", "2")
    assert (tmp_path / "two.json").read_bytes() == one_machine["poly2rle"]
    assert "processes: 2" in output
    assert current_engine() is None  # (the cluster is gone with the command)


def test_jobs_with_a_cluster_is_a_usage_error(masks: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["rle2poly", str(masks), "-o", str(tmp_path / "x.json"), "-j", "2", "--workers", "2"]
    )
    assert result.exit_code == 2
    assert "-j/--jobs is for this machine" in result.output
    assert not (tmp_path / "x.json").exists()


def test_scheduler_and_workers_together_are_refused() -> None:
    with pytest.raises(UsageError, match="not both"), connect("tcp://127.0.0.1:1", 2):
        pass


def test_an_unreachable_scheduler_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, masks: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr("coco_convert.cluster.CONNECT_TIMEOUT", 1)
    # a port nothing listens on (bound and closed here)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with (
        pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler {address}"),
        connect(address),
    ):
        pass
    result = CliRunner().invoke(
        main, ["rle2poly", str(masks), "-o", str(tmp_path / "x.json"), "--scheduler", address]
    )
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler" in result.output
    assert "Traceback" not in result.output


def test_a_scheduler_file_is_taken(
    cluster: Client, polygons: Path, one_machine: dict[str, bytes], tmp_path: Path
) -> None:
    """dask-jobqueue and dask-mpi hand out a scheduler file rather than an address."""
    scheduler_file = tmp_path / "scheduler.json"
    cluster.write_scheduler_file(str(scheduler_file))
    out = tmp_path / "file.json"
    _run("poly2rle", str(polygons), "-o", str(out), "--scheduler", str(scheduler_file))
    assert out.read_bytes() == one_machine["poly2rle"]


def test_without_a_cluster_dask_is_never_imported(tmp_path: Path) -> None:
    """Dask and fsspec are an optional extra: the verbs that can use them start, and run on
    one machine, without importing them."""
    probe = (
        "import sys\n"
        "from coco_convert.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "loaded = {'dask', 'distributed', 'fsspec'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    instances = Path(__file__).parents[1] / "fixtures/coco/instances.json"
    for args in (
        ["poly2rle", "--help"],
        ["poly2rle", str(instances), "-o", str(tmp_path / "rle.json")],
        ["rle2poly", str(tmp_path / "rle.json"), "-o", str(tmp_path / "poly.json")],
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


def test_without_the_extra_the_options_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, masks: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # (import distributed fails)
    result = CliRunner().invoke(
        main, ["rle2poly", str(masks), "-o", str(tmp_path / "x.json"), "--workers", "2"]
    )
    assert result.exit_code == 2
    assert "pip install 'coco-convert[dask]'" in result.output


def test_draw_on_the_cluster_gives_the_same_pictures(cluster: Client, tmp_path: Path) -> None:
    """draw's per-image renders (a pure function of a picklable job) run on the workers."""
    from .test_draw_cli import COCO, photos

    source = COCO / "instances.json"
    images = photos(source, tmp_path / "images")
    outputs = []
    for extra in (["-j", "1"], ["--scheduler", cluster.scheduler.address]):
        out = tmp_path / f"out{len(outputs)}"
        _run("draw", str(source), "--images", str(images), "-o", str(out), *extra)
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 2
    # (map_batched: the renders go in batches)
    assert any(p.endswith("apply_each") for p in cluster.run_on_scheduler(_task_prefixes))


def test_masks2coco_on_the_cluster_gives_the_same_file(cluster: Client, tmp_path: Path) -> None:
    """One task per mask PNG; instance masks with their class masks, images checked."""
    from .test_masks2coco import write_palette_png

    rng = random.Random(3)
    for n in range(12):
        objects = [[0] * 40 for _ in range(30)]
        classes = [[0] * 40 for _ in range(30)]
        for value in range(1, 4):
            top, left = rng.randrange(0, 20), rng.randrange(0, 30)
            for y in range(top, top + 8):
                for x in range(left, left + 9):
                    if (y - top - 4) ** 2 + (x - left - 4) ** 2 <= 16:
                        objects[y][x], classes[y][x] = value, 5 * value
        for folder, rows in (("SegmentationObject", objects), ("SegmentationClass", classes)):
            write_palette_png(tmp_path / folder / f"{n:03d}.png", np.array(rows, dtype=np.uint8))
    outputs = []
    for extra in (["-j", "1"], ["--scheduler", cluster.scheduler.address]):
        out = tmp_path / f"out{len(outputs)}.json"
        args = ["masks2coco", str(tmp_path / "SegmentationObject"), "-o", str(out)]
        _run(*args, "--class-masks", str(tmp_path / "SegmentationClass"), "--labels", "voc", *extra)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0])["annotations"]) >= 24


def test_the_validators_mask_rules_on_the_cluster_find_the_same(
    cluster: Client, polygons: Path, tmp_path: Path
) -> None:
    """G104-G107 (boxes and areas against pycocotools, degenerate and crossing polygons) in
    tasks on the workers: the same findings, in the same order."""
    document = json.loads(polygons.read_text())
    anns = document["annotations"]
    for k in range(0, len(anns), 97):
        anns[k]["bbox"] = [v + 3 for v in anns[k]["bbox"]]
    for k in range(5, len(anns), 89):
        anns[k]["area"] = 10_000.0
    anns[7]["segmentation"] = [[10, 10, 50, 50, 50, 10, 10, 50]]  # a bow tie
    anns[8]["segmentation"] = [[10, 10, 20, 20, 30, 30]]  # on a line
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    outputs = []
    for extra in ([], ["--scheduler", cluster.scheduler.address]):
        result = CliRunner().invoke(
            main, ["validate", str(broken), "--output-format", "json", "--select", "G", *extra]
        )
        assert result.exit_code == 1, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]
    codes = {d["code"] for d in json.loads(outputs[0])["diagnostics"]}
    assert {"G104", "G105", "G106", "G107"} <= codes
    seen = cluster.run_on_scheduler(_task_prefixes)
    assert any(prefix.endswith("check_images") for prefix in seen)


def _task_prefixes(dask_scheduler: Any) -> list[str]:
    """The kinds of task the scheduler has run (by their keys' prefix)."""
    return list(dask_scheduler.task_prefixes)


def test_coco2yolo_segment_traces_masks_on_the_cluster(
    cluster: Client, masks: Path, tmp_path: Path
) -> None:
    """coco2yolo --task segment: the RLE masks are traced in tasks on the workers; the label
    files are the same bytes."""
    trees = []
    for extra in (["-j", "1"], ["--scheduler", cluster.scheduler.address]):
        out = tmp_path / f"yolo{len(trees)}"
        _run("coco2yolo", str(masks), "-o", str(out), "--task", "segment", *extra)
        trees.append({str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*.txt")})
    assert trees[0] == trees[1]
    assert len(trees[0]) == 600
    assert any(
        prefix.endswith("trace_masks") for prefix in cluster.run_on_scheduler(_task_prefixes)
    )
