"""Slurm, through its own commands: the [cluster] settings, the sbatch script, and
``sbatch --parsable`` / ``scontrol release`` / ``squeue`` / ``sacct`` (``sacct -c``) / ``scancel``.

Why the commands and not a Python library (submitit): expctl's unit of work is a command at
a commit, not a pickled function. The script a job runs is a file a user can read, keep,
diff and submit again by hand (``sbatch runs/<id>/sbatch.sh``); the commands are the same
ones users type, on every Slurm version, and need no Python package on the login node.

Every argument goes to the Slurm commands as its own argv word (never through a shell);
values written into ``#SBATCH`` lines are checked against a conservative character set
(Slurm parses those lines itself), and every value in the script's shell part is quoted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import ConfigError, ExitCode, ExpctlError, NotFoundError, UsageError
from expctl.settings import did_you_mean

CLUSTER_KEYS = (
    "partition",
    "time",
    "gres",
    "cpus_per_task",
    "mem",
    "nodes",
    "ntasks_per_node",
    "array_parallelism",
    "sbatch",
    "setup",
    "python",
)
# Slurm job states: still in the queue, and how a run ends when Slurm ended its job.
QUEUED_STATES = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"}
RUNNING_STATES = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
# Slurm's verdict -> the run's status: the cluster stopped it (interrupted: rerun or resume
# as it is) or the run as configured cannot finish (failed: give it more time or memory).
VERDICT_STATUS = {
    "CANCELLED": "interrupted",
    "PREEMPTED": "interrupted",
    "NODE_FAIL": "interrupted",
    "BOOT_FAIL": "interrupted",
    "DEADLINE": "interrupted",
    "REVOKED": "interrupted",
    "TIMEOUT": "failed",
    "OUT_OF_MEMORY": "failed",
    "FAILED": "failed",
}
_SAFE = re.compile(r"^[A-Za-z0-9_.:,=/+@%-]+$")
_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$")
_MEM = re.compile(r"^\d+[KMGT]?$")


@dataclass
class ClusterSettings:
    """The [cluster] table (docs/cluster.md), after `--cluster key=value` overrides."""

    partition: str | None = None
    time: str | None = None  # Slurm's format: MM, HH:MM:SS, D-HH:MM...
    gres: str | None = None  # e.g. gpu:1
    cpus_per_task: int | None = None
    mem: str | None = None  # e.g. 16G
    nodes: int = 1
    ntasks_per_node: int = 1
    array_parallelism: int | None = None  # at most N array tasks at once (%N)
    sbatch: list[str] = field(default_factory=list)  # extra options, e.g. ["--account=nlp"]
    setup: list[str] = field(default_factory=list)  # shell lines run before the job (module load ...)
    python: str | None = None  # the interpreter jobs use (default: the one that submitted)

    @property
    def tasks(self) -> int:
        return self.nodes * self.ntasks_per_node

    def options(self) -> list[str]:
        """The #SBATCH options (each already checked to need no quoting)."""
        out = []
        for key, flag in (
            ("partition", "--partition"),
            ("time", "--time"),
            ("gres", "--gres"),
            ("cpus_per_task", "--cpus-per-task"),
            ("mem", "--mem"),
        ):
            value = getattr(self, key)
            if value is not None:
                out.append(f"{flag}={value}")
        out.append(f"--nodes={self.nodes}")
        if self.ntasks_per_node != 1 or self.nodes != 1:
            out.append(f"--ntasks-per-node={self.ntasks_per_node}")
        out += self.sbatch
        return out


def _check_safe(value: str, where: str) -> str:
    if not _SAFE.match(value):
        raise ConfigError(f"{where} = {value!r}: only letters, digits and _ . : , = / + @ % - are allowed")
    return value


def parse_cluster(table: Mapping[str, Any], where: str = "[cluster]") -> ClusterSettings:
    """Validate a [cluster] table: unknown keys rejected with a did-you-mean, values checked."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"expctl.toml: {where} must be a table")
    cs = ClusterSettings()
    for key, value in table.items():
        if key not in CLUSTER_KEYS:
            raise ConfigError(f"expctl.toml: unknown key {key!r} in {where}{did_you_mean(key, CLUSTER_KEYS)}")
        _set(cs, key, value, f"{where} {key}")
    return cs


def _set(cs: ClusterSettings, key: str, value: Any, where: str) -> None:
    if key in ("cpus_per_task", "nodes", "ntasks_per_node", "array_parallelism"):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where} must be a positive integer, not {value!r}")
    elif key in ("sbatch", "setup"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        if key == "sbatch":
            for opt in value:
                if not opt.startswith("-"):
                    raise ConfigError(f'{where}: {opt!r} is not an sbatch option (e.g. "--account=nlp")')
                _check_safe(opt, where)
        elif any("\n" in line for line in value):
            raise ConfigError(f"{where}: one shell line per list item")
    else:
        if isinstance(value, int) and not isinstance(value, bool) and key in ("time", "mem"):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a non-empty string")
        if key == "python":
            if "\n" in value or "\0" in value:
                raise ConfigError(f"{where} must be one path")
        else:
            _check_safe(value, where)
        if key == "time" and not _TIME.match(value):
            raise ConfigError(f"{where} = {value!r} is not a Slurm time (MM, HH:MM:SS or D-HH:MM:SS)")
        if key == "mem" and not _MEM.match(value):
            raise ConfigError(f"{where} = {value!r} is not a Slurm memory size (e.g. 16G, 4000M)")
    setattr(cs, key, value)


def with_overrides(base: ClusterSettings, overrides: list[str]) -> ClusterSettings:
    """`--cluster key=value` (repeatable) on top of the [cluster] table."""
    import copy

    cs = copy.deepcopy(base)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--cluster {item!r}: expected KEY=VALUE, e.g. --cluster time=00:10:00")
        if key not in CLUSTER_KEYS:
            raise UsageError(
                f"--cluster: unknown key {key!r}{did_you_mean(key, CLUSTER_KEYS)}; keys: {', '.join(CLUSTER_KEYS)}"
            )
        value: Any = raw
        if key in ("sbatch", "setup"):
            value = list(getattr(cs, key)) + [raw]
        try:
            _set(cs, key, value, f"--cluster {key}")
        except ConfigError as exc:
            raise UsageError(str(exc).removeprefix("expctl.toml: ")) from exc
    return cs


# ------------------------------------------------------------------- the script
def template_source() -> str:
    """templates/sbatch.sh.j2: from the installed package, or from a source checkout."""
    from expctl.scaffold import template_source as source

    return source("sbatch.sh.j2")


def launch_argv(argv: list[str]) -> list[str]:
    """The program's argv as accelerate launch's script part: `python -m x` -> `-m x`."""
    if argv and os.path.basename(argv[0]).startswith("python"):
        return argv[1:]
    return argv


def render_script(**context: Any) -> str:
    """The job script (templates/sbatch.sh.j2) for ``context``."""
    from expctl.scaffold import render_template

    return render_template("sbatch.sh.j2", **context)


def safe_for_directive(text: str) -> bool:
    return bool(_SAFE.match(text))


# ------------------------------------------------------------------- commands
def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise NotFoundError(
            f"{name} not found: --on slurm needs the Slurm client commands (run expctl on a login node of the cluster)"
        )
    return exe


def _run(argv: list[str], what: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ExpctlError(f"{what}: {argv[0]} did not answer within {timeout:.0f}s", exit_code=ExitCode.GIT) from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise ExpctlError(
            f"{what}: {os.path.basename(argv[0])} failed: {err[-1] if err else proc.returncode}",
            exit_code=ExitCode.USAGE,
        )
    return proc


def sbatch(script: Path, options: list[str], cwd: Path) -> str:
    """Submit ``script``; returns the job id (``sbatch --parsable``)."""
    proc = _run([_tool("sbatch"), "--parsable", *options, str(script)], "could not submit to Slurm")
    job = proc.stdout.strip().split(";")[0]
    if not job.isdigit():
        raise ExpctlError(f"sbatch printed no job id: {proc.stdout.strip()!r}")
    return job


def release(job: str) -> None:
    _run([_tool("scontrol"), "release", job], f"could not release job {job}")


def scancel(jobs: list[str]) -> None:
    if jobs:
        _run([_tool("scancel"), *jobs], "could not cancel")


def queue() -> dict[str, tuple[str, str]] | None:
    """Jobs in Slurm's queue: {job id (array tasks as 12_3): (state, reason)}; None where
    there is no Slurm to ask (a laptop that pulled the records)."""
    exe = shutil.which("squeue")
    if exe is None:
        return None
    proc = _run([exe, "-h", "-r", "-o", "%i|%T|%r"], "squeue", check=False)
    if proc.returncode != 0:
        raise ExpctlError("squeue failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1])
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            out[parts[0]] = (parts[1], parts[2])
    return out


def ended(raw_ids: set[str]) -> dict[str, tuple[str, str]]:
    """Slurm's verdict on ended jobs {raw job id: (state, exit code)}: from accounting
    (``sacct``), else from the job-completion log (``sacct -c``, jobcomp/filetxt)."""
    exe = shutil.which("sacct")
    if exe is None or not raw_ids:
        return {}
    out: dict[str, tuple[str, str]] = {}
    accounting = [exe, "-n", "-P", "-X", "-o", "JobID,State,ExitCode", "-j", ",".join(sorted(raw_ids))]
    completion_log = [exe, "-c", "-n", "-P", "-o", "JobID,State,ExitCode"]  # no -j: 22.05 filters it poorly
    for argv in (accounting, completion_log):
        proc = _run(argv, "sacct", check=False)
        if proc.returncode != 0:  # "accounting storage is disabled": try the completion log
            continue
        for line in proc.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 3 and parts[0] in raw_ids:
                out[parts[0]] = (parts[1].split()[0], parts[2])
        if out:
            break
    return out


def gpus_per_node(gres: str | None) -> int:
    """GPUs a task asks for in ``gres`` (gpu:4, gpu:a100:2), else 1: processes per task."""
    for item in (gres or "").split(","):
        parts = item.split(":")
        if parts[0] == "gpu" and len(parts) > 1 and parts[-1].isdigit():
            return max(1, int(parts[-1]))
    return 1


def python_for_jobs(cs: ClusterSettings) -> str:
    return cs.python or sys.executable
