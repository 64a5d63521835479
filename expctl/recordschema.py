"""The one check of a run record's shape, applied wherever a record is read.

Every reader (``runs``, ``compare``, ``strategies``, ``show``, ``diff``, ``plot``, ``tag``,
``push``...) gets records through :meth:`expctl.records.Store.all`, which calls
:func:`problems` on each: a record that a hand edit, a bug or another tool turned into a
shape the readers cannot use is skipped with one warning naming the run and the fields,
instead of taking a command down for every record.

The spec below lists the fields whose type readers rely on; a field may always be absent
or null. Nesting deeper than :data:`MAX_DEPTH` is refused as a whole (recursive readers
would overflow the stack).
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32

NUMBER = "number"  # int or float, never bool; "nan" / "inf" strings as fsutil.dumps writes them
STR = str
INT = "int"  # int, never bool
BOOL = bool
DICT = dict
LIST = list
STR_LIST = "str_list"
METRICS = "metrics"  # {name: number}

SPEC: dict[str, Any] = {
    "id": STR,
    "name": STR,
    "stage": STR,
    "status": STR,
    "started": STR,
    "ended": STR,
    "strategy": STR,
    "primary_metric": STR,
    "direction": STR,
    "signal": STR,
    "resumes": STR,
    "reproduces": STR,
    "duration_s": NUMBER,
    "exit_code": INT,
    "started_unix": NUMBER,
    "schema": INT,
    "settings": DICT,
    "settings_requested": DICT,
    "command": STR_LIST,
    "code": {
        "commit": STR,
        "tree": STR,
        "head": STR,
        "branch": STR,
        "dirty": BOOL,
        "snapshot": BOOL,
        "changed": STR_LIST,
        "changed_count": INT,
        "excluded": LIST,
        "untracked": LIST,
        "withheld": STR_LIST,
    },
    "metrics": {"final": METRICS, "best": METRICS, "events": INT, "bad_lines": INT, "dropped_values": INT},
    "data": DICT,
    "env": {"host": STR, "python": STR, "packages": DICT, "gpus": STR_LIST, "world_size": INT},
    "check": {"check": STR, "passed": BOOL, "reasons": STR_LIST},
    "checkpoints": {"best": STR, "last": STR, "all": STR_LIST},
    "process": {"host": STR, "pid": INT, "start": STR, "clone": STR, "boot": STR, "pidns": STR, "machine": STR},
    "submitted": STR,
    "reason": STR,
    # run-group membership (expctl.rungroups): the one field, and the one sweeps wrote before it
    "group": {
        "kind": STR,
        "id": STR,
        "index": INT,
        "size": INT,
        "fold": INT,
        "k": INT,
        "config": DICT,
        "base": DICT,
        "varied": STR,
    },
    "sweep": {"id": STR, "config": DICT, "base": DICT, "varied": STR},
    "slurm": {
        "job_id": STR,
        "array_job": STR,
        "task": INT,
        "raw_job_id": STR,
        "node": STR,
        "state": STR,
        "reason": STR,
        "final": BOOL,
        "script": STR,
        "output": STR,
        "options": STR_LIST,
    },
}
# keys a non-null value must hold (readers index them directly)
REQUIRED: dict[str, tuple[str, ...]] = {"check": ("check", "passed", "reasons")}
FILE_LIST = ("excluded", "untracked")  # code.<these>: [{"path": str, "size": int}]
_NON_FINITE = {"nan", "inf", "-inf", "NaN", "Infinity", "-Infinity"}


def _walk(value: Any, limit: int) -> tuple[int, bool]:
    """(nesting depth, stopping once past ``limit``; whether a string cannot be UTF-8)."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest, False
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
            stack.extend((k, d + 1) for k in node)
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return deepest, True
    return deepest, False


def _is_number(value: Any) -> bool:
    t = type(value)
    return t is int or t is float or (t is str and value in _NON_FINITE)


_TYPES = {STR: (str,), INT: (int,), BOOL: (bool,), DICT: (dict,), LIST: (list,)}


def _ok(value: Any, kind: Any) -> bool:
    if value is None:
        return True
    t = type(value)
    simple = _TYPES.get(kind) if not isinstance(kind, dict) else (dict,)
    if simple is not None:
        return t in simple  # exact types: a bool is not an int here
    if kind == NUMBER:
        return t is int or t is float or (t is str and value in _NON_FINITE)
    if kind == STR_LIST:
        return t is list and all(type(v) is str for v in value)
    if kind == METRICS:
        return t is dict and all(_is_number(v) for v in value.values())
    return isinstance(value, kind)


def _split(spec: dict[str, Any]) -> tuple[tuple[tuple[str, type], ...], tuple[tuple[str, Any], ...]]:
    """(keys checked by exact type, keys needing a closer look) of one level of the spec."""
    simple, special = [], []
    for key, kind in spec.items():
        if isinstance(kind, dict):
            simple.append((key, dict))
        elif kind in _TYPES:
            simple.append((key, _TYPES[kind][0]))
        else:
            special.append((key, kind))
    return tuple(simple), tuple(special)


_TOP = _split(SPEC)
_NESTED = tuple((k, _split(v)) for k, v in SPEC.items() if isinstance(v, dict))


def _level(value: dict, checks, prefix: str, bad: list[str]) -> None:
    simple, special = checks
    get = value.get
    for key, t in simple:  # exact types: a bool is not an int here
        v = get(key)
        if v is not None and type(v) is not t:
            bad.append(prefix + key)
    for key, kind in special:
        v = get(key)
        if v is not None and not _ok(v, kind):
            bad.append(prefix + key)


def problems(record: Any, raw: bytes | None = None) -> list[str]:
    """The fields of ``record`` readers could not use (empty: the record is usable).

    ``raw`` (the JSON text it was read from) lets the nesting and text checks be skipped
    when the text shows they cannot fail: few brackets, no escaped lone surrogate.
    """
    if not isinstance(record, dict):
        return ["the record is not a JSON object"]
    if raw is None or raw.count(b"{") + raw.count(b"[") > MAX_DEPTH or b"\\u" in raw:
        depth, bad_text = _walk(record, MAX_DEPTH)
        if depth > MAX_DEPTH:
            return [f"nesting deeper than {MAX_DEPTH} levels"]
        if bad_text:
            return ["text that is not valid Unicode (a lone surrogate)"]
    bad: list[str] = []
    _level(record, _TOP, "", bad)
    for key, checks in _NESTED:
        value = record.get(key)
        if type(value) is dict:
            _level(value, checks, key + ".", bad)
    for key, needed in REQUIRED.items():
        value = record.get(key)
        if isinstance(value, dict) and any(value.get(k) is None for k in needed):
            bad.append(key)
    code = record.get("code")
    if isinstance(code, dict):
        for key in FILE_LIST:
            items = code.get(key) or []
            if isinstance(items, list) and not all(
                isinstance(i, dict) and isinstance(i.get("path"), str) and _ok(i.get("size"), INT) and "size" in i
                for i in items
            ):
                bad.append(f"code.{key}")
    data = record.get("data")
    if isinstance(data, dict) and not all(isinstance(v, dict) for v in data.values()):
        bad.append("data")
    return bad


def _quick_types(kind: Any) -> tuple[type, ...]:
    if isinstance(kind, dict):
        return (dict,)
    if kind in _TYPES:
        return _TYPES[kind]
    return (int, float, str) if kind == NUMBER else (dict,) if kind == METRICS else (list,)


_QUICK = tuple((k, _quick_types(v)) for k, v in SPEC.items())


def quick_problems(record: dict) -> list[str]:
    """Top-level types only: for records that passed :func:`problems` before (the cache of
    checked records), as a guard against a hand-edited cache line."""
    get = record.get
    return [k for k, types in _QUICK if (v := get(k)) is not None and type(v) not in types]
