"""The local records index (expctl/recordindex.py): verified against the record refs on
every read, rebuilt or bypassed when damaged, never showing a record git does not hold;
``runs -n`` reads only the newest records."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import commit_project, git, plant_record, run_expctl

CONFIG = (
    '[project]\nname = "demo"\ncommand = "python3 train.py"\nprimary_metric = "acc"\n'
    '[settings]\nlr = 0.1\nseed = 0\n[stages.small]\ncheck = "metrics"\n'
)


def _record(i: int, t0: float, commit: str, **extra) -> dict:
    ts = t0 + i * 60
    rid = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ts)) + f"-{i:06d}"
    return {
        "schema": 1,
        "id": rid,
        "name": f"r{i}",
        "stage": "small",
        "status": "succeeded",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
        "started_unix": ts,
        "duration_s": 1.0,
        "exit_code": 0,
        "command": ["python3", "train.py"],
        "settings": {"lr": 0.1 * (1 + i % 3), "seed": i % 2},
        "code": {"commit": commit, "tree": None, "head": commit, "branch": "main", "dirty": False, "snapshot": False},
        "env": {"host": "h", "python": "3", "packages": {}, "gpus": [], "world_size": 1},
        "metrics": {"final": {"acc": 0.5 + i / 1000}},
        "primary_metric": "acc",
        "direction": "max",
        "check": {"check": "metrics", "passed": True, "reasons": []},
        **extra,
    }


def _store(path):
    from expctl.gitlayer import Repo
    from expctl.records import Store

    return Store(Repo.open(path), path)


@pytest.fixture
def project(repo):
    commit_project(repo, "print('hi')\n", CONFIG)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    store = _store(repo)
    t0 = time.time() - 10_000
    store.save_many([(_record(i, t0, head), head) for i in range(30)])
    return repo


def _ids(proc) -> list[str]:
    return [line.split()[0] for line in proc.stdout.splitlines()[2:]]


def _index(repo):
    return repo / ".git" / "expctl" / "index.v1"


def _warnings(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "warning" in line]


def test_damaged_index_is_rebuilt_with_one_warning_and_never_shows_a_gone_record(project):
    full = run_expctl(project, "runs", check=True)
    assert len(_ids(full)) == 30 and not _warnings(full)
    assert _index(project).is_file()
    runs = run_expctl(project, "compare", "--runs", "--format", "json", check=True)
    expected_rows = json.loads(runs.stdout)
    assert len(expected_rows) == 30
    stale_copy = _index(project).read_bytes()  # an index that still lists the record about to go

    gone = _ids(full)[3]
    git(project, "update-ref", "-d", f"refs/expctl/runs/{gone}")  # what `rm` does to a record
    expected = [i for i in _ids(full) if i != gone]
    after_rm = run_expctl(project, "runs", check=True)
    assert _ids(after_rm) == expected and not _warnings(after_rm)  # a removed ref is seen at once, quietly

    _index(project).write_bytes(stale_copy)  # a valid index that is behind git
    for args in (("runs",), ("runs", "--format", "tsv"), ("runs", "-n", "5")):
        proc = run_expctl(project, *args, check=True)
        shown = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:]] if "tsv" in args else _ids(proc)
        assert gone not in shown and shown == expected[: len(shown)] and len(shown) == (5 if "-n" in args else 29)
    cmp = json.loads(run_expctl(project, "compare", "--runs", "--format", "json", check=True).stdout)
    assert gone not in {r["run"] for r in cmp} and len(cmp) == 29

    data = _index(project).read_bytes()
    damages = {
        "corrupted": data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1 :],
        "truncated": data[: len(data) - 17],
        "emptied": b"",
        "garbage": b"expctl-index 1 nonsense\n\x00\x01",
    }
    for what, damaged in damages.items():
        _index(project).write_bytes(damaged)
        proc = run_expctl(project, "runs", check=True)
        assert _ids(proc) == expected, what
        warned = _warnings(proc)
        assert len(warned) == 1 and "records index" in warned[0] and "rebuilt" in warned[0], (what, proc.stderr)
        again = run_expctl(project, "runs", check=True)  # rebuilt: quiet again
        assert _ids(again) == expected and not _warnings(again), what
    data = _index(project).read_bytes()
    _index(project).write_bytes(data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:])  # in the summaries
    proc = run_expctl(project, "compare", "--runs", "--format", "json", check=True)
    assert [r["run"] for r in json.loads(proc.stdout)] == [r["run"] for r in expected_rows if r["run"] != gone]
    assert len(_warnings(proc)) == 1

    _index(project).unlink()  # deleted: rebuilt without a word
    proc = run_expctl(project, "runs", check=True)
    assert _ids(proc) == expected and not _warnings(proc) and _index(project).is_file()


def test_changed_and_forged_refs_are_read_from_git(project):
    store = _store(project)
    first = run_expctl(project, "runs", "--format", "tsv", check=True)
    assert "succeeded" in first.stdout
    record = json.loads(
        git(project, "cat-file", "blob", f"refs/expctl/runs/{_ids(run_expctl(project, 'runs'))[0]}:record.json").stdout
    )
    record["status"] = "failed"  # a new version of a record (a note, a late finalization)
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    store.save(record, head, mirror=False)
    after = run_expctl(project, "runs", check=True)
    assert after.stdout.splitlines()[2].split()[3] == "failed"
    # a ref pointing at another run's record commit is not that run: skipped, never listed twice
    other = _ids(after)[1]
    oid = git(project, "rev-parse", f"refs/expctl/runs/{other}").stdout.strip()
    git(project, "update-ref", "refs/expctl/runs/20200101-000000-zzzzzz", oid)
    proc = run_expctl(project, "runs", check=True)
    assert _ids(proc).count(other) == 1 and "20200101-000000-zzzzzz" not in _ids(proc)
    assert any("does not describe this run" in w for w in _warnings(proc))


def test_runs_n_reads_only_the_newest_records(project):
    """The newest-first view never reads older records: an unreadable old record is not
    even noticed by `runs -n 5` (every record was parsed before the index)."""
    ids = _ids(run_expctl(project, "runs", check=True))
    plant_record(project, b"{not json", "20200101-000000-aaaaaa")  # the oldest
    newest = run_expctl(project, "runs", "-n", "5", check=True)
    assert _ids(newest) == ids[:5] and not _warnings(newest)
    everything = run_expctl(project, "runs", check=True)
    assert _ids(everything) == ids and any("not valid JSON" in w for w in _warnings(everything))


def test_runs_n_orders_runs_of_one_second_by_their_exact_start(repo):
    commit_project(repo, "print('hi')\n", CONFIG)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    t = float(int(time.time()) - 100)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t))
    items = []
    for k, (suffix, frac) in enumerate([("aaaaaa", 0.9), ("zzzzzz", 0.1), ("mmmmmm", 0.5)]):
        r = _record(0, t, head, id=f"{stamp}-{suffix}", started_unix=t + frac, name=f"s{k}")
        items.append((r, head))
    older = _record(0, t - 3600, head)
    items.append((older, head))
    _store(repo).save_many(items)
    full = _ids(run_expctl(repo, "runs", check=True))
    assert full == [f"{stamp}-aaaaaa", f"{stamp}-mmmmmm", f"{stamp}-zzzzzz", older["id"]]
    for n in range(1, 5):
        assert _ids(run_expctl(repo, "runs", "-n", str(n), check=True)) == full[:n]


def test_summaries_give_the_same_strategies_as_whole_records(project):
    from expctl import config as config_mod
    from expctl import recordindex, strategies

    git(
        project,
        "tag",
        "-a",
        "base",
        "HEAD",
        "-m",
        f"Strategy base\n\nexpctl-run: {_ids(run_expctl(project, 'runs'))[-1]}\nexpctl-stage: small\n",
    )
    store = _store(project)
    cfg = config_mod.load(project)
    whole = strategies.collect(store, cfg)
    light = strategies.collect(store, cfg, recordindex.summaries(store))
    assert [(s.name, [r["id"] for r in s.runs]) for s in whole] == [(s.name, [r["id"] for r in s.runs]) for s in light]
    assert len(whole[0].runs) == 10  # lr 0.1, seed aside: every third run
    assert "env" not in light[0].runs[0] and light[0].runs[0]["_commit"]


def test_a_running_record_whose_process_died_is_finalized_in_listings(project):
    from expctl.records import process_identity

    store = _store(project)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    rec = _record(
        500,
        time.time() - 5,
        head,
        status="running",
        process={**process_identity(store.repo), "host": "x", "pid": dead.pid, "start": None},
    )
    store.save_many([(rec, head)])
    proc = run_expctl(project, "runs", check=True)
    top = proc.stdout.splitlines()[2].split()
    assert top[0] == rec["id"] and top[3] == "interrupted"
    again = run_expctl(project, "runs", check=True)  # the finalized record, now from the index
    assert again.stdout.splitlines()[2].split()[3] == "interrupted"


def _pushed_and_cloned(repo, tmp_path):
    """``repo`` pushed to a new bare remote (origin), and a fresh clone of it (not pulled yet)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    run_expctl(repo, "push", check=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    return clone


def test_pull_indexes_the_new_records_and_listings_follow(project, tmp_path):
    from expctl import recordindex

    clone = _pushed_and_cloned(project, tmp_path)
    assert "30 new run records" in run_expctl(clone, "pull", check=True).stderr
    index = recordindex.Index(_store(clone).repo)
    assert index.load() is None and len(index.heads) == 30  # pull left the index complete
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    _store(project).save_many([(_record(i, time.time() - 500, head), head) for i in range(40, 43)])
    run_expctl(project, "push", check=True)
    assert "3 new run records, 33 in all" in run_expctl(clone, "pull", check=True).stderr
    assert _ids(run_expctl(clone, "runs", check=True)) == _ids(run_expctl(project, "runs", check=True))


def test_runs_n_asks_git_for_more_when_one_second_holds_many_runs(repo):
    commit_project(repo, "print('hi')\n", CONFIG)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    t = float(int(time.time()) - 100)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t))
    # 80 runs of one second (more than `runs -n 1` first asks git for); the latest start has the lowest id
    items = [
        (_record(0, t, head, id=f"{stamp}-{k:06d}", started_unix=t + (79 - k) / 100, name=f"s{k}"), head)
        for k in range(80)
    ]
    _store(repo).save_many(items)
    full = _ids(run_expctl(repo, "runs", check=True))
    assert full[0] == f"{stamp}-000000" and len(full) == 80
    assert _ids(run_expctl(repo, "runs", "-n", "1", check=True)) == full[:1]
    assert _ids(run_expctl(repo, "runs", "-n", "70", check=True)) == full[:70]


def _tag_base(project) -> None:
    oldest = _ids(run_expctl(project, "runs"))[-1]
    git(project, "tag", "-a", "base", "HEAD", "-m", f"Strategy base\n\nexpctl-run: {oldest}\nexpctl-stage: small\n")


def _parts(repo) -> list[tuple[int, int]]:
    """(offset, length) of each part of the index file, from its header."""
    data = _index(repo).read_bytes()
    nl = data.index(b"\n")
    pos, out = nl + 1, []
    for field in data[:nl].split(b" ")[4:]:
        size = int(field.partition(b":")[2])
        out.append((pos, size))
        pos += size
    return out


def test_compare_on_the_index_keys_is_the_table_of_whole_summaries(project):
    """compare decides membership and seed groups on the keys part (reading whole only the
    rows' runs); a --where makes it read every summary: the same table either way."""
    _tag_base(project)
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    again = _record(3, time.time() - 10_000, head, id="20990101-000000-000003")  # a rerun of seed 1: a reproduction
    _store(project).save_many([(again, head)])
    for fmt in ("json", "table", "tsv"):
        keys = run_expctl(project, "compare", "--format", fmt, check=True)
        whole = run_expctl(project, "compare", "--where", "status=succeeded", "--format", fmt, check=True)
        assert keys.stdout == whole.stdout and not _warnings(keys), fmt
    row = json.loads(run_expctl(project, "compare", "--format", "json", check=True).stdout)[0]
    assert row["n"] == 2 and row["reproductions"] and len(row["runs"]) == 11
    # --runs --where on settings is decided on the keys part; on a metric, on every summary
    keys = run_expctl(project, "compare", "--runs", "--where", "lr=0.1", "--format", "json", check=True)
    whole = run_expctl(project, "compare", "--runs", "--where", "lr=0.1", "--where", "acc>0", "--format", "json")
    assert keys.stdout == whole.stdout and len(json.loads(keys.stdout)) == 11 and not _warnings(keys)


def test_damaged_keys_or_runs_text_part_is_rebuilt_with_one_warning(project):
    from expctl import recordindex

    _tag_base(project)
    table = run_expctl(project, "compare", check=True).stdout
    listing = run_expctl(project, "runs", check=True).stdout
    for part in (recordindex.KEYPART, recordindex.TEXT):
        for command, expected in ((("compare",), table), (("runs",), listing)):
            offset, size = _parts(project)[part]
            assert size > 0, part
            data = bytearray(_index(project).read_bytes())
            data[offset + size // 2] ^= 0xFF
            _index(project).write_bytes(bytes(data))
            proc = run_expctl(project, *command, check=True)
            assert proc.stdout == expected, (part, command)
            warned = _warnings(proc)
            assert len(warned) == 1 and "records index" in warned[0] and "rebuilt" in warned[0], (part, proc.stderr)
            quiet = run_expctl(project, *command, check=True)
            assert quiet.stdout == expected and not _warnings(quiet), (part, command)


def test_the_printed_runs_table_is_used_only_for_the_refs_it_was_made_for(project):
    first = run_expctl(project, "runs", check=True)
    data = _index(project).read_bytes()
    gone = _ids(first)[0]
    git(project, "update-ref", "-d", f"refs/expctl/runs/{gone}")
    after = run_expctl(project, "runs", check=True)
    assert gone not in _ids(after) and len(_ids(after)) == 29
    _index(project).write_bytes(data)  # an intact index (and table) made for the refs before the removal
    for command in (("runs",), ("compare", "--runs", "--format", "tsv")):
        proc = run_expctl(project, *command, check=True)
        assert gone not in proc.stdout and not _warnings(proc), command
    assert run_expctl(project, "runs", check=True).stdout == after.stdout
