"""The ``<meta>`` of a CVAT XML export: labels with their attribute specs and skeletons, the
task or project, its subsets and frames (shared by :mod:`.cvat_read` and :mod:`.cvat_write`).

CVAT writes one of three heads: ``<task>`` (a task export), ``<job>`` (a job export) or
``<project>`` with ``<tasks>`` (a project export; its images and tracks name their task and
subset). Labels sit in the task, job or project; a skeleton label carries an ``<svg>``
drawing whose ``circle`` nodes name its points (``data-label-name``, ``data-node-id``) and
whose ``line`` edges join node ids (``data-node-from``/``data-node-to``), and each of its
points is a label of its own with ``<parent>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..xmlio import parse_bytes

__all__ = ["AttributeSpec", "Label", "Meta", "TaskInfo", "parse_meta", "parse_svg", "render_svg"]

#: CVAT's attribute input types.
INPUT_TYPES = ("select", "radio", "checkbox", "number", "text")


@dataclass
class AttributeSpec:
    """One attribute a label declares (``values``: the allowed ones, in order)."""

    name: str
    input_type: str = "text"
    mutable: bool = False
    default_value: str = ""
    values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_type": self.input_type,
            "mutable": self.mutable,
            "default_value": self.default_value,
            "values": list(self.values),
        }

    @classmethod
    def from_dict(cls, record: Any) -> AttributeSpec | None:
        """The spec a category's ``cvat.attributes`` entry holds (None if it is not one)."""
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            return None
        values = record.get("values")
        input_type = record.get("input_type")
        return cls(
            record["name"],
            input_type if input_type in INPUT_TYPES else "text",
            bool(record.get("mutable", False)),
            str(record.get("default_value", "")),
            [str(v) for v in values] if isinstance(values, list) else [],
        )


@dataclass
class Label:
    """One label of the meta: a COCO category, or (with ``parent``) a skeleton's point."""

    name: str
    type: str = "any"
    color: str = ""
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)
    parent: str | None = None
    svg: str | None = None
    line: int | None = None


@dataclass
class TaskInfo:
    """What the meta says about one task: its subset, mode, frames and frame size."""

    id: str | None
    subset: str | None = None
    mode: str | None = None
    size: int | None = None
    start_frame: int = 0
    stop_frame: int | None = None
    step: int = 1
    width: int | None = None
    height: int | None = None

    def frames(self) -> range:
        """The frame numbers of the task (``stop_frame`` or ``size`` says how many)."""
        if self.stop_frame is not None:
            return range(self.start_frame, self.stop_frame + 1, self.step)
        if self.size is not None:
            return range(self.start_frame, self.start_frame + self.size * self.step, self.step)
        return range(0)


@dataclass
class Meta:
    """The parsed ``<meta>``: labels by name (top-level ones; a skeleton's points in
    ``points``), the kind of export, its tasks by id (``None``: the one task of a task or job
    export) and the subsets a project lists."""

    kind: str = "task"
    labels: dict[str, Label] = field(default_factory=dict)
    points: dict[str, list[Label]] = field(default_factory=dict)
    tasks: dict[str | None, TaskInfo] = field(default_factory=dict)
    subsets: list[str] = field(default_factory=list)

    def task(self, task_id: str | None) -> TaskInfo:
        """The task of an element (its ``task_id``), or the export's own task."""
        found = self.tasks.get(task_id)
        if found is None:
            found = self.tasks.get(None) or TaskInfo(task_id)
        return found


def _text(element: Any, tag: str) -> str | None:
    child = element.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


def _int(element: Any, tag: str, path: str) -> int | None:
    text = _text(element, tag)
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        child = element.find(tag)
        raise InputError(
            path, f"<{tag}> is {text[:30]!r}, expected a whole number", line=child.sourceline
        ) from None
    if not 0 <= value < 2**31:
        child = element.find(tag)
        raise InputError(path, f"<{tag}> is {value}, out of range", line=child.sourceline)
    return value


_STEP = re.compile(r"step\s*=\s*(\d+)")


def _task(element: Any, path: str, task_id: str | None) -> TaskInfo:
    info = TaskInfo(task_id)
    info.subset = _text(element, "subset") or None
    info.mode = _text(element, "mode") or None
    info.size = _int(element, "size", path)
    info.start_frame = _int(element, "start_frame", path) or 0
    info.stop_frame = _int(element, "stop_frame", path)
    step = _STEP.search(_text(element, "frame_filter") or "")
    info.step = max(1, int(step.group(1))) if step else 1
    size = element.find("original_size")
    if size is not None:
        info.width = _int(size, "width", path)
        info.height = _int(size, "height", path)
    return info


def parse_meta(meta: Any, path: str) -> Meta:
    """The ``<meta>`` element of a CVAT export, parsed (malformed numbers are an
    :class:`InputError` at their line)."""
    found = Meta()
    head = next((child for child in meta if child.tag in ("task", "job", "project")), None)
    original_size = meta.find("original_size")  # (older exports put it beside the task)
    if head is None:
        found.tasks[None] = TaskInfo(None)
        return found
    found.kind = head.tag
    if head.tag == "project":
        tasks = head.find("tasks")
        for task in tasks if tasks is not None else ():
            if task.tag == "task":
                task_id = _text(task, "id") or None
                found.tasks[task_id] = _task(task, path, task_id)
        found.subsets = [s.strip() for s in (_text(head, "subsets") or "").splitlines() if s]
        found.tasks.setdefault(None, TaskInfo(None))
    else:
        found.tasks[None] = _task(head, path, None)
    if original_size is not None:
        for info in found.tasks.values():
            info.width = info.width or _int(original_size, "width", path)
            info.height = info.height or _int(original_size, "height", path)
    labels = head.find("labels")
    for element in labels if labels is not None else ():
        if element.tag != "label":
            continue
        label = _label(element)
        if not label.name:
            raise InputError(path, "a <label> without a <name>", line=element.sourceline)
        if label.parent:
            found.points.setdefault(label.parent, []).append(label)
        elif label.name in found.labels:
            raise InputError(
                path, f"the label {label.name!r} is declared twice", line=element.sourceline
            )
        else:
            found.labels[label.name] = label
    return found


def _label(element: Any) -> Label:
    label = Label(
        _text(element, "name") or "",
        _text(element, "type") or "any",
        _text(element, "color") or "",
        parent=_text(element, "parent") or None,
        svg=(element.findtext("svg") or None),
        line=element.sourceline,
    )
    attributes = element.find("attributes")
    for attribute in attributes if attributes is not None else ():
        if attribute.tag != "attribute":
            continue
        name = _text(attribute, "name")
        if not name:
            continue
        input_type = _text(attribute, "input_type") or "text"
        label.attributes[name] = AttributeSpec(
            name,
            input_type,
            (_text(attribute, "mutable") or "").lower() == "true",
            attribute.findtext("default_value") or "",
            _values(attribute.findtext("values") or "", input_type),
        )
    return label


def _values(text: str, input_type: str) -> list[str]:
    """CVAT writes an attribute's values one per line; exports of old versions (and
    Datumaro's test assets) separate the choices of a select, radio or checkbox by spaces."""
    if "\n" in text or input_type not in ("select", "radio", "checkbox"):
        return [value for value in text.split("\n") if value]
    return text.split()


# --- skeleton drawings ---------------------------------------------------------------------------


def parse_svg(svg: str, path: str) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """A skeleton's drawing: its nodes ``(node id, point name)`` in node-id order and its
    edges ``(from node id, to node id)``. The drawing is parsed as XML with the same
    hardened settings as the file (it is text that holds escaped markup)."""
    root = parse_bytes(f"<svg>{svg}</svg>".encode(), path)
    nodes: list[tuple[int, str]] = []
    edges: list[tuple[int, int]] = []
    for element in root:
        get = element.get
        if element.tag == "circle" and get("data-node-id", "").isdigit():
            name = get("data-label-name") or get("data-node-id", "")
            nodes.append((int(get("data-node-id", "0")), name))
        elif element.tag == "line":
            start, end = get("data-node-from", ""), get("data-node-to", "")
            if start.isdigit() and end.isdigit():
                edges.append((int(start), int(end)))
    nodes.sort()
    return nodes, edges


def render_svg(names: list[str], edges: list[tuple[int, int]]) -> str:
    """A skeleton drawing CVAT reads back: one node per point on a circle, numbered from 1,
    and a line per edge (1-based point indices, as COCO's ``skeleton``)."""
    import math

    n = max(1, len(names))
    where = [
        (50 + 40 * math.cos(2 * math.pi * i / n), 50 + 40 * math.sin(2 * math.pi * i / n))
        for i in range(len(names))
    ]
    parts = []
    for start, end in edges:
        (x1, y1), (x2, y2) = where[start - 1], where[end - 1]
        parts.append(
            f'<line x1="{x1:.4f}" y1="{y1:.4f}" x2="{x2:.4f}" y2="{y2:.4f}" stroke="black" '
            f'data-type="edge" data-node-from="{start}" stroke-width="0.5" '
            f'data-node-to="{end}"></line>'
        )
    for i, ((x, y), name) in enumerate(zip(where, names, strict=True), 1):
        shown = name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        parts.append(
            f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:.4f}" cy="{y:.4f}" '
            f'stroke-width="0.1" data-type="element node" data-element-id="{i}" '
            f'data-node-id="{i}" data-label-name="{shown}"></circle>'
        )
    return "".join(parts)
