"""Label Studio's brush masks: its own run-length code, to and from COCO RLE (numpy).

Label Studio keeps a ``brushlabels`` region as ``{"format": "rle", "rle": [bytes...]}``: the
RGBA pixels of the whole image, row by row, packed by thi.ng's ``rle-pack`` scheme. The
frontend copies each pixel's alpha into its R, G and B before encoding, and shows a pixel as
part of the region when its alpha is not 0: **the mask is alpha != 0**.

The bit stream, most significant bit of each byte first::

    header   32 bits  number of values (4 x width x height)
              5 bits  word size - 1 (8: one byte per value)
           4 x 4 bits  the four run-length field widths - 1 (3, 4, 8 and 16)
    records  1 bit     1: a run of one repeated word; 0: a chunk of literal words
             2 bits    which of the four widths the count field has
             n bits    count - 1 (the record covers count values)
             words     one word (a run), or count words (a chunk)
    padding  to a whole byte

:func:`decode_runs` reads any such stream (every word size and field width the scheme
allows) without a loop over values: every bit position is read as if a record started
there, at once, and only the chain of actual records is followed one step each.
:func:`brush_to_rle` turns the alpha channel into one exact COCO RLE. :func:`encode`
writes the stream exactly as label-studio-sdk's ``brush.encode_rle`` does, bit for bit
(word size 8, widths 3, 4, 8, 16; a value that repeats once is a one-word chunk; runs longer
than 65,536 are cut into 65,536-value records; a stream that ends on a whole byte gets a
zero byte more); :func:`rle_to_brush` encodes a COCO RLE as the RGBA pixels
label-studio-sdk's ``mask2rle`` makes of a 0/255 mask (every channel the mask's value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from ..errors import GeometryError
from ..geometry import RLE, rle_to_rows, rows_to_rle

__all__ = [
    "Header",
    "brush_to_rle",
    "decode",
    "decode_runs",
    "encode",
    "header",
    "rle_to_brush",
]

_Ints = npt.NDArray[np.int64]

#: Bits before the first record: count (32), word size (5), four field widths (4 each).
_HEADER_BITS = 53
#: Bit positions read at once while following the records (bounds the memory a long
#: stream of literal words takes).
_WINDOW = 1 << 20
#: What label-studio-sdk's encoder writes.
_WORD = 8
_WIDTHS = (3, 4, 8, 16)
_LONGEST = 1 << 16
#: Channels per pixel, and which one is the mask.
_CHANNELS, _ALPHA = 4, 3


class Header(NamedTuple):
    """What a stream's header says: how many values it holds, the bits of a word, and the
    widths of the four run-length fields."""

    values: int
    word: int
    widths: tuple[int, int, int, int]


def _as_bytes(data: Sequence[int] | bytes | npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """The stream as a uint8 array; anything but whole numbers 0..255 is a GeometryError."""
    if isinstance(data, bytes | bytearray):
        return np.frombuffer(bytes(data), dtype=np.uint8)
    try:
        array = np.asarray(data)
    except (TypeError, ValueError, OverflowError):
        raise GeometryError("a brush RLE is a list of byte values (0..255)") from None
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise GeometryError("a brush RLE is a flat list of byte values (0..255)")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise GeometryError(
            f"a brush RLE holds byte values 0..255, not {int(array.min())}..{int(array.max())}"
        )
    return array.astype(np.uint8)


class _Bits:
    """Fields of any width up to 57 bits read at many bit positions at once: each byte
    position sees the 8 bytes from there as one big-endian 64-bit word."""

    def __init__(self, stream: npt.NDArray[np.uint8]) -> None:
        self.length = 8 * stream.size
        padded = np.concatenate((stream, np.zeros(16, dtype=np.uint8))).tobytes()
        windows = np.ndarray((stream.size + 8,), dtype=">u8", buffer=padded, strides=(1,))
        self.windows = windows.astype(np.uint64)

    def read(self, positions: Any, widths: Any) -> _Ints:
        """The ``widths``-bit numbers at bit ``positions`` (arrays or numbers, widths 1..57)."""
        positions = np.asarray(positions, dtype=np.int64)
        words = self.windows[positions >> 3] << (positions & 7).astype(np.uint64)
        shifted = words >> (64 - np.asarray(widths, dtype=np.int64)).astype(np.uint64)
        return cast("_Ints", shifted.astype(np.int64))


def header(data: Sequence[int] | bytes | npt.NDArray[Any]) -> Header:
    """``(values, word_size, widths)`` of a stream; a stream too short for a header is a
    GeometryError."""
    stream = _as_bytes(data)
    return _header(_Bits(stream))


def _header(bits: _Bits) -> Header:
    if bits.length < _HEADER_BITS:
        raise GeometryError(
            f"a brush RLE starts with a {_HEADER_BITS}-bit header; this one has {bits.length} bits"
        )
    values = int(bits.read(0, 32))
    word = int(bits.read(32, 5)) + 1
    widths = bits.read(np.arange(37, 53, 4), 4) + 1
    return Header(values, word, (int(widths[0]), int(widths[1]), int(widths[2]), int(widths[3])))


def decode_runs(
    data: Sequence[int] | bytes | npt.NDArray[Any],
) -> tuple[_Ints, _Ints, Header]:
    """The stream as runs: ``(values, lengths, header)``, one run per repeated word and
    per literal word, in order (neighbours may hold the same value). Records that end
    before the header's count of values, or run past it, are a GeometryError."""
    bits = _Bits(_as_bytes(data))
    head = _header(bits)
    total, word, widths = head
    starts = _records(bits, total, word, np.array(widths, dtype=np.int64))
    if not starts.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, head
    repeat = bits.read(starts, 1).astype(np.bool_)
    width = np.array(widths, dtype=np.int64)[bits.read(starts + 1, 2)]
    count = bits.read(starts + 3, width) + 1
    first_word = starts + 3 + width
    words = np.where(repeat, 1, count)
    offsets = np.cumsum(words) - words
    position = np.repeat(first_word - word * offsets, words) + word * np.arange(words.sum())
    values = bits.read(position, word)
    lengths = np.where(repeat, count, 1)
    return values, np.repeat(lengths, words), head


def _records(bits: _Bits, total: int, word: int, widths: _Ints) -> _Ints:
    """The bit positions where the records start. Where the next record starts is worked
    out for every bit position of a window at once; then the chain is followed."""
    found: list[int] = []
    done = 0
    position = _HEADER_BITS
    low = high = 0
    next_at: Any = None
    covers: Any = None
    while done < total:
        if position >= bits.length:
            raise GeometryError(
                f"the brush RLE ends after {done:,} of its {total:,} values (truncated)"
            )
        if position >= high:
            low, high = position, min(position + _WINDOW, bits.length)
            at = np.arange(low, high, dtype=np.int64)
            repeat = bits.read(at, 1)
            width = widths[bits.read(at + 1, 2)]
            count = bits.read(at + 3, width) + 1
            next_at = at + 3 + width + word * np.where(repeat, 1, count)
            covers = count
        found.append(position)
        done += int(covers[position - low])
        position = int(next_at[position - low])
    if done > total:
        raise GeometryError(
            f"the brush RLE's records hold {done:,} values; its header says {total:,}"
        )
    if position > bits.length:
        raise GeometryError(
            f"the brush RLE's last record needs {position - bits.length} bits more than it has "
            "(truncated)"
        )
    return np.array(found, dtype=np.int64)


def decode(data: Sequence[int] | bytes | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Every value of the stream (uint8 for words of up to 8 bits, else uint32)."""
    values, lengths, head = decode_runs(data)
    dtype = np.uint8 if head.word <= 8 else np.uint32
    return np.repeat(values, lengths).astype(dtype)


def brush_to_rle(data: Sequence[int] | bytes | npt.NDArray[Any], height: int, width: int) -> RLE:
    """The COCO RLE (compressed) of a brush region of a ``height`` x ``width`` image: the
    pixels whose alpha is not 0. A stream that does not hold 4 values a pixel of this
    image is a GeometryError."""
    values, lengths, head = decode_runs(data)
    expected = _CHANNELS * height * width
    if head.values != expected:
        raise GeometryError(
            f"the brush RLE decodes to {head.values:,} values; a {width} x {height} RGBA image "
            f"has {expected:,} (4 a pixel): it belongs to an image of another size"
        )
    ends = np.cumsum(lengths)
    starts = ends - lengths
    on = values != 0
    # Value k is channel k % 4 of pixel k // 4; a run [s, e) holds the alpha of the
    # pixels s // 4 up to e // 4 (both rounded down: the alpha is the last channel).
    first = starts[on] // _CHANNELS
    last = ends[on] // _CHANNELS
    keep = last > first
    first, last = first[keep], last[keep]
    if first.size:
        # neighbouring runs (several alpha values, or a run that continues) are one run
        joined = first[1:] == last[:-1]
        first = first[np.concatenate(([True], ~joined))]
        last = last[np.concatenate((~joined, [True]))]
    switches = np.empty(2 * first.size, dtype=np.int64)
    switches[0::2], switches[1::2] = first, last
    runs = np.diff(switches, prepend=0, append=height * width)
    return rows_to_rle(runs, height, width)


def encode(values: Sequence[int] | npt.NDArray[Any]) -> list[int]:
    """The stream of ``values`` (0..255) as label-studio-sdk's ``encode_rle`` writes it, bit
    for bit: word size 8, field widths 3, 4, 8 and 16."""
    array = _as_bytes(np.asarray(values))
    if not array.size:
        return _pack([], [], 0)
    change = np.flatnonzero(array[1:] != array[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(starts, append=array.size)
    return _encode_runs(array[starts].astype(np.int64), lengths, int(array.size))


def rle_to_brush(rle: RLE | dict[str, Any]) -> list[int]:
    """A COCO RLE as a Label Studio brush stream: every channel of a mask pixel 255, of the
    others 0, encoded as :func:`encode` does (what label-studio-sdk's ``mask2rle`` gives for
    the 0/255 mask)."""
    runs = rle_to_rows(rle)
    height, width = (int(v) for v in rle["size"])
    if _CHANNELS * height * width >= 1 << 32:
        raise GeometryError(
            f"a {width} x {height} image is too large for a brush RLE (its 32-bit count of "
            "values holds at most 1,073,741,823 pixels)"
        )
    values = np.zeros(runs.size, dtype=np.int64)
    values[1::2] = 255
    keep = runs > 0
    return _encode_runs(values[keep], _CHANNELS * runs[keep], _CHANNELS * height * width)


def _encode_runs(values: _Ints, lengths: _Ints, total: int) -> list[int]:
    """Records for maximal runs (neighbours differ), as label-studio-sdk writes them."""
    # A run longer than the 16-bit field holds becomes several records of 65,536 values
    # and a last one with the rest (label-studio-sdk's loop).
    pieces = np.where(lengths > _LONGEST, (lengths - 1) // _LONGEST + 1, 1)
    value = np.repeat(values, pieces)
    run = np.repeat(lengths, pieces)
    index = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    last = index == np.repeat(pieces, pieces) - 1
    count = np.where(last, run - _LONGEST * index, _LONGEST)
    choice = np.select([run == 1, run <= 8, run <= 16, run <= 256], [0, 0, 1, 2], default=3).astype(
        np.int64
    )
    width = np.array(_WIDTHS, dtype=np.int64)[choice]
    repeated = (run > 1).astype(np.int64)
    codes = (((repeated << 2 | choice) << width | (count - 1)) << _WORD) | value
    sizes = 3 + width + _WORD
    return _pack(codes.tolist(), sizes.tolist(), total)


def _pack(codes: list[int], sizes: list[int], total: int) -> list[int]:
    """Header + records (each ``code`` written in ``size`` bits) + label-studio-sdk's padding
    (zero bits to the next byte, a whole zero byte when already on one), as byte values."""
    head = total << 21 | (_WORD - 1) << 16
    for place, field in zip((12, 8, 4, 0), _WIDTHS, strict=True):
        head |= (field - 1) << place
    code = np.array([head, *codes], dtype=np.uint64)
    size = np.array([_HEADER_BITS, *sizes], dtype=np.int64)
    bits_total = int(size.sum())
    offset = np.repeat(np.cumsum(size) - size, size)
    shift = np.repeat(size - 1, size) - (np.arange(bits_total) - offset)
    bits = (np.repeat(code, size) >> shift.astype(np.uint64)) & np.uint64(1)
    padding = 8 - bits_total % 8
    stream = np.concatenate((bits.astype(np.uint8), np.zeros(padding, dtype=np.uint8)))
    packed: list[int] = np.packbits(stream).tolist()
    return packed
