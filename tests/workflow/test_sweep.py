"""expctl sweep (one factor at a time), end to end; expctl reproduce is in test_reproduce.py."""

from __future__ import annotations

import json

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
