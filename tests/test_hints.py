"""expctl.hints: the empty-listing hint and the check that a run name is free."""

from __future__ import annotations

import pytest

from expctl.errors import RefusedError
from expctl.gitlayer import Repo
from expctl.hints import check_name_free, no_runs_hint
from tests.conftest import git


class _Store:
    def __init__(self, root):
        self.repo = Repo.open(root)


def test_no_runs_hint_without_a_remote_says_how_to_make_a_run(repo):
    hint = no_runs_hint(_Store(repo))
    assert "expctl run --stage smoke" in hint and "pull" not in hint


def test_no_runs_hint_in_a_clone_names_the_remote_to_pull_from(repo):
    git(repo, "remote", "add", "upstream", "../elsewhere")
    hint = no_runs_hint(_Store(repo))
    assert "`expctl pull upstream`" in hint


def test_check_name_free_accepts_no_name_and_an_unused_name():
    records = [{"id": "r1", "name": "base"}, {"id": "r2"}]
    check_name_free(records, None)
    check_name_free(records, "")
    check_name_free(records, "other")


def test_check_name_free_refuses_a_taken_name_naming_the_run():
    records = [{"id": "r1"}, {"id": "r2", "name": "base"}]
    with pytest.raises(RefusedError, match="r2"):
        check_name_free(records, "base")
