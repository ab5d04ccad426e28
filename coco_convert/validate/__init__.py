"""The validator behind ``coco-convert validate``: rule codes, findings, fixes, reporters.

>>> from coco_convert.validate import Settings, validate_path
>>> result = validate_path("train.json", Settings())          # doctest: +SKIP
>>> [f"{d.location}: {d.code} {d.message}" for d in result.diagnostics]  # doctest: +SKIP

Rules are listed in :data:`RULES` (``coco-convert validate --explain CODE`` prints one).
"""

from __future__ import annotations

from .codes import FAMILIES, RULES, Rule, resolve_codes
from .config import Config, load_config
from .context import Settings
from .diagnostics import Diagnostic, Edit, Fix, Location
from .fixes import AppliedFix, apply_fixes, render_diff
from .report import REPORTERS, render, render_statistics
from .runner import (
    FileResult,
    validate_document,
    validate_path,
    validate_paths,
    validate_target,
)

__all__ = [
    "FAMILIES",
    "REPORTERS",
    "RULES",
    "AppliedFix",
    "Config",
    "Diagnostic",
    "Edit",
    "FileResult",
    "Fix",
    "Location",
    "Rule",
    "Settings",
    "apply_fixes",
    "load_config",
    "render",
    "render_diff",
    "render_statistics",
    "resolve_codes",
    "validate_document",
    "validate_path",
    "validate_paths",
    "validate_target",
]
