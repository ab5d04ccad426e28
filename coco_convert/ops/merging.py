"""``merge``: several COCO files into one, categories unified by name.

* Categories with the same name are one category (``match="normalized"`` also ignores case,
  spaces, ``_`` and ``-``); names that only look alike (``keyboard`` / ``keybaord``) are
  reported, never merged. Keypoint categories merge only when their keypoint names and
  skeleton agree. The first input's category ids are kept; a later input's new category keeps
  its id when it is free.
* Images with the same ``file_name`` in two inputs are one image holding both sets of
  annotations (their sizes must agree). Image and annotation ids are renumbered from 1 in
  output order, or kept (``ids="keep"``) when the inputs' ids do not collide.
* Licenses are unified by content, ``info`` and every other top-level key come from the first
  input that has them; what a later input had differently is reported as lost.
* Detection results merge in their ground truths' id space (:func:`merge_results`).

Records are copied (with their new ids); every extra key a tool wrote is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from ..converters.loss import MAX_EXAMPLES, LossReport
from ..errors import InputError, Location, UsageError
from ..io import gc_paused
from .common import absorb_category, coco_dataset, fill_fields, name_of

if TYPE_CHECKING:  # the dataset module imports the operations (its methods)
    from ..dataset import AnyDataset, CocoDataset, Dataset, ResultsDataset

__all__ = ["IdMode", "Match", "MergePlan", "merge", "merge_results", "normalize_name"]

Match = Literal["exact", "normalized"]
IdMode = Literal["renumber", "keep"]

#: The kinds merge takes; instances and keypoints merge into keypoints.
_MERGEABLE = ("instances", "keypoints", "captions", "stuff")
_RECORD_KEYS = ("info", "licenses", "images", "annotations", "categories")


def normalize_name(name: str) -> str:
    """A category name for ``match="normalized"``: case folded, spaces, ``_`` and ``-``
    removed (``Traffic_Light`` and ``traffic light`` agree)."""
    return re.sub(r"[\s_\-]+", "", name.casefold())


@dataclass
class MergePlan:
    """How each input's ids map to the merged dataset's ids (one dict per input)."""

    images: list[dict[int, int]] = field(default_factory=list)
    categories: list[dict[int, int]] = field(default_factory=list)
    licenses: list[dict[int, int]] = field(default_factory=list)


def merge(
    datasets: Sequence[Dataset],
    *,
    match: Match = "exact",
    ids: IdMode = "renumber",
    copy: bool = True,
) -> tuple[AnyDataset, LossReport]:
    """One dataset holding every input's images and annotations (see the module's doc).

    ``copy=False`` rewrites the inputs' image and annotation records in place instead of
    copying them (a quarter of the time at train2017 scale): for inputs nobody uses
    afterwards, as the command line's."""
    merged, _, report = merge_with_plan(datasets, match=match, ids=ids, copy=copy)
    return merged, report


def merge_with_plan(
    datasets: Sequence[Dataset],
    *,
    match: Match = "exact",
    ids: IdMode = "renumber",
    copy: bool = True,
    report: LossReport | None = None,
) -> tuple[AnyDataset, MergePlan, LossReport]:
    """:func:`merge`, also returning each input's id maps."""
    if not datasets:
        raise UsageError("merge: give at least one dataset")
    report = report if report is not None else LossReport("merge")
    inputs = [coco_dataset(dataset, "merge", panoptic=False) for dataset in datasets]
    kinds = {dataset.kind for dataset in inputs}
    if not kinds <= set(_MERGEABLE) or (len(kinds) > 1 and kinds != {"instances", "keypoints"}):
        listed = ", ".join(f"{name_of(d)} is {d.kind}" for d in inputs)
        raise UsageError(f"merge: the inputs are of kinds that do not merge ({listed})")
    kind = "keypoints" if "keypoints" in kinds else inputs[0].kind
    with gc_paused():
        # The same dataset given twice must not be rewritten twice.
        copy = copy or len({id(d) for d in inputs}) < len(inputs)
        merger = _Merger(inputs, match, ids, report, copy=copy)
        document = merger.document()
    # The class of an input of the kind (no import of the dataset module: it imports this one).
    cls = next(type(d) for d in inputs if d.kind == kind)
    merged = cast("AnyDataset", cls(document, validate=False))
    report.count("images", len(document["images"]))
    report.count("annotations", len(document["annotations"]))
    report.count("categories", len(document.get("categories", ())))
    return merged, merger.plan, report


class _Merger:
    def __init__(
        self,
        inputs: list[CocoDataset[Any, Any]],
        match: Match,
        ids: IdMode,
        report: LossReport,
        *,
        copy: bool,
    ) -> None:
        self.inputs = inputs
        self.copy = copy
        self.names = _distinct_names(
            [name_of(d, f"<dataset {i + 1}>") for i, d in enumerate(inputs)]
        )
        self.key = normalize_name if match == "normalized" else _same
        self.keep = ids == "keep"
        self.report = report
        self.plan = MergePlan()
        #: For each merged category, the inputs it comes from, and where it first is.
        self.sources: list[list[int]] = []
        self.origin: list[tuple[int, int]] = []

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self._top_level(out)
        if any("licenses" in d.document for d in self.inputs):
            out["licenses"] = self._licenses()
        if any("categories" in d.document for d in self.inputs):
            out["categories"] = self._categories()
            self._report_look_alikes(out["categories"])
        out["images"] = self._images()
        out["annotations"] = self._annotations()
        # The first input's key order, then keys only later inputs have.
        order = dict.fromkeys(key for d in self.inputs for key in d.document)
        return {key: out[key] for key in order if key in out}

    # info and a tool's own top-level keys ------------------------------------------------------

    def _top_level(self, out: dict[str, Any]) -> None:
        for dataset, name in zip(self.inputs, self.names, strict=True):
            for key, value in dataset.document.items():
                if key in _RECORD_KEYS[1:]:
                    continue
                if key not in out or (key == "info" and out[key] is None):
                    out[key] = value
                elif out[key] != value:
                    self.report.lose(
                        "top_level_value_differs",
                        "top-level values (info, a tool's own keys) that differ from an earlier "
                        "input's: the earlier input's are kept",
                        where=Location(name, f"/{key}"),
                    )

    # licenses --------------------------------------------------------------------------------

    def _licenses(self) -> list[Any]:
        out: list[Any] = []
        by_content: dict[str, int] = {}
        used: set[int] = set()
        for dataset, name in zip(self.inputs, self.names, strict=True):
            mapping: dict[int, int] = {}
            for i, license_ in enumerate(dataset.licenses):
                content = _content(license_)
                if content in by_content:
                    mapping.setdefault(license_["id"], by_content[content])
                    continue
                new_id = license_["id"] if license_["id"] not in used else _next_free(used)
                if new_id != license_["id"]:
                    self.report.lose(
                        "license_ids_changed",
                        "licenses whose id an earlier input's license has: given a new id "
                        "(their images follow)",
                        where=Location(name, f"/licenses/{i}/id"),
                        detail=f"{license_['id']} -> {new_id}",
                    )
                used.add(new_id)
                by_content[content] = new_id
                mapping.setdefault(license_["id"], new_id)
                out.append(_with_id(license_, new_id))
            self.plan.licenses.append(mapping)
        return out

    # categories ------------------------------------------------------------------------------

    def _categories(self) -> list[Any]:
        """The merged categories. A category keeps its id unless an earlier one holds it;
        those that cannot are numbered after every other id, once all are known (so one
        collision does not shift the ids of every category after it)."""
        out: list[Any] = []
        by_key: dict[str, int] = {}  # name (or normalized name) -> index in out
        claimed: dict[int, tuple[int, str]] = {}  # id -> (index in out, file)
        first_file: list[str] = []
        links: list[tuple[dict[int, int], Any, int, Location]] = []
        for n, (dataset, name) in enumerate(zip(self.inputs, self.names, strict=True)):
            mapping: dict[int, int] = {}
            self.plan.categories.append(mapping)
            for i, category in enumerate(dataset.categories):
                where = Location(name, f"/categories/{i}")
                key = self.key(category["name"])
                index = by_key.get(key)
                if index is not None:
                    kept = out[index]
                    absorb_category(
                        kept, category, where=where, first=first_file[index], report=self.report
                    )
                    if n not in self.sources[index]:
                        self.sources[index].append(n)
                    if kept["name"] != category["name"]:
                        self.report.lose(
                            "category_names_normalized",
                            "categories merged with one whose name differs only in case, "
                            "spaces, '_' or '-': the first spelling is kept",
                            where=Location(name, f"/categories/{i}/name"),
                            detail=f"{category['name']!r} -> {kept['name']!r}",
                        )
                else:
                    index = by_key[key] = len(out)
                    record = dict(category)
                    if category["id"] in claimed:
                        other, other_file = claimed[category["id"]]
                        if self.keep:
                            raise InputError(
                                Location(name, f"/categories/{i}/id"),
                                f"category id {category['id']} ({category['name']!r}) is "
                                f"{out[other]['name']!r} in {other_file}",
                                hint="merge without --ids keep to give it a free id, or remap "
                                "one of the files first",
                            )
                        record["id"] = None  # numbered below
                    else:
                        claimed[category["id"]] = (index, name)
                    out.append(record)
                    first_file.append(name)
                    self.sources.append([n])
                    self.origin.append((n, i))
                links.append((mapping, category, index, where))
        for record in out:
            if record["id"] is None:
                record["id"] = free = _next_free(claimed)
                claimed[free] = (0, "")
        for mapping, category, index, where in links:
            if category["id"] in mapping:
                continue  # a repeated id within one file: the first category wins
            new_id = mapping[category["id"]] = out[index]["id"]
            if new_id != category["id"]:
                self.report.lose(
                    "category_ids_changed",
                    "categories whose id is another's in the merged file: their annotations "
                    "follow the new id",
                    where=Location(where.file, f"{where.pointer}/id"),
                    detail=f"{category['id']} -> {new_id}",
                )
        merged = [
            c["name"] for c, sources in zip(out, self.sources, strict=True) if len(sources) > 1
        ]
        if merged:
            self.report.count("categories in several inputs", len(merged))
            more = f" and {len(merged) - 20} more" if len(merged) > 20 else ""
            self.report.stats["merged_categories"] = ", ".join(merged[:20]) + more
        return out

    def _report_look_alikes(self, categories: list[Any]) -> None:
        """Warn about names from different inputs that look like one name misspelt."""
        keys = [normalize_name(c["name"]) for c in categories]
        for a in range(len(categories)):
            for b in range(a + 1, len(categories)):
                if self.sources[a] == self.sources[b]:
                    continue  # both in the same inputs: not made by this merge
                if keys[a] == keys[b] or _one_edit_apart(keys[a], keys[b]):
                    self.report.warn(
                        "look_alike_categories",
                        "category names from different inputs that look like one name "
                        "(not merged: remap one of them if they are the same)",
                        where=Location(
                            self.names[self.origin[b][0]], f"/categories/{self.origin[b][1]}"
                        ),
                        detail=f"{categories[b]['name']!r} looks like {categories[a]['name']!r} "
                        f"({self.names[self.origin[a][0]]})",
                    )

    # images ----------------------------------------------------------------------------------

    def _images(self) -> list[Any]:
        out: list[Any] = []
        by_file: dict[str, tuple[int, int, int]] = {}  # file_name -> (index in out, input, i)
        owner: dict[int, tuple[int, int]] = {}  # kept id -> (input, index in input)
        renumbered = _renumbering("image")
        for n, (dataset, name) in enumerate(zip(self.inputs, self.names, strict=True)):
            mapping: dict[int, int] = {}
            licenses = self.plan.licenses[n] if self.plan.licenses else {}
            for i, image in enumerate(dataset.images):
                if image["id"] in mapping:
                    continue  # a repeated id within one file: its annotations go with the first
                found = by_file.get(image["file_name"])
                if found is not None and found[1] != n:
                    kept = out[found[0]]
                    self._check_same_image(kept, image, found, Location(name, f"/images/{i}"))
                    mapping[image["id"]] = kept["id"]
                    self.report.count("images in several inputs")
                    continue
                if self.keep:
                    new_id = image["id"]
                    if new_id in owner and owner[new_id][0] != n:
                        other, j = owner[new_id]
                        raise InputError(
                            f"{name}:/images/{i}/id",
                            f"image id {new_id} ({image['file_name']!r}) is also the id of "
                            f"{self.names[other]}:/images/{j} "
                            f"({self.inputs[other].images[j]['file_name']!r})",
                            hint="merge without --ids keep to renumber",
                        )
                    owner[new_id] = (n, i)
                else:
                    new_id = len(out) + 1
                    if new_id != image["id"]:
                        renumbered.add(name, "images", i, image["id"], new_id)
                mapping[image["id"]] = new_id
                record = dict(image) if self.copy else image
                record["id"] = new_id
                license_id = image.get("license")
                if license_id is not None and license_id in licenses:
                    record["license"] = licenses[license_id]
                by_file.setdefault(image["file_name"], (len(out), n, i))
                out.append(record)
            self.plan.images.append(mapping)
        renumbered.report_to(self.report)
        return out

    def _check_same_image(
        self, kept: dict[str, Any], image: Any, found: tuple[int, int, int], where: Location
    ) -> None:
        first = f"{self.names[found[1]]}:/images/{found[2]}"
        for key in ("width", "height"):
            if key in kept and key in image and kept[key] != image[key]:
                raise InputError(
                    where,
                    f"{image['file_name']!r} is {image.get('width')}x{image.get('height')} here "
                    f"but {kept.get('width')}x{kept.get('height')} in {first}",
                    hint="the same file_name must be the same image; rename one of them",
                )
        fill_fields(
            kept,
            image,
            skip=("id", "license"),
            report=self.report,
            key="image_fields_differ",
            message="images in several inputs whose other fields differ: the first input's "
            "are kept",
            where=where,
            first=first,
        )

    # annotations -----------------------------------------------------------------------------

    def _annotations(self) -> list[Any]:
        out: list[Any] = []
        owner: dict[int, tuple[int, int]] = {}
        renumbered = _renumbering("annotation")
        keep, copy = self.keep, self.copy
        for n, (dataset, name) in enumerate(zip(self.inputs, self.names, strict=True)):
            images = self.plan.images[n]
            # Captions refer to no category (Datumaro writes category_id 0 all the same).
            categories = None if dataset.kind == "captions" else self.plan.categories[n]
            for i, ann in enumerate(dataset.annotations):
                image_id = images.get(ann["image_id"])
                category_id = None
                if categories is not None and "category_id" in ann:
                    category_id = categories.get(ann["category_id"])
                    if category_id is None:
                        self.report.lose(
                            "annotations_without_category",
                            "annotations whose category_id no category of their file has: left out",
                            where=Location(name, f"/annotations/{i}/category_id"),
                        )
                        continue
                if image_id is None:
                    self.report.lose(
                        "annotations_without_image",
                        "annotations whose image_id no image of their file has: left out",
                        where=Location(name, f"/annotations/{i}/image_id"),
                    )
                    continue
                if keep:
                    first = owner.setdefault(ann["id"], (n, i))
                    if first[0] != n:
                        raise InputError(
                            f"{name}:/annotations/{i}/id",
                            f"annotation id {ann['id']} is also the id of "
                            f"{self.names[first[0]]}:/annotations/{first[1]}",
                            hint="merge without --ids keep to renumber",
                        )
                record = dict(ann) if copy else ann
                record["image_id"] = image_id
                if category_id is not None:
                    record["category_id"] = category_id
                if not keep:
                    new_id = len(out) + 1
                    if new_id != ann["id"]:
                        renumbered.add(name, "annotations", i, ann["id"], new_id)
                    record["id"] = new_id
                out.append(record)
        renumbered.report_to(self.report)
        return out


class _Tally:
    """Many losses of one kind (ids renumbered): counted as they come, only the first few
    places formatted, all handed to the report at once."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        self.count = 0
        self.examples: list[tuple[Location, str]] = []

    def add(self, file: str, key: str, index: int, old: int, new: int) -> None:
        self.count += 1
        if self.count <= MAX_EXAMPLES:
            self.examples.append((Location(file, f"/{key}/{index}/id"), f"{old} -> {new}"))

    def report_to(self, report: LossReport) -> None:
        for where, detail in self.examples:
            report.lose(self.key, self.message, where=where, detail=detail)
        if self.count > len(self.examples):
            report.lose(self.key, self.message, count=self.count - len(self.examples))


def _renumbering(what: str) -> _Tally:
    return _Tally(
        f"{what}_ids_renumbered",
        f"{what} ids renumbered (the merged file numbers them from 1; --ids keep keeps them "
        "when they do not collide)",
    )


def merge_results(
    results: Sequence[ResultsDataset],
    gts: Sequence[Dataset],
    *,
    match: Match = "exact",
    ids: IdMode = "renumber",
) -> tuple[ResultsDataset, LossReport]:
    """Detection results of several runs as one results file. With one ground truth, the
    results are joined as they are (each checked against it); with one ground truth per
    results file, their ids are mapped into the ids of ``merge(gts)`` with the same options,
    so the output evaluates against that merged ground truth."""
    report = LossReport("merge")
    if len(gts) not in (1, len(results)):
        raise UsageError(
            f"merge: {len(results)} results files need one --gt for all of them or one each "
            f"(got {len(gts)})"
        )
    if len(gts) == 1:
        gt = coco_dataset(gts[0], "merge --gt")
        images = [{image["id"]: image["id"] for image in gt.images}] * len(results)
        categories = [{c["id"]: c["id"] for c in gt.categories}] * len(results)
    else:
        _, plan, _ = merge_with_plan(gts, match=match, ids=ids, report=LossReport("merge"))
        images, categories = plan.images, plan.categories
    out: list[Any] = []
    for n, result_set in enumerate(results):
        name = name_of(result_set)
        for i, result in enumerate(result_set.results):
            image_id = images[n].get(result["image_id"])
            # Caption results ({image_id, caption}) name no category.
            category_id = (
                categories[n].get(result["category_id"], None) if "category_id" in result else 0
            )
            if image_id is None or category_id is None:
                report.lose(
                    "results_not_in_ground_truth",
                    "results whose image_id or category_id their ground truth does not have: "
                    "left out",
                    where=Location(name, f"/{i}"),
                )
                continue
            record: dict[str, Any] = dict(result)
            record["image_id"] = image_id
            if "category_id" in result:
                record["category_id"] = category_id
            out.append(record)
    report.count("results", len(out))
    merged = type(results[0])(out, validate=False)
    return merged, report


# --- helpers ---------------------------------------------------------------------------------


def _same(name: str) -> str:
    return name


def _distinct_names(names: list[str]) -> list[str]:
    """Input names for messages; the same file given twice gets ``#2``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _with_id(record: Any, new_id: int) -> dict[str, Any]:
    out = dict(record)
    out["id"] = new_id
    return out


def _next_free(used: Iterable[int]) -> int:
    return max(used, default=0) + 1


def _content(record: Any) -> str:
    return json.dumps({k: v for k, v in record.items() if k != "id"}, sort_keys=True)


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether two names (6 letters or more) differ by one inserted, deleted or replaced
    letter, or two swapped neighbours (``keyboard`` / ``keybaord``)."""
    if min(len(a), len(b)) < 6 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]
