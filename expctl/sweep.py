"""One-factor-at-a-time sensitivity sweeps (two or three values per knob around
the current best, no grid: a grid's runs go to combinations before one knob is understood).

``-s lr=1e-5,3e-5,1e-4 -s dropout=0.1,0.3`` runs the base configuration once and, for each
knob, every value that differs from the base — so two knobs × three values that include
the base value are 1 + 2 + 2 = 5 configurations, not 9. ``--grid`` runs the full product
(with a warning about the count). ``--seeds N`` repeats every configuration with N seeds.
Every run is an ordinary recorded run of the run group (:mod:`expctl.rungroups`) carrying
``group: {kind: sweep, id, index, size, config, varied, base, seed}``; the
sensitivity table ranks knobs by the range of the primary metric they cause, next to the
spread across seeds.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from expctl import rungroups
from expctl.errors import ConfigError, UsageError
from expctl.settings import MISSING, coerce, flatten, resolve, split_assignment
from expctl.stats import mean_std, pm


@dataclass
class Design:
    """The sweep's design: knobs and their values, the base, the configurations, the seeds
    (:func:`group_plan` turns it into the run group's member runs)."""

    sweep_id: str
    knobs: dict[str, list[Any]]
    base: dict[str, Any]  # knob -> base value
    configs: list[dict[str, Any]]  # knob -> value, one per configuration
    seeds: list[int | None]

    @property
    def n_runs(self) -> int:
        return len(self.configs) * len(self.seeds)


def parse_knobs(specs: Iterable[str], flat_defaults: dict[str, Any]) -> tuple[dict[str, list[Any]], list[str]]:
    """``key=v1,v2`` -> values per knob; ``key=v`` (one value) is a fixed override."""
    knobs: dict[str, list[Any]] = {}
    fixed: list[str] = []
    for spec in specs:
        key, raw = split_assignment(spec)
        parts = [p.strip() for p in raw.split(",")] if not (raw.strip().startswith("[")) else [raw]
        if len(parts) == 1:
            fixed.append(spec)
            continue
        default = flat_defaults.get(key, MISSING)
        values = []
        for p in parts:
            v = coerce(key, p, default)
            if v not in values:
                values.append(v)
        knobs[key] = values
    return knobs, fixed


def plan(cfg, stage: str | None, specs: Iterable[str], seeds: int = 0, grid: bool = False) -> tuple[Design, list[str]]:
    st = cfg.stage(stage) if stage else None
    knobs, fixed = parse_knobs(specs, flatten({**cfg.settings}))
    if not knobs and not seeds:
        raise UsageError(
            "nothing to sweep: give at least one knob with two or more values, e.g. -s lr=1e-5,3e-5, "
            "or --seeds N to run one configuration with N seeds"
        )
    # the base configuration: resolved settings with the fixed overrides (validates every key)
    base_settings = flatten(resolve(cfg.settings, st.settings if st else {}, fixed, cfg.free_form))
    for key in knobs:
        resolve(cfg.settings, st.settings if st else {}, [f"{key}={_text(knobs[key][0])}"], cfg.free_form)
    seed_list: list[int | None] = [None]
    if seeds:
        if "seed" not in base_settings:
            raise ConfigError("--seeds needs a `seed` setting in [settings] of expctl.toml")
        start = int(base_settings["seed"] or 0)
        seed_list = [start + i for i in range(seeds)]
    base = {k: base_settings.get(k, v[0]) for k, v in knobs.items()}
    configs: list[dict[str, Any]] = []
    if grid:
        for combo in itertools.product(*knobs.values()):
            configs.append(dict(zip(knobs, combo)))
    else:
        configs.append(dict(base))
        for key, values in knobs.items():
            for v in values:
                if v != base[key]:
                    configs.append({**base, key: v})
    return Design(rungroups.new_id("sweep"), knobs, base, configs, seed_list), fixed


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def varied(config: dict[str, Any], base: dict[str, Any]) -> str | None:
    diff = [k for k in config if config[k] != base[k]]
    return diff[0] if len(diff) == 1 else ("+".join(diff) if diff else None)


def group_plan(p: Design, stage: str | None, fixed: list[str], extra: list[str]) -> rungroups.Plan:
    """The member runs of the sweep: every configuration with every seed."""
    n = p.n_runs
    members = []
    for config in p.configs:
        for seed in p.seeds:
            assignments = [*fixed, *(f"{k}={_text(v)}" for k, v in config.items())]
            if seed is not None:
                assignments.append(f"seed={seed}")
            detail = {"config": config, "varied": varied(config, p.base), "base": p.base, "seed": seed}
            label = f"[{len(members) + 1}/{n}] {_describe(detail)}"
            members.append(rungroups.Member(stage, assignments, detail, label, extra_args=list(extra)))
    return rungroups.Plan("sweep", p.sweep_id, members)


def _describe(s: dict) -> str:
    what = ", ".join(f"{k}={_text(v)}" for k, v in s["config"].items() if s["varied"] and k in s["varied"].split("+"))
    text = what or "base"
    return text + (f" seed={s['seed']}" if s["seed"] is not None else "")


# ---------------------------------------------------------------- the analysis
def sweep_runs(records: list[dict[str, Any]], sweep_id: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The runs of sweep ``sweep_id`` (or of the newest sweep or seed group)."""
    return rungroups.lookup(
        records,
        rungroups.SWEEP_KINDS,
        sweep_id,
        none_yet="no sweep runs recorded yet (expctl sweep -s KEY=V1,V2 ...)",
        unknown="no sweep {id!r}",
    )


def sensitivity(runs: list[dict[str, Any]], metric: str, direction: str) -> dict[str, Any]:
    """Per knob: metric mean per value, range (max − min of the means), seed spread, best value."""
    from expctl.strategies import primary_value

    groups = [rungroups.membership(r) or {} for r in runs]
    base = groups[0]["base"]
    by_config: dict[str, list[tuple[dict, dict]]] = {}
    for r, g in zip(runs, groups):
        by_config.setdefault(json.dumps(g["config"], sort_keys=True, default=str), []).append((r, g))
    config_stats = {}
    for key, members in by_config.items():
        values = [
            v for v in (primary_value(r, metric) for r, _ in members if r.get("status") == "succeeded") if v is not None
        ]
        mean, std = mean_std(values)
        config_stats[key] = {
            "config": members[0][1]["config"],
            "mean": mean,
            "std": std,
            "n": len(values),
            "failed": sum(1 for r, _ in members if r.get("status") != "succeeded"),
        }
    stds = [c["std"] for c in config_stats.values() if c["std"] is not None]
    seed_spread = sum(stds) / len(stds) if stds else None
    knobs = []
    for knob in base:
        rows = []
        for c in config_stats.values():
            cfg = c["config"]
            if all(cfg[k] == base[k] for k in base if k != knob):
                rows.append(
                    {"value": cfg[knob], "mean": c["mean"], "std": c["std"], "n": c["n"], "failed": c["failed"]}
                )
        means = [row["mean"] for row in rows if row["mean"] is not None]
        rng = (max(means) - min(means)) if len(means) >= 2 else None
        pick = min if direction == "min" else max
        best = pick((row for row in rows if row["mean"] is not None), key=lambda row: row["mean"], default=None)
        noise = None if rng is None or seed_spread is None else rng <= 2 * seed_spread
        knobs.append(
            {
                "knob": knob,
                "values": sorted(rows, key=lambda row: str(row["value"])),
                "range": rng,
                "best": best["value"] if best else None,
                "best_mean": best["mean"] if best else None,
                "within_noise": noise,
            }
        )
    knobs.sort(key=lambda k: -(k["range"] if k["range"] is not None else -1))
    return {
        "metric": metric,
        "direction": direction,
        "seed_spread": seed_spread,
        "knobs": knobs,
        "configs": len(config_stats),
        "runs": len(runs),
        "config_stats": list(config_stats.values()),
    }


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    from expctl.output import fmt_value

    rows = []
    if not result["knobs"]:  # `sweep --seeds N` without a knob: one configuration, N seeds
        for c in result.get("config_stats") or []:
            rows.append(
                {
                    "rank": "",
                    "knob": "(seeds only)",
                    "range": None,
                    "seed spread": c["std"],
                    "verdict": "",
                    "best": None,
                    "values (metric mean)": pm(c["mean"], c["std"], spaced=False, missing="failed") + f" (n={c['n']})",
                }
            )
    for rank, k in enumerate(result["knobs"], 1):
        values = "  ".join(
            f"{fmt_value(v['value'])}: {pm(v['mean'], v['std'], spaced=False, missing='failed')}" for v in k["values"]
        )
        rows.append(
            {
                "rank": rank,
                "knob": k["knob"],
                "range": k["range"],
                "seed spread": result["seed_spread"],
                "verdict": "sensitive"
                if k["within_noise"] is False
                else ("within seed noise" if k["within_noise"] else ""),
                "best": k["best"],
                "values (metric mean)": values,
            }
        )
    return rows
