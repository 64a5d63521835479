"""expctl.refs.resolve_run directly, on a real store: ids, prefixes, names, suffixes, HEAD, tags,
explorations and branches, and the errors. `show` by suffix through the CLI is in
tests/daily/test_refs_and_empty.py."""

from __future__ import annotations

import pytest

from expctl.errors import NotFoundError, UsageError
from expctl.project import Project
from expctl.refs import resolve_run
from tests.conftest import git, run_expctl
from tests.small_project import make_project, new_run


def test_every_kind_of_reference(repo):
    make_project(repo)
    first = new_run(repo, "-s", "acc=0.6", "--name", "first")
    second = new_run(repo, "-s", "acc=0.7")
    store = Project.open(repo).store
    assert resolve_run(store, first["id"])["id"] == first["id"]
    assert resolve_run(store, f"  {second['id']}\n")["id"] == second["id"]  # stripped
    assert resolve_run(store, second["id"][:-1])["id"] == second["id"]  # a unique prefix
    assert resolve_run(store, "first")["id"] == first["id"]  # a name
    assert resolve_run(store, first["id"][-6:])["id"] == first["id"]  # the random suffix
    assert resolve_run(store, "HEAD")["id"] == second["id"]  # the newest run of the current code
    assert resolve_run(store, "main")["id"] == second["id"]  # a branch: its best run
    with pytest.raises(UsageError, match="ambiguous"):
        resolve_run(store, first["id"][:4])
    with pytest.raises(UsageError, match="empty run reference"):
        resolve_run(store, "  ")
    with pytest.raises(NotFoundError, match="no run, tag or branch named 'nope'"):
        resolve_run(store, "nope")


def test_tags_explorations_and_head_of_new_code(repo):
    make_project(repo)
    good = new_run(repo, "-s", "acc=0.9")
    new_run(repo, "-s", "acc=0.4")
    run_expctl(repo, "tag", "base", good["id"], check=True)
    git(repo, "tag", "-a", "plain", "-m", "a tag of the same code, not made by expctl")
    (repo / "NOTES.md").write_text("later\n")
    git(repo, "add", "NOTES.md")
    git(repo, "commit", "-qm", "later")
    store = Project.open(repo).store
    assert resolve_run(store, "base")["id"] == good["id"]  # the tag's own run
    assert resolve_run(store, "plain")["id"] in {r["id"] for r in store.all()}  # the newest run of its code
    with pytest.raises(NotFoundError):
        resolve_run(store, "HEAD")  # no run of the new commit yet
    run_expctl(repo, "explore", "wider", check=True)
    on_branch = new_run(repo, "-s", "acc=0.3")
    store = Project.open(repo).store
    for ref in ("wider", "explore/wider", "HEAD"):
        assert resolve_run(store, ref)["id"] == on_branch["id"], ref
