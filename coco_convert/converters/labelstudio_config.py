"""Label Studio's labeling config (``<View>`` XML): the labels in the project's order, and
the config that goes with the tasks ``coco2labelstudio`` writes.

The config names each control tag (``<RectangleLabels name="label" toName="image">``) and
its labels in the order the project lists them; an export holds only the labels that were
used. Read with lxml, entities and network off (as every XML input here).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree

from ..errors import InputError
from ..io import read_file
from ..palette import voc_color

__all__ = [
    "LABEL_TAGS",
    "KeypointNames",
    "LabelingConfig",
    "parse_config",
    "read_config",
    "render_config",
]

#: Control tags whose labels name the class of a region (``type`` of their results).
LABEL_TAGS = {
    "rectanglelabels": "rectanglelabels",
    "polygonlabels": "polygonlabels",
    "brushlabels": "brushlabels",
    "ellipselabels": "ellipselabels",
    "keypointlabels": "keypointlabels",
    "labels": "labels",
}
#: Control tags without labels that draw regions of one kind.
_SHAPE_TAGS = ("rectangle", "polygon", "brush", "ellipse", "keypoint")

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
)
_ENTITY = re.compile(rb"<!ENTITY", re.I)


@dataclass
class LabelingConfig:
    """What the reader needs from a config: the image's data key, the region labels in the
    project's order, the keypoint names of each KeyPointLabels tag (model_index order when
    given), and the control tags by name (``from_name`` -> lower-case tag)."""

    source: str
    image_key: str | None = None
    labels: list[str] = field(default_factory=list)
    keypoints: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


#: KeyPointLabels tag name -> its labels, in order.
KeypointNames = Mapping[str, Sequence[str]]


def read_config(path: str | os.PathLike[str]) -> LabelingConfig:
    """The labeling config in the file ``path`` (an InputError names the file and line)."""
    name = os.fspath(path)
    return parse_config(read_file(name), name)


def parse_config(data: bytes, source: str = "<config>") -> LabelingConfig:
    """Parse a labeling config's XML."""
    if _ENTITY.search(data):
        raise InputError(
            source,
            "refused: the XML declares entities",
            hint="a labeling config never needs them; remove the <!DOCTYPE> block",
        )
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        message = re.sub(r",? line \d+, column \d+$", "", exc.msg or str(exc))
        line = int(exc.lineno) if exc.lineno else None
        raise InputError(source, f"malformed XML: {message}", line=line) from None
    if not isinstance(root.tag, str) or root.tag.lower() != "view":
        raise InputError(
            source,
            f"not a Label Studio labeling config: the root element is <{root.tag}>, "
            "expected <View>",
            line=cast("int | None", root.sourceline),
        )
    config = LabelingConfig(source)
    seen: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        name = element.get("name")
        if tag == "image" and config.image_key is None:
            value = element.get("value") or element.get("valueList") or ""
            config.image_key = value.lstrip("$") or None
        if name is None or element.get("toName") is None:
            continue
        config.tags[name] = tag
        if tag not in LABEL_TAGS:
            continue
        labels = [_label_value(child) for child in element if _is_label(child)]
        if tag == "keypointlabels":
            config.keypoints[name] = _model_order(element, labels)
            continue
        for label in labels:
            if label not in seen:
                seen.add(label)
                config.labels.append(label)
    return config


def _is_label(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag.lower() == "label"


def _label_value(element: Any) -> str:
    """What results hold for a label: its alias when it has one, else its value."""
    return str(element.get("alias") or element.get("value") or "")


def _model_order(element: Any, labels: list[str]) -> list[str]:
    """Keypoint labels in ``model_index`` order (label-studio-sdk's keypoint order), those
    without one after them in document order."""
    indexed: list[tuple[int, int, str]] = []
    for position, child in enumerate(c for c in element if _is_label(c)):
        index = child.get("model_index")
        try:
            key = int(index) if index is not None else 1 << 30
        except ValueError:
            key = 1 << 30
        indexed.append((key, position, labels[position]))
    return [label for _, _, label in sorted(indexed)]


def render_config(
    labels: Sequence[str],
    tags: Iterable[str],
    *,
    keypoints: Sequence[str] = (),
    choices: Mapping[str, tuple[Sequence[str], bool]] | None = None,
) -> bytes:
    """A labeling config for tasks that use the control ``tags`` (names from
    :data:`CONTROL_NAMES`' values), each listing ``labels`` (coloured as VOC colours its
    classes), a KeyPointLabels tag with ``keypoints`` (``model_index`` in order, what
    label-studio-sdk's COCO export needs) and a Choices tag per image attribute (name ->
    (choices, several allowed))."""
    view = etree.Element("View")
    etree.SubElement(view, "Image", name="image", value="$image")
    for name in tags:
        tag = CONTROL_NAMES[name]
        control = etree.SubElement(view, tag, name=name, toName="image")
        if tag == "KeyPointLabels":
            for index, point in enumerate(keypoints):
                etree.SubElement(control, "Label", value=point, model_index=str(index))
            continue
        for index, label in enumerate(labels):
            r, g, b = voc_color(index + 1)
            etree.SubElement(control, "Label", value=label, background=f"rgba({r}, {g}, {b}, 1)")
    for name, (values, several) in (choices or {}).items():
        attrs = {"name": name, "toName": "image"}
        if several:
            attrs["choice"] = "multiple"
        control = etree.SubElement(view, "Choices", attrs)
        for value in values:
            etree.SubElement(control, "Choice", value=value)
    data: bytes = etree.tostring(view, pretty_print=True, encoding="utf-8")
    return data


#: The control tags ``coco2labelstudio`` writes: from_name -> tag.
CONTROL_NAMES = {
    "label": "RectangleLabels",
    "polygon": "PolygonLabels",
    "brush": "BrushLabels",
    "ellipse": "EllipseLabels",
    "keypoints": "KeyPointLabels",
}
