"""The results table: strategies (or runs) as rows; metrics, differing settings, stage, date, commit.

A strategy's runs are decided by expctl.membership (code, settings and data of a tag's own
run; the branch of an exploration). Runs of one strategy whose settings differ only by
``seed`` are aggregated over their distinct seeds (mean ± std, n; a rerun of a seed is a
reproduction, shown beside). The table shows one stage at a time: ``--stage``, else the
latest stage every row reached. Each row's difference to the baseline row (the first, or
``baseline=``) is computed within that stage and marked when it lies within seed noise
(|Δ| ≤ 2 standard errors).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from expctl import strategies as strat
from expctl.cluster import status_text
from expctl.errors import NotFoundError, UsageError
from expctl.output import fmt_value
from expctl.record import Record
from expctl.refs import resolve_run
from expctl.settings import flatten

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


def _single(record: dict[str, Any], metric: str | None) -> strat.Group:
    return strat.make_group([record], metric)


def _succeeded_stages(runs: Iterable[dict[str, Any]]) -> set[str]:
    return {r.get("stage") or "" for r in runs if r.get("status") == "succeeded"}


def pick_stage(candidates: list[set[str]], stage_order: list[str]) -> str | None:
    """One stage for the table: the latest stage every row has, else the latest that most rows have."""
    candidates = [c for c in candidates if c]
    if not candidates:
        return None

    def rank(st: str) -> tuple:
        return (strat.stage_rank(st or None, stage_order), st)

    common = set.intersection(*candidates)
    if common:
        return max(common, key=rank)
    counts: dict[str, int] = {}
    for c in candidates:
        for st in c:
            counts[st] = counts.get(st, 0) + 1
    return max(counts, key=lambda st: (counts[st], rank(st)))


def build(
    store,
    cfg,
    refs: Iterable[str] = (),
    *,
    runs_mode: bool = False,
    stage: str | None = None,
    where: Iterable[str] = (),
    baseline: str | None = None,
    since: str | None = None,
) -> tuple[list[Row], dict[str, Any]]:
    """Rows for the table and context (metric, direction, the stage shown, rows left out).

    Strategy rows show one stage at a time: ``stage``, else the latest stage every row
    reached (a strategy without a succeeded run at it is left out, and named in the context).
    A delta is only computed between rows of the same stage."""
    from expctl import filters

    metric = cfg.primary_metric
    direction = cfg.direction
    stage_order = list(cfg.stages)
    refs = list(refs)
    from expctl import recordindex

    # strategies are decided on light records (their keys, expctl.recordindex.light_listing);
    # only the runs of the rows shown are read whole. Otherwise: summaries, never whole records
    filt = filters.Filter(where, since)
    kept = None  # compare --runs --where on settings: the runs it keeps, filtered on the keys part
    light = None
    if runs_mode and filt and not refs:
        light = recordindex.light_listing(store)
        kept = _kept_on_keys(store, light, filt) if light is not None else None
        light = light if kept is not None else None
    elif not runs_mode and not filt:
        light = recordindex.light_listing(store, metric)
    everything = light if light is not None else recordindex.summaries(store)
    whole = None
    if light is not None:

        def whole(members: list[dict[str, Any]], needed: list[dict[str, Any]]) -> strat.Group:
            """The group of ``members``, the ``needed`` ones (what its row reads) as summaries."""
            read = recordindex.whole_summaries(store, list({r["_commit"]: r for r in needed}.values()))
            if read is None:  # cannot happen while git holds what the index was checked against
                read = {r["_commit"]: r for r in recordindex.summaries(store)}
            return strat.make_group([read.get(r["_commit"], r) for r in members], metric)

    if kept is None:
        filt.check(everything, declared=[*flatten(cfg.settings), *([metric] if metric else [])])

    def keep(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return filt.apply(runs) if filt else list(runs)  # no filter keeps every run

    all_strategies = strat.collect(store, cfg, everything)
    rows: list[Row] = []
    omitted: list[str] = []

    def note_of(s: strat.Strategy) -> str:
        if s.kind != "explore":
            return ""
        meta = s.meta
        note = f"from {meta.get('base')}"
        if s.status == "promoted":
            note += f", promoted as {meta.get('promoted_tag')}"
            if meta.get("abandoned_why"):
                note += f" (after being abandoned: {meta['abandoned_why']})"
        elif s.status == "abandoned":
            note += f", abandoned: {meta.get('why')}"
        return note

    def find_strategy(ref: str) -> strat.Strategy | None:
        return next((x for x in all_strategies if x.name == ref or strat.EXPLORE_PREFIX + x.name == ref), None)

    chosen = stage
    if runs_mode:
        records = everything
        if refs:
            wanted = []
            for ref in refs:
                s = find_strategy(ref)
                wanted.extend(s.runs if s else [resolve_run(store, ref)])
            records = list({r["id"]: r for r in wanted}.values())
        records = kept if kept is not None else filt.apply(records)
        if stage:
            records = [r for r in records if r.get("stage") == stage]
        owner = {}
        for s in all_strategies:
            for r in s.runs:
                owner.setdefault(r["id"], s.name)
        for r in records:
            rows.append(
                Row(r["id"], "run", status_text(r), _single(r, metric), owner.get(r["id"]), r.get("name") or "")
            )
    else:
        # (label, kind, status, strategy, note, runs) per row; a run REF is a row of its own
        pending: list[tuple[str, str, str, str | None, str, list[dict[str, Any]] | None, dict | None]] = []
        if refs:
            for ref in refs:
                s = find_strategy(ref)
                if s is not None:
                    pending.append((s.name, s.kind, s.status, s.name, note_of(s), keep(s.runs), None))
                    continue
                branch_runs = [r for r in everything if Record(r).branch == ref]
                if branch_runs and ref != "HEAD":
                    pending.append((ref, "branch", "", ref, "", keep(branch_runs), None))
                    continue
                record = resolve_run(store, ref)
                pending.append(
                    (ref if ref != record["id"] else record["id"], "run", status_text(record), None, "", None, record)
                )
        else:
            for s in all_strategies:
                pending.append((s.name, s.kind, s.status, s.name, note_of(s), keep(s.runs), None))
        if chosen is None:
            chosen = pick_stage([_succeeded_stages(p[5]) for p in pending if p[5] is not None], stage_order)
        for label, kind, status, strategy, note, runs, record in pending:
            if record is not None:
                rows.append(Row(label, "run", status, _single(record, metric)))
                continue
            group = (
                strat.best_group(runs, metric, direction, stage_order, chosen, whole) if chosen is not None else None
            )
            if group is None:
                if refs:
                    if stage:
                        raise NotFoundError(f"strategy {label!r} has no succeeded run at stage {stage}")
                    if not _succeeded_stages(runs) and not filt:
                        raise NotFoundError(f"strategy {label!r} has no succeeded run")
                if runs:
                    omitted.append(label)
                continue
            rows.append(Row(label, kind, status, group, strategy, note))

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
            if (row.record.get("stage") or "") != (base.record.get("stage") or ""):
                continue  # never a delta across stages
            row.delta = row.group.mean - base.group.mean
            row.noise = strat.within_noise(row.group, base.group)
        base.extra["baseline"] = True
    stages_seen = sorted(
        {r.get("stage") or "" for s in all_strategies for r in s.runs if r.get("status") == "succeeded"}
        - {chosen or ""},
        key=lambda st: strat.stage_rank(st or None, stage_order),
    )
    return rows, {
        "metric": metric,
        "direction": direction,
        "stage": chosen,
        "omitted": omitted,
        "other_stages": [st for st in stages_seen if st],
        "filtered": bool(filt),
    }


KEPT_READ_MAX = 2000  # runs a filter keeps that are read whole from git; more: every summary from the index


def _kept_on_keys(store, light: list[dict[str, Any]], filt) -> list[dict[str, Any]] | None:
    """The summaries of the runs ``filt`` keeps, newest first, decided on light records when
    every condition names a setting every run has (settings win over metrics of the same
    name, so nothing else is needed); None when it cannot be decided so."""
    from expctl import filters, recordindex

    verdicts: dict[int, bool] = {}
    for r in light:
        combo = r["_combo"]
        if combo in verdicts:
            continue
        flat = {k: v for k, v in flatten(Record(r).settings).items() if not isinstance(v, dict)}
        if any(c.key not in flat for c in filt.conditions):
            return None
        verdicts[combo] = all(filters.matches(c, flat) for c in filt.conditions)
    cutoff = filt.cutoff
    keep = [r for r in light if verdicts[r["_combo"]] and (cutoff is None or filters.started_at(r) >= cutoff)]
    if len(keep) > KEPT_READ_MAX:
        return None
    read = recordindex.whole_summaries(store, keep)
    return None if read is None else [read[r["_commit"]] for r in keep]


def best_index(rows: list[Row], direction: str) -> int | None:
    scored = [(i, r.group.mean) for i, r in enumerate(rows) if r.group.mean is not None]
    if not scored:
        return None
    pick = min if direction == "min" else max
    return pick(scored, key=lambda t: t[1])[0]


def differing_settings(rows: list[Row], include_seed: bool = False) -> list[str]:
    """Settings whose values differ between rows; ``seed`` only when asked (one row per run)."""
    flats = [{k: v for k, v in flatten(Record(r.record).settings).items() if not isinstance(v, dict)} for r in rows]
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
        for k in Record(r.record).final:
            if k == metric or k.startswith(HIDDEN_METRIC_PREFIXES):
                continue
            counts[k] = counts.get(k, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], not k.startswith("eval_"), k))
    return sorted(ranked[:limit])


MACHINE_FORMATS = ("csv", "tsv")


def value_text(g: strat.Group) -> str:
    """``mean ± std (n=k)`` for people; reproductions (same seed again) beside, not inside."""
    value = fmt_value(g.mean) if g.mean is not None else ""
    if g.n >= 2 and g.std is not None:
        value += f" ± {fmt_value(g.std)} (n={g.n})"
    if g.reproductions:
        k = len(g.reproductions)
        value += f" [+{k} reproduction{'s' if k > 1 else ''}]"
    return value


def table(
    rows: list[Row],
    ctx: dict[str, Any],
    fmt: str,
    columns: list[str] | None = None,
    sort: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], list[str], dict, list[dict]]:
    """(visible rows, columns, styles, json rows) ready for expctl.output.render.

    csv and tsv are for machines: one number per cell (``<metric>_mean``, ``_std``, ``_n``,
    ``delta``, ``within_noise``), ASCII headers. Every metric of a seed group is its mean
    over the group's distinct seeds."""
    metric = ctx["metric"] or "metric"
    direction = ctx["direction"]
    machine = fmt in MACHINE_FORMATS
    runs_mode = bool(rows) and all(r.kind == "run" for r in rows)
    diff_keys = differing_settings(rows, include_seed=runs_mode)
    others = other_metrics(rows, ctx["metric"])
    if sort:
        rows = sort_rows(rows, sort, ctx)
    if limit is not None:
        rows = rows[:limit]
    best = best_index(rows, direction)
    delta_col = "delta" if machine else "Δ"
    metric_cols = [f"{metric}_mean", f"{metric}_std", f"{metric}_n"] if machine else [metric]
    noise_cols = ["within_noise"] if machine else []
    repro_cols = ["reproductions"] if machine and any(r.group.reproductions for r in rows) else []
    cols = ["run", "strategy"] if runs_mode else ["strategy", "kind"]
    cols += [
        "status",
        "stage",
        *metric_cols,
        *repro_cols,
        delta_col,
        *noise_cols,
        *others,
        *diff_keys,
        "date",
        "commit",
    ]
    if columns:
        # any setting or final metric of the shown rows may be asked for, not only those shown by default
        extra_settings = {
            k for r in rows for k, v in flatten(Record(r.record).settings).items() if not isinstance(v, dict)
        }
        extra_metrics = {k for r in rows for k in Record(r.record).final}
        aliases = {
            "Δ": delta_col,
            "delta": delta_col,
            metric: metric_cols,
            "within_noise": "within_noise",
            "reproductions": "reproductions",
        }
        known = set(cols) | {"run", "n", "detail"} | set(aliases)
        unknown = [c for c in columns if c not in known and c not in extra_settings and c not in extra_metrics]
        if unknown:
            raise UsageError(
                f"unknown column(s) {', '.join(unknown)}; available: {', '.join(cols)}, "
                f"or any setting / final metric of the rows"
            )
        # a name that is both (e.g. lr: the setting, and the final logged learning rate) means the setting
        diff_keys += [c for c in columns if c in extra_settings and c not in cols and c not in aliases]
        others += [
            c for c in columns if c in extra_metrics and c not in cols and c not in diff_keys and c not in aliases
        ]
        picked: list[str] = []
        for c in columns:
            target = aliases.get(c, c)
            picked.extend(target if isinstance(target, list) else [target])
        cols = [c for c in (["run"] if runs_mode else ["strategy"]) if c not in picked] + picked
    visible, json_rows, styles = [], [], {}
    for i, row in enumerate(rows):
        rec = row.record
        final = Record(rec).final
        flat = flatten(Record(rec).settings)
        g = row.group
        value = value_text(g)
        if i == best and fmt not in ("json", *MACHINE_FORMATS):
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
            "run": rec["id"],
            "strategy": (row.strategy or "") if row.kind == "run" else row.label,
            "kind": row.kind,
            "status": row.status if row.kind != "tag" else "main",
            "stage": rec.get("stage") or "",
            metric: value,
            "Δ": delta,
            "n": g.n,
            "detail": row.note,
            f"{metric}_mean": g.mean,
            f"{metric}_std": g.std,
            f"{metric}_n": g.n,
            "delta": row.delta,
            "within_noise": row.noise,
            "reproductions": len(g.reproductions),
            "date": (rec.get("started") or "")[:10],
            "commit": (code.get("commit") or "")[:8] + ("*" if code.get("snapshot") else ""),
        }
        for k in others:
            cells[k] = g.metric_means.get(k, final.get(k))
        for k in diff_keys:
            cells[k] = flat.get(k, "-")
        if machine or fmt == "json":  # a plain status for machines; the Slurm job id in its own column
            if row.kind == "run":
                cells["status"] = rec.get("status") or ""
        if machine:  # numbers at full precision (10 significant digits), not rounded for the eye
            cells = {
                k: (format(v, ".10g") if isinstance(v, float) and math.isfinite(v) else v) for k, v in cells.items()
            }
        visible.append(cells)
        if i == best:
            styles[(i, metric)] = "bold green"
        if row.noise:
            styles[(i, "Δ")] = "dim"
        json_rows.append(
            {
                "strategy": row.strategy if row.kind == "run" else row.label,
                "kind": row.kind,
                "status": cells["status"],
                "run": rec["id"],
                "stage": rec.get("stage"),
                "metric": ctx["metric"],
                "value": g.mean,
                "std": g.std,
                "n": g.n,
                f"{metric}_mean": g.mean,
                f"{metric}_std": g.std,
                f"{metric}_n": g.n,
                "runs": [r["id"] for r in g.runs],
                "reproductions": [r["id"] for r in g.reproductions],
                "delta": row.delta,
                "within_noise": row.noise,
                "baseline": bool(row.extra.get("baseline")),
                "best": i == best,
                "note": row.note,
                "metrics": {
                    k: g.metric_means.get(k, final.get(k))
                    for k in [ctx["metric"], *others]
                    if k and (k in final or k in g.metric_means)
                },
                "settings": {k: flat.get(k) for k in diff_keys},
                "date": rec.get("started"),
                "commit": code.get("commit"),
            }
        )
        if isinstance(rec.get("slurm"), dict):  # a run on Slurm: its job id beside the plain status
            json_rows[-1]["slurm_job"] = rec["slurm"].get("job_id")
    return visible, cols, styles, json_rows


def sort_rows(rows: list[Row], key: str, ctx: dict[str, Any]) -> list[Row]:
    from expctl import filters

    desc = key.startswith("-")
    metric = ctx["metric"]
    known = filters.known_keys([r.record for r in rows])
    key = filters.check_sort_key(
        key,
        known,
        [k for k in (metric, "metric", "date", "started", "strategy", "name", "stage", "delta", "status", "kind") if k],
    )

    def value(row: Row):
        rec = row.record
        if key in (metric, "metric"):
            v = row.group.mean
        elif key in ("date", "started"):
            v = rec.get("started")
        elif key in ("strategy", "name"):
            v = row.label
        elif key in ("stage", "status"):
            v = rec.get(key)
        elif key == "kind":
            v = row.kind
        elif key == "delta":
            v = row.delta
        else:
            flat = flatten(Record(rec).settings)
            if key in flat:  # a name that is both a setting and a metric means the setting
                v = flat[key]
            else:
                v = row.group.metric_means.get(key, Record(rec).final.get(key))
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
    return (
        f"# Results: {project}\n\n"
        f"Written by `expctl compare --write` on {stamp}. Primary metric: `{ctx['metric']}` "
        f"({'higher' if ctx['direction'] == 'max' else 'lower'} is better); **bold** = best; "
        f"Δ against the baseline row; `~noise` = within 2 standard errors of seed variation; "
        f"`± std (n=k)` = mean over k distinct seeds (reruns of a seed are counted as reproductions, "
        f"not seeds)." + (f" Stage: `{ctx['stage']}`." if ctx.get("stage") else "") + f"\n\n{rendered}"
    )
