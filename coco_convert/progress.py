"""Progress bars for long work, shown on stderr only when the command line asks for them.

Library code wraps its long loops in :func:`track`; it costs nothing unless a caller (the CLI,
when stderr is a terminal and ``--quiet`` is not given) has turned bars on with
:func:`enabled`. tqdm is imported only then.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["enabled", "track"]

T = TypeVar("T")

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "coco_convert_progress", default=False
)


@contextlib.contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Within this block, :func:`track` draws bars on stderr (when ``on``)."""
    token = _ENABLED.set(on)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def track(
    items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it"
) -> Iterable[T]:
    """``items`` unchanged, with a progress bar when bars are enabled and the work is long
    enough to be worth one (more than one step)."""
    if not _ENABLED.get() or (total is not None and total <= 1):
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
