"""Point 1 of issue 13: a strategy's row is its own runs (code AND settings AND data)."""

from __future__ import annotations

import json

from tests.conftest import run_expctl
from tests.honest.conftest import cjson, runs_json


def test_exploration_run_on_the_tag_code_is_not_the_tag_run(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", check=True)  # 0.8 + 0.02 (two words of data)
    run_expctl(repo, "tag", "baseline", check=True)
    run_expctl(repo, "explore", "rdrop", check=True)
    # same code (no commit yet on the branch), other settings
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.84", "-s", "tricks.rdrop.alpha=4", check=True)
    rows = {r["strategy"]: r for r in cjson(repo)}
    assert abs(rows["baseline"]["value"] - 0.82) < 1e-9 and rows["baseline"]["n"] == 1
    assert abs(rows["rdrop"]["value"] - 0.86) < 1e-9
    assert abs(rows["rdrop"]["delta"] - 0.04) < 1e-9
    strategies = {r["strategy"]: r for r in json.loads(run_expctl(repo, "strategies", "--json", check=True).stdout)}
    assert strategies["baseline"]["runs"] == 1 and strategies["rdrop"]["runs"] == 1
    assert len(runs_json(repo, "--strategy", "baseline")) == 1
    d = json.loads(run_expctl(repo, "diff", "baseline", "rdrop", "--json", check=True).stdout)
    assert abs(d["metrics"]["eval_accuracy"]["delta"] - 0.04) < 1e-9
    shown = json.loads(run_expctl(repo, "show", "baseline", "--json", check=True).stdout)
    assert abs(shown["metrics"]["final"]["eval_accuracy"] - 0.82) < 1e-9


def test_run_on_other_data_at_the_tag_commit_is_not_in_its_row(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", check=True)
    run_expctl(repo, "tag", "baseline", check=True)
    (repo / "data" / "other.txt").write_text("a b c d e f g h i j\n")
    run_expctl(repo, "run", "--stage", "small", "-s", "train_file=data/other.txt", check=True)  # 0.9
    (repo / "data" / "train.txt").write_text("a b c d e f g h i j\n")  # same path, other content
    run_expctl(repo, "run", "--stage", "small", check=True)  # 0.9
    rows = {r["strategy"]: r for r in cjson(repo)}
    assert abs(rows["baseline"]["value"] - 0.82) < 1e-9 and rows["baseline"]["n"] == 1
    assert len(runs_json(repo, "--strategy", "baseline")) == 1


def test_same_configuration_at_other_stages_and_seeds_belongs(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", check=True)
    run_expctl(repo, "tag", "baseline", check=True)
    run_expctl(repo, "run", "--stage", "smoke", check=True)  # stage values aside
    run_expctl(repo, "run", "--stage", "small", "-s", "seed=1", check=True)  # seed aside
    run_expctl(repo, "run", "--stage", "small", "-s", "max_train_samples=10", check=True)  # not the stage's value
    members = runs_json(repo, "--strategy", "baseline")
    assert sorted((r["stage"], r["settings"]["seed"], r["settings"]["max_train_samples"]) for r in members) == [
        ("small", 0, 2000),
        ("small", 1, 2000),
        ("smoke", 0, 200),
    ]
