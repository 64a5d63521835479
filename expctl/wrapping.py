"""Wrapping a program expctl did not write: what `init --command` learns from it.

A Python script that parses its command line with argparse declares its knobs and their
defaults; `init --command` reads them by running the script with ``parse_args`` replaced
(the script stops there, before any training), so the first record holds the settings the
program really runs with. A script that reads expctl's settings file (``expctl.track``)
gets the generic starter settings; any other program starts from no settings.

How settings reach such a program (``pass_settings = "args"``, see ``to_args``): a value
goes out as ``--key value``; a boolean as the bare flag ``--key`` when true and nothing
when false (argparse's ``store_true``); a list as ``--key v1 v2 ...`` (``nargs``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARK = "EXPCTL-ARGPARSE-PROBE:"

# Runs the script as __main__ with parse_args / parse_known_args replaced by a function that
# prints the parser's options as JSON and exits before the script goes on.
_PROBE = r"""
import argparse, json, runpy, sys
MARK = %(mark)r
def _probe(self, args=None, namespace=None):
    out = []
    for a in self._actions:
        if not a.option_strings or isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            continue
        kind = type(a).__name__
        default = a.default
        try:
            json.dumps(default)
        except (TypeError, ValueError):
            default = None
        out.append({"options": list(a.option_strings), "dest": a.dest, "kind": kind, "default": default,
                    "nargs": a.nargs if isinstance(a.nargs, (int, str, type(None))) else None,
                    "type": getattr(a.type, "__name__", None), "required": bool(a.required)})
    sys.stdout.write(MARK + json.dumps(out) + "\n")
    sys.stdout.flush()
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = _probe
argparse.ArgumentParser.parse_known_args = _probe
argparse.ArgumentParser.parse_intermixed_args = _probe
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(script)))
runpy.run_path(script, run_name="__main__")
"""


@dataclass
class Discovery:
    """What init learned: the settings to start from, how to pass them, and what to say."""

    kind: str  # "argparse" | "expctl" | "none"
    settings: dict[str, Any] = field(default_factory=dict)
    pass_settings: str = "file"
    notes: list[str] = field(default_factory=list)


def python_script(command: list[str], root: Path) -> Path | None:
    """The .py file a ``python[3] [-u] script.py ...`` command runs, when it exists."""
    if not command or not re.fullmatch(r"python(\d(\.\d+)?)?", os.path.basename(command[0])):
        return None
    rest = [w for w in command[1:] if w not in ("-u", "-B", "-O")]
    if not rest or not rest[0].endswith(".py"):
        return None
    path = Path(rest[0]) if os.path.isabs(rest[0]) else root / rest[0]
    return path if path.is_file() else None


def probe_argparse(command: list[str], script: Path, root: Path, timeout: float = 60) -> list[dict[str, Any]] | None:
    """The argparse options of ``script`` (None when it has none or could not be read)."""
    exe = command[0]
    try:
        proc = subprocess.run(
            [exe, "-c", _PROBE % {"mark": MARK}, str(script)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            try:
                return json.loads(line[len(MARK) :])
            except ValueError:
                return None
    return None


def settings_from_options(options: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """(settings, options left out and why) from probed argparse options: one key per long
    option (its name without the dashes, so ``--key`` reaches it), typed by ``type``."""
    settings: dict[str, Any] = {}
    skipped: list[str] = []
    for opt in options:
        longs = [o for o in opt["options"] if o.startswith("--")]
        if not longs:
            skipped.append(f"{opt['options'][0]} (no --long form)")
            continue
        name = longs[0]
        key = name[2:]
        kind, default = opt["kind"], opt["default"]
        if kind == "_StoreTrueAction":
            settings[key] = bool(default)
        elif kind in (
            "_StoreFalseAction",
            "_CountAction",
            "_AppendAction",
            "_StoreConstAction",
            "_AppendConstAction",
            "BooleanOptionalAction",
        ):
            skipped.append(f"{name} ({kind.strip('_').replace('Action', '').lower()} options are not mapped)")
        elif default is None:
            skipped.append(f"{name} (no default)")
        elif isinstance(default, dict):
            skipped.append(f"{name} (a table default)")
        else:
            if opt.get("type") == "float":
                default = [float(v) for v in default] if isinstance(default, list) else float(default)
            elif opt.get("type") == "int" and not isinstance(default, bool):
                try:
                    default = [int(v) for v in default] if isinstance(default, list) else int(default)
                except (TypeError, ValueError):
                    pass
            if isinstance(default, list) and not default:
                skipped.append(f"{name} (an empty list default)")
                continue
            settings[key] = default
    return settings, skipped


def discover(command: list[str], root: Path) -> Discovery:
    script = python_script(command, root)
    if script is None:
        return Discovery(
            "none",
            pass_settings="none",
            notes=[
                "no settings: declare your program's knobs under [settings] of expctl.toml "
                "(and how it reads them: pass_settings)"
            ],
        )
    text = script.read_text(encoding="utf-8", errors="replace")
    if "expctl" in text and ("track" in text or "EXPCTL_SETTINGS" in text):
        return Discovery(
            "expctl",
            notes=[
                f"{script.name} reads expctl's settings file: starter settings written; "
                "edit them to your program's knobs"
            ],
        )
    options = probe_argparse(command, script, root) if "argparse" in text else None
    if not options:
        return Discovery(
            "none",
            pass_settings="none",
            notes=[
                f"no settings: {script.name} declared no argparse options expctl could read; "
                "declare your program's knobs under [settings] of expctl.toml"
            ],
        )
    settings, skipped = settings_from_options(options)
    notes = [
        f"settings: the {len(settings)} argparse defaults of {script.name}, passed as --key value "
        "(booleans as bare flags, lists as --key v1 v2 ...)"
    ]
    if skipped:
        notes.append("left out: " + ", ".join(skipped))
    return Discovery("argparse", settings=settings, pass_settings="args", notes=notes)


def to_args(key: str, value: Any) -> list[str]:
    """One setting as a program's arguments (pass_settings = "args")."""
    if value is None:
        return []
    if isinstance(value, bool):
        return [f"--{key}"] if value else []
    if isinstance(value, list):
        return [f"--{key}", *(_word(v) for v in value)] if value else []
    return [f"--{key}", _word(value)]


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


if __name__ == "__main__":  # pragma: no cover - `python -m expctl.wrapping python3 train.py`
    print(json.dumps(discover(sys.argv[1:], Path.cwd()).__dict__, indent=2))
