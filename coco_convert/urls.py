"""Inputs and outputs named by URL (``s3://bucket/key``, ``gs://...``, ``file:///path``),
through fsspec (the ``dask`` extra; ``s3fs`` or ``gcsfs`` for the clouds).

``file://`` URLs are local paths: the command line turns them into paths before anything
else sees them (:func:`local_path`), so they are read and written like any path (regular
files only, atomic outputs). Other URLs are opened with fsspec where they are used: by the
SA-1B reader's tasks (on the workers of a cluster, which must reach them), and, for a COCO
file read or written by ``poly2rle``/``rle2poly`` and the ``X2coco`` verbs, fetched to or
uploaded from a temporary file (:func:`staged_input`, :func:`staged_output`): an upload
replaces the object whole, as object stores do.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from .errors import InputError, UsageError

__all__ = [
    "is_url",
    "listing",
    "local_path",
    "open_binary",
    "staged_input",
    "staged_output",
]

#: ``scheme://``: two letters at least (``C:\\`` is a Windows drive, not a URL).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_url(name: str | os.PathLike[str]) -> bool:
    """Whether ``name`` is a URL (``scheme://...``) rather than a path."""
    return isinstance(name, str) and _URL.match(name) is not None


def local_path(name: str) -> Path | None:
    """The path of a ``file://`` URL (None for other URLs)."""
    parsed = urlparse(name)
    if parsed.scheme != "file":
        return None
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"{name}: a file:// URL names a file on this machine (file:///path)")
    return Path(unquote(parsed.path))


def _fsspec() -> Any:
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise UsageError(
            "URLs are read and written through fsspec: pip install 'coco-convert[dask]' "
            "(and s3fs for s3://, gcsfs for gs://)"
        ) from None
    return fsspec


def _filesystem(url: str) -> tuple[Any, str]:
    fsspec = _fsspec()
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as error:
        raise UsageError(f"{url}: {error}") from None


@contextmanager
def open_binary(url: str) -> Iterator[IO[bytes]]:
    """The object at ``url`` open for reading (an :class:`InputError` when it is missing or
    cannot be read)."""
    fs, path = _filesystem(url)
    try:
        handle = fs.open(path, "rb")
    except (OSError, ValueError) as error:
        raise InputError(url, f"cannot be read ({error})") from None
    with handle:
        yield handle


def listing(url: str) -> list[str] | None:
    """The files in the folder ``url`` as URLs, or None when ``url`` is a file."""
    fs, path = _filesystem(url)
    try:
        if not fs.isdir(path):
            if not fs.exists(path):
                raise InputError(url, "no such file or folder")
            return None
        entries = fs.ls(path, detail=True)
    except OSError as error:
        raise InputError(url, f"cannot be listed ({error})") from None
    return [fs.unstrip_protocol(entry["name"]) for entry in entries if entry.get("type") == "file"]


@contextmanager
def staged_input(name: str | os.PathLike[str]) -> Iterator[Path]:
    """A local path holding ``name``: the path itself, or a temporary copy of a URL's
    object (removed afterwards)."""
    if not is_url(name):
        yield Path(name)
        return
    fs, path = _filesystem(str(name))
    with tempfile.TemporaryDirectory(prefix="coco-convert-") as folder:
        local = Path(folder) / Path(path).name
        try:
            fs.get_file(path, str(local))
        except (OSError, ValueError) as error:
            raise InputError(str(name), f"cannot be read ({error})") from None
        yield local


@contextmanager
def staged_output(name: str | os.PathLike[str]) -> Iterator[Path]:
    """A local path to write ``name`` to: the path itself, or a temporary file uploaded to
    the URL when the block ends without an error (nothing is uploaded otherwise)."""
    if not is_url(name):
        yield Path(name)
        return
    fs, path = _filesystem(str(name))
    with tempfile.TemporaryDirectory(prefix="coco-convert-") as folder:
        local = Path(folder) / (Path(path).name or "output")
        yield local
        try:
            if local.is_dir():
                fs.put(str(local), path, recursive=True)
            else:
                fs.put_file(str(local), path)
        except OSError as error:
            raise UsageError(f"cannot write {name}: {error}") from None
        shutil.rmtree(folder, ignore_errors=True)
