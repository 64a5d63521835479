"""Seed groups of curves: runs that differ only by seed drawn as one mean line with a band.

Shared by ``expctl plot --png`` and ``expctl report``:

- :func:`group_curves` puts runs with the same settings (seed aside) and the same code into
  one :class:`CurveGroup`; runs without a record (a bare ``metrics.jsonl``) stay alone.
- :func:`distinguishing_labels` names each group by the settings that tell the groups apart
  (``lr=0.001, alpha=4``), not by run ids; groups whose settings are all alike (strategies
  that differ by code) keep their given name in front.
- :meth:`CurveGroup.band` aggregates one metric over the seeds, step by step: mean and
  mean ± sample standard deviation (the band), with the number of seeds at each step.
- :func:`downsample` keeps a long curve drawable: at most ``max_points`` points, bucketed,
  the first and last point always kept, each bucket represented by its mean step and value
  (and the band's extremes), so a chart of 1,000-point curves stays small.
- :func:`is_sparse`: few points (eval metrics, usually) get a marker at every point.

Nothing heavy is imported here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from expctl.analysis.plot import Curves, Series
from expctl.stats import sample_std

SPARSE_POINTS = 40  # a series with at most this many points gets markers


@dataclass
class Band:
    """One metric of one seed group: mean line and the band mean ± std (lo, hi)."""

    steps: list[float]
    mean: list[float]
    lo: list[float]
    hi: list[float]
    n: list[int]

    @property
    def seeds(self) -> int:
        return max(self.n) if self.n else 0

    def __len__(self) -> int:
        return len(self.steps)


@dataclass
class CurveGroup:
    label: str
    members: list[Curves]
    run_ids: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # flattened, seed removed
    name: str = ""  # the ref / strategy it was asked for
    epochs: list[tuple[float, int]] = field(default_factory=list)  # (step, epoch) starts, see epoch_starts

    def band(self, metric: str) -> Band | None:
        series = [c.series[metric] for c in self.members if c.series.get(metric)]
        return aggregate(series) if series else None

    def mean_curves(self) -> Curves:
        """The mean of every metric as one Curves (what the diagnosis reads)."""
        out = Curves(self.label)
        for metric in sorted({m for c in self.members for m in c.series}):
            band = self.band(metric)
            if band:
                out.series[metric] = list(zip(band.steps, band.mean))
        for c in self.members:
            for k, v in c.nonfinite.items():
                out.nonfinite.setdefault(k, v)
            out.bad_lines += c.bad_lines
            out.bad_values += c.bad_values
        return out


def aggregate(series: Sequence[Series]) -> Band:
    """Mean and mean ± sample std per step over several runs' series (a step missing in
    a run is averaged over the runs that have it)."""
    by_step: dict[float, list[float]] = {}
    for s in series:
        seen: dict[float, float] = {}
        for step, value in s:
            seen[step] = value  # a step logged twice: the last value counts
        for step, value in seen.items():
            by_step.setdefault(step, []).append(value)
    steps = sorted(by_step)
    mean, lo, hi, n = [], [], [], []
    for step in steps:
        vals = by_step[step]
        m = sum(vals) / len(vals)
        sd = sample_std(vals, m) or 0.0
        mean.append(m)
        lo.append(m - sd)
        hi.append(m + sd)
        n.append(len(vals))
    return Band(steps, mean, lo, hi, n)


def downsample(band: Band, max_points: int = 300) -> Band:
    """At most ``max_points`` points: consecutive buckets averaged (band: its extremes);
    the first and the last point are kept as they are."""
    size = len(band)
    if size <= max_points or max_points < 3:
        return band
    inner = max_points - 2
    out = Band([band.steps[0]], [band.mean[0]], [band.lo[0]], [band.hi[0]], [band.n[0]])
    for b in range(inner):
        lo_i = 1 + (b * (size - 2)) // inner
        hi_i = 1 + ((b + 1) * (size - 2)) // inner
        if hi_i <= lo_i:
            continue
        idx = range(lo_i, hi_i)
        k = hi_i - lo_i
        out.steps.append(sum(band.steps[i] for i in idx) / k)
        out.mean.append(sum(band.mean[i] for i in idx) / k)
        out.lo.append(min(band.lo[i] for i in idx))
        out.hi.append(max(band.hi[i] for i in idx))
        out.n.append(max(band.n[i] for i in idx))
    for attr in ("steps", "mean", "lo", "hi", "n"):
        getattr(out, attr).append(getattr(band, attr)[-1])
    return out


def epoch_starts(data: bytes | str) -> list[tuple[float, int]]:
    """(step, epoch) where each whole epoch ≥ 1 began, from the ``epoch`` the program
    logged beside ``step`` (the bundled trainer does); [] when it logged none."""
    from expctl.analysis.sources import parse_jsonl

    if isinstance(data, str):
        data = data.encode()
    out: list[tuple[float, int]] = []
    for obj in parse_jsonl(data)[0]:
        step, epoch = obj.get("step"), obj.get("epoch")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (step, epoch)):
            continue
        whole = int(math.floor(epoch + 1e-9))
        if whole >= 1 and (not out or whole > out[-1][1]):
            out.append((float(step), whole))
    return out


def is_sparse(points: int) -> bool:
    return points <= SPARSE_POINTS


# --------------------------------------------------------------------- grouping
def _plain_settings(record: dict[str, Any] | None) -> dict[str, Any]:
    from expctl.record import Record
    from expctl.settings import flatten

    if not record:
        return {}
    return {
        k: v
        for k, v in flatten(Record(record).settings).items()
        if not isinstance(v, dict) and k.rsplit(".", 1)[-1] != "seed"
    }


def group_curves(
    curves: Sequence[Curves], records: Sequence[dict[str, Any] | None], names: Sequence[str] | None = None
) -> list[CurveGroup]:
    """Runs with the same settings (seed aside), stage and code in one group, in the order
    first seen; a run without a record is a group of its own."""
    names = list(names or [c.name for c in curves])
    groups: list[CurveGroup] = []
    index: dict[str, CurveGroup] = {}
    for c, record, name in zip(curves, records, names):
        if record is None:
            groups.append(CurveGroup(c.name, [c], [], {}, name))
            continue
        settings = _plain_settings(record)
        code = record.get("code") or {}
        key = json.dumps(
            [settings, record.get("stage"), code.get("tree") or code.get("commit")], sort_keys=True, default=str
        )
        if key in index:
            index[key].members.append(c)
            index[key].run_ids.append(record["id"])
            continue
        group = CurveGroup(name, [c], [record["id"]], settings, name)
        index[key] = group
        groups.append(group)
    for g, label in zip(groups, distinguishing_labels([g.settings for g in groups], [g.name for g in groups])):
        g.label = label
    return groups


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    return str(value)


def distinguishing_labels(settings: Sequence[dict[str, Any]], names: Sequence[str], limit: int = 4) -> list[str]:
    """``key=value`` of the settings that differ between the groups (at most ``limit``);
    the given name in front when that alone does not tell two groups apart."""
    keys = sorted({k for s in settings for k in s})
    differing = [
        k for k in keys if len({json.dumps(s.get(k, "\0missing"), sort_keys=True, default=str) for s in settings}) > 1
    ]
    parts = [
        ", ".join(
            f"{k.rsplit('.', 1)[-1] if _unique_leaf(k, differing) else k}={_fmt(s.get(k, '-'))}"
            for k in differing[:limit]
        )
        + (", …" if len(differing) > limit else "")
        for s in settings
    ]
    counts: dict[str, int] = {}
    for p in parts:
        counts[p] = counts.get(p, 0) + 1
    out = []
    for part, name in zip(parts, names):
        if not part:
            out.append(name)
        elif is_run_id(name):
            out.append(part if counts[part] == 1 else f"{part} ({name})")
        else:
            out.append(f"{name}: {part}")
    return out


def is_run_id(name: str | None) -> bool:
    """A run id (``YYYYMMDD-HHMMSS-xxxxxx``) or a path ending in one: no meaning to a reader."""
    import re

    return bool(re.search(r"\d{8}-\d{6}-[a-z0-9]{6}$", (name or "").rstrip("/")))


def _unique_leaf(key: str, keys: Sequence[str]) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return sum(1 for k in keys if k.rsplit(".", 1)[-1] == leaf) == 1


def load_groups(refs: Sequence[str]) -> tuple[list[Curves], list[CurveGroup]]:
    """Curves and seed groups of what ``expctl plot`` was given. A strategy (tag or
    exploration) stands for its results-table row: every seed of its best group, found by
    the results table's own rules (:func:`expctl.compare.build`). Anything else (a
    metrics.jsonl, a run folder, a run id, a branch) is one run."""
    from expctl.analysis.plot import load_curves, parse_metrics, run_record

    store = cfg = None
    from expctl.errors import ExpctlError, NotFoundError

    try:
        from expctl.project import Project

        project = Project.open()

        cfg, store = project.config, project.store
    except (ExpctlError, OSError):  # outside a project: files and folders only
        store = None
    curves: list[Curves] = []
    records: list[dict[str, Any] | None] = []
    names: list[str] = []
    from pathlib import Path

    for ref in refs:
        members = None
        if store is not None and not Path(ref).exists():
            from expctl import compare
            from expctl import strategies as strat

            if strat.find(store, ref) is not None:
                try:
                    rows, _ = compare.build(store, cfg, [ref])
                except NotFoundError:  # no succeeded run: the run the ref names, as before
                    rows = []
                members = rows[0].group.runs if rows else None
        if members:
            for record in members:
                data = store.read_file(record, "metrics.jsonl") or b""
                curves.append(parse_metrics(data, name=record["id"]))
                records.append(record)
                names.append(ref)
            continue
        c = load_curves(ref)
        curves.append(c)
        records.append(run_record(ref))
        names.append(c.name)
    return curves, group_curves(curves, records, names)
