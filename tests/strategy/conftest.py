from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import git, run_expctl

TRAIN_PY = textwrap.dedent("""
    from expctl import track
    s = track.settings()
    acc = float(s["acc"]) + 0.001 * int(s["seed"])
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, train_loss=0.01, eval_accuracy=acc, eval_f1=acc - 0.05)
""")

CONFIG = textwrap.dedent("""
    [project]
    name = "demo"
    command = "python3 train.py"
    primary_metric = "eval_accuracy"
    direction = "max"

    [settings]
    acc = 0.8
    seed = 0
    lr = 0.001
    note = ""
    alpha = 0.0

    [stages.smoke]
    check = "smoke"
    [stages.smoke.settings]
    lr = 0.002

    [stages.small]
    check = "metrics"
""")


@pytest.fixture
def sproject(repo: Path) -> Path:
    (repo / "train.py").write_text(TRAIN_PY)
    (repo / "expctl.toml").write_text(CONFIG)
    run_expctl(repo, "init", check=True)  # run.sh + .gitignore; keeps this expctl.toml
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    return repo


def commit_file(repo: Path, name: str, text: str, msg: str) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-qm", msg)
