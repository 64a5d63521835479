"""`expctl reproduce RUN|TAG`: the run's exact code in a separate git worktree, the same
settings and stage, a new run linked to the original, and the metric deltas.

Git-ignored data is not in a worktree: every setting that names a file or folder of the
project is linked into the worktree, so the rerun reads the project's data as it is now —
and a data file whose fingerprint changed since the original is named as the likely
cause of a difference.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from expctl.errors import NotFoundError, RefusedError
from expctl.record import Record
from expctl.settings import flatten, to_assignments


def _link_data(main_root: Path, worktree: Path, settings: dict[str, Any], record: dict[str, Any]) -> list[str]:
    linked = []
    names = set(Record(record).data)
    for value in flatten(settings).values():
        if isinstance(value, str) and value and not os.path.isabs(value) and "\0" not in value:
            names.add(value)
    for name in sorted(names):
        src = main_root / name
        dst = worktree / name
        if not src.exists() or dst.exists() or os.path.isabs(name) or ".." in Path(name).parts:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(src, dst)
        linked.append(name)
    return linked


def reproduce(project, ref: str, tolerance: float = 1e-6, keep: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Rerun ``ref`` from its exact code in a separate worktree of ``project``; the metric deltas."""
    from expctl import config as config_mod
    from expctl import runner
    from expctl.gitlayer import Repo
    from expctl.project import Project
    from expctl.records import Store

    cfg, store = project.config, project.store
    original = project.resolve(ref)
    if original.get("status") == "running":
        raise RefusedError(f"run {original['id']} is still running")
    commit = Record(original).commit
    if not commit:
        raise NotFoundError(f"run {original['id']} has no recorded code")
    settings = store.given_settings(original)
    base = Path(tempfile.mkdtemp(prefix=f"expctl-reproduce-{original['id']}-"))
    worktree = base / "code"
    repo = store.repo
    repo.add_worktree(worktree, commit)
    try:
        wcfg = config_mod.load(worktree)
        linked = _link_data(cfg.root, worktree, settings, original)
        wrepo = Repo.open(worktree)
        # the worktree's code and configuration; records and run folder in the main project
        wproject = Project(wcfg, wrepo, store=Store(wrepo, root=cfg.root))
        meta = {"reproduces": original["id"]}
        record = runner.execute(
            wproject,
            stage=original.get("stage"),
            assignments=to_assignments(settings),
            name=f"reproduce {original['id']}",
            force=True,
            quiet=quiet,
            extra_record=meta,
            extra_args=_extra_args(original, wcfg),
        )
    finally:
        if not keep:
            repo.remove_worktree(worktree)
            shutil.rmtree(base, ignore_errors=True)
    return compare_runs(original, record, tolerance) | {
        "linked_data": linked,
        "worktree": str(worktree) if keep else None,
    }


def _extra_args(original: dict[str, Any], wcfg) -> list[str]:
    """Arguments given after `--` in the original run (the command minus what the config builds)."""
    from expctl.runner import build_argv

    command = original.get("command") or []
    try:
        subsets = {n: e.get("path") for n, e in Record(original).data_inputs.items() if isinstance(e, dict)}
        base = build_argv(wcfg, json.loads(json.dumps(Record(original).settings)), [], subsets or None)
    except Exception:  # noqa: BLE001
        return []
    return command[len(base) :] if command[: len(base)] == base else []


def compare_runs(original: dict[str, Any], new: dict[str, Any], tolerance: float) -> dict[str, Any]:
    fa = Record(original).final
    fb = Record(new).final
    metrics = {}
    ok = new.get("status") == original.get("status")
    for k in sorted(set(fa) | set(fb)):
        a, b = fa.get(k), fb.get(k)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isfinite(a) and math.isfinite(b):
            delta = b - a
            within = abs(delta) <= tolerance
        else:
            delta, within = None, a == b
        ok = ok and within
        metrics[k] = {"original": a, "reproduced": b, "delta": delta, "within_tolerance": within}
    da = {p: fp.get("fingerprint") for p, fp in Record(original).data.items()}
    db = {p: fp.get("fingerprint") for p, fp in Record(new).data.items()}
    changed = sorted(p for p in da if p in db and da[p] != db[p])
    missing = sorted(p for p in da if p not in db)
    return {
        "original": original["id"],
        "run": new["id"],
        "status": new.get("status"),
        "tolerance": tolerance,
        "reproduced": ok,
        "metrics": metrics,
        "data_changed": changed,
        "data_missing": missing,
    }
