"""expctl sweep (one factor at a time) end to end, and expctl.sweep directly; expctl reproduce is in test_reproduce.py."""

from __future__ import annotations

import json

import pytest

from expctl import config, sweep
from expctl.errors import ConfigError, UsageError
from tests.conftest import run_expctl
from tests.workflow.sweep_project import make


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


# expctl.sweep directly: knobs, the one-factor design, member runs and the sensitivity table
def test_parse_knobs_plan_and_member_runs(tmp_path):
    knobs, fixed = sweep.parse_knobs(["lr=0.1, 0.2,0.1", "model=bert", "tags=[1, 2]", "dropout=0,0.5"], {"lr": 0.2})
    assert knobs == {"lr": [0.1, 0.2], "dropout": [0, 0.5]} and fixed == ["model=bert", "tags=[1, 2]"]
    cfg = config.parse(
        {"project": {"command": "python3 t.py"}, "settings": {"lr": 0.2, "dropout": 0.1, "seed": 3}}, tmp_path
    )
    design, fixed = sweep.plan(cfg, None, ["lr=0.1,0.2,0.3", "dropout=0.1,0.2"], seeds=2)
    assert design.base == {"lr": 0.2, "dropout": 0.1} and design.seeds == [3, 4]
    assert design.configs == [
        {"lr": 0.2, "dropout": 0.1},
        {"lr": 0.1, "dropout": 0.1},
        {"lr": 0.3, "dropout": 0.1},
        {"lr": 0.2, "dropout": 0.2},
    ]
    assert (
        design.n_runs == 8 and len(sweep.plan(cfg, None, ["lr=0.1,0.2", "dropout=0.1,0.2"], grid=True)[0].configs) == 4
    )
    group = sweep.group_plan(design, "small", ["lr=0.2"], ["--x"])
    assert group.size == 8 and group.members[2].assignments == ["lr=0.2", "lr=0.1", "dropout=0.1", "seed=3"]
    assert [m.label for m in group.members[:3]] == ["[1/8] base seed=3", "[2/8] base seed=4", "[3/8] lr=0.1 seed=3"]
    assert sweep.varied({"a": 1, "b": 2}, {"a": 1, "b": 3}) == "b" and sweep.varied({"a": 1}, {"a": 1}) is None
    with pytest.raises(UsageError, match="nothing to sweep"):
        sweep.plan(cfg, None, ["lr=0.1"])
    no_seed = config.parse({"project": {"command": "python3 t.py"}, "settings": {"lr": 0.2}}, tmp_path)
    with pytest.raises(ConfigError, match="--seeds needs a `seed` setting"):
        sweep.plan(no_seed, None, [], seeds=2)


def test_sensitivity_ranks_knobs_against_seed_spread():
    base = {"lr": 0.2, "dropout": 0.1}

    def member(rid, acc, seed, status="succeeded", **change):
        conf = {**base, **change}
        group = {"kind": "sweep", "id": "sweep-x", "config": conf, "base": base, "seed": seed}
        return {"id": rid, "status": status, "started": rid, "group": group, "metrics": {"final": {"acc": acc}}}

    runs = [
        member("a", 0.70, 1),
        member("b", 0.72, 2),
        member("c", 0.50, 1, lr=0.1),
        member("d", 0.52, 2, lr=0.1),
        member("e", 0.71, 1, dropout=0.3),
        member("f", 0.0, 2, status="failed", dropout=0.3),
    ]
    assert sweep.sweep_runs(runs, None)[0] == "sweep-x"
    result = sweep.sensitivity(runs, "acc", "max")
    assert result["configs"] == 3 and result["runs"] == 6 and abs(result["seed_spread"] - 0.0002**0.5) < 1e-12
    lr, dropout = result["knobs"]
    assert lr["knob"] == "lr" and abs(lr["range"] - 0.2) < 1e-12 and lr["best"] == 0.2 and lr["within_noise"] is False
    assert dropout["within_noise"] is True and dropout["values"][1]["failed"] == 1
    assert sweep.sensitivity(runs, "acc", "min")["knobs"][0]["best"] == 0.1
    rows = sweep.table_rows(result)
    assert [(r["rank"], r["knob"], r["verdict"]) for r in rows] == [
        (1, "lr", "sensitive"),
        (2, "dropout", "within seed noise"),
    ]
