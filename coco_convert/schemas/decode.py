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

import collections
import contextlib
import functools
import itertools
import os
import re
import signal
import sys
import threading
import types
import typing
from collections.abc import Callable
from typing import Any, get_args, get_origin

import msgspec
import typing_extensions
from typing_extensions import NotRequired

from ..io import parse_json
from .check import (
    DOCUMENT_TYPES,
    Extras,
    _bare,
    _compile,
    _list_fields,
    _Unsupported,
    after_checks,
    extras_of,
)
from .coco import (
    Annotation,
    InstancesDocument,
    KeypointAnnotation,
    KeypointsDocument,
    Kind,
)
from .types import LengthMultiple

__all__ = ["CHECKED_LISTS", "decode_checked", "parse_checked", "proven_lists"]

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
        lengths: bool | None = None  # (whether the length rules hold: None, not known yet)
        if outliner is not None and document is not None:
            found, lengths = outliner.result() or (_extras(data, document_type), None)
            if found != extras:
                document = None if found is None else _decode(data, document_type, found)
        if document is None or lengths is False:
            return None
        if lengths is None and not _afters_hold(document, document_type):
            return None
        return document, guess
    finally:
        if outliner is not None:
            outliner.close()


def parse_checked(data: bytes, name: str, kind: Kind | None = None) -> tuple[Any, Kind | None]:
    """The document of ``data`` (``name`` in a syntax error), and the kind whose models its
    images and annotations were checked against while parsed; None: parsed unchecked, as
    :func:`decode_checked` could not decide (check it the usual way)."""
    return decode_checked(data, kind) or (parse_json(data, name), None)


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
    """The typed decode with ``extras`` kept; or None."""
    try:
        return _decoder(document_type, extras).decode(data)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError):
        return None


def _afters_hold(document: Any, document_type: Any) -> bool:
    """Whether the models' after-validators pass on the checked lists' records."""
    lists = _item_types(document_type)
    return all(after_checks(lists[key])(document[key]) for key in CHECKED_LISTS if key in document)


def _extras(data: bytes | memoryview, document_type: Any, *, prefix: bool = False) -> Extras | None:
    """Every key of ``data`` beyond the models (found by the outline, one at a time, in file
    order); None when the outline finds something else wrong or there are too many.
    ``prefix``: ``data`` is the start of a file, and the keys are those of that start."""
    found = _outlined(data, document_type, prefix=prefix)
    return None if found is None else found[0]


def _outlined(
    data: bytes | memoryview, document_type: Any, *, prefix: bool = False
) -> tuple[Extras, Any] | None:
    """:func:`_extras`, and the outline of ``data`` they let pass (None for a prefix)."""
    extras: Extras = ()
    try:
        for _ in range(MAX_EXTRAS + 1):
            try:
                return extras, _outline(document_type, extras).decode(data)
            except msgspec.ValidationError as exc:
                key, model = _unknown_key(exc, document_type)
            if key in extras_of(model, extras):
                return None  # no progress: a key the outline cannot name
            extras = _add(extras, model, key)
    except msgspec.DecodeError as exc:
        return (extras, None) if prefix and "truncated" in str(exc) else None
    except (msgspec.MsgspecError, _Unsupported, TypeError, RecursionError, UnicodeDecodeError):
        return None
    return None


def _unknown_key(exc: msgspec.ValidationError, document_type: Any) -> tuple[str, Any]:
    """The key an outline refused, and the record model it is in; re-raises ``exc`` when it
    says something else."""
    found = _UNKNOWN.fullmatch(str(exc))
    model = None if found is None else _model_at(document_type, found["path"] or "")
    if found is None or model is None:
        raise exc
    return found["key"], model


def _lengths_hold(outline: Any, document_type: Any) -> bool | None:
    """Whether the models' length rules (even polygons, keypoint triples) hold, counted on
    the outline's unparsed values: a list of numbers has one comma fewer than items. (Only
    for records the typed decode accepts, whose lists hold numbers: else it refuses them
    anyway.) None where the models have other after-validators, or values the outline does
    not separate."""
    lists = _item_types(document_type)
    try:
        for key in CHECKED_LISTS:
            records = getattr(outline, key, msgspec.UNSET)
            if records is msgspec.UNSET:
                continue
            for steps, funcs in _compile(lists[key])[1]:
                rules = [func for func in funcs if isinstance(func, LengthMultiple)]
                if len(rules) < len(funcs):
                    return None
                values = records
                for step in steps:
                    values = _OUTLINE_STEPS[step[0]](values, *step[1:])
                if any(count % rule.n for rule in rules for count in _counts(values)):
                    return False
    except _Unsupported:
        return None
    return True


def _counts(values: list[Any]) -> set[int]:
    """The distinct numbers of items of unparsed lists of numbers (commas + 1; none in
    ``[]``), counted in C."""
    if not set(map(type, values)) <= {msgspec.Raw}:
        raise _Unsupported("a list the outline parsed")
    # (each list copied out of the file's bytes one at a time: all at once would hold them all)
    commas = set(map(bytes.count, map(bytes, values), itertools.repeat(b",")))
    counts = {count + 1 for count in commas if count}
    if 0 in commas:  # one item, or none
        texts = (text for text in map(bytes, values) if b"," not in text)
        counts.update(1 if text.strip(b" \t\r\n[]") else 0 for text in texts)
    return counts


def _json_kind(value: Any) -> type:
    """The Python type an outline's value (a struct, list, scalar or unparsed Raw) has once
    parsed (numbers, unparsed: ``float``)."""
    if isinstance(value, msgspec.Struct):
        return dict
    if type(value) is not msgspec.Raw:
        return type(value)
    first = bytes(value)[:1]
    return _FIRST.get(first, float)


_FIRST: dict[bytes, type] = {b"[": list, b"{": dict, b'"': str, b"t": bool, b"f": bool}
_FIRST[b"n"] = type(None)


def _o_key(values: list[Any], name: str) -> list[Any]:
    return [v for r in values if (v := getattr(r, name, msgspec.UNSET)) is not msgspec.UNSET]


def _o_kind(values: list[Any], kinds: tuple[type, ...]) -> list[Any]:
    return [
        v for v in values if type(v) in kinds or (type(v) not in _PLAIN and _json_kind(v) in kinds)
    ]


#: Types an outline's values have when they are what they seem (not Raw, not a struct).
_PLAIN = frozenset({list, str, int, float, bool, type(None)})


def _o_each(values: list[Any]) -> list[Any]:
    if any(type(value) is not list for value in values):
        raise _Unsupported("a list the outline did not separate")
    items: list[Any] = []
    collections.deque(map(items.extend, values), maxlen=0)
    return items


def _o_unsupported(values: list[Any], *args: Any) -> list[Any]:
    raise _Unsupported("a step on parsed values")


_OUTLINE_STEPS: dict[str, Callable[..., list[Any]]] = {
    "key": _o_key,
    "kind": _o_kind,
    "key_kind": lambda values, name, kinds: _o_kind(_o_key(values, name), kinds),
    "each": _o_each,
    "tag": _o_unsupported,
}


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
                found = _outlined(data, document_type)
                names = {model: name for name, model in models.items()}
                payload = None
                if found is not None:
                    extras, outline = found
                    payload = {
                        "extras": [[names[m], keys] for m, keys in extras],
                        "lengths": _lengths_hold(outline, document_type),
                    }
                with os.fdopen(write, "wb") as out:
                    out.write(msgspec.json.encode(payload))
            finally:
                os._exit(0)
        os.close(write)
        return cls(pid, read, models)

    def result(self) -> tuple[Extras | None, bool | None] | None:
        """The child's extras (None: it found the file wrong) and whether the length rules
        hold (None: not known); None if it did not finish."""
        with os.fdopen(self.pipe, "rb", closefd=False) as pipe:
            payload = pipe.read()
        try:
            found = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            return None  # (it died: nothing, or part of a message)
        if found is None:
            return None, None
        extras = tuple((self.models[name], tuple(keys)) for name, keys in found["extras"])
        return extras, found["lengths"]

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
    """The record types of the checked lists of a document model."""
    return {k: t for k, t in _list_fields(document_type).items() if k in CHECKED_LISTS}


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
