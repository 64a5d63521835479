"""Seed-group statistics, once: mean, sample standard deviation (n - 1), n, and the ``±`` text.

Every reader that aggregates runs differing only by seed (or fold) uses these: compare's seed
groups (:mod:`expctl.strategies`), the sweep's sensitivity table (:mod:`expctl.sweep`), the
k-fold mean ± std row (:mod:`expctl.kfold`) and the per-step band of curves
(:mod:`expctl.analysis.curvegroups`). Pure Python, no imports beyond ``math``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """``mean`` and sample ``std`` of ``n`` values (``mean`` None for none, ``std`` None for fewer than two)."""

    mean: float | None
    std: float | None
    n: int


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def sample_std(values: Sequence[float], center: float | None = None) -> float | None:
    """The sample standard deviation (n - 1 in the denominator); None for fewer than two values."""
    if len(values) < 2:
        return None
    m = center if center is not None else sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, sample std): (None, None) for no values, std None for one value."""
    if not values:
        return None, None
    m = sum(values) / len(values)
    return m, sample_std(values, m)


def summarize(values: Sequence[float]) -> Summary:
    m, s = mean_std(values)
    return Summary(m, s, len(values))


def pm(mean: float | None, std: float | None, *, spaced: bool = True, missing: str = "-") -> str:
    """``0.61 ± 0.02`` (``0.61±0.02`` when not ``spaced``); ``missing`` when there is no mean,
    the mean alone when there is no std."""
    from expctl.output import fmt_value

    if mean is None:
        return missing
    if std is None:
        return fmt_value(mean)
    return fmt_value(mean) + (" ± " if spaced else "±") + fmt_value(std)
