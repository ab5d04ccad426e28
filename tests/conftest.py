"""Shared test helpers: where the fixtures and the real exports live.

Most tests need only the repository. Those that read the real exports (``../shared/realdata``)
need that folder: in CI (``CI`` set) a missing folder stops the run at once; elsewhere (a fresh
clone) the tests that need it are deselected and one line says how many and how to get them.
"""

from __future__ import annotations

import os
import types
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
_WHERE = (
    "check out beside the shared/ folder (../shared/realdata) or set COCO_CONVERT_SHARED to "
    "the folder that holds realdata/"
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, one clear line instead of a hundred failures when the real exports are not
    there."""
    if os.environ.get("CI") and not REALDATA.is_dir():
        raise pytest.UsageError(f"the real exports are not at {REALDATA}: {_WHERE}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside CI, without the real exports: run every test that does not need them."""
    if REALDATA.is_dir():
        return
    needing = [item for item in items if needs_realdata(item)]
    if not needing:
        return
    keep = set(map(id, needing))
    items[:] = [item for item in items if id(item) not in keep]
    config.hook.pytest_deselected(items=needing)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"coco-convert: {len(needing)} tests need the real exports, which are not at "
        f"{REALDATA}; they are not run ({_WHERE})"
    )
    if reporter is not None:
        reporter.write_line(line)


def needs_realdata(item: pytest.Item) -> bool:
    """Whether a test reads the real exports: through the ``realdata`` fixture, ``REALDATA``,
    a module constant below it (in the test, its fixtures or its parameters)."""
    fixtures = getattr(item, "fixturenames", ())
    if "realdata" in fixtures:
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(_under(value) for value in callspec.params.values()):
        return True
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for name in fixtures:
        for definition in info.name2fixturedefs.get(name, ()) if info else ():
            functions.append(definition.func)
    module = getattr(item, "module", None)
    for function in functions:
        if function is None:
            continue
        scope = getattr(function, "__globals__", vars(module) if module else {})
        for name in _names(function.__code__):
            if name == "REALDATA" or _under(scope.get(name)):
                return True
    return False


def _names(code: types.CodeType) -> Iterator[str]:
    """Global names a function (and the functions and comprehensions inside it) reads."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names(constant)


def _under(value: Any, depth: int = 0) -> bool:
    """A path (or text) below REALDATA, or a collection holding one."""
    if isinstance(value, Path | str):
        return str(value).startswith(str(REALDATA))
    if depth < 2 and isinstance(value, list | tuple | set | frozenset):
        return any(_under(v, depth + 1) for v in value)
    if depth < 2 and isinstance(value, dict):
        return any(_under(v, depth + 1) for v in (*value.keys(), *value.values()))
    return False


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
