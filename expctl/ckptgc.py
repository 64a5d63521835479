"""``expctl gc --checkpoints``: free the disk that checkpoints of unreferenced runs hold.

A run's checkpoints (``runs/<id>/checkpoints/``: best, last and the resumable ``step-N``
states) are kept when the run is referenced: a main-line tag's run (every run of the
tag's code when the tag names none), a run of an open exploration, a run still running. Every other run's
checkpoints folder is listed with its size on disk (hard-linked files counted once) and
deleted only with ``yes``. The record, metrics, logs and predictions stay: only the
weights go, and ``expctl reproduce`` can make them again from the recorded code.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any


@dataclass
class Candidate:
    run_id: str
    stage: str | None
    started: str | None
    path: str  # relative to the project root
    bytes: int


def referenced_runs(store) -> dict[str, str]:
    """run id -> why it is kept."""
    from expctl import strategies

    keep: dict[str, str] = {}
    for s in strategies.collect(store):
        if s.kind == "tag":
            # the run the tag names; a tag made without one keeps every run of its code
            for rid in [s.run] if s.run else [r["id"] for r in s.runs]:
                keep.setdefault(rid, f"tag {s.name}")
        elif s.status == "open":
            for r in s.runs:
                keep.setdefault(r["id"], f"exploration {s.name}")
    return keep


def plan(store) -> tuple[list[Candidate], dict[str, str], int]:
    """(checkpoint folders that can go, runs kept and why, bytes the kept ones hold)."""
    from trainers.api import disk_usage

    keep = referenced_runs(store)
    out: list[Candidate] = []
    kept_bytes = 0
    for record in store.all():
        folder = store.run_dir(record["id"]) / "checkpoints"
        if not folder.is_dir():
            continue
        size = disk_usage(str(folder))
        if record.get("status") == "running":
            keep.setdefault(record["id"], "running")
        if record["id"] in keep:
            kept_bytes += size
            continue
        out.append(
            Candidate(
                record["id"], record.get("stage"), record.get("started"), str(folder.relative_to(store.root)), size
            )
        )
    out.sort(key=lambda c: -c.bytes)
    return out, keep, kept_bytes


def delete(store, candidates: list[Candidate]) -> int:
    freed = 0
    for c in candidates:
        shutil.rmtree(store.root / c.path, ignore_errors=True)
        freed += c.bytes
    return freed


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def rows(candidates: list[Candidate]) -> list[dict[str, Any]]:
    return [
        {"run": c.run_id, "stage": c.stage or "-", "started": c.started, "checkpoints": c.path, "size": human(c.bytes)}
        for c in candidates
    ]
