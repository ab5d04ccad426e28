"""Shared test helpers: where the fixtures and the real exports live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
#: Real exports written by real tools, read in place (never copied into the repository):
#: ``../shared/realdata`` beside the checkout (CI), or beside a folder above it (worktrees).
REALDATA = next(
    (p / "shared" / "realdata" for p in ROOT.parents if (p / "shared" / "realdata").is_dir()),
    ROOT.parent / "shared" / "realdata",
)


@pytest.fixture(scope="session")
def realdata() -> Path:
    assert REALDATA.is_dir(), f"the real exports are expected at {REALDATA}"
    return REALDATA
