"""Seeded subsets for the stage limits, streamed: never the first N lines, never the whole file.

* single-label tasks (classification, pair): **label-stratified**. Pass 1 streams the file and
  counts labels only (memory: one counter per label); quotas are proportional with largest
  remainders, and at least one example per label when ``n`` allows; pass 2 keeps one seeded
  reservoir per label sized to its quota. Memory: ``n`` examples.
* multi-label and NER: one seeded reservoir (Algorithm R) of ``n`` examples.

The result is in file order (so it is independent of the reservoir's internal order) and
comes with a one-line description for the log.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def reservoir(items: Iterable[T], n: int, rng: random.Random) -> tuple[list[tuple[int, T]], int]:
    """Algorithm R over (position, item); returns the kept pairs and the number seen."""
    kept: list[tuple[int, T]] = []
    seen = 0
    for pos, item in enumerate(items):
        seen += 1
        if len(kept) < n:
            kept.append((pos, item))
        else:
            j = rng.randrange(seen)
            if j < n:
                kept[j] = (pos, item)
    return kept, seen


def random_subset(items: list[T], limit: int, seed: int) -> list[T]:
    """``limit`` items chosen at random (a function of ``seed``), in their original order;
    all of them when ``limit`` is 0 or not smaller than the list."""
    if not 0 < limit < len(items):
        return items
    keep = sorted(random.Random(f"subset-{seed}").sample(range(len(items)), limit))
    return [items[i] for i in keep]


def stratified_quotas(counts: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` over labels (largest remainder); then, when ``n`` allows,
    a label left at 0 takes one from the label with the largest quota (every label represented)."""
    total = sum(counts.values())
    if n >= total:
        return dict(counts)
    labels = sorted(counts)
    exact = {lab: n * counts[lab] / total for lab in labels}
    quotas = {lab: int(exact[lab]) for lab in labels}
    left = n - sum(quotas.values())
    for lab in sorted(labels, key=lambda lab: (-(exact[lab] - quotas[lab]), lab))[:left]:
        quotas[lab] += 1
    if n >= len(labels):
        for lab in labels:
            if quotas[lab] == 0 and counts[lab] > 0:
                donor = max(labels, key=lambda x: (quotas[x], x))
                quotas[donor] -= 1
                quotas[lab] += 1
    return quotas


def sample(
    make_iter: Callable[[], Iterator[T]],
    n: int,
    seed: int,
    label_of: Callable[[T], str | None] | None = None,
) -> tuple[list[T], str, Counter]:
    """A seeded subset of at most ``n`` items of ``make_iter()`` (called once or twice).

    Returns (items in file order, description, label counts of the subset).
    ``n <= 0`` means all items (one pass, nothing dropped).
    """
    rng = random.Random(f"subset-{seed}")
    if n <= 0:
        items = list(make_iter())
        counts = Counter(label_of(x) for x in items) if label_of else Counter()
        return items, f"all {len(items)} examples", counts
    if label_of is None:
        kept, seen = reservoir(make_iter(), n, rng)
        kept.sort(key=lambda p: p[0])
        items = [x for _, x in kept]
        how = "all" if seen <= n else f"seeded random sample (reservoir, seed {seed})"
        return items, f"{len(items)} of {seen} examples: {how}", Counter()
    # pass 1: label counts only
    totals: Counter = Counter()
    for item in make_iter():
        totals[label_of(item)] += 1
    seen = sum(totals.values())
    if seen <= n:
        items = list(make_iter())
        return items, f"all {len(items)} examples (limit {n} not reached)", Counter(label_of(x) for x in items)
    quotas = stratified_quotas(dict(totals), n)
    rngs = {lab: random.Random(f"subset-{seed}-{lab}") for lab in quotas}
    kept: dict[str, list[tuple[int, T]]] = {lab: [] for lab in quotas}
    seen_lab: Counter = Counter()
    for pos, item in enumerate(make_iter()):
        lab = label_of(item)
        if lab not in quotas:
            continue
        seen_lab[lab] += 1
        bucket, q = kept[lab], quotas[lab]
        if q == 0:
            continue
        if len(bucket) < q:
            bucket.append((pos, item))
        else:
            j = rngs[lab].randrange(seen_lab[lab])
            if j < q:
                bucket[j] = (pos, item)
    merged = sorted((p for bucket in kept.values() for p in bucket), key=lambda p: p[0])
    items = [x for _, x in merged]
    counts = Counter(label_of(x) for x in items)
    return items, f"{len(items)} of {seen} examples: seeded label-stratified sample (seed {seed})", counts


def fold_assignment(items: list[T], k: int, seed: int, label_of: Callable[[T], str | None] | None = None) -> list[int]:
    """The fold (0..k-1) of every item: seeded and, with ``label_of``, label-stratified.

    Items of each label are shuffled with their own seeded generator and dealt round-robin
    over the folds, the deal continuing from label to label (sorted), so every fold gets
    ``n/k`` items +- 1 and each label's share of every fold is as even as its count allows.
    The assignment depends only on the items, ``k`` and ``seed`` (not on the training seed).
    """
    if k < 2:
        raise ValueError("k-fold needs k >= 2")
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(str(label_of(item)) if label_of else "", []).append(i)
    folds = [0] * len(items)
    deal = 0
    for lab in sorted(groups):
        idx = list(groups[lab])
        random.Random(f"fold-{seed}-{lab}").shuffle(idx)
        for i in idx:
            folds[i] = deal % k
            deal += 1
    return folds
