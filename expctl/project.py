"""The project a command works on, opened once: its configuration, repository and records.

>>> project = Project.open()          # the project containing the current folder
>>> project.config.default_stage      # expctl.toml (expctl.config.Config)
>>> project.store.all()               # the run records (expctl.records.Store), opened on first use
>>> project.resolve("HEAD")           # a run reference -> its record (expctl.refs)

Every command opens one ``Project`` and hands it (or its parts) down; nothing below opens
the configuration or the repository a second time.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expctl.config import Config
    from expctl.gitlayer import Repo
    from expctl.records import Store


class Project:
    """One expctl project: ``root``, ``config``, ``repo`` and (lazily) ``store``."""

    def __init__(self, config: Config, repo: Repo, store: Store | None = None):
        self.config = config
        self.repo = repo
        self.root: Path = config.root
        if store is not None:  # e.g. a worktree's code whose records live in the main project
            self.store = store

    @classmethod
    def open(cls, start: str | os.PathLike | None = None) -> Project:
        """The project containing ``start`` (default: the current folder)."""
        from expctl import config as config_mod
        from expctl.gitlayer import Repo

        cfg = config_mod.load(start=start)
        return cls(cfg, Repo.open(cfg.root))

    @cached_property
    def store(self) -> Store:
        from expctl.records import Store

        return Store(self.repo, self.root)

    def resolve(self, ref: str) -> dict[str, Any]:
        """The record a run reference names (id, prefix, name, tag, branch, HEAD, suffix)."""
        from expctl.refs import resolve_run

        return resolve_run(self.store, ref)

    def read_run_file(self, ref: str, name: str) -> bytes:
        """The file ``name`` of run ``ref``, from its folder or from git."""
        from expctl.errors import NotFoundError

        record = self.resolve(ref)
        data = self.store.read_file(record, name)
        if data is None:
            raise NotFoundError(f"run {record['id']} has no {name}")
        return data
