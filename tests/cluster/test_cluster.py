"""`--on slurm` against a real one-node Slurm: sweeps as job arrays, states, Slurm's
verdicts (CANCELLED, TIMEOUT, a failing program), exact code, stage gates, k-fold.

Jobs are small Python programs sleeping 1-3 s; the TIMEOUT case needs Slurm's smallest
time limit (one minute), so it is submitted first and checked last.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import records, spans, submitted, wait_for
from tests.conftest import git, run_expctl


def max_concurrency(events: list[dict]) -> int:
    live = best = 0
    for e in sorted(events, key=lambda e: (e["t"], e["event"] == "start")):
        live += 1 if e["event"] == "start" else -1
        best = max(best, live)
    return best


def test_a_run_over_its_time_limit_is_submitted(timeout_run):
    repo, run_id, job = timeout_run  # checked by the last test, once Slurm's minute is over
    (r,) = records(repo)
    assert r["id"] == run_id and r["status"] in ("queued", "running") and r["slurm"]["job_id"] == job


def test_two_tasks_srun_the_bundled_trainer_with_gloo(slurm, repo):
    """The multi-node launch as far as one machine allows: 2 Slurm tasks on the one node,
    each `accelerate launch` with its machine rank from Slurm, gloo between them."""
    from expctl.demodata import make_demo_files

    run_expctl(repo, "init", "--trainer", "builtin", check=True)
    make_demo_files(repo / "data", 64, 32, "en", 0)  # git-ignored: linked into the job's checkout
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "builtin trainer")
    proc = run_expctl(
        repo,
        "run",
        "--on",
        "slurm",
        "--stage",
        "smoke",
        "--cluster",
        "ntasks_per_node=2",
        "-s",
        "max_train_samples=64",
        "-s",
        "max_eval_samples=32",
        check=True,
    )
    ((run_id, _),) = submitted(proc)
    script = (repo / "runs" / run_id / "sbatch.sh").read_text()
    assert "#SBATCH --ntasks-per-node=2" in script and "srun --kill-on-bad-exit=1" in script
    assert '--machine_rank "$SLURM_PROCID"' in script and "scontrol show hostnames" in script
    done = run_expctl(repo, "wait", run_id, timeout=300)
    log = run_expctl(repo, "log", run_id, check=True).stdout
    assert done.returncode == 0, done.stderr + log[-2000:]
    assert "processes 2" in log and log.count("[trainer] final eval") == 1
    (r,) = records(repo)
    assert r["status"] == "succeeded" and r["check"]["passed"] and r["env"]["world_size"] == 2
    assert r["metrics"]["final"]["eval_samples"] == 32


def test_sweep_of_four_as_one_array_two_at_a_time(cluster_project, tmp_path):
    repo = cluster_project
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    t0 = time.time()
    proc = run_expctl(repo, "sweep", "--on", "slurm", "-s", "lr=0.1,0.2,0.3,0.4", "-s", "sleep=2", check=True)
    returned = time.time() - t0
    # the tree is edited right after submitting: nothing that runs may change
    (repo / "train.py").write_text((repo / "train.py").read_text().replace("10 * s", "1000 * s"))
    jobs = submitted(proc)
    assert len(jobs) == 4 and returned < 10
    array = {job.split("_")[0] for _, job in jobs}
    assert len(array) == 1, "one job array"
    assert sorted(job.split("_")[1] for _, job in jobs) == ["0", "1", "2", "3"]

    # while the queue runs: queued and running, with job ids, in runs / show / compare --runs
    listing = records(repo)
    assert {r["status"] for r in listing} <= {"queued", "running"}
    assert {r["slurm"]["job_id"] for r in listing} == {job for _, job in jobs}
    table = run_expctl(repo, "runs", check=True).stdout
    assert "queued [job " in table or "running [job " in table
    wait_for(lambda: any(r["status"] == "running" for r in records(repo)), timeout=30)
    run_id = next(r["id"] for r in records(repo) if r["status"] == "running")
    assert "running [job " in run_expctl(repo, "show", run_id, check=True).stdout
    assert "[job " in run_expctl(repo, "compare", "--runs", check=True).stdout

    done = run_expctl(repo, "wait", proc.stderr.split("sweep ")[1].split(":")[0], timeout=120)
    assert done.returncode == 0, done.stderr
    assert "lr" in done.stdout and "range" in done.stdout  # the sweep's sensitivity table

    final = records(repo)
    assert len(final) == 4 and all(r["status"] == "succeeded" for r in final)
    by_lr = {r["settings"]["lr"]: r for r in final}
    for lr, r in by_lr.items():
        assert r["metrics"]["final"]["eval_accuracy"] == pytest.approx(10 * lr)  # submit-time code, not 1000x
        assert r["code"]["commit"] == head and r["slurm"]["state"] == "COMPLETED"
        assert f"training lr={lr}" in run_expctl(repo, "log", r["id"], check=True).stdout
        assert "/code" in run_expctl(repo, "log", r["id"], check=True).stdout  # ran in its own checkout
    compare = run_expctl(repo, "compare", "--runs", check=True).stdout
    assert all(r["id"] in compare for r in final) and "succeeded [job " in compare
    # the array limit held: never more than 2 at once, and it did use 2
    assert max_concurrency(spans(tmp_path / "spans.jsonl")) == 2
    # the script: readable, hand-submittable, stored in the run folder and in the record
    script = (repo / "runs" / final[0]["id"] / "sbatch.sh").read_text()
    assert "#SBATCH --array=0-3%2" in script and "#SBATCH --time=00:05:00" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    blob = git(repo, "show", f"refs/expctl/runs/{final[0]['id']}:sbatch.sh").stdout
    assert "expctl.cluster job-start" in blob


def test_cancel_running_and_queued_runs_are_interrupted_with_reason(cluster_project):
    repo = cluster_project
    proc = run_expctl(
        repo,
        "sweep",
        "--on",
        "slurm",
        "--cluster",
        "array_parallelism=1",
        "-s",
        "lr=0.1,0.2",
        "-s",
        "sleep=30",
        check=True,
    )
    sweep_id = proc.stderr.split("sweep ")[1].split(":")[0]
    wait_for(lambda: any(r["status"] == "running" for r in records(repo)), timeout=30)
    wait_for(lambda: (repo / "runs").exists() and any((p / "train.log").exists() for p in (repo / "runs").iterdir()))
    listing = records(repo)
    assert sorted(r["status"] for r in listing) == ["queued", "running"]
    run_expctl(repo, "cancel", sweep_id, check=True)
    done = run_expctl(repo, "wait", sweep_id, timeout=60)
    assert done.returncode == 1
    final = records(repo)
    assert [r["status"] for r in final] == ["interrupted", "interrupted"]
    assert all(r["slurm"]["state"] == "CANCELLED" and "CANCELLED" in r["slurm"]["reason"] for r in final)
    ran = [r for r in final if r.get("signal")]
    assert len(ran) == 1 and ran[0]["signal"] == "TERM"  # the running one was stopped, its log kept
    assert "training lr=" in run_expctl(repo, "log", ran[0]["id"], check=True).stdout
    assert "CANCELLED" in run_expctl(repo, "runs", check=True).stdout


def records_without_slurm(repo, tmp_path) -> list[dict]:
    import shutil
    import sys

    from tests.conftest import _expctl_bin

    bin_dir = tmp_path / "no-slurm-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("git", "tar"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool))
    proc = run_expctl(repo, "runs", "--json", env={"PATH": f"{bin_dir}:{Path(sys.executable).parent}"}, check=True)
    assert "sbatch" not in os.listdir(bin_dir) and _expctl_bin()
    return json.loads(proc.stdout)


def test_failing_program_is_failed_with_its_log(cluster_project, tmp_path):
    repo = cluster_project
    proc = run_expctl(repo, "run", "--on", "slurm", "-s", "exit=3", "-s", "sleep=2", check=True)
    ((run_id, job),) = submitted(proc)
    # a machine without Slurm (records pulled to a laptop) shows the last state git knows,
    # never a guessed verdict
    (r,) = records_without_slurm(repo, tmp_path)
    assert r["status"] in ("queued", "running") and not r["slurm"]["final"]
    done = run_expctl(repo, "wait", run_id, timeout=60)
    assert done.returncode == 1 and "failed" in done.stderr
    (r,) = records(repo)
    assert r["status"] == "failed" and r["exit_code"] == 3 and r["slurm"]["job_id"] == job
    assert r["slurm"]["state"] == "FAILED"
    assert "error: the program gave up" in run_expctl(repo, "log", run_id, check=True).stdout


def test_values_are_data_in_the_script(cluster_project, tmp_path):
    repo = cluster_project
    marker = tmp_path / "pwned"
    proc = run_expctl(
        repo,
        "run",
        "--on",
        "slurm",
        "--name",
        f"$(touch {marker})",
        "--cluster",
        "setup=echo setup line ran on $(hostname)",
        "--",
        f"'; touch {marker}; '",
        check=True,
    )
    ((run_id, _),) = submitted(proc)
    assert run_expctl(repo, "wait", run_id, timeout=60).returncode == 0
    assert not marker.exists()
    (r,) = records(repo)
    assert r["name"] == f"$(touch {marker})"
    assert "setup line ran on " in (repo / r["slurm"]["output"]).read_text()  # [cluster] setup is shell, by design
    assert f"'; touch {marker}; '" in json.loads(run_expctl(repo, "show", run_id, "--json").stdout)["command"]


def test_full_on_slurm_needs_a_passing_smoke_of_that_code(cluster_project):
    repo = cluster_project
    refused = run_expctl(repo, "run", "--on", "slurm", "--stage", "full")
    assert refused.returncode == 7 and "needs a passing smoke" in refused.stderr
    assert records(repo) == []
    ((smoke, _),) = submitted(run_expctl(repo, "run", "--on", "slurm", "--stage", "smoke", check=True))
    assert run_expctl(repo, "wait", smoke, timeout=60).returncode == 0
    ((full, _),) = submitted(run_expctl(repo, "run", "--on", "slurm", "--stage", "full", check=True))
    assert run_expctl(repo, "wait", full, timeout=60).returncode == 0
    assert {r["stage"]: r["status"] for r in records(repo)} == {"smoke": "succeeded", "full": "succeeded"}


def test_kfold_on_slurm(cluster_project):
    repo = cluster_project
    proc = run_expctl(repo, "kfold", "--on", "slurm", "--k", "2", check=True)
    assert len(submitted(proc)) == 2
    group = proc.stderr.split("kfold ")[1].split(":")[0]
    assert run_expctl(repo, "wait", group, timeout=60).returncode == 0
    folds = sorted((r["group"]["fold"], r["settings"]["fold"], r["settings"]["num_folds"]) for r in records(repo))
    assert folds == [(0, 0, 2), (1, 1, 2)]


def test_a_job_over_its_time_limit_is_recorded_timeout(timeout_run):
    repo, run_id, job = timeout_run
    done = run_expctl(repo, "wait", run_id, "--timeout", "150", timeout=200)
    assert done.returncode == 1 and "TIMEOUT" in done.stderr
    (r,) = records(repo)
    assert r["status"] == "failed" and r["slurm"]["state"] == "TIMEOUT" and "TIMEOUT" in r["slurm"]["reason"]
    assert r["signal"] == "TERM"  # run.sh stopped the program and wrote its exit status
    assert "training lr=" in run_expctl(repo, "log", run_id, check=True).stdout
    assert "failed [job " in run_expctl(repo, "runs", check=True).stdout


def test_eight_jobs_finishing_together_leave_eight_sound_records(cluster_project, tmp_path):
    repo = cluster_project
    values = ",".join(str(i / 10) for i in range(1, 9))
    proc = run_expctl(
        repo,
        "sweep",
        "--on",
        "slurm",
        "--cluster",
        "array_parallelism=8",
        "-s",
        f"lr={values}",
        "-s",
        "sleep=1",
        check=True,
    )
    sweep_id = proc.stderr.split("sweep ")[1].split(":")[0]
    assert run_expctl(repo, "wait", sweep_id, timeout=120).returncode == 0
    final = records(repo)
    assert len(final) == 8 and all(r["status"] == "succeeded" and r["slurm"]["final"] for r in final)
    assert max_concurrency(spans(tmp_path / "spans.jsonl")) >= 4  # they did overlap
    assert git(repo, "fsck", "--no-dangling").returncode == 0
    assert len(git(repo, "for-each-ref", "refs/expctl/runs/").stdout.splitlines()) == 8
