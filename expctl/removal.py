"""`expctl rm`: deleting runs, and carrying the deletion to a remote.

A deleted run loses its record ref (``refs/expctl/runs/<id>``) and its run folder; its
checkpoints (``runs/<id>/checkpoints/``) stay unless asked for. The deletion leaves a
tombstone, ``refs/expctl/deleted/<id>``, which ``push`` sends together with the deletion
of the remote's record ref, and which ``pull`` applies: a record with a tombstone is
deleted locally, so a deleted run never comes back from a remote (nor from another clone
that pulls the tombstone). A run a tag or an open exploration refers to, or one still
running, is refused unless forced.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNS = "refs/expctl/runs/"
TOMBS = "refs/expctl/deleted/"


@dataclass
class Item:
    record: dict[str, Any]
    folder: Path | None  # the run folder, when it exists
    bytes: int = 0  # what deleting frees on disk
    checkpoints: Path | None = None  # the checkpoints folder, when it exists
    keeps_checkpoints: bool = False
    refused: str | None = None  # why it may not go without --force


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)

    @property
    def refused(self) -> list[Item]:
        return [i for i in self.items if i.refused]


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def plan(store, records: list[dict[str, Any]], *, checkpoints: bool = False) -> Plan:
    from expctl.ckptgc import referenced_runs

    keep = referenced_runs(store) if records else {}
    out = Plan()
    for record in records:
        folder = store.run_dir(record["id"])
        item = Item(record, folder if folder.is_dir() else None)
        ck = folder / "checkpoints"
        if ck.is_dir():
            item.checkpoints = ck
            item.keeps_checkpoints = not checkpoints
        if item.folder is not None:
            item.bytes = _size(folder) - (_size(ck) if item.keeps_checkpoints else 0)
        if record.get("status") == "running":
            item.refused = "still running"
        elif record["id"] in keep:
            item.refused = f"referenced by {keep[record['id']]}"
        out.items.append(item)
    return out


def rows(p: Plan) -> list[dict[str, Any]]:
    from expctl.ckptgc import human

    return [
        {
            "run": i.record["id"],
            "name": i.record.get("name") or "",
            "stage": i.record.get("stage") or "",
            "status": i.record.get("status"),
            "folder": "-" if i.folder is None else human(i.bytes),
            "checkpoints": "-" if i.checkpoints is None else ("kept" if i.keeps_checkpoints else "deleted"),
            "note": i.refused or "",
        }
        for i in p.items
    ]


def delete(store, p: Plan) -> int:
    """Delete what ``p`` lists; returns the bytes freed. The tombstone is written before the
    record ref goes, so an interruption never loses a deletion a later push should carry."""
    repo = store.repo
    freed = 0
    for item in p.items:
        rid = item.record["id"]
        body = json.dumps({"id": rid, "deleted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
        tomb = repo.write_commit(repo.write_tree({"deleted.json": body}), [], f"expctl rm {rid}\n")
        repo.update_ref(TOMBS + rid, tomb, reason="expctl rm")
        if repo.rev_parse(RUNS + rid) is not None:
            repo.delete_ref(RUNS + rid)
        if item.folder is not None:
            freed += item.bytes
            if item.keeps_checkpoints:
                for child in item.folder.iterdir():
                    if child.name != "checkpoints":
                        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            else:
                shutil.rmtree(item.folder, ignore_errors=True)
    store.invalidate()
    return freed


def tombstones(repo) -> set[str]:
    return {ref[len(TOMBS) :] for ref in repo.refs(TOMBS)}


def push_specs(repo, remote_refs: dict[str, str]) -> list[str]:
    """Refspecs deleting, on the remote, the records deleted here."""
    return [f":{RUNS}{rid}" for rid in sorted(tombstones(repo)) if RUNS + rid in remote_refs]


def apply_tombstones(store) -> int:
    """Delete the local records that a tombstone (local or pulled) names; how many went."""
    repo = store.repo
    gone = 0
    local = repo.refs(RUNS)
    for rid in tombstones(repo):
        if RUNS + rid in local:
            repo.delete_ref(RUNS + rid)
            gone += 1
    if gone:
        store.invalidate()
    return gone
