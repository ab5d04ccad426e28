"""What a conversion could not carry over, and what looked wrong on the way.

Every reader and writer returns (or fills) a :class:`LossReport`. Nothing is dropped silently:
each kind of loss is counted under a stable key with a plain sentence and the first few places
it happened. Warnings are problems of the input (a box outside its image, an unknown class);
``strict`` conversions turn them into a :class:`ConversionError` before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import CocoConvertError, printable
from ..io import write_json

__all__ = ["ConversionError", "LossReport"]

#: Places kept per key: enough to find the problem, not a second copy of the dataset.
MAX_EXAMPLES = 5


@dataclass
class _Entry:
    message: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


class ConversionError(CocoConvertError):
    """A conversion refused its input (``strict`` with warnings, or an unusable input)."""

    def __init__(self, report: LossReport, message: str | None = None) -> None:
        self.report = report
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [self.message] if self.message else []
        for key, entry in self.report.warnings.items():
            where = f" (first at {', '.join(entry.examples)})" if entry.examples else ""
            lines.append(printable(f"{entry.count:,} x {entry.message} [{key}]{where}"))
        return "\n".join(lines) or "conversion failed"


@dataclass
class LossReport:
    """Counts of what was lost (``losses``) and what looked wrong (``warnings``), keyed by a
    stable identifier, plus numeric ``stats`` (largest rounding error, IoU summaries, ...)."""

    conversion: str
    losses: dict[str, _Entry] = field(default_factory=dict)
    warnings: dict[str, _Entry] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: Places kept per key (None: every one, as the validator needs them).
    max_examples: int | None = MAX_EXAMPLES

    def lose(self, key: str, message: str, *, where: str | None = None, count: int = 1) -> None:
        """Record that ``count`` things of kind ``key`` could not be carried over."""
        _add(self.losses, key, message, where, count, self.max_examples)

    def warn(self, key: str, message: str, *, where: str | None = None, count: int = 1) -> None:
        """Record a problem of the input (``where``: ``file:line``, ``file:/pointer``...)."""
        _add(self.warnings, key, message, where, count, self.max_examples)

    def count(self, key: str, n: int = 1) -> None:
        """Count what was converted (``images``, ``annotations``, files written, ...)."""
        self.counts[key] = self.counts.get(key, 0) + n

    def track_max(self, key: str, value: float) -> None:
        """Keep the largest ``value`` seen under ``key`` (the largest rounding error, say)."""
        if value > self.stats.get(key, float("-inf")):
            self.stats[key] = value

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
                    # places name files: shown as printable() shows them everywhere
                    "examples": [printable(where) for where in e.examples],
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

    def render(self) -> str:
        """The human summary the command line prints on stderr."""
        done = ", ".join(f"{n:,} {key}" for key, n in self.counts.items())
        lines = [f"{self.conversion}: {done}" if done else self.conversion]
        for key, entry in self.losses.items():
            lines.append(f"  lost: {entry.count:,} x {entry.message} [{key}]")
        for key, entry in self.warnings.items():
            where = f" (first at {printable(entry.examples[0])})" if entry.examples else ""
            lines.append(f"  warning: {entry.count:,} x {entry.message} [{key}]{where}")
        for key, value in self.stats.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"  {key.replace('_', ' ')}: {shown}")
        if not self.losses:
            lines.append("  nothing lost")
        return "\n".join(lines)


def _add(
    table: dict[str, _Entry],
    key: str,
    message: str,
    where: str | None,
    count: int,
    limit: int | None = MAX_EXAMPLES,
) -> None:
    entry = table.get(key)
    if entry is None:
        entry = table[key] = _Entry(message)
    entry.count += count
    if where is not None and (limit is None or len(entry.examples) < limit):
        entry.examples.append(where)
