"""expctl kfold end to end with the fast stand-in program (no torch), and expctl.kfold directly."""

from __future__ import annotations

import json
import math

import pytest
from standin import CONFIG, make

from expctl import kfold
from expctl.errors import NotFoundError
from tests.conftest import run_expctl


def test_kfold_three_grouped_runs_and_mean_std_row(repo):
    make(repo)
    out = run_expctl(repo, "kfold", "--k", "3", "--format", "json", check=True)
    summary = json.loads(out.stdout)
    assert summary["k"] == 3 and summary["succeeded"] == 3 and len(summary["runs"]) == 3
    stat = summary["metrics"]["eval_accuracy"]
    assert abs(stat["mean"] - 0.6) < 1e-9 and abs(stat["std"] - 0.1) < 1e-9 and stat["n"] == 3
    records = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    groups = [r["group"] for r in records]
    assert {g["id"] for g in groups} == {summary["id"]} and sorted(g["fold"] for g in groups) == [0, 1, 2]
    assert sorted(r["settings"]["fold"] for r in records) == [0, 1, 2]
    assert {r["settings"]["num_folds"] for r in records} == {3}
    table = run_expctl(repo, "kfold", "--show", "last", check=True).stdout
    assert "mean ± std" in table and "0.6" in table
    bad = run_expctl(repo, "kfold", "--k", "3", "-s", "fold=1")
    assert bad.returncode == 2 and "set by expctl kfold" in bad.stderr


def test_kfold_needs_fold_settings(repo):
    make(repo)
    (repo / "expctl.toml").write_text(CONFIG.replace("num_folds = 0\nfold = 0\n", ""))
    out = run_expctl(repo, "kfold", "--k", "3")
    assert out.returncode == 3 and "num_folds" in out.stderr and "Traceback" not in out.stderr


# expctl.kfold directly: which runs form a group, the summary and its rows (no runs needed)
def _fold(rid, fold, status="succeeded", started="2026", gid="kfold-a", **final):
    group = {"kind": "kfold", "id": gid, "fold": fold, "k": 3}
    return {"id": rid, "status": status, "started": started, "group": group, "metrics": {"final": final}}


def test_group_runs_summary_and_rows():
    records = [
        _fold("r2", 2, eval_accuracy=0.8, eval_f1=0.5, eval_samples=10),
        _fold("r0", 0, eval_accuracy=0.6, eval_f1=0.3),
        _fold("r1", 1, status="failed"),
        _fold("old", 0, started="2025", gid="kfold-old", eval_accuracy=0.1),
        {"id": "plain", "status": "succeeded", "started": "2027"},
    ]
    gid, runs = kfold.group_runs(records, None)
    assert gid == "kfold-a" and [r["id"] for r in runs] == ["r0", "r1", "r2"]  # by fold
    assert [r["id"] for r in kfold.group_runs(records, "kfold-old")[1]] == ["old"]
    with pytest.raises(NotFoundError, match="no kfold group 'kfold-x'"):
        kfold.group_runs(records, "kfold-x")
    with pytest.raises(NotFoundError, match="no kfold runs recorded yet"):
        kfold.group_runs(records[-1:], None)
    summary = kfold.kfold_summary(runs, "eval_accuracy")
    assert summary["id"] == "kfold-a" and summary["k"] == 3 and (summary["succeeded"], summary["failed"]) == (2, 1)
    assert list(summary["metrics"]) == ["eval_accuracy", "eval_f1"]  # the primary first; never eval_samples
    acc = summary["metrics"]["eval_accuracy"]
    assert acc["n"] == 2 and abs(acc["mean"] - 0.7) < 1e-12 and abs(acc["std"] - math.sqrt(0.02)) < 1e-12
    assert summary["folds"][1] == {
        "fold": 1,
        "run": "r1",
        "status": "failed",
        "values": {"eval_accuracy": None, "eval_f1": None},
    }
    rows, cols = kfold.kfold_rows(summary, limit=1)
    assert cols == ["fold", "run", "status", "eval_accuracy"] and len(rows) == 4
    assert rows[-1]["fold"] == "mean ± std" and rows[-1]["status"] == "2/3 ok" and "0.7" in rows[-1]["eval_accuracy"]
