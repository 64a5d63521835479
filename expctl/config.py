"""expctl.toml: loading, validation and the defaults ``expctl init`` writes.

Every table and key is checked: an unknown key is an error with a did-you-mean, never
silently ignored. docs/configuration.md documents each key.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import ConfigError, NotFoundError, UsageError
from expctl.settings import did_you_mean

CONFIG_NAME = "expctl.toml"
CHECKS = ("smoke", "converge", "metrics", "none")
PASS_SETTINGS = ("file", "args", "none")

# Loss-like metric names are minimised; everything else is maximised unless configured.
_MIN_HINTS = ("loss", "error", "err", "perplexity", "ppl", "wer", "cer", "mse", "mae", "rmse", "latency", "time")

_TABLE_KEYS: dict[str, set[str]] = {
    "": {"project", "env", "settings", "stages", "metrics", "snapshot", "data", "cluster"},
    "project": {
        "name",
        "command",
        "check",
        "pass_settings",
        "primary_metric",
        "direction",
        "free_form",
        "default_stage",
    },
    "metrics": {"regex", "direction", "file"},
    "snapshot": {"max_untracked_mb", "secret_files", "allow_secret_files"},
    "data": {"files", "inputs", "format", "task", "text_column", "label_column", "has_header", "delimiter"},
    "stage": {
        "description",
        "settings",
        "check",
        "converge_ratio",
        "loss_metric",
        "expect_metrics",
        "expect_files",
        "requires",
    },
}


@dataclass
class Stage:
    name: str
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    check: str = "metrics"
    converge_ratio: float = 0.1
    loss_metric: str = "train_loss"
    expect_metrics: list[str] = field(default_factory=list)
    expect_files: list[str] = field(default_factory=list)
    requires: str | None = None


@dataclass
class Config:
    root: Path
    name: str
    command: list[str]
    pass_settings: str = "file"
    check: list[str] = field(default_factory=list)  # pre-flight settings check (expctl/preflight.py)
    primary_metric: str | None = None
    direction: str = "max"
    free_form: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    metric_regex: dict[str, str] = field(default_factory=dict)
    metric_direction: dict[str, str] = field(default_factory=dict)
    metrics_file: bool = True
    max_untracked_mb: float = 50.0
    secret_files: list[str] | None = None  # None: expctl.privacy.DEFAULT_SECRET_FILES
    allow_secret_files: list[str] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)
    data_inputs: dict[str, Any] = field(default_factory=dict)  # name -> stagedata.DataInput
    default_stage: str | None = None  # the stage of `expctl run` without --stage (None: no stage)
    cluster: Any = None  # slurm.ClusterSettings: the [cluster] table (docs/cluster.md)

    @property
    def path(self) -> Path:
        return self.root / CONFIG_NAME

    def direction_of(self, metric: str) -> str:
        """'max' or 'min' for a metric name."""
        if metric in self.metric_direction:
            return self.metric_direction[metric]
        if metric == self.primary_metric:
            return self.direction
        return metric_direction_guess(metric)

    def stage(self, name: str) -> Stage:
        if name not in self.stages:
            raise ConfigError(
                f"unknown stage {name!r}{did_you_mean(name, self.stages)}; stages: {', '.join(self.stages)}"
            )
        return self.stages[name]


def metric_direction_guess(metric: str) -> str:
    low = metric.lower()
    parts = set(re.split(r"[_\-./]", low))
    return "min" if any(h in parts for h in _MIN_HINTS) or low.endswith("loss") else "max"


def find_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding expctl.toml."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{CONFIG_NAME}: unknown key {key!r} in {where}{did_you_mean(key, allowed)}")


def _expect(value: Any, kind: type | tuple, where: str) -> Any:
    if not isinstance(value, kind) or (
        kind is not bool and isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
    ):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{CONFIG_NAME}: {where} must be a {names}, not {type(value).__name__}")
    return value


def _check_word(word: str, where: str) -> str:
    """A word handed to a program: no NUL (exec cannot pass it), valid UTF-8."""
    if "\0" in word:
        raise ConfigError(f"{CONFIG_NAME}: {where} contains a NUL character, which no program can receive")
    try:
        word.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(f"{CONFIG_NAME}: {where} is not valid UTF-8") from exc
    return word


def parse_command(value: Any, key: str = "command") -> list[str]:
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{CONFIG_NAME}: project.{key} cannot be parsed: {exc}") from exc
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        argv = list(value)
    else:
        raise ConfigError(f"{CONFIG_NAME}: project.{key} must be a string or a list of strings")
    if not argv:
        raise ConfigError(f"{CONFIG_NAME}: project.{key} is empty")
    for word in argv:
        _check_word(word, f"project.{key}")
    return argv


def parse(data: Mapping[str, Any], root: Path) -> Config:
    _check_keys(data, _TABLE_KEYS[""], "the top level")
    project = _expect(data.get("project", {}), dict, "[project]")
    _check_keys(project, _TABLE_KEYS["project"], "[project]")
    if "command" not in project:
        raise ConfigError(f'{CONFIG_NAME}: [project] needs a command (e.g. command = "python train.py")')
    cfg = Config(root=root, name=str(project.get("name", root.name)), command=parse_command(project["command"]))
    if project.get("check"):
        cfg.check = parse_command(project["check"], "check")
    cfg.pass_settings = _expect(project.get("pass_settings", "file"), str, "project.pass_settings")
    if cfg.pass_settings not in PASS_SETTINGS:
        raise ConfigError(f"{CONFIG_NAME}: project.pass_settings must be one of {', '.join(PASS_SETTINGS)}")
    pm = project.get("primary_metric")
    cfg.primary_metric = _expect(pm, str, "project.primary_metric") if pm is not None else None
    cfg.direction = _expect(project.get("direction", "max"), str, "project.direction")
    if cfg.direction not in ("max", "min"):
        raise ConfigError(f'{CONFIG_NAME}: project.direction must be "max" or "min"')
    cfg.free_form = [str(p) for p in _expect(project.get("free_form", []), list, "project.free_form")]

    env = _expect(data.get("env", {}), dict, "[env]")
    for key, value in env.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise ConfigError(f"{CONFIG_NAME}: [env] key {key!r} is not a valid environment variable name")
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{CONFIG_NAME}: [env] {key} must be a string or number")
        cfg.env[key] = _check_word(str(value).lower() if isinstance(value, bool) else str(value), f"[env] {key}")

    cfg.settings = dict(_expect(data.get("settings", {}), dict, "[settings]"))

    stages = _expect(data.get("stages", {}), dict, "[stages]")
    for name, body in stages.items():
        where = f"[stages.{name}]"
        _expect(body, dict, where)
        _check_keys(body, _TABLE_KEYS["stage"], where)
        st = Stage(name=name)
        st.description = str(body.get("description", ""))
        st.settings = dict(_expect(body.get("settings", {}), dict, f"{where} settings"))
        st.check = _expect(body.get("check", "metrics"), str, f"{where} check")
        if st.check not in CHECKS:
            raise ConfigError(f"{CONFIG_NAME}: {where} check must be one of {', '.join(CHECKS)}")
        st.converge_ratio = float(_expect(body.get("converge_ratio", 0.1), (int, float), f"{where} converge_ratio"))
        st.loss_metric = _expect(body.get("loss_metric", "train_loss"), str, f"{where} loss_metric")
        st.expect_metrics = [str(m) for m in _expect(body.get("expect_metrics", []), list, f"{where} expect_metrics")]
        st.expect_files = [str(m) for m in _expect(body.get("expect_files", []), list, f"{where} expect_files")]
        req = body.get("requires")
        st.requires = _expect(req, str, f"{where} requires") if req is not None else None
        cfg.stages[name] = st
    for st in cfg.stages.values():
        if st.requires and st.requires not in cfg.stages:
            raise ConfigError(f"{CONFIG_NAME}: [stages.{st.name}] requires unknown stage {st.requires!r}")
        check_stage_settings(cfg, st)
    ds = project.get("default_stage")
    if ds is not None:
        _expect(ds, str, "project.default_stage")
        if ds not in cfg.stages and ds != "none":
            raise ConfigError(
                f"{CONFIG_NAME}: project.default_stage {ds!r} is not a stage{did_you_mean(ds, cfg.stages)}; "
                f'stages: {", ".join(cfg.stages) or "(none)"}, or "none"'
            )
        cfg.default_stage = None if ds == "none" else ds
    elif "smoke" in cfg.stages:
        cfg.default_stage = "smoke"

    metrics = _expect(data.get("metrics", {}), dict, "[metrics]")
    _check_keys(metrics, _TABLE_KEYS["metrics"], "[metrics]")
    for name, pattern in _expect(metrics.get("regex", {}), dict, "[metrics.regex]").items():
        _expect(pattern, str, f"metrics.regex.{name}")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{CONFIG_NAME}: metrics.regex.{name} is not a valid regular expression: {exc}") from exc
        if compiled.groups < 1 and "value" not in compiled.groupindex:
            raise ConfigError(f"{CONFIG_NAME}: metrics.regex.{name} needs a capturing group for the value")
        cfg.metric_regex[name] = pattern
    for name, direction in _expect(metrics.get("direction", {}), dict, "[metrics.direction]").items():
        if direction not in ("max", "min"):
            raise ConfigError(f'{CONFIG_NAME}: metrics.direction.{name} must be "max" or "min"')
        cfg.metric_direction[name] = direction
    cfg.metrics_file = bool(metrics.get("file", True))

    snap = _expect(data.get("snapshot", {}), dict, "[snapshot]")
    _check_keys(snap, _TABLE_KEYS["snapshot"], "[snapshot]")
    cfg.max_untracked_mb = float(_expect(snap.get("max_untracked_mb", 50), (int, float), "snapshot.max_untracked_mb"))
    if not math.isfinite(cfg.max_untracked_mb) or cfg.max_untracked_mb < 0:
        raise ConfigError(
            f"{CONFIG_NAME}: snapshot.max_untracked_mb must be a finite number >= 0, not {cfg.max_untracked_mb!r}"
        )
    for key in ("secret_files", "allow_secret_files"):
        if key in snap:
            patterns = _expect(snap[key], list, f"snapshot.{key}")
            for pat in patterns:
                if not isinstance(pat, str) or not pat or "\0" in pat:
                    raise ConfigError(
                        f"{CONFIG_NAME}: snapshot.{key} must be a list of non-empty file patterns, not {pat!r}"
                    )
            setattr(cfg, key, list(patterns))
    dat = _expect(data.get("data", {}), dict, "[data]")
    _check_keys(dat, _TABLE_KEYS["data"], "[data]")
    cfg.data_files = [str(p) for p in _expect(dat.get("files", []), list, "data.files")]
    from expctl.stagedata import parse_inputs

    cfg.data_inputs = parse_inputs(dat)
    from expctl.slurm import parse_cluster

    cfg.cluster = parse_cluster(data.get("cluster", {}))
    return cfg


def check_stage_settings(cfg: Config, st: Stage) -> None:
    """A stage may only set keys a run could set with ``-s``: declared in [settings], free-form,
    or inside a declared empty table. A typo is an error with a did-you-mean, never a no-op."""
    from expctl.settings import flatten, is_free_form

    known = flatten(cfg.settings)
    for key in flatten(st.settings):
        if key in known or is_free_form(key, cfg.free_form):
            continue
        if any(key.startswith(k + ".") and known[k] == {} for k in known):
            continue
        raise ConfigError(
            f"{CONFIG_NAME}: unknown setting {key!r} in [stages.{st.name}.settings]"
            f"{did_you_mean(key, known)}; declare it in [settings] or add it to free_form"
        )


def load(root: Path | None = None, start: str | os.PathLike | None = None) -> Config:
    """Load and validate the project's expctl.toml."""
    if root is None:
        root = find_root(start)
        if root is None:
            raise NotFoundError(f"no {CONFIG_NAME} here or in any parent folder; run `expctl init` first")
    path = root / CONFIG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"no {CONFIG_NAME} in {root}; run `expctl init` first") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from exc
    return parse(data, root)


# ---------------------------------------------------------------- defaults for init

GENERIC_STAGES: dict[str, dict[str, Any]] = {
    "smoke": {
        "description": "a few hundred samples: does it run end to end?",
        "settings": {"max_train_samples": 200, "max_eval_samples": 100, "epochs": 1},
        "check": "smoke",
    },
    "converge": {
        "description": "about a thousand samples: can the training loss go close to 0?",
        "settings": {"max_train_samples": 1000, "max_eval_samples": 200, "epochs": 10},
        "check": "converge",
        "converge_ratio": 0.1,
        "loss_metric": "train_loss",
    },
    "small": {
        "description": "tens of thousands of samples: sensitivity and strategy comparison",
        "settings": {"max_train_samples": 20000, "max_eval_samples": 2000, "epochs": 3},
        "check": "metrics",
    },
    "full": {
        "description": "all the data, only with code that passed smoke",
        "settings": {"max_train_samples": 0, "max_eval_samples": 0, "epochs": 3},
        "check": "metrics",
        "requires": "smoke",
    },
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        raise UsageError("TOML has no null; leave the key out instead")
    raise UsageError(f"cannot write {type(value).__name__} to TOML")


def _toml_str(value: str) -> str:
    if "\\" in value and "'" not in value and "\n" not in value:
        return f"'{value}'"  # literal string: regexes stay readable
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _toml_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else _toml_str(key)


def _table(lines: list[str], name: str, body: Mapping[str, Any], comments: Mapping[str, str] | None = None) -> None:
    lines.append(f"[{name}]")
    nested = []
    for key, value in body.items():
        if (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict) for v in value.values())
            and len(value) > 3
        ):
            nested.append((key, value))
            continue
        comment = f"  # {comments[key]}" if comments and key in comments else ""
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}{comment}")
    lines.append("")
    for key, value in nested:
        _table(lines, f"{name}.{_toml_key(key)}", value)


def render_config(
    name: str,
    command: list[str] | str,
    settings: Mapping[str, Any],
    stages: Mapping[str, Mapping[str, Any]],
    primary_metric: str | None,
    direction: str = "max",
    pass_settings: str = "file",
    free_form: list[str] | None = None,
    regex: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    header: str = "",
    setting_comments: Mapping[str, str] | None = None,
    check: str = "",
) -> str:
    """The text of an expctl.toml (validated by parsing it back)."""
    lines = [
        "# expctl.toml: how expctl runs this project. Reference: docs/configuration.md",
        "# Settings resolve as: [settings] < [stages.<stage>.settings] < `expctl run -s key=value`.",
    ]
    if header:
        lines += [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append("")
    project: dict[str, Any] = {"name": name, "command": command if isinstance(command, str) else shlex.join(command)}
    if check:
        project["check"] = check
    project["pass_settings"] = pass_settings
    if primary_metric:
        project["primary_metric"] = primary_metric
        project["direction"] = direction
    project["free_form"] = list(free_form or [])
    _table(
        lines,
        "project",
        project,
        {
            "command": "run through run.sh; the settings file's path is in $EXPCTL_SETTINGS",
            "check": "pre-flight: validates a run's settings before any record exists (non-zero exit: refused)",
            "pass_settings": "file | args (--key value) | none; {key} placeholders in command always work",
            "free_form": 'setting patterns allowed without a default, e.g. "tricks.*"',
        },
    )
    lines.append("# Environment fixed for every run (exported by run.sh).")
    _table(lines, "env", dict(env or {}))
    lines.append("# Default settings: every knob of a run. `-s` may only set keys declared here (or free_form).")
    _table(lines, "settings", dict(settings), setting_comments)
    for stage_name, body in stages.items():
        body = dict(body)
        st_settings = body.pop("settings", {})
        _table(lines, f"stages.{stage_name}", body)
        if st_settings:
            _table(lines, f"stages.{stage_name}.settings", st_settings)
    lines.append("# Metrics: JSON lines written to $EXPCTL_METRICS (see expctl.track), and/or regexes over")
    lines.append("# the log for programs that only print them: name = 'pattern with one (group)'.")
    _table(lines, "metrics", {"file": True})
    _table(lines, "metrics.regex", dict(regex or {}))
    _table(
        lines,
        "snapshot",
        {"max_untracked_mb": 50},
        {"max_untracked_mb": "untracked files larger than this stay out of code snapshots (size recorded)"},
    )
    text = "\n".join(lines).rstrip() + "\n"
    parse(tomllib.loads(text), Path("."))  # never write a file we cannot read back
    return text
