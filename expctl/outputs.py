"""expctl's own outputs in the work tree: files expctl wrote are never "code".

``compare --write RESULTS.md``, ``plot --png x.png`` and ``track``'s fallback
``./metrics.jsonl`` write into the user's work tree. Each is registered here (its path
from the repository root and the SHA-256 of what expctl wrote, or ``any`` for an
append-only file such as metrics.jsonl) in ``<git dir>/expctl/outputs.jsonl``. A code
snapshot leaves a registered file out while it still holds what expctl wrote, so that
expctl's outputs never make a new snapshot commit or move runs out of their strategy. A
file the user edited afterwards (its hash differs) is code again.

Nothing heavy is imported: ``expctl.track`` uses this module inside training programs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

REGISTRY = "outputs.jsonl"


def find_git_dir(start: str | os.PathLike) -> tuple[Path, Path] | None:
    """(work tree root, its git dir) for ``start``, found without running git."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return folder, dot
        if dot.is_file():  # a linked worktree or submodule: "gitdir: <path>"
            try:
                text = dot.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                gd = Path(text[len("gitdir:") :].strip())
                return folder, (gd if gd.is_absolute() else (folder / gd).resolve())
            return None
    return None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def register(path: str | os.PathLike, data: bytes | None = None) -> None:
    """Record that expctl wrote ``path`` (with ``data``; None: any content, appended to).

    Never raises: outside a git repository, or when the registry cannot be written,
    nothing is recorded.
    """
    try:
        full = Path(path).resolve()
        found = find_git_dir(full.parent)
        if found is None:
            return
        root, git_dir = found
        rel = full.relative_to(root).as_posix()
        entry = {"path": rel, "sha256": digest(data) if data is not None else "any"}
        folder = git_dir / "expctl"
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / REGISTRY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, ("\n" + json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return


def load(git_dir: Path) -> dict[str, set[str]]:
    """{path: hashes expctl wrote there (or {"any"})}; a damaged line is skipped."""
    try:
        data = (git_dir / "expctl" / REGISTRY).read_bytes()
    except OSError:
        return {}
    out: dict[str, set[str]] = {}
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("sha256"), str):
            out.setdefault(entry["path"], set()).add(entry["sha256"])
    return out


def is_own_output(root: Path, path: str, registry: dict[str, set[str]]) -> bool:
    """True when ``path`` still holds what expctl wrote there."""
    hashes = registry.get(path)
    if not hashes:
        return False
    if "any" in hashes:
        return True
    try:
        full = root / path
        if not full.is_file() or full.stat().st_size > 64 * 1024 * 1024:
            return False
        return digest(full.read_bytes()) in hashes
    except OSError:
        return False


def write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write an output file atomically and register it."""
    from expctl.fsutil import atomic_write

    raw = data.encode("utf-8") if isinstance(data, str) else data
    atomic_write(path, raw)
    register(path, raw)
