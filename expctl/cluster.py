"""Runs on a Slurm cluster: submit (non-blocking), the job's own steps, and Slurm's verdicts.

Submit (`expctl run|sweep|kfold --on slurm`): the code is snapshotted once, at submit time;
every run gets its folder (settings, command) and a ``queued`` record in git carrying its
job id; one sbatch script (one job, or one job array with ``%array_parallelism``) is
rendered from templates/sbatch.sh.j2 into each run folder, submitted held, and released
once every record exists (so a fast job can never race its own record).

In the job (``python -m expctl.cluster job-start|job-finish REPO RUN``, called by the
script): the record turns ``running`` and the snapshot commit is exported into
``runs/<id>/code``; after run.sh, the final record is computed exactly as for a local run
(expctl.finalize) and stored with the same compare-and-swap ref update, so hundreds of jobs
finishing at once never contend (one ref per run).

Listings (records.Store.all) call :func:`expctl.finalize.refresh`: a record that is still queued/running
shows Slurm's live state (``squeue``); one whose job has left the queue without a final
record, or was stopped by a signal, gets Slurm's verdict (``sacct``, or ``sacct -c`` when
accounting is off): TIMEOUT and OUT_OF_MEMORY -> failed; CANCELLED, PREEMPTED, NODE_FAIL ->
interrupted; the reason is kept in ``slurm.reason``. No watcher process is involved.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import ExpctlError, GitError, NotFoundError, RefusedError, UsageError
from expctl.fsutil import atomic_write, iso, write_json
from expctl.record import Record
from expctl.records import Store, new_run_id
from expctl.refs import resolve_run

# Slurm verdicts worth showing beside the status (a plain FAILED says nothing more)
VERDICT_SHOWN = {"CANCELLED", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "TIMEOUT", "OUT_OF_MEMORY"}


@dataclass
class RunSpec:
    """One run to submit: what `expctl run` would be given."""

    stage: str | None
    assignments: list[str]
    name: str | None = None
    extra_args: list[str] = field(default_factory=list)
    extra_record: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. EXPCTL_RESUME_DIR of --resume


# ------------------------------------------------------------------------ submit
def submit(
    cfg,
    store: Store,
    specs: list[RunSpec],
    overrides: list[str],
    *,
    force: bool = False,
    what: str = "a run",
    verb: str = "run",
) -> list[dict[str, Any]]:
    """Submit runs as one Slurm job (one run) or one job array; returns the queued records."""
    from expctl import envinfo, runner, slurm
    from expctl.fingerprint import data_fingerprints
    from expctl.settings import resolve

    if not specs:
        raise UsageError("nothing to submit")
    cs = slurm.with_overrides(cfg.cluster, overrides)
    from expctl.scaffold import launcher

    run_sh = launcher(cfg.root)  # run.sh, or expctl-run.sh beside a run.sh of the user's own
    for tool in ("sbatch", "scontrol"):
        slurm._tool(tool)
    # everything that can be refused is checked before the snapshot and any record
    prepared = []
    for spec in specs:
        st = cfg.stage(spec.stage) if spec.stage else None
        settings = resolve(cfg.settings, st.settings if st else {}, spec.assignments, cfg.free_form)
        argv = runner.build_argv(cfg, settings, spec.extra_args)
        prepared.append((spec, st, settings, argv))
    repo = store.repo
    t0 = time.time()
    snap = repo.snapshot(
        f"expctl snapshot for a Slurm submission at {iso(t0)}\n", int(cfg.max_untracked_mb * 1024 * 1024)
    )
    for _spec, st, _, _ in prepared:
        if st and st.requires and not force and not runner.full_ready(store, st.requires, snap.tree):
            raise RefusedError(
                f"stage {st.name} needs a passing {st.requires} run of this exact code first "
                f"(`expctl run --stage {st.requires}`, here or --on slurm), or --force"
            )
    if not snap.commit:
        raise ExpctlError("the repository has no commit to run; commit the project first")
    code = snap.code()
    python = slurm.python_for_jobs(cs)
    runs, records = [], []
    for spec, _st, settings, argv in prepared:
        run_id = new_run_id()
        run_dir = store.run_dir(run_id)
        run_dir.mkdir(parents=True)
        write_json(run_dir / "settings.json", settings)
        (run_dir / "metrics.jsonl").touch()
        secrets = envinfo.secret_values(settings)
        masked = [envinfo.mask_text(a, secrets) for a in argv]
        atomic_write(run_dir / "command.sh", " ".join(_q(a) for a in masked) + "\n")
        env: dict[str, str] = dict(spec.extra_env)
        if cfg.data_inputs:
            from expctl import stagedata

            staged = stagedata.prepare(cfg.data_inputs, settings, cfg.root, run_dir, log=None)
            argv = runner.build_argv(cfg, settings, spec.extra_args, staged.paths)
            env.update(staged.env)
        job_argv = slurm.launch_argv(argv) if cs.tasks > 1 else argv
        runs.append({"id": run_id, "argv": job_argv, "env": env, "secrets": secrets})
        records.append(
            Record.new(
                run_id,
                name=spec.name,
                stage=spec.stage,
                status="queued",
                started=t0,
                submitted=True,
                command=masked,
                settings=envinfo.mask_mapping(settings),
                code=code,
                data=data_fingerprints(cfg, settings),
                env={"host": None, "python": None, "packages": {}, "gpus": [], "world_size": cs.tasks},
                primary_metric=cfg.primary_metric,
                direction=cfg.direction,
                **spec.extra_record,
            ).raw
        )
    first = store.run_dir(runs[0]["id"])
    script_path = first / "sbatch.sh"
    array = len(runs) > 1
    out_dir = store.root / "runs" / ".slurm"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = str(out_dir / ("%A_%a.out" if array else "%j.out"))
    directives = [f"--job-name=expctl-{cfg.name}" if slurm.safe_for_directive(cfg.name) else "--job-name=expctl"]
    if slurm.safe_for_directive(output):
        directives.append(f"--output={output}")
    directives += cs.options()
    if array:
        directives.append(f"--array=0-{len(runs) - 1}" + (f"%{cs.array_parallelism}" if cs.array_parallelism else ""))
    context = dict(
        what=what,
        verb=verb,
        project=cfg.name,
        version=_version(),
        script=str(script_path),
        commit=snap.commit,
        directives=directives,
        root=str(store.root),
        python=python,
        launcher=run_sh.name,
        stage=prepared[0][0].stage or "none",
        runs=runs,
        setup=cs.setup,
        tasks=cs.tasks,
        nodes=cs.nodes,
        ntasks_per_node=cs.ntasks_per_node,
        procs_per_task=slurm.gpus_per_node(cs.gres),
    )
    text = slurm.render_script(**context)
    atomic_write(script_path, text, mode=0o700)
    for r in runs[1:]:  # the same script in every run folder of the array: hard links
        path = store.run_dir(r["id"]) / "sbatch.sh"
        try:
            os.link(script_path, path)
        except OSError:
            atomic_write(path, text, mode=0o700)
    cmdline = [] if slurm.safe_for_directive(output) else [f"--output={output}"]
    job = slurm.sbatch(script_path, ["--hold", f"--chdir={store.root}", *cmdline], store.root)
    try:
        for i, record in enumerate(records):
            record["slurm"] = {
                "job_id": f"{job}_{i}" if array else job,
                "array_job": job if array else None,
                "task": i if array else None,
                "script": f"runs/{runs[i]['id']}/sbatch.sh",
                "output": output.replace("%A", job).replace("%a", str(i)).replace("%j", job),
                "options": directives,
                "state": "PENDING",
                "reason": None,
                "final": False,
            }
        # one ref transaction; the script goes with them, masked; the folders' record.json
        # mirrors are written when each job starts
        store.save_many([(r, snap.commit) for r in records], mirror=False)
    except BaseException:
        slurm.scancel([job])
        raise
    slurm.release(job)
    return records


def _q(word: str) -> str:
    import shlex

    return shlex.quote(word)


def _version() -> str:
    from expctl import __version__

    return __version__


# ------------------------------------------------------------------ in the job
def job_start(root: Path, run_id: str) -> None:
    """In the job, before the program: the record turns running; the code is exported."""
    store = _store(root)
    record = _own(store, run_id)
    run_dir = store.run_dir(run_id)
    now = time.time()
    slurm_info = dict(Record(record).slurm)
    slurm_info.update(
        {"raw_job_id": os.environ.get("SLURM_JOB_ID"), "node": socket.gethostname(), "state": "RUNNING", "reason": None}
    )
    write_json(
        run_dir / "slurm_status.json",
        {"state": "started", "job": os.environ.get("SLURM_JOB_ID"), "host": socket.gethostname(), "started": iso(now)},
    )
    record.update({"status": "running", "started": iso(now), "started_unix": round(now, 6), "slurm": slurm_info})
    from expctl import envinfo

    env = envinfo.capture(
        {
            "commit": record["code"].get("head"),
            "code_commit": record["code"]["commit"],
            "branch": record["code"].get("branch"),
            "dirty": record["code"].get("dirty"),
        }
    )
    write_json(run_dir / "env.json", env)
    record["env"] = {
        **record.get("env", {}),
        "host": env["host"],
        "python": env["python"],
        "packages": env["packages"],
        "gpus": [g["name"] for g in env["gpus"]],
    }
    store.save(record, record["code"]["commit"])
    export_code(store, record, run_dir / "code")


def export_code(store: Store, record: dict[str, Any], dest: Path) -> None:
    """The run's exact commit as files in ``dest`` (git archive | tar: no shared index, no
    worktree bookkeeping, safe with many jobs at once); git-ignored data the settings name
    is linked in, as `expctl reproduce` does."""
    import shutil

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = store.repo.archive_tar(record["code"]["commit"])
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], input=archive) if archive is not None else None
    if untar is None or untar.returncode != 0:
        raise GitError(f"could not export commit {record['code']['commit'][:12]} into {dest}")
    from expctl.reproduce import _link_data

    _link_data(store.root, dest, store.given_settings(record), record)
    from expctl.scaffold import is_launcher, launcher

    run_sh = launcher(store.root)
    if not (dest / run_sh.name).is_file() or not is_launcher(dest / run_sh.name):
        shutil.copy2(run_sh, dest / run_sh.name)


def job_finish(root: Path, run_id: str, returncode: int, signal_name: str) -> None:
    """In the job, after run.sh: the final record (as for a local run) plus Slurm's part."""
    from expctl import config as config_mod
    from expctl.finalize import FINAL, finalize

    store = _store(root)
    record = _own(store, run_id)
    run_dir = store.run_dir(run_id)
    code_dir = run_dir / "code"
    try:
        cfg = config_mod.load(code_dir) if (code_dir / "expctl.toml").is_file() else config_mod.load(store.root)
    except ExpctlError:
        cfg = None
    signals = [15] if signal_name else []
    for _attempt in range(3):
        try:
            final = finalize(cfg, store, record, returncode=returncode, signals=signals)
            break
        except GitError:  # the ref moved under us (a listing settled it): read it again
            store.invalidate()
            record = _own(store, run_id)
            if record.get("status") in FINAL:
                final = record
                break
    else:
        raise GitError(f"could not write the final record of run {run_id}")
    if (
        final.get("status") in ("succeeded", "failed")
        and not signal_name
        and final.get("slurm", {}).get("final") is not True
    ):
        info = dict(final.get("slurm") or {})
        info.update(
            {
                "state": "COMPLETED" if final["status"] == "succeeded" else "FAILED",
                "reason": None if final["status"] == "succeeded" else f"NonZeroExitCode ({final.get('exit_code')})",
                "final": True,
            }
        )
        final = {**final, "slurm": info}
        final.pop("_commit", None)
        store.save(final, final["code"]["commit"])
    import shutil

    shutil.rmtree(code_dir, ignore_errors=True)  # the code stays in git: refs/expctl/runs/<id>^


def _store(root: Path) -> Store:
    from expctl.gitlayer import Repo

    return Store(Repo.open(root), root)


def _own(store: Store, run_id: str) -> dict[str, Any]:
    ref = store.ref_ids().get(run_id)
    blob = store.repo.cat_blob(f"{ref}:record.json") if ref else None
    if blob is None:
        raise NotFoundError(f"no record of run {run_id} in {store.root}")
    return json.loads(blob)


# --------------------------------------------------------------- listings
def status_text(record: dict[str, Any]) -> str:
    """`queued [job 12_3]` for listings: the status with the Slurm job id."""
    status = record.get("status") or ""
    info = record.get("slurm")
    if isinstance(info, dict) and info.get("job_id"):
        extra = info["job_id"]
        if status != "succeeded" and info.get("state") in VERDICT_SHOWN:
            extra += f" {info['state']}"
        return f"{status} [job {extra}]"
    return status


# ------------------------------------------------------------ cancel, wait
def select(store: Store, ref: str) -> tuple[str, list[dict[str, Any]]]:
    """The runs of RUN or SWEEP (a sweep id, a kfold group id, or a run reference)."""
    records = store.all()
    from expctl.rungroups import runs_of

    group = runs_of(records, ref)
    if group:
        return ref, group
    if ref == "last":
        slurm_runs = [r for r in records if r.get("slurm")]
        if not slurm_runs:
            raise NotFoundError("no runs submitted to Slurm yet")
        job = slurm_runs[0]["slurm"].get("array_job") or slurm_runs[0]["slurm"].get("job_id")
        return job, [r for r in slurm_runs if (r["slurm"].get("array_job") or r["slurm"].get("job_id")) == job]
    record = resolve_run(store, ref)
    return record["id"], [record]


def cancel(store: Store, ref: str) -> list[dict[str, Any]]:
    from expctl import slurm

    _, runs = select(store, ref)
    live = [r for r in runs if r.get("slurm") and r.get("status") in ("queued", "running")]
    if not live:
        raise UsageError(f"{ref}: nothing queued or running on Slurm")
    slurm.scancel([r["slurm"]["job_id"] for r in live])
    return live


def wait(store: Store, ref: str, timeout: float | None = None, poll: float = 1.0) -> list[dict[str, Any]]:
    """Block until every run of RUN|SWEEP has its final record (Slurm's verdict included)."""
    from expctl.finalize import pending

    deadline = None if timeout is None else time.time() + timeout
    while True:
        store.invalidate()
        _, runs = select(store, ref)
        if not any(pending(r) or r.get("status") in ("queued", "running") for r in runs):
            return runs
        if deadline is not None and time.time() > deadline:
            raise ExpctlError(f"{ref}: still {sum(1 for r in runs if pending(r))} run(s) on Slurm after {timeout:.0f}s")
        time.sleep(poll)


def main(argv: list[str]) -> int:
    """The job's steps: python -m expctl.cluster job-start|job-finish REPO RUN [RC SIGNAL]."""
    if len(argv) >= 3 and argv[0] == "job-start":
        job_start(Path(argv[1]), argv[2])
        return 0
    if len(argv) >= 4 and argv[0] == "job-finish":
        job_finish(Path(argv[1]), argv[2], int(argv[3]), argv[4] if len(argv) > 4 else "")
        return 0
    print("usage: python -m expctl.cluster job-start REPO RUN | job-finish REPO RUN RC [SIGNAL]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ExpctlError as exc:
        print(f"expctl: error: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
