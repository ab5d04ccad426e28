"""YOLO -> COCO, the reader of the ``yolo`` format (:mod:`coco_convert.converters.yolo`): find
the dataset's parts, read label rows and image sizes, build COCO records.

Where a dataset is (``_locate``): a ``data.yaml`` (ultralytics, Roboflow, CVAT), darknet's
``obj.data``, a dataset folder holding either or laid out as ``images/<split>`` +
``labels/<split>``, ``<split>/images`` + ``<split>/labels`` or ``obj_<split>_data``, or a
labels folder given with its images folder. Paths written on another machine (``path:
C:\\data\\set``, ``/Users/...``) are looked up beside the file that names them.

Reading (``_read_chunk``) runs in worker processes for large inputs: each opens an image's
header (:func:`coco_convert.images.read_size`, EXIF orientation applied, as ultralytics sees
the image) and parses its label file; coordinates become pixels with numpy per chunk.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np

from ..dataset import InstancesDataset, KeypointsDataset
from ..errors import InputError, Location, UsageError
from ..images import PARALLEL_MIN_IMAGES, ImageSizeError, is_image_name, read_size
from ..io import gc_paused, is_unicode, read_file, read_text, real_path
from ..parallel import choose_jobs, map_tasks
from ..progress import track
from .base import Read
from .loss import LossReport
from .yolo_rows import darknet_label_path, label_path

__all__ = ["read"]

#: Images per worker task.
_CHUNK = 1000
#: ultralytics accepts normalised values up to 1.01 and down to -0.01 (rounding at the
#: edges); anything beyond is not a normalised label (pixels, or a broken export).
_TOLERANCE = 0.01
_YAML_SPLITS = ("train", "val", "test")


@dataclass
class _Split:
    name: str
    #: (image path, label path, COCO file_name) per image, sorted by path.
    images: list[tuple[str, str, str]]
    #: Label files in the split's label folders that no image points at.
    orphan_labels: list[str] = field(default_factory=list)


class _Note(NamedTuple):
    """A problem found while locating the dataset (reported as a warning)."""

    key: str
    message: str
    where: Location
    detail: str | None = None


@dataclass
class _Source:
    where: str
    names: list[str]
    category_ids: list[int]
    kpt_shape: tuple[int, int] | None
    kpt_names: list[str]
    splits: list[_Split]
    notes: list[_Note] = field(default_factory=list)


def read(
    src: str | os.PathLike[str],
    *,
    split: str | None = None,
    images: str | os.PathLike[str] | None = None,
    report: LossReport | None = None,
    strict: bool = False,
    jobs: int | None = None,
) -> Read:
    """:func:`coco_convert.converters.yolo.read_yolo` (which documents it)."""
    report = LossReport("yolo2coco") if report is None else report
    source = _locate(Path(src), Path(images) if images is not None else None, split)
    for note in source.notes:
        report.warn(note.key, note.message, where=note.where, detail=note.detail)
    _similar_names(source, report)
    splits = source.splits
    if split is not None and images is None:
        splits = [s for s in splits if s.name == split]
        if not splits:
            known = ", ".join(s.name for s in source.splits) or "none"
            raise UsageError(f"{source.where}: no split named {split!r} (splits: {known})")
    if not splits:
        raise InputError(source.where, "no images found", hint="point at a data.yaml or folder")
    categories = _categories(source)
    out: dict[str, Any] = {}
    with gc_paused():  # millions of new dicts and lists: no cycles, nothing to collect
        for part in splits:
            document = _read_split(part, source, categories, report, jobs)
            pose = source.kpt_shape is not None
            cls = KeypointsDataset if pose else InstancesDataset
            name = f"{source.where}[{part.name}]"
            out[part.name] = cls(document, source=name, validate=False)
    report.raise_if_strict(strict)
    return out, report


def _similar_names(source: _Source, report: LossReport) -> None:
    """Class names that differ only in case, spaces, '_' or '-' ('RAE 734W' and 'RAE 734 W'
    in a LabelImg classes.txt): one class split in two by a typo."""
    first: dict[str, str] = {}
    for name in source.names:
        key = re.sub(r"[\s_\-]+", "", name).casefold()
        if key in first and first[key] != name:
            report.warn(
                "similar_class_names",
                "class names that differ only in case or spacing (two classes; a typo?)",
                where=Location(source.where),
                detail=f"class names {first[key]!r} and {name!r} differ only in case or spacing",
            )
        first.setdefault(key, name)


# --- where the dataset is -------------------------------------------------------------------


def _locate(src: Path, images: Path | None, split: str | None) -> _Source:
    if not src.exists():
        raise InputError(str(src), "no such file or folder")
    if images is not None:
        return _from_label_folder(src, images, split)
    if not src.is_dir():
        if src.suffix.lower() in (".yaml", ".yml"):
            return _from_data_yaml(src)
        if src.suffix.lower() == ".data":
            return _from_obj_data(src)
        raise InputError(
            str(src), "is not a data.yaml or obj.data", hint="pass the dataset's folder instead"
        )
    yaml_file = _find_yaml(src)
    if yaml_file is not None:
        return _from_data_yaml(yaml_file)
    if (src / "obj.data").is_file():
        return _from_obj_data(src / "obj.data")
    return _from_folder_layout(src)


def _find_yaml(folder: Path) -> Path | None:
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(p for p in folder.glob("*.y*ml") if p.suffix.lower() in (".yaml", ".yml"))
    return found[0] if len(found) == 1 else None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise InputError(str(path), "invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            where,
            f"invalid YAML: {problem}",
            hint="Windows paths in double quotes need \\\\ or single quotes",
        ) from None
    if not isinstance(data, dict):
        raise InputError(str(path), "is not a YAML mapping (expected keys like names, train)")
    return data


def _from_data_yaml(path: Path) -> _Source:
    data = _read_yaml(path)
    notes: list[_Note] = []
    given = _yaml_names(data, path)
    root = _yaml_root(data, path, notes)
    splits: list[_Split] = []
    seen: dict[tuple[str, ...], str] = {}
    for key in _YAML_SPLITS:
        value = data.get(key)
        if not value:
            continue
        entries = value if isinstance(value, list) else [value]
        listed: list[tuple[str, str, str]] = []
        for entry in entries:
            listed += _list_entry(str(entry), root, path, notes, key)
        if not listed:
            continue
        signature = tuple(p for p, _, _ in listed)
        if signature in seen:
            notes.append(
                _Note(
                    "splits_share_images",
                    "splits that list the same images as another split (written twice)",
                    Location(str(path)),
                    f"{key} lists the images of {seen[signature]}",
                )
            )
        seen.setdefault(signature, key)
        splits.append(_Split(key, listed, _orphans(listed)))
    names = _fill_gaps(given, splits, path) if isinstance(given, dict) else given
    near = _names_near(path.parent)
    if names is None:
        names = near[0] if near else None
    elif near and near[0] != names:
        notes.append(
            _Note(
                "names_disagree",
                "class names of data.yaml differ from a names file beside it; data.yaml's "
                "are used (as ultralytics does)",
                Location(str(path)),
                f"the class names differ from {near[1]}'s; data.yaml's are used",
            )
        )
    if names is None:
        n = _max_class_hint(splits)
        names = [f"class_{i}" for i in range(n)]
        notes.append(
            _Note(
                "no_names",
                "no class names (names:, classes.txt, obj.names): classes named class_<i>",
                Location(str(path)),
            )
        )
    kpt_shape = _kpt_shape(data, path)
    kpt_names = _kpt_names(data, kpt_shape)
    ids = data.get("coco_category_ids")
    category_ids = (
        [int(i) for i in ids]
        if isinstance(ids, list)
        and len(ids) == len(names)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        and len(set(ids)) == len(ids)
        else list(range(1, len(names) + 1))
    )
    return _Source(str(path), names, category_ids, kpt_shape, kpt_names, splits, notes)


def _yaml_names(data: dict[str, Any], path: Path) -> list[str] | dict[int, str] | None:
    """The class names of a data.yaml: a list, or a mapping of index -> name when it has gaps
    (resolved by :func:`_fill_gaps` once the labels are known). Names are text or numbers;
    a list or mapping where a name should be is refused (``str()`` of it could be megabytes)."""
    names = data.get("names")
    nc = data.get("nc")
    if names is None:
        if type(nc) is int and 0 < nc <= _MAX_CLASSES:
            return [f"class_{i}" for i in range(nc)]
        return None
    if isinstance(names, list):
        out = [_class_name(n, i, path) for i, n in enumerate(names)]
    elif isinstance(names, dict):
        keyed: dict[int, str] = {}
        for key, value in names.items():
            index = _class_index(key, path)
            keyed[index] = _class_name(value, index, path)
        if keyed and max(keyed) >= len(keyed):  # gaps
            if isinstance(nc, int) and nc != max(keyed) + 1:
                raise InputError(
                    str(path),
                    f"nc is {nc} but names go up to index {max(keyed)}",
                    hint="make them agree",
                )
            return keyed
        out = [keyed[i] for i in range(len(keyed))]
    else:
        raise InputError(str(path), "names: expected a list or a mapping of index -> name")
    if isinstance(nc, int) and nc != len(out):
        raise InputError(
            str(path), f"nc is {nc} but names has {len(out)} entries", hint="make them agree"
        )
    return out


#: More keypoints than any skeleton has (COCO-WholeBody: 133).
_MAX_KEYPOINTS = 10_000
#: More classes than any dataset has (Objects365: 365, LVIS: 1,203, ImageNet-21k: 21,841).
_MAX_CLASSES = 100_000


def _class_index(key: Any, path: Path) -> int:
    try:
        index = int(key) if type(key) is int or (type(key) is str and key.strip().isdigit()) else -1
    except ValueError:
        index = -1
    if index < 0:
        raise InputError(str(path), f"names: key {key!r} is not a class index 0, 1, ...")
    return index


def _class_name(value: Any, index: int, path: Path) -> str:
    if isinstance(value, list | dict | set) or value is None:
        raise InputError(
            str(path),
            f"names: class {index} is {type(value).__name__ if value is not None else 'null'}"
            ", expected a name",
        )
    return str(value)


def _fill_gaps(names: dict[int, str], splits: Sequence[_Split], path: Path) -> list[str]:
    """The names of a mapping with gaps (``{0: a, 5: b}``) as a list, gaps named class_<i>.
    Its largest index is bounded by the classes the names and the labels actually use: a
    mapping up to 1,000,000,000 would otherwise make a billion categories."""
    limit = max(len(names), _max_class_hint(splits))
    top = max(names)
    if top >= limit and top >= _MAX_CLASSES:
        raise InputError(
            str(path),
            f"names: class index {top} is far beyond the {len(names)} names and the classes "
            "the labels use (ultralytics requires indices 0..number of names - 1)",
        )
    return [names.get(i, f"class_{i}") for i in range(top + 1)]


def _yaml_root(data: dict[str, Any], path: Path, notes: list[_Note]) -> Path:
    value = data.get("path")
    if not value:
        return path.parent
    text = str(value).replace("\\", "/")
    for candidate in (path.parent / text, Path(text)):
        if candidate.is_dir():
            return candidate
    notes.append(
        _Note(
            "path_not_here",
            "data.yaml's path: is not a folder on this machine; the dataset is read beside "
            "data.yaml",
            Location(str(path)),
            f"path: {value} is not a folder here; the dataset is read beside data.yaml",
        )
    )
    return path.parent


def _list_entry(
    entry: str, root: Path, yaml_path: Path, notes: list[_Note], key: str
) -> list[tuple[str, str, str]]:
    text = entry.replace("\\", "/")
    candidates = [root / text, yaml_path.parent / text, Path(text)]
    if text.startswith("../"):  # Roboflow's data.yaml; ultralytics retries without "../"
        candidates += [root / text[3:], yaml_path.parent / text[3:]]
    found = next((c for c in candidates if _exists(c)), None)
    if found is None:
        notes.append(
            _Note(
                "split_missing",
                "splits whose images are not found: skipped",
                Location(str(yaml_path)),
                f"{key}: {entry} is not found",
            )
        )
        return []
    if found.is_dir():
        return _pairs_in(found, label_path)
    base = found.parent
    resolved_root = real_path(root)  # once: resolving costs a stat per folder of the path
    listed = []
    for line in read_text(found).splitlines():
        line = line.strip().replace("\\", "/")
        if not line:
            continue
        image = Path(line) if Path(line).is_absolute() else base / line.removeprefix("./")
        if not image.exists() and not Path(line).is_absolute():
            image = root / line.removeprefix("./")
        listed.append((str(image), label_path(str(image)), _file_name(image, resolved_root)))
    return listed


def _exists(path: Path) -> bool:
    """``path.exists()``, False for a path the OS refuses (too long, a NUL in it)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _file_name(image: Path, resolved_root: Path) -> str:
    """``image`` relative to the (already resolved) dataset root, else as given."""
    try:
        return real_path(image).relative_to(resolved_root).as_posix()
    except ValueError:
        return image.as_posix()


def _pairs_in(folder: Path, to_label: Any) -> list[tuple[str, str, str]]:
    base = str(folder)
    paths = [(f"{base}/{rel}", rel) for rel in sorted(_walk_images(folder))]
    return [(path, to_label(path), rel) for path, rel in paths]


def _walk_images(folder: Path, prefix: str = "") -> Iterator[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                yield from _walk_images(Path(entry.path), f"{prefix}{entry.name}/")
            elif is_image_name(entry.name):
                yield f"{prefix}{entry.name}"


def _orphans(pairs: Sequence[tuple[str, str, str]]) -> list[str]:
    """Label files in the splits' label folders that no image of the split points at."""
    wanted = {label for _, label, _ in pairs}
    folders = {label.rpartition("/")[0] for label in wanted}
    extra: list[str] = []
    for folder in sorted(folders):
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.name.endswith(".txt") and entry.path not in wanted:
                    if entry.name in ("classes.txt", "obj.names"):
                        continue
                    extra.append(entry.path)
    return sorted(extra)


def _from_obj_data(path: Path) -> _Source:
    settings: dict[str, str] = {}
    for line in read_text(path).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            settings[key.strip()] = value.strip()
    notes: list[_Note] = []
    base = path.parent

    def resolve(value: str) -> Path | None:
        text = value.replace("\\", "/")
        parts = PurePosixPath(text).parts
        candidates = [base / text, Path(text)]
        if len(parts) > 1:  # "data/obj.names": darknet runs from the folder above data/
            candidates.append(base.joinpath(*parts[1:]))
        return next((c for c in candidates if c.exists()), None)

    names: list[str] | None = None
    names_file = resolve(settings.get("names", "obj.names"))
    if names_file is not None:
        names = _names_file(names_file)
    resolved_base = real_path(base)
    splits = []
    for key, value in settings.items():
        if key in ("classes", "names", "backup", "eval", "results"):
            continue
        listing = resolve(value)
        if listing is None or not listing.is_file():
            notes.append(
                _Note(
                    "split_missing",
                    "splits whose list file is missing",
                    Location(str(path)),
                    f"{key}: {value} is not found",
                )
            )
            continue
        pairs = []
        for line in read_text(listing).splitlines():
            line = line.strip()
            if not line:
                continue
            image = resolve(line) or base / line
            pairs.append((str(image), _darknet_label(image), _file_name(image, resolved_base)))
        splits.append(_Split(key, pairs))
    if names is None:
        text = settings.get("classes", "0") or "0"
        if not text.isdigit() or int(text) > _MAX_CLASSES:
            raise InputError(str(path), f"classes = {text!r} is not a number of classes")
        names = [f"class_{i}" for i in range(int(text))]
    return _Source(str(path), names, list(range(1, len(names) + 1)), None, [], splits, notes)


def _darknet_label(image: Path) -> str:
    beside = str(image.with_suffix(".txt"))
    if Path(beside).exists():
        return beside
    return darknet_label_path(str(image))


def _from_folder_layout(root: Path) -> _Source:
    splits: list[_Split] = []
    images_dir = root / "images"
    if images_dir.is_dir():
        subfolders = sorted(p for p in images_dir.iterdir() if p.is_dir())
        loose = any(is_image_name(p.name) for p in images_dir.iterdir() if p.is_file())
        if subfolders and not loose:
            for folder in subfolders:
                pairs = _pairs_in(folder, label_path)
                splits.append(_Split(folder.name, pairs, _orphans(pairs)))
        else:
            pairs = _pairs_in(images_dir, label_path)
            splits.append(_Split("default", pairs, _orphans(pairs)))
    else:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if (folder / "images").is_dir():  # Roboflow: <split>/images + <split>/labels
                pairs = _pairs_in(folder / "images", label_path)
                splits.append(_Split(folder.name, pairs, _orphans(pairs)))
            elif folder.name.startswith("obj_") and folder.name.endswith("_data"):
                pairs = _pairs_in(folder, lambda p: str(Path(p).with_suffix(".txt")))
                splits.append(_Split(folder.name[4:-5], pairs))
        if not splits and any(is_image_name(p.name) for p in root.iterdir()):
            pairs = _pairs_in(root, lambda p: str(Path(p).with_suffix(".txt")))
            splits.append(_Split("default", pairs))
    near = _names_near(root)
    notes: list[_Note] = []
    if near is None:
        names = [f"class_{i}" for i in range(_max_class_hint(splits))]
        notes.append(
            _Note("no_names", "no class names found: classes named class_<i>", Location(str(root)))
        )
    else:
        names = near[0]
    return _Source(str(root), names, list(range(1, len(names) + 1)), None, [], splits, notes)


def _from_label_folder(labels: Path, images: Path, split: str | None) -> _Source:
    if not labels.is_dir():
        raise InputError(str(labels), "is not a folder of label files")
    if not images.is_dir():
        raise InputError(str(images), "is not a folder of images")
    rels = sorted(_walk_images(images))
    pairs = [
        (str(images / rel), str(labels / PurePosixPath(rel).with_suffix(".txt")), rel)
        for rel in rels
    ]
    name = split or (labels.name if labels.name != "labels" else "default")
    near = _names_near(labels) or _names_near(labels.parent) or _names_near(images.parent)
    notes: list[_Note] = []
    if near is None:
        names = [f"class_{i}" for i in range(_max_class_hint([_Split(name, pairs)]))]
        notes.append(
            _Note(
                "no_names", "no class names found: classes named class_<i>", Location(str(labels))
            )
        )
    else:
        names = near[0]
    wanted = {p[1] for p in pairs}
    orphans = sorted(
        str(p)
        for p in labels.rglob("*.txt")
        if str(p) not in wanted and p.name not in ("classes.txt", "obj.names")
    )
    return _Source(
        str(labels),
        names,
        list(range(1, len(names) + 1)),
        None,
        [],
        [_Split(name, pairs, orphans)],
        notes,
    )


def _names_near(folder: Path) -> tuple[list[str], str] | None:
    """Class names from a names file in ``folder``: classes.txt (LabelImg, Label Studio),
    obj.names (darknet, CVAT) or Label Studio's notes.json."""
    for name in ("classes.txt", "obj.names"):
        path = folder / name
        if path.is_file():
            return _names_file(path), str(path)
    notes = folder / "notes.json"
    if notes.is_file():
        try:
            categories = json.loads(read_text(notes))["categories"]
            ordered = sorted(categories, key=lambda c: int(c["id"]))
            return [str(c["name"]) for c in ordered], str(notes)
        except (ValueError, KeyError, TypeError, RecursionError, InputError):
            return None
    return None


def _names_file(path: Path) -> list[str]:
    names = [line.strip() for line in read_text(path).splitlines()]
    while names and not names[-1]:
        names.pop()
    return names


def _max_class_hint(splits: Sequence[_Split]) -> int:
    """Without names: one more than the largest class index in the first label files."""
    top = -1
    for part in splits:
        for _, label, _ in part.images[:2000]:
            try:
                text = read_text(label)
            except InputError:
                continue
            for line in text.splitlines():
                token = line.split(maxsplit=1)[0] if line.strip() else ""
                if token.isdigit() and len(token) < 7 and int(token) < _MAX_CLASSES:
                    top = max(top, int(token))
    return top + 1


def _kpt_shape(data: dict[str, Any], path: Path) -> tuple[int, int] | None:
    value = data.get("kpt_shape")
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) for v in value)
        or not 0 < value[0] <= _MAX_KEYPOINTS
        or value[1] not in (2, 3)
    ):
        raise InputError(
            str(path), f"kpt_shape: expected [keypoints, 2 or 3], got {str(value)[:60]}"
        )
    return value[0], value[1]


def _kpt_names(data: dict[str, Any], kpt_shape: tuple[int, int] | None) -> list[str]:
    if kpt_shape is None:
        return []
    value = data.get("kpt_names")
    if isinstance(value, dict) and value:
        first = next(iter(value.values()))
        if isinstance(first, list) and len(first) == kpt_shape[0]:
            return [str(n) for n in first]
    return [f"keypoint_{i}" for i in range(kpt_shape[0])]


def _categories(source: _Source) -> list[dict[str, Any]]:
    categories: list[dict[str, Any]] = []
    for category_id, name in zip(source.category_ids, source.names, strict=True):
        category: dict[str, Any] = {"id": category_id, "name": name, "supercategory": ""}
        if source.kpt_shape is not None:
            category["keypoints"] = list(source.kpt_names)
            category["skeleton"] = []
        categories.append(category)
    return categories


# --- reading labels and sizes -----------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    images: list[tuple[str, str, str]]
    names: int
    category_ids: list[int]
    kpt_shape: tuple[int, int] | None


@dataclass
class _ChunkResult:
    #: Per image: (file_name, width, height, annotations) or None when unreadable.
    images: list[tuple[str, int, int, list[dict[str, Any]]] | None]
    #: (key, what is wrong, file, line or None) of every problem found.
    problems: list[tuple[str, str, str, int | None]]
    counts: dict[str, int]


def _read_split(
    part: _Split,
    source: _Source,
    categories: list[dict[str, Any]],
    report: LossReport,
    jobs: int | None,
) -> dict[str, Any]:
    for orphan in part.orphan_labels:
        report.warn(
            "label_without_image",
            "label files with no image of the same stem (ultralytics ignores them)",
            where=Location(orphan),
            detail="no image of the split has this name",
        )
    chunks = [
        _Job(part.images[i : i + _CHUNK], len(source.names), source.category_ids, source.kpt_shape)
        for i in range(0, len(part.images), _CHUNK)
    ]
    workers = choose_jobs(jobs, len(part.images), worth_it=PARALLEL_MIN_IMAGES)
    results = map_tasks(_read_chunk, chunks, jobs=workers)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for result in track(results, total=len(chunks), desc=part.name, unit="chunk"):
        for key, detail, file, line in result.problems:
            report.warn(key, _MESSAGES[key], where=Location(file, line=line), detail=detail)
        for key, n in result.counts.items():
            report.count(key, n)
        for found in result.images:
            if found is None:
                continue
            file_name, width, height, anns = found
            if not is_unicode(file_name):
                report.warn(
                    "file_name_not_utf8",
                    "images whose file name is not UTF-8 (JSON cannot hold it): left out "
                    "with their labels; rename the files",
                    where=Location(file_name),
                )
                continue
            image_id = len(images) + 1
            images.append(
                {"id": image_id, "file_name": file_name, "width": width, "height": height}
            )
            for ann in anns:
                ann["id"] = len(annotations) + 1
                ann["image_id"] = image_id
                annotations.append(ann)
    report.count("images", len(images))
    report.count("annotations", len(annotations))
    return {
        "info": {"description": f"converted from YOLO ({source.where}, split {part.name})"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [dict(c) for c in categories],
    }


#: One line per kind of problem in summaries; the place and details go into the examples.
_MESSAGES = {
    "image_unreadable": "images no reader can open: left out, with their labels",
    "label_unreadable": "label files that are not UTF-8 text: read as empty",
    "bad_row": "label rows that cannot be read: left out",
    "out_of_range": "label rows with values far outside [0, 1] (not normalised?): left out",
    "class_out_of_range": "label rows whose class index is not in names: left out",
    "empty_box": "label rows whose box has no width or height: left out",
    "duplicate_row": "label rows that repeat an earlier row of the file exactly: left out",
}


def _read_chunk(job: _Job) -> _ChunkResult:
    """Sizes and label rows of a chunk of images (runs in a worker process)."""
    reader = _ChunkReader(job)
    return reader.run()


@dataclass
class _ChunkReader:
    job: _Job
    problems: list[tuple[str, str, str, int | None]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # Rows gathered over the chunk, converted to pixels together.
    boxes: list[float] = field(default_factory=list)
    box_anns: list[tuple[dict[str, Any], int, int]] = field(default_factory=list)
    rings: list[float] = field(default_factory=list)
    ring_counts: list[int] = field(default_factory=list)
    ring_anns: list[tuple[dict[str, Any], int, int]] = field(default_factory=list)
    points: list[float] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def run(self) -> _ChunkResult:
        found: list[tuple[str, int, int, list[dict[str, Any]]] | None] = []
        for image, label, file_name in self.job.images:
            try:
                width, height = read_size(image)
            except ImageSizeError as exc:
                self.problems.append(("image_unreadable", str(exc), image, None))
                found.append(None)
                continue
            anns: list[dict[str, Any]] = []
            self._read_label(label, width, height, anns)
            found.append((file_name, width, height, anns))
        self._to_pixels()
        return _ChunkResult(found, self.problems, self.counts)

    def _read_label(self, label: str, width: int, height: int, anns: list[dict[str, Any]]) -> None:
        try:
            text = read_file(label).decode("utf-8-sig")
        except InputError as exc:
            if not os.path.lexists(label):
                self.count("images_without_label_file")
                return
            self.problems.append(("label_unreadable", exc.message, label, None))
            return
        except UnicodeDecodeError as exc:
            self.problems.append(("label_unreadable", f"not UTF-8 text: {exc}", label, None))
            return
        if not text.strip():
            self.count("empty_label_files")
            return
        seen: dict[tuple[str, ...], int] = {}
        for lineno, line in enumerate(text.splitlines(), 1):
            tokens = line.split()
            if not tokens:
                continue
            first = seen.setdefault(tuple(tokens), lineno)
            if first != lineno:
                self.problems.append(("duplicate_row", f"repeats line {first}", label, lineno))
                continue
            problem = self._row(tokens, width, height, anns)
            if problem is not None:
                self.problems.append((problem[0], problem[1], label, lineno))

    def _row(
        self, tokens: list[str], width: int, height: int, anns: list[dict[str, Any]]
    ) -> tuple[str, str] | None:
        """Read one row into ``anns``; or (key, what is wrong) when it cannot be read."""
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            return "bad_row", _non_number_message(tokens)
        if not math.isfinite(sum(values)):  # NaN and infinities
            return "bad_row", "values must be finite numbers"
        cls_value = values[0]
        cls = int(cls_value)
        if cls != cls_value or not 0 <= cls < self.job.names:
            return (
                "class_out_of_range",
                f"class index {tokens[0]} is not one of 0..{self.job.names - 1} "
                f"({self.job.names} names)",
            )
        coords = values[1:]
        kpt = self.job.kpt_shape
        n = len(coords)
        if kpt is not None:
            expected = 4 + kpt[0] * kpt[1]
            if n != expected:
                return (
                    "bad_row",
                    f"{n + 1} values; a pose row with kpt_shape {list(kpt)} has "
                    f"{expected + 1} (class, box, keypoints)",
                )
            checked = coords[:4] + [
                v for i, v in enumerate(coords[4:]) if kpt[1] == 2 or i % 3 != 2
            ]
        elif n == 4 or (n >= 6 and n % 2 == 0):
            checked = coords
        else:
            return (
                "bad_row",
                f"{n + 1} values; expected 5 (class and box) or an odd number of at least 7 "
                "(class and 3 or more x y points; OBB rows have 9)",
            )
        low, high = min(checked), max(checked)
        if low < -_TOLERANCE or high > 1 + _TOLERANCE:
            return (
                "out_of_range",
                f"value {low if low < -_TOLERANCE else high:g} is outside [0, 1]",
            )
        if low < 0 or high > 1:
            self.count("rows_clipped_to_image")
        ann: dict[str, Any] = {
            "id": 0,
            "image_id": 0,
            "category_id": self.job.category_ids[cls],
        }
        if n == 4 or kpt is not None:
            if not (coords[2] > 0 and coords[3] > 0):
                return "empty_box", "box width and height must be positive"
            self.boxes += coords[:4]
            self.box_anns.append((ann, width, height))
            if kpt is not None:
                self.points += coords[4:]
        else:
            self.rings += coords
            self.ring_counts.append(n)
            self.ring_anns.append((ann, width, height))
        anns.append(ann)
        return None

    def _to_pixels(self) -> None:
        if self.box_anns:
            self._boxes_to_pixels()
        if self.ring_anns:
            self._rings_to_pixels()

    def _boxes_to_pixels(self) -> None:
        n = len(self.box_anns)
        box = np.asarray(self.boxes, dtype=np.float64).reshape(n, 4)
        size = np.array([(w, h) for _, w, h in self.box_anns], dtype=np.float64)
        w, h = size[:, 0], size[:, 1]
        x1 = np.clip((box[:, 0] - box[:, 2] / 2) * w, 0, w)
        y1 = np.clip((box[:, 1] - box[:, 3] / 2) * h, 0, h)
        x2 = np.clip((box[:, 0] + box[:, 2] / 2) * w, 0, w)
        y2 = np.clip((box[:, 1] + box[:, 3] / 2) * h, 0, h)
        bbox = np.round(np.stack([x1, y1, x2 - x1, y2 - y1], axis=1), 6)
        area = np.round(bbox[:, 2] * bbox[:, 3], 6)
        bbox_list, area_list = bbox.tolist(), area.tolist()
        kpt = self.job.kpt_shape
        keypoints: list[list[Any]] = []
        visible: list[int] = []
        if kpt is not None:
            keypoints, visible = self._keypoints(w, h, kpt)
        for r, (ann, _, _) in enumerate(self.box_anns):
            ann["segmentation"] = []  # box only (see voc.py): the key, empty
            ann["area"] = area_list[r]
            ann["bbox"] = bbox_list[r]
            ann["iscrowd"] = 0
            if kpt is not None:
                ann["keypoints"] = keypoints[r]
                ann["num_keypoints"] = visible[r]

    def _keypoints(
        self, w: np.ndarray, h: np.ndarray, kpt: tuple[int, int]
    ) -> tuple[list[list[Any]], list[int]]:
        n = len(self.box_anns)
        k, ndim = kpt
        table = np.asarray(self.points, dtype=np.float64).reshape(n, k, ndim)
        x = np.clip(table[..., 0], 0, 1) * w[:, None]
        y = np.clip(table[..., 1], 0, 1) * h[:, None]
        if ndim == 3:
            v = table[..., 2]
            if not np.isin(v, (0, 1, 2)).all():
                self.count("keypoint_visibility_not_0_1_2")
            v = np.where(v > 0, np.minimum(np.rint(v), 2), 0)
        else:
            v = np.where((table[..., 0] == 0) & (table[..., 1] == 0), 0, 2)
        unlabelled = v == 0
        dropped = int((unlabelled & ((x != 0) | (y != 0))).sum())
        if dropped:
            self.count("keypoint_coords_with_visibility_0", dropped)
        x = np.where(unlabelled, 0, np.round(x, 6))
        y = np.where(unlabelled, 0, np.round(y, 6))
        out = np.stack([x, y, v], axis=2).reshape(n, k * 3)
        rows = [[*map(_number, row)] for row in out.tolist()]
        return rows, (~unlabelled).sum(axis=1).tolist()

    def _rings_to_pixels(self) -> None:
        counts = np.asarray(self.ring_counts, dtype=np.int64) // 2
        flat = np.clip(np.asarray(self.rings, dtype=np.float64), 0, 1)
        size = np.array([(w, h) for _, w, h in self.ring_anns], dtype=np.float64)
        row = np.repeat(np.arange(len(counts)), counts)
        x = np.round(flat[0::2] * size[row, 0], 6)
        y = np.round(flat[1::2] * size[row, 1], 6)
        starts = np.cumsum(counts) - counts
        following = np.arange(len(x)) + 1
        following[starts + counts - 1] = starts
        cross = x * y[following] - x[following] * y
        area = np.round(np.abs(np.add.reduceat(cross, starts)) / 2, 6).tolist()
        x0, y0 = np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts)
        x1, y1 = np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)
        bbox = np.round(np.stack([x0, y0, x1 - x0, y1 - y0], axis=1), 6).tolist()
        xy = np.empty(2 * len(x), dtype=np.float64)
        xy[0::2], xy[1::2] = x, y
        coords = xy.tolist()
        offsets = (2 * np.concatenate([[0], np.cumsum(counts)])).tolist()
        for r, (ann, _, _) in enumerate(self.ring_anns):
            ann["segmentation"] = [coords[offsets[r] : offsets[r + 1]]]
            ann["area"] = area[r]
            ann["bbox"] = bbox[r]
            ann["iscrowd"] = 0


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _non_number_message(tokens: list[str]) -> str:
    bad = next(t for t in tokens if not _is_number(t))
    if len(tokens) >= 9 and all(_is_number(t) for t in tokens[:8]) and not _is_number(tokens[8]):
        return (
            f"{bad!r} is not a number: this looks like a DOTA row (x1 y1 ... x4 y4 in pixels, "
            "class name, difficulty), not YOLO (class index, then normalised values)"
        )
    return f"{bad!r} is not a number"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
