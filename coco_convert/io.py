"""Reading and writing files: JSON in and out, gzip, atomic writes, clear errors.

The one place for reading whole files (:func:`read_bytes`: gzip, clear errors) and for
writing outputs atomically (:func:`atomic_write`, :func:`atomic_directory`,
:func:`write_json`); the format modules read their own inputs and write through these.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import gzip
import json
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, Union

import msgspec
import orjson

from .errors import InputError, JSONSyntaxError, UsageError

__all__ = [
    "Source",
    "atomic_directory",
    "atomic_write",
    "dump_json",
    "gc_paused",
    "json_pieces",
    "parse_json",
    "read_bytes",
    "source_name",
    "write_json",
]

#: What ``load`` accepts: a path, or the bytes of a file already in memory.
Source = Union[str, "os.PathLike[str]", bytes]

_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


def source_name(source: Source) -> str:
    """How messages name a source: the path as given, or ``<bytes>``."""
    return "<bytes>" if isinstance(source, bytes | bytearray) else os.fspath(source)


def read_bytes(source: Source) -> bytes:
    """The bytes of ``source`` (gunzipped when they are gzip), or an :class:`InputError` that
    says in one line why the file cannot be read."""
    name = source_name(source)
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(name, "no such file") from None
        except IsADirectoryError:
            raise InputError(name, "is a directory, not a file") from None
        except PermissionError:
            raise InputError(name, "permission denied (check the file's read permission)") from None
        except OSError as exc:
            raise InputError(name, f"cannot read: {exc.strerror or exc}") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(name, f"corrupt gzip data: {exc}") from None
    if not data or data.isspace():
        raise InputError(name, "is empty", hint="expected a COCO JSON document")
    return data


def parse_json(data: bytes, name: str) -> Any:
    """Parse JSON bytes; malformed JSON names the line and column.

    msgspec parses: as fast as orjson or faster, and its presized containers take about 30%
    less memory at COCO scale (the parsed document is most of what a loaded dataset weighs).
    orjson, which serialises, also locates syntax errors by line and column with clear words.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith(_UTF16_32_BOMS):
        # Rare, but some Windows tools write UTF-16; the parsers read UTF-8 only.
        data = _reencode_utf8(data, name)
    try:
        return msgspec.json.decode(data)
    except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
        raise _syntax_error(data, name, exc) from None


def _syntax_error(data: bytes, name: str, exc: Exception) -> JSONSyntaxError:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as located:
        return JSONSyntaxError(name, located.msg, line=located.lineno, column=located.colno)
    # Only msgspec refused (it is stricter on a few numbers): no position, its own words.
    return JSONSyntaxError(name, str(exc), line=1, column=1)


def _reencode_utf8(data: bytes, name: str) -> bytes:
    for encoding in ("utf-32", "utf-16"):
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            continue
    raise InputError(name, "cannot decode the text (expected UTF-8 JSON)")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Parsing a COCO train2017-scale file creates millions of lists and dicts; the collector
    would re-scan them again and again while they are created (a 3x slowdown) although JSON
    cannot hold reference cycles. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def dump_json(obj: Any, *, indent: int | None = None) -> bytes:
    """Deterministic JSON bytes: key order as in ``obj``, floats in shortest round-trip form,
    non-ASCII text as UTF-8. ``indent`` None is compact; other widths pretty-print."""
    if indent is None:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    if indent == 2:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2)
    # orjson only indents by 2; the standard library writes the same floats (repr is the
    # shortest round-trip form there too), only slower.
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | Iterable[bytes | memoryview],
    *,
    gzip_level: int | None = None,
) -> None:
    """Write ``data`` (bytes, or pieces of them) to ``path`` so that readers see the old file
    or the new one, never a part: a temporary file in the same folder, flushed to disk
    (``fsync``), then renamed over ``path``.

    Pieces are written by a second thread while the caller makes the next one, so
    serialising and disk writes (and gzip compression, with ``gzip_level``) overlap on two
    cores. A new file gets the permissions a plain ``open()`` would give; a replaced file
    keeps its own."""
    target = Path(path)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o7777 if target.exists() else _default_mode()
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(os.fspath(path), f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if gzip_level is None:
                _write_all(handle, data)
            else:
                # mtime 0: the same data gives the same bytes.
                with gzip.GzipFile(
                    filename="", fileobj=handle, mode="wb", compresslevel=gzip_level, mtime=0
                ) as zipped:
                    _write_all(zipped, data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).chmod(mode)
        Path(tmp_name).replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        if isinstance(exc, OSError):
            raise InputError(os.fspath(path), f"cannot write: {exc.strerror or exc}") from None
        raise


class _Writable(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


def _write_all(handle: _Writable, data: bytes | Iterable[bytes | memoryview]) -> None:
    """Write bytes, or pieces through a writer thread (file writes and zlib release the GIL,
    so they run beside the producer)."""
    if isinstance(data, bytes):
        handle.write(data)
        return
    pieces: queue.Queue[bytes | memoryview | None] = queue.Queue(maxsize=4)
    failure: list[BaseException] = []

    def writer() -> None:
        while (piece := pieces.get()) is not None:
            if not failure:
                try:
                    handle.write(piece)
                except BaseException as exc:  # reported by the producer, below
                    failure.append(exc)

    thread = threading.Thread(target=writer, name="coco-convert-writer", daemon=True)
    thread.start()
    try:
        for piece in data:
            if failure:
                break
            pieces.put(piece)
    finally:
        pieces.put(None)
        thread.join()
    if failure:
        raise failure[0]


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Build a whole output folder out of sight, then move it into place.

    Yields a temporary folder beside ``path``; when the block ends normally the folder is
    renamed to ``path``, and when it raises, the folder is removed and ``path`` is untouched.
    An existing non-empty ``path`` is an error unless ``overwrite`` (then it is replaced only
    after the new folder is complete)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a folder")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise UsageError(
            f"{target}: folder exists and is not empty (choose a new one, or pass --overwrite)"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(os.fspath(target), f"cannot write: {exc.strerror or exc}") from None
    try:
        yield tmp
        tmp.chmod(_default_mode() | 0o111)
        if target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            target.replace(old)
            tmp.replace(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.replace(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = None) -> None:
    """Serialise ``obj`` as :func:`dump_json` does and write it atomically; a path ending in
    ``.gz`` is gzip-compressed (with a zero timestamp, so the same data gives the same bytes).
    Compact output is produced and written in pieces (see :func:`json_pieces`), so the whole
    text is never held in memory at once."""
    data: bytes | Iterable[bytes | memoryview] = (
        json_pieces(obj) if indent is None else dump_json(obj, indent=indent)
    )
    gzip_level = 6 if os.fspath(path).endswith(".gz") else None
    with gc_paused():  # serialising creates no reference cycles; see gc_paused
        atomic_write(path, data, gzip_level=gzip_level)


#: Lists longer than this (images, annotations) are serialised a chunk at a time.
_PIECE = 20_000


def json_pieces(obj: Any) -> Iterator[bytes | memoryview]:
    """Compact JSON of ``obj`` in pieces whose concatenation is exactly ``dump_json(obj)``:
    the long lists of a COCO document (or a results array) go out a chunk at a time."""
    if isinstance(obj, dict):
        yield b"{"
        for i, (key, value) in enumerate(obj.items()):
            head = (b"," if i else b"") + orjson.dumps(key) + b":"
            if isinstance(value, list) and len(value) > _PIECE:
                yield head
                yield from _list_pieces(value)
            else:
                yield head + dump_json(value)
        yield b"}"
    elif isinstance(obj, list) and len(obj) > _PIECE:
        yield from _list_pieces(obj)
    else:
        yield dump_json(obj)


def _list_pieces(items: list[Any]) -> Iterator[bytes | memoryview]:
    yield b"["
    for start in range(0, len(items), _PIECE):
        if start:
            yield b","
        yield memoryview(dump_json(items[start : start + _PIECE]))[1:-1]  # no copy
    yield b"]"


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
