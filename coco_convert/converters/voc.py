"""Pascal VOC and ImageNet ILSVRC XML to and from COCO.

``read_voc(src)`` reads a VOC devkit folder (``Annotations/``, ``ImageSets/Main/<split>.txt``,
``JPEGImages/``), an ILSVRC CLS-LOC tree, a folder of XML files or a text file listing them,
and returns a COCO :class:`~coco_convert.dataset.InstancesDataset` and a
:class:`~coco_convert.converters.loss.LossReport`. ``write_voc(dataset, out_dir)`` writes a
devkit tree back. ILSVRC bounding-box XML is VOC-shaped with synset ids as names; it goes
through the same functions (``synsets=`` gives names and the standard 1000-class order).

Pixel convention (see docs/voc.md for which tool writes which, with evidence): VOC devkit boxes
are 1-based and inclusive, so by default ``x = xmin - 1, w = xmax - xmin + 1`` (Detectron2 and
the VOC devkit); ``coords="zero-based"`` reads and writes ``x = xmin, w = xmax - xmin`` for
tools that write 0-based corner coordinates (LabelImg, CVAT/Datumaro, Label Studio, labelme).

XML is parsed by lxml with entity resolution, network access and huge trees off; a document
that declares entities (an external entity, an expansion bomb) is refused before any value is
read. Only :func:`read_voc` and :func:`write_voc` touch the disk; the ``parse_*``/``build_*``
helpers are pure and tested without files.
"""

# Per-file paths are strings (os.path): at 100k files, Path objects cost more than the parse.
# ruff: noqa: PTH113, PTH118, PTH122

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from html import escape as _html_escape
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import orjson
from lxml import etree

from ..dataset import CocoDataset, InstancesDataset
from ..errors import GeometryError, InputError, UsageError
from ..images import ImageSizeError, read_size
from ..io import (
    atomic_directory,
    gc_paused,
    is_unicode,
    read_file,
    read_text,
    real_path,
)
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from ..schemas.coco import Annotation, Category, Image
from ..schemas.types import NUMBER_LIMIT, SIDE_MAX
from .loss import ConversionError, LossReport

if TYPE_CHECKING:  # numpy, pycocotools and the mask module load only for --masks
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "VOC_CLASSES",
    "Coords",
    "ImageIds",
    "VocFile",
    "VocObject",
    "load_labels",
    "load_synsets",
    "parse_voc_xml",
    "read_voc",
    "render_labelmap",
    "render_voc_xml",
    "write_voc",
]

#: The 20 Pascal VOC classes in the devkit's order (``VOCopts.classes``).
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)

Coords = Literal["one-based", "zero-based"]
ImageIds = Literal["sequential", "from-filename"]
COORDS: tuple[Coords, ...] = ("one-based", "zero-based")
IMAGE_IDS: tuple[ImageIds, ...] = ("sequential", "from-filename")

#: Object children read into ``attributes`` as 0/1 flags.
_FLAGS = ("truncated", "difficult", "occluded")
#: Top-level elements describing the image that COCO has no field for.
_IMAGE_METADATA = ("folder", "path", "source", "owner", "segmented")
_SYNSET = re.compile(r"n\d{8}")
#: ``<!ENTITY name "value">`` or ``<!ENTITY % name SYSTEM "url">``: (name, url or b"").
_ENTITY_DECLARATION = re.compile(
    rb"<!ENTITY\s+(?:%\s*)?([^\s>]+)\s*(?:(?:SYSTEM|PUBLIC)\s+[\"']([^\"']*)[\"'])?"
)

#: One parser for every file: no entity substitution, no DTD or network loads, no huge trees.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


# --- parsing one file (pure) -----------------------------------------------------------------


class VocObject(NamedTuple):
    """One ``<object>``: its class, box as written (``xmin, ymin, xmax, ymax``) or None when
    unusable (``problem`` says why), the other fields as ``attributes``, and where it is."""

    name: str | None
    box: tuple[float, float, float, float] | None
    attributes: dict[str, Any]
    line: int
    problem: str | None = None
    parts: int = 0
    dropped_fields: tuple[str, ...] = ()


class VocFile(NamedTuple):
    """One annotation file as read: ``width``/``height`` are None when absent or zero."""

    path: str
    filename: str | None
    width: int | None
    height: int | None
    objects: list[VocObject]
    metadata: tuple[str, ...] = ()


def parse_voc_xml(data: bytes, path: str = "<xml>") -> VocFile:
    """Parse the bytes of one VOC or ILSVRC annotation file.

    Raises :class:`~coco_convert.errors.InputError` naming the file and line for malformed
    XML, for a root other than ``<annotation>`` and for any entity declaration."""
    if b"<!ENTITY" in data:
        declared = _ENTITY_DECLARATION.findall(data)
        if declared:
            raise _entities_refused(path, declared)
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        message = exc.msg or str(exc)
        message = re.sub(r",? line \d+, column \d+$", "", message)
        raise InputError(path, f"malformed XML: {message}", line=line) from None
    if root.tag != "annotation":
        raise InputError(
            path,
            f"not a Pascal VOC annotation: the root element is <{root.tag}>, expected <annotation>",
            line=cast("int | None", root.sourceline),
        )
    filename: str | None = None
    width = height = None
    objects: list[VocObject] = []
    metadata: list[str] = []
    for child in root:
        tag = child.tag
        if tag == "object":
            objects.append(_parse_object(child))
        elif tag == "filename":
            filename = (child.text or "").strip() or None
        elif tag == "size":
            for field in child:
                if field.tag == "width":
                    width = _size(field, path)
                elif field.tag == "height":
                    height = _size(field, path)
        elif isinstance(tag, str):
            metadata.append(tag)
    return VocFile(path, filename, width, height, objects, tuple(metadata))


def _entities_refused(path: str, declared: list[tuple[bytes, bytes]]) -> InputError:
    name, external = (part.decode("utf-8", "replace") for part in declared[0])
    if external:
        what = f"an external entity '{name}' ({external})"
    else:
        count = len(declared)
        what = f"{count} {'entity' if count == 1 else 'entities'} ('{name}', ...)"
    return InputError(
        path,
        f"refused: the XML declares {what}",
        hint="VOC annotations never need entities; they are how XXE and expansion-bomb "
        "attacks work, so coco-convert never expands them. Remove the <!DOCTYPE> block",
    )


def _size(element: Any, path: str) -> int | None:
    text = (element.text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            path,
            f"<{element.tag}> is {text!r}, expected a number of pixels",
            line=element.sourceline,
        ) from None
    if not math.isfinite(value) or value < 0 or value != int(value) or value > SIDE_MAX:
        raise InputError(
            path,
            f"<{element.tag}> is {_short(text)}, expected a whole number of pixels "
            f"(at most {SIDE_MAX})",
            line=element.sourceline,
        )
    return int(value) or None  # LabelImg writes 0 when it could not read the image


def _parse_object(element: Any) -> VocObject:
    name: str | None = None
    box: tuple[float, float, float, float] | None = None
    problem: str | None = "no <bndbox>"
    attributes: dict[str, Any] = {}
    parts = 0
    dropped: list[str] = []
    for child in element:
        tag = child.tag
        if tag == "name":
            name = (child.text or "").strip() or None
        elif tag == "bndbox":
            box, problem = _parse_box(child)
        elif tag in _FLAGS or tag == "pose":
            text = (child.text or "").strip()
            if text:
                attributes[tag] = _scalar(text)
        elif tag == "attributes":  # CVAT: <attributes><attribute><name/><value/></attribute>
            for attribute in child.iter("attribute"):
                key = (attribute.findtext("name") or "").strip()
                if key:
                    attributes[key] = _scalar((attribute.findtext("value") or "").strip())
        elif tag == "actions":  # VOC action classification: <actions><jumping>0</jumping>...
            attributes["actions"] = {
                action.tag: _scalar((action.text or "").strip())
                for action in child
                if isinstance(action.tag, str)
            }
        elif tag == "part":  # VOC person layout: head, hands, feet with their own boxes
            parts += 1
        elif isinstance(tag, str):
            if len(child):
                dropped.append(tag)
            else:
                text = (child.text or "").strip()
                if text:
                    attributes[tag] = _scalar(text)
    return VocObject(name, box, attributes, element.sourceline, problem, parts, tuple(dropped))


def _parse_box(element: Any) -> tuple[tuple[float, float, float, float] | None, str | None]:
    values: dict[str, float] = {}
    for child in element:
        tag = child.tag
        if tag in ("xmin", "ymin", "xmax", "ymax"):
            text = (child.text or "").strip()
            number = _number(text)
            if number is None:
                return None, f"<{tag}> is {_short(text)}, {_not_a_number(text)}"
            values[tag] = number
    if len(values) < 4:
        missing = [tag for tag in ("xmin", "ymin", "xmax", "ymax") if tag not in values]
        return None, f"<bndbox> has no <{missing[0]}>"
    return (values["xmin"], values["ymin"], values["xmax"], values["ymax"]), None


def _number(text: str) -> float | None:
    """An int when the text is one (so integer boxes stay integers in the JSON), else a
    finite float, else None; numbers beyond +-2**63 (the schema's range) are None too."""
    try:
        value: float = int(text) if len(text) < 30 else float("inf")
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
    return value if abs(value) <= NUMBER_LIMIT else None


def _not_a_number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return "not a number"
    return "not a number" if math.isnan(value) else "out of range (beyond +-2**63)"


def _short(text: str) -> str:
    """Text from a file, quoted and cut for a message."""
    return repr(text if len(text) <= 30 else f"{text[:27]}...")


def _scalar(text: str) -> Any:
    """Attribute text as an int, a finite float, or the text itself."""
    number = _number(text)
    return text if number is None else number


# --- categories --------------------------------------------------------------------------------


def load_labels(path: str | os.PathLike[str]) -> list[str]:
    """Class names, one per line, in id order (blank lines and ``#`` comments skipped).

    Also reads CVAT's VOC ``labelmap.txt`` (``name:r,g,b:parts:actions``), leaving out its
    ``background`` entry."""
    name = os.fspath(path)
    text = read_text(name)
    lines = [line.strip() for line in text.splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    labelmap = text.lstrip().startswith("# label:") or (
        bool(entries) and all(re.fullmatch(r"[^:]*:[\d, ]*:[^:]*:[^:]*", e) for e in entries)
    )
    if labelmap:
        entries = [e.split(":", 1)[0].strip() for e in entries]
        entries = [e for e in entries if e != "background"]
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        if entry in seen:
            raise InputError(name, f"class {entry!r} is listed twice (entry {number})")
        seen.add(entry)
    if not entries:
        raise InputError(name, "lists no class names", hint="one class name per line")
    return entries


def load_synsets(path: str | os.PathLike[str]) -> dict[str, str]:
    """``LOC_synset_mapping.txt`` (``n01440764 tench, Tinca tinca``): synset -> words, in
    sorted-synset order (the standard ILSVRC 1000-class index)."""
    name = os.fspath(path)
    mapping: dict[str, str] = {}
    for number, line in enumerate(read_text(name).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        synset, _, words = line.partition(" ")
        if not _SYNSET.fullmatch(synset):
            raise InputError(
                name,
                f"{synset!r} is not a WordNet synset id",
                hint="expected lines like 'n01440764 tench, Tinca tinca'",
                line=number,
            )
        mapping[synset] = words.strip() or synset
    if not mapping:
        raise InputError(name, "lists no synsets")
    return dict(sorted(mapping.items()))


def _synset_categories(mapping: dict[str, str]) -> list[Category]:
    """Categories 1..N in sorted-synset order; the name is the first of the synset's words,
    with the synset added where two synsets share it ('crane' is a bird and a machine)."""
    first = {synset: words.split(",")[0].strip() for synset, words in mapping.items()}
    counts: dict[str, int] = {}
    for word in first.values():
        counts[word] = counts.get(word, 0) + 1
    categories: list[Category] = []
    for number, (synset, word) in enumerate(first.items(), 1):
        name = word if counts[word] == 1 else f"{word} ({synset})"
        category = cast("Category", {"id": number, "name": name, "synset": synset})
        categories.append(category)
    return categories


def _default_categories(names: Iterable[str]) -> list[Category]:
    found = set(names)
    ordered = list(VOC_CLASSES) if found <= set(VOC_CLASSES) and found else sorted(found)
    return [{"id": number, "name": name} for number, name in enumerate(ordered, 1)]


# --- finding the files ------------------------------------------------------------------------


class _Layout(NamedTuple):
    xml_paths: list[str]  # strings: at 100k+ files, Path objects cost more than the parse
    annotation_root: Path | None  # XML folders below it become file_name folders (ILSVRC)
    image_root: Path | None
    devkit: Path | None
    #: images listed in the split that have no XML (Datumaro writes none for an image
    #: without objects): images with no annotations
    unannotated: tuple[Path, ...] = ()


def _layout(src: Path, split: str | None, images: Path | None) -> _Layout:
    if not src.exists():
        raise InputError(str(src), "no such file or folder")
    if not src.is_dir():
        if split:
            raise UsageError("--split needs a devkit folder (with Annotations/ and ImageSets/)")
        if src.suffix.lower() == ".xml":
            return _Layout([str(src)], None, images or src.parent, None)
        paths = _listed_paths(src)
        return _Layout(paths, None, images, None)
    if (src / "Annotations").is_dir():
        return _devkit_layout(src, split, images)
    if split:
        raise UsageError(f"--split needs a devkit folder; {src} has no Annotations/ folder")
    paths = _xml_files(src)
    return _Layout(paths, src, images or _guess_image_root(src), None)


def _devkit_layout(src: Path, split: str | None, images: Path | None) -> _Layout:
    annotations = src / "Annotations"
    ilsvrc = annotations / "CLS-LOC"
    if split is None:
        root = ilsvrc if ilsvrc.is_dir() else annotations
        image_root = images or _first_dir(src / "JPEGImages", src / "Data" / "CLS-LOC")
        return _Layout(_xml_files(root), root, image_root, src)
    main = src / "ImageSets" / "Main" / f"{split}.txt"
    loc = src / "ImageSets" / "CLS-LOC" / f"{split}.txt"
    if main.is_file():
        ids, root, image_root = _split_ids(main), annotations, src / "JPEGImages"
    elif loc.is_file():  # ILSVRC: train_loc.txt lists n01440764/n01440764_10026 under train/
        subset = split.split("_")[0]
        ids, root = _split_ids(loc), ilsvrc / subset
        image_root = src / "Data" / "CLS-LOC" / subset
    else:
        sets = sorted(
            p.stem for p in (src / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem
        )
        known = f" (splits there: {', '.join(sets)})" if sets else ""
        raise InputError(str(main), f"no such split file{known}")
    paths: list[str] = []
    unannotated: list[Path] = []
    image_root = images or image_root
    for line, image_id in ids:
        path = os.path.join(root, f"{image_id}.xml")
        if os.path.isfile(path):
            paths.append(path)
            continue
        image = image_root / f"{image_id}{_extension(image_id, image_root, '')}"
        if not image.is_file():
            raise InputError(
                str(main if main.is_file() else loc),
                f"lists {image_id!r} but neither {path} nor its image exists",
                line=line,
            )
        unannotated.append(image)
    return _Layout(paths, root, _first_dir(image_root), src, tuple(unannotated))


def _split_ids(path: Path) -> list[tuple[int, str]]:
    ids = []
    for number, line in enumerate(read_text(str(path)).splitlines(), 1):
        fields = line.split()
        if fields:
            ids.append((number, fields[0]))
    return ids


def _listed_paths(path: Path) -> list[str]:
    paths = [os.path.join(path.parent, entry) for _, entry in _split_ids(path)]
    if not paths:
        raise InputError(str(path), "lists no XML files", hint="one XML path per line")
    return paths


def find_xml_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every ``.xml`` file below ``folder`` (searched recursively), sorted; the validator
    looks at the same files :func:`read_voc` reads."""
    paths: list[str] = []
    for dirpath, _, filenames in os.walk(folder):
        paths.extend(
            os.path.join(dirpath, name) for name in filenames if name.lower().endswith(".xml")
        )
    paths.sort()
    return paths


def _xml_files(folder: Path) -> list[str]:
    paths = find_xml_files(folder)
    if not paths:
        raise InputError(str(folder), "holds no .xml files")
    return paths


def _guess_image_root(folder: Path) -> Path:
    """``.../Annotations/CLS-LOC/val`` -> ``.../Data/CLS-LOC/val`` (ILSVRC), a sibling
    ``JPEGImages`` (VOC), or the XML folder itself (LabelImg saves XML beside the image)."""
    parts = real_path(folder).parts
    if "Annotations" in parts:
        at = len(parts) - 1 - parts[::-1].index("Annotations")
        for replacement in ("Data", "JPEGImages", "images"):
            candidate = Path(*parts[:at], replacement, *parts[at + 1 :])
            if candidate.is_dir():
                return candidate
    return _first_dir(folder.parent / "JPEGImages") or folder


def _first_dir(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def _read_xml(path: str) -> VocFile:
    return parse_voc_xml(read_file(path), path)


#: Files per chunk of work, and the counts from which one worker process per core pays off
#: (measured with benchmarks/bench_voc.py on a busy 2-core machine: at VOC2012's 17,125 files
#: one process was faster, 1.60 s against 1.93 s; at 171,250 files two were, 10.8 s against
#: 12.4 s; writing COCO train2017's 118,287 XML files, 30.2 s against 32.5 s).
_CHUNK = 1000
_WORKERS_WORTH_IT_PARSE = 50_000
_WORKERS_WORTH_IT_WRITE = 20_000


def parse_files(paths: Sequence[str], *, jobs: int | None = None) -> Iterator[VocFile]:
    """Parse annotation files, in order (the part of :func:`read_voc` that scales): in one
    worker process per core for large inputs, or ``jobs`` workers.

    Workers send their files back as orjson bytes, not pickles: pickling 17k parsed files
    costs more than parsing them (measured 0.6 s against 0.8 s), JSON a tenth of that."""
    workers = choose_jobs(jobs, len(paths), worth_it=_WORKERS_WORTH_IT_PARSE)
    total = -(-len(paths) // _CHUNK)
    if workers <= 1:
        for start in track(
            range(0, len(paths), _CHUNK), total=total, desc="reading XML", unit="chunk"
        ):
            yield from (_read_xml(path) for path in paths[start : start + _CHUNK])
        return
    tasks = (list(paths[start : start + _CHUNK]) for start in range(0, len(paths), _CHUNK))
    chunks = map_tasks(_parse_task, tasks, jobs=workers)
    for chunk in track(chunks, total=total, desc="reading XML", unit="chunk"):
        for path, filename, width, height, objects, metadata in orjson.loads(chunk):
            yield VocFile(
                path,
                filename,
                width,
                height,
                [
                    VocObject(name, box and tuple(box), attrs, line, problem, parts, tuple(dropped))
                    for name, box, attrs, line, problem, parts, dropped in objects
                ],
                tuple(metadata),
            )


def _parse_task(paths: list[str]) -> bytes:
    """A worker's share of :func:`parse_files`: the parsed files as orjson bytes."""
    return orjson.dumps([_read_xml(path) for path in paths], default=list)


# --- SegmentationObject PNGs --------------------------------------------------------------------

#: SegmentationObject/SegmentationClass: 0 is background, 255 the void border around objects.
_VOID = 255


def voc_palette() -> list[int]:
    """The VOC devkit's 256-colour palette (``VOClabelcolormap.m``), flat ``[r, g, b, ...]``."""
    return list(_palette())


@functools.cache
def _palette() -> tuple[int, ...]:
    """:func:`voc_palette`, computed once per process (it is the same for every PNG)."""
    from .masks import voc_color

    return tuple(channel for index in range(256) for channel in voc_color(index))


@functools.cache
def _palette_indices() -> dict[tuple[int, int, int], int]:
    """Colour -> index of the VOC palette, computed once per process (read-only)."""
    from .masks import voc_color

    return {voc_color(index): index for index in range(256)}


def read_index_png(
    path: str | os.PathLike[str], report: LossReport | None = None
) -> npt.NDArray[np.int64]:
    """The palette indices of a VOC segmentation PNG. Palette PNGs (the devkit's) give them
    directly; RGB PNGs (Datumaro's and CVAT's exports colour them) are mapped back through
    the VOC palette (:mod:`coco_convert.converters.masks` reads the pixels)."""
    from .masks import read_mask_values

    values: npt.NDArray[np.int64] = read_mask_values(
        Path(path), _palette_indices(), report or LossReport("png")
    )
    return values


def _attach_masks(
    dataset: InstancesDataset,
    origins: Sequence[tuple[VocFile, int]],
    folder: Path,
    report: LossReport,
    rle: bool,
) -> None:
    """Give each annotation the pixels of its instance in ``SegmentationObject/<stem>.png``:
    instance ``k`` is the ``k``-th ``<object>`` of the XML (``origins``: the file and object
    number of each annotation), 255 is the void border (left out). The box stays the XML's;
    ``area`` becomes the pixel count."""
    import numpy as np

    from .. import geometry

    per_file: dict[str, list[tuple[Annotation, int]]] = {}
    files: dict[str, VocFile] = {}
    for ann, (voc, number) in zip(dataset.annotations, origins, strict=True):
        per_file.setdefault(voc.path, []).append((ann, number))
        files[voc.path] = voc
    sizes = {img["id"]: (img["height"], img["width"]) for img in dataset.images}
    for path, anns in per_file.items():
        png = folder / f"{os.path.splitext(os.path.split(path)[1])[0]}.png"
        if not png.is_file():
            report.count("images without a SegmentationObject PNG")
            continue
        indices = read_index_png(png, report)
        height, width = sizes[anns[0][0]["image_id"]]
        if indices.shape != (height, width):
            raise InputError(
                str(png),
                f"is {indices.shape[1]}x{indices.shape[0]} pixels, its image {width}x{height}",
            )
        objects = len(files[path].objects)
        present = set(np.unique(indices).tolist())
        for extra in sorted(i for i in present - {0, _VOID} if i > objects):
            report.warn(
                "mask_without_object",
                "SegmentationObject instances with no <object> of that number (left out)",
                where=f"{png} (instance {extra}, {objects} objects)",
            )
        if _VOID in present:
            report.lose(
                "void_border",
                "void borders (255) of SegmentationObject PNGs (COCO has no 'ignore' pixels)",
                where=str(png),
            )
        for ann, number in anns:
            mask = indices == number
            if not mask.any():
                report.warn(
                    "object_without_mask",
                    "objects with no pixels in their SegmentationObject PNG (box only)",
                    where=f"{png} (object {number})",
                )
                continue
            if rle:
                ann["segmentation"] = geometry.mask_to_rle(mask)
            else:
                ann["segmentation"] = geometry.mask_to_polygons(mask)
            ann["area"] = int(mask.sum())
            report.count("masks")


# --- VOC -> COCO ------------------------------------------------------------------------------


def read_voc(
    src: str | os.PathLike[str],
    *,
    split: str | None = None,
    labels: str | os.PathLike[str] | Sequence[str] | None = None,
    synsets: str | os.PathLike[str] | None = None,
    coords: Coords = "one-based",
    skip_difficult: bool = False,
    image_ids: ImageIds = "sequential",
    images: str | os.PathLike[str] | None = None,
    masks: bool = False,
    rle: bool = False,
    jobs: int | None = None,
    strict: bool = False,
) -> tuple[InstancesDataset, LossReport]:
    """Read Pascal VOC (or ImageNet ILSVRC) annotations into a COCO instances dataset.

    ``src`` is a devkit folder (``--split`` picks ``ImageSets/Main/<split>.txt``), a folder
    of XML files (searched recursively: ILSVRC train has one folder per synset), a text file
    listing XML paths, or one XML file. ``labels`` (a file or a list of names) fixes the
    classes and their ids; ``synsets`` (``LOC_synset_mapping.txt``) names ILSVRC synsets.
    ``images`` is where image headers are read when an XML has no usable ``<size>``.
    ``masks`` reads the devkit's ``SegmentationObject/<stem>.png`` into each object's
    segmentation: exact polygons (holes cut in), or RLE with ``rle``, as ``masks2coco``.
    ``jobs``: worker processes for parsing (default: every core for large inputs).

    Returns the dataset and the report of what was lost or looked wrong; with ``strict`` a
    warning raises :class:`~coco_convert.converters.loss.ConversionError` instead."""
    if coords not in COORDS:
        raise UsageError(f"coords must be one of {', '.join(COORDS)}, not {coords!r}")
    if image_ids not in IMAGE_IDS:
        raise UsageError(f"image_ids must be one of {', '.join(IMAGE_IDS)}, not {image_ids!r}")
    if labels is not None and synsets is not None:
        raise UsageError("give --labels or --synsets, not both")
    source = Path(src)
    layout = _layout(source, split, Path(images) if images is not None else None)
    segmentation = None
    if masks:
        segmentation = (layout.devkit or source) / "SegmentationObject"
        if not segmentation.is_dir():
            raise UsageError(f"--masks: {segmentation} is not a folder (a VOC devkit has one)")
    report = LossReport("voc2coco")
    with gc_paused():  # millions of small objects, no cycles: see io.gc_paused
        files = list(parse_files(layout.xml_paths, jobs=jobs))
        for image in layout.unannotated:
            files.append(VocFile(str(image), image.name, None, None, []))
            report.count("listed images without an XML (no objects)")
        origins: list[tuple[VocFile, int]] | None = [] if segmentation else None
        dataset = build_coco(
            files,
            report,
            labels=labels,
            synsets=synsets,
            coords=coords,
            skip_difficult=skip_difficult,
            image_ids=image_ids,
            annotation_root=layout.annotation_root,
            image_root=layout.image_root,
            source=str(source),
            origins=origins,
        )
        if segmentation is not None and origins is not None:
            _attach_masks(dataset, origins, segmentation, report, rle)
    report.raise_if_strict(strict)
    return dataset, report


def build_coco(
    files: Sequence[VocFile],
    report: LossReport,
    *,
    labels: str | os.PathLike[str] | Sequence[str] | None = None,
    synsets: str | os.PathLike[str] | None = None,
    coords: Coords = "one-based",
    skip_difficult: bool = False,
    image_ids: ImageIds = "sequential",
    annotation_root: Path | None = None,
    image_root: Path | None = None,
    source: str | None = None,
    origins: list[tuple[VocFile, int]] | None = None,
) -> InstancesDataset:
    """The COCO dataset of parsed annotation files (problems go to ``report``). ``origins``,
    when given, receives the file and object number of each annotation."""
    categories = _categories(files, labels, synsets)
    by_name = {cat["name"]: cat["id"] for cat in categories}
    if synsets is not None:
        by_name = {cast("dict[str, Any]", cat)["synset"]: cat["id"] for cat in categories}
    vocabulary = "--synsets" if synsets is not None else "--labels" if labels is not None else ""
    imagenet = synsets is not None or _looks_like_imagenet(files)

    root_prefix = None if annotation_root is None else os.path.join(annotation_root, "")
    entries = [(_file_name(f, root_prefix, image_root, imagenet, report), f) for f in files]
    if image_ids == "sequential":
        entries.sort(key=lambda entry: entry[0])
    ids = _image_ids(entries, image_ids)
    if image_ids == "from-filename":
        order = sorted(range(len(ids)), key=ids.__getitem__)
        ids, entries = [ids[i] for i in order], [entries[i] for i in order]

    images: list[Image] = []
    annotations: list[Annotation] = []
    seen_names: dict[str, str] = {}
    metadata: set[str] = set()
    metadata_files: list[str] = []
    shift = 1 if coords == "one-based" else 0
    for image_id, (file_name, voc) in zip(ids, entries, strict=True):
        if not is_unicode(file_name):
            report.warn(
                "file_name_not_utf8",
                "images whose file name is not UTF-8 (JSON cannot hold it): left out with "
                "their objects; rename the files",
                where=voc.path,
            )
            continue
        if file_name in seen_names:
            report.warn(
                "duplicate_file_name",
                "images named twice (two XML files with the same <filename>)",
                where=f"{voc.path} and {seen_names[file_name]}",
            )
        seen_names[file_name] = voc.path
        width, height = voc.width, voc.height
        if width is None or height is None:
            width, height = _image_size(voc, file_name, image_root)
            report.count("sizes read from image headers")
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        if voc.metadata:
            metadata.update(voc.metadata)
            metadata_files.append(voc.path)
        for number, obj in enumerate(voc.objects, 1):
            annotation = _annotation(
                obj, voc.path, number, report, by_name, vocabulary, shift, width, height,
                skip_difficult,
            )  # fmt: skip
            if annotation is None:
                continue
            annotation["id"] = len(annotations) + 1
            annotation["image_id"] = image_id
            annotations.append(annotation)
            if origins is not None:
                origins.append((voc, number))
    if metadata_files:
        report.lose(
            "image_metadata",
            f"files with image metadata COCO has no field for (<{'>, <'.join(sorted(metadata))}>)",
            where=metadata_files[0],
            count=len(metadata_files),
        )
    report.count("images", len(images))
    report.count("annotations", len(annotations))
    report.count("categories", len(categories))
    document = {
        "info": {"description": "converted from Pascal VOC by coco-convert"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    # Built field by field from checked values, so it is valid by construction (tests check).
    return InstancesDataset(document, source=source, validate=False)


def _annotation(
    obj: VocObject,
    path: str,
    number: int,
    report: LossReport,
    by_name: dict[str, int],
    vocabulary: str,
    shift: int,
    width: int,
    height: int,
    skip_difficult: bool,
) -> Annotation | None:
    if obj.name is None:
        report.warn(
            "object_without_name",
            "objects without a <name> (dropped)",
            where=_where(path, obj, number),
        )
        return None
    if obj.box is None:
        report.warn(
            "object_without_box",
            f"objects without a usable box (dropped): {obj.problem}",
            where=_where(path, obj, number),
        )
        return None
    category_id = by_name.get(obj.name)
    if category_id is None:
        report.warn(
            "unknown_class",
            f"objects whose class is not in {vocabulary or 'the classes'} (dropped)",
            where=f"{_where(path, obj, number)} ({obj.name!r})",
        )
        return None
    attributes = obj.attributes
    if skip_difficult and attributes.get("difficult") == 1:
        report.count("difficult objects skipped")
        return None
    xmin, ymin, xmax, ymax = obj.box
    x, y = xmin - shift, ymin - shift
    w, h = xmax - xmin + shift, ymax - ymin + shift
    area = w * h
    if not (type(xmin) is int and type(ymin) is int and type(xmax) is int and type(ymax) is int):
        # subtraction noise (374.9 - 87.5 = 287.40000000000003) is not in the data
        x, y, w, h, area = (round(v, 6) for v in (x, y, w, h, area))
        if shift:
            report.warn(
                "fractional_one_based",
                "fractional coordinates read as one-based VOC (devkit boxes are whole "
                "pixels; tools writing fractions, such as CVAT, are zero-based: pass "
                "--coords zero-based)",
                where=_where(path, obj, number),
            )
    if w <= 0 or h <= 0:
        report.warn(
            "degenerate_box",
            "boxes with no area under the pixel convention (xmax < xmin or ymax < ymin; dropped)",
            where=f"{_where(path, obj, number)} ({xmin}, {ymin}, {xmax}, {ymax})",
        )
        return None
    if x < 0 or y < 0 or x + w > width or y + h > height:
        report.warn(
            "box_outside_image",
            "boxes reaching outside the image (kept as written)",
            where=f"{_where(path, obj, number)} ({xmin}, {ymin}, {xmax}, {ymax} "
            f"in {width}x{height})",
        )
    if obj.parts:
        report.lose(
            "parts",
            "person-layout <part> boxes (COCO has no parts)",
            where=_where(path, obj, number),
            count=obj.parts,
        )
    if obj.dropped_fields:
        report.lose(
            "object_fields",
            f"object fields with nested values (<{'>, <'.join(obj.dropped_fields)}>)",
            where=_where(path, obj, number),
        )
    annotation = cast(
        "Annotation",
        {
            "id": 0,
            "image_id": 0,
            "category_id": category_id,
            # box only: the key the COCO format lists for every instance, empty (as CVAT,
            # Roboflow and Datumaro write it; Datumaro warns for each one without it)
            "segmentation": [],
            "bbox": [x, y, w, h],
            "area": area,
            "iscrowd": 0,
        },
    )
    if attributes:
        cast("dict[str, Any]", annotation)["attributes"] = attributes
    return annotation


def _where(path: str, obj: VocObject, number: int) -> str:
    """``file:line: object N``: where a message about an object points (built only then)."""
    return f"{path}:{obj.line}: object {number}"


def _categories(
    files: Sequence[VocFile],
    labels: str | os.PathLike[str] | Sequence[str] | None,
    synsets: str | os.PathLike[str] | None,
) -> list[Category]:
    if synsets is not None:
        return _synset_categories(load_synsets(synsets))
    if labels is not None:
        names = (
            load_labels(labels)
            if isinstance(labels, str | os.PathLike)
            else list(dict.fromkeys(labels))
        )
        return [{"id": number, "name": name} for number, name in enumerate(names, 1)]
    return _default_categories(obj.name for f in files for obj in f.objects if obj.name)


def _looks_like_imagenet(files: Sequence[VocFile]) -> bool:
    names = [obj.name for f in files[:50] for obj in f.objects if obj.name]
    return bool(names) and all(_SYNSET.fullmatch(name) for name in names)


def _file_name(
    voc: VocFile,
    root_prefix: str | None,
    image_root: Path | None,
    imagenet: bool,
    report: LossReport,
) -> str:
    """``<filename>``, below the XML's sub-folder of the annotation root (ILSVRC train:
    ``n01440764/n01440764_10026.JPEG``). ILSVRC writes names without an extension: the image
    on disk gives it, else ``.JPEG`` (ILSVRC) or ``.jpg``. (String operations: this runs
    once per file.)"""
    folder_of_xml, xml_name = os.path.split(voc.path)
    xml_stem = os.path.splitext(xml_name)[0]
    name = voc.filename
    if name is None:
        name = xml_stem
        report.warn(
            "no_filename",
            "files without <filename> (the XML's own name is used)",
            where=voc.path,
        )
    name = name.replace("\\", "/")
    if root_prefix is not None and "/" not in name:
        folder = os.path.join(folder_of_xml, "")
        if folder.startswith(root_prefix) and len(folder) > len(root_prefix):
            name = folder[len(root_prefix) :].replace(os.sep, "/") + name
    stem, suffix = os.path.splitext(name)
    if not suffix:
        name += _extension(name, image_root, ".JPEG" if imagenet else ".jpg")
    elif voc.filename is not None and stem.rpartition("/")[2] != xml_stem:
        report.warn(
            "filename_differs",
            "files whose <filename> differs from the XML's name (COCO keeps <filename>; "
            "Detectron2 and MMDetection load the image named after the XML)",
            where=f"{voc.path} (<filename>{voc.filename}</filename>)",
        )
    return name


def _extension(name: str, image_root: Path | None, default: str) -> str:
    if image_root is not None:
        base = image_root / name
        for suffix in (".JPEG", ".jpg", ".jpeg", ".png", ".JPG", ".PNG"):
            if base.with_name(base.name + suffix).is_file():
                return suffix
    return default


def _image_ids(entries: list[tuple[str, VocFile]], mode: ImageIds) -> list[int]:
    if mode == "sequential":
        return list(range(1, len(entries) + 1))
    ids: list[int] = []
    owners: dict[int, str] = {}
    for file_name, voc in entries:
        stem = PurePosixPath(file_name).stem
        if not stem.isdigit():
            raise UsageError(
                f"{voc.path}: --image-ids from-filename needs numeric file names, "
                f"and {file_name!r} is not (use --image-ids sequential)"
            )
        number = int(stem)
        if number in owners:
            raise UsageError(
                f"{voc.path}: image id {number} from the file name is also that of "
                f"{owners[number]} (use --image-ids sequential)"
            )
        owners[number] = voc.path
        ids.append(number)
    return ids


def _image_size(voc: VocFile, file_name: str, image_root: Path | None) -> tuple[int, int]:
    """Width and height from the image file's header (:func:`coco_convert.images.read_size`:
    no pixels decoded, EXIF rotation applied, as training frameworks see the image)."""
    candidates = [image_root / file_name] if image_root is not None else []
    candidates.append(Path(voc.path).parent / PurePosixPath(file_name).name)
    for path in candidates:
        if path.is_file():
            try:
                return read_size(path)
            except ImageSizeError as exc:
                raise InputError(str(path), f"cannot read the image size: {exc}") from None
    looked = " or ".join(str(c) for c in candidates)
    raise InputError(
        voc.path,
        f"has no usable <size> and the image is not at {looked}",
        hint="pass --images DIR to say where the images are",
    )


# --- COCO -> VOC ------------------------------------------------------------------------------

#: Annotation keys VOC XML carries (boxes, class, flags); anything else is reported.
_CARRIED = frozenset({"id", "image_id", "category_id", "bbox", "area", "iscrowd", "attributes"})
_IMAGE_CARRIED = frozenset({"id", "file_name", "width", "height"})
#: Keys that are carried or reported on their own (segmentation: lost, but counted apart).
_ANNOTATION_KEYS = _CARRIED | {"segmentation"}
_XML_TAG = re.compile(r"[A-Za-z_][\w.-]*")

#: One object to write: class name, COCO box, attributes (None when there are none), and
#: the segmentation when PNGs are written.
_Object = tuple[str, Sequence[float], "dict[str, Any] | None", Any]


def write_voc(
    dataset: CocoDataset[Any, Any],
    out_dir: str | os.PathLike[str],
    *,
    coords: Coords = "one-based",
    split: str = "default",
    overwrite: bool = False,
    masks: bool = False,
    jobs: int | None = None,
    strict: bool = False,
) -> LossReport:
    """Write a VOC devkit tree: ``Annotations/<stem>.xml`` for every image (one without
    annotations gets an XML with no objects), ``ImageSets/Main/<split>.txt`` and
    ``labels.txt`` and ``labelmap.txt`` (the classes as Datumaro and CVAT import them).
    Boxes are rounded to whole pixels under ``coords``; the report holds the
    largest rounding error and everything VOC cannot hold (crowd regions, segmentations,
    keypoints, extra fields). ``masks`` also writes ``SegmentationObject/`` and
    ``SegmentationClass/`` PNGs (VOC palette; instance ``k`` is the ``k``-th object of the
    XML). The folder appears whole or not at all. ``jobs``: worker
    processes writing files (default: every core for large inputs)."""
    if coords not in COORDS:
        raise UsageError(f"coords must be one of {', '.join(COORDS)}, not {coords!r}")
    if dataset.kind not in ("instances", "keypoints"):
        raise ConversionError(
            LossReport("coco2voc"),
            f"coco2voc: a COCO {dataset.kind} file has no boxes to write as VOC",
        )
    report = LossReport("coco2voc")
    plan = plan_voc(dataset, report, masks=masks)
    report.raise_if_strict(strict)
    shift = 1 if coords == "one-based" else 0
    images = dataset.images
    class_index = {name: number for number, name in enumerate(plan.labels, 1)}
    inputs = [dataset.source] if dataset.source else []
    with atomic_directory(out_dir, overwrite=overwrite, inputs=inputs) as tmp:
        (tmp / "Annotations").mkdir()
        if masks:
            (tmp / "SegmentationObject").mkdir()
            (tmp / "SegmentationClass").mkdir()

        def tasks() -> Iterator[_WriteTask]:
            for start in range(0, len(images), _CHUNK):
                chunk = [
                    (i, plan.stems[i], images[i], plan.objects.get(images[i]["id"], []))
                    for i in range(start, min(start + _CHUNK, len(images)))
                ]
                yield str(tmp), shift, masks, class_index, chunk

        workers = choose_jobs(jobs, len(images), worth_it=_WORKERS_WORTH_IT_WRITE)
        total = -(-len(images) // _CHUNK)
        largest, overlap, segmented = 0.0, 0, []
        done = map_tasks(_write_task, tasks(), jobs=workers)
        for error, covered, written in track(done, total=total, desc="writing", unit="chunk"):
            largest = max(largest, error)
            overlap += covered
            segmented += written
        sets = tmp / "ImageSets" / "Main"
        sets.mkdir(parents=True)
        (sets / f"{split}.txt").write_text("".join(f"{s}\n" for s in plan.stems), encoding="utf-8")
        if masks:
            lines = "".join(f"{plan.stems[i]}\n" for i in segmented)
            (tmp / "ImageSets" / "Segmentation").mkdir()
            (tmp / "ImageSets" / "Segmentation" / f"{split}.txt").write_text(
                lines, encoding="utf-8"
            )
        (tmp / "labels.txt").write_text("".join(f"{n}\n" for n in plan.labels), encoding="utf-8")
        (tmp / "labelmap.txt").write_text(render_labelmap(plan.labels), encoding="utf-8")
    report.stats["largest_rounding_error_px"] = largest
    if overlap:
        report.lose(
            "mask_overlap",
            "pixels covered by two objects (a VOC PNG gives each pixel one object: the later "
            "one keeps it)",
            count=overlap,
        )
    report.count("xml files", len(images))
    report.count("objects", sum(len(objects) for objects in plan.objects.values()))
    if masks:
        report.count("segmentation pngs", 2 * len(segmented))
    return report


def render_labelmap(labels: Sequence[str]) -> str:
    """The ``labelmap.txt`` that Datumaro's VOC importer (and so CVAT's) reads its classes
    from: ``name:r,g,b:parts:actions`` per class, ``background`` first, each class in its
    VOC palette colour (the colour of its index in SegmentationClass PNGs). Without it they
    accept only VOC's own 20 classes ("Undeclared label 'kite'")."""
    from .masks import voc_color

    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for index, name in enumerate(labels, 1):
        r, g, b = voc_color(min(index, _VOID - 1))
        lines.append(f"{name}:{r},{g},{b}::")
    return "\n".join(lines) + "\n"


def _write_pngs(
    folder: Path,
    stem: str,
    image: Image,
    objects: Sequence[_Object],
    class_index: dict[str, int],
) -> int:
    """SegmentationObject and SegmentationClass PNGs (VOC palette) of one image; returns the
    number of pixels that two objects claimed."""
    import numpy as np
    from PIL import Image as PILImage

    from .. import geometry

    height, width = image["height"], image["width"]
    instances = np.zeros((height, width), dtype=np.uint8)
    classes = np.zeros((height, width), dtype=np.uint8)
    overlap = 0
    for number, (name, _, _, segmentation) in enumerate(objects, 1):
        if segmentation is None or number >= _VOID:
            continue
        mask = geometry.rle_to_mask(geometry.to_rle(segmentation, height, width)).astype(bool)
        overlap += int(np.count_nonzero(instances[mask]))
        instances[mask] = number
        classes[mask] = min(class_index[name], _VOID - 1)
    palette = _palette()
    for sub, array in (("SegmentationObject", instances), ("SegmentationClass", classes)):
        png = PILImage.fromarray(array, mode="P")
        png.putpalette(palette)
        png.save(folder / sub / f"{stem}.png", optimize=False)
    return overlap


#: A worker's share of :func:`write_voc`: the output folder, the pixel shift, whether to write
#: PNGs, class numbers, and ``(index, stem, image, objects)`` of its images. Self-contained:
#: workers are spawned and share nothing with the parent.
_WriteTask = tuple[str, int, bool, dict[str, int], list[tuple[int, str, Image, list[_Object]]]]


def _write_task(task: _WriteTask) -> tuple[float, int, list[int]]:
    """Write the XML (and PNGs) of some images; returns the largest rounding error, pixels
    two objects claimed, and the indices of the images that got PNGs."""
    folder, shift, masks, class_index, chunk = task
    prefix = os.path.join(folder, "Annotations", "")
    largest, overlap, segmented = 0.0, 0, []
    for index, stem, image, objects in chunk:
        has_masks = masks and any(obj[3] is not None for obj in objects)
        if has_masks:
            try:
                overlap += _write_pngs(Path(folder), stem, image, objects, class_index)
            except GeometryError as exc:  # (plan_voc checked them: a bug if it happens)
                raise exc.at(f"/images/{index} ({image['file_name']!r})") from None
            segmented.append(index)
        data, error = render_voc_xml(image, objects, shift, segmented=has_masks)
        largest = max(largest, error)
        fd = os.open(f"{prefix}{stem}.xml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return largest, overlap, segmented


class _Plan(NamedTuple):
    stems: list[str]  # the XML name of each image, in image order
    labels: list[str]
    objects: dict[int, list[_Object]]  # image id -> what to write


class _Tally:
    """Counts of one kind of loss or warning, with the first few places (cheaper than a
    ``report.lose`` per annotation at COCO scale)."""

    __slots__ = ("count", "examples")

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[int] = []

    def add(self, index: int) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(index)


def plan_voc(dataset: CocoDataset[Any, Any], report: LossReport, *, masks: bool = False) -> _Plan:
    """Everything :func:`write_voc` decides before writing: the objects of each image, the
    XML names, and what VOC cannot carry (into ``report``)."""
    document = dataset.document
    source = dataset.source or "dataset"
    if document.get("info") or document.get("licenses"):
        report.lose("info", "the dataset's info and licenses (VOC has no such fields)")
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for cat in dataset.categories:
        name = cat["name"]
        if name in seen:
            report.warn(
                "duplicate_category_name",
                "categories sharing a name (VOC names classes, so they merge)",
                where=f"category ids {seen[name]} and {cat['id']} ({name!r})",
            )
        seen.setdefault(name, cat["id"])
        names[cat["id"]] = name
        if cat.get("supercategory"):
            report.lose("supercategory", "category supercategories (labels.txt holds names only)")
    sizes = {img["id"]: (img.get("height", 0), img.get("width", 0)) for img in dataset.images}
    for img in dataset.images:
        extra = img.keys() - _IMAGE_CARRIED
        if extra:
            report.lose(
                "image_fields", f"image fields VOC has no place for ({', '.join(sorted(extra))})"
            )
        if not img.get("width") or not img.get("height"):
            report.warn(
                "image_size_missing",
                "images without width and height (<size> 0)",
                where=f"image {img['id']}",
            )

    tallies: dict[tuple[str, str, str], _Tally] = {}

    def tally(kind: str, key: str, message: str, index: int) -> None:
        entry = tallies.get((kind, key, message))
        if entry is None:
            entry = tallies[(kind, key, message)] = _Tally()
        entry.add(index)

    objects: dict[int, list[_Object]] = {}
    for index, ann in enumerate(dataset.annotations):
        image_id = ann["image_id"]
        if image_id not in sizes:
            tally("warn", "unknown_image", "annotations of images not in the file (skipped)", index)
            continue
        name = names.get(ann.get("category_id"))
        if name is None:
            tally("warn", "unknown_category", "annotations of unknown categories (skipped)", index)
            continue
        if ann.get("iscrowd"):
            tally("lose", "crowd", "crowd regions (iscrowd 1; VOC has none, not written)", index)
            continue
        if not _ANNOTATION_KEYS.issuperset(ann):
            for key in ann.keys() - _ANNOTATION_KEYS:
                tally(
                    "lose",
                    f"field_{key}",
                    f"annotation field '{key}' (VOC has no place for it)",
                    index,
                )
        box = ann.get("bbox")
        segmentation = ann.get("segmentation")
        if segmentation and not masks:
            tally(
                "lose",
                "segmentation",
                "segmentations (VOC XML holds boxes; the box is kept)",
                index,
            )
        elif masks and not segmentation:
            tally("lose", "no_mask", "objects without usable pixels in the PNGs", index)
        if segmentation and (box is None or masks):
            # Checked here, where the annotation's place is known: a GeometryError met while
            # writing could not say which annotation it is about.
            problem = _mask_problem(segmentation, *sizes[image_id])
            if problem is not None:  # rare: reported one by one, with the reason
                report.warn(
                    "bad_segmentation",
                    "segmentations that cannot become pixels in their image: no mask (and "
                    "no box taken from them)",
                    where=f"{source}:/annotations/{index}/segmentation: {problem}",
                )
                if masks:
                    tally("lose", "no_mask", "objects without usable pixels in the PNGs", index)
                segmentation = None
            elif box is None:
                box = _segmentation_box(segmentation, *sizes[image_id])
        if box is None:
            tally("warn", "no_box", "annotations without a bbox or segmentation (skipped)", index)
            continue
        attributes = ann.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            tally("lose", "attributes", "'attributes' that are not an object", index)
            attributes = None
        elif attributes and any(
            not isinstance(v, str | int | float | bool) and k != "actions"
            for k, v in attributes.items()
        ):
            tally("lose", "nested_attributes", "attributes with nested values", index)
        kept = segmentation if masks and segmentation else None
        objects.setdefault(image_id, []).append((name, box, attributes or None, kept))
    for (kind, key, message), entry in tallies.items():
        record = report.lose if kind == "lose" else report.warn
        record(key, message, count=entry.count)
        target = (report.losses if kind == "lose" else report.warnings)[key]
        target.examples = [f"{source}:/annotations/{i}" for i in entry.examples]
    labels = list(
        dict.fromkeys(cat["name"] for cat in sorted(dataset.categories, key=lambda c: c["id"]))
    )
    for name in labels:
        if ":" in name or not name.isprintable():
            report.warn(
                "label_name_unwritable",
                "class names with ':' or a control character: labelmap.txt cannot hold them "
                "as they are (Datumaro and CVAT split its lines at ':')",
                where=repr(name),
            )
    return _Plan(_xml_stems(dataset.images, report), labels, objects)


def _xml_stems(images: Sequence[Image], report: LossReport) -> list[str]:
    """A safe, unique XML name per image: the stem of the file name's last part, so no
    ``..``, absolute path or backslash in ``file_name`` can write outside the folder."""
    stems: list[str] = []
    used: set[str] = set()
    for img in images:
        file_name = img["file_name"]
        parts = file_name.replace("\\", "/").split("/")
        last = parts[-1]
        stem = os.path.splitext(last)[0] if last not in ("", ".", "..") else ""
        stem = re.sub(r"[\x00-\x1f]", "_", stem).strip() or f"image_{img['id']}"
        if ".." in parts or file_name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", file_name):
            report.warn(
                "unsafe_file_name",
                "file names reaching outside the image folder (written under their last part)",
                where=f"image {img['id']} ({file_name!r})",
            )
        if stem.lower() in used:
            report.warn(
                "xml_name_collision",
                "images whose file names end alike (the XML name gets the image id)",
                where=f"image {img['id']} ({file_name!r})",
            )
            stem = f"{stem}_{img['id']}"
        used.add(stem.lower())
        stems.append(stem)
    return stems


def render_voc_xml(
    image: Image, objects: Iterable[_Object], shift: int, *, segmented: bool = False
) -> tuple[bytes, float]:
    """The VOC XML of one image, and the largest change rounding made to a box corner."""
    file_name = image["file_name"].replace("\\", "/")
    folder, _, base = file_name.rpartition("/")
    out = [
        "<annotation>\n",
        f"\t<folder>{_escape(folder or 'JPEGImages')}</folder>\n",
        f"\t<filename>{_escape(base)}</filename>\n",
        "\t<source>\n\t\t<database>COCO (coco-convert)</database>\n\t</source>\n",
        f"\t<size>\n\t\t<width>{image.get('width', 0)}</width>\n"
        f"\t\t<height>{image.get('height', 0)}</height>\n\t\t<depth>3</depth>\n\t</size>\n",
        f"\t<segmented>{int(segmented)}</segmented>\n",
    ]
    largest = 0.0
    for name, box, attributes, _ in objects:
        corners, error = _round_box(box, shift)
        if error > largest:
            largest = error
        out.append(_object_xml(name, corners, attributes))
    out.append("</annotation>\n")
    return "".join(out).encode("utf-8"), largest


def _round_box(box: Sequence[float], shift: int) -> tuple[tuple[int, int, int, int], float]:
    """VOC corners of a COCO box, rounded half up to whole pixels, and the largest change.
    Integer boxes come back exactly. (Written out: this runs once per object.)"""
    x, y, w, h = box
    left, top, right, bottom = x + shift, y + shift, x + w, y + h
    xmin, ymin = math.floor(left + 0.5), math.floor(top + 0.5)
    xmax, ymax = math.floor(right + 0.5), math.floor(bottom + 0.5)
    # at least one pixel: a box thinner than half a pixel would vanish or turn inside out
    if xmax < xmin + 1 - shift:
        xmax = xmin + 1 - shift
    if ymax < ymin + 1 - shift:
        ymax = ymin + 1 - shift
    error = max(abs(xmin - left), abs(ymin - top), abs(xmax - right), abs(ymax - bottom))
    return (xmin, ymin, xmax, ymax), error


def _object_xml(
    name: str, corners: tuple[int, int, int, int], attributes: dict[str, Any] | None
) -> str:
    xmin, ymin, xmax, ymax = corners
    bndbox = (
        f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
        f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n"
    )
    if not attributes:  # the common case, kept to one format
        return (
            f"\t<object>\n\t\t<name>{_escape(name)}</name>\n\t\t<pose>Unspecified</pose>\n"
            f"\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n{bndbox}\t</object>\n"
        )
    attrs = dict(attributes)
    parts = [
        "\t<object>\n",
        f"\t\t<name>{_escape(name)}</name>\n",
        f"\t\t<pose>{_escape(_text(attrs.pop('pose', 'Unspecified')))}</pose>\n",
    ]
    for flag in ("truncated", "difficult", "occluded"):
        if flag in attrs or flag != "occluded":
            parts.append(f"\t\t<{flag}>{_escape(_text(attrs.pop(flag, 0)))}</{flag}>\n")
    parts.append(bndbox)
    actions = attrs.pop("actions", None)
    if isinstance(actions, dict) and actions:
        inner = "".join(
            f"\t\t\t<{tag}>{_escape(_text(v))}</{tag}>\n"
            for tag, v in actions.items()
            if _XML_TAG.fullmatch(tag)
        )
        parts.append(f"\t\t<actions>\n{inner}\t\t</actions>\n")
    scalars = [(k, v) for k, v in attrs.items() if isinstance(v, str | int | float | bool)]
    if scalars:
        parts.append("\t\t<attributes>\n")
        for key, value in scalars:
            parts.append(
                f"\t\t\t<attribute>\n\t\t\t\t<name>{_escape(key)}</name>\n"
                f"\t\t\t\t<value>{_escape(_text(value))}</value>\n\t\t\t</attribute>\n"
            )
        parts.append("\t\t</attributes>\n")
    parts.append("\t</object>\n")
    return "".join(parts)


def _escape(text: str) -> str:
    """XML text content: ``&``, ``<`` and ``>`` escaped (html's escape; xml.sax.saxutils
    would import urllib and http.client, 20 ms of start-up)."""
    if "&" in text or "<" in text or ">" in text:
        return _html_escape(text, quote=False)
    return text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mask_problem(segmentation: Any, height: Any, width: Any) -> str | None:
    """Why a segmentation cannot become pixels in its image (None if it can): an image size
    that is no size or too large to write as a PNG, or an RLE that does not fit the image."""
    from .. import geometry
    from ..images import MAX_PIXELS

    if not (type(height) is int and type(width) is int and height > 0 and width > 0):
        return f"the image's size {width} x {height} is not a positive width and height"
    if height * width > MAX_PIXELS:
        return f"the image's {width} x {height} pixels are more than Pillow's {MAX_PIXELS:,}"
    if isinstance(segmentation, dict):
        try:
            geometry.check_rle(segmentation, height, width)
        except GeometryError as exc:
            return exc.message
    return None


def _segmentation_box(segmentation: Any, height: int, width: int) -> list[float] | None:
    """The box of a segmentation's pixels (pycocotools' toBbox), or None if it has none."""
    if not height or not width:
        return None
    from .. import geometry

    box = geometry.bbox(segmentation, height, width)
    return box if box[2] > 0 and box[3] > 0 else None
