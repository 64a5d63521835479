"""expctl reproduce end to end, and expctl.reproduce.compare_runs directly."""

from __future__ import annotations

import json

from expctl.reproduce import compare_runs
from tests.conftest import git, run_expctl
from tests.workflow.sweep_project import make


def test_reproduce_exact_then_data_change_named(repo):
    make(repo)
    run_expctl(repo, "run", "--stage", "small", "-s", "lr=0.25", check=True)
    original = json.loads(run_expctl(repo, "runs", "--json").stdout)[0]
    run_expctl(repo, "tag", "base", check=True)
    # later work moves the tree on; reproduce still uses the run's exact code
    (repo / "train.py").write_text("raise SystemExit(3)\n")
    git(repo, "commit", "-qam", "broken later")
    out = json.loads(run_expctl(repo, "reproduce", "base", "--json", check=True).stdout)
    assert out["reproduced"] is True and out["original"] == original["id"]
    assert out["metrics"]["eval_accuracy"]["delta"] == 0.0 and out["data_changed"] == []
    new = json.loads(run_expctl(repo, "show", out["run"], "--json", check=True).stdout)
    assert new["reproduces"] == original["id"] and new["settings"]["lr"] == 0.25
    assert new["code"]["commit"] == original["code"]["commit"]
    assert "worktree" not in git(repo, "worktree", "list").stdout.split("\n", 1)[-1]  # removed again
    # edit the data: the rerun differs and the changed file is named
    (repo / "data" / "train.tsv").write_text("text\tlabel\nb\tneg\n")
    proc = run_expctl(repo, "reproduce", original["id"])
    assert proc.returncode == 6
    assert "NOT reproduced" in proc.stderr and "data file data/train.tsv changed" in proc.stderr


def test_compare_runs_tolerance_status_and_data():
    def rec(rid, status="succeeded", data=None, **final):
        return {"id": rid, "status": status, "metrics": {"final": final}, "data": data or {}}

    data = {"train.tsv": {"fingerprint": "aa"}, "dev.tsv": {"fingerprint": "bb"}}
    original = rec("o", acc=0.8, loss=0.5, note="x", data=data)
    same = compare_runs(original, rec("n", acc=0.8 + 1e-9, loss=0.5, note="x", data=data), 1e-6)
    assert same["reproduced"] is True and same["data_changed"] == [] and same["data_missing"] == []
    assert same["metrics"]["note"] == {"original": "x", "reproduced": "x", "delta": None, "within_tolerance": True}
    moved = compare_runs(
        original, rec("n", acc=0.81, loss=0.5, note="x", data={"train.tsv": {"fingerprint": "cc"}}), 1e-6
    )
    assert moved["reproduced"] is False and moved["metrics"]["acc"]["within_tolerance"] is False
    assert moved["data_changed"] == ["train.tsv"] and moved["data_missing"] == ["dev.tsv"]
    assert compare_runs(original, rec("n", acc=0.81, loss=0.5, note="x", data=data), 0.1)["reproduced"] is True
    assert compare_runs(original, rec("n", "failed", acc=0.8, loss=0.5, note="x"), 1e-6)["reproduced"] is False
    nan = compare_runs(rec("o", acc=float("nan")), rec("n", acc=float("nan")), 1e-6)
    assert nan["metrics"]["acc"]["delta"] is None and nan["reproduced"] is False  # nan != nan: never "reproduced"
