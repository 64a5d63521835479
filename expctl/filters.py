"""The one filter language of ``runs`` and ``compare``: ``--where``, ``--since``, ``--sort``.

``--where`` takes ``KEY OP VALUE`` with OP one of ``= == != > >= < <=``, or ``KEY in A,B,C``
(``not in`` too). KEY is a setting (dotted), a final metric, or one of the record's own
fields (``status``, ``stage``, ``name``, ``id``, ``branch``, ``commit``). A name that is both
a setting and a metric (``lr``) means the setting. Values are typed like ``-s``
(``1e-3`` equals ``0.001``); ``>``/``<`` compare numbers (or else text). A key that no run
has and the project does not declare is an error with a did-you-mean, never an empty
table. ``--since 2d`` keeps runs started in the last 2 days (``s m h d w``, or a date
``2026-11-30``). An unknown ``--sort`` key is an error too.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from expctl.errors import UsageError
from expctl.record import Record
from expctl.settings import did_you_mean, flatten, infer_value

RECORD_FIELDS = ("status", "stage", "name", "id", "branch", "commit")
_OP_RE = re.compile(r"^\s*([^\s<>=!]+)\s*(==|!=|>=|<=|=|>|<)\s*(.*?)\s*$", re.S)
_IN_RE = re.compile(r"^\s*([^\s<>=!]+)\s+(not\s+in|in)\s+(.+?)\s*$", re.S | re.I)
_SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Condition:
    key: str
    op: str  # = != > >= < <= in notin
    values: tuple[str, ...]
    text: str


def parse_where(text: str) -> Condition:
    m = _IN_RE.match(text)
    if m:
        values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
        if not values:
            raise UsageError(f"--where {text!r}: `in` needs values, e.g. seed in 1,2,3")
        op = "notin" if m.group(2).lower().startswith("not") else "in"
        return Condition(m.group(1), op, values, text)
    m = _OP_RE.match(text)
    if not m:
        raise UsageError(f"--where takes KEY=VALUE, KEY!=VALUE, KEY>VALUE (>=, <, <=) or 'KEY in A,B', not {text!r}")
    op = "=" if m.group(2) == "==" else m.group(2)
    return Condition(m.group(1), op, (m.group(3),), text)


def fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a condition can look at: record fields < final metrics < settings."""
    code = record.get("code") or {}
    out: dict[str, Any] = {
        "status": record.get("status"),
        "stage": record.get("stage"),
        "name": record.get("name"),
        "id": record.get("id"),
        "branch": code.get("branch"),
        "commit": code.get("commit"),
    }
    out.update(Record(record).final)
    out.update({k: v for k, v in flatten(Record(record).settings).items() if not isinstance(v, dict)})
    return out


def known_keys(records: Iterable[Mapping[str, Any]], declared: Iterable[str] = ()) -> set[str]:
    keys = set(RECORD_FIELDS) | set(declared)
    for r in records:
        keys.update(Record(r).final)
        keys.update(flatten(Record(r).settings))
    return keys


def check_keys(conditions: Iterable[Condition], known: set[str]) -> None:
    for c in conditions:
        if c.key not in known:
            raise UsageError(
                f"--where {c.text!r}: no run has {c.key!r}{did_you_mean(c.key, known)}; "
                f"keys are settings, final metrics and {', '.join(RECORD_FIELDS)}"
            )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _equal(value: Any, text: str) -> bool:
    target = infer_value(text)
    a, b = _number(value), _number(target)
    if a is not None and b is not None:
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    if value == target:
        return True
    from expctl.output import fmt_value

    return value is not None and (fmt_value(value) == text.strip() or str(value) == text.strip())


def _order(value: Any, op: str, text: str) -> bool:
    target = infer_value(text)
    a, b = _number(value), _number(target)
    if a is None or b is None:
        if value is None or isinstance(value, (dict, list)):
            return False
        a, b = str(value), str(target)  # text compares as text (e.g. dates)
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def matches(c: Condition, flat: Mapping[str, Any]) -> bool:
    if c.key not in flat:
        return c.op in ("!=", "notin")
    value = flat[c.key]
    if c.op == "=":
        return _equal(value, c.values[0])
    if c.op == "!=":
        return not _equal(value, c.values[0])
    if c.op == "in":
        return any(_equal(value, v) for v in c.values)
    if c.op == "notin":
        return not any(_equal(value, v) for v in c.values)
    return _order(value, c.op, c.values[0])


def parse_since(text: str, now: float | None = None) -> float:
    """The earliest start time (unix seconds) ``--since`` keeps."""
    now = time.time() if now is None else now
    m = _SINCE_RE.match(text)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2).lower()]
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M"):
        try:
            return float(calendar.timegm(time.strptime(text.strip(), fmt)))
        except ValueError:
            continue
    raise UsageError(f"--since {text!r}: give an age (30m, 12h, 2d, 1w) or a date (2026-11-30)")


def started_at(record: Mapping[str, Any]) -> float:
    ts = record.get("started_unix")
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return float(ts)
    try:
        return float(calendar.timegm(time.strptime(record.get("started") or "", "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return 0.0


class Filter:
    """Parsed ``--where`` / ``--since``; :meth:`check` validates keys against the records."""

    def __init__(self, where: Iterable[str] = (), since: str | None = None):
        self.conditions = [parse_where(w) for w in where]
        self.cutoff = parse_since(since) if since else None

    def __bool__(self) -> bool:
        return bool(self.conditions) or self.cutoff is not None

    def check(self, records: Iterable[Mapping[str, Any]], declared: Iterable[str] = ()) -> Filter:
        if self.conditions:
            check_keys(self.conditions, known_keys(records, declared))
        return self

    def keep(self, record: Mapping[str, Any]) -> bool:
        if self.cutoff is not None and started_at(record) < self.cutoff:
            return False
        if not self.conditions:
            return True
        flat = fields(record)
        return all(matches(c, flat) for c in self.conditions)

    def apply(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if self.keep(r)]


def check_sort_key(key: str, known: set[str], extra: Iterable[str] = ()) -> str:
    """``key`` (leading - or + stripped) when it is sortable, else a did-you-mean error."""
    name = key.lstrip("-+")
    allowed = known | set(extra)
    if name not in allowed:
        raise UsageError(
            f"--sort {key!r}: unknown key{did_you_mean(name, allowed)}; sort by a column, a final metric or a setting"
        )
    return name


def sort_records(records: list[dict[str, Any]], key: str, direction_of) -> list[dict[str, Any]]:
    """Runs sorted by a field, metric or setting; metrics best first, runs without it last."""
    desc = key.startswith("-")
    name = key.lstrip("-+")

    def value(r):
        if name in ("date", "started"):
            return r.get("started")
        return fields(r).get(name)

    present = [r for r in records if value(r) is not None]
    missing = [r for r in records if value(r) is None]
    final_keys = {k for r in present for k in Record(r).final}
    settings_keys = {k for r in present for k in flatten(Record(r).settings)}
    reverse = desc
    if name in final_keys and name not in settings_keys:
        reverse = (direction_of(name) == "max") != desc
    try:
        present.sort(key=value, reverse=reverse)
    except TypeError:
        present.sort(key=lambda r: str(value(r)), reverse=reverse)
    return present + missing
