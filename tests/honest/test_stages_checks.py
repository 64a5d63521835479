"""Points 4 and 5 of issue 13: stage settings validated, a default stage, checks that mean
something, tag and promote refusals."""

from __future__ import annotations

import json

from tests.conftest import git, run_expctl
from tests.honest.conftest import last_run, runs_json


def test_stage_setting_typo_is_an_error(hproject):
    repo = hproject
    toml = (repo / "expctl.toml").read_text().replace("max_train_samples = 200", "max_train_sample = 200")
    (repo / "expctl.toml").write_text(toml)
    proc = run_expctl(repo, "run", "--stage", "smoke")
    assert proc.returncode == 3, proc.stderr
    assert "max_train_sample" in proc.stderr and "did you mean 'max_train_samples'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert git(repo, "for-each-ref", "refs/expctl/runs").stdout == ""  # refused before any record


def test_run_without_stage_gets_the_default_stage_and_its_check(hproject):
    repo = hproject
    run_expctl(repo, "run", check=True)
    rec = last_run(repo)
    assert rec["stage"] == "smoke" and rec["settings"]["max_train_samples"] == 200
    assert rec["check"]["check"] == "smoke" and rec["check"]["passed"]
    # default_stage chooses another one (or none)
    toml = (
        (repo / "expctl.toml")
        .read_text()
        .replace('free_form = ["tricks.*"]', 'free_form = ["tricks.*"]\ndefault_stage = "small"')
    )
    (repo / "expctl.toml").write_text(toml)
    run_expctl(repo, "run", check=True)
    assert last_run(repo)["stage"] == "small"
    (repo / "expctl.toml").write_text(toml.replace('default_stage = "small"', 'default_stage = "smal"'))
    proc = run_expctl(repo, "runs")
    assert proc.returncode == 3 and "did you mean 'small'" in proc.stderr


def test_full_is_gated_on_smoke_of_the_exact_code(hproject):
    repo = hproject
    proc = run_expctl(repo, "run", "--stage", "full")
    assert proc.returncode == 7 and "passing smoke" in proc.stderr
    run_expctl(repo, "run", check=True)  # the default stage is smoke: it opens the gate
    run_expctl(repo, "run", "--stage", "full", check=True)


def test_smoke_fails_without_the_primary_metric_and_tag_refuses_it(hproject):
    repo = hproject
    proc = run_expctl(repo, "run", "--stage", "smoke", "-s", "skip_eval=true")
    assert proc.returncode == 6, proc.stderr
    rec = last_run(repo)
    assert rec["status"] == "succeeded" and not rec["check"]["passed"]
    reason = "; ".join(rec["check"]["reasons"])
    assert "eval_accuracy never recorded" in reason and "train_loss" in reason
    refused = run_expctl(repo, "tag", "baseline", rec["id"])
    assert refused.returncode == 7 and "check failed" in refused.stderr and "--force" in refused.stderr
    assert git(repo, "tag").stdout.strip() == ""
    forced = run_expctl(repo, "tag", "baseline", rec["id"], "--force", check=True)
    assert "warning" in forced.stderr
    msg = git(repo, "cat-file", "-p", "refs/tags/baseline").stdout
    assert "expctl-forced: its smoke check failed" in msg


def test_promote_refuses_an_abandoned_exploration_and_keeps_the_verdict(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", check=True)
    run_expctl(repo, "tag", "baseline", check=True)
    run_expctl(repo, "explore", "fgm", check=True)
    (repo / "fgm.py").write_text("EPS = 1\n")
    git(repo, "add", "fgm.py")
    git(repo, "commit", "-qm", "fgm")
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.7", check=True)
    run_expctl(repo, "abandon", "fgm", "--why", "worse by 12 points", check=True)
    main_head = git(repo, "rev-parse", "main").stdout
    proc = run_expctl(repo, "promote", "fgm")
    assert proc.returncode == 7 and "abandoned" in proc.stderr and "--force" in proc.stderr
    assert git(repo, "rev-parse", "main").stdout == main_head and "fgm" not in git(repo, "tag").stdout
    run_expctl(repo, "promote", "fgm", "--force", check=True)
    strategies = {r["strategy"]: r for r in json.loads(run_expctl(repo, "strategies", "--json", check=True).stdout)}
    assert strategies["fgm"]["status"] == "promoted" and "worse by 12 points" in strategies["fgm"]["note"]
    assert "exploration was abandoned: worse by 12 points" in git(repo, "cat-file", "-p", "refs/tags/fgm").stdout
    assert len(runs_json(repo, "--strategy", "fgm")) == 1
