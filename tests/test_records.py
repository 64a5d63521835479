"""expctl.records directly (run ids, live processes, stale runs, the Store on a real repository)
and the commands of expctl/commands/records.py (note, rm, gc) through the real CLI. Deletion
and notes in depth are in tests/daily/test_removal.py and tests/daily/test_notes.py."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

from expctl import records
from expctl.project import Project
from tests.conftest import git, run_expctl
from tests.small_project import make_project, new_run


def test_run_ids_are_time_ordered_with_a_random_suffix():
    a, b = records.new_run_id(0), records.new_run_id(86400 * 365)
    assert re.fullmatch(r"19700101-000000-[0-9a-hjkmnp-tv-z]{6}", a) and b.startswith("19710101-000000-")
    assert len({records.new_run_id(0) for _ in range(50)}) > 45  # 30 random bits, no counter


def test_pid_alive_checks_the_start_time_against_pid_reuse():
    me = os.getpid()
    start = records.pid_start_time(me)
    assert start and records.pid_alive(me, start) and records.pid_alive(me, None)
    assert not records.pid_alive(me, str(int(start) + 1)) and not records.pid_alive(None, None)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not records.pid_alive(child.pid, None) and records.pid_start_time(child.pid) is None


def test_is_stale_only_where_it_is_knowable():
    mine = {"host": socket.gethostname(), "pid": 2**22 + 12345, "start": "1"}
    assert records.is_stale({"status": "running", "process": mine})  # this host, pid gone
    assert not records.is_stale({"status": "succeeded", "process": mine})
    assert not records.is_stale({"status": "running", "process": {**mine, "host": "elsewhere"}})
    here = {"host": socket.gethostname(), "pid": os.getpid(), "start": records.pid_start_time(os.getpid())}
    assert not records.is_stale({"status": "running", "process": here})
    # a clone id: only the clone that started the run may judge it
    assert not records.is_stale({"status": "running", "process": {"clone": "another", "pid": 1}}, repo=None)


def test_newest_first_key_and_filter_records():
    rs = [
        {"id": "b", "started": "2026-01-02", "stage": "small", "status": "failed", "code": {"branch": "main"}},
        {"id": "a", "started": "2026-01-02", "started_unix": 5.5, "stage": "smoke", "status": "succeeded"},
        {"id": "c", "started": "2026-01-01", "started_unix": True, "strategy": "wider", "status": "succeeded"},
    ]
    assert [r["id"] for r in sorted(rs, key=records.newest_first_key, reverse=True)] == ["a", "b", "c"]
    assert [r["id"] for r in records.filter_records(rs, status="succeeded")] == ["a", "c"]
    assert [r["id"] for r in records.filter_records(rs, stage="small")] == ["b"]
    assert [r["id"] for r in records.filter_records(rs, strategy="main")] == ["b"]
    assert [r["id"] for r in records.filter_records(rs, strategy="wider")] == ["c"]


def test_store_reads_records_and_files_from_git_when_folders_are_gone(repo):
    make_project(repo)
    one = new_run(repo, "-s", "acc=0.6")
    two = new_run(repo, "-s", "acc=0.7")
    store = Project.open(repo).store
    assert [r["id"] for r in store.all()] == [two["id"], one["id"]]
    assert set(store.ref_ids()) == {one["id"], two["id"]}
    assert [r["id"] for r in store.newest(1)] == [two["id"]]
    got = store.get(one["id"])
    assert got["status"] == "succeeded" and got["_commit"] == store.ref_ids()[one["id"]]
    assert store.given_settings(got)["acc"] == 0.6
    subprocess.run(["rm", "-rf", str(repo / "runs")], check=True)
    store = Project.open(repo).store
    log = store.read_file(store.get(one["id"]), "log_tail.txt")  # the folder has train.log; git keeps its tail
    assert b"hello from the program" in log
    assert store.read_file(store.get(one["id"]), "no-such-file") is None
    assert json.loads(store.read_file(store.get(one["id"]), "record.json"))["id"] == one["id"]
    commit = git(repo, "rev-parse", f"refs/expctl/runs/{two['id']}").stdout.strip()
    assert json.loads(git(repo, "show", f"{commit}:record.json").stdout)["id"] == two["id"]


def test_store_skips_an_unusable_record_with_one_warning(repo):
    make_project(repo)
    good = new_run(repo)
    r = Project.open(repo).repo
    tree = r.write_tree({"record.json": b'{"id": "20260101-000000-aaaaaa", "status": 3}'})
    r.update_ref("refs/expctl/runs/20260101-000000-aaaaaa", r.write_commit(tree, [], "bad\n"), "0" * 40)
    store = Project.open(repo).store
    assert [x["id"] for x in store.all()] == [good["id"]]
    assert len(store.warnings) == 1 and "20260101-000000-aaaaaa" in store.warnings[0]


def test_note_rm_and_gc_commands(repo):
    make_project(repo)
    one = new_run(repo, "--name", "keepme")
    two = new_run(repo, "-s", "acc=0.9")
    assert "has no note" in run_expctl(repo, "note", "keepme", check=True).stderr
    run_expctl(repo, "note", "keepme", "lr too high", check=True)
    assert run_expctl(repo, "note", "keepme", check=True).stdout == "lr too high\n"
    both = run_expctl(repo, "note", "keepme", "x", "--edit")
    assert both.returncode == 2 and "not both" in both.stderr
    assert run_expctl(repo, "rm").returncode == 2
    dry = run_expctl(repo, "rm", two["id"], "--dry-run", check=True)
    assert two["id"] in dry.stdout and "would delete" in dry.stderr
    refused = run_expctl(repo, "rm", two["id"], input="")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert len(json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)) == 2
    run_expctl(repo, "rm", two["id"], "--yes", check=True)
    assert [r["id"] for r in json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)] == [one["id"]]
    assert not (repo / "runs" / two["id"]).exists()
    gc = run_expctl(repo, "gc", check=True)
    assert "1 records checked" in gc.stderr
