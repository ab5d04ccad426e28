"""Reading and writing files: JSON in and out, gzip, atomic writes, clear errors.

The one place for reading whole files (:func:`read_bytes`: gzip, clear errors) and for
writing outputs atomically (:func:`atomic_write`, :func:`atomic_directory`,
:func:`write_json`); the format modules read their own inputs and write through these.
"""

from __future__ import annotations

import codecs
import collections
import concurrent.futures
import contextlib
import gc
import gzip
import io
import json
import math
import os
import queue
import shutil
import stat
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Union

import msgspec
import orjson

from .errors import InputError, JSONSyntaxError, UsageError

__all__ = [
    "TEXT_LIMIT",
    "Source",
    "atomic_directory",
    "atomic_files",
    "atomic_write",
    "check_output",
    "dump_json",
    "files_written_behind",
    "gc_paused",
    "is_unicode",
    "json_pieces",
    "open_file",
    "parse_json",
    "peek",
    "read_bytes",
    "read_file",
    "read_text",
    "real_path",
    "source_name",
    "unwritable",
    "write_document",
    "write_files",
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


#: The largest text file (label, XML, YAML, names, image list) read whole: far above any real
#: one (a YOLO label of 10,000 polygons is 2 MB, a list of a million images 60 MB).
TEXT_LIMIT = 256 * 2**20
#: Kinds of file that are not regular files, for messages.
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_file(path: str | os.PathLike[str], *, limit: int | None = TEXT_LIMIT) -> bytes:
    """The bytes of the regular file at ``path``, or an :class:`InputError` saying in one line
    why not: missing, a folder, unreadable, not a regular file (a named pipe or a device such
    as ``/dev/zero`` would block or never end), or larger than ``limit`` bytes (None: no
    limit). The file is opened without blocking (opening a named pipe otherwise waits for a
    writer) and checked on the open descriptor (:func:`open_file`)."""
    name = os.fspath(path)
    with open_file(name, limit=limit) as handle:
        try:
            data = handle.read()
        except OSError as exc:
            raise _read_error(name, exc) from None
    if limit is not None and len(data) > limit:  # grew while it was read
        raise InputError(name, f"is larger than {_size(limit)}")
    return data


@contextlib.contextmanager
def open_file(path: str | os.PathLike[str], *, limit: int | None = None) -> Iterator[BinaryIO]:
    """The regular file at ``path`` open for reading (binary), checked as :func:`read_file`
    checks it, for readers that stream a file too large to hold (a multi-gigabyte XML
    export): an :class:`InputError` when it is missing, a folder, unreadable, not a regular
    file or larger than ``limit`` bytes (None: no limit)."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:  # (ValueError: a NUL character in the name)
        raise _read_error(name, exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(name, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            kind = next((k for test, k in _FILE_KINDS if test(info.st_mode)), "special")
            raise InputError(name, f"is {kind}, not a regular file")
        if limit is not None and info.st_size > limit:
            raise InputError(name, f"is {_size(info.st_size)}, larger than {_size(limit)}")
        handle = open(fd, "rb", closefd=False)  # noqa: SIM115 (closed below)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield handle
    finally:
        handle.close()
        os.close(fd)


def read_text(path: str | os.PathLike[str], *, limit: int = TEXT_LIMIT) -> str:
    """The text of a UTF-8 file (a byte-order mark, as Windows tools write, is dropped), read
    as :func:`read_file` reads files; text that is not UTF-8 is an :class:`InputError` naming
    the byte."""
    data = read_file(path, limit=limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            os.fspath(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _read_error(name: str, exc: OSError | ValueError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(name, "no such file")
    if isinstance(exc, IsADirectoryError):
        return InputError(name, "is a directory, not a file")
    if isinstance(exc, PermissionError):
        return InputError(name, "permission denied (check the file's read permission)")
    return InputError(name, f"cannot read: {getattr(exc, 'strerror', None) or exc}")


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _memory_limit() -> int | None:
    """This machine's physical memory in bytes (None if unknown): a JSON document larger
    than that cannot be loaded, and saying so beats being killed for lack of memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def read_bytes(source: Source) -> bytes:
    """The bytes of ``source`` (gunzipped when they are gzip), or an :class:`InputError` that
    says in one line why the file cannot be read. Files are read as :func:`read_file` reads
    them, up to this machine's memory (compressed or not)."""
    name = source_name(source)
    limit = _memory_limit()
    data = (
        bytes(source) if isinstance(source, bytes | bytearray) else read_file(source, limit=limit)
    )
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name, limit)
    if not data or data.isspace():
        raise InputError(name, "is empty", hint="expected a COCO JSON document")
    return data


def _gunzip(data: bytes, name: str, limit: int | None) -> bytes:
    """gzip data decompressed (every member), stopping at ``limit`` bytes: a small file that
    expands beyond memory (a gzip bomb) is refused instead of exhausting it."""
    pieces: list[bytes] = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
            while piece := unzipped.read(64 * 2**20):
                total += len(piece)
                if limit is not None and total > limit:
                    raise InputError(name, f"decompresses to more than {_size(limit)}")
                pieces.append(piece)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(name, f"corrupt gzip data: {exc}") from None
    return b"".join(pieces)


def peek(path: str | os.PathLike[str], size: int = 65536) -> bytes:
    """The first ``size`` bytes of a file (gunzipped when it is gzip), or nothing when it
    cannot be read: what a format's ``detect`` looks at."""
    try:
        with open_file(path) as handle:  # (a named pipe: refused, never waited on)
            head = handle.read(size)
            if head[:2] == _GZIP_MAGIC:
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as unzipped:
                    head = unzipped.read(size)
    except (InputError, OSError, EOFError, zlib.error):
        return b""
    return head


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
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError) as exc:
        # (RecursionError: arrays nested thousands deep; orjson locates its depth limit)
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
            if not gc.get_freeze_count():
                # What was made meanwhile counts as old: else the first young collection
                # after this would scan all of it at once (1.4 s for train2017). Freezing and
                # unfreezing moves every object to the oldest generation in constant time;
                # skipped where the program froze objects itself (they would thaw).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def dump_json(obj: Any, *, indent: int | None = None, name: str = "JSON output") -> bytes:
    """Deterministic JSON bytes: key order as in ``obj``, floats in shortest round-trip form,
    non-ASCII text as UTF-8. ``indent`` None is compact; other widths pretty-print. A value
    JSON cannot hold (:func:`unwritable`) is an :class:`InputError` naming ``name`` and the
    value's JSON pointer."""
    try:
        if indent is None:
            return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
        if indent == 2:
            return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2)
        # orjson only indents by 2; the standard library writes the same floats (repr is the
        # shortest round-trip form there too), only slower.
        text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise _unwritable_error(name, obj, exc) from exc


def _unwritable_error(name: str, obj: Any, exc: Exception) -> Exception:
    """The :class:`InputError` naming what in ``obj`` JSON cannot hold, else ``exc``."""
    found = unwritable(obj)
    if found is None:
        return exc
    where, why = found
    return InputError(name, f"cannot write {where or 'the document'}: {why}")


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
        raise InputError(os.fspath(path), f"cannot write: {_reason(exc)}") from None
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
            raise InputError(os.fspath(path), f"cannot write: {_reason(exc)}") from None
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


#: A batch of files for :func:`write_files`: ``(path, bytes)`` each.
Files = Sequence[tuple[str | os.PathLike[str], bytes]]


def write_files(
    files: Iterable[tuple[str | os.PathLike[str], bytes]], *, exclusive: bool = False
) -> None:
    """Create each file with its bytes (files inside a folder being built, such as
    :func:`atomic_directory`'s: no temporary file each). An existing file is truncated, or
    with ``exclusive`` refused (two outputs given one name). A failure is an
    :class:`InputError` naming the file."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    for path, data in files:
        try:
            fd = os.open(path, flags, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:
            raise InputError(os.fspath(path), f"cannot write: {_reason(exc)}") from None


@contextlib.contextmanager
def files_written_behind(
    *, exclusive: bool = False, pending: int = 2
) -> Iterator[Callable[[Files], None]]:
    """A function ``write(files)`` that hands a batch of files to one background thread for
    :func:`write_files`, so that creating them (system calls, which release the GIL: on this
    machine's disk creating thousands of small files costs more than the work that fills
    them) runs beside the making of the next batch. At most ``pending`` batches wait (memory
    stays bounded); the first failure is raised by the next hand-over or when the block
    ends, and the thread is joined on every exit (it never writes into a folder being
    removed). Batch small files (label files, XML) by the hundred; one picture is a batch."""
    waiting: collections.deque[concurrent.futures.Future[None]] = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="coco-convert-files") as pool:

        def write(files: Files) -> None:
            while waiting and (waiting[0].done() or len(waiting) >= pending):
                waiting.popleft().result()
            waiting.append(pool.submit(write_files, files, exclusive=exclusive))

        try:
            yield write
            while waiting:
                waiting.popleft().result()
        finally:
            for future in waiting:
                future.cancel()


def check_output(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Refuse (:class:`UsageError`) an output that would replace or delete what must stay: an
    output that *is* one of ``inputs`` (files or folders), or a folder that holds one of them
    or the current folder. Paths are compared after following symbolic links."""
    real = real_path(output)
    protected = [(f"the input {os.fspath(p)}", real_path(p)) for p in inputs]
    protected.append(("the current folder", real_path(Path.cwd())))
    for name, path in protected:
        if path == real:
            raise UsageError(f"{output}: would overwrite {name}; choose another output")
        if real in path.parents:
            raise UsageError(
                f"{output}: the output folder holds {name}, which replacing the folder would "
                "delete; choose another output folder"
            )


def real_path(path: str | os.PathLike[str]) -> Path:
    """``path`` absolute, with symbolic links followed: ``Path.resolve()``, except that a
    link loop gives a path instead of a ``RuntimeError`` (``os.path.realpath``)."""
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Path]:
    """Build a whole output folder out of sight, then move it into place.

    Yields a temporary folder beside ``path``; when the block ends normally the folder is
    renamed to ``path``, and when it raises, the folder is removed and ``path`` is untouched.
    An existing non-empty ``path`` is an error unless ``overwrite`` (then it is replaced only
    after the new folder is complete). A ``path`` that is or holds one of ``inputs`` (or the
    current folder) is refused before anything is written (see :func:`check_output`)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a folder")
    if target.exists():
        check_output(target, inputs)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise UsageError(
            f"{target}: folder exists and is not empty (choose a new one, or pass --overwrite)"
        )
    # `.` and `..` have no name or parent to use: the absolute path without them
    absolute = Path(os.path.normpath(Path.cwd() / target))
    try:
        absolute.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(
            tempfile.mkdtemp(dir=absolute.parent, prefix=f".{absolute.name}.", suffix=".tmp")
        )
    except OSError as exc:
        raise InputError(os.fspath(target), f"cannot write: {_reason(exc)}") from None
    try:
        yield tmp
        tmp.chmod(_default_mode() | 0o111)
        if absolute.exists():
            old = absolute.with_name(f".{absolute.name}.{os.getpid()}.old")
            absolute.replace(old)
            tmp.replace(absolute)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.replace(absolute)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_files(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Write several files into ``folder`` as one: all of them or none.

    Yields a staging folder (hidden, inside ``folder``, so on the same file system); write the
    files there under the names (and sub-folders) they should have in ``folder``. When the
    block ends normally they are moved into ``folder`` together, each replacing the file of
    its name (which keeps its permissions); other files in ``folder`` are left alone. When the
    block raises, or a move fails, nothing of it stays: moved files are put back, replaced
    ones restored, and folders this made are removed. Unlike :func:`atomic_directory` the
    folder may already hold other files (``instances_train.json`` beside a ``README``)."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a folder")
    made = [p for p in (target, *target.parents) if not p.exists()][::-1]
    try:
        target.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=target, prefix=".coco-convert.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(os.fspath(target), f"cannot write: {_reason(exc)}") from None
    try:
        (stage / "new").mkdir()
        yield stage / "new"
        _commit(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for made_folder in reversed(made):
            with contextlib.suppress(OSError):
                made_folder.rmdir()  # only if empty: never what someone else put there
        raise
    shutil.rmtree(stage, ignore_errors=True)


def _commit(stage: Path, target: Path) -> None:
    """Move the files under ``stage/new`` into ``target``; on any failure undo every move."""
    new, old = stage / "new", stage / "old"
    staged = sorted(p.relative_to(new) for p in new.rglob("*") if not p.is_dir())
    done: list[tuple[Path, Path | None]] = []  # (final path, where the file it replaced is)
    try:
        for relative in staged:
            final = target / relative
            if final.is_dir() and not final.is_symlink():
                raise UsageError(f"{final}: is a folder; cannot write a file there")
            final.parent.mkdir(parents=True, exist_ok=True)
            backup: Path | None = None
            if final.exists() or final.is_symlink():
                (new / relative).chmod(final.stat().st_mode & 0o7777)
                backup = old / relative
                backup.parent.mkdir(parents=True, exist_ok=True)
                final.replace(backup)
            done.append((final, backup))
            (new / relative).replace(final)
    except BaseException as exc:
        for final, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    backup.replace(final)
                elif final.exists():
                    final.unlink()
        if isinstance(exc, OSError):
            raise InputError(os.fspath(target), f"cannot write: {_reason(exc)}") from None
        raise


def _reason(exc: OSError) -> str:
    """An OS error in words; ``File exists`` from ``mkdir`` under a file is really that a
    folder on the way is a file."""
    if isinstance(exc, FileExistsError | NotADirectoryError) and exc.filename:
        named = Path(os.fsdecode(exc.filename))
        for parent in (named, *named.parents):
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a folder"
    return str(exc.strerror or exc)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = None) -> None:
    """Serialise ``obj`` as :func:`dump_json` does and write it atomically; a path ending in
    ``.gz`` is gzip-compressed (with a zero timestamp, so the same data gives the same bytes).
    Compact output is produced and written in pieces (see :func:`json_pieces`), so the whole
    text is never held in memory at once."""
    gzip_level = 6 if os.fspath(path).endswith(".gz") else None
    try:
        data: bytes | Iterable[bytes | memoryview] = (
            json_pieces(obj) if indent is None else dump_json(obj, indent=indent)
        )
        with gc_paused():  # serialising creates no reference cycles; see gc_paused
            atomic_write(path, data, gzip_level=gzip_level)
    except (TypeError, ValueError, RecursionError, InputError) as exc:
        # (an InputError from dump_json names a piece of the document: name the whole)
        error = _unwritable_error(os.fspath(path), obj, exc)
        if error is exc:
            raise
        raise error from exc


def is_unicode(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 JSON. A file name that is not UTF-8 comes from
    the OS (``os.fsdecode``) with surrogates standing for its bytes: JSON cannot hold it, so
    readers report such images (key ``file_name_not_utf8``) and leave them out."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: orjson writes at most this many levels of nested lists and objects.
_MAX_DEPTH = 254


def unwritable(obj: Any) -> tuple[str, str] | None:
    """The JSON pointer of the first value JSON cannot hold as it is, and why: text that is
    not Unicode (a file name in another encoding, decoded with escapes), an integer beyond 64
    bits, NaN or an infinity, nesting deeper than the writer goes. None if every value can be
    written."""
    from .schemas.check import pointer

    stack: list[tuple[Any, tuple[str | int, ...]]] = [(obj, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > _MAX_DEPTH:
            return f"{pointer(path[:8])}/...", f"values nested deeper than {_MAX_DEPTH} levels"
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return pointer(path), f"text that is not valid Unicode: {value!r}"
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**64:
                return pointer(
                    path
                ), f"an integer of {len(str(abs(value)))} digits (beyond 64 bits)"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return pointer(path), f"{value} is not a JSON number"
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                stack.append((item, (*path, str(key))))
                stack.append((key, (*path, str(key))))
        elif isinstance(value, list | tuple):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(value))))
    return None


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


# --- writing a document a chunk at a time -----------------------------------------------------

Chunks = Callable[[], Iterator[list[Any]]]


def write_document(
    path: str | os.PathLike[str],
    header: Any,
    lists: dict[str, Chunks],
    *,
    indent: int | None = None,
) -> None:
    """Write a COCO document atomically without holding its long lists: ``header`` is the
    document with those lists left empty, ``lists`` gives each one's records a chunk at a
    time (``""``: the document is a results array; a list the header lacks is not written).
    The bytes are exactly those of :func:`write_json` on the whole document (compact, or
    ``indent`` 2): what the streaming verbs (``--stream``) write."""
    if indent not in (None, 2):
        raise UsageError("with --stream, --indent is 2 or left out")
    if "" in lists:
        pieces: Iterator[bytes] = _chunked_list(lists[""](), indent, 0)
    else:
        # (in the header's order: the lists are cut out of its text one after the other)
        marks = {key: f"\x00coco-convert {key}\x00" for key in header if key in lists}
        skeleton = {key: marks.get(key, value) for key, value in header.items()}
        pieces = _spliced(dump_json(skeleton, indent=indent), marks, lists, indent)
    gzip_level = 6 if os.fspath(path).endswith(".gz") else None
    with gc_paused():
        atomic_write(path, pieces, gzip_level=gzip_level)


def _spliced(
    text: bytes, marks: dict[str, str], lists: dict[str, Chunks], indent: int | None
) -> Iterator[bytes]:
    for key, mark in marks.items():
        before, _, text = text.partition(orjson.dumps(mark))
        yield before
        yield from _chunked_list(lists[key](), indent, 1)
    yield text


def _chunked_list(chunks: Iterator[list[Any]], indent: int | None, depth: int) -> Iterator[bytes]:
    """A JSON array of the records of ``chunks`` at nesting ``depth``, as orjson writes it."""
    option = orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    empty = True
    for records in chunks:
        if not records:
            continue
        text = orjson.dumps(records, option=option)
        if indent:
            body = text[2:-2]
            if depth:
                body = b"  " * depth + body.replace(b"\n", b"\n" + b"  " * depth)
            yield (b"[\n" if empty else b",\n") + body
        else:
            yield (b"[" if empty else b",") + text[1:-1]
        empty = False
    if empty:
        yield b"[]"
    else:
        yield (b"\n" + b"  " * depth + b"]") if indent else b"]"
