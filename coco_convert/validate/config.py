"""Configuration from ``pyproject.toml`` under ``[tool.coco-convert.validate]``.

```toml
[tool.coco-convert.validate]
select = ["ALL"]                 # codes or prefixes ("G", "G1", "R006"); default ALL
ignore = ["R008"]                # subtracted from select
extend-select = []               # added to select
per-file-ignores = { "legacy/*.json" = ["I003", "R009"] }
bbox-tolerance = 1.0             # px (G104)
area-tolerance = 0.1             # relative (G105)
keypoint-margin = 0.5            # fraction of the box size (K005)
edge-tolerance = 0.0             # px past the image edge (G102, G111)
```

The file is the nearest ``pyproject.toml`` with that table, from the current folder upwards
(as ruff finds its own), or the one given by ``--config``. Command-line ``--select`` replaces
``select``; ``--ignore`` adds to ``ignore``.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InputError, UsageError
from ..io import read_text, real_path
from .codes import RULES, resolve_codes
from .context import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Config", "find_config", "load_config"]

_TOLERANCES = {
    "bbox-tolerance": "bbox_tolerance",
    "area-tolerance": "area_tolerance",
    "keypoint-margin": "keypoint_margin",
    "edge-tolerance": "edge_tolerance",
}
_KEYS = {"select", "ignore", "extend-select", "per-file-ignores", *_TOLERANCES}


@dataclass(frozen=True)
class Config:
    """The validator's settings for a run; :meth:`for_file` applies per-file ignores."""

    settings: Settings = field(default_factory=Settings)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def for_file(self, path: str | Path) -> Settings:
        ignored: set[str] = set()
        resolved = real_path(path)  # (a symbolic link loop is no RuntimeError)
        try:
            root = real_path(self.root)
            relative = PurePosixPath(resolved.relative_to(root).as_posix())
        except ValueError:
            relative = PurePosixPath(Path(path).as_posix())
        for pattern, codes in self.per_file_ignores:
            if fnmatch.fnmatch(str(relative), pattern) or relative.match(pattern):
                ignored |= codes
        if not ignored:
            return self.settings
        return replace(self.settings, select=self.settings.select - ignored)


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` with ``[tool.coco-convert.validate]``."""
    folder = real_path(start or Path.cwd())
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file() and _table(path) is not None:
            return path
    return None


def _table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(read_text(path))
    except InputError as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc.message}") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc}") from None
    tool = data.get("tool")
    if not isinstance(tool, dict) or "coco-convert" not in tool:
        return None  # not ours (a `tool` that is no table is for another tool to refuse)
    ours = tool["coco-convert"]
    if not isinstance(ours, dict):
        raise UsageError(f"{path}: [tool.coco-convert] must be a table, not {ours!r}")
    table = ours.get("validate")
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.coco-convert.validate] must be a table, not {table!r}")
    return table


def _codes(path: Path | None, key: str, value: Any) -> set[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        example = f' (write {key} = ["{value}"])' if isinstance(value, str) else ""
        raise UsageError(f"{path}: {key} must be a list of rule codes{example}")
    try:
        return resolve_codes(value)
    except ValueError as exc:
        raise UsageError(f"{path or 'command line'}: {key}: {exc}") from None


def load_config(
    path: Path | None = None,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    images: Path | None = None,
    search: bool = True,
) -> Config:
    """The configuration: the file at ``path`` (or the one :func:`find_config` finds when
    ``search``), then the command line's ``select``, ``ignore`` and ``images`` on top."""
    if path is None and search:
        path = find_config()
    table: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise UsageError(f"{path}: no such configuration file")
        table = _table(path) or {}
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UsageError(
            f"{path}: unknown key{'s' if len(unknown) > 1 else ''} in "
            f"[tool.coco-convert.validate]: {', '.join(unknown)}"
        )
    chosen = _codes(path, "select", table.get("select", ["ALL"]))
    chosen |= _codes(path, "extend-select", table.get("extend-select", []))
    if select:
        chosen = _codes(None, "--select", list(select))
    chosen -= _codes(path, "ignore", table.get("ignore", []))
    chosen -= _codes(None, "--ignore", list(ignore))
    chosen.add("X001")  # a crash of the validator itself is never silenced
    tolerances: dict[str, Any] = {}  # (floats, for the Settings of these names)
    for key, attr in _TOLERANCES.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise UsageError(f"{path}: {key} must be a non-negative number")
            tolerances[attr] = float(value)
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise UsageError(f"{path}: per-file-ignores must be a table of pattern = [codes]")
    ignores = tuple(
        (pattern, frozenset(_codes(path, f"per-file-ignores {pattern!r}", codes)))
        for pattern, codes in per_file.items()
    )
    settings = Settings(select=frozenset(chosen & set(RULES)), images=images, **tolerances)
    root = path.parent if path is not None else Path.cwd()
    return Config(settings, ignores, root, path)
