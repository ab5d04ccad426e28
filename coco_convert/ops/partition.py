"""Which split each image goes to: the decision behind ``split`` and ``sample``, apart from
the documents.

:class:`SplitPlan` sees the images (for their groups) and, for stratification, the
``(image_id, category_id)`` pair of each annotation, in batches; :meth:`SplitPlan.decide`
returns a split index per image. Nothing here holds a document, so a streaming reader can make
the same decision from a first pass over the file and write the splits in a second.

Deterministic on every platform and Python version: the only randomness is
``random.Random(seed).random()``, whose sequence Python guarantees; nothing depends on
``hash()`` or on the iteration order of a set.

Stratification is the iterative stratification of Sechidis, Tsoumakas and Vlahavas, "On the
Stratification of Multi-label Data" (ECML PKDD 2011), over images (or groups of images), with
two changes: every split gets its exact size (largest remainder of ``ratio * images``; groups
can only approximate it), and a first pass gives every split one image of each category that
has at least as many images (groups) as there are splits, before the algorithm spreads the
rest by each category's desired count.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..converters.loss import LossReport
from ..errors import Location, UsageError
from ..io import gc_paused
from .statistics import positions

__all__ = ["SplitPlan", "Units", "assign", "group_units", "parse_ratios", "split_sizes"]

#: How many unplaced images of a category the coverage pass weighs for one split.
_COVER_CANDIDATES = 32


def parse_ratios(text: str) -> dict[str, float]:
    """``train=0.8,val=0.1,test=0.1`` as ``{name: ratio}``: positive, summing to 1."""
    ratios: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--ratios: expected NAME=RATIO, got {part.strip()!r}")
        if name in ratios:
            raise UsageError(f"--ratios: {name!r} is given twice")
        try:
            ratios[name] = float(value)
        except ValueError:
            raise UsageError(f"--ratios: {name}={value.strip()!r} is not a number") from None
    check_ratios(ratios)
    return ratios


def check_ratios(ratios: dict[str, float]) -> None:
    """Positive finite ratios summing to 1 (within 1e-6), with names usable as file names."""
    if not ratios:
        raise UsageError("ratios: give at least one split (train=0.8,val=0.2)")
    for name, ratio in ratios.items():
        if not re.fullmatch(r"[\w.-]+", name) or name in (".", ".."):
            raise UsageError(
                f"ratios: split name {name!r} must be letters, digits, '_', '-' or '.' "
                "(it names the output file)"
            )
        if not 0 < ratio <= 1:
            raise UsageError(f"ratios: {name}={ratio} must be above 0 and at most 1")
    total = sum(ratios.values())
    if abs(total - 1) > 1e-6:
        raise UsageError(f"ratios: {', '.join(map(str, ratios.values()))} sum to {total:g}, not 1")


def split_sizes(total: int, ratios: Sequence[float]) -> list[int]:
    """``total`` items in parts as close to ``ratio * total`` as whole numbers allow (largest
    remainder; ties go to the earlier part): each part is within one item of its share."""
    exact = [ratio * total for ratio in ratios]
    sizes = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda j: (-(exact[j] - sizes[j]), j))
    for j in by_remainder[: total - sum(sizes)]:
        sizes[j] += 1
    return sizes


# --- groups ----------------------------------------------------------------------------------


@dataclass
class Units:
    """What is assigned to splits: groups of images (one image each without grouping)."""

    #: The unit of each image, by position.
    of_image: list[int]
    #: Images per unit.
    sizes: list[int]


def group_units(
    images: Sequence[Any],
    group_by: str | None,
    *,
    source: str = "<dataset>",
    report: LossReport | None = None,
) -> Units:
    """Units of images that stay together: ``group_by`` is an image field (``video_id``) or a
    regular expression with one capturing group matched against ``file_name``
    (``'^(.+)_frame\\d+'``). An image without the field, or whose name does not match, is a
    group of its own (and counted in ``report``)."""
    if group_by is None:
        return Units(list(range(len(images))), [1] * len(images))
    pattern = _group_pattern(group_by)
    keys: dict[Hashable, int] = {}
    of_image: list[int] = []
    sizes: list[int] = []
    missing = 0
    for i, image in enumerate(images):
        key = _group_key(image, group_by, pattern)
        if key is None:
            missing += 1
            if report is not None:
                report.warn(
                    "group_key_missing",
                    f"images without a group ({_describe(group_by, pattern)}): each is a group "
                    "of its own",
                    where=Location(source, f"/images/{i}"),
                )
            key = ("<image>", i)
        unit = keys.setdefault(key, len(keys))
        if unit == len(sizes):
            sizes.append(0)
        sizes[unit] += 1
        of_image.append(unit)
    if report is not None:
        report.count("groups", len(sizes))
    return Units(of_image, sizes)


def _group_pattern(group_by: str) -> re.Pattern[str] | None:
    """A regular expression when ``group_by`` has a capturing group, else None (a field)."""
    if "(" not in group_by:
        return None
    try:
        pattern = re.compile(group_by)
    except re.error as exc:
        raise UsageError(f"--group-by: {group_by!r} is not a regular expression: {exc}") from None
    if pattern.groups != 1:
        raise UsageError(
            f"--group-by: {group_by!r} has {pattern.groups} capturing groups; give exactly one "
            "(the part of file_name shared by a group), e.g. '^(.+)_frame\\d+'"
        )
    return pattern


def _group_key(image: Any, group_by: str, pattern: re.Pattern[str] | None) -> Hashable | None:
    if pattern is not None:
        found = pattern.search(image["file_name"])
        return None if found is None or found.group(1) is None else ("name", found.group(1))
    if group_by not in image or image[group_by] is None:
        return None
    value = image[group_by]
    # Any JSON value: 3 and "3" are different groups, as are 1 and true.
    return ("field", type(value).__name__, json.dumps(value, sort_keys=True))


def _describe(group_by: str, pattern: re.Pattern[str] | None) -> str:
    return f"file_name does not match {group_by!r}" if pattern else f"no {group_by!r} field"


# --- the plan --------------------------------------------------------------------------------


class SplitPlan:
    """The split of each image, decided from the images, their groups and, to stratify, the
    categories their annotations hold (see the module's doc)."""

    def __init__(
        self,
        images: Sequence[Any],
        *,
        group_by: str | None = None,
        source: str = "<dataset>",
        report: LossReport | None = None,
    ) -> None:
        self.image_ids = np.fromiter((image["id"] for image in images), np.int64, len(images))
        self.units = group_units(images, group_by, source=source, report=report)
        self._pairs: list[np.ndarray] = []
        self._category_ids: dict[int, int] = {}

    def add_annotations(self, image_ids: Sequence[int], category_ids: Sequence[int]) -> None:
        """The image and category of each annotation (of a batch); needed only to stratify.
        Pairs whose image is not one of the plan's images are ignored."""
        position = positions(self.image_ids, np.asarray(image_ids, dtype=np.int64))
        labels = self._category_ids
        label = np.fromiter(
            (labels.setdefault(c, len(labels)) for c in category_ids), np.int64, len(category_ids)
        )
        known = position >= 0
        self._pairs.append(np.stack([position[known], label[known]]))

    def unit_labels(self) -> list[list[tuple[int, int]]]:
        """Per unit: ``(label, images)`` for each category its images hold (label: a dense
        index of the category, in order of first appearance)."""
        n_labels = max(len(self._category_ids), 1)
        units = np.asarray(self.units.of_image, dtype=np.int64)
        out: list[list[tuple[int, int]]] = [[] for _ in self.units.sizes]
        if not self._pairs:
            return out
        pairs = np.concatenate(self._pairs, axis=1)
        # Distinct (image, label), then per (unit, label) the number of its images.
        image_label = np.unique(pairs[0] * n_labels + pairs[1])
        unit_label = units[image_label // n_labels] * n_labels + image_label % n_labels
        keys, counts = np.unique(unit_label, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            out[key // n_labels].append((key % n_labels, count))
        return out

    def uncovered(self, where: Sequence[int], k: int) -> list[tuple[int, int, int]]:
        """``(category id, split, groups)`` for each category held by at least ``k`` groups
        (images, without grouping) that split ``where`` gives to no split of the ``k``."""
        if not self._pairs:
            return []
        pairs = np.concatenate(self._pairs, axis=1)
        n_labels, n_units = len(self._category_ids), len(self.units.sizes)
        present = np.zeros((n_labels, k), dtype=bool)
        present[pairs[1], np.asarray(where, dtype=np.int64)[pairs[0]]] = True
        units = np.asarray(self.units.of_image, dtype=np.int64)[pairs[0]]
        per_label = np.unique(pairs[1] * n_units + units) // n_units
        groups = np.bincount(per_label, minlength=n_labels)
        ids = list(self._category_ids)  # in label order
        return [
            (ids[label], j, int(groups[label]))
            for label in np.flatnonzero(groups >= k).tolist()
            for j in range(k)
            if not present[label, j]
        ]

    def decide(self, ratios: Sequence[float], *, seed: int, stratify: bool) -> list[int]:
        """The split index of each image (by position)."""
        with gc_paused():  # many small lists beside a loaded dataset; see io.gc_paused
            labels = self.unit_labels() if stratify else None
            per_unit = assign(self.units.sizes, ratios, seed=seed, labels=labels)
            return [per_unit[unit] for unit in self.units.of_image]

    @property
    def category_count(self) -> int:
        return len(self._category_ids)


# --- assignment ------------------------------------------------------------------------------


def assign(
    sizes: Sequence[int],
    ratios: Sequence[float],
    *,
    seed: int,
    labels: Sequence[Sequence[tuple[int, int]]] | None = None,
) -> list[int]:
    """The split of each unit (``sizes``: images per unit). Without ``labels``: a uniformly
    random partition in the ratios; with them (``(label, images)`` per unit): iterative
    stratification (see the module's doc)."""
    rng = random.Random(seed)
    keys = [rng.random() for _ in sizes]
    order = sorted(range(len(sizes)), key=keys.__getitem__)
    assigner = _Assigner(sizes, ratios, labels or [[] for _ in sizes])
    if labels is not None:
        assigner.stratify(order)
    for unit in order:
        if assigner.split[unit] < 0:
            assigner.place(unit, assigner.emptiest(sizes[unit]))
    return assigner.split


class _Assigner:
    """The state of one assignment: remaining capacity of each split, the desired count of
    each label in each split (Sechidis et al.'s c_j^l), the count each split holds."""

    def __init__(
        self,
        sizes: Sequence[int],
        ratios: Sequence[float],
        labels: Sequence[Sequence[tuple[int, int]]],
    ) -> None:
        self.sizes = sizes
        self.labels = labels
        self.k = len(ratios)
        self.target = split_sizes(sum(sizes), ratios)
        self.room = list(self.target)
        self.split = [-1] * len(sizes)
        n_labels = 1 + max((label for unit in labels for label, _ in unit), default=-1)
        totals = [0] * n_labels
        self.units_of: list[list[int]] = [[] for _ in range(n_labels)]
        for unit, held in enumerate(labels):
            for label, images in held:
                totals[label] += images
                self.units_of[label].append(unit)
        self.ratios = list(ratios)
        self.totals = totals
        self.desired = [[total * ratio for total in totals] for ratio in ratios]
        self.held = [[0] * n_labels for _ in ratios]
        self.unplaced = [len(units) for units in self.units_of]

    def place(self, unit: int, j: int) -> None:
        self.split[unit] = j
        self.room[j] -= self.sizes[unit]
        desired, held, unplaced = self.desired[j], self.held[j], self.unplaced
        for label, images in self.labels[unit]:
            desired[label] -= images
            held[label] += images
            unplaced[label] -= 1

    def emptiest(self, size: int) -> int:
        """The split with the most room for its target that can take ``size`` images (the one
        with the most room when none can)."""
        fits = [j for j in range(self.k) if self.room[j] >= size]
        if not fits:
            return max(range(self.k), key=lambda j: (self.room[j], -j))
        return max(fits, key=lambda j: (self.room[j] / max(self.target[j], 1), -j))

    def stratify(self, order: list[int]) -> None:
        rank = [0] * len(order)
        for position, unit in enumerate(order):
            rank[unit] = position
        for units in self.units_of:
            units.sort(key=rank.__getitem__)
        self._cover()
        self._spread()

    def _cover(self) -> None:
        """One unit of each category into each split that lacks it, rarest category first, for
        every category held by at least as many units as there are splits (room allowing)."""
        coverable = [label for label, units in enumerate(self.units_of) if len(units) >= self.k]
        wanted = set(coverable)
        coverable.sort(key=lambda label: (len(self.units_of[label]), label))
        for label in coverable:
            by_desire = sorted(range(self.k), key=lambda j: (-self.desired[j][label], j))
            for j in by_desire:
                if self.held[j][label]:
                    continue
                best, best_score = -1, -1
                seen = 0
                for unit in self.units_of[label]:
                    if self.split[unit] >= 0 or self.sizes[unit] > self.room[j]:
                        continue
                    # Prefer a unit that also brings other categories the split lacks.
                    score = sum(
                        1
                        for other, _ in self.labels[unit]
                        if other in wanted and not self.held[j][other]
                    )
                    if score > best_score:
                        best, best_score = unit, score
                    seen += 1
                    if seen == _COVER_CANDIDATES:
                        break
                if best >= 0:
                    self.place(best, j)

    def _spread(self) -> None:
        """Sechidis et al.'s loop: take the category with the fewest unplaced units and place
        each of its units, among the splits with room for it, in the one where the unit's
        categories are furthest below their share (the desired count over the target, summed
        over the unit's categories, the category being processed counted twice). Sechidis et
        al. weigh the one category alone; at train2017 shape, where an image holds five
        categories, weighing them all halves the largest gap between a category's share of a
        split and the split's ratio."""
        unplaced = self.unplaced
        scale = [
            [1 / (total * ratio) if total else 0.0 for total in self.totals]
            for ratio in self.ratios
        ]
        live = [label for label, n in enumerate(unplaced) if n > 0]
        while live:
            label = min(live, key=lambda m: (unplaced[m], m))
            for unit in self.units_of[label]:
                if self.split[unit] >= 0:
                    continue
                size = self.sizes[unit]
                fits = [j for j in range(self.k) if self.room[j] >= size]
                if not fits:
                    self.place(unit, self.emptiest(size))
                    continue
                held = self.labels[unit]
                best, best_score = fits[0], float("-inf")
                for j in fits:
                    desired, weight = self.desired[j], scale[j]
                    score = desired[label] * weight[label]
                    for other, _ in held:
                        score += desired[other] * weight[other]
                    if score > best_score:
                        best, best_score = j, score
                self.place(unit, best)
            live = [m for m in live if unplaced[m] > 0]
