"""Run groups, one engine: the group id, the plan of member runs, the executors, the lookup,
and the one record field that says a run belongs to a group.

A run group is several ordinary recorded runs made as one experiment: the configurations
of a sweep (``expctl sweep``), the K folds of ``expctl kfold``, the N seeds of
``expctl run --seeds``. Every member carries the record field

    group: {kind: sweep|kfold|seeds, id, index, size, ...what the kind adds}

(sweep: ``config, varied, base, seed``; kfold: ``fold, k``; seeds: ``seed``). Runs of a
sweep or of ``run --seeds`` also carry the field older expctl wrote for them,
``sweep: {id, config, varied, base, seed}``, for readers outside expctl; expctl itself
reads membership only through :func:`membership`, which maps records written before the
engine (``sweep: {...}`` alone; ``group: {kind: kfold, id, fold, k}`` without index/size) to
the same shape.

- :func:`new_id` makes the group id (``sweep-…`` for sweeps and seed groups, ``kfold-…``);
- :class:`Plan` / :class:`Member`: the member runs (stage, ``-s`` assignments, the group
  field's own part, a progress label), their ``expctl run`` argv and their record fields;
- executors: :class:`SubprocessExecutor` runs the members as ``expctl run --meta …``
  subprocesses (one at a time, or N at a time pinned to devices), :class:`InProcessExecutor`
  runs them in this process (``run --seeds``: one command, one record at a time), and
  :class:`SlurmExecutor` submits them as one job array (:func:`expctl.cluster.submit`);
- :func:`lookup` / :func:`runs_of`: a group's runs among records.

Ensembles combine existing runs: :func:`expand_refs` lets ``expctl ensemble`` take a group id
for its members.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from expctl.errors import NotFoundError

FIELD = "group"
LEGACY_FIELD = "sweep"  # the field of sweep / seed-group runs before the engine
KINDS = ("sweep", "kfold", "seeds")
SWEEP_KINDS = ("sweep", "seeds")  # what `sweep --show` and `wait` tabulate as a sweep
_ID_PREFIX = {"sweep": "sweep", "seeds": "sweep", "kfold": "kfold"}  # seed groups share the sweep's ids
_NOUN = {"sweep": "sweep", "seeds": "seed group", "kfold": "kfold"}  # as progress lines name them


def new_id(kind: str) -> str:
    """A group id: ``<prefix>-YYYYMMDD-HHMMSS-xxxx`` (UTC)."""
    return f"{_ID_PREFIX.get(kind, kind)}-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


# ------------------------------------------------------------------------- the plan
@dataclass
class Member:
    """One member run: what ``expctl run`` is given, and the group field's own part."""

    stage: str | None
    assignments: list[str]
    detail: dict[str, Any] = field(default_factory=dict)  # kind-specific keys of the group field
    label: str = ""  # the progress line's text after the group id, e.g. "[2/5] lr=0.1"
    name: str | None = None
    extra_args: list[str] = field(default_factory=list)
    extra_record: dict[str, Any] = field(default_factory=dict)  # other record fields (the caller's --meta)


@dataclass
class Plan:
    kind: str
    id: str
    members: list[Member]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def noun(self) -> str:
        return _NOUN.get(self.kind, self.kind)

    def record_fields(self, index: int) -> dict[str, Any]:
        """The fields a member's record gets: ``group`` (the one record field of run groups)."""
        m = self.members[index]
        fields = {**m.extra_record, FIELD: {"kind": self.kind, "id": self.id, "index": index, "size": self.size}}
        fields[FIELD].update(m.detail)
        return fields

    def run_args(self, index: int) -> list[str]:
        """The ``expctl run`` argv of a member (without the program name)."""
        m = self.members[index]
        args = ["run", "-q"]
        if m.stage:
            args += ["--stage", m.stage]
        for a in m.assignments:
            args += ["-s", a]
        if m.name:
            args += ["--name", m.name]
        args += ["--meta", json.dumps(self.record_fields(index))]
        if m.extra_args:
            args += ["--", *m.extra_args]
        return args

    def progress(self, index: int) -> str:
        return f"expctl: {self.noun} {self.id} {self.members[index].label}"


# ------------------------------------------------------------------------ executors
class SubprocessExecutor:
    """Each member as ``python -m expctl.cli run … --meta …`` in ``root``: one at a time, or
    ``parallel`` at a time (their output to /dev/null), pinned to ``devices`` (CUDA_VISIBLE_DEVICES)."""

    def __init__(self, root, *, parallel: int = 1, devices: list[str] | None = None, echo=print):
        self.root, self.parallel, self.devices, self.echo = root, parallel, devices, echo

    def run(self, plan: Plan) -> list[int]:
        exe = [sys.executable, "-m", "expctl.cli"]
        codes: list[int] = []
        if self.parallel <= 1:
            for i in range(plan.size):
                self.echo(plan.progress(i))
                env = dict(os.environ)
                if self.devices:
                    env["CUDA_VISIBLE_DEVICES"] = self.devices[0]
                codes.append(subprocess.run([*exe, *plan.run_args(i)], cwd=self.root, env=env).returncode)
            return codes
        running: list[tuple[subprocess.Popen, str | None]] = []
        queue = list(range(plan.size))
        free = list(self.devices or [None] * self.parallel)
        while queue or running:
            while queue and free and len(running) < self.parallel:
                i = queue.pop(0)
                dev = free.pop(0)
                env = dict(os.environ)
                if dev is not None:
                    env["CUDA_VISIBLE_DEVICES"] = dev
                self.echo(plan.progress(i) + (f" on device {dev}" if dev else ""))
                proc = subprocess.Popen([*exe, *plan.run_args(i)], cwd=self.root, env=env, stdout=subprocess.DEVNULL)
                running.append((proc, dev))
            time.sleep(0.05)
            for proc, dev in list(running):
                if proc.poll() is not None:
                    codes.append(proc.returncode)
                    running.remove((proc, dev))
                    free.append(dev)
        return codes


class InProcessExecutor:
    """Each member through :func:`expctl.runner.execute` in this process, one after another,
    stopping at the first interrupted run; ``quiet`` silences the progress lines too."""

    def __init__(self, project, *, force: bool = False, quiet: bool = False, echo=print):
        self.project, self.force, self.quiet, self.echo = project, force, quiet, echo

    def run(self, plan: Plan) -> list[int]:
        from expctl import runner

        codes: list[int] = []
        for i, m in enumerate(plan.members):
            if not self.quiet:
                self.echo(plan.progress(i))
            record = runner.execute(
                self.project,
                stage=m.stage,
                assignments=list(m.assignments),
                name=m.name,
                extra_args=list(m.extra_args),
                force=self.force,
                quiet=self.quiet,
                extra_record=plan.record_fields(i),
            )
            codes.append(runner.exit_code_for(record))
            if record["status"] == "interrupted":
                break
        return codes


class SlurmExecutor:
    """The members as one Slurm job array (at most ``[cluster] array_parallelism`` at once);
    returns the ``queued`` records at once."""

    def __init__(self, cfg, store, overrides, *, force: bool = False, what: str = "a run", verb: str = "run"):
        self.cfg, self.store, self.overrides = cfg, store, list(overrides)
        self.force, self.what, self.verb = force, what, verb

    def specs(self, plan: Plan) -> list:
        from expctl.cluster import RunSpec

        return [
            RunSpec(m.stage, list(m.assignments), m.name, list(m.extra_args), plan.record_fields(i), {})
            for i, m in enumerate(plan.members)
        ]

    def run(self, plan: Plan) -> list[dict[str, Any]]:
        from expctl import cluster

        return cluster.submit(
            self.cfg, self.store, self.specs(plan), self.overrides, force=self.force, what=self.what, verb=self.verb
        )


# --------------------------------------------------------------------- membership
def membership(record: dict[str, Any]) -> dict[str, Any] | None:
    """The run's group as ``{kind, id, index, size, ...}``, from the ``group`` field or, for
    records written before the engine, from ``sweep: {id, config, varied, base, seed}``
    (kind sweep) and ``group: {kind: kfold, id, fold, k}``; None when the run is in none."""
    g = record.get(FIELD)
    if isinstance(g, dict) and g.get("id") is not None and g.get("kind"):
        out = dict(g)
        if out["kind"] == "kfold":
            out.setdefault("index", out.get("fold"))
            out.setdefault("size", out.get("k"))
            out.setdefault("fold", out.get("index"))
            out.setdefault("k", out.get("size"))
        elif out["kind"] in SWEEP_KINDS:
            out.setdefault("config", {})
            out.setdefault("varied", None)
            out.setdefault("base", {})
            out.setdefault("seed", None)
        out.setdefault("index", None)
        out.setdefault("size", None)
        return out
    s = record.get(LEGACY_FIELD)
    if isinstance(s, dict) and s.get("id") is not None:
        return {
            "kind": "sweep",
            "id": s["id"],
            "index": None,
            "size": None,
            "config": s.get("config") or {},
            "varied": s.get("varied"),
            "base": s.get("base") or {},
            "seed": s.get("seed"),
        }
    return None


def legacy_sweep(record: dict[str, Any]) -> dict[str, Any] | None:
    """``{id, config, varied, base, seed}`` of a sweep or seed-group member, the shape of the
    ``sweep`` field records had before the engine (JSON output keeps showing it); else None."""
    m = membership(record)
    if m is None or m["kind"] not in SWEEP_KINDS:
        return None
    return {k: m.get(k) for k in ("id", "config", "varied", "base", "seed")}


def lookup(
    records: list[dict[str, Any]], kinds: tuple[str, ...], group_id: str | None, *, none_yet: str, unknown: str
) -> tuple[str, list[dict[str, Any]]]:
    """(the group id, its runs in ``records`` order) among runs of ``kinds``; the newest group
    when ``group_id`` is None. ``none_yet`` / ``unknown`` (with ``{id}``) are the NotFoundError texts."""
    grouped = [(r, m) for r in records if (m := membership(r)) is not None and m["kind"] in kinds]
    if not grouped:
        raise NotFoundError(none_yet)
    if group_id is None:
        group_id = max(grouped, key=lambda rm: rm[0].get("started", ""))[1]["id"]
    mine = [r for r, m in grouped if m["id"] == group_id]
    if not mine:
        raise NotFoundError(unknown.format(id=group_id))
    return group_id, mine


def runs_of(records: list[dict[str, Any]], group_id: str) -> list[dict[str, Any]]:
    """The runs of group ``group_id`` (any kind), in ``records`` order; [] when none."""
    return [r for r in records if (m := membership(r)) is not None and m["id"] == group_id]


def by_index(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs sorted by their index in the group (runs without one last, in their order)."""

    def key(r):
        m = membership(r) or {}
        return (m.get("index") is None, m.get("index") or 0)

    return sorted(runs, key=key)


def looks_like_group_id(ref: str) -> bool:
    """Whether ``ref`` has the shape of a group id (``sweep-…``, ``kfold-…``)."""
    return ref.startswith(tuple(f"{p}-" for p in sorted(set(_ID_PREFIX.values()))))


def expand_refs(records: list[dict[str, Any]], refs: list[str]) -> list[str]:
    """``refs`` with every group id replaced by its runs' ids (in group order): how
    ``expctl ensemble kfold-…`` names the K fold runs at once. Other refs are kept as given."""
    out: list[str] = []
    for ref in refs:
        members = runs_of(records, ref) if looks_like_group_id(ref) else []
        out.extend([r["id"] for r in by_index(members)] if members else [ref])
    return out
