"""The contract every format implements: one :class:`Format` record, a reader, a writer.

COCO is the hub (pandoc's AST): a reader turns a format into COCO datasets, one per split, and
a writer turns COCO datasets into the format. Formats never talk to each other;
``coco-convert convert`` is a reader, then a writer, and so is every ``X2coco``/``coco2X``
verb. A format module (``coco_convert/converters/<name>.py``) defines::

    FORMAT = Format(name="voc", title="Pascal VOC XML", detect=detect, read=read_voc, ...)

    def read_voc(src, *, report=None, strict=False, jobs=None, **options) -> Read
    def write_voc(datasets, out, *, report=None, strict=False, jobs=None, **options) -> LossReport

and one line in :data:`coco_convert.registry.FORMATS` lists it. The command line, ``convert``,
``formats``, ``validate`` and the conformance suite (``tests/test_conformance.py``) are built
from that record.

**Readers** return the datasets by split name (the source's own names: ``train``, ``val``, a
VOC ``--split`` list, a COCO file's name without ``instances_``; ``"default"`` when it has
none) and the :class:`~coco_convert.converters.loss.LossReport` they filled (``report``, when
given: ``convert`` passes one report to both legs and the validator one that keeps every
place; a new one otherwise). Every problem of the input is ``report.warn(key, message,
where=Location(...))`` under a stable key, everything the COCO model cannot hold is
``report.lose(...)``; with ``strict`` a warning raises
:class:`~coco_convert.converters.loss.ConversionError`. Input that cannot be read at all raises
:class:`~coco_convert.errors.InputError` with its :class:`~coco_convert.errors.Location`.

**Writers** take the datasets by split (:func:`named_splits` also accepts one dataset), write
``out`` atomically (one file, or a folder that appears whole; nothing when they raise), and
return the report, with everything the format cannot carry in ``report.lose``. With ``strict``
they refuse before writing anything if the report holds warnings.

**Options** are keyword-only parameters of ``read``/``write``, each declared once as an
:class:`Option` in ``read_options``/``write_options``: the command line builds its flags from
them (``--coords`` for ``coords``), and the conformance suite checks that every declared option
is a parameter with the same default, and that one flag means one thing in every format.

**Cheap to import**: the registry imports every format module when the command line starts,
so a format module imports only the standard library, lxml, orjson, msgspec or yaml at its
top, and numpy, Pillow, pycocotools, shapely inside the functions that need them (a test
checks this in a fresh interpreter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from ..dataset import AnyDataset
from ..errors import UsageError, printable
from ..io import is_unicode
from ..schemas.coco import Kind
from .loss import LossReport

if TYPE_CHECKING:
    from ..streaming import CocoStream

__all__ = [
    "DEFAULT_SPLIT",
    "Format",
    "Option",
    "OptionType",
    "Read",
    "Reader",
    "Writer",
    "named_splits",
    "split_name",
    "streamed_splits",
]

#: What a reader returns: the datasets by split name, and the report it filled.
Read = tuple[dict[str, AnyDataset], LossReport]
#: ``read(src, *, report=None, strict=False, jobs=None, **options) -> Read``
Reader = Callable[..., Read]
#: ``write(datasets, out, *, report=None, strict=False, jobs=None, **options) -> LossReport``
Writer = Callable[..., LossReport]

#: The split name of a source that has none.
DEFAULT_SPLIT = "default"

#: How an option's value is given on the command line (and what Python type it has):
#: flag (bool), text (str), int, float, choice (str, one of ``choices``), file or dir (Path).
OptionType = Literal["flag", "text", "int", "float", "choice", "file", "dir"]


@dataclass(frozen=True)
class Option:
    """One keyword-only parameter of a reader or writer, as the command line offers it.

    ``name`` is the parameter (``skip_difficult``) and gives the flag (``--skip-difficult``).
    ``minimum`` bounds ``int``/``float`` values. ``switches`` offers a ``choice`` as one flag
    per value instead (``--copy``/``--symlink`` for ``image_mode``): ``(flag, value, help)``.
    The same name must mean the same thing in every format that declares it (conformance)."""

    name: str
    help: str
    type: OptionType = "text"
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    metavar: str | None = None
    switches: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.type == "flag" and self.default is None:
            object.__setattr__(self, "default", False)  # a flag not given is False

    @property
    def flag(self) -> str:
        """The command-line spelling: ``--skip-difficult``."""
        return "--" + self.name.replace("_", "-")

    @property
    def signature(self) -> tuple[Any, ...]:
        """What must agree between formats that declare an option of this name."""
        return (self.type, self.choices, self.minimum, tuple(s[:2] for s in self.switches))


@dataclass(frozen=True)
class Format:
    """One format in the registry: what it is, how to recognise it, its reader and writer.

    ``limits`` is one paragraph on what the format cannot carry (``formats`` and the docs
    page show it; the writer reports each such loss). ``patterns`` says what it looks like on
    disk. ``detect(path)`` must be cheap (a file name, the first KB of a file, one folder
    listing) and precise: the conformance suite runs every format's ``detect`` on every
    other format's fixtures. ``output`` is what a writer's ``out`` names.

    ``validate`` reads the format with its reader and turns each warning into a finding at
    the warning's place: ``rules`` maps warning keys to rule codes (``other``: the code of
    keys not listed), ``unreadable`` is the code of an input the reader refuses (an
    :class:`~coco_convert.errors.InputError`), ``line_fixes`` names the warnings (at
    ``file:line`` of a text file) whose fix is to delete the line, with the fix's words.
    ``validation(path)`` (optional) cuts a path into pieces read one at a time, each with the
    reader options to use (VOC: one XML file at a time, with the class list beside it), so
    that one unreadable piece does not hide the others' findings."""

    name: str
    title: str
    limits: str
    kinds: tuple[Kind, ...]
    patterns: tuple[str, ...]
    detect: Callable[[Path], bool]
    read: Reader | None = None
    write: Writer | None = None
    read_options: tuple[Option, ...] = ()
    write_options: tuple[Option, ...] = ()
    output: Literal["file", "folder", "file or folder"] = "folder"
    aliases: tuple[str, ...] = ()
    rules: Mapping[str, str] = field(default_factory=dict)
    unreadable: str = "F001"
    other: str = "F005"
    line_fixes: Mapping[str, str] = field(default_factory=dict)
    validation: Callable[[Path], list[tuple[Path, dict[str, Any]]]] | None = None
    docs: str = ""
    #: The reader opens fsspec URLs itself (its tasks do, on a cluster's workers); other
    #: readers get a URL's object fetched into a temporary file (:mod:`coco_convert.urls`).
    reads_urls: bool = False
    #: The writer also takes COCO files read a chunk at a time
    #: (:class:`~coco_convert.streaming.CocoStream`\ s in place of datasets: ``--stream``).
    streams: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# --- splits ----------------------------------------------------------------------------------

_SPLIT_PREFIXES = ("instances_", "person_keypoints_")


def split_name(source: str | None, default: str = DEFAULT_SPLIT) -> str:
    """A split name from a COCO file name, as ultralytics' converter derives it:
    ``instances_val2017.json`` -> ``val2017``; ``default`` when there is no name."""
    if not source:
        return default
    name = PurePosixPath(source.replace("\\", "/")).name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    for prefix in _SPLIT_PREFIXES:
        name = name.removeprefix(prefix)
    return name or default


def named_splits(
    datasets: AnyDataset | Mapping[str, AnyDataset], split: str | None = None
) -> dict[str, AnyDataset]:
    """What a writer writes: ``datasets`` by split name, or one dataset named ``split`` or
    after its file (:func:`split_name`). Split names become folder and file names, so one
    that is empty or holds a path separator is refused."""
    if isinstance(datasets, Mapping):
        if split is not None:
            raise UsageError("split= names a single dataset; a mapping names its own splits")
        splits = dict(datasets)
    else:
        splits = {split or split_name(datasets.source): datasets}
    if not splits:
        raise UsageError("nothing to convert: no datasets given")
    for name in splits:
        if not name or "/" in name or "\\" in name or name in (".", "..") or not is_unicode(name):
            raise UsageError(
                f"{printable(name)!r} cannot name a split (it becomes a folder or file name; "
                "pass --split NAME)"
            )
    return splits


def streamed_splits(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    kinds: tuple[Kind, ...] = ("instances", "keypoints"),
) -> tuple[dict[str, CocoStream], dict[str, AnyDataset]]:
    """:func:`named_splits` for a writer that also takes COCO files read a chunk at a time
    (``Format.streams``): the streams by split name, and every split as a dataset (a
    stream's header dataset in its place: categories, info, licenses). A stream of another
    kind than ``kinds`` is validated whole first, so its schema errors come before the
    writer refuses its kind, as loading it would."""
    from ..streaming import CocoStream

    given: dict[str, Any] = dict(named_splits(datasets))  # type: ignore[arg-type]
    streams = {name: d for name, d in given.items() if isinstance(d, CocoStream)}
    for stream in streams.values():
        if stream.kind not in kinds:
            stream.check()
    splits = {
        name: streams[name].header_dataset() if name in streams else d for name, d in given.items()
    }
    return streams, splits
