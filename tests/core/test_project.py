"""expctl/project.py: one project opened once (config, repository, store), run references
resolved through it (expctl/refs.py), and Store.invalidate seeing other processes' runs."""

from __future__ import annotations

import json

import pytest

from expctl.errors import NotFoundError, UsageError
from expctl.project import Project
from tests.conftest import commit_project, run_expctl

PROGRAM = """\
import json, os
with open(os.environ["EXPCTL_METRICS"], "a") as fh:
    fh.write(json.dumps({"step": 1, "eval_accuracy": 0.5}) + "\\n")
"""
CONFIG = '[project]\nname = "p"\ncommand = "python3 train.py"\nprimary_metric = "eval_accuracy"\n'


def _run(repo, *args):
    run_expctl(repo, "run", *args, check=True)
    return json.loads(run_expctl(repo, "show", "--json", check=True).stdout)["id"]


def test_open_finds_the_project_and_opens_the_store_once(repo):
    commit_project(repo, PROGRAM, CONFIG)
    (repo / "sub").mkdir()
    project = Project.open(repo / "sub")
    assert project.root == repo and project.config.root == repo and project.repo.root == repo
    assert project.store is project.store and project.store.root == repo


def test_open_outside_a_project(tmp_path):
    with pytest.raises(NotFoundError, match="expctl init"):
        Project.open(tmp_path)


def test_references_resolve_to_records(repo):
    commit_project(repo, PROGRAM, CONFIG)
    first = _run(repo, "--name", "baseline")
    second = _run(repo)
    run_expctl(repo, "tag", "best", first, check=True)
    project = Project.open(repo)
    assert project.resolve(first)["id"] == first
    assert project.resolve(second[-6:])["id"] == second  # the random suffix
    assert project.resolve("baseline")["id"] == first  # a run name
    assert project.resolve("best")["id"] == first  # a tag: its recorded run
    assert project.resolve("HEAD")["id"] == second  # the newest run of the current code
    assert project.resolve(first[:-1])["id"] == first  # a unique prefix
    with pytest.raises(UsageError, match="empty run reference"):
        project.resolve(" ")
    with pytest.raises(NotFoundError, match="no run, tag or branch named 'nothing'"):
        project.resolve("nothing")
    assert json.loads(project.read_run_file(first, "metrics.jsonl").splitlines()[0]) == {
        "step": 1,
        "eval_accuracy": 0.5,
    }
    with pytest.raises(NotFoundError, match="has no nothing.txt"):
        project.read_run_file(first, "nothing.txt")


def test_invalidate_sees_runs_of_other_processes(repo):
    commit_project(repo, PROGRAM, CONFIG)
    first = _run(repo)
    project = Project.open(repo)
    assert [r["id"] for r in project.store.all()] == [first]
    second = _run(repo)  # another process
    assert [r["id"] for r in project.store.all()] == [first]  # read once per command
    project.store.invalidate()
    assert [r["id"] for r in project.store.all()] == [second, first]
