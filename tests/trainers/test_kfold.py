"""expctl kfold (expctl/kfold.py), end to end with the fast stand-in program (no torch)."""

from __future__ import annotations

import json

from standin import CONFIG, make

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
