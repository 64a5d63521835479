"""Settings: typed ``key=value`` parsing, dotted keys, layering and validation.

Precedence, lowest first: ``[settings]`` in expctl.toml < the stage's overrides < ``-s``
on the command line. Values on the command line are typed: the type of the default wins
when there is one (``lr=1`` with a float default is 1.0; ``name=123`` with a string
default stays "123"); otherwise the value is inferred (int, float, bool, null, [list],
string). Unknown keys are an error with a did-you-mean, unless a ``free_form`` pattern
(e.g. ``tricks.*``) admits them.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from expctl.errors import ConfigError, UsageError

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.IGNORECASE)
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}

MISSING = object()


def valid_key(key: str) -> bool:
    return bool(_KEY_RE.match(key))


def split_assignment(text: str) -> tuple[str, str]:
    """``"a.b=3"`` -> ``("a.b", "3")``; a clear error for anything else."""
    if "=" not in text:
        raise UsageError(f"invalid setting {text!r}: expected key=value (e.g. -s lr=3e-5)")
    key, value = text.split("=", 1)
    key = key.strip()
    if not valid_key(key):
        raise UsageError(f"invalid setting key {key!r} in {text!r}: use letters, digits, _ and - with dots for nesting")
    if "\x00" in value:
        raise UsageError(f"invalid value for {key}: NUL characters cannot be passed to a program")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"invalid value for {key}: not valid UTF-8 (expctl records settings as text)") from exc
    return key, value


def infer_value(text: str) -> Any:
    """Infer a typed value from command-line text."""
    s = text.strip()
    low = s.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    if low in ("null", "none"):
        return None
    if _INT_RE.match(s):
        return int(s)
    if _FLOAT_RE.match(s):
        return float(s)
    if s.startswith("[") and s.endswith("]"):
        try:
            value = json.loads(s)
            if isinstance(value, list):
                return value
        except ValueError:
            pass
        inner = s[1:-1].strip()
        return [infer_value(part.strip()) for part in inner.split(",")] if inner else []
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return text


def coerce(key: str, text: str, default: Any = MISSING) -> Any:
    """Typed value for ``key`` from ``text``, guided by the default's type."""
    if default is MISSING or default is None:
        return infer_value(text)
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in _TRUE or low == "1":
            return True
        if low in _FALSE or low == "0":
            return False
        raise UsageError(f"invalid value for {key}: {text!r} is not a boolean (true/false)")
    if isinstance(default, int):
        value = infer_value(text)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and not value.is_integer())
        ):
            if isinstance(value, str) and value.lower() in ("auto",):
                return value  # e.g. batch_size=auto
            raise UsageError(f"invalid value for {key}: {text!r} is not an integer")
        return int(value)
    if isinstance(default, float):
        value = infer_value(text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"invalid value for {key}: {text!r} is not a number")
        return float(value)
    if isinstance(default, list):
        value = infer_value(text)
        if isinstance(value, list):
            return value
        return [infer_value(p) for p in text.split(",")] if text.strip() else []
    if isinstance(default, str):
        # "" and "auto" defaults mean "decided later": any typed value may replace them
        return infer_value(text) if default.strip().lower() in ("", "auto") else text
    return infer_value(text)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``. Empty tables stay as ``{"a": {}}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, full + "."))
        else:
            out[full] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value
    return out


def to_assignments(settings: Mapping[str, Any]) -> list[str]:
    """``key=value`` texts that ``resolve`` turns back into exactly these settings."""
    out = []
    for key, value in flatten(settings).items():
        if isinstance(value, dict):
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, type(None))):
            text = json.dumps(value)
        elif isinstance(value, float):
            text = repr(value)
        else:
            text = str(value)
        out.append(f"{key}={text}")
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(flat):
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[parts[-1]] = flat[key]
    return out


def is_free_form(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pat) or key == pat.rstrip(".*") for pat in patterns)


def did_you_mean(key: str, known: Iterable[str]) -> str:
    known = list(known)
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not matches:
        last = key.rsplit(".", 1)[-1]
        matches = [k for k in known if k.rsplit(".", 1)[-1] == last][:1]
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def resolve(
    defaults: Mapping[str, Any],
    stage_overrides: Mapping[str, Any] | None,
    assignments: Iterable[str],
    free_form: Iterable[str] = (),
) -> dict[str, Any]:
    """Resolve the settings of a run; returns the nested dict handed to the program."""
    free_form = list(free_form)
    flat = flatten(defaults)
    known = set(flat)
    for key, value in flatten(stage_overrides or {}).items():
        flat[key] = value
        known.add(key)
    for text in assignments:
        key, raw = split_assignment(text)
        for other in flat:
            if other.startswith(key + "."):
                raise UsageError(f"setting {key!r} is a table; set its keys instead (e.g. {other}=...)")
        if key not in known and not is_free_form(key, free_form):
            # a key inside a declared table (e.g. tricks = {} in defaults) is free-form too
            parent_table = any(key.startswith(k + ".") and flat[k] == {} for k in known)
            if not parent_table:
                raise ConfigError(
                    f"unknown setting {key!r}{did_you_mean(key, known)}; declare it in [settings] of expctl.toml or add it to free_form"
                )
        flat[key] = coerce(key, raw, flat.get(key, MISSING))
    return unflatten(flat)


def summarize(settings: Mapping[str, Any], limit: int = 8) -> str:
    """A one-line ``k=v`` summary of scalar settings (for tag messages and listings)."""
    parts = []
    for key, value in sorted(flatten(settings).items()):
        if isinstance(value, (dict, list)):
            continue
        parts.append(f"{key}={value}")
    if len(parts) > limit:
        parts = parts[:limit] + [f"... +{len(parts) - limit}"]
    return " ".join(parts)
