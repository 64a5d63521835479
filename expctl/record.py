"""One run record: named accessors over the stored dict, and the one constructor of new records.

A record is the JSON object in ``record.json`` (expctl.records stores it, expctl.recordschema
checks it). Code reads it through :class:`Record` instead of ``(r.get("metrics") or {})``
chains: ``Record(r).final`` is the final metrics, ``{}`` when there are none. A ``Record``
is a view: it copies nothing and costs one small object, so listings keep their dicts and
wrap a record only where they read it.

:meth:`Record.new` builds every new record (a local run, a Slurm submission, an ensemble):
the fields every record has, in one order, with :data:`SCHEMA`.
"""

from __future__ import annotations

from typing import Any

from expctl.fsutil import iso

SCHEMA = 1  # the record format's version: record.json's ``schema``


class Record:
    """A read-only view of one record dict (``raw``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw

    # -------------------------------------------------------------- identity
    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def name(self) -> str | None:
        return self.raw.get("name")

    @property
    def stage(self) -> str | None:
        return self.raw.get("stage")

    @property
    def status(self) -> str | None:
        return self.raw.get("status")

    # ------------------------------------------------------------ what it ran
    @property
    def settings(self) -> dict[str, Any]:
        return self.raw.get("settings") or {}

    @property
    def data(self) -> dict[str, Any]:
        """Fingerprints of the data files the settings name."""
        return self.raw.get("data") or {}

    @property
    def data_inputs(self) -> dict[str, Any]:
        return self.raw.get("data_inputs") or {}

    @property
    def env(self) -> dict[str, Any]:
        return self.raw.get("env") or {}

    @property
    def code(self) -> dict[str, Any]:
        return self.raw.get("code") or {}

    @property
    def commit(self) -> str | None:
        """The exact code the run ran (HEAD or a snapshot commit of the dirty tree)."""
        return self.code.get("commit")

    @property
    def head(self) -> str | None:
        return self.code.get("head")

    @property
    def tree(self) -> str | None:
        return self.code.get("tree")

    @property
    def branch(self) -> str | None:
        return self.code.get("branch")

    # ----------------------------------------------------------- what it gave
    @property
    def metrics(self) -> dict[str, Any]:
        return self.raw.get("metrics") or {}

    @property
    def final(self) -> dict[str, Any]:
        """The final metrics, ``{}`` when there are none."""
        return self.metrics.get("final") or {}

    @property
    def check(self) -> dict[str, Any]:
        """The stage check's verdict, ``{}`` when the run had none."""
        return self.raw.get("check") or {}

    @property
    def checkpoints(self) -> dict[str, Any]:
        return self.raw.get("checkpoints") or {}

    @property
    def slurm(self) -> dict[str, Any]:
        """The Slurm job of a submitted run, ``{}`` for a local run."""
        return self.raw.get("slurm") or {}

    # ------------------------------------------------------------ constructor
    @classmethod
    def new(
        cls,
        run_id: str,
        *,
        name: str | None,
        stage: str | None,
        status: str,
        started: float,
        command: list[str],
        settings: dict[str, Any],
        code: dict[str, Any],
        data: dict[str, Any],
        env: dict[str, Any],
        primary_metric: str | None,
        direction: str | None,
        submitted: bool = False,
        exact_start: bool = True,
        ended: float | None = None,
        exit_code: int | None = None,
        metrics: dict[str, Any] | None = None,
        process: Any = ...,
        **more: Any,
    ) -> Record:
        """A new record: ``started`` (and ``ended``) are Unix times; ``submitted`` records the
        start as the submission time too (a Slurm job); ``exact_start`` keeps ``started_unix``,
        which orders runs of the same second; ``process`` (who can tell whether the run's
        expctl lives) is left out when not given; ``more``: fields after the common ones."""
        raw: dict[str, Any] = {"schema": SCHEMA, "id": run_id, "name": name, "stage": stage, "status": status}
        if submitted:
            raw["submitted"] = iso(started)
        raw["started"] = iso(started)
        if exact_start:
            raw["started_unix"] = round(started, 6)
        raw.update(
            {
                "ended": None if ended is None else iso(ended),
                "duration_s": None if ended is None else round(ended - started, 3),
                "exit_code": exit_code,
                "command": command,
                "settings": settings,
                "code": code,
                "data": data,
                "env": env,
                "metrics": metrics or {"final": {}, "best": {}, "events": 0},
                "primary_metric": primary_metric,
                "direction": direction,
                "check": None,
                "checkpoints": None,
            }
        )
        if process is not ...:
            raw["process"] = process
        raw.update(more)
        return cls(raw)
