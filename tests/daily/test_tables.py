"""#18.1: tables fit the terminal; ids, hashes, dates and numbers never wrap."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_expctl
from tests.daily.conftest import assert_fits, in_pty


def _runs(project, n=2):
    for i in range(n):
        run_expctl(
            project,
            "run",
            "--stage",
            "smoke",
            "--name",
            f"a-rather-long-run-name-number-{i}",
            "-s",
            f"acc=0.{7 + i}",
            check=True,
        )
    return json.loads(run_expctl(project, "runs", "--json", check=True).stdout)


@pytest.mark.parametrize("cols", [100, 120])
@pytest.mark.parametrize("color", [False, True])
def test_runs_and_compare_fit_the_terminal_and_never_split_an_id(project, cols, color):
    records = _runs(project)
    run_expctl(project, "tag", "base", records[0]["id"], check=True)
    for args in (("runs",), ("compare", "--runs"), ("compare",)):
        code, text = in_pty(project, *args, cols=cols, color=color)
        assert code == 0, text
        assert_fits(text, cols)
        if args == ("compare",):
            assert "base" in text
            continue
        for r in records:  # each id whole on one line, its metric whole too
            assert re.search(rf"(^|[\s│|]){re.escape(r['id'])}([\s│|]|$)", text, re.M), (r["id"], text)
        assert "0.8" in text and "0.7" in text
    code, text = in_pty(project, "runs", cols=cols, color=color)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    header = next(line for line in plain.splitlines() if line.lstrip(" │|┃").startswith("id"))
    for r in records:  # the started date, when shown (a column of the header, not the hint), is whole
        day, clock = r["started"].rstrip("Z").split("T")
        if "started" in header.split():
            assert f"{day} {clock}" in text


def test_dropped_columns_are_named_and_columns_drop_only_changed_choose(project):
    _runs(project)
    code, text = in_pty(project, "runs", cols=80)
    assert code == 0
    assert_fits(text, 80)
    hidden = re.search(r"hidden to fit 80 columns: ([a-z, ]*?)( \+\d+ more)? \(--columns", text)
    assert hidden, text
    header = next(line for line in text.splitlines() if line.startswith("id"))
    assert all(c not in header.split() for c in hidden.group(1).split(", "))
    # piped: every column, nothing hidden
    piped = run_expctl(project, "runs", check=True)
    assert "duration" in piped.stdout.splitlines()[0] and "hidden" not in piped.stderr
    out = run_expctl(project, "runs", "--columns", "id,metric", check=True).stdout
    assert out.splitlines()[0].split() == ["id", "metric"]
    out = run_expctl(project, "runs", "--drop", "branch,commit", check=True).stdout
    assert "branch" not in out.splitlines()[0] and "commit" not in out.splitlines()[0]
    out = run_expctl(project, "runs", "--only-changed", check=True).stdout
    head = out.splitlines()[0].split()
    assert "id" in head and "metric" in head and "stage" not in head and "branch" not in head
    bad = run_expctl(project, "runs", "--drop", "nosuch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nosuch" in bad.stderr
    out = run_expctl(project, "compare", "--runs", "--drop", "commit", "--only-changed", check=True).stdout
    assert "commit" not in out.splitlines()[0] and "stage" not in out.splitlines()[0]
