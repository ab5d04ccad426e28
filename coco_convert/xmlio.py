"""XML in and out, hardened: the one place where coco-convert's XML parser settings live.

Every XML input (Pascal VOC files, CVAT exports, labeling configs) is parsed by lxml with
entity substitution, DTD loading, network access and huge trees off, and a document that
declares entities (an external entity, an expansion bomb: how XXE attacks work) is refused
before any value is read: annotation XML never needs them. Whole small files go through
:data:`PARSER` (:func:`parse_bytes`); large ones stream through :func:`iterparse`, which holds
one element at a time. Errors are :class:`~coco_convert.errors.InputError`\\ s naming the
file and line.

Writers put text from the data (names, attributes) into XML through :func:`xml_text`, which
replaces the characters XML 1.0 cannot hold at all (lxml refuses them) and says whether it
did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from .errors import InputError

__all__ = [
    "NOT_XML",
    "PARSER",
    "iterparse",
    "parse_bytes",
    "refuse_entities",
    "syntax_error",
    "xml_text",
]

#: One parser for every whole file: no entity substitution, no DTD or network loads, no huge
#: trees (lxml's limits on text sizes and depth stay on), no comments or processing
#: instructions in the tree.
_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
PARSER = etree.XMLParser(**_OPTIONS)

#: ``<!ENTITY name "value">`` or ``<!ENTITY % name SYSTEM "url">``: (name, url or b"").
_ENTITY_DECLARATION = re.compile(
    rb"<!ENTITY\s+(?:%\s*)?([^\s>]+)\s*(?:(?:SYSTEM|PUBLIC)\s+[\"']([^\"']*)[\"'])?"
)
#: Characters XML 1.0 cannot hold at all (C0 controls but tab, CR and LF; lone surrogates,
#: which is how Python holds file names that are not UTF-8; U+FFFE, U+FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Bytes read at a time before the root element to look for entity declarations (the DTD,
#: the only place they can be, comes before the root), and the most read: a prolog larger
#: than that is no annotation file.
_PROLOG_CHUNK = 65536
_PROLOG_LIMIT = 16 * 2**20


def refuse_entities(data: bytes, path: str) -> None:
    """Raise an :class:`InputError` if ``data`` (a whole document, or its prolog) declares
    any entity."""
    if b"<!ENTITY" not in data:
        return
    declared = _ENTITY_DECLARATION.findall(data)
    if not declared:
        return
    name, external = (part.decode("utf-8", "replace") for part in declared[0])
    if external:
        what = f"an external entity '{name}' ({external})"
    else:
        count = len(declared)
        what = f"{count} {'entity' if count == 1 else 'entities'} ('{name}', ...)"
    raise InputError(
        path,
        f"refused: the XML declares {what}",
        hint="annotation XML never needs entities; they are how XXE and expansion-bomb "
        "attacks work, so coco-convert never expands them. Remove the <!DOCTYPE> block",
    )


def syntax_error(exc: etree.XMLSyntaxError, path: str) -> InputError:
    """The :class:`InputError` of malformed XML: ``file:line: malformed XML: what``."""
    line = exc.lineno if exc.lineno else None
    message = exc.msg or str(exc)
    message = re.sub(r",? line \d+, column \d+$", "", message)
    return InputError(path, f"malformed XML: {message}", line=line)


def parse_bytes(data: bytes, path: str) -> Any:
    """The root element of a whole XML document (entities refused, errors located)."""
    refuse_entities(data, path)
    try:
        return etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, path) from None


def iterparse(
    handle: IO[bytes],
    path: str,
    *,
    events: tuple[str, ...] = ("end",),
    tag: str | tuple[str, ...] | None = None,
    root: str | None = None,
) -> Iterator[tuple[str, Any]]:
    """Stream ``(event, element)`` pairs of the XML document read from ``handle`` (a file
    opened in binary mode at its start), with :data:`PARSER`'s settings. The prolog (up to
    the root element) is checked for entity declarations first, and with ``root`` the root
    element must have that name (``what`` names the format in the error); malformed XML
    anywhere is an :class:`InputError` at its line. The caller clears elements it is done
    with, so memory stays bounded by the largest element, not the file."""
    found, line = _check_prolog(handle, path)
    if root is not None and found is not None and found != root:
        raise InputError(path, f"the root element is <{found}>, expected <{root}>", line=line)
    context = etree.iterparse(handle, events=events, tag=tag, **_OPTIONS)
    try:
        yield from context
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, path) from None


def _check_prolog(handle: IO[bytes], path: str) -> tuple[str | None, int | None]:
    """Refuse entity declarations in what comes before the root element, then rewind;
    returns the root element's name and line (None when the prolog does not show it)."""
    start = handle.tell()
    prolog = b""
    while True:
        chunk = handle.read(_PROLOG_CHUNK)
        prolog += chunk
        at = _root_start(prolog)
        if not chunk or at is not None:
            break
        if len(prolog) > _PROLOG_LIMIT:
            refuse_entities(prolog, path)
            raise InputError(path, "no root element in the first 16 MiB: not annotation XML")
    refuse_entities(prolog, path)
    handle.seek(start)
    if at is None:
        return None, None
    name = _NAME.match(prolog, at + 1)
    text = name.group().decode("utf-8", "replace") if name else None
    return text, prolog.count(b"\n", 0, at) + 1


_NAME = re.compile(rb"[^\s>/]+")


def _root_start(prolog: bytes) -> int | None:
    """Where the root element's start tag begins in ``prolog``: the first ``<`` followed by
    a name character outside the DTD's brackets (declarations are ``<!``, ``<?``)."""
    depth = 0
    for match in re.finditer(rb"[\[\]]|<[A-Za-z_]", prolog):
        token = match.group()
        if token == b"[":
            depth += 1
        elif token == b"]":
            depth = max(0, depth - 1)
        elif depth == 0:
            return match.start()
    return None


def xml_text(text: str) -> tuple[str, bool]:
    """``text`` as XML can hold it (each character it cannot hold written as U+FFFD), and
    whether anything was replaced."""
    clean = NOT_XML.sub("\ufffd", text)
    return clean, clean != text
