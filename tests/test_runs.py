"""`expctl runs`, `show` and `log` (expctl/commands/runs.py) through the real CLI on real runs:
filters, sort and limit (the newest-only read), columns, csv metric columns, json records,
show's formats, and the log from the folder or from git. Terminal fitting is in
tests/daily/test_tables.py, formats in depth in tests/daily/test_formats.py."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from tests.conftest import run_expctl
from tests.small_project import make_project, new_run


@pytest.fixture
def three_runs(repo):
    make_project(repo)
    a = new_run(repo, "-s", "acc=0.6", "--name", "low")
    b = new_run(repo, "-s", "acc=0.9", "--name", "high")
    c = new_run(repo, "-s", "exit_code=1", "--name", "broken")
    return repo, a, b, c


def ids(proc):
    assert proc.returncode == 0, proc.stderr
    return [r["id"] for r in json.loads(proc.stdout)]


def test_runs_filters_sort_limit_and_columns(three_runs):
    repo, a, b, c = three_runs
    assert ids(run_expctl(repo, "runs", "--json")) == [c["id"], b["id"], a["id"]]  # newest first
    assert ids(run_expctl(repo, "runs", "--json", "-n", "2")) == [c["id"], b["id"]]
    assert ids(run_expctl(repo, "runs", "--json", "--status", "failed")) == [c["id"]]
    assert ids(run_expctl(repo, "runs", "--json", "--where", "acc>0.7")) == [b["id"]]
    assert ids(run_expctl(repo, "runs", "--json", "--sort", "eval_accuracy", "-n", "1")) == [b["id"]]
    assert ids(run_expctl(repo, "runs", "--json", "--stage", "full")) == []
    assert "no runs match" in run_expctl(repo, "runs", "--stage", "full").stderr
    full = json.loads(run_expctl(repo, "runs", "--json", "--status", "succeeded").stdout)
    assert all("env" in r and "command" in r for r in full)  # whole records, not summaries
    table = run_expctl(repo, "runs", "--columns", "name,status", check=True).stdout.splitlines()
    assert table[0].split() == ["name", "status"] and table[2].split() == ["broken", "failed"]
    bad = run_expctl(repo, "runs", "--columns", "name,nope")
    assert bad.returncode != 0 and "unknown column(s) nope" in bad.stderr
    rows = list(csv.DictReader(io.StringIO(run_expctl(repo, "runs", "--format", "csv", check=True).stdout)))
    assert list(rows[0])[:6] == ["id", "name", "stage", "status", "eval_accuracy", "train_loss"]
    assert [r["eval_accuracy"] for r in rows] == ["0.5", "0.9", "0.6"]


def test_show_and_log(three_runs):
    repo, a, b, c = three_runs
    shown = json.loads(run_expctl(repo, "show", "high", "--json", check=True).stdout)
    assert shown["id"] == b["id"] and shown["settings"]["acc"] == 0.9
    text = run_expctl(repo, "show", "high", check=True).stdout
    assert b["id"] in text and "0.9" in text
    rows = list(csv.reader(io.StringIO(run_expctl(repo, "show", "high", "--format", "csv", check=True).stdout)))
    assert rows[0] == ["field", "value"] and ["id", b["id"]] in rows
    assert run_expctl(repo, "show", "nope").returncode != 0
    assert "hello from the program" in run_expctl(repo, "log", "low", check=True).stdout
    (repo / "runs" / a["id"] / "train.log").write_text("one\ntwo\nthree\n")
    assert run_expctl(repo, "log", "low", "-n", "2", check=True).stdout == "two\nthree\n"
    shutil.rmtree(repo / "runs" / a["id"])
    gone = run_expctl(repo, "log", "low", check=True)
    assert "hello from the program" in gone.stdout and "showing the log tail kept in git" in gone.stderr
