"""The cluster tests run against a real one-node Slurm (.ci/slurm.sh), never a mock.

`slurm` (session fixture): a cluster that answers. If none does and this is root with
apt-get, .ci/slurm.sh installs and starts one (and stops it after the session). In CI
(CI=true) a missing cluster is a failure; elsewhere the tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, commit_project, run_expctl

SCRIPT = ROOT / ".ci" / "slurm.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _healthy() -> bool:
    return subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def slurm():
    started = False
    if not _healthy():
        can_start = os.geteuid() == 0 and (shutil.which("slurmctld") or shutil.which("apt-get"))
        if can_start:
            proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
            started = proc.returncode == 0
            why = proc.stderr.strip() or proc.stdout.strip()
        else:
            why = "no Slurm cluster answers and this is not root with apt-get (.ci/slurm.sh start)"
        if not _healthy():
            if IN_CI:
                pytest.fail(f"the cluster tests must run in CI: {why}")
            pytest.skip(f"no Slurm cluster: {why}")
    yield
    if started:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True)


# A few lines of Python: settings from $EXPCTL_SETTINGS, metrics to $EXPCTL_METRICS; it
# appends its start and end times to a file shared by the runs (to measure concurrency).
PROGRAM = """\
import json, os, sys, time
s = json.load(open(os.environ["EXPCTL_SETTINGS"]))
with open(s["spans"], "a") as f:
    f.write(json.dumps({"event": "start", "t": time.time(), "lr": s["lr"]}) + "\\n")
print(f"training lr={s['lr']} in {os.getcwd()}", flush=True)
time.sleep(s["sleep"])
with open(os.environ["EXPCTL_METRICS"], "a") as f:
    f.write(json.dumps({"step": 1, "eval_accuracy": MULTIPLIER * s["lr"]}) + "\\n")
with open(s["spans"], "a") as f:
    f.write(json.dumps({"event": "end", "t": time.time(), "lr": s["lr"]}) + "\\n")
if s["exit"]:
    print("error: the program gave up", file=sys.stderr, flush=True)
sys.exit(s["exit"])
"""

CONFIG = """\
[project]
command = "python train.py"
primary_metric = "eval_accuracy"

[settings]
lr = 0.1
sleep = 1
exit = 0
spans = "{spans}"
num_folds = 0
fold = 0

[stages.smoke]
check = "metrics"
[stages.full]
requires = "smoke"

[cluster]
array_parallelism = 2
time = "00:05:00"
"""


@pytest.fixture
def cluster_project(slurm, repo, tmp_path):
    spans = tmp_path / "spans.jsonl"
    commit_project(repo, PROGRAM.replace("MULTIPLIER", "10"), CONFIG.format(spans=spans))
    return repo


def spans(path: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def records(cwd) -> list[dict]:
    return json.loads(run_expctl(cwd, "runs", "--json", check=True).stdout)


def submitted(proc) -> list[tuple[str, str]]:
    """(run id, job id) lines that `--on slurm` prints on stdout."""
    return [tuple(line.split("\t")) for line in proc.stdout.splitlines() if "\t" in line]


def wait_for(predicate, timeout: float = 60, poll: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s")


@pytest.fixture(scope="module")
def timeout_run(slurm, tmp_path_factory):
    """A run over Slurm's smallest time limit (1 minute), submitted once per module so that
    its minute passes while the other tests run. Yields (repo, run id, job id)."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("home-timeout")
        (home / ".gitconfig").write_text(
            "[init]\n\tdefaultBranch = main\n[user]\n\tname = Test User\n\temail = test@example.com\n"
        )
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            mp.delenv(var, raising=False)
        repo = tmp_path_factory.mktemp("timeout") / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        commit_project(repo, PROGRAM.replace("MULTIPLIER", "10"), CONFIG.format(spans=repo.parent / "spans.jsonl"))
        proc = run_expctl(repo, "run", "--on", "slurm", "--cluster", "time=1", "-s", "sleep=300", check=True)
        ((run_id, job),) = submitted(proc)
        yield repo, run_id, job
