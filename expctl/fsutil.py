"""Small file-system helpers: atomic writes, tolerant JSON-lines reading, test crash points, UTC stamps."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CRASH_ENV = "EXPCTL_TEST_CRASH_AT"


def iso(ts: float) -> str:
    """A UTC time stamp as records write it: ``2026-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def crash_point(name: str) -> None:
    """Test-only fault injection: ``os._exit(137)`` here when $EXPCTL_TEST_CRASH_AT is ``name``.

    Simulates a SIGKILL / power loss of expctl at a named point of the run flow
    (docs/reliability.md lists the points). Never set this outside the test suite.
    """
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def atomic_write(path: str | os.PathLike, data: bytes | str, mode: int = 0o644, tmp_prefix: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, rename.

    A crash leaves either the old file or the new one, never half of either. An OSError
    (ENOSPC included) removes the temp file and propagates. ``tmp_prefix`` names the temp
    file (git objects use git's own ``tmp_obj_`` so that git's gc cleans up after a crash).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(
        prefix=tmp_prefix or f".{path.name}.", suffix="" if tmp_prefix else ".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if tmp_prefix:
            crash_point("object-temp")  # a killed writer leaves its temp file (cleaned by the next run)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def dumps(obj: Any) -> str:
    """Stable, readable JSON (sorted keys, UTF-8 kept, NaN/Inf as strings)."""
    return json.dumps(_finite(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # "nan", "inf", "-inf": valid JSON, still readable
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write(path, dumps(obj))


def read_json(path: str | os.PathLike) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read())


def iter_jsonl(data: bytes | str) -> Iterator[tuple[int, dict | None]]:
    """Yield (line number, object or None) for each non-empty line; None for a bad line.

    Tolerates a partial last line, invalid JSON and non-object lines (yielded as None so
    the caller can count them). NaN / Infinity literals are accepted by json.loads.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    for lineno, line in enumerate(data.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            yield lineno, None
            continue
        yield lineno, obj if isinstance(obj, dict) else None
