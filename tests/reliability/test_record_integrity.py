"""What one record can break (issue 14, points 3 and 4).

3. A record pushed while its run was going is finalized as dead only by the clone that
   started it (never by another clone on a host of the same name), and a run's own final
   record always wins over an ``interrupted`` inferred elsewhere, through push and pull.
4. One place validates a record: a malformed one is skipped with one warning naming the
   run, and every reader keeps showing the others. A property test feeds random mutations
   of a valid record to runs, compare, strategies, show, diff and plot, in process.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git, plant_record, run_expctl
from tests.reliability.conftest import runs_json


def remote_record(bare: Path, run_id: str) -> dict:
    return json.loads(git(bare, "cat-file", "blob", f"refs/expctl/runs/{run_id}:record.json").stdout)


def pushed_while_running(project: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A finished run whose remote copy is the record as it was while running (as when
    `expctl push` ran during the run). Returns (bare remote, run id, running commit)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    git(project, "push", "-q", "origin", "main")
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    final = git(project, "rev-parse", f"refs/expctl/runs/{record['id']}").stdout.strip()
    running = git(project, "rev-parse", f"{final}^2").stdout.strip()
    assert json.loads(git(project, "cat-file", "blob", f"{running}:record.json").stdout)["status"] == "running"
    git(project, "push", "-q", "origin", f"{running}:refs/expctl/runs/{record['id']}")
    return bare, record["id"], running


def test_another_clone_never_finalizes_a_pulled_running_record(project, tmp_path):
    bare, run_id, _ = pushed_while_running(project, tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))  # same host name, its own clone
    run_expctl(other, "pull", "origin", check=True)
    (seen,) = runs_json(other)
    assert seen["status"] == "running"  # it cannot know: not "interrupted"
    run_expctl(other, "push", "origin", check=True)
    assert remote_record(bare, run_id)["status"] == "running"
    run_expctl(project, "push", "origin", check=True)  # the real result goes through
    assert remote_record(bare, run_id)["status"] == "succeeded"
    run_expctl(other, "pull", "origin", check=True)
    assert runs_json(other)[0]["status"] == "succeeded"


def test_a_real_final_record_wins_over_an_inferred_interrupted(project, tmp_path):
    bare, run_id, running = pushed_while_running(project, tmp_path)
    # a copy of the clone (same clone id, same machine), rolled back to the running record
    # and without the run folder: it can and does infer the run died
    copy_dir = tmp_path / "copy"
    shutil.copytree(project, copy_dir, symlinks=True)
    git(copy_dir, "update-ref", f"refs/expctl/runs/{run_id}", running)
    shutil.rmtree(copy_dir / "runs")
    (inferred,) = runs_json(copy_dir)
    assert inferred["status"] == "interrupted" and inferred.get("inferred") is True
    run_expctl(project, "push", "origin", check=True)  # the real result first...
    proc = run_expctl(copy_dir, "push", "origin")  # ...then the inferred one: no "pull first"
    assert proc.returncode == 0, proc.stderr
    assert remote_record(bare, run_id)["status"] == "succeeded"
    assert runs_json(copy_dir)[0]["status"] == "succeeded"
    # and the other order: inferred first, then the real one
    bare2 = tmp_path / "remote2.git"
    git(tmp_path, "init", "-q", "--bare", str(bare2))
    git(copy_dir, "update-ref", f"refs/expctl/runs/{run_id}", running)
    runs_json(copy_dir)  # infers again
    run_expctl(copy_dir, "push", str(bare2), check=True)
    assert remote_record(bare2, run_id)["status"] == "interrupted"
    proc = run_expctl(project, "push", str(bare2))
    assert proc.returncode == 0, proc.stderr
    assert remote_record(bare2, run_id)["status"] == "succeeded"
    run_expctl(copy_dir, "pull", str(bare2), check=True)
    assert runs_json(copy_dir)[0]["status"] == "succeeded"
    fsck = git(bare2, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stderr


# ---------------------------------------------------------------- malformed records
def plant(project: Path, blob: bytes, run_id: str) -> None:
    """A record commit holding ``blob`` as record.json, under refs/expctl/runs/<run_id>."""
    plant_record(project, blob, run_id, "HEAD")


DEEP = "__deep__"


def deep_json(text: bytes, depth: int) -> bytes:
    """``text`` with the placeholder string replaced by ``depth`` nested objects (written
    as text: json.dumps itself cannot nest that deep)."""
    return text.replace(json.dumps(DEEP).encode(), b'{"x":' * depth + b"1" + b"}" * depth)


@pytest.fixture
def two_runs(project):
    run_expctl(project, "run", "-q", "-s", "acc=0.7", check=True)
    run_expctl(project, "run", "-q", "-s", "acc=0.9", check=True)
    run_expctl(project, "tag", "baseline", check=True)
    records = runs_json(project)
    return project, records


MUTATIONS = {
    "code.commit number": lambda r: r["code"].update(commit=12345),
    "metrics.final string": lambda r: r["metrics"].update(final="0.9"),
    "process.pid string": lambda r: r.update(status="running") or r["process"].update(pid="123"),
    "deep nesting": lambda r: r["settings"].update(deep=DEEP),
    "env.gpus string": lambda r: r["env"].update(gpus="A100"),
    "check without reasons": lambda r: r.update(check={"check": "smoke", "passed": True}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_malformed_record_is_skipped_with_one_warning(two_runs, mutation):
    project, records = two_runs
    bad = copy.deepcopy(records[0])
    bad["id"] = "20200101-000000-badbad"
    MUTATIONS[mutation](bad)
    plant(project, deep_json(json.dumps(bad).encode(), 3000), bad["id"])
    good = [r["id"] for r in records]
    for args in (
        ["runs"],
        ["compare", "--runs"],
        ["strategies"],
        ["show", good[0]],
        ["diff", good[0], good[1]],
        ["plot", good[0], "--no-chart"],
        ["compare", "baseline"],
    ):
        proc = run_expctl(project, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
        if args in (["runs"], ["compare", "--runs"]):
            assert all(g in proc.stdout for g in good), (args, proc.stdout)
        if args[0] != "plot":
            warnings = [line for line in proc.stderr.splitlines() if bad["id"] in line]
            assert len(warnings) == 1 and "skipped" in warnings[0], (args, proc.stderr)
    proc = run_expctl(project, "show", bad["id"])
    assert proc.returncode == 4 and "internal error" not in proc.stderr


# -- property: random mutations never make a reader exit 70 --------------------------
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True), st.text(max_size=8)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def paths_of(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def mutate(record: dict, choice: int, kind: str, value) -> bytes:
    record = copy.deepcopy(record)
    paths = [p for p in paths_of(record) if p and p != ("id",)]
    path = paths[choice % len(paths)]
    parent = record
    for step in path[:-1]:
        parent = parent[step]
    if kind == "delete":
        del parent[path[-1]]
    elif kind == "replace":
        parent[path[-1]] = value
    elif kind == "deep":
        parent[path[-1]] = DEEP
    text = deep_json(json.dumps(record).encode(), 500)
    if kind == "bytes":  # not UTF-8
        text = text.replace(b'"succeeded"', b'"succ\xff\xfeeded"').replace(b'"main"', b'"ma\xc3in"')
    return text


def call(project: Path, *args: str) -> tuple[int, str, str]:
    """expctl in process (its real entry point, error mapping included)."""
    from click.testing import CliRunner

    from expctl.cli import main

    cwd = os.getcwd()
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(["-C", str(project), *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(cwd)
        return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    choice=st.integers(0, 10**6),
    kind=st.sampled_from(["delete", "replace", "replace", "deep", "bytes"]),
    value=json_value,
)
def test_mutated_records_never_crash_a_reader(two_runs, choice, kind, value):
    project, records = two_runs
    bad = copy.deepcopy(records[0])
    bad["id"] = "20200101-000000-mutant"
    bad.pop("_commit", None)
    plant(project, mutate(bad, choice, kind, value), bad["id"])
    good = [r["id"] for r in records]
    for args in (
        ["runs"],
        ["compare", "--runs"],
        ["strategies"],
        ["show", good[0]],
        ["show", bad["id"]],
        ["diff", good[0], good[1]],
        ["diff", good[0], bad["id"]],
        ["plot", good[0], "--no-chart"],
        ["plot", bad["id"], "--no-chart"],
    ):
        code, out, err = call(project, *args)
        assert code != 70 and "internal error" not in err, (args, err)
        if args in (["runs"], ["compare", "--runs"]):
            assert code == 0 and all(g in out for g in good), (args, out, err)


def test_a_running_record_is_judged_dead_only_where_that_is_knowable(two_runs):
    """Same clone folder seen from another pid namespace (a container) or another machine:
    left running; after a reboot of the same machine: interrupted."""
    project, records = two_runs
    clone = (project / ".git" / "expctl" / "clone-id").read_text().strip()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    pidns = os.readlink("/proc/self/ns/pid")
    machine = Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else None
    dead_pid = 2**22 + 12345  # above the default pid_max: never alive
    cases = {
        "20200101-000000-contnr": ({"boot": boot, "pidns": "pid:[1]", "machine": machine}, "running"),
        "20200101-000000-othermc": ({"boot": "another-boot", "pidns": pidns, "machine": "another-machine"}, "running"),
        "20200101-000000-otherc": ({"boot": boot, "pidns": pidns, "machine": machine, "clone": "another"}, "running"),
        "20200101-000000-samebt": ({"boot": boot, "pidns": pidns, "machine": machine}, "interrupted"),
    }
    if machine:
        cases["20200101-000000-reboot"] = ({"boot": "before-reboot", "pidns": pidns, "machine": machine}, "interrupted")
    for run_id, (identity, _) in cases.items():
        rec = copy.deepcopy(records[0])
        rec.pop("_commit", None)
        rec.update(id=run_id, status="running", ended=None, check=None)
        rec["process"] = {"host": "localhost", "pid": dead_pid, "start": None, "clone": clone, **identity}
        plant(project, json.dumps(rec).encode(), run_id)
    status = {r["id"]: r["status"] for r in runs_json(project)}
    assert {run_id: status[run_id] for run_id in cases} == {run_id: want for run_id, (_, want) in cases.items()}
