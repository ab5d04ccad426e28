"""The format registry: every format coco-convert reads or writes, one line each.

``coco-convert convert``, ``formats``, the ``X2coco``/``coco2X`` verbs, ``validate`` and the
conformance suite are all built from :data:`FORMATS`; adding a format is its module under
``coco_convert/converters/`` (see :mod:`coco_convert.converters.base`), its fixtures, its docs
page and one line here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from . import urls
from .converters import coco, cvat, labelme, labelstudio, masks, sa1b, via, voc, yolo
from .converters.base import Format
from .converters.loss import LossReport
from .errors import InputError, UsageError
from .io import check_output

__all__ = ["FORMATS", "convert", "detect", "get", "guess", "readable", "writable"]

#: Every format, in the order ``coco-convert formats`` lists them.
FORMATS: tuple[Format, ...] = (
    coco.FORMAT,
    voc.FORMAT,
    yolo.FORMAT,
    masks.FORMAT,
    cvat.FORMAT,
    labelstudio.FORMAT,
    labelme.FORMAT,
    via.FORMAT,
    sa1b.FORMAT,
)

_BY_NAME: dict[str, Format] = {name: fmt for fmt in FORMATS for name in fmt.names}


def get(name: str) -> Format:
    """The format called ``name`` (or one of its aliases); a usage error names the known
    ones."""
    found = _BY_NAME.get(name.strip().lower())
    if found is None:
        known = ", ".join(fmt.name for fmt in FORMATS)
        raise UsageError(f"unknown format {name!r} (known formats: {known})")
    return found


def readable() -> list[Format]:
    """The formats that have a reader."""
    return [fmt for fmt in FORMATS if fmt.read is not None]


def writable() -> list[Format]:
    """The formats that have a writer."""
    return [fmt for fmt in FORMATS if fmt.write is not None]


def detect(path: str | Path) -> list[Format]:
    """Every readable format whose ``detect`` recognises ``path`` (a file or folder). A path
    that is neither (a named pipe, a device, a link loop, missing) is no format: the
    ``detect`` functions, which open files to look at their first bytes, never see it (they
    would wait forever on a named pipe)."""
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except (OSError, ValueError):
        return []
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        return []
    return [fmt for fmt in readable() if fmt.detect(target)]


def guess(paths: Iterable[str | Path]) -> Format:
    """The one readable format all ``paths`` are in; a usage error when none or several
    fit (it lists the candidates: pass ``--from``)."""
    paths = list(paths)
    if any(urls.is_url(path) for path in paths):
        raise UsageError("the format of a URL is not detected: pass --from FORMAT")
    candidates: list[Format] | None = None
    for path in paths:
        if not Path(path).exists():
            raise InputError(str(path), "no such file or folder")
        found = detect(path)
        candidates = found if candidates is None else [f for f in candidates if f in found]
    if not candidates:
        shown = ", ".join(str(p) for p in paths)
        known = ", ".join(fmt.name for fmt in readable())
        raise UsageError(
            f"cannot tell the format of {shown}; pass --from FORMAT (readable: {known})"
        )
    if len(candidates) > 1:
        names = ", ".join(fmt.name for fmt in candidates)
        raise UsageError(f"{paths[0]} could be any of: {names}; pass --from FORMAT to say which")
    return candidates[0]


def convert(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    to: str | Format,
    source_format: str | Format | None = None,
    options: Mapping[str, Any] | None = None,
    strict: bool = False,
    jobs: int | None = None,
    stream: bool = False,
) -> LossReport:
    """Convert ``sources`` (one path, or several: COCO takes one file per split) to the
    format ``to`` at ``output``, through COCO datasets in memory: what ``coco-convert
    convert`` does. ``source_format`` is detected when None (:func:`guess`). ``options`` go
    to the reader and the writer that declare them (both, if both do); one that neither
    declares is a :class:`~coco_convert.errors.UsageError` naming the formats that do. The
    output never replaces an input. Returns the one report of both legs.

    ``stream`` reads COCO sources a chunk at a time instead of loading them
    (:mod:`coco_convert.streaming`), for writers that take that (``Format.streams``): the
    same output in bounded memory. Sources and ``output`` may be URLs
    (:mod:`coco_convert.urls`)."""
    names = [sources] if isinstance(sources, str | os.PathLike) else list(sources)
    # (URLs stay text: a Path would fold their "//")
    paths: list[Any] = [name if urls.is_url(name) else Path(name) for name in names]
    writer = to if isinstance(to, Format) else get(to)
    reader = (
        guess(paths)
        if source_format is None
        else source_format
        if isinstance(source_format, Format)
        else get(source_format)
    )
    if reader.read is None:
        raise UsageError(f"{reader.name} cannot be read (coco-convert formats lists what can)")
    if writer.write is None:
        raise UsageError(f"{writer.name} cannot be written (coco-convert formats lists what can)")
    options = dict(options or {})
    read_names = {option.name for option in reader.read_options}
    write_names = {option.name for option in writer.write_options}
    for name in options:
        if name not in read_names | write_names:
            raise UsageError(_not_taken(name, reader, writer))
    if not urls.is_url(output):
        check_output(output, [*(p for p in paths if not urls.is_url(p)), *_paths(options)])
    report = LossReport(f"{reader.name}2{writer.name}")
    datasets: dict[str, Any] = {}
    read_options = {k: v for k, v in options.items() if k in read_names}
    if stream:
        datasets = _streams(paths, reader, writer, report, read_options.get("split"))
        paths = []
    for path in paths:
        with ExitStack() as stack:
            if urls.is_url(path) and not reader.reads_urls:
                path = stack.enter_context(urls.staged_input(path))
            found, _ = reader.read(path, report=report, strict=strict, jobs=jobs, **read_options)
        for name, dataset in found.items():
            if name in datasets:
                raise UsageError(
                    f"two inputs give the split name {name!r} ({datasets[name].source} and "
                    f"{dataset.source}); convert them separately"
                )
            datasets[name] = dataset
    write_options = {k: v for k, v in options.items() if k in write_names}
    with urls.staged_output(output) as target:
        writer.write(datasets, target, report=report, strict=strict, jobs=jobs, **write_options)
    return report


def _streams(
    paths: list[Path], reader: Format, writer: Format, report: LossReport, split: str | None
) -> dict[str, Any]:
    """COCO ``paths`` mapped for reading a chunk at a time, by split name, counted as
    :func:`~coco_convert.converters.coco.read_coco` counts them."""
    from .converters.base import split_name
    from .streaming import CocoStream

    if reader.name != "coco" or not writer.streams:
        takes = ", ".join(f.name for f in FORMATS if f.streams)
        raise UsageError(
            f"--stream reads COCO files for the writers that take them ({takes}), "
            f"not {reader.name} to {writer.name}"
        )
    streams: dict[str, Any] = {}
    for path in paths:
        found = CocoStream(path)
        name = split or split_name(os.fspath(path))
        if name in streams:
            raise UsageError(
                f"two inputs give the split name {name!r} ({streams[name].name} and "
                f"{found.name}); convert them separately"
            )
        if found.results:
            report.count("results", found.count(""))
        else:
            report.count("images", found.count("images"))
            report.count("annotations", found.count("annotations"))
        streams[name] = found
    return streams


def _paths(options: Mapping[str, Any]) -> list[str]:
    """The files and folders that options name (inputs the output must not replace)."""
    return [
        os.fspath(value)
        for value in options.values()
        if isinstance(value, os.PathLike) or (isinstance(value, str) and Path(value).exists())
    ]


def _not_taken(name: str, reader: Format, writer: Format) -> str:
    flag = "--" + name.replace("_", "-")
    takers = [
        f"{leg} {fmt.name}"
        for fmt in FORMATS
        for leg, options in (("reading", fmt.read_options), ("writing", fmt.write_options))
        if any(option.name == name for option in options)
    ]
    return (
        f"{flag} is not an option of reading {reader.name} or writing {writer.name} "
        f"(it is one of {', '.join(takers) or 'no format'})"
    )
