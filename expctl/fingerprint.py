"""Fingerprints: what identifies the data a run read and the configuration it ran.

- :func:`fingerprint`: one file's (or folder's) content, never reading a big file in full;
- :func:`data_fingerprints`: the data files a run reads (settings naming paths, ``[data]``
  files), recorded as the record's ``data``;
- :func:`data_key`, :func:`settings_key`: a record's data and settings (all but the seed)
  as one comparable string, for membership (expctl.membership) and seed groups;
- :func:`flat_items`: the fast flatten those keys use.

Below the store and the runner: it imports only expctl.settings and expctl.record (and
expctl.datasplit lazily, for the split version of a data file).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat as stat_mod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expctl.record import Record
from expctl.settings import flatten

if TYPE_CHECKING:
    from expctl.config import Config

QUICK_CHUNK = 64 * 1024
SMALL_FILE = 4 * 1024 * 1024


# ------------------------------------------------------------------ files and data
def fingerprint(path: Path) -> dict[str, Any] | None:
    """A content fingerprint that never reads a big file in full.

    Files up to 4 MiB: blake2b of the content. Larger files: blake2b of the size plus
    the first, middle and last 64 KiB ("quick"). Folders: a hash of the listing (names,
    sizes, mtimes) of up to 10,000 entries, no content read. Anything else (a FIFO,
    /dev/stdin, /dev/zero, a socket) is never opened: recorded as ``kind: special``, so a
    setting naming one can neither hang a run nor fill its memory. Reads stop at the
    size cap even when a file grows (or lies about its size, as /proc files do).
    """
    try:
        st = path.stat()
    except OSError:
        return None
    h = hashlib.blake2b(digest_size=16)
    if not (stat_mod.S_ISREG(st.st_mode) or stat_mod.S_ISDIR(st.st_mode)):
        return {"kind": "special", "fingerprint": None}
    if stat_mod.S_ISDIR(st.st_mode):
        entries = 0
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                try:
                    fst = full.stat()
                except OSError:
                    continue
                h.update(f"{full.relative_to(path)}\0{fst.st_size}\0{fst.st_mtime_ns}\n".encode())
                entries += 1
                if entries >= 10000:
                    break
            if entries >= 10000:
                break
        return {"kind": "dir", "entries": entries, "fingerprint": "listing:" + h.hexdigest()}
    size = st.st_size
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a file swapped for a FIFO never blocks
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if size <= SMALL_FILE:
            h.update(fh.read(SMALL_FILE))
            method = "blake2b"
        else:
            h.update(str(size).encode())
            for offset in (0, size // 2, size - QUICK_CHUNK):
                fh.seek(offset)
                h.update(fh.read(QUICK_CHUNK))
            method = "quick"
    return {"kind": "file", "size": size, "mtime": int(st.st_mtime), "fingerprint": f"{method}:{h.hexdigest()}"}


def data_fingerprints(cfg: Config, settings: dict[str, Any]) -> dict[str, Any]:
    """Fingerprints of the data files a run reads: settings that name existing paths, and [data] files."""
    paths: dict[str, Path] = {}
    for _key, value in flatten(settings).items():
        if not isinstance(value, str) or not value or len(value) > 1024 or "\0" in value:
            continue
        if "/" not in value and "." not in value:
            continue
        candidate = Path(value) if os.path.isabs(value) else cfg.root / value
        if candidate.exists() and candidate.resolve() != cfg.root.resolve():
            paths[value] = candidate
    if cfg.data_files:
        import glob

        for pattern in cfg.data_files:
            for match in sorted(glob.glob(str(cfg.root / pattern), recursive=True)):
                paths[os.path.relpath(match, cfg.root)] = Path(match)
    from expctl.datasplit import split_version

    out = {}
    for name, path in sorted(paths.items()):
        fp = fingerprint(path)
        if fp is not None:
            version = split_version(path, fp) if fp["kind"] == "file" else None
            if version:
                fp["split"] = version  # an output of `expctl data split` (its split.json)
            out[name] = fp
    return out


# ------------------------------------------------------------------- record keys
def flat_items(tree: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, empty tables dropped: a fast flatten for keys
    (listings compute one per record; expctl.settings.flatten copies and checks more)."""
    out = {} if out is None else out
    if type(tree) is not dict:
        return out
    for key, value in tree.items():
        if type(value) is dict:
            if value:
                flat_items(value, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = value
    return out


def data_key(record: Mapping[str, Any]) -> str:
    known = record.get("_data_key")  # listings' summaries carry it (expctl.recordindex)
    if isinstance(known, str):
        return known
    data = Record(record).data
    return json.dumps(
        {p: (fp or {}).get("fingerprint") for p, fp in data.items() if isinstance(fp, dict)}, sort_keys=True
    )


def settings_key(record: dict[str, Any]) -> str:
    """Settings that define a configuration: everything but the seed."""
    known = record.get("_settings_key")  # listings' summaries carry it (expctl.recordindex)
    if isinstance(known, str):
        return known
    commit = record.get("_commit")  # a record commit names one version of a record: memoise by it
    if commit and commit in _SETTINGS_KEYS:
        return _SETTINGS_KEYS[commit]
    flat = flat_items(Record(record).settings)
    key = repr([(k, flat[k]) for k in sorted(flat) if k.rsplit(".", 1)[-1] != "seed"])
    if commit:
        _SETTINGS_KEYS[commit] = key
    return key


_SETTINGS_KEYS: dict[str, str] = {}
