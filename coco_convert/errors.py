"""Errors that coco-convert reports to users.

Every problem with the *input* (a missing file, malformed JSON, a value of the wrong shape) is a
:class:`CocoConvertError`. Its ``str()`` is what the command line prints: one line per problem,
naming the file and the place (line and column, or a JSON pointer) and, where we know it, the fix.
Anything else that escapes is a bug in coco-convert and keeps its traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CocoConvertError",
    "GeometryError",
    "InputError",
    "Issue",
    "JSONSyntaxError",
    "Location",
    "SchemaError",
    "UsageError",
    "printable",
]


#: Characters that would break a message apart or act on a terminal: control characters
#: (newline, escape, ...), line separators, and the surrogates that stand for the bytes of a
#: file name that is not UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with the characters a one-line message cannot show written as escapes, the
    way Python writes them: a newline as ``\\n``, ESC as ``\\x1b``, and a byte of a file
    name that is not UTF-8 (a surrogate from ``os.fsdecode``) as ``\\xe9``. Every reporter
    (error lines, loss reports, validate's text, GitHub, JSON and SARIF output) shows names
    through it, so a file called ``a\\nb.jpg`` is one line, never two."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # os.fsdecode's escape of an undecodable byte
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


@dataclass(frozen=True)
class Location:
    """A place in an input: a file and, inside it, a JSON pointer (RFC 6901) or a 1-based
    line (and column). The one type of place that errors, loss reports and validator findings
    share; ``str()`` is how messages show it: ``file``, ``file:/json/pointer``, ``file:line``
    or ``file:line:column`` (the file name and pointer :func:`printable`)."""

    file: str
    pointer: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        file = printable(self.file)
        if self.pointer:  # ("" is the whole document: the file)
            return f"{file}:{printable(self.pointer)}"
        if self.line is not None:
            where = f"{file}:{self.line}"
            return where if self.column is None else f"{where}:{self.column}"
        return file

    def to_dict(self) -> dict[str, Any]:
        """Every part (null when unset), for JSON output (names :func:`printable`: JSON
        cannot hold the surrogates of a file name that is not UTF-8)."""
        return {
            "file": printable(self.file),
            "pointer": None if self.pointer is None else printable(self.pointer),
            "line": self.line,
            "column": self.column,
        }


class CocoConvertError(Exception):
    """Base class: a problem with the input or the request, reported without a traceback."""

    exit_code = 1

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments that ``Exception`` pickling would not pass
        # back; rebuild from the attributes so errors cross process boundaries (the spawned
        # workers of :mod:`coco_convert.parallel`) unchanged.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[CocoConvertError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UsageError(CocoConvertError):
    """The request itself is wrong (conflicting options, output would overwrite the input)."""

    exit_code = 2


class InputError(CocoConvertError):
    """An input cannot be read: ``file[:line]: message`` (or ``file:/pointer: message``) plus
    an optional hint on how to fix it. ``where`` is a path or a :class:`Location`; ``line``
    and ``pointer`` place it inside a path given as a string."""

    def __init__(
        self,
        where: str | os.PathLike[str] | Location,
        message: str,
        *,
        hint: str | None = None,
        line: int | None = None,
        pointer: str | None = None,
    ) -> None:
        if not isinstance(where, Location):
            where = Location(os.fspath(where), pointer=pointer, line=line)
        self.location = where
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    @property
    def source(self) -> str:
        """The file the error is about."""
        return self.location.file

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def explained(self) -> str:
        """The message with its hint, without the place."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __str__(self) -> str:
        return f"{self.location}: {printable(self.explained)}"


class JSONSyntaxError(InputError):
    """Malformed JSON, with the 1-based line and column of the first error."""

    def __init__(self, source: str, message: str, *, line: int, column: int) -> None:
        super().__init__(Location(source, line=line, column=column), message)

    @property
    def column(self) -> int | None:
        return self.location.column

    def __str__(self) -> str:
        return f"{self.location}: invalid JSON: {self.message}"


class GeometryError(CocoConvertError, ValueError):
    """A segmentation that cannot be rasterised or measured: an RLE whose run lengths do not
    cover its ``size``, a polygon with NaN or fewer than 3 points, a mask of the wrong shape.

    Raised by :mod:`coco_convert.geometry` with a plain message; callers that know where the
    segmentation came from add the place (``where``: ``file:/annotations/17/segmentation``)."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return printable(text)

    def at(self, where: str) -> GeometryError:
        """The same error, located (``where`` is prefixed to the message)."""
        return GeometryError(self.message, where=where)


@dataclass(frozen=True)
class Issue:
    """One problem at one place of a JSON document (``pointer`` is an RFC 6901 JSON pointer)."""

    pointer: str
    message: str

    def describe(self, source: str) -> str:
        """``source:/pointer: message``."""
        return f"{Location(source, self.pointer)}: {printable(self.message)}"


class SchemaError(InputError):
    """The JSON parsed but does not fit the COCO schema. ``issues`` holds the first problems
    found (at most ``SchemaError.MAX_KEPT``); ``total`` counts all of them."""

    MAX_KEPT = 1000
    MAX_SHOWN = 10

    def __init__(self, source: str, issues: Sequence[Issue], *, total: int | None = None) -> None:
        self.issues = list(issues)
        self.total = len(self.issues) if total is None else total
        super().__init__(source, "does not fit the COCO schema")

    def __str__(self) -> str:
        lines = [issue.describe(self.source) for issue in self.issues[: self.MAX_SHOWN]]
        hidden = self.total - len(lines)
        if hidden > 0:
            lines.append(
                f"{printable(self.source)}: ... and {hidden:,} more schema "
                f"problem{'s' if hidden > 1 else ''}"
                " (run `coco-convert validate` for the full list)"
            )
        return "\n".join(lines)
