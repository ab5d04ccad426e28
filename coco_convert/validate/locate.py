"""Line and column of JSON pointers in a pretty-printed file, for annotations in CI.

GitHub annotations and SARIF viewers place a finding on a line. Findings name JSON pointers;
this module finds the line where each pointed-to value starts with one pass of a tokenizer over
the text. It is only worth it (and only done) for files laid out on many lines and small
enough to scan quickly; other findings keep their pointer alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

__all__ = ["MAX_BYTES", "pointer_positions"]

#: Files larger than this are not scanned (a pure-Python tokenizer runs at ~20 MB/s).
MAX_BYTES = 20 * 2**20

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]|\n|[^\s{}\[\],:"]+')


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_positions(data: bytes, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``{pointer: (line, column)}`` (1-based) of the values ``pointers`` name in the JSON
    text ``data``; pointers not found (a missing key, say) are left out."""
    wanted = set(pointers)
    if not wanted or len(data) > MAX_BYTES:
        return {}
    found: dict[str, tuple[int, int]] = {}
    # Each frame: [is_object, key or index, expecting a key]
    stack: list[list[object]] = []
    path: list[str] = []
    line, line_start = 1, 0

    def start_value(position: int) -> None:
        pointer = "".join(f"/{part}" for part in path)
        if pointer in wanted and pointer not in found:
            found[pointer] = (line, position - line_start + 1)

    for match in _TOKEN.finditer(data):
        token = match.group()
        if token == b"\n":
            line, line_start = line + 1, match.end()
            continue
        frame = stack[-1] if stack else None
        if token in (b"}", b"]"):
            if frame is None:
                break  # unbalanced: not JSON this module can place
            stack.pop()
            if not (frame[0] and frame[2]):  # an object that holds a key, or an array
                path.pop()
            continue
        if token == b",":
            if frame is not None:
                if frame[0] and not frame[2]:
                    frame[2] = True
                    path.pop()
                elif not frame[0]:
                    frame[1] = int(frame[1]) + 1  # type: ignore[call-overload]
                    path[-1] = str(frame[1])
            continue
        if token == b":":
            continue
        if frame is not None and frame[0] and frame[2]:  # an object's key
            try:
                key = _escape(orjson.loads(token))
            except orjson.JSONDecodeError:
                break  # not JSON this module can place
            frame[1], frame[2] = key, False
            path.append(key)
            continue
        start_value(match.start())
        if token in (b"{", b"["):
            is_object = token == b"{"
            stack.append([is_object, 0, is_object])
            if not is_object:
                path.append("0")
    return found
