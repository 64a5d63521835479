"""Metrics from your own script, with nothing heavy imported.

    from expctl import track
    cfg = track.settings()                     # the run's resolved settings (a dict)
    track.log_metrics(step=10, train_loss=0.53, lr=2e-5)
    track.log_metrics(step=100, eval_accuracy=0.81)
    track.log_final(eval_accuracy=0.83)        # optional: the run's final metrics

Lines go to ``$EXPCTL_METRICS`` (JSON lines, one append per call, flushed at once so a
crash loses nothing already logged). Outside expctl (no ``$EXPCTL_METRICS``) the calls
write to ``./metrics.jsonl``. Only call these from the main process of a multi-process job.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

__all__ = ["settings", "log_metrics", "log_final", "run_dir"]


def run_dir() -> str:
    return os.environ.get("EXPCTL_RUN_DIR", ".")


def settings() -> dict[str, Any]:
    """The resolved settings of this run ({} outside expctl)."""
    path = os.environ.get("EXPCTL_SETTINGS")
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:  # numpy / torch scalars
        return float(value)
    except (TypeError, ValueError):
        return None


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        num = _number(value)
        if num is None:
            raise TypeError(f"metric {key!r} is not a number: {value!r}")
        if isinstance(num, float) and not math.isfinite(num):
            num = str(num)  # "nan" / "inf": recorded, and flagged by the stage checks
        out[key] = num
    return out


def log_metrics(step: int | None = None, epoch: float | None = None, **metrics: Any) -> None:
    """Append one metrics event."""
    event: dict[str, Any] = {}
    if step is not None:
        event["step"] = int(step)
    if epoch is not None:
        event["epoch"] = float(epoch)
    event.update(_clean(metrics))
    event["time"] = round(time.time(), 3)
    line = json.dumps(event, ensure_ascii=False) + "\n"
    path = os.environ.get("EXPCTL_METRICS") or "metrics.jsonl"
    fresh = not os.environ.get("EXPCTL_METRICS") and not os.path.exists(path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
    if fresh:  # outside a run: ./metrics.jsonl is expctl's output, never part of a code snapshot
        from expctl import outputs

        outputs.register(path)


def log_final(**metrics: Any) -> None:
    """Write the run's final metrics (``metrics.json`` in the run folder), atomically."""
    path = os.path.join(run_dir(), "metrics.json")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(_clean(metrics), fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
