"""One-factor-at-a-time sensitivity sweeps (two or three values per knob around
the current best, no grid: a grid's runs go to combinations before one knob is understood).

``-s lr=1e-5,3e-5,1e-4 -s dropout=0.1,0.3`` runs the base configuration once and, for each
knob, every value that differs from the base — so two knobs × three values that include
the base value are 1 + 2 + 2 = 5 configurations, not 9. ``--grid`` runs the full product
(with a warning about the count). ``--seeds N`` repeats every configuration with N seeds.
Every run is an ordinary recorded run carrying ``sweep: {id, config, varied}``; the
sensitivity table ranks knobs by the range of the primary metric they cause, next to the
spread across seeds.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from expctl.errors import ConfigError, NotFoundError, UsageError
from expctl.settings import MISSING, coerce, flatten, resolve, split_assignment


@dataclass
class Plan:
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


def plan(cfg, stage: str | None, specs: Iterable[str], seeds: int = 0, grid: bool = False) -> tuple[Plan, list[str]]:
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
    return Plan(new_sweep_id(), knobs, base, configs, seed_list), fixed


def new_sweep_id() -> str:
    """The group id of a sweep (and of `run --seeds`): runs sharing it are one experiment."""
    return "sweep-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


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


def commands(p: Plan, stage: str | None, fixed: list[str], extra: list[str]) -> list[tuple[list[str], dict]]:
    out = []
    for config in p.configs:
        for seed in p.seeds:
            args = ["run", "-q"]
            if stage:
                args += ["--stage", stage]
            for a in fixed:
                args += ["-s", a]
            for k, v in config.items():
                args += ["-s", f"{k}={_text(v)}"]
            if seed is not None:
                args += ["-s", f"seed={seed}"]
            meta = {
                "sweep": {
                    "id": p.sweep_id,
                    "config": config,
                    "varied": varied(config, p.base),
                    "base": p.base,
                    "seed": seed,
                }
            }
            args += ["--meta", json.dumps(meta)]
            if extra:
                args += ["--", *extra]
            out.append((args, meta))
    return out


def execute(
    root,
    p: Plan,
    stage: str | None,
    fixed: list[str],
    extra: list[str],
    parallel: int = 1,
    devices: list[str] | None = None,
    echo=print,
) -> list[int]:
    """Run every configuration as `expctl run` (sequentially, or N at a time)."""
    cmds = commands(p, stage, fixed, extra)
    exe = [sys.executable, "-m", "expctl.cli"]
    codes: list[int] = []
    if parallel <= 1:
        for i, (args, meta) in enumerate(cmds, 1):
            echo(f"expctl: sweep {p.sweep_id} [{i}/{len(cmds)}] {_describe(meta)}")
            env = dict(os.environ)
            if devices:
                env["CUDA_VISIBLE_DEVICES"] = devices[0]
            codes.append(subprocess.run([*exe, *args], cwd=root, env=env).returncode)
        return codes
    running: list[tuple[subprocess.Popen, str | None]] = []
    queue = list(enumerate(cmds, 1))
    free = list(devices or [None] * parallel)
    while queue or running:
        while queue and free and len(running) < parallel:
            i, (args, meta) = queue.pop(0)
            dev = free.pop(0)
            env = dict(os.environ)
            if dev is not None:
                env["CUDA_VISIBLE_DEVICES"] = dev
            echo(
                f"expctl: sweep {p.sweep_id} [{i}/{len(cmds)}] {_describe(meta)}" + (f" on device {dev}" if dev else "")
            )
            proc = subprocess.Popen([*exe, *args], cwd=root, env=env, stdout=subprocess.DEVNULL)
            running.append((proc, dev))
        time.sleep(0.05)
        for proc, dev in list(running):
            if proc.poll() is not None:
                codes.append(proc.returncode)
                running.remove((proc, dev))
                free.append(dev)
    return codes


def _describe(meta: dict) -> str:
    s = meta["sweep"]
    what = ", ".join(f"{k}={_text(v)}" for k, v in s["config"].items() if s["varied"] and k in s["varied"].split("+"))
    text = what or "base"
    return text + (f" seed={s['seed']}" if s["seed"] is not None else "")


# ---------------------------------------------------------------- the analysis
def sweep_runs(records: list[dict[str, Any]], sweep_id: str | None) -> tuple[str, list[dict[str, Any]]]:
    swept = [r for r in records if isinstance(r.get("sweep"), dict)]
    if not swept:
        raise NotFoundError("no sweep runs recorded yet (expctl sweep -s KEY=V1,V2 ...)")
    if sweep_id is None:
        sweep_id = max(swept, key=lambda r: r.get("started", ""))["sweep"]["id"]
    mine = [r for r in swept if r["sweep"]["id"] == sweep_id]
    if not mine:
        raise NotFoundError(f"no sweep {sweep_id!r}")
    return sweep_id, mine


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
    return mean, std


def sensitivity(runs: list[dict[str, Any]], metric: str, direction: str) -> dict[str, Any]:
    """Per knob: metric mean per value, range (max − min of the means), seed spread, best value."""
    from expctl.strategies import primary_value

    base = runs[0]["sweep"]["base"]
    by_config: dict[str, list[dict]] = {}
    for r in runs:
        by_config.setdefault(json.dumps(r["sweep"]["config"], sort_keys=True, default=str), []).append(r)
    config_stats = {}
    for key, members in by_config.items():
        values = [
            v for v in (primary_value(r, metric) for r in members if r.get("status") == "succeeded") if v is not None
        ]
        mean, std = _stats(values)
        config_stats[key] = {
            "config": members[0]["sweep"]["config"],
            "mean": mean,
            "std": std,
            "n": len(values),
            "failed": sum(1 for r in members if r.get("status") != "succeeded"),
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
                    "values (metric mean)": (fmt_value(c["mean"]) if c["mean"] is not None else "failed")
                    + (f"±{fmt_value(c['std'])}" if c["std"] is not None else "")
                    + f" (n={c['n']})",
                }
            )
    for rank, k in enumerate(result["knobs"], 1):
        values = "  ".join(
            f"{fmt_value(v['value'])}: {fmt_value(v['mean']) if v['mean'] is not None else 'failed'}"
            + (f"±{fmt_value(v['std'])}" if v["std"] is not None else "")
            for v in k["values"]
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
