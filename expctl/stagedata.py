"""Stage subsets for any program: ``[data.inputs]`` in expctl.toml names the program's input
files; a stage with sample limits gets stratified, seeded subset files in the run folder.

::

    [data.inputs]
    train = "data/train.tsv"                                  # limited by max_train_samples
    dev = { path = "data/dev.tsv", limit = "max_eval_samples" }

    [project]
    command = "python3 their_train.py --train {data.train} --dev {data.dev}"

For each input, the limit is the setting named by ``limit`` (default: ``max_train_samples``
for an input called ``train``, ``max_eval_samples`` for any other). When the run's resolved
value is above 0 and below the file's size, expctl writes ``runs/<id>/data/<name><ext>``:
that many units (rows, lines, CoNLL sentences, SQuAD articles) drawn by the trainer's own
streamed sampler (``trainers.data.sampling.sample``: label-stratified when the file has
labels, seeded by the run's ``seed`` setting, in file order), with the file's header and
format. Otherwise the program gets the file itself. The program sees the paths through
``{data.NAME}`` placeholders in ``project.command`` and ``EXPCTL_DATA_<NAME>`` variables;
the record keeps, per input, the source, the subset's path, fingerprint and label counts.

Read options (``format``, ``task``, ``text_column``, ``label_column``, ``has_header``,
``delimiter``) sit in ``[data]`` for every input or in an input's own table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import ConfigError, NotFoundError, UsageError

READ_KEYS = ("format", "task", "text_column", "label_column", "has_header", "delimiter")
INPUT_KEYS = {"path", "limit", "by", *READ_KEYS}
PLACEHOLDER = re.compile(r"\{data\.([A-Za-z0-9_-]+)\}")
_CONFIG = "expctl.toml"


@dataclass
class DataInput:
    name: str
    path: str
    limit: str  # the setting that limits it
    by: str = "label"
    read: dict[str, Any] = field(default_factory=dict)

    @property
    def env_name(self) -> str:
        return "EXPCTL_DATA_" + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper()


def parse_inputs(table: dict[str, Any]) -> dict[str, DataInput]:
    """``[data]`` -> inputs (validated: unknown keys rejected with a suggestion)."""
    from expctl.settings import did_you_mean

    shared = {k: table[k] for k in READ_KEYS if k in table}
    inputs = table.get("inputs", {})
    if not isinstance(inputs, dict):
        raise ConfigError(f'{_CONFIG}: [data.inputs] must be a table of name = "path"')
    out: dict[str, DataInput] = {}
    for name, body in inputs.items():
        where = f"data.inputs.{name}"
        if not re.match(r"^[A-Za-z0-9_-]+$", name):
            raise ConfigError(f"{_CONFIG}: {where}: an input name is letters, digits, _ and -")
        if isinstance(body, str):
            body = {"path": body}
        if not isinstance(body, dict) or not isinstance(body.get("path"), str) or not body["path"]:
            raise ConfigError(f"{_CONFIG}: {where} must be a path or a table with a path")
        for key in body:
            if key not in INPUT_KEYS:
                raise ConfigError(f"{_CONFIG}: unknown key {key!r} in {where}{did_you_mean(key, INPUT_KEYS)}")
        limit = body.get("limit", "max_train_samples" if name == "train" else "max_eval_samples")
        if not isinstance(limit, str):
            raise ConfigError(f'{_CONFIG}: {where}.limit names a setting (e.g. "max_train_samples")')
        read = {**shared, **{k: body[k] for k in READ_KEYS if k in body}}
        out[name] = DataInput(name=name, path=body["path"], limit=limit, by=str(body.get("by", "label")), read=read)
    return out


def fill_placeholders(word: str, paths: dict[str, str]) -> str:
    """``{data.NAME}`` -> the path the program reads for input NAME."""

    def sub(m: re.Match) -> str:
        if m.group(1) not in paths:
            known = ", ".join(sorted(paths)) or "none: add [data.inputs] to expctl.toml"
            raise ConfigError(
                f"project.command uses {{data.{m.group(1)}}} but there is no input {m.group(1)!r} (inputs: {known})"
            )
        return paths[m.group(1)]

    return PLACEHOLDER.sub(sub, word)


def source_paths(inputs: dict[str, DataInput], root: Path) -> dict[str, str]:
    """The inputs' own files (checked to exist: refused before any record is written)."""
    out = {}
    for name, inp in inputs.items():
        full = Path(inp.path) if os.path.isabs(inp.path) else root / inp.path
        if not full.is_file():
            raise NotFoundError(f"data.inputs.{name}: no such file: {inp.path}")
        out[name] = inp.path
    return out


def _limit_of(inp: DataInput, settings: dict[str, Any]) -> int:
    from expctl.settings import flatten

    value = flatten(settings).get(inp.limit, 0)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise UsageError(f"data.inputs.{inp.name}: setting {inp.limit} = {value!r} is not a number") from None


@dataclass
class Staged:
    paths: dict[str, str]  # what the program reads, per input
    env: dict[str, str]
    record: dict[str, Any]  # per input: source, path, subset fingerprint and label counts
    fingerprints: dict[str, Any]  # the inputs' source files


def prepare(inputs: dict[str, DataInput], settings: dict[str, Any], root: Path, run_dir: Path, log=None) -> Staged:
    """Write the subsets this run's limits ask for into ``run_dir/data/``."""
    from expctl.datasplit import open_source
    from expctl.fingerprint import fingerprint
    from expctl.settings import flatten
    from trainers import api as sampling

    flat = flatten(settings)
    try:
        seed = int(flat.get("seed", 42) or 0)
    except (TypeError, ValueError):
        raise UsageError(f"setting seed = {flat.get('seed')!r} is not a number (it seeds the stage subsets)") from None
    paths, env, record, fps = {}, {}, {}, {}
    for name, inp in inputs.items():
        src_path = Path(inp.path) if os.path.isabs(inp.path) else root / inp.path
        fp = fingerprint(src_path)
        if fp is not None:
            fps[inp.path] = fp
        limit = _limit_of(inp, settings)
        entry: dict[str, Any] = {"source": inp.path, "limit_setting": inp.limit, "limit": limit, "seed": seed}
        shown = inp.path
        if limit > 0:
            read = dict(inp.read)
            src = open_source(
                src_path,
                fmt=read.pop("format", "auto"),
                task=read.pop("task", "classification"),
                by=inp.by,
                read_opts=read,
            )
            label_of = (lambda u: u.stratum) if src.by != "none" else None
            items, how, counts = sampling.sample(src.units, limit, seed, label_of)
            if not (how.startswith("all") or how.endswith(": all")):  # the limit cut something
                ext = ".json" if src.fmt == "squad" else (src_path.suffix or f".{src.fmt}")
                dest = run_dir / "data" / f"{name}{ext}"
                _write_units(dest, src, items)
                shown = os.path.relpath(dest, root) if _inside(dest, root) else str(dest)
                sub_fp = fingerprint(dest) or {}
                entry.update(
                    {
                        "path": shown,
                        "units": len(items),
                        "how": how,
                        "fingerprint": sub_fp.get("fingerprint"),
                        "labels": dict(sorted(counts.items())) if counts else {},
                        "by": src.by,
                    }
                )
                if log:
                    label_note = (
                        ", labels " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else ""
                    )
                    log(f"data.{name}: {shown}: {how}{label_note}")
        entry.setdefault("path", inp.path)
        paths[name] = shown
        env[inp.env_name] = shown
        record[name] = entry
    return Staged(paths=paths, env=env, record=record, fingerprints=fps)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _write_units(dest: Path, src, items) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        if src.fmt == "squad":
            from expctl.datasplit import _load_squad

            top = {k: v for k, v in _load_squad(src.path).items() if k != "data"}
            tmp.write_text(
                json.dumps({**top, "data": [u.raw for u in items]}, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                if src.header is not None:
                    fh.write(src.header + "\n")
                sep = "\n\n" if src.fmt == "conll" else "\n"
                for u in items:
                    fh.write(u.raw + sep)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def discard(run_dir: Path) -> None:
    """Remove a run folder whose subsets could not be written (no record exists yet)."""
    shutil.rmtree(run_dir, ignore_errors=True)
