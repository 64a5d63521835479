"""Concurrency: many runs at once in one repository, racing `tag`, `compare` and `push`.

All records complete, none duplicated, no `index.lock` failure, fsck clean, and the bare
remote holds exactly the records the repository holds after a final push.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import _expctl_bin, git, run_expctl
from tests.reliability.conftest import assert_healthy, run_refs, runs_json


def _start(project, *args):
    return subprocess.Popen(
        [*_expctl_bin(), *args], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _dirty(project):
    (project / "train.py").write_text((project / "train.py").read_text() + "\n# dirty: every run snapshots\n")
    (project / "notes.txt").write_text("untracked\n")


def _check_runs(project, procs, accs):
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outs
    assert not any("index.lock" in err or "Traceback" in err for _, err in outs), outs
    records = runs_json(project)
    assert len(records) == len(accs) and len({r["id"] for r in records}) == len(accs)
    assert sorted(r["metrics"]["final"]["eval_accuracy"] for r in records) == sorted(accs)
    assert all(r["status"] == "succeeded" for r in records)
    assert all(r["code"]["snapshot"] for r in records if r.get("name") != "base")
    return records


def test_eight_runs_at_once(project):
    _dirty(project)
    accs = [round(0.1 * (i + 1), 1) for i in range(8)]
    procs = [_start(project, "run", "-q", "-s", f"acc={a}") for a in accs]
    records = _check_runs(project, procs, accs)
    assert len({r["code"]["tree"] for r in records}) == 1  # the same code in every snapshot
    assert_healthy(project)


def _race(project, n_runs, rounds):
    bare = project.parent / "remote.git"
    git(project.parent, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    run_expctl(project, "run", "-q", "--name", "base", check=True)
    _dirty(project)
    accs = [round(0.05 * (i + 1), 2) for i in range(n_runs)]
    procs = [_start(project, "run", "-q", "-s", f"acc={a}", "-s", "sleep=1.5") for a in accs]
    side = []
    for i in range(rounds):
        side.append(("tag", run_expctl(project, "tag", f"strategy-{i}", "base")))
        side.append(("compare", run_expctl(project, "compare", "--json")))
        side.append(("runs", run_expctl(project, "runs", "--json")))
        side.append(("push", run_expctl(project, "push", "origin")))
        time.sleep(0.05)
    for what, proc in side:
        assert proc.returncode == 0, (what, proc.stderr)
        assert "index.lock" not in proc.stderr and "Traceback" not in proc.stderr
        if what in ("compare", "runs"):
            json.loads(proc.stdout)
    _check_runs(project, procs, accs + [0.8])
    assert_healthy(project, next_run=False)
    run_expctl(project, "push", "origin", check=True)
    remote = git(bare, "for-each-ref", "--format=%(refname) %(objectname)", "refs/expctl/runs/").stdout.split("\n")
    remote_refs = {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in remote if line}
    assert remote_refs == run_refs(project), "every final record reached the remote, none twice"
    assert git(bare, "fsck", "--strict", check=False).returncode == 0
    tags = git(bare, "tag", "--list", "strategy-*").stdout.split()
    assert len(tags) == rounds


def test_runs_race_tag_compare_push(project):
    _race(project, n_runs=4, rounds=3)


@pytest.mark.slow
def test_runs_race_tag_compare_push_heavy(project):
    _race(project, n_runs=8, rounds=10)
