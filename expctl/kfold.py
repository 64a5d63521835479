"""K-fold runs: K folds of one configuration as ordinary recorded runs, and their mean ± std.

:func:`kfold_commands` / :func:`kfold_execute` run K folds of one configuration as ordinary
recorded runs (``expctl run --meta``), each with ``num_folds=K`` and ``fold=i`` and the
record field ``group: {kind: "kfold", id, fold, k}``. The program selects the fold's
train / eval split from its training file (the bundled trainer does: label-stratified,
seeded by ``fold_seed``). :func:`kfold_summary` gives the mean ± std row.
"""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

from expctl.errors import ConfigError, NotFoundError, UsageError
from expctl.record import Record

FOLD_KEYS = ("num_folds", "fold")


# ------------------------------------------------------------------------------ k-fold
def new_group_id(kind: str) -> str:
    return f"{kind}-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def kfold_commands(
    cfg, k: int, stage: str | None, assignments: Iterable[str], extra: Iterable[str] = (), group_id: str | None = None
) -> tuple[str, list[tuple[list[str], dict]]]:
    """The `expctl run` argument lists of the K folds (validated before anything runs)."""
    from expctl.settings import flatten, resolve, split_assignment

    if k < 2:
        raise UsageError(f"--k must be >= 2, got {k}")
    assignments = list(assignments)
    for a in assignments:
        key, _ = split_assignment(a)
        if key in FOLD_KEYS:
            raise UsageError(f"{key} is set by expctl kfold; leave it out of -s")
    st = cfg.stage(stage) if stage else None
    known = flatten(resolve(cfg.settings, st.settings if st else {}, assignments, cfg.free_form))
    missing = [key for key in FOLD_KEYS if key not in known]
    if missing:
        raise ConfigError(
            f"expctl kfold needs the settings {', '.join(missing)} in [settings] of expctl.toml "
            f"(num_folds = 0, fold = 0; `expctl init --trainer builtin` writes them) and a program "
            f"that selects the fold from them"
        )
    group_id = group_id or new_group_id("kfold")
    out = []
    for fold in range(k):
        args = ["run", "-q"]
        if stage:
            args += ["--stage", stage]
        for a in assignments:
            args += ["-s", a]
        args += ["-s", f"num_folds={k}", "-s", f"fold={fold}"]
        meta = {"group": {"kind": "kfold", "id": group_id, "fold": fold, "k": k}}
        args += ["--meta", json.dumps(meta)]
        extra = list(extra)
        if extra:
            args += ["--", *extra]
        out.append((args, meta))
    return group_id, out


def kfold_execute(root, cmds: list[tuple[list[str], dict]], echo=print) -> list[int]:
    exe = [sys.executable, "-m", "expctl.cli"]
    codes = []
    for _i, (args, meta) in enumerate(cmds, 1):
        g = meta["group"]
        echo(f"expctl: kfold {g['id']} [fold {g['fold'] + 1}/{g['k']}]")
        codes.append(subprocess.run([*exe, *args], cwd=root).returncode)
    return codes


def group_runs(records: list[dict[str, Any]], group_id: str | None, kind: str = "kfold") -> tuple[str, list[dict]]:
    grouped = [r for r in records if isinstance(r.get("group"), dict) and r["group"].get("kind") == kind]
    if not grouped:
        raise NotFoundError(f"no {kind} runs recorded yet (expctl kfold --k 5 ...)")
    if group_id is None:
        group_id = max(grouped, key=lambda r: r.get("started", ""))["group"]["id"]
    mine = [r for r in grouped if r["group"].get("id") == group_id]
    if not mine:
        raise NotFoundError(f"no {kind} group {group_id!r}")
    return group_id, sorted(mine, key=lambda r: r["group"].get("fold", 0))


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (n - 1); std is None for fewer than two values."""
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def kfold_summary(runs: list[dict[str, Any]], metric: str | None) -> dict[str, Any]:
    """Per metric (the primary first, then the other final eval_* metrics): mean, std, n."""
    ok = [r for r in runs if r.get("status") == "succeeded"]
    names: list[str] = []
    if metric:
        names.append(metric)
    for r in ok:
        for key in Record(r).final:
            if key.startswith("eval_") and key not in names and key != "eval_samples":
                names.append(key)
    stats = {}
    for name in names:
        values = [float(v) for v in (Record(r).final.get(name) for r in ok) if isinstance(v, (int, float))]
        mean, std = mean_std(values)
        stats[name] = {"mean": mean, "std": std, "n": len(values)}
    k = runs[0]["group"].get("k") if runs else None
    return {
        "id": runs[0]["group"]["id"] if runs else None,
        "k": k,
        "runs": [r["id"] for r in runs],
        "succeeded": len(ok),
        "failed": len(runs) - len(ok),
        "metric": metric,
        "metrics": stats,
        "folds": [
            {
                "fold": r["group"].get("fold"),
                "run": r["id"],
                "status": r.get("status"),
                "values": {n: Record(r).final.get(n) for n in names},
            }
            for r in runs
        ],
    }


def pm(mean: float | None, std: float | None) -> str:
    from expctl.output import fmt_value

    if mean is None:
        return "-"
    return fmt_value(mean) + (f" ± {fmt_value(std)}" if std is not None else "")


def kfold_rows(summary: dict[str, Any], limit: int = 4) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per fold, then the ``mean ± std`` row."""
    names = list(summary["metrics"])[:limit]
    rows = [
        {"fold": f["fold"], "run": f["run"], "status": f["status"], **{n: f["values"].get(n) for n in names}}
        for f in summary["folds"]
    ]
    rows.append(
        {
            "fold": "mean ± std",
            "run": summary["id"],
            "status": f"{summary['succeeded']}/{len(summary['folds'])} ok",
            **{n: pm(summary["metrics"][n]["mean"], summary["metrics"][n]["std"]) for n in names},
        }
    )
    return rows, ["fold", "run", "status", *names]
