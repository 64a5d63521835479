"""A tiny project for the honest-results tests (issue 13): a program whose accuracy is a
setting plus a seed term, a data file named by a setting, and smoke / small / full stages."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import commit_project, run_expctl

TRAIN_PY = textwrap.dedent("""
    import os
    from expctl import track
    s = track.settings()
    acc = float(s["acc"]) + 0.001 * int(s["seed"])
    if os.path.exists(s["train_file"]):
        acc += 0.01 * len(open(s["train_file"]).read().split())
    track.log_metrics(step=1, train_loss=1.0)
    if not s.get("skip_eval"):
        track.log_metrics(step=2, train_loss=0.01, eval_accuracy=round(acc, 6), eval_f1=round(acc - 0.05, 6))
""")

CONFIG = textwrap.dedent("""
    [project]
    name = "honest"
    command = "python3 train.py"
    primary_metric = "eval_accuracy"
    direction = "max"
    free_form = ["tricks.*"]

    [settings]
    acc = 0.8
    seed = 0
    lr = 0.001
    max_train_samples = 0
    train_file = "data/train.txt"
    skip_eval = false
    tricks = {}

    [stages.smoke]
    check = "smoke"
    [stages.smoke.settings]
    max_train_samples = 200

    [stages.small]
    check = "metrics"
    [stages.small.settings]
    max_train_samples = 2000

    [stages.full]
    check = "metrics"
    requires = "smoke"
""")


@pytest.fixture
def hproject(repo: Path) -> Path:
    commit_project(repo, TRAIN_PY, CONFIG)
    (repo / "data").mkdir()
    (repo / "data" / "train.txt").write_text("a b\n")  # data/ is git-ignored: fingerprinted, not snapshotted
    return repo


def cjson(repo, *args):
    return json.loads(run_expctl(repo, "compare", *args, "--format", "json", check=True).stdout)


def runs_json(repo, *args):
    return json.loads(run_expctl(repo, "runs", "--json", *args, check=True).stdout)


def last_run(repo):
    return runs_json(repo)[0]
