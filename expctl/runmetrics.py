"""Metrics of a run: events from metrics.jsonl and log regexes, final / best values, stage checks."""

from __future__ import annotations

import glob
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.fsutil import iter_jsonl

RESERVED = {"step", "epoch", "time", "_source", "total_steps"}  # total_steps: progress, not a metric


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range: +-inf, flagged by the checks
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(value.strip().lower().replace("infinity", "inf"))
    return None


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass
class Collected:
    events: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    bad_lines: int = 0
    dropped_values: int = 0


def parse_events(data: bytes | str) -> tuple[list[dict[str, Any]], int, int]:
    """Numeric events from JSON lines; returns (events, bad lines, dropped non-numeric values)."""
    events, bad, dropped = [], 0, 0
    for _, obj in iter_jsonl(data):
        if obj is None:
            bad += 1
            continue
        event: dict[str, Any] = {}
        for key, value in obj.items():
            if key == "step" and _finite_number(value):
                event["step"] = int(value)
            elif key in ("epoch", "time") and _finite_number(value):
                event[key] = float(value)
            elif key in RESERVED:
                dropped += 1  # a step / epoch / time that is not a finite number
            else:
                num = _num(value)
                if num is None:
                    dropped += 1
                else:
                    event[str(key)] = num
        if any(k not in RESERVED for k in event):
            events.append(event)
    return events, bad, dropped


def regex_events(log_path: Path, patterns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Metric events captured by regexes over a log (for programs that only print)."""
    if not patterns or not log_path.exists():
        return []
    compiled = {name: re.compile(p) for name, p in patterns.items()}
    counts = {name: 0 for name in patterns}
    events = []
    with open(log_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            for name, rx in compiled.items():
                for m in rx.finditer(line):
                    raw = m.group("value") if "value" in rx.groupindex else m.group(1)
                    try:
                        value = float(raw)
                    except (TypeError, ValueError):
                        continue
                    counts[name] += 1
                    step = counts[name]
                    if "step" in rx.groupindex and m.group("step") is not None:
                        try:
                            step = int(m.group("step"))
                        except ValueError:
                            pass
                    events.append({"step": step, name: value, "_source": "log"})
    return events


def collect(run_dir: Path, metrics_file: Path, patterns: Mapping[str, str]) -> Collected:
    out = Collected()
    if metrics_file.exists():
        events, out.bad_lines, out.dropped_values = parse_events(metrics_file.read_bytes())
        out.events.extend(events)
    out.events.extend(regex_events(run_dir / "train.log", patterns))
    final: dict[str, float] = {}
    for event in out.events:
        for key, value in event.items():
            if key not in RESERVED:
                final[key] = value
    final_file = run_dir / "metrics.json"
    if final_file.exists():
        try:
            data = json.loads(final_file.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                for key, value in data.items():
                    num = _num(value)
                    if num is not None:
                        final[str(key)] = num
        except (ValueError, OSError):
            out.bad_lines += 1
    out.final = final
    return out


def best_values(events: Iterable[Mapping[str, Any]], final: Mapping[str, float], direction_of) -> dict[str, float]:
    """Best finite value of each metric over the curve (and the final values)."""
    best: dict[str, float] = {}
    for source in (*events, final):
        for key, value in source.items():
            if key in RESERVED or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            if key not in best:
                best[key] = value
            elif direction_of(key) == "min":
                best[key] = min(best[key], value)
            else:
                best[key] = max(best[key], value)
    return best


def first_last(events: Iterable[Mapping[str, Any]], metric: str) -> tuple[float | None, float | None]:
    values = [e[metric] for e in events if metric in e]
    return (values[0], values[-1]) if values else (None, None)


def run_check(
    check: str,
    *,
    exit_code: int | None,
    events: list[dict[str, Any]],
    final: Mapping[str, float],
    run_dir: Path,
    loss_metric: str = "train_loss",
    converge_ratio: float = 0.1,
    expect_metrics: Iterable[str] = (),
    expect_files: Iterable[str] = (),
    primary_metric: str | None = None,
) -> dict[str, Any]:
    """The stage check: {"check": name, "passed": bool, "reasons": [...]} ("none" passes trivially).

    ``smoke`` also fails when the project's primary metric never appears: a run that cannot
    be compared has not run end to end (the reason names the metrics that did appear)."""
    reasons: list[str] = []
    if check == "none":
        return {"check": check, "passed": True, "reasons": []}
    if exit_code != 0:
        reasons.append(f"exit code {exit_code}")
    values = [v for e in events for k, v in e.items() if k not in RESERVED] + list(final.values())
    if not values:
        reasons.append("no metrics recorded")
    bad = sorted({k for e in (*events, final) for k, v in e.items() if k not in RESERVED and not math.isfinite(v)})
    if bad and check in ("smoke", "converge", "metrics"):
        reasons.append("non-finite values in " + ", ".join(bad))
    names = {k for e in events for k in e} | set(final)
    if check == "smoke" and primary_metric and primary_metric not in names and values:
        seen = sorted(k for k in names if k not in RESERVED)
        reasons.append(f"primary metric {primary_metric} never recorded (recorded: {', '.join(seen)})")
    for metric in expect_metrics:
        if metric not in names and not (check == "smoke" and metric == primary_metric):
            reasons.append(f"metric {metric} missing")
    for pattern in expect_files:
        if not glob.glob(str(run_dir / pattern)):
            reasons.append(f"no file matches {pattern}")
    detail: dict[str, Any] = {}
    if check == "converge":
        first, last = first_last(events, loss_metric)
        if first is None:
            reasons.append(f"{loss_metric} not recorded")
        elif not (math.isfinite(first) and math.isfinite(last)) or first <= 0:
            reasons.append(f"{loss_metric} first={first} last={last}: cannot judge convergence")
        else:
            ratio = last / first
            detail = {"first": first, "last": last, "ratio": ratio, "threshold": converge_ratio}
            if ratio > converge_ratio:
                reasons.append(
                    f"{loss_metric} fell only to {ratio:.1%} of its first value (needs <= {converge_ratio:.0%})"
                )
    return {"check": check, "passed": not reasons, "reasons": reasons, **({"detail": detail} if detail else {})}
