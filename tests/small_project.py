"""A small committed project and a way to make real runs of it quickly (no training):
shared by the module tests (test_refs.py, test_records.py, test_diffing.py, test_runs.py, ...)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from tests.conftest import commit_project, run_expctl

PROGRAM = textwrap.dedent("""
    import os, sys
    from expctl import track
    s = track.settings()
    print("hello from the program", flush=True)
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, train_loss=0.5, eval_accuracy=float(s["acc"]))
    sys.exit(int(s["exit_code"]))
""")

CONFIG = textwrap.dedent("""
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    acc = 0.5
    lr = 0.1
    batch_size = 8
    seed = 0
    exit_code = 0

    [stages.smoke]
    check = "metrics"
""")


def make_project(repo: Path) -> Path:
    return commit_project(repo, PROGRAM, CONFIG)


def new_run(repo: Path, *args: str) -> dict:
    """`expctl run ARGS` in ``repo``; the new run's whole record (`expctl show ID --json`)."""
    proc = run_expctl(repo, "run", *args)
    found = re.search(r"run (\d{8}-\d{6}-\w{6}) started", proc.stderr)
    assert found, proc.stderr
    return json.loads(run_expctl(repo, "show", found.group(1), "--json", check=True).stdout)
