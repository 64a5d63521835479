"""`expctl run --resume RUN`: continue an interrupted or failed run as a new, linked run.

A run's folder and record are never reopened (records are append-only history). The new
run takes the old run's stage, settings (its ``settings.json``: what the program was given)
and arguments after ``--``; ``-s`` on the command line still overrides them. The program is
told where to continue from in two ways:

- the setting ``resume = <RUN id>`` when the project declares a ``resume`` setting (the
  bundled trainer does: it resolves the id with ``expctl show`` and loads that run's newest
  complete state checkpoint);
- the environment variable ``EXPCTL_RESUME_DIR`` = the old run's folder, for any program.

The new record carries ``resumes: <RUN id>``, so ``expctl show`` links the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from expctl.errors import NotFoundError, RefusedError
from expctl.settings import is_free_form, to_assignments

RESUME_KEY = "resume"


@dataclass
class Plan:
    original: dict[str, Any]
    stage: str | None
    assignments: list[str]
    extra_args: list[str]
    extra_record: dict[str, Any]
    extra_env: dict[str, str]
    notes: list[str] = field(default_factory=list)


def plan(project, ref: str, stage: str | None, assignments: list[str], extra_args: list[str]) -> Plan:
    """How to run the continuation of ``ref``; user ``assignments`` / ``stage`` / args win."""
    from expctl.reproduce import _extra_args

    cfg, store = project.config, project.store
    original = project.resolve(ref)
    if original.get("status") == "running":
        raise RefusedError(f"run {original['id']} is still running; resume it once it has stopped")
    settings = store.given_settings(original)
    settings.pop(RESUME_KEY, None)
    run_dir = store.run_dir(original["id"])
    notes = []
    if not run_dir.is_dir():
        raise NotFoundError(
            f"run {original['id']}: its folder {run_dir} is not on this machine (checkpoints live there)"
        )
    has_key = RESUME_KEY in cfg.settings or is_free_form(RESUME_KEY, cfg.free_form)
    own = [RESUME_KEY + "=" + original["id"]] if has_key else []
    if not has_key:
        notes.append(
            f"this project has no `{RESUME_KEY}` setting: the program is told only through EXPCTL_RESUME_DIR={run_dir}"
        )
    return Plan(
        original=original,
        stage=stage or original.get("stage"),
        assignments=to_assignments(settings) + own + list(assignments),
        extra_args=list(extra_args) or _extra_args(original, cfg),
        extra_record={"resumes": original["id"]},
        extra_env={"EXPCTL_RESUME_DIR": str(run_dir)},
        notes=notes,
    )
