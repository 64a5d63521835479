from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import git, run_expctl

TRAIN_PY = textwrap.dedent("""
    import math, os, sys
    from expctl import track
    s = track.settings()
    loss = 2.0
    for step in range(1, 6):
        loss *= float(s.get("decay", 0.3))
        track.log_metrics(step=step, train_loss=loss)
        print(f"step {step} loss={loss:.4f}", flush=True)
    track.log_metrics(step=5, eval_accuracy=float(s.get("acc", 0.8)))
    sys.exit(int(s.get("exit_code", 0)))
""")


@pytest.fixture
def project(repo: Path) -> Path:
    """A committed project: train.py writing metrics with expctl.track, expctl init'ed."""
    (repo / "train.py").write_text(TRAIN_PY)
    run_expctl(repo, "init", "--command", "python3 train.py", check=True)
    toml = (repo / "expctl.toml").read_text()
    toml = toml.replace("seed = 42\n", "seed = 42\ndecay = 0.3\nacc = 0.8\nexit_code = 0\n", 1)
    (repo / "expctl.toml").write_text(toml)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "expctl init")
    return repo
