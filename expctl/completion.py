"""Shell completion (bash, zsh, fish) of what expctl's arguments name: run ids, tags,
explorations, stages and setting names, besides click's own command and option names.

Enable it with click's mechanism (docs/cli.md, "Shell completion"):

    bash:  eval "$(_EXPCTL_COMPLETE=bash_source expctl)"     # in ~/.bashrc
    zsh:   eval "$(_EXPCTL_COMPLETE=zsh_source expctl)"      # in ~/.zshrc
    fish:  _EXPCTL_COMPLETE=fish_source expctl | source       # in ~/.config/fish/completions/expctl.fish

``attach`` gives each loaded command's parameters their completer by the parameter's
name, so that no command module needs to know about completion. Completers read refs
with one ``for-each-ref`` and never fail: outside a project they offer nothing.
"""

from __future__ import annotations

from typing import Any

import click

RUNS = "refs/expctl/runs/"
TAGS = "refs/tags/"
EXPLORATIONS = "refs/expctl/strategies/"


def _refs(prefix: str) -> list[str]:
    try:
        from expctl.config import find_root
        from expctl.gitlayer import Repo

        root = find_root()
        if root is None:
            return []
        return [r[len(prefix) :] for r in Repo.open(root).refs(prefix)]
    except Exception:  # noqa: BLE001 - completion never breaks the shell
        return []


def _config():
    try:
        from expctl.config import load

        return load()
    except Exception:  # noqa: BLE001
        return None


def runs_and_strategies(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Run ids (newest first; a random suffix completes too), tags and explorations."""
    ids = sorted(_refs(RUNS), reverse=True)
    out = [i for i in ids if i.startswith(incomplete)]
    if incomplete and not out:
        out = [i for i in ids if i.rsplit("-", 1)[-1].startswith(incomplete)]
    out += [t for t in _refs(TAGS) if t.startswith(incomplete)]
    out += [e for e in _refs(EXPLORATIONS) if e.startswith(incomplete)]
    if "HEAD".startswith(incomplete):
        out.append("HEAD")
    return out


def tags(ctx, param, incomplete: str) -> list[str]:
    return [t for t in _refs(TAGS) if t.startswith(incomplete)]


def explorations(ctx, param, incomplete: str) -> list[str]:
    return [e for e in _refs(EXPLORATIONS) if e.startswith(incomplete)]


def stages(ctx, param, incomplete: str) -> list[str]:
    cfg = _config()
    return [s for s in (cfg.stages if cfg else []) if s.startswith(incomplete)]


def settings(ctx, param, incomplete: str) -> list[Any]:
    """``-s KEY=``: the declared setting names (with ``=``), nested keys dotted."""
    from click.shell_completion import CompletionItem

    cfg = _config()
    if cfg is None:
        return []
    from expctl.settings import flatten

    if "=" in incomplete:
        return []
    keys = [k for k, v in flatten(cfg.settings).items() if not isinstance(v, dict)]
    return [
        CompletionItem(f"{k}=", help=f"default {v!r}")
        for k, v in ((k, flatten(cfg.settings)[k]) for k in keys)
        if k.startswith(incomplete)
    ]


_BY_NAME = {
    "ref": runs_and_strategies,
    "refs": runs_and_strategies,
    "run": runs_and_strategies,
    "runs": runs_and_strategies,
    "a": runs_and_strategies,
    "b": runs_and_strategies,
    "resume_ref": runs_and_strategies,
    "base": runs_and_strategies,
    "baseline": runs_and_strategies,
    "stage": stages,
    "assignments": settings,
    "specs": settings,
}
_BY_COMMAND = {("promote", "name"): explorations, ("abandon", "name"): explorations, ("tag", "name"): tags}


def attach(name: str, cmd: click.Command) -> click.Command:
    for param in cmd.params:
        if getattr(param, "_custom_shell_complete", None) is not None:
            continue
        func = _BY_COMMAND.get((name, param.name)) or _BY_NAME.get(param.name or "")
        if func is not None and not isinstance(param.type, click.Choice):
            param._custom_shell_complete = func
    return cmd
