"""expctl.cluster and `--on slurm` without a cluster: stand-in sbatch/scontrol/squeue/scancel
scripts on PATH (real subprocesses), and the job's own steps (`python -m expctl.cluster
job-start|job-finish`) run by hand as the sbatch script would. Against a real Slurm:
tests/cluster/test_cluster.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from expctl.cluster import status_text
from tests.conftest import commit_project, run_expctl
from tests.small_project import CONFIG, PROGRAM


def stand_ins(tmp_path):
    bin_dir = tmp_path / "slurm-bin"
    bin_dir.mkdir()
    scripts = {
        "sbatch": 'echo "$@" >> "$(dirname "$0")/sbatch.argv"; echo 777',
        "scontrol": 'echo "$@" >> "$(dirname "$0")/scontrol.argv"',
        "scancel": 'echo "$@" >> "$(dirname "$0")/scancel.argv"',
        "squeue": 'printf "777|PENDING|Priority\\n"',
        "sacct": "exit 0",  # no verdicts (never a real cluster's job 777)
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def record(repo, env):
    (r,) = json.loads(run_expctl(repo, "runs", "--json", env=env, check=True).stdout)
    return r


def test_status_text():
    assert status_text({"status": "succeeded"}) == "succeeded"
    assert status_text({"status": "queued", "slurm": {"job_id": "12_3", "state": "PENDING"}}) == "queued [job 12_3]"
    assert status_text({"status": "failed", "slurm": {"job_id": "9", "state": "TIMEOUT"}}) == "failed [job 9 TIMEOUT]"
    assert status_text({"status": "failed", "slurm": {"job_id": "9", "state": "FAILED"}}) == "failed [job 9]"


def test_submit_cancel_and_the_jobs_own_steps(repo, tmp_path):
    commit_project(repo, PROGRAM, CONFIG + textwrap.dedent('\n[cluster]\ntime = "10"\n'))
    bin_dir, env = stand_ins(tmp_path)
    out = run_expctl(repo, "run", "--on", "slurm", "-s", "acc=0.7", env=env, check=True)
    run_id, job = out.stdout.split()
    assert job == "777" and "submitted 1 run(s) to Slurm as job 777" in out.stderr
    sbatch = (bin_dir / "sbatch.argv").read_text().split()
    assert sbatch == ["--parsable", "--hold", f"--chdir={repo}", str(repo / "runs" / run_id / "sbatch.sh")]
    assert (bin_dir / "scontrol.argv").read_text() == "release 777\n"  # released once the record exists
    queued = record(repo, env)
    assert (
        queued["status"] == "queued"
        and queued["slurm"]["job_id"] == "777"
        and "--time=10" in queued["slurm"]["options"]
    )
    assert "queued [job 777]" in run_expctl(repo, "runs", env=env, check=True).stdout
    run_expctl(repo, "cancel", run_id, env=env, check=True)
    assert (bin_dir / "scancel.argv").read_text() == "777\n"
    # the job's steps, as the sbatch script runs them
    step = [sys.executable, "-m", "expctl.cluster"]
    subprocess.run([*step, "job-start", str(repo), run_id], check=True, env={**os.environ, **env})
    running = record(repo, env)
    assert running["status"] == "running" and running["slurm"]["state"] == "RUNNING"
    assert (repo / "runs" / run_id / "code" / "train.py").read_text() == PROGRAM
    subprocess.run([*step, "job-finish", str(repo), run_id, "3", ""], check=True, env={**os.environ, **env})
    failed = record(repo, env)
    assert failed["status"] == "failed" and failed["exit_code"] == 3
    assert failed["slurm"]["state"] == "FAILED" and failed["slurm"]["reason"] == "NonZeroExitCode (3)"
    assert failed["slurm"]["final"] is True and not (repo / "runs" / run_id / "code").exists()
    refused = run_expctl(repo, "cancel", run_id, env=env)
    assert refused.returncode == 2 and "nothing queued or running on Slurm" in refused.stderr
    usage = subprocess.run([*step], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage: python -m expctl.cluster job-start" in usage.stderr
