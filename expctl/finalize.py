"""Finishing records whose run ended: by its own expctl (:func:`finalize`), after that
process died (:func:`finalize_after_death`, :func:`finalize_stale`, called by listings), or
after Slurm's verdict on a job that left the queue (:func:`refresh`, :func:`settle`).

Below the store: it reads run folders and writes through the ``store`` it is given, and
imports neither expctl.records nor anything above it (runner, cluster, strategies, commands).
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expctl import runmetrics as metrics_mod
from expctl.errors import ExpctlError
from expctl.fsutil import iso, read_json
from expctl.record import Record
from expctl.settings import flatten

if TYPE_CHECKING:
    from expctl.config import Config
    from expctl.records import Store

FINAL = ("succeeded", "failed", "interrupted")
# exit status 128+N of a program killed by signal N (as bash reports it) -> signal name
_KILLED_BY = {129: "HUP", 130: "INT", 137: "KILL", 143: "TERM"}


def finalize(
    cfg: Config | None,
    store: Store,
    record: dict[str, Any],
    *,
    returncode: int | None,
    signals: list[int],
    t0: float | None = None,
    inferred: bool = False,
) -> dict[str, Any]:
    """Compute status, metrics and the stage check; store the final record."""
    run_dir = store.run_dir(record["id"])
    exit_info: dict[str, Any] = {}
    try:
        exit_info = read_json(run_dir / "exit_status.json")
    except (OSError, ValueError):
        pass
    if not isinstance(exit_info, dict):
        exit_info = {}
    exit_code = exit_info.get("exit_code", returncode)
    if not isinstance(exit_code, int) or isinstance(exit_code, bool):
        exit_code = returncode
    if isinstance(exit_code, int) and exit_code < 0:  # run.sh itself killed by a signal
        exit_code = 128 - exit_code
    # returncode None: expctl died and a later listing finishes the record. If run.sh
    # saw the program end on its own (exit_status.json, no signal), that outcome stands.
    clean_end = returncode is not None or ("exit_code" in exit_info and not exit_info.get("signal"))
    interrupted = (
        bool(signals) or bool(exit_info.get("signal")) or not clean_end or (returncode is not None and returncode < 0)
    )
    program_signal = None
    if not interrupted and exit_code in _KILLED_BY:
        # the program was killed from outside (OOM killer, kill -9, a terminal closing):
        # it did not finish, so the run is interrupted, not failed
        interrupted, program_signal = True, _KILLED_BY[exit_code]
    if interrupted:
        status = "interrupted"
    else:
        status = "succeeded" if exit_code == 0 else "failed"

    patterns = cfg.metric_regex if cfg else {}
    collected = metrics_mod.collect(run_dir, run_dir / "metrics.jsonl", patterns)
    from expctl.config import metric_direction_guess

    direction_of = cfg.direction_of if cfg else metric_direction_guess
    best = metrics_mod.best_values(collected.events, collected.final, direction_of)
    stage = cfg.stages.get(record.get("stage") or "") if cfg else None
    if stage:
        check = metrics_mod.run_check(
            stage.check,
            exit_code=exit_code,
            events=collected.events,
            final=collected.final,
            run_dir=run_dir,
            loss_metric=stage.loss_metric,
            converge_ratio=stage.converge_ratio,
            expect_metrics=stage.expect_metrics,
            expect_files=stage.expect_files,
            primary_metric=(cfg.primary_metric if cfg else None) or record.get("primary_metric"),
        )
        if status == "interrupted":
            check = {**check, "passed": False, "reasons": ["interrupted"] + check["reasons"]}
    else:
        check = None
    checkpoints = None
    try:
        manifest = read_json(run_dir / "checkpoints.json")
        if isinstance(manifest, dict):  # written by the program: masked like everything in git
            from expctl.envinfo import mask_mapping, secret_values

            checkpoints = mask_mapping(
                manifest,
                sorted(set(secret_values()) | {v for v in store.extra_secrets if len(v) >= 6}, key=len, reverse=True),
            )
    except (OSError, ValueError):
        pass

    now = time.time()
    ended = exit_info.get("ended") or iso(now)
    started = record.get("started")
    duration = None
    if t0 is not None:
        duration = round(now - t0, 3)
    elif started:
        try:
            import calendar

            duration = round(
                calendar.timegm(time.strptime(ended, "%Y-%m-%dT%H:%M:%SZ"))
                - calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ")),
                3,
            )
        except ValueError:
            duration = None
    record = dict(record)
    record.pop("_commit", None)
    _merge_resolved_settings(record, run_dir)
    record.update(
        {
            "status": status,
            "ended": ended,
            "duration_s": duration,
            "exit_code": exit_code,
            "signal": exit_info.get("signal")
            or (signal.Signals(signals[0]).name.removeprefix("SIG") if signals else None)
            or program_signal,
            "metrics": {
                "final": collected.final,
                "best": best,
                "events": len(collected.events),
                "bad_lines": collected.bad_lines,
                "dropped_values": collected.dropped_values,
            },
            "check": check,
            "checkpoints": checkpoints,
        }
    )
    if inferred:  # finished by a later listing, not by the run's own expctl: a real final record wins
        record["inferred"] = True
    curve = "".join(_event_line(e) for e in collected.events).encode()
    extra = {"metrics.jsonl": curve} if len(curve) <= 8 * 1024 * 1024 else {}
    store.save(record, Record(record).commit, extra=extra)
    store.maintain()
    return record


def _merge_resolved_settings(record: dict[str, Any], run_dir: Path) -> None:
    """Values the program decided at run time (``settings_resolved.json``, e.g. the batch size
    that ``batch_size=auto`` found) replace the requested ones in the record's settings; the
    requested values stay in ``settings_requested``."""
    try:
        resolved = read_json(run_dir / "settings_resolved.json")
    except (OSError, ValueError):
        return
    if not isinstance(resolved, dict) or not resolved:
        return
    from expctl.envinfo import mask_mapping
    from expctl.settings import unflatten

    flat = flatten(Record(record).settings)
    requested = {}
    for key, value in flatten(resolved).items():
        if isinstance(value, (dict, list)) or not isinstance(key, str):
            continue
        if flat.get(key) != value:
            requested[key] = flat.get(key)
            flat[key] = value
    if requested:
        record["settings"] = mask_mapping(unflatten(flat))
        record["settings_requested"] = requested


def _event_line(event: dict[str, Any]) -> str:
    import json

    clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in event.items()}
    return json.dumps(clean, ensure_ascii=False, sort_keys=False) + "\n"


def finalize_after_death(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """Finish a run whose expctl process is gone: interrupted unless run.sh saw a clean end."""
    cfg = None
    try:
        from expctl import config as config_mod

        cfg = config_mod.load(store.root)
    except Exception:  # noqa: BLE001 - a broken config must not block the repair
        cfg = None
    final = finalize(cfg, store, record, returncode=None, signals=[], inferred=True)
    return final


def finalize_stale(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """Finish the record of a run whose expctl process died (SIGKILL, power loss); a listing
    never crashes on one run: a failure is a warning and the record is shown interrupted."""
    try:
        return finalize_after_death(store, record)
    except Exception as exc:  # noqa: BLE001 - a listing must never crash on one run
        store.warnings.append(f"run {record['id']}: could not finalize stale record: {exc}")
        shown = dict(record)
        shown["status"] = "interrupted"
        return shown


# ------------------------------------------------------------------ Slurm
def pending(record: dict[str, Any]) -> bool:
    info = record.get("slurm")
    return isinstance(info, dict) and not info.get("final")


def refresh(store: Store, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slurm's live state for queued/running records; Slurm's verdict for ended jobs."""
    todo = [i for i, r in enumerate(records) if pending(r)]
    if not todo:
        return records
    from expctl import slurm

    try:
        live = slurm.queue()
    except ExpctlError as exc:
        store.warnings.append(f"cannot ask Slurm about {len(todo)} run(s): {exc}")
        return records
    if live is None:  # no Slurm here: the last state known to git stands
        return records
    gone = []
    for i in todo:
        r = records[i]
        info = r["slurm"]
        state = live.get(info.get("job_id") or "")
        if state is None and info.get("raw_job_id"):
            state = live.get(info["raw_job_id"])
        if state is not None:
            shown = dict(r)
            shown["slurm"] = {**info, "state": state[0], "reason": None if state[1] in ("None", "") else state[1]}
            if r.get("status") not in FINAL:
                shown["status"] = "running" if state[0] in slurm.RUNNING_STATES else "queued"
            records[i] = shown
        else:
            gone.append(i)
    if not gone:
        return records
    raw = {
        records[i]["slurm"].get("raw_job_id")
        or (records[i]["slurm"]["job_id"] if not records[i]["slurm"].get("array_job") else "")
        for i in gone
    } - {""}
    verdicts = slurm.ended(raw)
    for i in gone:
        try:
            records[i] = settle(store, records[i], verdicts)
        except (ExpctlError, OSError) as exc:
            store.warnings.append(f"run {records[i]['id']}: could not record Slurm's verdict: {exc}")
    return records


def settle(store: Store, record: dict[str, Any], verdicts: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A run whose job has left Slurm's queue: record Slurm's verdict (once)."""
    info = dict(record["slurm"])
    raw = info.get("raw_job_id") or (info["job_id"] if not info.get("array_job") else None)
    state, exit_code = verdicts.get(raw or "", (None, None))
    status = record.get("status")
    run_dir = store.run_dir(record["id"])
    started = (run_dir / "slurm_status.json").exists() or status == "running"
    if status not in FINAL:
        if not started and state is None:
            state = "CANCELLED"  # left the queue before it ever started
        record = finalize_after_death(store, record)
    reason = None
    if state in slurm_verdicts():
        record["status"] = slurm_verdicts()[state]
        reason = f"Slurm: {state}" + (f" (exit {exit_code})" if exit_code and exit_code != "0:0" else "")
    elif state is None and status not in FINAL:
        reason = "the job left Slurm's queue without a final record (no accounting entry found)"
    info.update({"state": state or info.get("state"), "reason": reason, "final": True})
    record = {k: v for k, v in record.items() if k != "_commit"}
    record["slurm"] = info
    if reason:
        record["reason"] = reason
    if record.get("check") and record["status"] != "succeeded":
        record["check"] = {**record["check"], "passed": False}
    store.save(record, Record(record).commit)
    return record


def slurm_verdicts() -> dict[str, str]:
    from expctl.slurm import VERDICT_STATUS

    return VERDICT_STATUS
