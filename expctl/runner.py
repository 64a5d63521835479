"""Run execution: settings -> run folder -> code snapshot -> run.sh -> finalized record.

The record is written to git before the program starts (status ``running``) and again
when it ends (succeeded / failed / interrupted), on normal exit, failure, Ctrl-C, SIGTERM
and SIGHUP. If expctl itself is SIGKILLed, run.sh gets SIGTERM through the parent-death
signal, stops the program and writes ``exit_status.json``; the next listing sees the
dead expctl process and finalizes the record as interrupted, logs intact.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expctl.config import Config
from expctl.errors import ConfigError, ExitCode, ExpctlError, GitError, NotFoundError, RefusedError, UsageError
from expctl.finalize import finalize
from expctl.fingerprint import data_fingerprints
from expctl.fsutil import CRASH_ENV, atomic_write, crash_point, write_json
from expctl.record import Record
from expctl.records import Store, new_run_id, pid_start_time, process_identity
from expctl.settings import flatten, resolve

if TYPE_CHECKING:
    from expctl.project import Project


# ---------------------------------------------------------------------- the command
def build_argv(
    cfg: Config, settings: dict[str, Any], extra: Iterable[str], data_paths: dict[str, str] | None = None
) -> list[str]:
    """The program's argv: {key} placeholders filled, settings as args when asked;
    {data.NAME}: the file the program reads for input NAME (its stage subset, if any)."""
    flat = flatten(settings)
    argv = []
    for word in cfg.command:
        if "{data." in word:
            from expctl.stagedata import fill_placeholders

            paths = data_paths if data_paths is not None else {n: i.path for n, i in cfg.data_inputs.items()}
            word = fill_placeholders(word, paths)
        if "{" in word or "}" in word:
            word = _fill(word, flat)
        argv.append(word)
    if cfg.pass_settings == "args":
        from expctl.wrapping import to_args

        for key, value in flat.items():
            if isinstance(value, dict):
                continue
            argv += to_args(key, value)  # booleans as bare flags, lists as --key v1 v2 ...
    argv += list(extra)
    return argv


def _argstr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        import json

        return json.dumps(value)
    return "" if value is None else str(value)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_KEY = re.compile(r"[A-Za-z_][\w\-]*(\.[A-Za-z_][\w\-]*)*")


def _fill(word: str, flat: dict[str, Any]) -> str:
    """``{key}`` (a dotted key for a nested setting: ``{model.name}``) -> the setting's value;
    ``{{`` / ``}}`` -> a literal brace."""

    def value(m: re.Match) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        key = m.group(1).strip()
        if not _KEY.fullmatch(key):
            raise ConfigError(f"project.command: bad placeholder {token!r} in {word!r}")
        if key not in flat:
            raise ConfigError(f"project.command uses {{{key}}} but there is no setting {key!r}")
        return _argstr(flat[key])

    filled = _PLACEHOLDER.sub(value, word)
    rest = _PLACEHOLDER.sub("", word)
    if "{" in rest or "}" in rest:
        raise ConfigError(f"project.command: bad placeholder in {word!r}: an unmatched brace (write {{{{ or }}}})")
    return filled


# ------------------------------------------------------------------------ execution
def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to SIGTERM run.sh if expctl dies (Linux); run.sh then stops the program."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _log(msg: str) -> None:
    print(f"expctl: {msg}", file=sys.stderr, flush=True)


def full_ready(store: Store, stage_required: str, tree: str | None) -> bool:
    for record in store.all():
        if record.get("stage") == stage_required and Record(record).check.get("passed") and Record(record).tree == tree:
            return True
    return False


def execute(
    project: Project,
    *,
    stage: str | None,
    assignments: list[str],
    name: str | None = None,
    extra_args: Iterable[str] = (),
    force: bool = False,
    quiet: bool = False,
    extra_record: dict[str, Any] | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run the program once in ``project`` and return the finalized record."""
    from expctl.scaffold import launcher

    cfg, store = project.config, project.store

    run_sh = launcher(cfg.root)  # run.sh only when expctl wrote it (a project's own run.sh is never run)
    st = cfg.stage(stage) if stage else None
    settings = resolve(cfg.settings, st.settings if st else {}, assignments, cfg.free_form)
    argv = build_argv(cfg, settings, extra_args)
    if cfg.data_inputs:
        from expctl import stagedata

        stagedata.source_paths(cfg.data_inputs, cfg.root)  # missing input files: refused before any record
    check_argv(argv)
    if name is not None:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError("--name is not valid UTF-8; expctl records only text") from exc
    exe = argv[0]
    if "/" not in exe and not _which(exe, cfg.env.get("PATH")):
        raise NotFoundError(f"command not found: {exe} (project.command in expctl.toml)")
    from expctl.scaffold import stale_env

    stale = stale_env(cfg, run_sh)
    if stale:
        raise ConfigError(
            f"run.sh exports an old [env] ({', '.join(stale)} differ from expctl.toml); "
            f"write it anew: rm run.sh && expctl init"
        )
    if cfg.check:  # pre-flight: bad settings are refused before any snapshot or record
        from expctl import preflight

        preflight.run_check(cfg, settings, stage)

    repo = store.repo
    run_id = new_run_id()
    t0 = time.time()
    try:
        snap = repo.snapshot("", int(cfg.max_untracked_mb * 1024 * 1024), cfg.secret_files, cfg.allow_secret_files)
    except OSError as exc:
        raise _storage_error(f"could not snapshot the code for run {run_id}", exc) from exc
    crash_point("after-snapshot")
    for item in snap.excluded:
        _log(
            f"warning: untracked {item['path']} ({item['size'] / 1e6:.0f} MB) is larger than "
            f"snapshot.max_untracked_mb and is not in the code snapshot (its size is recorded)"
        )
    if snap.withheld and not quiet:
        _log(
            f"note: not in the code snapshot, as they look like secrets: {_names(snap.withheld)} "
            f"(snapshot.allow_secret_files in expctl.toml opts a file in)"
        )
    if st and st.requires and not force and not full_ready(store, st.requires, snap.tree):
        raise RefusedError(
            f"stage {st.name} needs a passing {st.requires} run of this exact code first "
            f"(`expctl run --stage {st.requires}`), or --force"
        )

    from expctl import envinfo

    run_dir = store.run_dir(run_id)
    settings_path = run_dir / "settings.json"
    metrics_path = run_dir / "metrics.jsonl"
    secrets = envinfo.secret_values(settings)
    masked_argv, argv_secrets = envinfo.mask_argv(argv, secrets)
    store.extra_secrets = sorted(set(argv_secrets) | set(envinfo.secret_values(settings, short=True)))
    try:
        run_dir.mkdir(parents=True)
        write_json(settings_path, settings)  # the program's input: values as given
        metrics_path.touch()
    except OSError as exc:
        raise _storage_error(f"could not create the run folder runs/{run_id}", exc) from exc
    staged = None
    if cfg.data_inputs:  # stage subsets for the program's own input files
        try:
            staged = stagedata.prepare(cfg.data_inputs, settings, cfg.root, run_dir, log=None if quiet else _log)
        except BaseException:
            stagedata.discard(run_dir)
            raise
        argv = build_argv(cfg, settings, extra_args, staged.paths)
        masked_argv = [envinfo.mask_text(a, secrets) for a in argv]

    code = snap.code()
    env = envinfo.capture({"commit": snap.head, "code_commit": snap.commit, "branch": snap.branch, "dirty": snap.dirty})
    try:
        write_json(run_dir / "env.json", env)
        atomic_write(run_dir / "command.sh", shlex.join(masked_argv) + "\n")  # secrets masked
    except OSError as exc:
        raise _storage_error(f"could not write the files of run {run_id}", exc) from exc

    record = Record.new(
        run_id,
        name=name,
        stage=stage,
        status="running",
        started=t0,  # started_unix orders runs started within the same second
        command=masked_argv,
        settings=envinfo.mask_mapping(settings, secrets),
        code=code,
        data={**data_fingerprints(cfg, settings), **(staged.fingerprints if staged else {})},
        env={
            "host": env["host"],
            "python": env["python"],
            "packages": env["packages"],
            "gpus": [g["name"] for g in env["gpus"]],
            "world_size": _world_size(argv),
        },
        primary_metric=cfg.primary_metric,
        direction=cfg.direction,
        process={
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start": pid_start_time(os.getpid()),
            **process_identity(repo),
        },
    ).raw
    if staged:
        record["data_inputs"] = staged.record
    if extra_record:
        record.update(extra_record)
    try:
        store.save(record, snap.commit)
    except OSError as exc:  # ENOSPC, EDQUOT, EROFS...: nothing was started, no record exists
        raise _storage_error(f"could not write the record of run {run_id}; the program was not started", exc) from exc
    crash_point("before-program")

    child_env = dict(os.environ)
    child_env.pop(CRASH_ENV, None)
    child_env.update(
        {
            "EXPCTL_RUN_ID": run_id,
            "EXPCTL_RUN_DIR": str(run_dir),
            "EXPCTL_SETTINGS": str(settings_path),
            "EXPCTL_METRICS": str(metrics_path),
            "EXPCTL_STAGE": stage or "none",
            "EXPCTL_PROJECT_ROOT": str(cfg.root),
        }
    )
    if staged:
        child_env.update(staged.env)
    child_env.update(cfg.env)  # [env] of expctl.toml as it is now (run.sh keeps its own for runs by hand)
    child_env["EXPCTL_ENV_KEYS"] = " ".join(cfg.env)
    if extra_env:
        child_env.update(extra_env)
    if not quiet:
        _log(f"run {run_id} started" + (f" at stage {stage}" if stage else "") + f": {shlex.join(masked_argv)}")
        _log(f"code {snap.commit[:12] if snap.commit else '-'}" + describe_snapshot(snap) + f", folder runs/{run_id}/")

    received: list[int] = []
    from expctl.live import Live  # status line on a terminal, periodic plain lines when piped

    tty = not quiet and sys.stdout.isatty() and sys.stderr.isatty()
    live = None if quiet else Live(run_id, metrics_path, t0, tty=tty)
    try:
        proc = subprocess.Popen(
            ["bash", str(run_sh), *argv],
            cwd=cfg.root,
            env=child_env,
            stdout=subprocess.PIPE if tty else None,
            start_new_session=True,
            preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
        )
    except OSError as exc:  # E2BIG (a huge setting in args mode), ENOMEM...: record the failure
        _log(f"error: could not start run.sh: {exc.strerror or exc}")
        record = _finalize_or_explain(cfg, store, record, returncode=127, signals=[], t0=t0)
        if not quiet:
            _log(summary_line(record))
        return record

    def forward(signum, _frame):
        received.append(signum)
        try:
            proc.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    if live is not None:
        live.start(proc.stdout.fileno() if proc.stdout is not None else None)
    try:
        while True:
            try:
                returncode = proc.wait()
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if live is not None:
            live.stop()
        if proc.stdout is not None:
            proc.stdout.close()
    crash_point("after-program")
    record = _finalize_or_explain(cfg, store, record, returncode=returncode, signals=received, t0=t0)
    if not quiet:
        _log(summary_line(record))
        hint = resume_hint(record, store.run_dir(record["id"]))
        if hint:
            _log(hint)
    return record


def check_argv(argv: list[str]) -> None:
    """Every word the program gets is passable: no NUL, valid UTF-8 (checked before any record exists)."""
    for word in argv:
        if "\0" in word:
            raise UsageError(f"the program's arguments cannot contain NUL characters: {word[:40]!r}")
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            shown = word.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(f"argument {shown[:60]!r} is not valid UTF-8; expctl records only text") from exc


def _names(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def describe_snapshot(snap) -> str:
    """What went into a snapshot, for the run line: the changed files, and the untracked
    ones captured with their total size."""
    if not snap.snapshot:
        return ""
    untracked = {u["path"] for u in snap.untracked}
    modified = [p for p in snap.changed if p not in untracked]
    parts = []
    if modified:
        parts.append(f"changed {_names(modified)}")
    if snap.untracked:
        total = sum(u["size"] for u in snap.untracked)
        parts.append(f"untracked {_names([u['path'] for u in snap.untracked])} ({_size(total)})")
    return " (snapshot of the dirty tree: " + "; ".join(parts) + ")"


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def resume_hint(record: dict[str, Any], run_dir: Path) -> str | None:
    """For a stopped run that left checkpoints: how to continue it."""
    if record.get("status") not in ("interrupted", "failed"):
        return None
    ckpt = run_dir / "checkpoints"
    try:
        saved = any(p.name.startswith("step-") for p in ckpt.iterdir())
    except OSError:
        return None
    return f"checkpoints were saved: continue with `expctl run --resume {record['id']}`" if saved else None


def _storage_error(what: str, exc: OSError) -> ExpctlError:
    reason = exc.strerror or str(exc)
    hint = "; free some space and try again" if exc.errno in (28, 122) else ""  # ENOSPC, EDQUOT
    return ExpctlError(f"{what}: {reason}{hint}", exit_code=ExitCode.GIT)


def _finalize_or_explain(cfg: Config, store: Store, record: dict[str, Any], **kw) -> dict[str, Any]:
    """finalize(), turning a storage failure into one clear error: the record stays
    'running' in git (never half-written) and the next listing finishes it."""
    what = (
        f"the program ended but the final record of run {record['id']} could not be written "
        f"(it stays 'running' in git; `expctl runs` completes it once the disk has room)"
    )
    try:
        return finalize(cfg, store, record, **kw)
    except OSError as exc:
        raise _storage_error(what, exc) from exc
    except GitError as exc:  # e.g. git could not write the ref's lock file
        raise GitError(f"{what}: {exc}") from exc


def _which(exe: str, path: str | None) -> bool:
    import shutil

    return shutil.which(exe, path=path or os.environ.get("PATH")) is not None


def _world_size(argv: list[str]) -> int:
    """Processes launched (from `accelerate launch --num_processes N` / torchrun)."""
    for flag in ("--num_processes", "--nproc_per_node", "--nproc-per-node", "--num-processes"):
        for i, word in enumerate(argv):
            if word == flag and i + 1 < len(argv) and argv[i + 1].isdigit():
                return int(argv[i + 1])
            if word.startswith(flag + "=") and word.split("=", 1)[1].isdigit():
                return int(word.split("=", 1)[1])
    return 1


def summary_line(record: dict[str, Any]) -> str:
    parts = [f"run {record['id']} {record['status']}"]
    if record.get("duration_s") is not None:
        parts[0] += f" in {record['duration_s']:.1f}s"
    pm = record.get("primary_metric")
    final = Record(record).final
    if pm and pm in final:
        parts.append(f"{pm}={final[pm]:.4g}")
    check = record.get("check")
    if check:
        parts.append(
            f"check {check['check']}: "
            + ("passed" if check["passed"] else "FAILED (" + "; ".join(check["reasons"]) + ")")
        )
    return " · ".join(parts)


def exit_code_for(record: dict[str, Any]) -> int:
    if record["status"] == "interrupted":
        return int(ExitCode.INTERRUPTED)
    if record["status"] == "failed":
        return int(ExitCode.RUN_FAILED)
    check = record.get("check")
    if check and not check["passed"]:
        return int(ExitCode.CHECK_FAILED)
    return 0


def parse_extra(args: Iterable[str]) -> list[str]:
    out = list(args)
    if out and out[0] == "--":
        out = out[1:]
    for a in out:
        if "\0" in a:
            raise UsageError("arguments cannot contain NUL characters")
    return out
