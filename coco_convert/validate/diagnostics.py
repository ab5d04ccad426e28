"""What the validator finds: diagnostics at a place, with an optional fix.

A :class:`Diagnostic` names a rule (its stable code), says in one line what is wrong and where
(a file plus a JSON pointer, or a line and column), and may carry a :class:`Fix`: edits to the
parsed JSON document that `coco-convert validate --fix` applies. Fixes are *safe* (the meaning
of the data is kept: a box recomputed from its mask, ``1.0`` written as ``1``) or *unsafe*
(data is dropped or renumbered), and only ``--unsafe-fixes`` applies the latter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import Location

__all__ = ["REMOVE", "Applicability", "Diagnostic", "Edit", "Fix", "Location", "Severity"]

Severity = Literal["error", "warning", "info"]
Applicability = Literal["safe", "unsafe"]


class _Remove:
    """Marker value of an :class:`Edit` that deletes the key or list item at its pointer."""

    def __repr__(self) -> str:
        return "REMOVE"

    def __reduce__(self) -> str:
        # (unpickled as the one REMOVE: fixes made in worker processes still delete)
        return "REMOVE"


REMOVE: Any = _Remove()


@dataclass(frozen=True)
class Edit:
    """Set the value at ``pointer`` (an RFC 6901 JSON pointer), or delete it (``REMOVE``)."""

    pointer: str
    value: Any = REMOVE

    @property
    def removes(self) -> bool:
        return self.value is REMOVE

    def to_dict(self) -> dict[str, Any]:
        if self.removes:
            return {"op": "remove", "path": self.pointer}
        return {"op": "replace", "path": self.pointer, "value": self.value}


@dataclass(frozen=True)
class Fix:
    """What ``--fix`` would do, in words and as JSON edits (JSON Patch ``replace``/``remove``)."""

    description: str
    edits: tuple[Edit, ...]
    applicability: Applicability = "safe"

    @classmethod
    def replace(cls, description: str, pointer: str, value: Any, *, unsafe: bool = False) -> Fix:
        return cls(description, (Edit(pointer, value),), "unsafe" if unsafe else "safe")

    @classmethod
    def remove(cls, description: str, pointer: str, *, unsafe: bool = False) -> Fix:
        return cls(description, (Edit(pointer),), "unsafe" if unsafe else "safe")

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability,
            "message": self.description,
            "edits": [edit.to_dict() for edit in self.edits],
        }


@dataclass(frozen=True)
class Diagnostic:
    """One finding of one rule at one place."""

    code: str
    message: str
    location: Location
    severity: Severity = "error"
    fix: Fix | None = field(default=None, compare=False)

    @property
    def file(self) -> str:
        return self.location.file

    def fixable(self, *, unsafe: bool = False) -> bool:
        """Whether ``--fix`` (or, with ``unsafe``, ``--fix --unsafe-fixes``) would fix it."""
        return self.fix is not None and (unsafe or self.fix.applicability == "safe")
