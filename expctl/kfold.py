"""K-fold runs: K folds of one configuration as ordinary recorded runs, and their mean ± std.

:func:`kfold_plan` plans K folds of one configuration as a run group
(:mod:`expctl.rungroups`): ordinary recorded runs, each with ``num_folds=K`` and ``fold=i``
and the record field ``group: {kind: "kfold", id, index, size, fold, k}``. The program selects the fold's
train / eval split from its training file (the bundled trainer does: label-stratified,
seeded by ``fold_seed``). :func:`kfold_summary` gives the mean ± std row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from expctl import rungroups
from expctl.errors import ConfigError, UsageError
from expctl.record import Record
from expctl.stats import mean_std, pm

FOLD_KEYS = ("num_folds", "fold")


# ------------------------------------------------------------------------------ k-fold
def kfold_plan(
    cfg, k: int, stage: str | None, assignments: Iterable[str], extra: Iterable[str] = (), group_id: str | None = None
) -> rungroups.Plan:
    """The K fold runs of one configuration (validated before anything runs)."""
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
    members = [
        rungroups.Member(
            stage,
            [*assignments, f"num_folds={k}", f"fold={fold}"],
            {"fold": fold, "k": k},
            f"[fold {fold + 1}/{k}]",
            extra_args=list(extra),
        )
        for fold in range(k)
    ]
    return rungroups.Plan("kfold", group_id or rungroups.new_id("kfold"), members)


def group_runs(records: list[dict[str, Any]], group_id: str | None, kind: str = "kfold") -> tuple[str, list[dict]]:
    """The runs of k-fold group ``group_id`` (the newest when None), by fold."""
    group_id, mine = rungroups.lookup(
        records,
        (kind,),
        group_id,
        none_yet=f"no {kind} runs recorded yet (expctl kfold --k 5 ...)",
        unknown=f"no {kind} group {{id!r}}",
    )
    return group_id, rungroups.by_index(mine)


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
    groups = [rungroups.membership(r) or {} for r in runs]
    k = groups[0].get("k") if runs else None
    return {
        "id": groups[0]["id"] if runs else None,
        "k": k,
        "runs": [r["id"] for r in runs],
        "succeeded": len(ok),
        "failed": len(runs) - len(ok),
        "metric": metric,
        "metrics": stats,
        "folds": [
            {
                "fold": g.get("fold"),
                "run": r["id"],
                "status": r.get("status"),
                "values": {n: Record(r).final.get(n) for n in names},
            }
            for r, g in zip(runs, groups)
        ],
    }


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
