"""expctl.diffing directly on real runs: what differs between two runs (settings, metrics, data,
environment, command, code) and its text form; the effective batch size. `expctl diff`'s
formats are in tests/daily/test_formats.py."""

from __future__ import annotations

from expctl import diffing
from expctl.project import Project
from tests.conftest import git, run_expctl
from tests.small_project import make_project, new_run


def test_effective_batch_multiplies_batch_accumulation_and_world_size():
    assert diffing.effective_batch({"settings": {"batch_size": 8}}) == 8
    rec = {"settings": {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2}}
    assert diffing.effective_batch({**rec, "env": {"world_size": 4}}) == 32
    assert diffing.effective_batch({"settings": {"batch_size": "8"}}) is None
    assert diffing.effective_batch({"settings": {}}) is None


def test_diff_of_two_runs_of_different_code(repo):
    make_project(repo)
    a = new_run(repo, "-s", "acc=0.6", "--name", "a")
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# a comment\n")
    git(repo, "commit", "-qam", "comment")
    b = new_run(repo, "-s", "acc=0.75", "-s", "batch_size=16", "--name", "b")
    d = diffing.diff(Project.open(repo).store, "a", "b", patch=True)
    assert d["a"] == {"ref": "a", "run": a["id"], "stage": "smoke"} and d["b"]["run"] == b["id"]
    assert d["settings"] == {"added": {}, "removed": {}, "changed": {"acc": [0.6, 0.75], "batch_size": [8, 16]}}
    acc = d["metrics"]["eval_accuracy"]
    assert acc["a"] == 0.6 and acc["b"] == 0.75 and abs(acc["delta"] - 0.15) < 1e-12
    assert d["metrics"]["train_loss"] == {"a": 0.5, "b": 0.5, "delta": 0.0}
    assert d["env"] == {"effective_batch_size": [8, 16]} and d["command"] is None
    assert d["code"]["files"] == ["train.py"] and "train.py" in d["code"]["stat"]
    assert "+# a comment" in d["code"]["patch"]
    text = diffing.format_text(d)
    assert f"A: a (run {a['id']}, stage smoke)" in text
    assert "  ~ acc: 0.6 -> 0.75" in text and "  ~ batch_size: 8 -> 16" in text
    assert "  eval_accuracy: 0.6 -> 0.75  (+0.15)" in text and "  train_loss: 0.5 -> 0.5\n" in text
    assert "environment\n  ~ effective_batch_size: 8 -> 16" in text and "+# a comment" in text
    same = diffing.diff(Project.open(repo).store, "b", "b")
    assert not any(same["settings"].values()) and same["code"]["files"] == [] and same["code"]["patch"] is None
    assert "settings\n  (identical)" in diffing.format_text(same) and "(same code)" in diffing.format_text(same)
    cli = run_expctl(repo, "diff", "a", "b", check=True).stdout
    assert "~ acc: 0.6 -> 0.75" in cli
