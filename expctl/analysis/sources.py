"""Finding a run's file and reading JSON lines: what every analysis module reads its input with."""

from __future__ import annotations

import json
from pathlib import Path

from expctl.errors import NotFoundError


def read_source(ref: str, name: str) -> tuple[bytes, str]:
    """The bytes of a run's file ``name`` and a display name for it.

    ``ref`` is a path to the file itself, a run folder holding ``name``, or a run id /
    tag / branch resolved through the run records (``expctl.project.Project.read_run_file``).
    Raises :class:`~expctl.errors.NotFoundError` when none of these exists.
    """
    path = Path(ref)
    if path.is_file():
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise NotFoundError(f"cannot read {ref}: {exc.strerror}") from exc
    if path.is_dir():
        candidate = path / name
        if candidate.is_file():
            return candidate.read_bytes(), str(candidate)
        raise NotFoundError(f"{ref} is a folder without {name}")
    try:
        from expctl.project import Project
    except ModuleNotFoundError as exc:
        if exc.name not in ("expctl.project",):
            raise
        raise NotFoundError(f"{ref}: no such file, folder or run") from exc
    from expctl.errors import ExpctlError

    try:
        data = Project.open().read_run_file(ref, name)
    except ExpctlError as exc:
        if ref in str(exc) or name in str(exc):
            raise
        # e.g. not inside a project: say that the path does not exist either
        raise NotFoundError(f"{ref}: no such file or folder, and not a run ({exc})") from exc
    return data, f"{ref}:{name}"


def parse_jsonl(data: bytes) -> tuple[list[dict], int]:
    """JSON objects, one a line; blank lines ignored. Returns (objects, malformed count):
    a partial last line, invalid JSON or a non-object is skipped and counted."""
    objs: list[dict] = []
    bad = 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            bad += 1
            continue
        if isinstance(obj, dict):
            objs.append(obj)
        else:
            bad += 1
    return objs, bad
