"""Analysis of runs and data: case studies, curves, data statistics.

Plain modules that a test can call without the CLI; the click commands in
``expctl/commands`` only parse, call one function here and print. Nothing heavy is
imported at module level (no pandas, torch, transformers or matplotlib).

This module holds the two things the analysis commands share: finding a run's file
(:func:`read_source`) and rendering rows as a table / json / csv / markdown
(:func:`render_rows`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from expctl.errors import NotFoundError

FORMATS = ("table", "json", "csv", "markdown")


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


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def heading(text: str) -> str:
    if use_color():
        import click

        return click.style(text, bold=True)
    return text


def fmt_value(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def truncate(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_rows(
    rows: Sequence[dict],
    columns: Sequence[str],
    fmt: str = "table",
    headers: Sequence[str] | None = None,
    digits: int = 4,
    align_right: Iterable[str] = (),
) -> str:
    """Rows (dicts) as text in one of :data:`FORMATS`, without a trailing newline.

    ``table`` and ``markdown`` format numbers with ``digits`` decimals; ``json`` and ``csv``
    keep full values (json: a list of objects; csv: a header row then one row each).
    """
    headers = list(headers or columns)
    if fmt == "json":
        return json.dumps([{c: r.get(c) for c in columns} for r in rows], ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        for r in rows:
            writer.writerow(
                [
                    ""
                    if r.get(c) is None
                    else (";".join(map(str, r[c])) if isinstance(r.get(c), (list, tuple)) else r.get(c))
                    for c in columns
                ]
            )
        return buf.getvalue().rstrip("\n")
    from tabulate import tabulate

    body = [[fmt_value(r.get(c), digits) for c in columns] for r in rows]
    right = set(align_right)
    colalign = ["right" if c in right else "left" for c in columns]
    if fmt == "markdown":
        body = [[cell.replace("|", "\\|") for cell in row] for row in body]
        return tabulate(body, headers=headers, tablefmt="github", colalign=colalign, disable_numparse=True)
    if fmt == "table":
        if not body:
            return tabulate([], headers=headers, tablefmt="simple")
        return tabulate(body, headers=headers, tablefmt="simple", colalign=colalign, disable_numparse=True)
    raise ValueError(f"unknown format {fmt!r}")


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
