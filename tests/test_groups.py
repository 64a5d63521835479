"""The run-group commands of expctl/commands/groups.py (kfold, sweep, ensemble) through the real
CLI: dry runs print the plan and record nothing, the grid warning, refusals before any run, and
machine output kept apart from the programs' output. Whole groups end to end are in
tests/trainers/test_kfold.py, tests/trainers/test_ensemble.py and tests/workflow/test_sweep.py."""

from __future__ import annotations

import json
import re

from tests.conftest import commit_project, run_expctl
from tests.small_project import CONFIG, PROGRAM

FOLDS = CONFIG.replace("exit_code = 0\n", "exit_code = 0\nnum_folds = 0\nfold = 0\n")


def recorded(repo):
    return json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)


def test_dry_runs_print_the_plan_and_record_nothing(repo):
    commit_project(repo, PROGRAM, FOLDS)
    out = run_expctl(repo, "kfold", "--k", "3", "--dry-run", check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == 3 and all(ln.startswith("expctl run -q -s num_folds=3 -s fold=") for ln in lines)
    groups = {json.loads(ln.split("--meta ", 1)[1])["group"]["id"] for ln in lines}
    (group,) = groups
    assert re.fullmatch(r"kfold-\d{8}-\d{6}-\w{4}", group) and f"kfold {group}: 3 folds" in out.stderr
    sweep = run_expctl(repo, "sweep", "-s", "acc=0.1,0.2", "-s", "lr=0.1,0.3", "--dry-run", check=True)
    assert sweep.stdout.splitlines() == [
        "expctl run -q -s acc=0.5 -s lr=0.1",
        "expctl run -q -s acc=0.1 -s lr=0.1",
        "expctl run -q -s acc=0.2 -s lr=0.1",
        "expctl run -q -s acc=0.5 -s lr=0.3",
    ]
    assert "4 configurations x 1 seed(s) = 4 runs" in sweep.stderr and "--grid" not in sweep.stderr
    grid = run_expctl(repo, "sweep", "-s", "acc=0.1,0.2", "-s", "lr=0.2,0.3", "--grid", "--dry-run", check=True)
    assert len(grid.stdout.splitlines()) == 4
    assert "--grid runs 4 configurations x 1 seeds = 4 runs (one factor at a time would be 5)" in grid.stderr
    assert recorded(repo) == []


def test_refusals_before_any_run(repo):
    commit_project(repo, PROGRAM, CONFIG)
    weights = run_expctl(repo, "ensemble", "a", "b", "--weights", "1,x")
    assert weights.returncode == 2 and "--weights '1,x': expected numbers separated by commas" in weights.stderr
    assert run_expctl(repo, "ensemble").returncode == 2
    nothing = run_expctl(repo, "sweep", "--show", "last")
    assert nothing.returncode == 4 and "no sweep runs recorded yet" in nothing.stderr
    nothing = run_expctl(repo, "kfold", "--show", "last")
    assert nothing.returncode == 4 and "no kfold runs recorded yet" in nothing.stderr
    no_folds = run_expctl(repo, "kfold", "--k", "2", "--dry-run")
    assert no_folds.returncode == 3 and "num_folds" in no_folds.stderr
    assert recorded(repo) == []


def test_sweep_json_keeps_the_programs_output_off_stdout(repo):
    commit_project(repo, PROGRAM, CONFIG)
    out = run_expctl(repo, "sweep", "-s", "acc=0.3,0.7", "--parallel", "2", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)  # the programs print too: never on stdout
    assert "hello from the program" not in out.stdout and result["sweep"].startswith("sweep-")
    assert result["runs"] == 3 and result["configs"] == 3
    assert len(recorded(repo)) == 3
    shown = json.loads(run_expctl(repo, "sweep", "--show", "last", "--json", check=True).stdout)
    assert shown["sweep"] == result["sweep"]
