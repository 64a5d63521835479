"""``expctl init``: expctl.toml, run.sh rendered from the template, .gitignore entries."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl import __version__
from expctl import config as config_mod
from expctl.errors import NotFoundError, UsageError
from expctl.fsutil import atomic_write
from expctl.gitlayer import find_toplevel, init_repo, tracked_matching

GITIGNORE_BLOCK = """\
# expctl: run folders, checkpoints and data stay out of git (their fingerprints are recorded)
/runs/
checkpoints/
*.ckpt
*.pt
*.pth
*.safetensors
/data/
"""
GITIGNORE_ENTRIES = [line for line in GITIGNORE_BLOCK.splitlines() if line and not line.startswith("#")]


def template_source() -> str:
    """templates/run.sh.j2: from the installed package, or from a source checkout."""
    from importlib import resources

    try:
        return (resources.files("expctl") / "templates" / "run.sh.j2").read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, OSError):
        pass
    checkout = Path(__file__).resolve().parent.parent / "templates" / "run.sh.j2"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    raise NotFoundError("the run.sh template is missing from this installation (templates/run.sh.j2)")


def render_run_sh(cfg: config_mod.Config) -> str:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["shquote"] = lambda v: shlex.quote(str(v))
    template = env.from_string(template_source())
    return template.render(project=cfg.name, version=__version__, command=cfg.command, env=cfg.env)


def builtin_config(name: str, task: str | None = None) -> str:
    from trainers import settings as trainer_settings  # pure Python: no torch at import

    defaults = dict(trainer_settings.DEFAULTS)
    if task:
        if task not in trainer_settings.PRIMARY_METRICS:
            raise UsageError(f"unknown task {task!r}; one of {', '.join(trainer_settings.PRIMARY_METRICS)}")
        defaults["task"] = task
    metric = trainer_settings.PRIMARY_METRICS.get(defaults["task"], trainer_settings.PRIMARY_METRIC)
    stages: dict[str, dict[str, Any]] = {}
    for stage, overrides in trainer_settings.STAGES.items():
        base = dict(config_mod.GENERIC_STAGES.get(stage, {"check": "metrics"}))
        base["settings"] = dict(overrides)
        if stage == "smoke":
            base["expect_metrics"] = [metric]
            base["expect_files"] = ["checkpoints/*"]
        if stage == "converge":
            base["converge_ratio"] = 0.05
        stages[stage] = base
    return config_mod.render_config(
        name, "python3 -m trainers.text", defaults, stages, metric,
        direction="max", pass_settings="file", free_form=["tricks.*"], check="python3 -m trainers.text --check",
        env={"OMP_NUM_THREADS": str(os.cpu_count() or 1)},
        header="Uses expctl's bundled trainer (docs/trainer.md). Multi-GPU: command = \"accelerate launch -m trainers.text\".",
    )


def generic_config(name: str, command: str) -> str:
    settings = {"name": "", "lr": 0.001, "epochs": 3, "batch_size": 32, "seed": 42, "max_train_samples": 0,
                "max_eval_samples": 0}
    return config_mod.render_config(
        name, command, settings, config_mod.GENERIC_STAGES, "eval_accuracy", direction="max",
        regex={}, header="Edit command, settings and primary_metric for your program.",
    )


@dataclass
class InitResult:
    root: Path
    created_repo: bool = False
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    gitignore_added: list[str] = field(default_factory=list)
    #: proposed entries left out because they match tracked files: entry -> those files
    gitignore_skipped: dict[str, list[str]] = field(default_factory=dict)


def init(path: str | os.PathLike = ".", *, trainer: str | None = None, command: str | None = None,
         name: str | None = None, force: bool = False, task: str | None = None) -> InitResult:
    if trainer not in (None, "builtin"):
        raise UsageError(f"unknown trainer {trainer!r}; the bundled one is 'builtin'")
    if task and trainer != "builtin":
        raise UsageError("--task goes with --trainer builtin (your own program defines its own settings)")
    start = Path(path).resolve()
    if not start.is_dir():
        raise NotFoundError(f"no such folder: {start}")
    top = find_toplevel(start)
    result = InitResult(root=top or start)
    if top is None:
        init_repo(start)
        result.created_repo = True
    root = result.root
    name = name or root.name

    cfg_path = root / config_mod.CONFIG_NAME
    if trainer == "builtin":
        wanted = builtin_config(name, task)
    else:
        wanted = generic_config(name, command or "python3 train.py")
    explicit = trainer is not None or command is not None
    if cfg_path.exists() and not force:
        current = cfg_path.read_text(encoding="utf-8")
        if current == wanted:
            result.unchanged.append(config_mod.CONFIG_NAME)
        elif explicit:
            result.refused.append(config_mod.CONFIG_NAME)
        else:
            result.unchanged.append(config_mod.CONFIG_NAME)  # keep the user's own config as it is
    else:
        atomic_write(cfg_path, wanted)
        result.written.append(config_mod.CONFIG_NAME)

    cfg = config_mod.load(root)
    run_sh = root / "run.sh"
    rendered = render_run_sh(cfg)
    if run_sh.exists() and not force:
        if run_sh.read_text(encoding="utf-8", errors="replace") == rendered:
            result.unchanged.append("run.sh")
        else:
            result.refused.append("run.sh")
    else:
        atomic_write(run_sh, rendered, mode=0o755)
        result.written.append("run.sh")

    gi = root / ".gitignore"
    existing = gi.read_text(encoding="utf-8") if gi.exists() else ""
    have = {line.strip() for line in existing.splitlines()}
    missing = [e for e in GITIGNORE_ENTRIES if e not in have]
    for entry in list(missing):  # never ignore a path that holds committed files (a corpus kept in data/)
        tracked = tracked_matching(root, entry)
        if tracked:
            result.gitignore_skipped[entry] = tracked
            missing.remove(entry)
    if missing:
        block = GITIGNORE_BLOCK if len(missing) == len(GITIGNORE_ENTRIES) else \
            "# expctl\n" + "\n".join(missing) + "\n"
        sep = "" if not existing or existing.endswith("\n") else "\n"
        atomic_write(gi, existing + sep + ("\n" if existing else "") + block)
        result.gitignore_added = missing
        result.written.append(".gitignore")
    else:
        result.unchanged.append(".gitignore")
    return result
