"""Reading and writing: clear one-line errors, gzip, encodings, atomic outputs."""

from __future__ import annotations

import gc
import gzip
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from coco_convert.errors import InputError, JSONSyntaxError, UsageError
from coco_convert.io import (
    atomic_directory,
    atomic_write,
    dump_json,
    gc_paused,
    json_pieces,
    parse_json,
    read_bytes,
    write_json,
)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_bytes(tmp_path / "nope.json")
    assert str(err.value) == f"{tmp_path / 'nope.json'}: no such file"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory, not a file$"):
        read_bytes(tmp_path)


@pytest.mark.parametrize("content", [b"", b"  \n\t "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"empty.json: is empty \(expected a COCO JSON document\)"):
        read_bytes(path)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, who can read anything: make the OS refuse instead.
    path = tmp_path / "secret.json"
    path.write_text("{}")

    real_open = os.open

    def refuse(name: str, flags: int, *args: int) -> int:
        if name == str(path):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(InputError, match=r"secret\.json: permission denied"):
        read_bytes(path)


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "data.json"  # no .gz suffix: some tools write gzip anyway
    path.write_bytes(gzip.compress(b'{"a": 1}'))
    assert read_bytes(path) == b'{"a": 1}'
    path.write_bytes(gzip.compress(b'{"a": 1}')[:-6])
    with pytest.raises(InputError, match=r"corrupt gzip data"):
        read_bytes(path)


def test_malformed_json_names_line_and_column() -> None:
    text = b'{\n  "images": [],\n  "annotations": [1, 2,, 3]\n}'
    with pytest.raises(JSONSyntaxError) as err:
        parse_json(text, "bad.json")
    assert (err.value.line, err.value.column) == (3, 24)
    assert str(err.value).startswith("bad.json:3:24: invalid JSON: ")


def test_truncated_json() -> None:
    with pytest.raises(JSONSyntaxError, match=r"^cut.json:1:\d+: invalid JSON"):
        parse_json(b'{"images": [{"id": 1', "cut.json")


def test_nan_and_overflow_are_not_json() -> None:
    with pytest.raises(JSONSyntaxError):
        parse_json(b'{"area": NaN}', "nan.json")
    with pytest.raises(JSONSyntaxError, match="infinity"):
        parse_json(b'{"area": 1e400}', "big.json")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_byte_order_marks_of_windows_tools(encoding: str) -> None:
    assert parse_json('{"name": "château"}'.encode(encoding), "x.json") == {"name": "château"}


def test_dump_is_deterministic_and_keeps_order_and_number_types() -> None:
    obj = {"b": 1, "a": [1.0, 0.1, 1e-7, 400, -0.0], "é": "ü"}
    assert dump_json(obj) == dump_json(obj)
    assert dump_json(obj) == '{"b":1,"a":[1.0,0.1,1e-7,400,-0.0],"é":"ü"}'.encode()
    assert dump_json(obj, indent=2).startswith(b'{\n  "b": 1,\n  "a": [\n    1.0,')
    assert dump_json(obj, indent=4).startswith(b'{\n    "b": 1,')


def test_atomic_write_replaces_whole_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_new_files_get_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.json", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b"old")

    def fail(self: Path, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(InputError, match=r"out\.json: cannot write: No space left on device"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_write_json_gzip_is_reproducible(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json.gz", {"x": [1, 2]})
    first = (tmp_path / "a.json.gz").read_bytes()
    write_json(tmp_path / "a.json.gz", {"x": [1, 2]})
    assert (tmp_path / "a.json.gz").read_bytes() == first
    assert gzip.decompress(first) == b'{"x":[1,2]}'


def test_atomic_directory_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target) as work:
        (work / "a.txt").write_text("a")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_directory_failure_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"

    def convert() -> None:
        with atomic_directory(target) as work:
            (work / "a.txt").write_text("a")
            raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        convert()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_refuses_to_mix_with_old_output(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(UsageError, match="not empty"), atomic_directory(target):
        pass
    with atomic_directory(target, overwrite=True) as work:
        (work / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_json_pieces_join_to_exactly_the_whole_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    import coco_convert.io as cio

    monkeypatch.setattr(cio, "_PIECE", 3)
    documents = [
        {"images": [{"id": i, "f": "é"} for i in range(10)], "x": 1.5, "annotations": []},
        [{"image_id": i, "score": 0.1 * i} for i in range(7)],
        {"info": None, "annotations": list(range(4)), "categories": list(range(3))},
        {},
        [],
        "text",
    ]
    for document in documents:
        assert b"".join(json_pieces(document)) == dump_json(document)
        assert all(isinstance(piece, bytes | memoryview) for piece in json_pieces(document))


def test_pieces_are_written_through_a_thread_and_errors_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.json"
    atomic_write(path, iter([b"[1", b",2", b"]"]))
    assert path.read_bytes() == b"[1,2]"

    def pieces() -> Iterator[bytes]:
        for i in range(100):
            yield b"x" * 1000
            if i == 50:
                raise ValueError("serialiser failed")

    with pytest.raises(ValueError, match="serialiser failed"):
        atomic_write(path, pieces())
    assert path.read_bytes() == b"[1,2]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.json"]


def test_a_disk_error_in_the_writer_thread_is_reported(tmp_path: Path) -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    from coco_convert.io import _write_all

    with pytest.raises(OSError, match="No space left"):
        _write_all(Full(), (b"x" for _ in range(50)))


def test_files_written_behind_writes_every_file_and_names_a_failure(tmp_path: Path) -> None:
    from coco_convert.io import files_written_behind

    with files_written_behind(pending=3) as write:
        for k in range(50):
            write([(tmp_path / f"{k}.bin", bytes([k]) * (k * 1000))])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.bin" for k in range(50))
    assert all((tmp_path / f"{k}.bin").read_bytes() == bytes([k]) * (k * 1000) for k in range(50))
    missing = tmp_path / "no" / "such" / "folder.bin"
    with (
        pytest.raises(InputError, match=r"folder\.bin: cannot write"),
        files_written_behind() as write,
    ):
        write([(missing, b"x")])


def test_what_is_made_while_the_collector_is_paused_counts_as_old() -> None:
    """Else the first young collection after a load re-scans the whole dataset at once."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        made = [[i] for i in range(50_000)]
    assert gc.isenabled()
    assert gc.get_count()[0] < 1_000
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(made[0]) in oldest
    assert id(made[-1]) in oldest


def test_objects_a_program_froze_stay_frozen() -> None:
    frozen_by_the_program = [object()]
    gc.freeze()
    try:
        with gc_paused():
            made = [[i] for i in range(1_000)]
        assert made
        assert gc.get_freeze_count() > 0
        # not thawed into the oldest generation, where unfreezing puts objects
        assert id(frozen_by_the_program) not in {id(o) for o in gc.get_objects(generation=2)}
    finally:
        gc.unfreeze()
    assert id(frozen_by_the_program) in {id(o) for o in gc.get_objects(generation=2)}
