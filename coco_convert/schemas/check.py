"""Validate a parsed COCO document against the models, fast, with readable messages.

The document is validated, not converted: pydantic-core checks the parsed objects in strict
mode and its output is dropped, so the caller keeps the very objects the JSON parser made (key
order, extra keys, ``400`` staying an int). The long lists (images, annotations) are checked in
chunks, which bounds the memory of the validator's throw-away output and lets a progress bar
follow along. Errors come back as :class:`~coco_convert.errors.Issue`\\ s with JSON pointers.
"""

from __future__ import annotations

import collections
import functools
import types
import typing
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, Literal, cast, get_args, get_origin

import annotated_types
import msgspec
import typing_extensions
from pydantic import AfterValidator, Discriminator, Tag, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from typing_extensions import NotRequired

from ..errors import Issue, SchemaError
from ..progress import track
from .coco import (
    CaptionsDocument,
    InstancesDocument,
    KeypointsDocument,
    Kind,
    PanopticDocument,
    ResultsDocument,
    StuffDocument,
)
from .types import INT_MAX, LengthMultiple

__all__ = [
    "CHUNK",
    "DOCUMENT_TYPES",
    "adapter",
    "check_document",
    "check_records",
    "check_skeleton",
    "ensure_valid",
    "fast_check",
    "list_order",
    "long_lists",
    "out_of_range",
    "pointer",
]

#: The model of each kind's whole document.
DOCUMENT_TYPES: dict[Kind, Any] = {
    "instances": InstancesDocument,
    "keypoints": KeypointsDocument,
    "captions": CaptionsDocument,
    "panoptic": PanopticDocument,
    "stuff": StuffDocument,
    "results": ResultsDocument,
}

#: Records per validation call for the long lists.
CHUNK = 10_000


@functools.cache
def adapter(tp: Any) -> TypeAdapter[Any]:
    """The (cached) validator of a model type (the models carry their strict config)."""
    return TypeAdapter(tp)


@functools.cache
def _list_fields(document_type: Any) -> dict[str, Any]:
    """Top-level keys of a document model that hold lists, with their item type."""
    hints = typing.get_type_hints(document_type, include_extras=True)
    fields: dict[str, Any] = {}
    for key, hint in hints.items():
        hint = _bare(hint)
        if get_origin(hint) is list:
            fields[key] = get_args(hint)[0]
    return fields


def check_document(
    document: Any,
    kind: Kind,
    *,
    limit: int = SchemaError.MAX_KEPT,
    proven: Collection[str] = (),
) -> tuple[list[Issue], int]:
    """Every schema problem of ``document`` as ``kind``: up to ``limit`` issues, and the total.
    ``proven``: top-level lists already known to fit (checked while they were parsed)."""
    issues: list[Issue] = []
    total = 0
    for found in _iter_issues(document, kind, proven):
        total += 1
        if len(issues) < limit:
            issues.append(found)
    return issues, total


def ensure_valid(document: Any, kind: Kind, *, source: str, proven: Collection[str] = ()) -> None:
    """Raise :class:`SchemaError` naming ``source`` if ``document`` does not fit ``kind``."""
    issues, total = check_document(document, kind, proven=proven)
    if total:
        raise SchemaError(source, issues, total=total)


def _iter_issues(document: Any, kind: Kind, proven: Collection[str]) -> Iterator[Issue]:
    if kind == "results" and isinstance(document, list):
        yield from check_records(document, kind, "", 0)
        return
    yield from check_skeleton(document, kind)
    for key in long_lists(document, kind):
        if key not in proven:
            yield from check_records(document[key], kind, key, 0)


def long_lists(document: Any, kind: Kind) -> list[str]:
    """The top-level lists of ``document`` checked a chunk at a time, after the rest (in
    the model's order): those longer than a tenth of a chunk."""
    if not isinstance(document, dict):
        return []
    return [
        key
        for key in _list_fields(DOCUMENT_TYPES[kind])
        if isinstance(document.get(key), list) and len(document[key]) > CHUNK // 10
    ]


def list_order(kind: Kind) -> list[str]:
    """The top-level lists of a kind's document, in the order issues are listed."""
    return list(_list_fields(DOCUMENT_TYPES[kind]))


def check_skeleton(document: Any, kind: Kind) -> Iterator[Issue]:
    """The issues of ``document`` with its :func:`long_lists` left empty (a results array:
    only whether it is an array)."""
    document_type = DOCUMENT_TYPES[kind]
    if kind == "results" or not isinstance(document, dict):
        if not isinstance(document, list) or kind != "results":
            yield from _validate(adapter(document_type), document, document, "")
        return
    long = set(long_lists(document, kind))
    skeleton = {key: ([] if key in long else value) for key, value in document.items()}
    yield from _validate(adapter(document_type), skeleton, document, "")


def check_records(records: list[Any], kind: Kind, key: str, offset: int) -> Iterator[Issue]:
    """The issues of ``records``, the items ``offset:`` of the top-level list ``key`` (``""``:
    a results array), with pointers into the whole document."""
    document_type = DOCUMENT_TYPES[kind]
    item_type = get_args(document_type)[0] if key == "" else _list_fields(document_type)[key]
    prefix = f"/{_escape(key)}" if key else ""
    for found in _validate_long_list(records, item_type, prefix, key or "results"):
        yield _shift(found, prefix, offset)


def _validate_long_list(
    items: list[Any], item_type: Any, prefix: str, what: str
) -> Iterator[Issue]:
    validator = adapter(list[item_type])
    fast = fast_check(item_type)
    starts = range(0, len(items), CHUNK)
    for start in track(starts, total=len(starts), desc=f"checking {what}", unit="chunk"):
        chunk = items[start : start + CHUNK]
        if fast is not None and fast(chunk):
            continue  # valid: nothing for pydantic to say
        for found in _validate(validator, chunk, chunk, prefix):
            yield _shift(found, prefix, start)


def _shift(found: Issue, prefix: str, offset: int) -> Issue:
    """Chunk-relative ``/prefix/i/...`` to document-relative ``/prefix/(offset + i)/...``."""
    if not offset:
        return found
    rest = found.pointer[len(prefix) + 1 :]
    index, _, tail = rest.partition("/")
    shifted = f"{prefix}/{int(index) + offset}"
    return Issue(f"{shifted}/{tail}" if tail else shifted, found.message)


def _validate(validator: TypeAdapter[Any], value: Any, root: Any, prefix: str) -> Iterator[Issue]:
    try:
        validator.validate_python(value)
    except ValidationError as exc:
        yield from _issues(exc.errors(include_url=False), root, prefix)


# --- turning pydantic errors into pointers and plain messages -------------------------------


def pointer(parts: Sequence[str | int]) -> str:
    """An RFC 6901 JSON pointer from keys and indices (``""`` is the whole document)."""
    return "".join(f"/{_escape(str(part))}" for part in parts)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _resolve(
    root: Any, loc: tuple[str | int, ...], *, missing: bool
) -> tuple[list[str | int], bool]:
    """Follow pydantic's ``loc`` through the actual document. Union tags (``"rle"``,
    ``"str"``) are not keys of the document and drop out; for a ``missing`` error the last
    step names the absent key. Returns the real path and whether a tag was dropped (the
    error is one branch of a union)."""
    path: list[str | int] = []
    current = root
    dropped = False
    last = len(loc) - 1
    for i, step in enumerate(loc):
        in_dict = isinstance(current, dict) and isinstance(step, str) and step in current
        in_list = isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)
        if in_dict or in_list:
            current = current[step]
            path.append(step)
        elif missing and i == last and isinstance(current, dict):
            path.append(step)  # a missing key: the last step names it
        else:
            dropped = True
    return path, dropped


def _issues(errors: list[ErrorDetails], root: Any, prefix: str) -> Iterator[Issue]:
    # Union branches fail together at one place: merge them into one "expected A or B".
    merged: dict[str, tuple[list[str], str]] = {}
    order: list[str] = []
    for error in errors:
        path, from_union = _resolve(root, error["loc"], missing=error["type"] == "missing")
        if error["type"] == "missing":
            where = prefix + pointer(path[:-1])
            message = f"missing required key {path[-1]!r}" if path else "missing value"
            yield Issue(where, message)
            continue
        where = prefix + pointer(path)
        expected, message = _describe(error, path)
        if from_union and expected:
            if where not in merged:
                merged[where] = ([], _got(error["input"]))
                order.append(where)
            if expected not in merged[where][0]:
                merged[where][0].append(expected)
            continue
        yield Issue(where, message)
    for where in order:
        expected_all, got = merged[where]
        if "a number" in expected_all and "an integer" in expected_all:
            expected_all.remove("an integer")
        yield Issue(where, f"expected {_join_or(expected_all)}, got {got}")


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "typed_dict_type": "an object",
    "model_type": "an object",
    "none_required": "null",
    "finite_number": "a finite number",
}


def _describe(error: ErrorDetails, path: list[str | int]) -> tuple[str | None, str]:
    """(what was expected, the whole message) for one error."""
    kind = error["type"]
    value = error["input"]
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        return expected, f"expected {expected}, got {_got(value)}"
    if kind in ("too_short", "too_long"):
        return None, _length_message(path, ctx, value)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()))
        if isinstance(bound, int | float) and abs(bound) >= INT_MAX:
            return None, out_of_range(value)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return None, f"expected a value {op} {bound}, got {_got(value)}"
    if kind == "value_error":
        return None, str(ctx.get("error", error["msg"]))
    if kind in ("segmentation_type", "rle_counts_type"):
        return None, f"{error['msg']}, got {_got(value)}"
    return None, f"{error['msg'][0].lower()}{error['msg'][1:]}"


def out_of_range(value: Any) -> str:
    """The message for a number beyond the range every reader and writer holds."""
    if isinstance(value, int):
        return f"out of range: an integer of {len(str(abs(value)))} digits (beyond 64 bits)"
    return f"out of range: {value:g} (numbers must lie within +-2**63)"


#: Lists of a fixed length, by key: (length, what they hold).
_FIXED_LENGTH = {
    "bbox": (4, "numbers"),
    "size": (2, "integers [height, width]"),
    "color": (3, "integers [R, G, B]"),
}


def _length_message(path: list[str | int], ctx: dict[str, Any], value: Any) -> str:
    actual = len(value) if isinstance(value, list | dict | str) else ctx.get("actual_length")
    parent = path[-2] if len(path) > 1 else None
    field = path[-1] if path else None
    if parent == "segmentation" and isinstance(field, int):
        low = ctx.get("min_length")
        return f"a polygon needs at least 3 points ({low} coordinates), got {actual} coordinates"
    if parent == "skeleton":
        return f"expected 2 keypoint indices, got {actual}"
    if isinstance(field, str) and field in _FIXED_LENGTH:
        length, noun = _FIXED_LENGTH[field]
        return f"expected {length} {noun}, got {actual}"
    if "max_length" in ctx:
        return f"expected at most {ctx['max_length']} items, got {actual}"
    return f"expected at least {ctx.get('min_length')} items, got {actual}"


def _join_or(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]


def _got(value: Any) -> str:
    """A short description of a JSON value for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 24 else text[:21] + "..."
    if isinstance(value, str):
        text = value if len(value) <= 30 else value[:27] + "..."
        return f'the string "{text}"'
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- the models compiled for msgspec: the fast path for valid records ------------------------


class _Unsupported(Exception):
    """A construct of the models that msgspec cannot check (the records go to pydantic)."""


#: One step from values to the values inside them: ("key", name), ("each",), ("kind",
#: JSON types), ("tag", the discriminator function, tag).
Step = tuple[Any, ...]
#: The models' after-validators (``funcs``) and the steps to the values they apply to.
Path = tuple[tuple[Step, ...], tuple[Callable[[Any], Any], ...]]


@functools.cache
def fast_check(item_type: Any) -> Callable[[list[Any]], bool] | None:
    """A checker of a list of records of ``item_type`` that says whether every record fits,
    compiled from the same models for msgspec: ``msgspec.convert`` in strict mode, then the
    models' own after-validators on every value they apply to, a list of values at a time.
    It decides validity only: a list it refuses goes to pydantic, which names each problem.
    None where the models use what msgspec cannot express (results: a union of two record
    types)."""
    try:
        target, _ = _compile(item_type)
    except _Unsupported:
        return None
    list_type = list[target]  # type: ignore[valid-type]
    afters = after_checks(item_type)

    def check(records: list[Any]) -> bool:
        try:
            msgspec.convert(records, list_type)
        except msgspec.ValidationError:
            return False
        return afters(records)

    return check


@functools.cache
def after_checks(item_type: Any) -> Callable[[list[Any]], bool]:
    """Whether the models' after-validators (an even number of polygon coordinates, keypoints
    in triples, ...) all pass on a list of records of ``item_type`` that msgspec found of the
    right types: each validator runs on every value it applies to, a list of values at a
    time."""
    _, paths = _compile(item_type)

    def check(records: list[Any]) -> bool:
        try:
            for steps, funcs in paths:
                values: list[Any] = records
                for step in steps:
                    values = _STEPS[step[0]](values, *step[1:])
                for func in funcs:
                    if isinstance(func, LengthMultiple):  # each distinct length once
                        if any(length % func.n for length in set(map(len, values))):
                            return False
                    else:
                        collections.deque(map(func, values), maxlen=0)  # (a loop in C)
        except ValueError:
            return False
        return True

    return check


def _key(values: list[Any], name: str) -> list[Any]:
    return [value[name] for value in values if name in value]


def _each(values: list[Any]) -> list[Any]:
    items: list[Any] = []
    collections.deque(map(items.extend, values), maxlen=0)  # (faster than chain on short lists)
    return items


def _kind(values: list[Any], kinds: tuple[type, ...]) -> list[Any]:
    return [value for value in values if type(value) in kinds]


def _key_kind(values: list[Any], name: str, kinds: tuple[type, ...]) -> list[Any]:
    return [found for value in values if name in value and type(found := value[name]) in kinds]


def _tag(values: list[Any], pick: Callable[[Any], Any], tag: Any) -> list[Any]:
    return [value for value in values if pick(value) == tag]


_STEPS: dict[str, Callable[..., list[Any]]] = {
    "key": _key,
    "each": _each,
    "kind": _kind,
    "key_kind": _key_kind,
    "tag": _tag,
}


def _under(step: Step, paths: list[Path]) -> list[Path]:
    """``paths`` one step deeper; a key or type step before a type step is one step (each is
    a pass over the values)."""
    under: list[Path] = []
    for steps, funcs in paths:
        first = steps[0] if steps else None
        if first is None or first[0] != "kind" or step[0] not in ("kind", "key"):
            under.append(((step, *steps), funcs))
        elif step[0] == "kind":
            kinds = tuple(kind for kind in first[1] if kind in step[1])
            under.append(((("kind", kinds), *steps[1:]), funcs))
        else:
            under.append(((("key_kind", step[1], first[1]), *steps[1:]), funcs))
    return under


#: How a model type is compiled for msgspec: "struct" (records as ``gc=False`` structs, for
#: ``msgspec.convert`` of parsed records), "dict" (records as typed dicts, numbers as ``int |
#: float``: a typed decode gives the very objects an untyped one does) or "outline" (records
#: as structs that refuse unknown keys, every other value skipped as ``msgspec.Raw``: finds the
#: keys a file has beyond the models).
Flavour = Literal["struct", "dict", "outline"]
#: Keys beyond a record model's own: ((model, (key, ...)), ...), compiled as ``Any`` ("dict")
#: or ``Raw`` ("outline") so that a typed decode keeps them.
Extras = tuple[tuple[Any, tuple[str, ...]], ...]


def _compile(tp: Any, flavour: Flavour = "struct", extras: Extras = ()) -> tuple[Any, list[Path]]:
    """The msgspec type of a model type, and its after-validators with where they apply
    ("outline": the type, or None for a value with no record inside, and no validators)."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        inner, *metadata = get_args(tp)
        target, paths = _compile(inner, flavour, extras)
        if flavour == "outline":
            return target, []
        bounds: dict[str, Any] = {}
        afters: list[Callable[[Any], Any]] = []
        for item in metadata:
            if isinstance(item, annotated_types.BaseMetadata | annotated_types.GroupedMetadata):
                for one in item if isinstance(item, annotated_types.GroupedMetadata) else [item]:
                    bounds.update(_bound(one, inner))
            elif isinstance(item, AfterValidator):
                afters.append(cast("Callable[[Any], Any]", item.func))
            elif isinstance(item, FieldInfo):
                for one in item.metadata:
                    bounds.update(_bound(one, inner))
            elif isinstance(item, Discriminator):
                paths = _discriminated(inner, item)
            elif not isinstance(item, Tag):
                raise _Unsupported(repr(item))
        if bounds.pop("finite", False) and not {"ge", "le"} <= set(bounds):
            raise _Unsupported("finite numbers without bounds")  # (the bounds refuse NaN, inf)
        if bounds and flavour == "dict" and inner is float:
            target = _number(bounds)
        elif bounds:
            target = typing.Annotated[target, msgspec.Meta(**bounds)]
        if afters:
            paths = [*paths, ((), tuple(afters))]
        return target, paths
    if origin in (typing.Union, types.UnionType):
        if sum(1 for arg in get_args(tp) if typing_extensions.is_typeddict(_bare(arg))) > 1:
            raise _Unsupported("a union of record types")
        compiled = [(arg, _compile(arg, flavour, extras)) for arg in get_args(tp)]
        if flavour == "outline":
            if all(target is None for _, (target, _) in compiled):
                return None, []
            return typing.Union[tuple(_skim(arg, target) for arg, (target, _) in compiled)], []  # noqa: UP007
        paths = [p for arg, (_, inner) in compiled for p in _under(("kind", _kinds(arg)), inner)]
        return typing.Union[tuple(target for _, (target, _) in compiled)], paths  # noqa: UP007
    if origin is list:
        (item,) = get_args(tp)
        target, paths = _compile(item, flavour, extras)
        if flavour == "outline":
            return (None if target is None else list[target]), []  # type: ignore[valid-type]
        return list[target], _under(("each",), paths)  # type: ignore[valid-type]
    if typing_extensions.is_typeddict(tp):
        return _record(tp, flavour, extras)
    if tp in (int, float, str, bool, type(None)):
        if flavour == "outline":
            return None, []
        return (int | float if flavour == "dict" and tp is float else tp), []
    raise _Unsupported(repr(tp))


def _number(bounds: dict[str, Any]) -> Any:
    """A bounded JSON number for a typed decode: an int stays an int, a float a float."""
    if any(not float(bound).is_integer() for bound in bounds.values()):
        raise _Unsupported("a fractional bound")
    # (msgspec bounds ints to 64 bits: an integer of 2**63 goes to pydantic, which decides)
    whole: dict[str, Any] = {
        key: min(max(int(b), -INT_MAX - 1), INT_MAX) for key, b in bounds.items()
    }
    real: dict[str, Any] = {key: float(bound) for key, bound in bounds.items()}
    return typing.Union[  # noqa: UP007
        typing.Annotated[int, msgspec.Meta(**whole)],
        typing.Annotated[float, msgspec.Meta(**real)],
    ]


def _skim(tp: Any, outline: Any) -> Any:
    """A member of a union in an outline: its outline, or the cheapest type of its JSON kind."""
    if outline is not None:
        return outline
    kinds = _kinds(tp)
    return list[msgspec.Raw] if list in kinds else kinds[0]


def extras_of(model: Any, extras: Extras) -> tuple[str, ...]:
    """The keys beyond ``model``'s own that ``extras`` lists for it."""
    return next((keys for owner, keys in extras if owner is model), ())


@functools.cache
def _record(tp: Any, flavour: Flavour, extras: Extras) -> tuple[Any, list[Path]]:
    hints = typing.get_type_hints(tp, include_extras=True)
    fields: list[tuple[str, Any, Any]] = []
    paths: list[Path] = []
    for name, hint in hints.items():
        required = name in tp.__required_keys__
        while get_origin(hint) in (NotRequired, typing_extensions.Required):
            required = get_origin(hint) is typing_extensions.Required
            hint = get_args(hint)[0]
        target, inner = _compile(hint, flavour, extras)
        fields.append((name, target, required))
        paths += _under(("key", name), inner)
    more = [key for key in extras_of(tp, extras) if key not in hints]
    if flavour == "dict":
        spec = {name: (t if required else NotRequired[t]) for name, t, required in fields}
        spec.update((key, NotRequired[Any]) for key in more)
        return typing_extensions.TypedDict(tp.__name__, spec), paths  # type: ignore[operator]
    if flavour == "outline":
        skims = [(name, msgspec.Raw if t is None else t, msgspec.UNSET) for name, t, _ in fields]
        skims += [(key, msgspec.Raw, msgspec.UNSET) for key in more]
        outline = msgspec.defstruct(tp.__name__, skims, forbid_unknown_fields=True, gc=False)
        return outline, []
    # (msgspec wants the fields with defaults last; their order is not the records' order)
    spec_struct = [(n, t) if required else (n, t, msgspec.UNSET) for n, t, required in fields]
    return msgspec.defstruct(tp.__name__, sorted(spec_struct, key=len), gc=False), paths


def _bound(item: Any, inner: Any) -> dict[str, Any]:
    def number(value: Any) -> Any:
        return float(value) if inner is float else value

    if isinstance(item, annotated_types.Ge):
        return {"ge": number(item.ge)}
    if isinstance(item, annotated_types.Le):
        return {"le": number(item.le)}
    if isinstance(item, annotated_types.MinLen):
        return {"min_length": item.min_length}
    if isinstance(item, annotated_types.MaxLen):
        return {"max_length": item.max_length}
    if isinstance(item, annotated_types.Len):
        found = {"min_length": item.min_length}
        if item.max_length is not None:
            found["max_length"] = item.max_length
        return found
    if getattr(item, "allow_inf_nan", None) is False:
        return {"finite": True}
    raise _Unsupported(repr(item))


def _bare(tp: Any) -> Any:
    """``tp`` without its ``Annotated``, ``NotRequired`` and ``Required`` wrappers."""
    while get_origin(tp) in (typing.Annotated, NotRequired, typing_extensions.Required):
        tp = get_args(tp)[0]
    return tp


def _kinds(tp: Any) -> tuple[type, ...]:
    """The Python types the JSON values of model type ``tp`` parse to."""
    tp = _bare(tp)
    if get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(kind for arg in get_args(tp) for kind in _kinds(arg))
    if get_origin(tp) is list:
        return (list,)
    if typing_extensions.is_typeddict(tp):
        return (dict,)
    if tp is float:
        return (float, int)
    return (tp,)


def _discriminated(union: Any, discriminator: Discriminator) -> list[Path]:
    """The after-validators of a tagged union's members, each under the tag that picks it
    (the models' own discriminator function picks it)."""
    pick = discriminator.discriminator
    if not callable(pick):
        raise _Unsupported("a discriminator by field name")
    members = get_args(union)
    kinds = [_kinds(member) for member in members]
    # Members that parse from different JSON types (polygons from an array, RLE from an
    # object): msgspec took each value by its type, which is cheaper to test than the tag.
    by_kind = len({kind for each in kinds for kind in each}) == sum(map(len, kinds))
    paths: list[Path] = []
    for member, member_kinds in zip(members, kinds, strict=True):
        tags = [m.tag for m in get_args(member)[1:] if isinstance(m, Tag)]
        _, inner = _compile(member)
        if inner and not tags:
            raise _Unsupported("an untagged member of a tagged union")
        if inner:
            step = ("kind", member_kinds) if by_kind else ("tag", pick, tags[0])
            paths += _under(step, inner)
    return paths
