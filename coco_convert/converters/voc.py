"""Pascal VOC and ImageNet ILSVRC XML to and from COCO.

The ``voc`` format of the registry (:mod:`coco_convert.converters.base`). ``read_voc(src)``
reads a VOC devkit folder (``Annotations/``, ``ImageSets/Main/<split>.txt``, ``JPEGImages/``),
an ILSVRC CLS-LOC tree, a folder of XML files or a text file listing them, and returns a COCO
:class:`~coco_convert.dataset.InstancesDataset` (one split) and a
:class:`~coco_convert.converters.loss.LossReport`. ``write_voc(datasets, out_dir)`` writes a
devkit tree back, every text of the XML serialised by lxml. ILSVRC bounding-box XML is
VOC-shaped with synset ids as names; it goes through the same functions (``synsets=`` gives
names and the standard 1000-class order).

Pixel convention (see docs/voc.md for which tool writes which, with evidence): VOC devkit boxes
are 1-based and inclusive, so by default ``x = xmin - 1, w = xmax - xmin + 1`` (Detectron2 and
the VOC devkit); ``coords="zero-based"`` reads and writes ``x = xmin, w = xmax - xmin`` for
tools that write 0-based corner coordinates (LabelImg, CVAT/Datumaro, Label Studio, labelme).

XML is parsed by :mod:`coco_convert.xmlio` (lxml with entity resolution, network access and
huge trees off; a document that declares entities is refused before any value is read).
The ``parse_*``/``build_*`` helpers are pure and tested without files.
"""

# Per-file paths are strings (os.path): at 100k files, Path objects cost more than the parse.
# ruff: noqa: PTH113, PTH118, PTH122

from __future__ import annotations

import functools
import itertools
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast, get_args

import orjson
from lxml import etree

from ..dataset import AnyDataset, CocoDataset, InstancesDataset
from ..errors import GeometryError, InputError, Location, UsageError
from ..images import ImageSizeError, read_size
from ..io import (
    atomic_directory,
    files_written_behind,
    gc_paused,
    is_unicode,
    open_file,
    read_file,
    read_text,
    real_path,
)
from ..palette import VOC_CLASSES, VOID, palette_indices, voc_color, voc_palette
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from ..schemas.coco import Annotation, Category, Image
from ..schemas.types import NUMBER_LIMIT, SIDE_MAX
from ..xmlio import parse_bytes, xml_text
from .base import DEFAULT_SPLIT, Format, Option, Read, streamed_splits
from .classes import category_list, label_names, load_labels, numbered
from .loss import ConversionError, LossReport

if TYPE_CHECKING:  # numpy, pycocotools and the mask module load only for --masks
    import numpy as np
    import numpy.typing as npt

    from ..streaming import CocoStream

__all__ = [
    "FORMAT",
    "Coords",
    "ImageIds",
    "Rendered",
    "VocFile",
    "VocObject",
    "detect",
    "load_labels",
    "load_synsets",
    "parse_voc_xml",
    "read_index_png",
    "read_voc",
    "render_labelmap",
    "render_voc_xml",
    "render_voc_xmls",
    "write_voc",
]

Coords = Literal["one-based", "zero-based"]
ImageIds = Literal["sequential", "from-filename"]
COORDS: tuple[Coords, ...] = get_args(Coords)
IMAGE_IDS: tuple[ImageIds, ...] = get_args(ImageIds)

#: Object children read into ``attributes`` as 0/1 flags.
_FLAGS = ("truncated", "difficult", "occluded")
#: Top-level elements describing the image that COCO has no field for.
_IMAGE_METADATA = ("folder", "path", "source", "owner", "segmented")
_SYNSET = re.compile(r"n\d{8}")
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
    root = parse_bytes(data, path)
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
    return numbered(ordered)


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
#: (benchmarks/bench_voc.py compares one process with one per core at both sizes: starting
#: workers and sending the files back costs more than it saves on VOC2012's 17,125 files).
_CHUNK = 1000
_WORKERS_WORTH_IT_PARSE = 50_000
#: Images with masks to draw before workers pay (a PNG pair costs milliseconds), per task.
_WORKERS_WORTH_IT_PNG = 2_000
_PNG_CHUNK = 200


def parse_files(paths: Sequence[str], *, jobs: int | None = None) -> Iterator[VocFile]:
    """Parse annotation files, in order (the part of :func:`read_voc` that scales): in one
    worker process per core for large inputs, or ``jobs`` workers.

    Workers send their files back as orjson bytes, not pickles: pickling parsed files costs
    about as much as parsing them, JSON a tenth of that."""
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


def read_index_png(
    path: str | os.PathLike[str], report: LossReport | None = None
) -> npt.NDArray[np.int64]:
    """The palette indices of a VOC segmentation PNG. Palette PNGs (the devkit's) give them
    directly; RGB PNGs (Datumaro's and CVAT's exports colour them) are mapped back through
    the VOC palette (:mod:`coco_convert.converters.masks` reads the pixels)."""
    from .masks import read_mask_values

    values: npt.NDArray[np.int64] = read_mask_values(
        Path(path), palette_indices(), report or LossReport("png")
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
        for extra in sorted(i for i in present - {0, VOID} if i > objects):
            report.warn(
                "mask_without_object",
                "SegmentationObject instances with no <object> of that number (left out)",
                where=Location(str(png)),
                detail=f"instance {extra}; the XML has {objects} objects",
            )
        if VOID in present:
            report.lose(
                "void_border",
                "void borders (255) of SegmentationObject PNGs (COCO has no 'ignore' pixels)",
                where=Location(str(png)),
            )
        for ann, number in anns:
            mask = indices == number
            if not mask.any():
                report.warn(
                    "object_without_mask",
                    "objects with no pixels in their SegmentationObject PNG (box only)",
                    where=Location(str(png)),
                    detail=f"object {number}",
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
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """Read Pascal VOC (or ImageNet ILSVRC) annotations into a COCO instances dataset: one
    split, named ``split`` (or ``default``).

    ``src`` is a devkit folder (``--split`` picks ``ImageSets/Main/<split>.txt``), a folder
    of XML files (searched recursively: ILSVRC train has one folder per synset), a text file
    listing XML paths, or one XML file. ``labels`` (a file or a list of names) fixes the
    classes and their ids; ``synsets`` (``LOC_synset_mapping.txt``) names ILSVRC synsets.
    ``images`` is where image headers are read when an XML has no usable ``<size>``.
    ``masks`` reads the devkit's ``SegmentationObject/<stem>.png`` into each object's
    segmentation: exact polygons (holes cut in), or RLE with ``rle``, as ``masks2coco``.
    ``jobs``: worker processes for parsing (default: every core for large inputs).

    Returns ``{split: dataset}`` and the report of what was lost or looked wrong (``report``,
    when given, is filled); with ``strict`` a warning raises
    :class:`~coco_convert.converters.loss.ConversionError` instead."""
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
    report = LossReport("voc2coco") if report is None else report
    with gc_paused():  # millions of small objects, no cycles: see io.gc_paused
        files = list(parse_files(layout.xml_paths, jobs=jobs))
        for image in layout.unannotated:
            try:
                width, height = read_size(image)
            except ImageSizeError as exc:
                raise InputError(str(image), f"cannot read the image size: {exc}") from None
            files.append(VocFile(str(image), image.name, width, height, []))
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
    return {split or DEFAULT_SPLIT: dataset}, report


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
    vocabulary = (
        "--synsets"
        if synsets is not None
        else "the class list (--labels)"
        if labels is not None
        else "the classes"
    )
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
                where=Location(voc.path),
            )
            continue
        if file_name in seen_names:
            report.warn(
                "duplicate_file_name",
                "images named twice (two XML files with the same <filename>)",
                where=Location(voc.path),
                detail=f"<filename> {file_name!r} is also that of {seen_names[file_name]}",
            )
        seen_names[file_name] = voc.path
        width, height = voc.width, voc.height
        image: Image = {"id": image_id, "file_name": file_name}
        if width is None or height is None:
            width, height = _image_size(voc, file_name, image_root, report)
        if width is not None and height is not None:
            image["width"], image["height"] = width, height
        images.append(image)
        if voc.metadata:
            metadata.update(voc.metadata)
            metadata_files.append(voc.path)
        seen_objects: dict[tuple[Any, ...], int] = {}
        for number, obj in enumerate(voc.objects, 1):
            if obj.box is not None:
                first = seen_objects.setdefault((obj.name, obj.box), number)
                if first != number:
                    report.warn(
                        "duplicate_object",
                        "objects repeating another of the same file exactly (same class and "
                        "box; kept)",
                        where=_where(voc.path, obj),
                        detail=f"object {number} repeats object {first} (same class and box)",
                    )
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
            where=Location(metadata_files[0]),
            count=len(metadata_files),
        )
    report.count("images", len(images))
    report.count("annotations", len(annotations))
    report.count("categories", len(categories))
    report.stats["categories"] = category_list(categories)
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
    width: int | None,
    height: int | None,
    skip_difficult: bool,
) -> Annotation | None:
    if obj.name is None:
        report.warn(
            "object_without_name",
            "objects without a <name> (dropped)",
            where=_where(path, obj),
            detail=f"object {number} has no <name>",
        )
        return None
    if obj.box is None:
        report.warn(
            "object_without_box",
            "objects without a usable box (dropped)",
            where=_where(path, obj),
            detail=f"object {number}: {obj.problem}",
        )
        return None
    category_id = by_name.get(obj.name)
    if category_id is None:
        report.warn(
            "unknown_class",
            f"objects whose class is not in {vocabulary or 'the classes'} (dropped)",
            where=_where(path, obj),
            detail=f"object {number}: class {obj.name!r} is not in {vocabulary}",
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
                where=_where(path, obj),
                detail=f"object {number}: {_shown(obj.box)} has fractional pixels",
            )
    if w <= 0 or h <= 0:
        report.warn(
            "degenerate_box",
            "boxes with no area under the pixel convention (xmax < xmin or ymax < ymin; dropped)",
            where=_where(path, obj),
            detail=f"object {number}: {_shown(obj.box)} has xmax {'<' if shift else '<='} xmin or "
            f"ymax {'<' if shift else '<='} ymin",
        )
        return None
    if (
        width is not None
        and height is not None
        and (xmin < 0 or ymin < 0 or xmax > width or ymax > height)
    ):  # outside [0, size] in either convention (1-based boxes lie in [1, size])
        report.warn(
            "box_outside_image",
            "boxes reaching outside the image (kept as written)",
            where=_where(path, obj),
            detail=f"object {number}: {_shown(obj.box)} reaches outside the {width}x{height} image",
        )
    elif shift and (xmin == 0 or ymin == 0):
        report.warn(
            "zero_in_one_based",
            "boxes touching pixel 0 read as one-based (x or y becomes -1; devkit boxes "
            "start at 1, zero-based tools such as LabelImg and CVAT write 0: pass --coords "
            "zero-based)",
            where=_where(path, obj),
            detail=f"object {number}: {_shown(obj.box)} has a corner at 0 (read as one-based: -1)",
        )
    if obj.parts:
        report.lose(
            "parts",
            "person-layout <part> boxes (COCO has no parts)",
            where=_where(path, obj),
            detail=f"object {number}",
            count=obj.parts,
        )
    if obj.dropped_fields:
        report.lose(
            "object_fields",
            f"object fields with nested values (<{'>, <'.join(obj.dropped_fields)}>)",
            where=_where(path, obj),
            detail=f"object {number}",
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


def _shown(box: tuple[float, float, float, float]) -> str:
    """``box (xmin, ymin, xmax, ymax)`` as the XML has it, for a message (built only then)."""
    return f"box ({box[0]}, {box[1]}, {box[2]}, {box[3]})"


def _where(path: str, obj: VocObject) -> Location:
    """Where a message about an object points: its ``<object>`` element's line."""
    return Location(path, line=obj.line)


def _categories(
    files: Sequence[VocFile],
    labels: str | os.PathLike[str] | Sequence[str] | None,
    synsets: str | os.PathLike[str] | None,
) -> list[Category]:
    if synsets is not None:
        return _synset_categories(load_synsets(synsets))
    if labels is not None:
        return numbered(label_names(labels))
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
            where=Location(voc.path),
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
            where=Location(voc.path),
            detail=f"<filename> is {voc.filename!r}, but the file is {xml_name!r}",
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


def _image_size(
    voc: VocFile, file_name: str, image_root: Path | None, report: LossReport
) -> tuple[int | None, int | None]:
    """For a file without a usable ``<size>`` (LabelImg writes 0 when it could not read the
    image): width and height from the image file's header (:func:`coco_convert.images.
    read_size`: no pixels decoded, EXIF rotation applied, as training frameworks see the
    image), or none when the image cannot be found or read. Reported either way."""
    candidates = [image_root / file_name] if image_root is not None else []
    candidates.append(Path(voc.path).parent / PurePosixPath(file_name).name)
    message = "files without a <size> (width and height from the image file, or none)"
    for path in candidates:
        if path.is_file():
            try:
                width, height = read_size(path)
            except ImageSizeError as exc:
                detail = (
                    f"no <size> with a width and height above 0, and {path} cannot be read: {exc}"
                )
                break
            detail = f"no <size> with a width and height above 0: read from {path}"
            report.warn("no_size", message, where=Location(voc.path), detail=detail)
            return width, height
    else:
        looked = " or ".join(str(c) for c in candidates)
        detail = (
            f"no <size> with a width and height above 0, and the image is not at {looked} "
            "(pass --images DIR)"
        )
    report.warn("no_size", message, where=Location(voc.path), detail=detail)
    return None, None


# --- COCO -> VOC ------------------------------------------------------------------------------

#: Annotation keys VOC XML carries (boxes, class, flags); anything else is reported.
_CARRIED = frozenset({"id", "image_id", "category_id", "bbox", "area", "iscrowd", "attributes"})
_IMAGE_CARRIED = frozenset({"id", "file_name", "width", "height"})
#: Keys that are carried or reported on their own (segmentation: lost, but counted apart).
_ANNOTATION_KEYS = _CARRIED | {"segmentation"}
_XML_TAG = re.compile(r"[A-Za-z_][\w.-]*")
#: Text that XML holds as it is: nothing to escape (lxml escapes &, <, > and CR) and nothing
#: XML cannot hold (:data:`coco_convert.xmlio.NOT_XML`).
_PLAIN = re.compile("[^&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]*")

#: One object to write: class name, COCO box, attributes (None when there are none), and
#: the segmentation when PNGs are written.
_Object = tuple[str, Sequence[float], "dict[str, Any] | None", Any]


def write_voc(
    datasets: AnyDataset | CocoStream | Mapping[str, AnyDataset | CocoStream],
    out: str | os.PathLike[str],
    *,
    coords: Coords = "one-based",
    masks: bool = False,
    overwrite: bool = False,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> LossReport:
    """Write a VOC devkit tree: ``Annotations/<stem>.xml`` for every image (one without
    annotations gets an XML with no objects), ``ImageSets/Main/<split>.txt`` for each split,
    ``labels.txt`` and ``labelmap.txt`` (the classes as Datumaro and CVAT import them). Boxes
    are rounded to whole pixels under ``coords``; the report holds the largest rounding error
    and everything VOC cannot hold (crowd regions, segmentations, keypoints, extra fields).
    ``masks`` also writes ``SegmentationObject/`` and ``SegmentationClass/`` PNGs (VOC
    palette; instance ``k`` is the ``k``-th object of the XML). The folder appears whole or
    not at all; an existing non-empty one is replaced only with ``overwrite``. ``jobs``:
    worker processes writing files (default: every core for large inputs).

    A split may be a COCO file read a chunk at a time
    (:class:`~coco_convert.streaming.CocoStream`, ``--stream``): the same files and report
    in bounded memory (:func:`_plan_stream`, :func:`_stream_tasks`)."""
    if coords not in COORDS:
        raise UsageError(f"coords must be one of {', '.join(COORDS)}, not {coords!r}")
    report = LossReport("coco2voc") if report is None else report
    streams, splits = streamed_splits(datasets)
    for dataset in splits.values():
        if not isinstance(dataset, CocoDataset) or dataset.kind not in ("instances", "keypoints"):
            raise ConversionError(
                report, f"{report.conversion}: a COCO {dataset.kind} file has no boxes for VOC"
            )
    used: set[str] = set()
    with gc_paused():  # (a tuple per object, no cycles: the collector would rescan them all)
        plans = {
            name: (
                _plan_stream(streams[name], report, masks=masks, used=used)
                if name in streams
                else plan_voc(
                    cast("CocoDataset[Any, Any]", dataset), report, masks=masks, used=used
                )
            )
            for name, dataset in splits.items()
        }
    labels = _labels(splits.values(), report)
    report.raise_if_strict(strict)
    class_index = {name: number for number, name in enumerate(labels, 1)}
    shift = 1 if coords == "one-based" else 0
    largest, overlap, replaced, files = 0.0, 0, 0, 0
    inputs = [dataset.source for dataset in splits.values() if dataset.source]
    with (
        atomic_directory(out, overwrite=overwrite, inputs=inputs) as tmp,
        gc_paused(),  # (millions of small strings and tuples, no cycles)
        files_written_behind(exclusive=True) as write,
    ):
        for folder in ("Annotations", "ImageSets/Main"):
            (tmp / folder).mkdir(parents=True)
        if masks:
            for folder in ("SegmentationObject", "SegmentationClass", "ImageSets/Segmentation"):
                (tmp / folder).mkdir(parents=True)
        prefix = os.path.join(tmp, "Annotations", "")
        for name, plan in plans.items():
            images = cast("CocoDataset[Any, Any]", splits[name]).images
            if name in streams:
                written = _write_stream(
                    streams[name], plan, tmp, shift, class_index, masks, jobs, write
                )
                largest = max(largest, written.largest)
                replaced += written.replaced
                overlap += written.overlap
                files += len(plan.stems)
                _write_list(tmp / "ImageSets" / "Main" / f"{name}.txt", plan.stems)
                if masks:
                    _write_list(
                        tmp / "ImageSets" / "Segmentation" / f"{name}.txt",
                        [plan.stems[i] for i in written.segmented],
                    )
                    report.count("segmentation_pngs", 2 * len(written.segmented))
                continue
            objects = [plan.objects.get(image["id"], ()) for image in images]
            segmented: list[int] = []
            if masks:
                segmented, overlap_pngs = _write_all_pngs(
                    tmp, images, plan.stems, objects, class_index, jobs
                )
                overlap += overlap_pngs
            with_pngs = set(segmented)
            # The XML: rendered here batch by batch (a few microseconds an object) while one
            # thread creates the files of the previous batch.
            for start in track(range(0, len(images), _CHUNK), desc=f"writing {name}", unit="chunk"):
                indices = range(start, min(start + _CHUNK, len(images)))
                rendered = render_voc_xmls(
                    [(images[i], objects[i], i in with_pngs) for i in indices], shift
                )
                largest = max(largest, rendered.largest)
                replaced += rendered.replaced
                write(
                    [
                        (f"{prefix}{plan.stems[i]}.xml", data)
                        for i, data in zip(indices, rendered.files, strict=True)
                    ]
                )
            files += len(images)
            _write_list(tmp / "ImageSets" / "Main" / f"{name}.txt", plan.stems)
            if masks:
                _write_list(
                    tmp / "ImageSets" / "Segmentation" / f"{name}.txt",
                    [plan.stems[i] for i in segmented],
                )
                report.count("segmentation_pngs", 2 * len(segmented))
        _write_list(tmp / "labels.txt", [xml_text(label)[0] for label in labels])
        (tmp / "labelmap.txt").write_text(render_labelmap(labels), encoding="utf-8")
    report.stats["largest_rounding_error_px"] = largest
    if overlap:
        report.lose(
            "mask_overlap",
            "pixels covered by two objects (a VOC PNG gives each pixel one object: the later "
            "one keeps it)",
            count=overlap,
        )
    if replaced:
        report.lose(
            "xml_characters",
            "texts (names, file names, attributes) holding characters XML cannot hold: "
            "each such character written as U+FFFD",
            count=replaced,
        )
    report.count("xml_files", files)
    report.count("objects", sum(plan.n_objects for plan in plans.values()))
    return report


def _plan_stream(stream: CocoStream, report: LossReport, *, masks: bool, used: set[str]) -> _Plan:
    """:func:`plan_voc` for a split read a chunk at a time: the same report, the XML names
    and the number of objects; the objects themselves are planned again, image by image,
    as they are written (:func:`_stream_tasks`)."""
    source = stream.name
    header = stream.header_dataset()
    names = _plan_header(header.document, header.categories, report, source)
    sizes: dict[int, tuple[int, int]] = {}
    images: list[Any] = []  # (what an XML name needs of each image)
    for first, records in stream.checked("images"):
        found = _plan_images(records, first, report, source)
        if len(found) < len(records) or not sizes.keys().isdisjoint(found):
            raise UsageError(
                f"{source}: image ids repeat; coco2voc --stream needs unique image ids (leave "
                "out --stream: each such image then gets the objects of all)"
            )
        sizes.update(found)
        images += [{"id": img["id"], "file_name": img["file_name"]} for img in records]
    planner = _Planner(names, sizes, masks, report, source)
    count = 0
    with gc_paused():
        for first, records in stream.checked("annotations"):
            for j, ann in enumerate(records):
                count += planner.plan(first + j, ann) is not None
    planner.finish()
    stems = _xml_stems(images, report, source, used)
    return _Plan(stems, {}, count, sizes, names)


class _Written(NamedTuple):
    """What writing a streamed split gave: the largest rounding, the texts with characters XML
    cannot hold, the pixels two objects claimed, the images that got PNGs."""

    largest: float
    replaced: int
    overlap: int
    segmented: list[int]


def _write_stream(
    stream: CocoStream,
    plan: _Plan,
    folder: Path,
    shift: int,
    class_index: dict[str, int],
    masks: bool,
    jobs: int | None,
    write: Callable[[list[tuple[str, bytes]]], None],
) -> _Written:
    """The XML (and PNGs) of a split read a chunk at a time: each image with its annotations
    (:func:`~coco_convert.streaming.image_groups`), its objects planned again (what they
    could not carry is in the report already: :func:`_plan_stream`), rendered in the same
    batches as a loaded split's; the PNGs drawn on the way (over every core for many)."""
    from ..streaming import image_groups

    planner = _Planner(
        plan.names or {}, plan.sizes or {}, masks, LossReport("coco2voc"), stream.name
    )
    prefix = os.path.join(folder, "Annotations", "")
    largest, replaced = 0.0, 0
    segmented: list[int] = []

    def batches() -> Iterator[list[tuple[int, Image, list[_Object]]]]:
        groups = image_groups(
            stream, lambda: stream.records("images"), lambda: stream.records("annotations")
        )
        batch: list[tuple[int, Image, list[_Object]]] = []
        for i, image, anns in groups:
            if image is None:  # annotations of no image (the plan counted them)
                continue
            batch.append((i, image, [obj for j, ann in anns if (obj := planner.plan(j, ann))]))
            if len(batch) == _CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch

    def png_tasks() -> Iterator[_PngTask]:
        nonlocal largest, replaced
        for batch in batches():
            drawn: list[tuple[int, str, Image, Sequence[_Object]]] = [
                (i, plan.stems[i], image, objects)
                for i, image, objects in batch
                if masks and any(obj[3] is not None for obj in objects)
            ]
            with_pngs = {entry[0] for entry in drawn}
            segmented.extend(entry[0] for entry in drawn)
            rendered = render_voc_xmls(
                [(image, objects, i in with_pngs) for i, image, objects in batch], shift
            )
            largest = max(largest, rendered.largest)
            replaced += rendered.replaced
            write(
                [
                    (f"{prefix}{plan.stems[i]}.xml", data)
                    for (i, _, _), data in zip(batch, rendered.files, strict=True)
                ]
            )
            for start in range(0, len(drawn), _PNG_CHUNK):
                yield str(folder), class_index, drawn[start : start + _PNG_CHUNK]

    workers = choose_jobs(jobs, len(plan.stems) if masks else 0, worth_it=_WORKERS_WORTH_IT_PNG)
    overlap = sum(map_tasks(_png_task, png_tasks(), jobs=workers))
    return _Written(largest, replaced, overlap, segmented)


def _labels(datasets: Iterable[AnyDataset], report: LossReport) -> list[str]:
    """Class names in category-id order over every split (names shared by several ids, or
    by several splits, once); names labelmap.txt cannot hold are reported."""
    categories = [
        cat for dataset in datasets for cat in cast("CocoDataset[Any, Any]", dataset).categories
    ]
    labels = list(dict.fromkeys(c["name"] for c in sorted(categories, key=lambda c: c["id"])))
    for name in labels:
        if ":" in name or not name.isprintable():
            report.warn(
                "label_name_unwritable",
                "class names with ':' or a control character: labelmap.txt cannot hold them "
                "as they are (Datumaro and CVAT split its lines at ':')",
                detail=repr(name),
            )
    return labels


def _write_list(path: Path, lines: Iterable[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def render_labelmap(labels: Sequence[str]) -> str:
    """The ``labelmap.txt`` that Datumaro's VOC importer (and so CVAT's) reads its classes
    from: ``name:r,g,b:parts:actions`` per class, ``background`` first, each class in its
    VOC palette colour (the colour of its index in SegmentationClass PNGs). Without it they
    accept only VOC's own 20 classes ("Undeclared label 'kite'")."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for index, name in enumerate(labels, 1):
        r, g, b = voc_color(min(index, VOID - 1))
        lines.append(f"{xml_text(name)[0]}:{r},{g},{b}::")
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
        if segmentation is None or number >= VOID:
            continue
        mask = geometry.rle_to_mask(geometry.to_rle(segmentation, height, width)).astype(bool)
        overlap += int(np.count_nonzero(instances[mask]))
        instances[mask] = number
        classes[mask] = min(class_index[name], VOID - 1)
    palette = voc_palette()
    for sub, array in (("SegmentationObject", instances), ("SegmentationClass", classes)):
        png = PILImage.fromarray(array, mode="P")
        png.putpalette(palette)
        png.save(folder / sub / f"{stem}.png", optimize=False)
    return overlap


def _write_all_pngs(
    folder: Path,
    images: Sequence[Image],
    stems: Sequence[str],
    objects: Sequence[Sequence[_Object]],
    class_index: dict[str, int],
    jobs: int | None,
) -> tuple[list[int], int]:
    """The PNGs of every image with a mask to draw (over every core for many): the indices
    of those images, and the pixels that two objects claimed."""
    todo = [i for i, found in enumerate(objects) if any(obj[3] is not None for obj in found)]

    def tasks() -> Iterator[_PngTask]:
        for start in range(0, len(todo), _PNG_CHUNK):
            chunk = [(i, stems[i], images[i], objects[i]) for i in todo[start : start + _PNG_CHUNK]]
            yield str(folder), class_index, chunk

    workers = choose_jobs(jobs, len(todo), worth_it=_WORKERS_WORTH_IT_PNG)
    total = -(-len(todo) // _PNG_CHUNK)
    done = map_tasks(_png_task, tasks(), jobs=workers)
    overlap = sum(track(done, total=total, desc="drawing masks", unit="chunk"))
    return todo, overlap


#: A worker's share of the PNGs: the output folder, class numbers, and ``(index, stem, image,
#: objects)`` of its images. Self-contained: workers are spawned and share nothing with the
#: parent.
_PngTask = tuple[str, dict[str, int], list[tuple[int, str, Image, Sequence[_Object]]]]


def _png_task(task: _PngTask) -> int:
    """Draw the PNGs of some images; the pixels two objects claimed."""
    folder, class_index, chunk = task
    overlap = 0
    for index, stem, image, objects in chunk:
        try:
            overlap += _write_pngs(Path(folder), stem, image, objects, class_index)
        except GeometryError as exc:  # (plan_voc checked them: a bug if it happens)
            raise exc.at(f"/images/{index} ({image['file_name']!r})") from None
    return overlap


class _Plan(NamedTuple):
    stems: list[str]  # the XML name of each image, in image order
    objects: dict[int, list[_Object]]  # image id -> what to write (streamed: empty)
    n_objects: int  # objects to write
    #: Streamed: each image's (height, width) by id, each category's class name.
    sizes: dict[int, tuple[int, int]] | None = None
    names: dict[int, str] | None = None


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


def plan_voc(
    dataset: CocoDataset[Any, Any],
    report: LossReport,
    *,
    masks: bool = False,
    used: set[str] | None = None,
) -> _Plan:
    """Everything :func:`write_voc` decides before writing one split: the objects of each
    image, the XML names (unique among ``used``, the names other splits took), and what VOC
    cannot carry (into ``report``)."""
    source = dataset.source or "<dataset>"
    names = _plan_header(dataset.document, dataset.categories, report, source)
    sizes = _plan_images(dataset.images, 0, report, source)
    planner = _Planner(names, sizes, masks, report, source)
    objects: dict[int, list[_Object]] = {}
    for index, ann in enumerate(dataset.annotations):
        found = planner.plan(index, ann)
        if found is not None:
            objects.setdefault(ann["image_id"], []).append(found)
    planner.finish()
    used = set() if used is None else used
    count = sum(len(found) for found in objects.values())
    return _Plan(_xml_stems(dataset.images, report, source, used), objects, count)


def _plan_header(
    document: Any, categories: Sequence[Category], report: LossReport, source: str
) -> dict[int, str]:
    """What VOC cannot carry of a split's header; the class name of each category id."""
    if document.get("info") or document.get("licenses"):
        report.lose("info", "the dataset's info and licenses (VOC has no such fields)")
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for i, cat in enumerate(categories):
        name = cat["name"]
        if name in seen:
            report.warn(
                "duplicate_category_name",
                "categories sharing a name (VOC names classes, so they merge)",
                where=Location(source, pointer=f"/categories/{i}"),
                detail=f"{name!r} is also category {seen[name]}",
            )
        seen.setdefault(name, cat["id"])
        names[cat["id"]] = name
        if cat.get("supercategory"):
            report.lose("supercategory", "category supercategories (labels.txt holds names only)")
    return names


def _plan_images(
    images: Sequence[Image], first: int, report: LossReport, source: str
) -> dict[int, tuple[int, int]]:
    """What VOC cannot carry of images ``first:`` of a split; their (height, width) by id."""
    sizes = {img["id"]: (img.get("height", 0), img.get("width", 0)) for img in images}
    for i, img in enumerate(images, first):
        extra = img.keys() - _IMAGE_CARRIED
        if extra:
            report.lose(
                "image_fields", f"image fields VOC has no place for ({', '.join(sorted(extra))})"
            )
        if not img.get("width") or not img.get("height"):
            report.warn(
                "image_size_missing",
                "images without width and height (<size> 0)",
                where=Location(source, pointer=f"/images/{i}"),
            )
    return sizes


class _Planner:
    """What to write of each annotation, in file order, and what VOC cannot carry of them
    (counted, with the first few places: cheaper than a ``report.lose`` per annotation at
    COCO scale; into the report at :meth:`finish`)."""

    def __init__(
        self,
        names: dict[int, str],
        sizes: dict[int, tuple[int, int]],
        masks: bool,
        report: LossReport,
        source: str,
    ) -> None:
        self.names = names
        self.sizes = sizes
        self.masks = masks
        self.report = report
        self.source = source
        self.tallies: dict[tuple[str, str, str], _Tally] = {}

    def tally(self, kind: str, key: str, message: str, index: int) -> None:
        entry = self.tallies.get((kind, key, message))
        if entry is None:
            entry = self.tallies[(kind, key, message)] = _Tally()
        entry.add(index)

    def plan(self, index: int, ann: Annotation) -> _Object | None:
        """The object to write for annotation ``index`` (None: nothing, and why is
        counted)."""
        tally, masks = self.tally, self.masks
        image_id = ann["image_id"]
        if image_id not in self.sizes:
            tally("warn", "unknown_image", "annotations of images not in the file (skipped)", index)
            return None
        name = self.names.get(ann.get("category_id"))
        if name is None:
            tally("warn", "unknown_category", "annotations of unknown categories (skipped)", index)
            return None
        if ann.get("iscrowd"):
            tally("lose", "crowd", "crowd regions (iscrowd 1; VOC has none, not written)", index)
            return None
        if not _ANNOTATION_KEYS.issuperset(ann):
            for key in [key for key in ann if key not in _ANNOTATION_KEYS]:  # (repeatable)
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
            problem = _mask_problem(segmentation, *self.sizes[image_id])
            if problem is not None:  # rare: reported one by one, with the reason
                self.report.warn(
                    "bad_segmentation",
                    "segmentations that cannot become pixels in their image: no mask (and "
                    "no box taken from them)",
                    where=Location(self.source, pointer=f"/annotations/{index}/segmentation"),
                    detail=problem,
                )
                if masks:
                    tally("lose", "no_mask", "objects without usable pixels in the PNGs", index)
                segmentation = None
            elif box is None:
                box = _segmentation_box(segmentation, *self.sizes[image_id])
        if box is None:
            tally("warn", "no_box", "annotations without a bbox or segmentation (skipped)", index)
            return None
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
        return (name, box, attributes or None, kept)

    def finish(self) -> None:
        """The counts into the report, the last example of each carrying the rest."""
        for (kind, key, message), entry in self.tallies.items():
            record = self.report.lose if kind == "lose" else self.report.warn
            for n, i in enumerate(entry.examples):
                last = n == len(entry.examples) - 1
                count = entry.count - len(entry.examples) + 1 if last else 1
                where = Location(self.source, pointer=f"/annotations/{i}")
                record(key, message, where=where, count=count)


def _xml_stems(
    images: Sequence[Image], report: LossReport, source: str, used: set[str]
) -> list[str]:
    """A safe, unique XML name per image (among ``used``, which it extends): the stem of the
    file name's last part, so no ``..``, absolute path or backslash in ``file_name`` can
    write outside the folder."""
    stems: list[str] = []
    for i, img in enumerate(images):
        file_name = img["file_name"]
        parts = file_name.replace("\\", "/").split("/")
        last = parts[-1]
        stem = os.path.splitext(last)[0] if last not in ("", ".", "..") else ""
        stem = re.sub(r"[\x00-\x1f]", "_", stem).strip() or f"image_{img['id']}"
        where = Location(source, pointer=f"/images/{i}/file_name")
        if ".." in parts or file_name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", file_name):
            report.warn(
                "unsafe_file_name",
                "file names reaching outside the image folder (written under their last part)",
                where=where,
                detail=repr(file_name),
            )
        elif len(parts) > 1:
            report.lose(
                "image_folders",
                "image folders in file names: the XML keeps the last part as <filename> and "
                "the folder as <folder>, which VOC readers do not take as part of the name",
                where=where,
            )
        if stem.lower() in used:
            report.warn(
                "xml_name_collision",
                "images whose file names end alike (the XML name gets the image id)",
                where=where,
                detail=repr(file_name),
            )
            stem = f"{stem}_{img['id']}"
            while stem.lower() in used:
                stem += "_"
        used.add(stem.lower())
        stems.append(stem)
    return stems


class Rendered(NamedTuple):
    """VOC XML files (bytes, one per image), the largest change rounding made to a box
    corner, and how many texts held characters XML cannot hold (written as U+FFFD)."""

    files: list[bytes]
    largest: float
    replaced: int


def render_voc_xml(
    image: Image, objects: Iterable[_Object], shift: int, *, segmented: bool = False
) -> tuple[bytes, float, int]:
    """The VOC XML of one image; the largest change rounding made to a box corner; and how
    many texts held characters XML cannot hold (written as U+FFFD). See
    :func:`render_voc_xmls`."""
    rendered = render_voc_xmls([(image, list(objects), segmented)], shift)
    return rendered.files[0], rendered.largest, rendered.replaced


def render_voc_xmls(items: Sequence[tuple[Image, Sequence[_Object], bool]], shift: int) -> Rendered:
    """The VOC XML of each ``(image, objects, segmented)``.

    Every text that comes from the data (file names, class names, attributes) is an element
    lxml serialises (:func:`_element`: escaped, and refused by lxml if XML cannot hold it),
    so the file always parses back; the fixed layout around them is the devkit's, tab
    indented. Numbers need no escaping. The boxes of all the images are rounded at once
    (:func:`_round_boxes`), and an object's text up to its numbers is made once per class."""
    flat = [obj for _, objects, _ in items for obj in objects]
    corners, largest = _round_boxes([obj[1] for obj in flat], shift)
    heads = {name: _object_head(name) for name in {obj[0] for obj in flat}}
    texts: list[str] = []
    replaced = 0
    for (name, _, attributes, _), (xmin, ymin, xmax, ymax) in zip(flat, corners, strict=True):
        if attributes:
            text, bad = _object_xml(name, (xmin, ymin, xmax, ymax), attributes)
        else:
            head, bad = heads[name]
            text = (
                f"{head}{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n\t\t\t<xmax>{xmax}</xmax>\n"
                f"\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n\t</object>\n"
            )
        texts.append(text)
        replaced += bad
    files: list[bytes] = []
    k = 0
    for image, objects, segmented in items:
        file_name = image["file_name"].replace("\\", "/")
        folder, _, base = file_name.rpartition("/")
        folder_xml, bad_folder = _element("folder", folder or "JPEGImages")
        filename_xml, bad_name = _element("filename", base)
        replaced += bad_folder + bad_name
        header = (
            f"<annotation>\n\t{folder_xml}\n\t{filename_xml}\n"
            "\t<source>\n\t\t<database>COCO (coco-convert)</database>\n\t</source>\n"
            f"\t<size>\n\t\t<width>{image.get('width', 0)}</width>\n"
            f"\t\t<height>{image.get('height', 0)}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
            f"\t<segmented>{int(segmented)}</segmented>\n"
        )
        body = "".join(texts[k : k + len(objects)])
        k += len(objects)
        files.append(f"{header}{body}</annotation>\n".encode())
    return Rendered(files, largest, replaced)


def _object_head(name: str) -> tuple[str, int]:
    """The text of an object without attributes up to its first number (the same for every
    object of a class), and whether the name held characters XML cannot hold."""
    name_xml, replaced = _element("name", name)
    return (
        f"\t<object>\n\t\t{name_xml}\n\t\t<pose>Unspecified</pose>\n"
        "\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
        "\t\t<bndbox>\n\t\t\t<xmin>"
    ), replaced


def _object_xml(
    name: str, corners: tuple[int, int, int, int], attributes: dict[str, Any] | None
) -> tuple[str, int]:
    """One ``<object>`` and the number of its texts XML could not hold as they were."""
    xmin, ymin, xmax, ymax = corners
    name_xml, replaced = _element("name", name)
    bndbox = (
        f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
        f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n"
    )
    if not attributes:  # the common case, kept to one format
        return (
            f"\t<object>\n\t\t{name_xml}\n\t\t<pose>Unspecified</pose>\n"
            f"\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n{bndbox}\t</object>\n"
        ), replaced
    attrs = dict(attributes)
    parts = ["\t<object>\n", f"\t\t{name_xml}\n"]

    def add(indent: str, tag: str, value: Any) -> None:
        nonlocal replaced
        text, bad = _element(tag, _text(value))
        parts.append(f"{indent}{text}\n")
        replaced += bad

    add("\t\t", "pose", attrs.pop("pose", "Unspecified"))
    for flag in ("truncated", "difficult", "occluded"):
        if flag in attrs or flag != "occluded":
            add("\t\t", flag, attrs.pop(flag, 0))
    parts.append(bndbox)
    actions = attrs.pop("actions", None)
    if isinstance(actions, dict) and actions:
        parts.append("\t\t<actions>\n")
        for tag, value in actions.items():
            if isinstance(tag, str) and _XML_TAG.fullmatch(tag):
                add("\t\t\t", tag, value)
        parts.append("\t\t</actions>\n")
    scalars = [(k, v) for k, v in attrs.items() if isinstance(v, str | int | float | bool)]
    if scalars:
        parts.append("\t\t<attributes>\n")
        for key, scalar in scalars:
            parts.append("\t\t\t<attribute>\n")
            add("\t\t\t\t", "name", key)
            add("\t\t\t\t", "value", scalar)
            parts.append("\t\t\t</attribute>\n")
        parts.append("\t\t</attributes>\n")
    parts.append("\t</object>\n")
    return "".join(parts), replaced


def _element(tag: str, text: str) -> tuple[str, int]:
    """``<tag>text</tag>`` exactly as lxml serialises it, and 1 when ``text`` held characters
    XML cannot hold at all (control characters, lone surrogates: written as U+FFFD, since
    lxml refuses them). Text with nothing to escape is the same bytes either way and is put
    in directly (file names are different on every image); the rest goes through lxml
    (``tests/test_voc.py`` checks the two agree on any text)."""
    if _PLAIN.fullmatch(text):
        return f"<{tag}>{text}</{tag}>", 0
    return _lxml_element(tag, text)


@functools.lru_cache(maxsize=4096)
def _lxml_element(tag: str, text: str) -> tuple[str, int]:
    """:func:`_element` by lxml (cached: a class name or pose that needs escaping repeats)."""
    clean, replaced = xml_text(text)
    element = etree.Element(tag)
    element.text = clean
    return etree.tostring(element, encoding="unicode"), int(replaced)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


#: Box values up to this size round the same in numpy as in Python (exact in a double).
_EXACT = 2.0**51


def _round_boxes(
    boxes: Sequence[Sequence[float]], shift: int
) -> tuple[list[tuple[int, int, int, int]], float]:
    """:func:`_round_box` of every box, vectorised (numpy does the same float arithmetic);
    the corners of each box and the largest change (as :func:`_round_box` gives it for the
    first box that has it, so an int for a box of ints, and 0.0 when nothing changed).
    Anything numpy would not round alike (huge numbers, a malformed box) takes
    :func:`_round_box` box by box."""
    import numpy as np

    if not boxes:
        return [], 0.0
    array = None
    if all(len(box) == 4 for box in boxes):
        try:
            values = itertools.chain.from_iterable(boxes)
            array = np.fromiter(values, dtype=np.float64, count=4 * len(boxes)).reshape(-1, 4)
        except (TypeError, ValueError, OverflowError):
            array = None
    if array is None or not np.abs(array).max() < _EXACT:
        corners, largest = [], 0.0
        for box in boxes:
            found, error = _round_box(box, shift)
            corners.append(found)
            if error > largest:
                largest = error
        return corners, largest
    left, top = array[:, 0] + shift, array[:, 1] + shift
    right, bottom = array[:, 0] + array[:, 2], array[:, 1] + array[:, 3]
    xmin, ymin = np.floor(left + 0.5), np.floor(top + 0.5)
    # at least one pixel: a box thinner than half a pixel would vanish or turn inside out
    xmax = np.maximum(np.floor(right + 0.5), xmin + (1 - shift))
    ymax = np.maximum(np.floor(bottom + 0.5), ymin + (1 - shift))
    errors = np.max(
        [np.abs(xmin - left), np.abs(ymin - top), np.abs(xmax - right), np.abs(ymax - bottom)],
        axis=0,
    )
    rounded = np.stack([xmin, ymin, xmax, ymax], axis=1).astype(np.int64).tolist()
    first = int(np.argmax(errors))
    largest = _round_box(boxes[first], shift)[1] if errors[first] > 0 else 0.0
    return [tuple(c) for c in rounded], largest


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


# --- the format -------------------------------------------------------------------------------

#: An XML document whose root is <annotation> (CVAT's own format has <annotations>).
_VOC_ROOT = re.compile(rb"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<annotation[\s>/]", re.S)


def detect(path: Path) -> bool:
    """A VOC annotation file, a devkit (a folder with ``Annotations/``), a folder of VOC XML
    files, or a text file listing XML files."""
    if path.is_dir():
        if (path / "Annotations").is_dir():
            return True
        xml = min(path.glob("*.xml"), default=None)
        return xml is not None and _is_voc_xml(xml)
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return _is_voc_xml(path)
    if suffix == ".txt":
        try:
            with open_file(path) as handle:  # (never blocks on a named pipe)
                head = handle.read(4096)
        except (InputError, OSError):
            return False
        first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
        return first.lower().endswith(b".xml")
    return False


def _is_voc_xml(path: Path) -> bool:
    try:
        with open_file(path) as handle:  # (never blocks on a named pipe)
            head = handle.read(4096)
    except (InputError, OSError):
        return False
    return _VOC_ROOT.match(head) is not None


#: Class lists that exports put beside the XML (CVAT's labelmap.txt, coco2voc's labels.txt).
_CLASS_FILES = ("labelmap.txt", "labels.txt", "classes.txt")


def validation_pieces(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """How ``validate`` reads VOC: each XML file on its own (one malformed file must not hide
    the findings of the others), with the folder's class list when it has one (so that
    unknown classes are found)."""
    if not path.is_dir():
        return [(path, _class_list(path.parent))]
    root = path / "Annotations" if (path / "Annotations").is_dir() else path
    options = _class_list(path)
    return [(Path(xml), options) for xml in find_xml_files(root)]


def _class_list(folder: Path) -> dict[str, Any]:
    found = next((folder / name for name in _CLASS_FILES if (folder / name).is_file()), None)
    return {} if found is None else {"labels": found}


_COORDS_HELP = (
    "Pixel convention of the XML boxes: one-based inclusive (VOC devkit, Detectron2) or "
    "zero-based corners (LabelImg, CVAT/Datumaro, Label Studio, labelme). See docs/voc.md."
)
_COORDS = Option("coords", _COORDS_HELP, type="choice", choices=COORDS, default="one-based")
_READ_MASKS = Option(
    "masks",
    "Read SegmentationObject/*.png into each object's segmentation (instance k is the k-th "
    "<object>; 255, the void border, is left out).",
    type="flag",
)
_WRITE_MASKS = Option(
    "masks",
    "Also write SegmentationObject/ and SegmentationClass/ PNGs from the segmentations.",
    type="flag",
)

FORMAT = Format(
    name="voc",
    title="Pascal VOC / ImageNet ILSVRC XML",
    limits=(
        "Boxes in whole pixels (rounded; the largest rounding is reported), one class name "
        "per object, flat attributes. No crowd regions, keypoints, captions or category "
        "ids (labels.txt gives the order); segmentations only as SegmentationObject/"
        "SegmentationClass PNGs (--masks), where each pixel belongs to one object."
    ),
    kinds=("instances",),
    patterns=(
        "Annotations/*.xml",
        "ImageSets/Main/<split>.txt",
        "SegmentationObject/*.png",
        "*.xml",
    ),
    detect=detect,
    read=read_voc,
    write=write_voc,
    read_options=(
        Option("split", "Read the ids in ImageSets/Main/NAME.txt.", metavar="NAME"),
        Option(
            "labels",
            "Class names, one per line, in id order (CVAT's labelmap.txt works too).",
            metavar="FILE",
        ),
        Option(
            "synsets",
            "ImageNet LOC_synset_mapping.txt: names for synset ids, standard 1000-class order.",
            type="file",
        ),
        _COORDS,
        Option("skip_difficult", "Leave out objects marked difficult.", type="flag"),
        Option(
            "image_ids",
            "1, 2, ... in sorted file-name order, or the number in each (numeric) file name.",
            type="choice",
            choices=IMAGE_IDS,
            default="sequential",
        ),
        Option(
            "images",
            "Image folder, read (headers only) when an XML has no <size>. "
            "Default: JPEGImages/ of the devkit, or beside the XML.",
            type="dir",
        ),
        _READ_MASKS,
        Option("rle", "With --masks: RLE segmentations instead of polygons.", type="flag"),
    ),
    write_options=(
        _COORDS,
        _WRITE_MASKS,
        Option("overwrite", "Replace the output folder if it exists.", type="flag"),
    ),
    output="folder",
    aliases=("pascal-voc", "imagenet", "ilsvrc"),
    rules={
        "no_size": "V002",
        "object_without_name": "V003",
        "object_without_box": "V004",
        "degenerate_box": "V005",
        "box_outside_image": "V006",
        "filename_differs": "V007",
        "unknown_class": "V008",
        "fractional_one_based": "V009",
        "duplicate_object": "V010",
        "zero_in_one_based": "V011",
    },
    unreadable="V001",
    validation=validation_pieces,
    docs="docs/voc.md",
    streams=True,
)
