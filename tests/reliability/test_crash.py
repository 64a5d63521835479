"""Crashes: expctl killed at named points and at random moments, signals forwarded to
the program's process group, the trainer killed in the middle of a checkpoint.

After each: ``git fsck`` passes, every started run has a readable record (interrupted
where it did not finish), logs are kept, and no lock blocks the next run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import textwrap
import time

import pytest

from tests.conftest import _expctl_bin, git, run_expctl
from tests.reliability.conftest import assert_healthy, run_refs, runs_json, set_command, start_run, wait_gone

CRASH = "EXPCTL_TEST_CRASH_AT"


def crash_run(project, phase):
    proc = run_expctl(project, "run", "-q", env={CRASH: phase})
    assert proc.returncode == 137, proc.stderr
    return proc


# phase -> (a record exists, the program ran, the status once finished by a listing)
PHASES = {
    "after-snapshot": (False, False, None),
    "record-objects:running": (False, False, None),
    "record-ref:running": (True, False, "interrupted"),
    "before-program": (True, False, "interrupted"),
    "after-program": (True, True, "succeeded"),
    "record-objects:succeeded": (True, True, "succeeded"),
    "record-ref:succeeded": (True, True, "succeeded"),
}
CI_PHASES = ("before-program", "after-program", "record-objects:succeeded")


@pytest.mark.parametrize("phase", [p if p in CI_PHASES else pytest.param(p, marks=pytest.mark.slow) for p in PHASES])
def test_crash_at_named_point(project, phase):
    has_record, program_ran, status = PHASES[phase]
    crash_run(project, phase)
    refs = run_refs(project)
    assert len(refs) == int(has_record)
    if has_record:
        (record,) = runs_json(project)
        assert record["status"] == status
        run_dir = project / "runs" / record["id"]
        if program_ran:
            assert "step 3" in (run_dir / "train.log").read_text()  # the log is kept
            assert record["metrics"]["final"]["eval_accuracy"] == 0.8
            assert record["exit_code"] == 0
        else:
            assert not (run_dir / "train.log").exists()
        # the repair was written to git, not only shown
        blob = git(project, "cat-file", "blob", f"refs/expctl/runs/{record['id']}:record.json").stdout
        assert json.loads(blob)["status"] == status
    assert_healthy(project)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_reaches_program_and_its_children(project, sig):
    proc, run_dir = start_run(project)
    child_pid = int((run_dir / "child.pid").read_text())
    program_pids = [int((run_dir / "program.pid").read_text())]
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert wait_gone([child_pid, *program_pids]) == [], "the program and its child are stopped"
    (record,) = runs_json(project)
    assert record["status"] == "interrupted" and record["signal"] == sig.name.removeprefix("SIG")
    assert "tick 3" in (run_dir / "train.log").read_text()
    assert json.loads((run_dir / "exit_status.json").read_text())["signal"] == sig.name.removeprefix("SIG")
    assert_healthy(project)


def test_sigkill_of_expctl_stops_program_group(project):
    proc, run_dir = start_run(project)
    child_pid = int((run_dir / "child.pid").read_text())
    proc.kill()
    proc.communicate(timeout=30)
    assert wait_gone([child_pid]) == [], "PDEATHSIG reaches the program's children too"
    records = assert_healthy(project)
    assert records[0]["status"] == "interrupted" and "tick 3" in (run_dir / "train.log").read_text()


@pytest.mark.slow
def test_sigkill_at_random_moments(project):
    """SIGKILL of expctl at 12 random moments (before, during and after the program)."""
    rng = random.Random(8)
    (project / "short.py").write_text(
        "import time\nprint('begin', flush=True)\ntime.sleep(0.3)\nprint('end', flush=True)\n"
    )
    set_command(project, "python3 short.py")
    started = 0
    for _ in range(12):
        proc = subprocess.Popen(
            [*_expctl_bin(), "run", "-q"], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, 1.2))
        proc.kill()
        proc.wait()
        started += 1
    time.sleep(1.0)
    records = assert_healthy(project, next_run=False)
    assert len(records) <= started
    for r in records:
        log = project / "runs" / r["id"] / "train.log"
        if r["status"] == "succeeded":
            assert "end" in log.read_text()
        if log.exists() and "begin" in log.read_text():
            assert r["status"] in ("succeeded", "interrupted")
    assert_healthy(project)


# A stand-in for the bundled trainer (trainers/ is being finished elsewhere): it saves
# checkpoint folders non-atomically (file by file, chunk by chunk) and keeps a manifest.
CKPT_STANDIN_PY = textwrap.dedent("""
    import json, os, sys, time
    run = os.environ["EXPCTL_RUN_DIR"]
    atomic_manifest = sys.argv[1] == "atomic"
    with open(os.path.join(run, "program.pid"), "w") as fh:
        fh.write(str(os.getpid()))

    def manifest(last):
        data = json.dumps({"last": last, "all": [last]}).encode()
        path = os.path.join(run, "checkpoints.json")
        if atomic_manifest:
            with open(path + ".tmp", "wb") as fh:
                fh.write(data)
            os.replace(path + ".tmp", path)
        else:  # rewritten in place, in two halves: a kill in between leaves half a file
            with open(path, "wb") as fh:
                fh.write(data[: len(data) // 2]); fh.flush()
                print("manifest half written", flush=True)
                time.sleep(30)
                fh.write(data[len(data) // 2:])

    for step in (1, 2):
        folder = os.path.join(run, "checkpoints", f"step-{step}")
        os.makedirs(folder, exist_ok=True)
        print(f"saving step {step}", flush=True)
        with open(os.path.join(folder, "model.bin"), "wb") as fh:
            for chunk in range(4):
                fh.write(b"w" * 65536); fh.flush()
                if step == 2 and chunk == 1:
                    print("checkpoint half written", flush=True)
                    time.sleep(30)
        with open(os.path.join(folder, "optimizer.bin"), "wb") as fh:
            fh.write(b"o" * 1024)
        manifest(f"checkpoints/step-{step}")
        print(f"saved step {step}", flush=True)
""")


@pytest.mark.parametrize("manifest", ["atomic", pytest.param("torn", marks=pytest.mark.slow)])
def test_trainer_killed_mid_checkpoint(project, manifest):
    (project / "ckpt_standin_trainer.py").write_text(CKPT_STANDIN_PY)
    marker = "checkpoint half written" if manifest == "atomic" else "manifest half written"
    proc, run_dir = start_run(project, command=f"python3 ckpt_standin_trainer.py {manifest}", wait_for=marker)
    pid = int((run_dir / "program.pid").read_text())
    os.kill(pid, signal.SIGKILL)  # the OOM killer, or `kill -9`
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    (record,) = runs_json(project)
    assert record["status"] == "interrupted" and record["signal"] == "KILL" and record["exit_code"] == 137
    if manifest == "atomic":
        # the last complete checkpoint is what the record points at; the torn one is left as it is
        assert record["checkpoints"] == {"last": "checkpoints/step-1", "all": ["checkpoints/step-1"]}
        assert (run_dir / "checkpoints" / "step-2" / "model.bin").stat().st_size == 2 * 65536
        shown = json.loads(run_expctl(project, "show", record["id"], "--json", check=True).stdout)
        assert all(shown["checkpoints"]["exists"].values())
    else:
        assert record["checkpoints"] is None  # half a manifest is not presented as a manifest
    assert marker in (run_dir / "train.log").read_text()
    assert_healthy(project)
