"""Shared test helpers: where the fixtures and the real exports live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
#: Real exports written by real tools, read in place (never copied into the repository):
#: ``$COCO_CONVERT_SHARED/realdata`` when set, else ``../shared/realdata`` beside the checkout
#: (CI), or beside a folder above it (worktrees).
REALDATA = (
    Path(os.environ["COCO_CONVERT_SHARED"]) / "realdata"
    if os.environ.get("COCO_CONVERT_SHARED")
    else next(
        (p / "shared" / "realdata" for p in ROOT.parents if (p / "shared" / "realdata").is_dir()),
        ROOT.parent / "shared" / "realdata",
    )
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """One clear line instead of a hundred failures when the real exports are not there."""
    if not REALDATA.is_dir():
        raise pytest.UsageError(
            f"the real exports are not at {REALDATA}: check out beside the shared/ folder "
            "(../shared/realdata) or set COCO_CONVERT_SHARED to that folder"
        )


@pytest.fixture(scope="session")
def realdata() -> Path:
    return REALDATA


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    """A real Dask cluster on this machine: a scheduler and two worker processes (one thread
    each), shared by the tests of ``--scheduler``; yields its ``distributed.Client``."""
    from distributed import Client

    from coco_convert.cluster import local_cluster

    with local_cluster(2) as local, Client(local) as client:
        client.wait_for_workers(2)
        yield client
