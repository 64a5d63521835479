"""expctl/finalize.py: a run whose expctl died is finished by the next read of the store
(interrupted, inferred, written to git once), with the program's own outcome when run.sh saw it."""

from __future__ import annotations

import json

import pytest

from expctl.project import Project
from tests.conftest import commit_project, run_expctl

PROGRAM = """\
import json, os
with open(os.environ["EXPCTL_METRICS"], "a") as fh:
    fh.write(json.dumps({"step": 1, "eval_accuracy": 0.5}) + "\\n")
"""
CONFIG = '[project]\nname = "p"\ncommand = "python3 train.py"\nprimary_metric = "eval_accuracy"\n'


@pytest.mark.parametrize(("point", "status"), [("before-program", "interrupted"), ("after-program", "succeeded")])
def test_a_dead_runs_record_is_finished_by_the_next_read(repo, point, status):
    commit_project(repo, PROGRAM, CONFIG)
    proc = run_expctl(repo, "run", env={"EXPCTL_TEST_CRASH_AT": point})
    assert proc.returncode == 137  # expctl killed at the named point, its record left 'running'
    store = Project.open(repo).store
    (record,) = store.all()
    assert record["status"] == status and record["inferred"] is True
    again = Project.open(repo).store.all()[0]  # stored in git: the next reader finds it final
    assert again["status"] == status and again.get("inferred") is True
    if status == "succeeded":
        assert again["metrics"]["final"] == {"eval_accuracy": 0.5}
    shown = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)
    assert shown["status"] == status
