"""The bundled trainer driven by expctl: init --trainer builtin, the converge check, warm start."""

from __future__ import annotations

import json

from expctl.demodata import make_demo_files
from tests.conftest import git, run_expctl


def test_builtin_converge_and_warm_start(repo):
    run_expctl(repo, "init", "--trainer", "builtin", check=True)
    make_demo_files(repo / "data", 1500, 300, "en", 0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "builtin trainer")
    # the converge stage exactly as `expctl init --trainer builtin` defines it
    proc = run_expctl(repo, "run", "--stage", "converge", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (rec,) = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    check = rec["check"]
    assert check["check"] == "converge" and check["passed"] and check["detail"]["ratio"] <= 0.05
    assert rec["settings"]["max_train_samples"] == 1000
    assert rec["data"]["data/train.tsv"]["fingerprint"].startswith("blake2b:")
    shown = json.loads(run_expctl(repo, "show", rec["id"], "--json", check=True).stdout)
    best = shown["checkpoints"]["best"]
    assert shown["checkpoints"]["exists"][best] is True
    # warm start from that run, resolved through expctl's records
    proc = run_expctl(repo, "run", "--stage", "smoke", "-s", f"init_from={rec['id']}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = run_expctl(repo, "log", "HEAD", check=True).stdout
    assert best in log or rec["id"] in log
    warm = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]
    # a warm-started model is far better than chance on the first eval of a 200-sample smoke run
    assert warm["metrics"]["final"]["eval_accuracy"] > 0.5


def test_auto_settings_are_recorded_in_settings(repo):
    run_expctl(repo, "init", "--trainer", "builtin", check=True)
    make_demo_files(repo / "data", 400, 100, "en", 0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "builtin trainer")
    proc = run_expctl(repo, "run", "--stage", "smoke", "-s", "batch_size=auto", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (rec,) = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    found = rec["settings"]["batch_size"]
    assert isinstance(found, int) and found >= 1
    # lr = "auto" (the default) is decided at run time too: 1e-3 for the tiny model
    assert rec["settings"]["lr"] == 0.001
    assert rec["settings_requested"] == {"batch_size": "auto", "lr": "auto"}
    assert rec["metrics"]["final"]["batch_size_found"] == found
