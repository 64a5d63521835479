"""Disk full while writing logs and records.

A real small tmpfs when the machine allows mounting one (root), else skipped; and a
simulated ENOSPC at expctl's object-write layer, which runs everywhere. Either way: one
clear error line, no traceback, and no half-written record presented as complete (the
git record stays 'running' and is finished, as interrupted, once there is room again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import git, run_expctl
from tests.reliability.conftest import assert_healthy, make_project, run_refs, runs_json, set_command

FILL_PY = textwrap.dedent("""
    # fills the disk the project lives on, then keeps logging into the full disk
    import os
    from expctl import track
    track.log_metrics(step=1, train_loss=1.0)
    print("before the disk is full", flush=True)
    os.makedirs("data", exist_ok=True)
    with open("data/filler", "wb") as fh:
        try:
            while True:
                fh.write(b"f" * 65536); fh.flush()
        except OSError as exc:
            print("filler stopped:", exc.strerror, flush=True)
    for i in range(2000):
        print("line after the disk is full", i, flush=True)
""")


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the simulated ENOSPC test covers this")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _one_clear_line(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert any(
        line.startswith("expctl: error:") and "No space left on device" in line for line in stderr.splitlines()
    ), stderr


@pytest.mark.slow  # a real tmpfs: timing-sensitive on a loaded machine; simulated ENOSPC runs in CI
def test_disk_fills_while_the_program_logs(small_disk):
    project = small_disk / "proj"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    make_project(project)
    (project / "fill.py").write_text(FILL_PY)
    set_command(project, "python3 fill.py")
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 5
    _one_clear_line(proc.stderr)
    assert "could not be written" in proc.stderr
    (run_id,) = run_refs(project)
    blob = git(project, "cat-file", "blob", f"refs/expctl/runs/{run_id}:record.json").stdout
    assert json.loads(blob)["status"] == "running"  # never presented as complete
    assert "before the disk is full" in (project / "runs" / run_id / "train.log").read_text()
    (project / "data" / "filler").unlink()
    (record,) = runs_json(project)
    assert record["status"] == "interrupted"
    assert_healthy(project)


@pytest.mark.slow  # a real tmpfs: timing-sensitive on a loaded machine; simulated ENOSPC runs in CI
def test_disk_full_before_the_run(small_disk):
    project = small_disk / "proj"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    make_project(project)
    (project / "data").mkdir()
    with open(project / "data" / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"f" * 65536)
                fh.flush()
        except OSError:
            pass
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 5
    _one_clear_line(proc.stderr)
    assert run_refs(project) == {}  # no record, and the program never started
    assert not list((project / "runs").glob("*/train.log"))
    (project / "data" / "filler").unlink()
    assert_healthy(project)


# ENOSPC injected into expctl's own object writes (loose objects and `git hash-object`)
# once the program has created the file $FULL_FLAG: the rest of expctl is untouched.
ENOSPC_MAIN = textwrap.dedent("""
    import errno, os, sys
    from expctl import gitlayer
    original = gitlayer.Repo.write_object
    def write_object(self, kind, data):
        if os.path.exists(os.environ["FULL_FLAG"]):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, kind, data)
    gitlayer.Repo.write_object = write_object
    from expctl.cli import main
    main(sys.argv[1:])
""")


def test_simulated_enospc_while_writing_the_record(project, tmp_path):
    flag = tmp_path / "disk-is-full"
    (project / "full.py").write_text(f"print('working', flush=True)\nopen({str(flag)!r}, 'w').close()\n")
    set_command(project, "python3 full.py")
    main = tmp_path / "enospc_main.py"
    main.write_text(ENOSPC_MAIN)
    proc = subprocess.run(
        [sys.executable, str(main), "run", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "FULL_FLAG": str(flag)},
        timeout=120,
    )
    assert proc.returncode == 5
    _one_clear_line(proc.stderr)
    (run_id,) = run_refs(project)
    blob = git(project, "cat-file", "blob", f"refs/expctl/runs/{run_id}:record.json").stdout
    assert json.loads(blob)["status"] == "running"
    assert "working" in (project / "runs" / run_id / "train.log").read_text()
    # the disk has room again: the next listing finishes the record from what run.sh saw
    (record,) = runs_json(project)
    assert record["status"] == "succeeded" and record["exit_code"] == 0
    assert_healthy(project)


def test_simulated_enospc_before_the_program(project, tmp_path):
    flag = tmp_path / "disk-is-full"
    flag.touch()
    main = tmp_path / "enospc_main.py"
    main.write_text(ENOSPC_MAIN)
    proc = subprocess.run(
        [sys.executable, str(main), "run", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "FULL_FLAG": str(flag)},
        timeout=120,
    )
    assert proc.returncode == 5
    _one_clear_line(proc.stderr)
    assert "the program was not started" in proc.stderr
    assert run_refs(project) == {}
    assert not list((project / "runs").glob("*/train.log"))
    flag.unlink()
    assert_healthy(project)
