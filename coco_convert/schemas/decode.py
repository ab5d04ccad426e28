"""Parse a COCO file and check its long lists in the same pass: a typed msgspec decode.

Checking parsed records costs about as much as parsing them (every number is looked at twice).
A typed decode looks at each once: msgspec checks the records against the models (compiled as
typed dicts, numbers as ``int | float``) while it builds them, and gives the very objects an
untyped decode gives, in the file's key order.

Except for one thing: a typed dict drops the keys its model does not name, and tools add their
own (CVAT's ``attributes``, ``track_id``, ``score``, ...), which a load must keep. So a first,
cheap pass reads the file as an *outline*: every record as a struct that refuses unknown keys,
every value skipped unparsed. Each key it refuses is added to its record's typed dict (as an
unchecked ``Any``, as the models let extra keys through) until the outline passes; then the
typed decode keeps every key.

:func:`decode_checked` decides only when it is sure: anything it cannot decide (a record that
does not fit, a syntax error, a kind it does not cover, too many unknown keys) gives ``None``,
and the caller parses and validates the usual way, which names each problem.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
import threading
import types
import typing
from typing import Any, get_args, get_origin

import msgspec
import typing_extensions
from typing_extensions import NotRequired

from .check import DOCUMENT_TYPES, Extras, _compile, _Unsupported, after_checks, extras_of
from .coco import (
    Annotation,
    InstancesDocument,
    KeypointAnnotation,
    KeypointsDocument,
    Kind,
)

__all__ = ["CHECKED_LISTS", "decode_checked", "proven_lists"]

#: The lists checked while they are parsed (the rest of a document is small).
CHECKED_LISTS = ("images", "annotations")
#: Distinct unknown keys an outline adds before giving up (each costs part of a pass).
MAX_EXTRAS = 16

_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>.*?)`(?: - at `\$(?P<path>.*)`)?")
_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]")


def decode_checked(
    data: bytes, kind: Kind | None = None, *, helper: bool = True
) -> tuple[Any, Kind] | None:
    """The document ``msgspec.json.decode(data)`` gives, and the kind whose models its
    ``images`` and ``annotations`` fit (the rest of the document is not checked); else None
    (it may still be valid: check it the usual way). Without ``kind``, records are decoded as
    instances, or as keypoints when they carry keypoints (the caller detects the kind from
    the document, as from any other).

    With ``helper``, a large file's outline pass runs in a forked process beside the typed
    decode, which starts from the unknown keys of the file's head (up to its first
    annotations); in the rare file whose later records bring new ones, the decode runs again
    with them."""
    guess: Kind = kind or "instances"
    if guess == "results":
        return None
    beside = helper and _Outliner.can_start(data)
    head = memoryview(data)[: _head(data)] if beside else data
    extras = _extras(head, DOCUMENT_TYPES[guess], prefix=beside)
    if extras is None:
        return None
    if kind is None and _KEYPOINTS & set(extras_of(Annotation, extras)):
        guess, extras = "keypoints", _as_keypoints(extras)
    document_type = DOCUMENT_TYPES[guess]
    outliner = _Outliner.start(data, document_type) if beside else None
    try:
        document = _decode(data, document_type, extras)
        if outliner is not None and document is not None:
            found = outliner.result()
            if found is None:  # (the helper did not finish: do its work here)
                found = _extras(data, document_type)
            if found != extras:
                document = None if found is None else _decode(data, document_type, found)
        return None if document is None else (document, guess)
    finally:
        if outliner is not None:
            outliner.close()


def proven_lists(kind: Kind, decoded_as: Kind | None) -> tuple[str, ...]:
    """The lists a typed decode checked (as ``decoded_as``; None: none was) that need no
    check as ``kind`` (every kind has the same images)."""
    if decoded_as is None:
        return ()
    return CHECKED_LISTS if kind == decoded_as else ("images",)


#: What makes instances keypoints (the keys ``KeypointAnnotation`` adds).
_KEYPOINTS = frozenset(typing.get_type_hints(KeypointAnnotation)) - frozenset(
    typing.get_type_hints(Annotation)
)


def _as_keypoints(extras: Extras) -> Extras:
    """Keys beyond the instances models as keys beyond the keypoints models (which have every
    key of theirs, and the keypoints)."""
    models = {Annotation: KeypointAnnotation, InstancesDocument: KeypointsDocument}
    moved = (
        (models.get(model, model), tuple(k for k in keys if k not in _KEYPOINTS))
        for model, keys in extras
    )
    return tuple((model, keys) for model, keys in moved if keys)


def _head(data: bytes) -> int:
    """Where a file's head ends: a megabyte into its annotations (the first key named so;
    a guess, which the helper's whole pass makes safe), or a sixteenth of it."""
    start = data.find(b'"annotations"')
    return min(len(data), (start if start >= 0 else len(data) // 16) + 2**20)


def _decode(data: bytes, document_type: Any, extras: Extras) -> Any | None:
    """The typed decode with ``extras`` kept, its records' after-validators run; or None."""
    try:
        document = _decoder(document_type, extras).decode(data)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError):
        return None
    lists = _item_types(document_type)
    for key in CHECKED_LISTS:
        records = document.get(key)
        if records is not None and not after_checks(lists[key])(records):
            return None
    return document


def _extras(data: bytes | memoryview, document_type: Any, *, prefix: bool = False) -> Extras | None:
    """Every key of ``data`` beyond the models (found by the outline, one at a time, in file
    order); None when the outline finds something else wrong or there are too many.
    ``prefix``: ``data`` is the start of a file, and the keys are those of that start."""
    extras: Extras = ()
    try:
        for _ in range(MAX_EXTRAS + 1):
            key_model = _unknown_key(data, document_type, extras)
            if key_model is None:
                return extras
            key, model = key_model
            if key in extras_of(model, extras):
                return None  # no progress: a key the outline cannot name
            extras = _add(extras, model, key)
    except msgspec.DecodeError as exc:
        return extras if prefix and "truncated" in str(exc) else None
    except (msgspec.MsgspecError, _Unsupported, TypeError, RecursionError, UnicodeDecodeError):
        return None
    return None


def _unknown_key(
    data: bytes | memoryview, document_type: Any, extras: Extras
) -> tuple[str, Any] | None:
    """The first key of ``data`` its outline does not know, and the record model it is in;
    None if every key is known. Raises what the outline finds wrong otherwise."""
    try:
        _outline(document_type, extras).decode(data)
    except msgspec.ValidationError as exc:
        found = _UNKNOWN.fullmatch(str(exc))
        if found is None:
            raise
        model = _model_at(document_type, found["path"] or "")
        if model is None:
            raise
        return found["key"], model
    return None


class _Outliner:
    """:func:`_extras` of a whole file in a forked child, beside the parent's typed decode.

    Forked, not spawned: the child shares the bytes already read and the compiled types, and
    starts in milliseconds. Only where forking is safe and pays: Linux, one thread in the
    process (forking a threaded process can deadlock the child), two CPUs or more, a large
    file. The child sends its result through a pipe and exits without running any cleanup of
    the parent's."""

    #: Smaller files: the outline pass runs in-process (a fork costs more than it saves).
    MIN_BYTES = 32 * 2**20

    def __init__(self, pid: int, pipe: int, models: dict[str, Any]) -> None:
        self.pid, self.pipe, self.models = pid, pipe, models

    @classmethod
    def can_start(cls, data: bytes) -> bool:
        return (
            len(data) >= cls.MIN_BYTES
            and sys.platform == "linux"
            and threading.active_count() == 1
            and len(os.sched_getaffinity(0)) >= 2
        )

    @classmethod
    def start(cls, data: bytes, document_type: Any) -> _Outliner | None:
        try:
            models = _models(document_type)
        except _Unsupported:
            return None
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                os.close(read)
                found = _extras(data, document_type)
                names = {model: name for name, model in models.items()}
                payload = None if found is None else [[names[m], keys] for m, keys in found]
                with os.fdopen(write, "wb") as out:
                    out.write(msgspec.json.encode(payload))
            finally:
                os._exit(0)
        os.close(write)
        return cls(pid, read, models)

    def result(self) -> Extras | None:
        """The child's extras; None if it found the file wrong or did not finish."""
        with os.fdopen(self.pipe, "rb", closefd=False) as pipe:
            payload = pipe.read()
        try:
            found = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            return None  # (it died: nothing, or part of a message)
        if found is None:
            return None
        return tuple((self.models[name], tuple(keys)) for name, keys in found)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.pipe)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _models(document_type: Any) -> dict[str, Any]:
    """The record models in a document model, by name."""
    found: dict[str, Any] = {}

    def walk(tp: Any) -> None:
        tp = _bare(tp)
        if typing_extensions.is_typeddict(tp):
            if found.setdefault(tp.__name__, tp) is not tp:
                raise _Unsupported(f"two record models named {tp.__name__}")
            for hint in typing.get_type_hints(tp, include_extras=True).values():
                walk(hint)
        for arg in get_args(tp):
            walk(arg)

    walk(document_type)
    return found


def _add(extras: Extras, model: Any, key: str) -> Extras:
    keys = (*extras_of(model, extras), key)
    return (*((owner, found) for owner, found in extras if owner is not model), (model, keys))


@functools.cache
def _item_types(document_type: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(document_type, include_extras=True)
    return {key: get_args(_bare(hints[key]))[0] for key in CHECKED_LISTS if key in hints}


def _bare(hint: Any) -> Any:
    while get_origin(hint) in (typing.Annotated, NotRequired, typing_extensions.Required):
        hint = get_args(hint)[0]
    return hint


@functools.cache
def _outline(document_type: Any, extras: Extras) -> msgspec.json.Decoder[Any]:
    """Structs refusing unknown keys: the document's (its own members skipped, but for the
    checked lists' records) and each record's, nested records included."""
    items = _item_types(document_type)
    fields: list[tuple[str, Any, Any]] = []
    for key in typing.get_type_hints(document_type):
        if key in items:
            outline, _ = _compile(items[key], "outline", extras)
            fields.append((key, list[outline], msgspec.UNSET))  # type: ignore[valid-type]
        else:
            fields.append((key, msgspec.Raw, msgspec.UNSET))
    fields += [(key, msgspec.Raw, msgspec.UNSET) for key in extras_of(document_type, extras)]
    struct = msgspec.defstruct("Outline", fields, forbid_unknown_fields=True, gc=False)
    return msgspec.json.Decoder(struct)


@functools.cache
def _decoder(document_type: Any, extras: Extras) -> msgspec.json.Decoder[Any]:
    """Typed dicts: the checked lists' records typed, every other member as it is."""
    items = _item_types(document_type)
    spec: dict[str, Any] = {}
    for key in typing.get_type_hints(document_type):
        if key in items:
            record, _ = _compile(items[key], "dict", extras)
            spec[key] = NotRequired[list[record]]  # type: ignore[valid-type]
        else:
            spec[key] = NotRequired[Any]
    spec.update((key, NotRequired[Any]) for key in extras_of(document_type, extras))
    return msgspec.json.Decoder(typing_extensions.TypedDict("Document", spec))  # type: ignore[operator]


def _model_at(document_type: Any, path: str) -> Any | None:
    """The record model that msgspec's ``path`` (``.key[index]...``) points into."""
    current = document_type
    for key, _index in _STEP.findall(path):
        current = _member(current, dict if key else list)
        if key and current is not None:
            hints = typing.get_type_hints(current, include_extras=True)
            current = hints.get(key)
        elif current is not None:
            current = get_args(current)[0]
        if current is None:
            return None
    return _member(current, dict)


def _member(tp: Any, kind: type) -> Any | None:
    """``tp``, or its member in a union (nested ones too), that parses from a JSON object
    (``dict``: a record model) or array (``list``)."""
    tp = _bare(tp)
    if get_origin(tp) in (typing.Union, types.UnionType):
        found = (_member(one, kind) for one in get_args(tp))
        return next((one for one in found if one is not None), None)
    if kind is dict and typing_extensions.is_typeddict(tp):
        return tp
    if kind is list and get_origin(tp) is list:
        return tp
    return None
