"""expctl reproduce (expctl/reproduce.py), end to end."""

from __future__ import annotations

import json

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
