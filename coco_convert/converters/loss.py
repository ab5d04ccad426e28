"""What a conversion could not carry over, and what looked wrong on the way.

Every reader and writer fills a :class:`LossReport`. Nothing is dropped silently: each kind of
loss is counted under a stable key with a plain sentence and the first few places it happened
(:class:`~coco_convert.errors.Location`\\ s, each with an optional detail). Warnings are problems
of the input (a box outside its image, an unknown class); ``strict`` conversions turn them into
a :class:`ConversionError` before anything is written. The validator reads a reader's warnings
as findings: the key names the rule (through the format's table), the place is the finding's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import CocoConvertError, Location, printable
from ..io import write_json

__all__ = ["ConversionError", "Example", "LossReport"]

#: Places kept per key: enough to find the problem, not a second copy of the dataset.
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Example:
    """One place a loss or warning happened, and what exactly was there (``detail``: the
    row's problem, the object's number, the values), when the key's message does not say."""

    location: Location
    detail: str | None = None

    def __str__(self) -> str:
        """``file:line: detail``, every part :func:`~coco_convert.errors.printable`."""
        if self.detail:
            return f"{self.location}: {printable(self.detail)}"
        return str(self.location)

    def to_dict(self) -> dict[str, Any]:
        detail = None if self.detail is None else printable(self.detail)
        return {"at": str(self), **self.location.to_dict(), "detail": detail}


@dataclass
class _Entry:
    message: str
    count: int = 0
    examples: list[Example] = field(default_factory=list)


class ConversionError(CocoConvertError):
    """A conversion refused its input (``strict`` with warnings, or an unusable input)."""

    def __init__(self, report: LossReport, message: str | None = None) -> None:
        self.report = report
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [self.message] if self.message else []
        for key, entry in self.report.warnings.items():
            where = f" (first at {entry.examples[0]})" if entry.examples else ""
            lines.append(printable(f"{entry.count:,} x {entry.message} [{key}]{where}"))
        return "\n".join(lines) or "conversion failed"


@dataclass
class LossReport:
    """Counts of what was lost (``losses``) and what looked wrong (``warnings``), keyed by a
    stable identifier, plus numeric ``stats`` (largest rounding error, IoU summaries, ...)
    and ``counts`` of what was read and written.

    One report covers a whole conversion: ``convert`` hands the same report to the reader and
    then to the writer. Readers count what they read (``images``, ``annotations``,
    ``categories``); writers count what they write under names of their own (``label_files``,
    ``xml_files``, ``files``), so the two legs' counts never add up into one number."""

    conversion: str
    losses: dict[str, _Entry] = field(default_factory=dict)
    warnings: dict[str, _Entry] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: Places kept per key (None: every one, as the validator needs them).
    max_examples: int | None = MAX_EXAMPLES

    def lose(
        self,
        key: str,
        message: str,
        *,
        where: Location | None = None,
        detail: str | None = None,
        count: int = 1,
    ) -> None:
        """Record that ``count`` things of kind ``key`` could not be carried over."""
        self._add(self.losses, key, message, where, detail, count)

    def warn(
        self,
        key: str,
        message: str,
        *,
        where: Location | None = None,
        detail: str | None = None,
        count: int = 1,
    ) -> None:
        """Record a problem of the input, at ``where`` (``detail``: what exactly is wrong
        there, when ``message`` does not say)."""
        self._add(self.warnings, key, message, where, detail, count)

    def merge(self, other: LossReport) -> None:
        """Add ``other``'s losses, warnings (their places, as many as this report keeps) and
        counts to this report: the report of a piece of work done apart (a worker's task)."""
        for mine, theirs in ((self.losses, other.losses), (self.warnings, other.warnings)):
            for key, entry in theirs.items():
                for example in entry.examples:
                    self._add(mine, key, entry.message, example.location, example.detail, 0)
                self._add(mine, key, entry.message, None, None, entry.count)
        for key, n in other.counts.items():
            self.count(key, n)

    def count(self, key: str, n: int = 1) -> None:
        """Count what was converted (``images``, ``annotations``, files written, ...)."""
        self.counts[key] = self.counts.get(key, 0) + n

    @property
    def lossless(self) -> bool:
        return not self.losses

    def raise_if_strict(self, strict: bool) -> None:
        """With ``strict``, refuse the conversion when there are warnings."""
        if strict and self.warnings:
            raise ConversionError(self, f"{self.conversion}: refused (--strict) because of:")

    def to_dict(self) -> dict[str, Any]:
        def entries(table: dict[str, _Entry]) -> dict[str, Any]:
            return {
                key: {
                    "message": e.message,
                    "count": e.count,
                    "examples": [example.to_dict() for example in e.examples],
                }
                for key, e in table.items()
            }

        return {
            "conversion": self.conversion,
            "counts": self.counts,
            "lossless": self.lossless,
            "losses": entries(self.losses),
            "warnings": entries(self.warnings),
            "stats": self.stats,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the report as JSON (atomically)."""
        write_json(path, self.to_dict(), indent=2)

    def to_text(self) -> str:
        """The human summary the command line prints on stderr."""
        done = ", ".join(f"{n:,} {key}" for key, n in self.counts.items())
        lines = [f"{self.conversion}: {done}" if done else self.conversion]
        for key, entry in self.losses.items():
            lines.append(f"  lost: {entry.count:,} x {entry.message} [{key}]")
        for key, entry in self.warnings.items():
            where = f" (first at {entry.examples[0]})" if entry.examples else ""
            lines.append(f"  warning: {entry.count:,} x {entry.message} [{key}]{where}")
        for key, value in self.stats.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"  {key.replace('_', ' ')}: {shown}")
        if not self.losses:
            lines.append("  nothing lost")
        return "\n".join(lines)

    def _add(
        self,
        table: dict[str, _Entry],
        key: str,
        message: str,
        where: Location | None,
        detail: str | None,
        count: int,
    ) -> None:
        entry = table.get(key)
        if entry is None:
            entry = table[key] = _Entry(message)
        entry.count += count
        if where is not None and (
            self.max_examples is None or len(entry.examples) < self.max_examples
        ):
            entry.examples.append(Example(where, detail))
