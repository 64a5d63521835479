"""expctl.sync directly and `expctl push` / `pull` through the CLI, against a real bare remote:
what a push would send, what it sends, pulling into another clone, and two clones that finished
one record differently. The strategy workflow's push/pull is in tests/strategy/test_strategy.py."""

from __future__ import annotations

import json

import pytest

from expctl import sync
from expctl.errors import GitError
from expctl.project import Project
from tests.conftest import git, run_expctl
from tests.small_project import make_project, new_run


def test_describe_by_kind():
    p = sync.Plan(
        local={},
        remote={},
        missing={
            "refs/expctl/runs/a": "1",
            "refs/expctl/runs/b": "2",
            "refs/expctl/strategies/w": "3",
            "refs/tags/base": "4",
            "refs/heads/main": "5",
            "refs/expctl/notes": "6",
        },
        left_out=["refs/heads/old", "refs/heads/older"],
    )
    assert sync.describe(p) == (
        "2 run records, 1 exploration record, tag base, branch main, 1 other expctl refs; "
        "not sending branches old, older (--all-branches sends them)"
    )
    assert sync.describe(sync.Plan({}, {})) == "nothing (the remote is up to date)"


@pytest.fixture
def two_clones(repo, tmp_path):
    make_project(repo)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "branch", "side")
    return repo, remote


def test_plan_push_and_pull(two_clones, tmp_path):
    repo, remote = two_clones
    run = new_run(repo, "-s", "acc=0.6")
    run_expctl(repo, "tag", "base", check=True)
    r = Project.open(repo).repo
    p = sync.plan(r, "origin")
    assert f"refs/expctl/runs/{run['id']}" in p.missing and "refs/tags/base" in p.missing
    assert "refs/heads/main" in p.missing and p.left_out == ["refs/heads/side"]
    assert "refs/heads/side" in sync.plan(r, "origin", all_branches=True).local
    dry = run_expctl(repo, "push", "--dry-run", check=True)
    assert "would send to origin: 1 run record, tag base, branch main; not sending branch side" in dry.stderr
    assert git(remote, "for-each-ref").stdout == ""  # a dry run sends nothing
    pushed = run_expctl(repo, "push", check=True)
    assert "pushed to origin:" in pushed.stderr
    assert sync.plan(r, "origin").missing == {}
    assert "0 refs updated" in sync.push(r, "origin")
    assert "refs/heads/side" not in git(remote, "for-each-ref", "--format=%(refname)").stdout
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    pulled = run_expctl(other, "pull", check=True)
    assert "1 new run records, 1 in all" in pulled.stderr
    assert [x["id"] for x in json.loads(run_expctl(other, "runs", "--json", check=True).stdout)] == [run["id"]]
    with pytest.raises(GitError, match="no git remote 'nowhere'"):
        sync.plan(r, "nowhere")
    assert run_expctl(repo, "push", "nowhere").returncode != 0


def test_a_runs_own_final_record_wins_over_an_inferred_one(two_clones, tmp_path):
    repo, remote = two_clones
    run = new_run(repo)
    run_expctl(repo, "push", check=True)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    run_expctl(other, "pull", check=True)
    # clone A inferred the run interrupted; clone B holds the run's own final record (renamed)
    a, b = Project.open(repo).store, Project.open(other).store
    mine = dict(a.get(run["id"]), status="interrupted", inferred=True)
    a.save({k: v for k, v in mine.items() if k != "_commit"}, run["code"]["commit"])
    theirs = dict(b.get(run["id"]), name="b-side")
    b.save({k: v for k, v in theirs.items() if k != "_commit"}, run["code"]["commit"])
    run_expctl(repo, "push", check=True)
    out = sync.push(Project.open(other).store, "origin")
    assert "1 run records reconciled with the remote's" in out
    ref = f"refs/expctl/runs/{run['id']}"
    merged = git(other, "rev-parse", ref).stdout.strip()
    assert git(remote, "rev-parse", ref).stdout.strip() == merged
    record = json.loads(git(other, "show", f"{merged}:record.json").stdout)
    assert record["status"] == "succeeded" and record["name"] == "b-side"
    assert len(git(other, "rev-list", "--parents", "-n1", merged).stdout.split()) == 4  # code, both versions
    assert "1 run records reconciled" not in run_expctl(repo, "pull", check=True).stderr  # a fast-forward now
    assert Project.open(repo).store.get(run["id"])["name"] == "b-side"
