"""Fixtures and invariants for the reliability suite (issue 8).

Everything runs against real git repositories in tmp_path and the real `expctl` console
script in subprocesses. ``assert_healthy`` is the invariant every failure test ends with:
the repository passes ``git fsck --strict``, every run ref holds a readable record, no
lock file is left behind, and a new run succeeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import _expctl_bin, git, run_expctl

TRAIN_PY = textwrap.dedent("""
    import sys, time
    from expctl import track
    s = track.settings()
    time.sleep(float(s.get("sleep", 0)))
    for step in range(1, 4):
        track.log_metrics(step=step, train_loss=1.0 / step)
        print(f"step {step}", flush=True)
    track.log_metrics(step=3, eval_accuracy=float(s.get("acc", 0.8)))
    sys.exit(int(s.get("exit_code", 0)))
""")

# A program that runs until stopped, with a child process of its own (to prove signals
# reach the program's whole process group), logging a metric and a line each tick.
SLOW_PY = textwrap.dedent("""
    import os, subprocess, sys, time
    from expctl import track
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    for name, pid in (("child.pid", child.pid), ("program.pid", os.getpid())):
        with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], name), "w") as fh:
            fh.write(str(pid))
    for i in range(6000):
        track.log_metrics(step=i, train_loss=1.0 / (i + 1))
        print("tick", i, flush=True)
        time.sleep(0.02)
""")


def runs_json(cwd, *args) -> list[dict]:
    proc = run_expctl(cwd, "runs", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def set_command(project: Path, command: str) -> None:
    toml = (project / "expctl.toml").read_text()
    start = toml.index("command = ")
    end = toml.index("\n", start)
    (project / "expctl.toml").write_text(toml[:start] + f"command = {json.dumps(command)}" + toml[end:])


def make_project(path: Path, commit: bool = True) -> Path:
    (path / "train.py").write_text(TRAIN_PY)
    (path / "slow.py").write_text(SLOW_PY)
    run_expctl(path, "init", "--command", "python3 train.py", check=True)
    toml = (path / "expctl.toml").read_text()
    (path / "expctl.toml").write_text(
        toml.replace("seed = 42\n", "seed = 42\nacc = 0.8\nexit_code = 0\nsleep = 0.0\n", 1)
    )
    if commit:
        git(path, "add", "-A")
        git(path, "commit", "-qm", "expctl init")
    return path


@pytest.fixture
def project(repo: Path) -> Path:
    """A committed project: train.py (quick) and slow.py (until stopped), expctl init'ed."""
    return make_project(repo)


def git_dir(project: Path) -> Path:
    return Path(git(project, "rev-parse", "--path-format=absolute", "--git-common-dir").stdout.strip())


def lock_files(project: Path) -> list[str]:
    return sorted(str(p.relative_to(git_dir(project))) for p in git_dir(project).rglob("*.lock"))


def run_refs(project: Path) -> dict[str, str]:
    out = git(project, "for-each-ref", "--format=%(refname) %(objectname)", "refs/expctl/runs/").stdout
    return {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in out.splitlines()}


def assert_healthy(project: Path, *, next_run: bool = True) -> list[dict]:
    """fsck clean, every run ref readable and finished, no locks, and the next run works."""
    fsck = git(project, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    records = runs_json(project)
    refs = run_refs(project)
    assert sorted(r["id"] for r in records) == sorted(refs), "every run ref has a readable record"
    for run_id, commit in refs.items():
        blob = git(project, "cat-file", "blob", f"{commit}:record.json").stdout
        assert json.loads(blob)["id"] == run_id
    assert all(r["status"] in ("succeeded", "failed", "interrupted") for r in records), [
        (r["id"], r["status"]) for r in records
    ]
    assert lock_files(project) == []
    if next_run:
        set_command(project, "python3 train.py")
        proc = run_expctl(project, "run", "-q")
        assert proc.returncode == 0, proc.stderr
    return records


def start_run(
    project: Path, *args, env=None, command="python3 slow.py", wait_for="tick 3", timeout=60
) -> tuple[subprocess.Popen, Path]:
    """Start `expctl run` in the background and wait until the program logged ``wait_for``."""
    set_command(project, command)
    before = set((project / "runs").iterdir()) if (project / "runs").exists() else set()
    proc = subprocess.Popen(
        [*_expctl_bin(), "run", "-q", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        new = (set((project / "runs").iterdir()) if (project / "runs").exists() else set()) - before
        for run_dir in new:
            log = run_dir / "train.log"
            if log.exists() and wait_for in log.read_text(errors="replace"):
                return proc, run_dir
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"expctl exited early ({proc.returncode}): {err}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the program did not start")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
    return True


def wait_gone(pids, timeout=10.0) -> list[int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = [p for p in pids if pid_alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]
