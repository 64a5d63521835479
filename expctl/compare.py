"""The results table: strategies (or runs) as rows; metrics, differing settings, stage, date, commit.

Runs of one strategy whose settings differ only by ``seed`` are aggregated (mean ± std,
n); a strategy's row is its best such group, at the furthest stage it reached (or
``--stage``). Each row's difference to the baseline row (the first, or ``baseline=``) is
marked when it lies within seed noise (|Δ| ≤ 2 standard errors).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from expctl.cluster import status_text
from expctl.errors import NotFoundError, UsageError
from expctl.output import fmt_value
from expctl.settings import flatten, infer_value
from expctl import strategies as strat

HIDDEN_METRIC_PREFIXES = ("train_samples_per_s", "lr", "time", "epoch", "train_runtime")


@dataclass
class Row:
    label: str
    kind: str  # tag | explore | run | branch
    status: str
    group: strat.Group
    strategy: str | None = None
    note: str = ""
    delta: float | None = None
    noise: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def record(self) -> dict[str, Any]:
        return self.group.representative


def _where(records: list[dict[str, Any]], where: Iterable[str]) -> list[dict[str, Any]]:
    conds = []
    for w in where:
        if "=" not in w:
            raise UsageError(f"--where takes key=value, not {w!r}")
        key, value = w.split("=", 1)
        conds.append((key.strip(), value))
    if not conds:
        return records
    out = []
    for r in records:
        flat = flatten(r.get("settings") or {})
        flat.setdefault("stage", r.get("stage"))
        flat.setdefault("status", r.get("status"))
        if all(key in flat and (flat[key] == infer_value(value) or fmt_value(flat[key]) == value) for key, value in conds):
            out.append(r)
    return out


def _single(record: dict[str, Any], metric: str | None) -> strat.Group:
    value = strat.primary_value(record, metric)
    return strat.Group([record], value, None, 1 if value is not None else 0)


def build(store, cfg, refs: Iterable[str] = (), *, runs_mode: bool = False, stage: str | None = None,
          where: Iterable[str] = (), baseline: str | None = None) -> tuple[list[Row], dict[str, Any]]:
    """Rows for the table and context (metric, direction)."""
    metric = cfg.primary_metric
    direction = cfg.direction
    stage_order = list(cfg.stages)
    where = list(where)
    refs = list(refs)
    all_strategies = strat.collect(store)
    rows: list[Row] = []

    def strategy_row(s: strat.Strategy) -> Row | None:
        runs = _where(s.runs, where)
        group = strat.best_group(runs, metric, direction, stage_order, stage)
        if group is None:
            return None
        note = ""
        if s.kind == "explore":
            meta = s.meta
            note = f"from {meta.get('base')}"
            if s.status == "promoted":
                note += f", promoted as {meta.get('promoted_tag')}"
            elif s.status == "abandoned":
                note += f", abandoned: {meta.get('why')}"
        return Row(s.name, s.kind, s.status, group, s.name, note)

    if runs_mode:
        records = store.all()
        if refs:
            wanted = []
            for ref in refs:
                s = next((x for x in all_strategies if x.name == ref or strat.EXPLORE_PREFIX + x.name == ref), None)
                wanted.extend(s.runs if s else [store.resolve(ref)])
            records = list({r["id"]: r for r in wanted}.values())
        records = _where(records, where)
        if stage:
            records = [r for r in records if r.get("stage") == stage]
        owner = {}
        for s in all_strategies:
            for r in s.runs:
                owner.setdefault(r["id"], s.name)
        for r in records:
            rows.append(Row(r["id"], "run", status_text(r), _single(r, metric), owner.get(r["id"]),
                            r.get("name") or ""))
    elif refs:
        for ref in refs:
            s = next((x for x in all_strategies if x.name == ref or strat.EXPLORE_PREFIX + x.name == ref), None)
            if s is not None:
                row = strategy_row(s)
                if row is None:
                    raise NotFoundError(f"strategy {ref!r} has no succeeded run" + (f" at stage {stage}" if stage else ""))
                rows.append(row)
                continue
            branch_runs = [r for r in store.all() if (r.get("code") or {}).get("branch") == ref]
            if branch_runs and ref != "HEAD":
                group = strat.best_group(_where(branch_runs, where), metric, direction, stage_order, stage)
                if group is not None:
                    rows.append(Row(ref, "branch", "", group, ref))
                    continue
            record = store.resolve(ref)
            rows.append(Row(ref if ref != record["id"] else record["id"], "run", status_text(record),
                            _single(record, metric)))
    else:
        for s in all_strategies:
            row = strategy_row(s)
            if row is not None:
                rows.append(row)

    if rows:
        base_index = 0
        if baseline:
            matches = [i for i, r in enumerate(rows) if baseline in (r.label, r.strategy, r.record["id"])]
            if not matches:
                raise NotFoundError(f"baseline {baseline!r} is not one of the rows")
            base_index = matches[0]
        base = rows[base_index]
        for i, row in enumerate(rows):
            if i == base_index or row.group.mean is None or base.group.mean is None:
                continue
            row.delta = row.group.mean - base.group.mean
            row.noise = strat.within_noise(row.group, base.group)
        base.extra["baseline"] = True
    return rows, {"metric": metric, "direction": direction}


def best_index(rows: list[Row], direction: str) -> int | None:
    scored = [(i, r.group.mean) for i, r in enumerate(rows) if r.group.mean is not None]
    if not scored:
        return None
    pick = min if direction == "min" else max
    return pick(scored, key=lambda t: t[1])[0]


def differing_settings(rows: list[Row], include_seed: bool = False) -> list[str]:
    """Settings whose values differ between rows; ``seed`` only when asked (one row per run)."""
    flats = [{k: v for k, v in flatten(r.record.get("settings") or {}).items() if not isinstance(v, dict)} for r in rows]
    keys = sorted({k for f in flats for k in f})
    out = []
    for key in keys:
        if key.rsplit(".", 1)[-1] == "seed" and not include_seed:
            continue
        values = {json.dumps(f.get(key, "\0missing"), sort_keys=True, default=str) for f in flats}
        if len(values) > 1:
            out.append(key)
    return out


def other_metrics(rows: list[Row], metric: str | None, limit: int = 4) -> list[str]:
    counts: dict[str, int] = {}
    for r in rows:
        for k in ((r.record.get("metrics") or {}).get("final") or {}):
            if k == metric or k.startswith(HIDDEN_METRIC_PREFIXES):
                continue
            counts[k] = counts.get(k, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], not k.startswith("eval_"), k))
    return sorted(ranked[:limit])


def table(rows: list[Row], ctx: dict[str, Any], fmt: str, columns: list[str] | None = None,
          sort: str | None = None, limit: int | None = None) -> tuple[list[dict[str, Any]], list[str], dict, list[dict]]:
    """(visible rows, columns, styles, json rows) ready for expctl.output.render."""
    metric = ctx["metric"] or "metric"
    direction = ctx["direction"]
    runs_mode = bool(rows) and all(r.kind == "run" for r in rows)
    diff_keys = differing_settings(rows, include_seed=runs_mode)
    others = other_metrics(rows, ctx["metric"])
    if sort:
        rows = sort_rows(rows, sort, ctx)
    if limit is not None:
        rows = rows[:limit]
    best = best_index(rows, direction)
    cols = ["run", "strategy"] if runs_mode else ["strategy", "kind"]
    cols += ["status", "stage", metric, "Δ", *others, *diff_keys, "date", "commit"]
    if columns:
        # any setting or final metric of the shown rows may be asked for, not only those shown by default
        extra_settings = {k for r in rows for k, v in flatten(r.record.get("settings") or {}).items()
                          if not isinstance(v, dict)}
        extra_metrics = {k for r in rows for k in ((r.record.get("metrics") or {}).get("final") or {})}
        unknown = [c for c in columns if c not in cols and c not in ("run", "n", "detail")
                   and c not in extra_settings and c not in extra_metrics]
        if unknown:
            raise UsageError(f"unknown column(s) {', '.join(unknown)}; available: {', '.join(cols)}, "
                             f"or any setting / final metric of the rows")
        # a name that is both (e.g. lr: the setting, and the final logged learning rate) means the setting
        diff_keys += [c for c in columns if c in extra_settings and c not in cols]
        others += [c for c in columns if c in extra_metrics and c not in cols and c not in diff_keys]
        cols = [c for c in (["run"] if runs_mode else ["strategy"]) if c not in columns] + list(columns)
    visible, json_rows, styles = [], [], {}
    for i, row in enumerate(rows):
        rec = row.record
        final = (rec.get("metrics") or {}).get("final") or {}
        flat = flatten(rec.get("settings") or {})
        g = row.group
        value = fmt_value(g.mean) if g.mean is not None else ""
        if g.n >= 2 and g.std is not None:
            value += f" ± {fmt_value(g.std)} (n={g.n})"
        if i == best and fmt != "json":
            value = f"**{value}**" if fmt == "markdown" else (f"{value} *" if fmt == "table" else value)
        delta = ""
        if row.delta is not None:
            delta = f"{row.delta:+.4f}"
            if row.noise:
                delta += " ~noise"
        elif row.extra.get("baseline"):
            delta = "baseline"
        code = rec.get("code") or {}
        cells: dict[str, Any] = {
            "run": rec["id"], "strategy": (row.strategy or "") if row.kind == "run" else row.label, "kind": row.kind,
            "status": row.status if row.kind != "tag" else "main", "stage": rec.get("stage") or "",
            metric: value, "Δ": delta, "n": g.n, "detail": row.note,
            "date": (rec.get("started") or "")[:10],
            "commit": (code.get("commit") or "")[:8] + ("*" if code.get("snapshot") else ""),
        }
        for k in others:
            cells[k] = final.get(k)
        for k in diff_keys:
            cells[k] = flat.get(k, "-")
        visible.append(cells)
        if i == best:
            styles[(i, metric)] = "bold green"
        if row.noise:
            styles[(i, "Δ")] = "dim"
        json_rows.append({
            "strategy": row.strategy if row.kind == "run" else row.label, "kind": row.kind, "status": cells["status"],
            "run": rec["id"], "stage": rec.get("stage"), "metric": ctx["metric"], "value": g.mean, "std": g.std, "n": g.n,
            "runs": [r["id"] for r in g.runs], "delta": row.delta, "within_noise": row.noise,
            "baseline": bool(row.extra.get("baseline")), "best": i == best, "note": row.note,
            "metrics": {k: final.get(k) for k in [ctx["metric"], *others] if k and k in final},
            "settings": {k: flat.get(k) for k in diff_keys}, "date": rec.get("started"), "commit": code.get("commit"),
        })
    return visible, cols, styles, json_rows


def sort_rows(rows: list[Row], key: str, ctx: dict[str, Any]) -> list[Row]:
    desc = key.startswith("-")
    key = key.lstrip("-+")
    metric = ctx["metric"]

    def value(row: Row):
        rec = row.record
        if key in (metric, "metric"):
            v = row.group.mean
        elif key in ("date", "started"):
            v = rec.get("started")
        elif key in ("strategy", "name"):
            v = row.label
        elif key == "stage":
            v = rec.get("stage")
        else:
            final = (rec.get("metrics") or {}).get("final") or {}
            v = final.get(key, flatten(rec.get("settings") or {}).get(key))
        return v

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    reverse = desc
    if key in (metric, "metric") or key.startswith("eval_"):
        from expctl.config import metric_direction_guess

        d = ctx["direction"] if key in (metric, "metric") else metric_direction_guess(key)
        reverse = (d == "max") != desc
    try:
        present.sort(key=value, reverse=reverse)
    except TypeError:
        present.sort(key=lambda r: str(value(r)), reverse=reverse)
    return present + missing


def results_markdown(rendered: str, ctx: dict[str, Any], project: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f"# Results: {project}\n\n"
            f"Written by `expctl compare --write` on {stamp}. Primary metric: `{ctx['metric']}` "
            f"({'higher' if ctx['direction'] == 'max' else 'lower'} is better); **bold** = best; "
            f"Δ against the baseline row; `~noise` = within 2 standard errors of seed variation; "
            f"`± std (n=k)` = mean over k seeds.\n\n{rendered}")
