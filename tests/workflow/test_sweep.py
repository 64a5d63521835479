"""expctl sweep (one factor at a time) and expctl reproduce, end to end."""

from __future__ import annotations

import json
import textwrap

from tests.conftest import commit_project, git, run_expctl

TRAIN = textwrap.dedent("""
    import hashlib
    from expctl import track
    s = track.settings()
    data = open(s["train_file"], "rb").read()
    bonus = int(hashlib.sha256(data).hexdigest(), 16) % 1000 / 1e5   # depends on the data, deterministically
    acc = 0.5 + float(s["lr"]) + bonus + 0.0001 * int(s["seed"])      # lr matters, dropout does not
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, train_loss=0.5, eval_accuracy=acc)
""")

CONFIG = textwrap.dedent("""
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    lr = 0.2
    dropout = 0.1
    seed = 0
    train_file = "data/train.tsv"

    [stages.small]
    check = "metrics"
""")


def make(repo):
    commit_project(repo, TRAIN, CONFIG)
    (repo / "data").mkdir()
    (repo / "data" / "train.tsv").write_text("text\tlabel\na\tpos\n")  # git-ignored data
    return repo


def test_one_factor_at_a_time_sweep(repo):
    make(repo)
    out = run_expctl(
        repo,
        "sweep",
        "-s",
        "lr=0.1,0.2,0.3",
        "-s",
        "dropout=0.1,0.2,0.3",
        "--stage",
        "small",
        "--format",
        "json",
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["configs"] == 5 and result["runs"] == 5
    records = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    configs = {json.dumps(r["settings"], sort_keys=True) for r in records}
    assert len(records) == 5 and len(configs) == 5
    assert {r["sweep"]["id"] for r in records} == {result["sweep"]}
    knobs = result["knobs"]
    assert [k["knob"] for k in knobs] == ["lr", "dropout"]  # the sensitive knob ranks first
    assert abs(knobs[0]["range"] - 0.2) < 1e-9 and knobs[0]["best"] == 0.3
    assert knobs[1]["range"] == 0.0
    table = run_expctl(repo, "sweep", "--show", "last", check=True).stdout
    assert table.index(" lr ") < table.index(" dropout ")


def test_sweep_with_seeds_and_grid_warning(repo):
    make(repo)
    plan = run_expctl(
        repo, "sweep", "-s", "lr=0.1,0.3", "-s", "dropout=0.1,0.5", "--grid", "--seeds", "2", "--dry-run", check=True
    )
    assert (
        "--grid runs 4 configurations x 2 seeds = 8 runs" in plan.stderr
        and "one factor at a time would be 4" in plan.stderr
    )
    assert not (repo / "runs").exists()
    out = json.loads(
        run_expctl(repo, "sweep", "-s", "lr=0.2,0.3", "--seeds", "2", "--parallel", "2", "--json", check=True).stdout
    )
    assert out["runs"] == 4 and out["configs"] == 2
    assert abs(out["seed_spread"] - 0.0001 / 2**0.5) < 1e-9
    assert out["knobs"][0]["within_noise"] is False


def test_sweep_rejects_unknown_knob(repo):
    make(repo)
    proc = run_expctl(repo, "sweep", "-s", "lrr=0.1,0.2")
    assert proc.returncode == 3 and "did you mean 'lr'" in proc.stderr


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
