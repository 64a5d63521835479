"""The pre-flight settings check: ``project.check`` in expctl.toml, run before any snapshot or record.

A program may declare a fast command that validates a run's settings without doing any work
(the bundled trainer: ``python3 -m trainers.text --check``, torch-free, a fraction of a
second). ``expctl run`` runs it with the environment the program would get
(``EXPCTL_SETTINGS`` pointing at the resolved settings, written to a temporary file;
``EXPCTL_PROJECT_ROOT``, ``EXPCTL_STAGE``, ``[env]``) and, for ``pass_settings = "args"``, the
same ``--key value`` arguments. A non-zero exit refuses the run: one line (the check's last
line on stderr), exit code 3, and no run folder, snapshot or record.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import Any

from expctl.config import Config
from expctl.errors import ConfigError
from expctl.fsutil import write_json

#: a check is meant to take a fraction of a second; this only stops a hung one
TIMEOUT_S = 120


def run_check(cfg: Config, settings: dict[str, Any], stage: str | None) -> None:
    """Run ``cfg.check``; ConfigError (one line) when it exits non-zero or cannot start."""
    if not cfg.check:
        return
    from dataclasses import replace

    from expctl.runner import build_argv

    argv = build_argv(replace(cfg, command=list(cfg.check)), settings, ())
    with tempfile.TemporaryDirectory(prefix="expctl-check-") as tmp:
        path = os.path.join(tmp, "settings.json")
        write_json(path, settings)
        env = {
            **os.environ,
            **cfg.env,
            "EXPCTL_SETTINGS": path,
            "EXPCTL_PROJECT_ROOT": str(cfg.root),
            "EXPCTL_STAGE": stage or "none",
            "EXPCTL_CHECK": "1",
        }
        try:
            proc = subprocess.run(argv, cwd=cfg.root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"settings check {shlex.join(argv)} could not run: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {proc.returncode}"
        why = why[len("error: ") :] if why.lower().startswith("error: ") else why
        raise ConfigError(f"settings refused by the check ({shlex.join(cfg.check)}): {why}; no run was recorded")
