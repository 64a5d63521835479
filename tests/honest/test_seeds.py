"""Point 3 of issue 13: seeds are real seeds."""

from __future__ import annotations

import statistics

from tests.conftest import run_expctl
from tests.honest.conftest import cjson, runs_json


def test_run_seeds_groups_distinct_seeds_and_reruns_are_reproductions(hproject):
    repo = hproject
    proc = run_expctl(repo, "run", "--stage", "small", "--seeds", "3", check=True)
    assert proc.stderr.count("seed group") == 3
    records = runs_json(repo)
    assert sorted(r["settings"]["seed"] for r in records) == [0, 1, 2]
    assert len({r["sweep"]["id"] for r in records}) == 1  # one group, the field sweep uses
    run_expctl(repo, "tag", "baseline", records[-1]["id"], check=True)
    row = cjson(repo)[0]
    values = [r["metrics"]["final"]["eval_accuracy"] for r in records]
    assert row["n"] == 3 and abs(row["value"] - statistics.mean(values)) < 1e-12
    assert abs(row["std"] - statistics.stdev(values)) < 1e-12
    # every metric of the row is the group's mean, not one run's
    f1 = [r["metrics"]["final"]["eval_f1"] for r in records]
    assert abs(row["metrics"]["eval_f1"] - statistics.mean(f1)) < 1e-12
    # a rerun of seed 1 is a reproduction: beside the statistics, not inside them
    run_expctl(repo, "run", "--stage", "small", "-s", "seed=1", check=True)
    again = cjson(repo)[0]
    assert again["n"] == 3 and again["std"] == row["std"] and again["value"] == row["value"]
    assert again["reproductions"] == [runs_json(repo)[0]["id"]]
    table = run_expctl(repo, "compare", check=True).stdout
    assert "(n=3)" in table and "[+1 reproduction]" in table
    csv = run_expctl(repo, "compare", "--format", "csv", check=True).stdout.splitlines()
    head = csv[0].split(",")
    cells = dict(zip(head, csv[1].split(",")))
    assert cells["eval_accuracy_n"] == "3" and cells["reproductions"] == "1"
    assert abs(float(cells["eval_f1"]) - statistics.mean(f1)) < 1e-9
    # `expctl reproduce` (same code, settings and seed) is a reproduction too
    run_expctl(repo, "reproduce", "baseline", check=True)
    third = cjson(repo)[0]
    assert third["n"] == 3 and third["std"] == row["std"] and len(third["reproductions"]) == 2


def test_seeds_start_at_the_given_seed_and_need_a_seed_setting(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", "--seeds", "2", "-s", "seed=7", check=True)
    assert sorted(r["settings"]["seed"] for r in runs_json(repo)) == [7, 8]
    (repo / "expctl.toml").write_text((repo / "expctl.toml").read_text().replace("seed = 0\n", ""))
    proc = run_expctl(repo, "run", "--seeds", "2")
    assert proc.returncode == 3 and "seed" in proc.stderr and "Traceback" not in proc.stderr
    assert len(runs_json(repo)) == 2


def test_sweep_seeds_without_a_knob(hproject):
    repo = hproject
    proc = run_expctl(repo, "sweep", "--stage", "small", "--seeds", "3", check=True)
    assert "1 configurations x 3 seed(s) = 3 runs" in proc.stderr
    records = runs_json(repo)
    assert sorted(r["settings"]["seed"] for r in records) == [0, 1, 2]
    assert "(seeds only)" in proc.stdout and "(n=3)" in proc.stdout
