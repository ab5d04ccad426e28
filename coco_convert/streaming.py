"""The records of a COCO file, in order, without holding the file: what every ``--stream``
verb reads.

A :class:`CocoStream` reads a file in two steps. First it maps it (one sequential read): the
top-level members are found; the small ones (``info``, ``licenses``, ``categories``, ...) are
parsed; the two long lists (``images``, ``annotations``; for detection results, the array
itself) are cut into *chunks* of whole records, about :data:`CHUNK_BYTES` each, and only their
byte offsets are kept (Datumaro's COCOPageMapper keeps one offset per record; a chunk is
enough here and costs nothing to hold). Then :meth:`CocoStream.records` parses the chunks of a
list one at a time, in file order, as often as a verb needs (two passes are usual: images,
then annotations).

The parser is msgspec's, on each chunk (``benchmarks/bench_stream.py`` measures it against
ijson's C backend and a whole-file parse). Records are cut where one ends and the next begins
(``},{"key":`` with the first record's first key), and a cut is proven by msgspec itself: the
bytes up to it parse as a list of whole values, which a cut inside a string or a nested value
never does. Where a list ends, msgspec says so exactly ("trailing characters at byte N").

:meth:`CocoStream.checked` gives the chunks of a list validated against the same models as
:func:`coco_convert.load` (the same issues, at the same JSON pointers, in the same order);
:func:`image_groups` gives each image with its annotations, spilling to a temporary folder
when the file does not keep them together.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec
import numpy as np
import numpy.typing as npt

from .errors import InputError, Issue, JSONSyntaxError, SchemaError, UsageError
from .io import gc_paused, open_file
from .schemas.coco import Kind

__all__ = [
    "CHUNK_BYTES",
    "Chunk",
    "CocoStream",
    "image_groups",
    "prefers_streaming",
]

#: Bytes of JSON per chunk: about 12,000 COCO annotations, a few tens of MB once parsed.
CHUNK_BYTES = 8 * 2**20
#: The lists read chunk by chunk; every other top-level member is parsed whole.
LONG_LISTS = ("images", "annotations")
#: A loaded COCO document weighs about this many times its JSON (train2017: 534 MB -> 3.5 GB).
_LOADED_WEIGHT = 7
_WS = frozenset(b" \t\r\n")
_GZIP_MAGIC = b"\x1f\x8b"
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRUCTURE = re.compile(rb'["\[\]{},:]')
_NO_ID = -(2**63)
_AT_BYTE = re.compile(r"\(byte (\d+)\)")
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


class _Id(msgspec.Struct, gc=False):
    value: Any = msgspec.field(default=None, name="id")


class _ImageRef(msgspec.Struct, gc=False):
    value: Any = msgspec.field(default=None, name="image_id")


#: What mapping a chunk reads of each record (the rest is skipped unparsed).
_REFS: dict[str, msgspec.json.Decoder[Any]] = {
    "images": msgspec.json.Decoder(list[_Id]),
    "annotations": msgspec.json.Decoder(list[_ImageRef]),
}
_DECODE = msgspec.json.Decoder()


def prefers_streaming(path: str | os.PathLike[str], *, fraction: float = 0.5) -> bool:
    """Whether loading ``path`` whole would take more than ``fraction`` of the memory
    available now (a loaded document weighs about seven times its JSON; gzip about five
    times more). False when either is unknown."""
    try:
        size = Path(path).stat().st_size
        with open_file(path) as handle:  # (a named pipe: refused, never waited on)
            if handle.read(2) == _GZIP_MAGIC:
                size *= 5
    except (OSError, InputError):
        return False
    available = _available_memory()
    return available is not None and size * _LOADED_WEIGHT > fraction * available


def _available_memory() -> int | None:
    try:
        with Path("/proc/meminfo").open() as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class Chunk:
    """Whole records of one list: bytes ``start:end`` of the file hold records
    ``first:first + count`` of the list (without the brackets around them)."""

    start: int
    end: int
    first: int
    count: int


class _Reader:
    """Sequential bytes of a file (gunzipped when it is gzip), kept from ``base`` on."""

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self.handle = handle
        self.name = name
        self.buf = b""
        self.base = 0
        self.eof = False

    def fill(self, upto: int) -> None:
        """Hold the bytes up to offset ``upto`` (fewer at the end of the file)."""
        want = upto - (self.base + len(self.buf))
        if want <= 0 or self.eof:
            return
        try:
            more = self.handle.read(max(want, 2**20))
        except (OSError, EOFError, zlib.error) as exc:  # (a damaged gzip file)
            raise InputError(self.name, f"cannot read: {exc}") from None
        if not more:
            self.eof = True
        self.buf += more
        if len(more) < want:
            self.fill(upto)

    def drop(self, before: int) -> None:
        """Forget the bytes before offset ``before``."""
        cut = before - self.base
        if cut > 0:
            self.buf = self.buf[cut:]
            self.base = before

    def at(self, pos: int) -> int:
        """The byte at ``pos`` (-1 past the end)."""
        self.fill(pos + 1)
        i = pos - self.base
        return self.buf[i] if i < len(self.buf) else -1

    def skip_ws(self, pos: int) -> int:
        while self.at(pos) in _WS:
            pos += 1
        return pos

    def slice(self, start: int, end: int) -> bytes:
        self.fill(end)
        return self.buf[start - self.base : end - self.base]


@contextlib.contextmanager
def _open(path: str, offset: int = 0) -> Iterator[IO[bytes]]:
    """The file's bytes (gunzipped) from ``offset`` on."""
    with open_file(path) as handle:
        if handle.read(2) == _GZIP_MAGIC:
            handle.seek(0)
            with gzip.GzipFile(fileobj=handle) as unzipped:
                if offset:
                    unzipped.seek(offset)
                yield unzipped  # type: ignore[misc]
            return
        handle.seek(offset)
        yield handle


class CocoStream:
    """One COCO file (or detection results array), mapped once; its records read chunk by
    chunk in file order. See the module's doc."""

    def __init__(self, path: str | os.PathLike[str], *, chunk_bytes: int | None = None) -> None:
        self.name = os.fspath(path)
        self.chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
        #: Top-level members in file order; the long lists are empty here (read them with
        #: :meth:`records`). For results: ``{"": []}``.
        self.header: dict[str, Any] = {}
        #: The chunks of each long list (``""``: a results array).
        self.chunks: dict[str, list[Chunk]] = {}
        self.results = False
        #: ``id`` of each image and ``image_id`` of each annotation, when all are integers.
        self.refs: dict[str, list[npt.NDArray[np.int64]]] = {}
        self._refs_known = True
        self._issues: dict[tuple[str, int], list[Issue]] = {}
        self._at = 0  # where the value being mapped starts
        try:
            with gc_paused(), _open(self.name) as handle:
                self._map(_Reader(handle, self.name))
        except RecursionError:  # (arrays nested thousands deep)
            line, column = _line_column(self.name, self._at)
            raise JSONSyntaxError(
                self.name, "values nested too deep to parse", line=line, column=column
            ) from None
        self._hold_short_lists()
        self.kind: Kind = self._detect_kind()

    def _hold_short_lists(self) -> None:
        """Lists as short as :func:`coco_convert.load` checks with the rest of the document
        are parsed into the header (so their issues come in the same order)."""
        from .schemas.check import CHUNK

        for key in [k for k in self.chunks if k]:
            if self.count(key) <= CHUNK // 10:
                self.header[key] = [r for _, records in self._read(key) for r in records]
                del self.chunks[key]

    # Reading --------------------------------------------------------------------------------

    def count(self, key: str) -> int:
        """Records in the list ``key`` (0 when the file has none)."""
        if key in self.chunks:
            return sum(chunk.count for chunk in self.chunks[key])
        held = self.header.get(key)
        return len(held) if isinstance(held, list) else 0

    def image_positions(self, *, last: bool = False) -> npt.NDArray[np.int64]:
        """For each annotation, the index of its image (the first image with its id, or the
        ``last`` one: ids may repeat), -1 when it names none."""
        image_ids = self._ids("images", "id")
        refs = self._ids("annotations", "image_id")
        if not len(image_ids):
            return np.full(len(refs), -1, dtype=np.int64)
        order = np.argsort(image_ids, kind="stable")  # ties: the first image first
        ordered = image_ids[order]
        if last:
            at = np.maximum(np.searchsorted(ordered, refs, side="right") - 1, 0)
        else:
            at = np.minimum(np.searchsorted(ordered, refs), len(ordered) - 1)
        found = (ordered[at] == refs) & (refs != _NO_ID)
        return np.where(found, order[at], -1).astype(np.int64)

    def require_unique_image_ids(self, verb: str) -> None:
        """Refuse (a :class:`~coco_convert.errors.UsageError`) a file in which two images
        have the same ``id``, after the errors loading it would give, if any. Loaded, each
        image of such an id gets the annotations of all; a streamed ``verb`` that pairs an
        annotation with one image cannot give the same."""
        ids = self._ids("images", "id")
        if len(np.unique(ids)) < len(ids):
            self.check()
            raise UsageError(
                f"{self.name}: image ids repeat; {verb} --stream needs unique image ids "
                "(leave out --stream: each such image then gets the objects of all)"
            )

    def _ids(self, key: str, field_name: str) -> npt.NDArray[np.int64]:
        """Integer ids (``field_name``) of list ``key``'s records; -2**63 for any other."""
        if key in self.chunks and self._refs_known:
            parts = self.refs.get(key, [])
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        values: list[int] = []
        for _, records in self.records(key):
            for record in records:
                value = record.get(field_name) if isinstance(record, dict) else None
                ok = type(value) is int and -(2**63) <= value < 2**63
                values.append(value if ok else _NO_ID)  # type: ignore[arg-type]
        return np.array(values, dtype=np.int64)

    @property
    def lists(self) -> tuple[str, ...]:
        """The long lists, in file order."""
        return tuple(self.chunks)

    def records(self, key: str) -> Iterator[tuple[int, list[Any]]]:
        """``(index of the first record, records)`` for each chunk of list ``key``, in file
        order, parsed as :func:`coco_convert.load` parses (plain dicts and lists)."""
        if key not in self.chunks:
            held = self.header.get(key) if not self.results else None
            if isinstance(held, list) and held:
                yield 0, held
            return
        yield from self._read(key)

    def _read(self, key: str) -> Iterator[tuple[int, list[Any]]]:
        chunks = self.chunks[key]
        if not chunks:
            return
        with _open(self.name, chunks[0].start) as handle:
            position = chunks[0].start
            for chunk in chunks:
                if chunk.start > position:
                    handle.read(chunk.start - position)  # what lies between (a comma)
                data = handle.read(chunk.end - chunk.start)
                position = chunk.end
                with gc_paused():
                    records = _DECODE.decode(b"[" + data + b"]")
                del data
                yield chunk.first, records

    def document(self, **lists: Any) -> Any:
        """A document shaped like the file: the header with ``lists`` in place of the long
        lists (empty lists for those not given)."""
        if self.results:
            return lists.get("", [])
        return {key: lists.get(key, value) for key, value in self.header.items()}

    def header_dataset(self) -> Any:
        """A dataset of the header alone (categories, info, licenses; no images or
        annotations): what a writer or an operation asks of a dataset besides its records."""
        from .dataset import from_document

        self.check_header()
        return from_document(self.document(), kind=self.kind, validate=False, source=self.name)

    def probe(self) -> Any:
        """The header with the first record of each long list: what kind detection, tool
        recognition and the like look at."""
        firsts: dict[str, list[Any]] = {}
        for key in self.chunks:
            for _, records in self.records(key):
                firsts[key] = records[:1]
                break
        return self.document(**firsts)

    # Validation -----------------------------------------------------------------------------

    def checked(self, key: str) -> Iterator[tuple[int, list[Any]]]:
        """:meth:`records`, each chunk validated against the models of the file's kind. At
        the first problem the rest of the file is validated too and a
        :class:`~coco_convert.errors.SchemaError` lists what :func:`coco_convert.load` would
        (the same issues, pointers and order), so no invalid record is ever handed out."""
        self.check_header()
        for i, (first, records) in enumerate(self.records(key)):
            if self._check(key, i, first, records):
                self._raise_all()
            yield first, records

    def check_header(self) -> None:
        """Validate the header (every top-level member but the long lists); when it has a
        problem, validate the rest too and raise what :func:`coco_convert.load` would. What
        reads the header (:meth:`header_dataset`, :meth:`checked`) calls it first."""
        from .schemas.check import check_skeleton

        if ("header", 0) not in self._issues:
            self._issues[("header", 0)] = list(check_skeleton(self.document(), self.kind))
            if self._issues[("header", 0)]:
                self._raise_all()

    def check(self) -> None:
        """Validate the whole file now, as :func:`coco_convert.load` does (before refusing
        it for what it is: the same errors come first)."""
        for key in self.lists or ("images",):
            for _ in self.checked(key):
                pass

    def _check(self, key: str, i: int, first: int, records: list[Any]) -> bool:
        from .schemas.check import check_records

        if (key, i) not in self._issues:
            self._issues[(key, i)] = list(check_records(records, self.kind, key, first))
        return bool(self._issues[(key, i)])

    def _raise_all(self) -> None:
        from .schemas.check import check_records, list_order, long_lists

        for key in self.chunks:
            for i, (first, records) in enumerate(self.records(key)):
                self._check(key, i, first, records)
        issues: list[Issue] = list(self._issues.get(("header", 0), []))
        header_lists = long_lists(self.document(), self.kind)
        for key in [""] if self.results else list_order(self.kind):
            if key in header_lists:
                issues += check_records(self.header[key], self.kind, key, 0)
            for i in range(len(self.chunks.get(key, ()))):
                issues += self._issues.get((key, i), [])
        kept = issues[: SchemaError.MAX_KEPT]
        raise SchemaError(self.name, kept, total=len(issues))

    # Mapping the file -----------------------------------------------------------------------

    def _map(self, reader: _Reader) -> None:
        reader.fill(4)
        pos = 3 if reader.buf.startswith(codecs.BOM_UTF8) else 0
        if reader.buf.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(self.name, "is UTF-16 text; --stream reads UTF-8 JSON only")
        pos = reader.skip_ws(pos)
        first = reader.at(pos)
        if first == -1:
            raise InputError(self.name, "is empty", hint="expected a COCO JSON document")
        if first == ord("["):
            self.results = True
            self.header[""] = []
            self.chunks[""], pos = self._array(reader, pos, "")
        elif first == ord("{"):
            pos = self._members(reader, pos + 1)
        else:
            raise self._syntax(reader, pos, "expected a JSON object (a COCO dataset)")
        pos = reader.skip_ws(pos)
        if reader.at(pos) != -1:
            raise self._syntax(reader, pos, "trailing characters after the document")

    def _members(self, reader: _Reader, pos: int) -> int:
        pos = reader.skip_ws(pos)
        if reader.at(pos) == ord("}"):
            return pos + 1
        while True:
            if reader.at(pos) != ord('"'):
                raise self._syntax(reader, pos, "expected a key (a string)")
            reader.fill(pos + 2**16)
            match = _STRING.match(reader.buf, pos - reader.base)
            if match is None:
                raise self._syntax(reader, pos, "unterminated string")
            key = _DECODE.decode(match.group())
            pos = reader.skip_ws(pos + len(match.group()))
            if reader.at(pos) != ord(":"):
                raise self._syntax(reader, pos, "expected ':' after a key")
            pos = reader.skip_ws(pos + 1)
            self._at = pos
            if key in LONG_LISTS and reader.at(pos) == ord("["):
                self.header[key] = []
                self.chunks[key], pos = self._array(reader, pos, key)
            else:
                end = self._value_end(reader, pos)
                self.header[key] = self._decode(reader, pos, end)
                pos = end
            reader.drop(pos)
            pos = reader.skip_ws(pos)
            separator = reader.at(pos)
            if separator == ord("}"):
                return pos + 1
            if separator != ord(","):
                raise self._syntax(reader, pos, "expected ',' or '}' after a value")
            pos = reader.skip_ws(pos + 1)

    def _value_end(self, reader: _Reader, pos: int) -> int:
        """Where the (small) value starting at ``pos`` ends, found token by token."""
        depth = 0
        while True:
            reader.fill(pos + 2**16)
            found = _STRUCTURE.search(reader.buf, pos - reader.base)
            if found is None:
                if reader.eof:
                    raise self._syntax(reader, reader.base + len(reader.buf), "unexpected end")
                reader.fill(reader.base + len(reader.buf) + 2**20)
                continue
            at = reader.base + found.start()
            char = found.group()
            if char == b'"':
                string = _STRING.match(reader.buf, found.start())
                if string is None:  # not closed in what is held
                    if reader.eof:
                        raise self._syntax(reader, at, "unterminated string")
                    reader.fill(reader.base + len(reader.buf) + 2**20)
                    continue
                pos = reader.base + string.end()
                if depth == 0:
                    return pos
                continue
            if (depth == 0 and at > pos) or char in b",:":  # a number, true, false or null
                if depth == 0:
                    return at
                pos = at + 1
                continue
            depth += 1 if char in b"[{" else -1
            pos = at + 1
            if depth <= 0:
                return pos

    def _decode(self, reader: _Reader, start: int, end: int) -> Any:
        try:
            return _DECODE.decode(reader.slice(start, end))
        except msgspec.DecodeError as exc:
            raise self._syntax(reader, start + _offset(exc, 0), _reason(exc)) from None

    def _array(self, reader: _Reader, pos: int, key: str) -> tuple[list[Chunk], int]:
        """Cut the array at ``pos`` into chunks of whole records; returns them and where the
        array ends. Each chunk is parsed once, cheaply (msgspec skips what is not asked
        for), for the references :func:`image_groups` needs."""
        pos = reader.skip_ws(pos + 1)
        if reader.at(pos) == ord("]"):
            return [], pos + 1
        separator = _separator(reader, pos)
        chunks: list[Chunk] = []
        index = 0
        while True:
            self._at = pos
            target = pos + self.chunk_bytes
            reader.drop(pos)
            reader.fill(target + 2**20)
            cut = self._cut(reader, pos, target, separator)
            if cut is None:  # the array ends in what is held: the rest is its last chunk
                end = self._array_end(reader, pos)
                data = reader.slice(pos, end)
                count = self._refs(key, data, pos)
                chunks.append(Chunk(pos, end, index, count))
                return chunks, reader.skip_ws(end) + 1
            end, after = cut
            count = self._refs(key, reader.slice(pos, end), pos)
            chunks.append(Chunk(pos, end, index, count))
            index += count
            pos = after

    def _refs(self, key: str, data: bytes, start: int) -> int:
        """Parse a chunk for the ids it refers to (images: ``id``, annotations:
        ``image_id``); returns its number of records."""
        decoder = _REFS.get(key)
        text = b"[" + data + b"]"
        if decoder is not None:
            try:
                refs = decoder.decode(text)
            except msgspec.DecodeError:  # records that are not objects: no references
                self._refs_known = False
            else:
                values = [ref.value for ref in refs]
                if self._refs_known and all(type(v) is int for v in values):
                    try:
                        self.refs.setdefault(key, []).append(np.array(values, dtype=np.int64))
                    except OverflowError:
                        self._refs_known = False
                else:
                    self._refs_known = False
                return len(refs)
        return len(_RAW_LIST.decode(text))

    def _cut(
        self, reader: _Reader, pos: int, target: int, separator: re.Pattern[bytes]
    ) -> tuple[int, int] | None:
        """The first proven cut between records at or after ``target``: (end of the record
        before it, start of the record after it); None when the array ends before one."""
        scanned = max(target, pos) - reader.base
        while True:
            for match in separator.finditer(reader.buf, scanned):
                end = reader.base + match.start() + 1
                try:
                    _RAW_LIST.decode(
                        b"[" + reader.buf[pos - reader.base : match.start() + 1] + b"]"
                    )
                except msgspec.DecodeError:
                    if self._ends_in_buffer(reader, pos):
                        return None
                    continue  # a look-alike inside a string or a nested value
                return end, reader.base + match.end()
            if reader.eof or self._ends_in_buffer(reader, pos):
                return None
            scanned = max(scanned, len(reader.buf) - 4096)
            reader.fill(reader.base + len(reader.buf) + self.chunk_bytes)

    def _ends_in_buffer(self, reader: _Reader, pos: int) -> bool:
        """Whether the array whose records start at ``pos`` ends in the bytes held."""
        try:
            _RAW_LIST.decode(b"[" + reader.buf[pos - reader.base :])
        except msgspec.DecodeError as exc:
            return "trailing characters" in str(exc)
        return True

    def _array_end(self, reader: _Reader, pos: int) -> int:
        """Where the last record ends, in an array whose records start at ``pos`` and whose
        end is held (or the file is not JSON: then a :class:`JSONSyntaxError`)."""
        text = b"[" + reader.buf[pos - reader.base :]
        try:
            _RAW_LIST.decode(text)
        except msgspec.DecodeError as exc:
            if "trailing characters" not in str(exc):
                raise self._syntax(
                    reader, pos - 1 + _offset(exc, len(text)), _reason(exc)
                ) from None
            close = min(_offset(exc, len(text)), len(text) - 1)
            while text[close : close + 1] != b"]":  # back to the bracket that closed it
                close -= 1
            return pos + close - 1
        return pos + len(text.rstrip()) - 2  # the array is the rest of the file

    def _syntax(self, reader: _Reader, pos: int, message: str) -> JSONSyntaxError:
        line, column = _line_column(self.name, pos)
        return JSONSyntaxError(self.name, message, line=line, column=column)

    def _detect_kind(self) -> Kind:
        from .dataset import detect_kind

        return detect_kind(self.probe(), source=self.name)


def _separator(reader: _Reader, pos: int) -> re.Pattern[bytes]:
    """Where one record ends and the next begins: ``},{"key":`` with the first record's first
    key (a cut elsewhere is refused by the parser; this only makes good cuts likely)."""
    if reader.at(pos) == ord("{"):
        reader.fill(pos + 2**16)
        start = reader.skip_ws(pos + 1)
        match = _STRING.match(reader.buf, start - reader.base)
        if match is not None:
            key = re.escape(match.group())
            return re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*(?=\{[ \t\r\n]*" + key + rb"[ \t\r\n]*:)")
    return re.compile(rb"[\]}\"0-9a-z][ \t\r\n]*,[ \t\r\n]*")


def _offset(exc: msgspec.DecodeError, default: int) -> int:
    found = _AT_BYTE.search(str(exc))
    return int(found.group(1)) if found else default


def _reason(exc: msgspec.DecodeError) -> str:
    text = _AT_BYTE.sub("", str(exc)).strip()
    return text.removeprefix("JSON is malformed: ")


def _line_column(name: str, pos: int) -> tuple[int, int]:
    """1-based line and column of byte offset ``pos``."""
    line, start, seen = 1, 0, 0
    with contextlib.suppress(OSError, InputError), _open(name) as handle:
        while seen < pos:
            block = handle.read(min(2**24, pos - seen))
            if not block:
                break
            newlines = block.count(b"\n")
            if newlines:
                line += newlines
                start = seen + block.rindex(b"\n") + 1
            seen += len(block)
    return line, pos - start + 1


# --- each image with its annotations ----------------------------------------------------------


def image_groups(
    stream: CocoStream,
    images: Callable[[], Iterator[tuple[int, list[Any]]]],
    annotations: Callable[[], Iterator[tuple[int, list[Any]]]],
    *,
    spill_bytes: int = 64 * 2**20,
    last: bool = False,
) -> Iterator[tuple[int, Any, list[tuple[int, Any]]]]:
    """``(image index, image, [(annotation index, annotation), ...])`` for every image in
    file order, each with its annotations in file order; annotations whose ``image_id``
    names no image come last, with image index -1 and image None. ``images`` and
    ``annotations`` give the chunks (:meth:`CocoStream.records` or ``checked``). Where image
    ids repeat, annotations go with the first image of their id (the ``last`` one: as a
    writer that indexes images by id in a dict sees them).

    When the annotations come grouped by image in image order (as exporters write them), one
    pass pairs them up; otherwise they are parked in a temporary folder by image range (each
    part at most about ``spill_bytes`` of JSON), which is removed at the end."""
    positions = stream.image_positions(last=last)
    known = positions[positions >= 0]
    if len(known) == len(positions) and not np.any(known[1:] < known[:-1]):
        yield from _merge(images(), annotations(), positions)
        return
    total = sum(chunk.end - chunk.start for chunk in stream.chunks.get("annotations", ()))
    n_images = stream.count("images")
    parts = int(max(1, min(total // spill_bytes + 1, n_images or 1)))
    bounds = [n_images * k // parts for k in range(parts + 1)]
    folder = Path(tempfile.mkdtemp(prefix="coco-convert-stream."))
    files: list[IO[bytes]] = []
    try:
        for k in range(parts + 1):  # the last one: annotations of no image
            files.append((folder / f"{k}.json").open("w+b"))
        bucket_of = np.searchsorted(bounds[1:], positions, side="right")
        bucket_of[positions < 0] = parts
        for first, records in annotations():
            raws = _RAW_LIST.decode(msgspec.json.encode(records))
            for j, raw in enumerate(raws):
                handle = files[int(bucket_of[first + j])]
                handle.write(b"%s[%d," % (b"," if handle.tell() else b"", first + j))
                handle.write(bytes(raw))
                handle.write(b"]")
        flat_images = _flatten(images())
        for bucket in range(parts):
            groups: dict[int, list[tuple[int, Any]]] = {}
            for index, record in _read_spill(files[bucket]):
                groups.setdefault(int(positions[index]), []).append((index, record))
            for _ in range(bounds[bucket], bounds[bucket + 1]):
                i, image = next(flat_images)
                yield i, image, groups.pop(i, [])
        orphans = _read_spill(files[parts])
        if orphans:
            yield -1, None, [(index, record) for index, record in orphans]
    finally:
        for handle in files:
            handle.close()
        shutil.rmtree(folder, ignore_errors=True)


def _read_spill(handle: IO[bytes]) -> list[list[Any]]:
    handle.flush()
    handle.seek(0)
    data = handle.read()
    with gc_paused():
        return _DECODE.decode(b"[" + data + b"]")  # type: ignore[no-any-return]


def _flatten(chunks: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, Any]]:
    for first, records in chunks:
        for i, record in enumerate(records):
            yield first + i, record


def _merge(
    images: Iterator[tuple[int, list[Any]]],
    annotations: Iterator[tuple[int, list[Any]]],
    positions: npt.NDArray[np.int64],
) -> Iterator[tuple[int, Any, list[tuple[int, Any]]]]:
    """Images and annotations that come in the same order, paired in one pass."""
    pending = _flatten(annotations)
    current = next(pending, None)
    for i, image in _flatten(images):
        group: list[tuple[int, Any]] = []
        while current is not None and positions[current[0]] == i:
            group.append(current)
            current = next(pending, None)
        yield i, image, group
