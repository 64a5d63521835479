"""``expctl data split``: one data file -> train / dev / test files, stratified and seeded.

Units: a row (tsv, csv), a line (jsonl), a sentence block (CoNLL), an article (SQuAD JSON,
so that questions about one context never land in two splits). Each output keeps the
input's format and header. The split is streamed for the line formats: pass 1 counts the
units of each stratum (its label, or the ``--by`` column), pass 2 writes every unit to its
split; memory is one chosen-position set per stratum, plus one 64-bit hash per unit for
the leakage check.

Allocation: ``round(N * dev)`` dev units and ``round(N * test)`` test units, shared among
the strata by largest remainder (each stratum's share of every split is as close to its
share of the file as whole units allow), never taking a stratum's last unit from train.
Which units go where is a function of the seed and the stratum alone: ``random.Random(
f"split-{seed}-{stratum}").sample``.

The outputs' fingerprints go to ``split.json`` next to them (the data version): a run whose
data files are these outputs records ``split`` = that version (see ``fingerprint.data_fingerprints``).
Texts found in more than one output (duplicates in the source) are reported as leakage.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import NotFoundError, RefusedError, UsageError

SPLITS = ("train", "dev", "test")
MANIFEST = "split.json"
_EXAMPLES = 5


@dataclass
class Unit:
    raw: Any  # what is written: a line / block of text, or a SQuAD article (dict)
    stratum: str | None  # label (or --by value); None: not stratified
    text: str  # compared across splits for leakage
    size: int = 1  # examples in the unit (questions of an article)


@dataclass
class Source:
    """How a data file is read into units: format, header and columns (see :func:`open_source`)."""

    path: str
    fmt: str  # tsv | csv | jsonl | conll | squad
    task: str
    header: str | None = None  # tsv / csv: the header line as written to each output
    columns: str = ""  # the columns read and why
    by: str = "label"
    opts: dict[str, Any] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)
    _by_index: int | None = None

    def units(self) -> Iterator[Unit]:
        return {
            "tsv": self._delimited,
            "csv": self._delimited,
            "jsonl": self._jsonl,
            "conll": self._conll,
            "squad": self._squad,
        }[self.fmt]()

    # --- readers -----------------------------------------------------------------
    def _delimited(self) -> Iterator[Unit]:
        from trainers.api import read_rows

        delim = self._delim()
        rows = read_rows(self.path, self.fmt, delim)
        if self.header is not None:
            next(rows, None)
        ti = self._index.get("text", self._index.get("tokens"))
        for _, row in rows:
            raw = delim.join(row) if self.fmt == "tsv" else _csv_line(row, delim)
            stratum = None
            if self._by_index is not None and len(row) > self._by_index:
                stratum = row[self._by_index].strip()
            text = row[ti] if ti is not None and len(row) > ti else raw
            yield Unit(raw, stratum, text)

    def _jsonl(self) -> Iterator[Unit]:
        text_key = str(self.opts.get("text_column", "text"))
        with open(self.path, encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{self.path}:{lineno}: invalid JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise UsageError(f"{self.path}:{lineno}: expected a JSON object")
                stratum = None
                if self.by != "none":
                    value = obj.get(self.by)
                    stratum = (
                        None
                        if value is None
                        else json.dumps(value, ensure_ascii=False, sort_keys=True)
                        if isinstance(value, (list, dict))
                        else str(value)
                    )
                text = obj.get(text_key, obj.get("tokens", line))
                yield Unit(line.rstrip("\r\n"), stratum, " ".join(text) if isinstance(text, list) else str(text))

    def _conll(self) -> Iterator[Unit]:
        block: list[str] = []
        with open(self.path, encoding="utf-8-sig") as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line.startswith("-DOCSTART-"):
                    continue
                if line.strip():
                    block.append(line)
                    continue
                if block:
                    yield _conll_unit(block)
                    block = []
        if block:
            yield _conll_unit(block)

    def _squad(self) -> Iterator[Unit]:
        for article in _load_squad(self.path)["data"]:
            paragraphs = article.get("paragraphs") or []
            text = "\n".join(str(p.get("context", "")) for p in paragraphs)
            questions = sum(len(p.get("qas") or []) for p in paragraphs)
            yield Unit(article, None, text, size=questions)

    def _delim(self) -> str:
        d = self.opts.get("delimiter") or ("\t" if self.fmt == "tsv" else ",")
        return {"\\t": "\t", "tab": "\t"}.get(d, d)


def _csv_line(row: list[str], delim: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator="").writerow(row)
    return buf.getvalue()


def _conll_unit(block: list[str]) -> Unit:
    tokens = [(ln.split("\t") if "\t" in ln else ln.split())[0] for ln in block]
    return Unit("\n".join(block), None, " ".join(tokens))


def _load_squad(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise UsageError(f'{path}: not a SQuAD file (expected an object with a "data" list of articles)')
    return obj


def _is_squad(path: str) -> bool:
    if not path.lower().endswith(".json"):
        return False
    with open(path, encoding="utf-8-sig") as fh:
        head = fh.read(4096).lstrip()
    return head.startswith("{") and '"data"' in head


def open_source(
    path: str | os.PathLike,
    *,
    fmt: str = "auto",
    task: str = "classification",
    by: str = "label",
    read_opts: dict[str, Any] | None = None,
) -> Source:
    """Decide format, header and columns of ``path`` with the trainer's own reader logic
    (``trainers.data.formats``: the same header detection the trainer and ``data stats`` use)."""
    from trainers import api as formats

    path = str(path)
    if not Path(path).is_file():
        raise NotFoundError(f"no such file: {path}")
    opts = dict(read_opts or {})
    if fmt in ("auto", "", None):
        fmt = "squad" if _is_squad(path) else formats.detect_format(path, task)
    if fmt == "conll" and task not in ("ner",):
        task = "ner"
    src = Source(path=path, fmt=fmt, task=task, by=by, opts=opts)
    if fmt in ("conll", "squad"):
        if by not in ("label", "none"):
            raise UsageError(f"--by {by}: a {fmt} file has no columns; its units are split at random")
        src.by = "none"
        return src
    if fmt == "jsonl":
        if by == "label":
            src.by = "none" if task in ("ner", "multilabel") else str(opts.get("label_column", "label"))
        return src
    if fmt not in ("tsv", "csv"):
        raise UsageError(f"unknown format {fmt!r}; expected auto, tsv, csv, jsonl, conll or squad")
    delim = src._delim()
    try:
        layout = formats.layout_of(path, fmt, delim, task, opts)
    except formats.FormatError as exc:
        raise UsageError(str(exc)) from None
    if layout is None:
        raise UsageError(f"{path}: no rows")
    src.header = (
        (delim.join(layout.header) if fmt == "tsv" else _csv_line(layout.header, delim))
        if layout.header is not None
        else None
    )
    src.columns = layout.describe()
    src._index = dict(layout.index)
    if by == "none" or (by == "label" and task in ("ner", "multilabel")):
        src.by = "none"
    elif by == "label":
        src._by_index = layout.index.get("label")
    else:
        idx = formats.column_index(by)
        if idx is None:
            names = [c.strip().lower() for c in (layout.header or [])]
            if by.lower() not in names:
                raise UsageError(
                    f"--by {by}: no such column"
                    + (f" (columns: {', '.join(layout.header)})" if layout.header else " (the file has no header)")
                )
            idx = names.index(by.lower())
        src._by_index = idx
    return src


# --- allocation --------------------------------------------------------------------------


def allocate(counts: dict[Any, int], frac: float, caps: dict[Any, int]) -> dict[Any, int]:
    """``round(N * frac)`` units shared among strata by largest remainder, stratum ``s``
    taking at most ``caps[s]``."""
    total = sum(counts.values())
    target = min(round(total * frac), sum(caps.values()))
    exact = {s: counts[s] * frac for s in counts}
    out = {s: min(int(exact[s]), caps[s]) for s in counts}
    left = target - sum(out.values())
    order = sorted(counts, key=lambda s: (-(exact[s] - int(exact[s])), str(s)))
    while left > 0:
        moved = False
        for s in order:
            if left and out[s] < caps[s]:
                out[s] += 1
                left -= 1
                moved = True
        if not moved:
            break
    while left < 0:  # floors above the target (cannot happen with frac <= 1; kept for safety)
        s = max(out, key=lambda x: out[x])
        out[s] -= 1
        left += 1
    return out


def plan(counts: dict[Any, int], dev: float, test: float, seed: int) -> dict[Any, dict[int, str]]:
    """stratum -> {position within the stratum: "dev" | "test"} (every other position: train)."""
    caps = {s: max(0, n - 1) for s, n in counts.items()}  # train keeps one unit of every stratum
    n_dev = allocate(counts, dev, caps)
    caps_test = {s: caps[s] - n_dev[s] for s in counts}
    n_test = allocate(counts, test, caps_test) if test else {s: 0 for s in counts}
    out: dict[Any, dict[int, str]] = {}
    for s, n in counts.items():
        chosen = random.Random(f"split-{seed}-{s}").sample(range(n), n_dev[s] + n_test[s])
        out[s] = {pos: ("dev" if i < n_dev[s] else "test") for i, pos in enumerate(chosen)}
    return out


# --- the split -------------------------------------------------------------------------


@dataclass
class SplitResult:
    source: str
    fmt: str
    by: str
    seed: int
    outputs: dict[str, dict[str, Any]]
    leakage: dict[str, Any]
    manifest: str
    version: str
    columns: str = ""
    unit: str = "rows"


def _text_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).casefold().encode(), digest_size=8).digest(), "big")


def split_file(
    path: str | os.PathLike,
    *,
    dev: float = 0.1,
    test: float = 0.1,
    by: str = "label",
    seed: int = 42,
    out_dir: str | os.PathLike | None = None,
    fmt: str = "auto",
    task: str = "classification",
    read_opts: dict[str, Any] | None = None,
    force: bool = False,
    command: str = "",
) -> SplitResult:
    """Split ``path`` into train / dev / test files in ``out_dir`` (default: its folder) and
    write ``split.json``. Refuses to overwrite existing outputs unless ``force``."""
    from expctl.fingerprint import fingerprint
    from expctl.fsutil import write_json

    for name, value in (("--dev", dev), ("--test", test)):
        if not 0 <= value < 1:
            raise UsageError(f"{name} must be a fraction in [0, 1), not {value}")
    if dev + test >= 1:
        raise UsageError(f"--dev {dev} + --test {test} leave nothing to train on")
    if dev == 0 and test == 0:
        raise UsageError("--dev and --test are both 0: nothing to split off")
    src = open_source(path, fmt=fmt, task=task, by=by, read_opts=read_opts)
    out = Path(out_dir) if out_dir else Path(src.path).parent
    out.mkdir(parents=True, exist_ok=True)
    ext = ".json" if src.fmt == "squad" else (Path(src.path).suffix or f".{src.fmt}")
    names = [s for s in SPLITS if s == "train" or (s == "dev" and dev) or (s == "test" and test)]
    targets = {s: out / f"{s}{ext}" for s in names}
    for target in targets.values():
        if target.resolve() == Path(src.path).resolve():
            raise RefusedError(f"{target} is the input file; give --out another folder")
        if target.exists() and not force:
            raise RefusedError(f"{target} exists; use --force to overwrite it (or --out another folder)")

    # pass 1: units per stratum
    counts: Counter = Counter()
    for unit in src.units():
        counts[unit.stratum] += 1
    if sum(counts.values()) < 2:
        raise UsageError(f"{src.path}: {sum(counts.values())} unit(s): nothing to split")
    assignment = plan(dict(counts), dev, test, seed)

    # pass 2: write
    tmp = {s: target.with_name(f".{target.name}.tmp-{os.getpid()}") for s, target in targets.items()}
    stats = {s: {"units": 0, "examples": 0, "strata": Counter()} for s in names}
    seen_pos: Counter = Counter()
    first_split: dict[int, str] = {}
    leaked: Counter = Counter()
    leak_examples: list[dict[str, Any]] = []
    squad_articles: dict[str, list] = {s: [] for s in names}
    handles = {}
    try:
        if src.fmt != "squad":
            for s, p in tmp.items():
                handles[s] = open(p, "w", encoding="utf-8", newline="")
                if src.header is not None:
                    handles[s].write(src.header + "\n")
        for unit in src.units():
            pos = seen_pos[unit.stratum]
            seen_pos[unit.stratum] += 1
            where = assignment[unit.stratum].get(pos, "train")
            st = stats[where]
            st["units"] += 1
            st["examples"] += unit.size
            if unit.stratum is not None:
                st["strata"][unit.stratum] += 1
            if src.fmt == "squad":
                squad_articles[where].append(unit.raw)
            else:
                handles[where].write(unit.raw + ("\n\n" if src.fmt == "conll" else "\n"))
            key = _text_key(unit.text)
            other = first_split.setdefault(key, where)
            if other != where:
                leaked[f"{other}/{where}"] += 1
                if len(leak_examples) < _EXAMPLES:
                    leak_examples.append({"text": " ".join(unit.text.split())[:80], "splits": [other, where]})
        for h in handles.values():
            h.close()
        if src.fmt == "squad":
            top = {k: v for k, v in _load_squad(src.path).items() if k != "data"}
            for s, p in tmp.items():
                p.write_text(
                    json.dumps({**top, "data": squad_articles[s]}, ensure_ascii=False) + "\n", encoding="utf-8"
                )
        for s, p in tmp.items():
            os.replace(p, targets[s])
    finally:
        for h in handles.values():
            h.close()
        for p in tmp.values():
            if p.exists():
                p.unlink()

    outputs = {}
    for s in names:
        fp = fingerprint(targets[s]) or {}
        outputs[s] = {
            "path": targets[s].name,
            "units": stats[s]["units"],
            "examples": stats[s]["examples"],
            "strata": dict(sorted(stats[s]["strata"].items())),
            "fingerprint": fp.get("fingerprint"),
            "size": fp.get("size"),
        }
    version = (
        "split-"
        + hashlib.blake2b(
            json.dumps({s: o["fingerprint"] for s, o in outputs.items()}, sort_keys=True).encode(), digest_size=6
        ).hexdigest()
    )
    src_fp = fingerprint(Path(src.path)) or {}
    leakage = {"texts": sum(leaked.values()), "pairs": dict(leaked), "examples": leak_examples}
    unit = {"squad": "articles", "conll": "sentences", "jsonl": "lines"}.get(src.fmt, "rows")
    manifest = {
        "schema": 1,
        "version": version,
        "command": command,
        "source": {
            "path": os.path.relpath(src.path, out),
            "fingerprint": src_fp.get("fingerprint"),
            "size": src_fp.get("size"),
            "format": src.fmt,
            "columns": src.columns,
        },
        "dev": dev,
        "test": test,
        "seed": seed,
        "by": src.by,
        "unit": unit,
        "outputs": outputs,
        "leakage": leakage,
    }
    write_json(out / MANIFEST, manifest)
    return SplitResult(
        source=src.path,
        fmt=src.fmt,
        by=src.by,
        seed=seed,
        outputs=outputs,
        leakage=leakage,
        manifest=str(out / MANIFEST),
        version=version,
        columns=src.columns,
        unit=unit,
    )


def split_version(path: Path, fp: dict[str, Any]) -> str | None:
    """``"<version> (<split>)"`` when ``path`` is an output of ``expctl data split`` with the
    fingerprint recorded in the ``split.json`` next to it; else None."""
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return None
    try:
        obj = json.loads(manifest.read_text(encoding="utf-8"))
        for name, o in (obj.get("outputs") or {}).items():
            if o.get("path") == path.name and o.get("fingerprint") == fp.get("fingerprint"):
                return f"{obj['version']} ({name})"
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return None


def render_split(result: SplitResult, fmt: str = "table") -> str:
    """The counts table in ``fmt`` (:data:`expctl.output.FORMATS`): one row per output, a
    column per stratum (largest first, up to 8)."""
    from expctl.output import report_table

    strata = Counter()
    for o in result.outputs.values():
        strata.update(o["strata"])
    shown = [s for s, _ in strata.most_common(8)]
    total = sum(o["units"] for o in result.outputs.values())
    rows = []
    for name, o in result.outputs.items():
        row = {"split": name, "file": o["path"], result.unit: o["units"], "share": o["units"] / total if total else 0}
        if result.unit == "articles":
            row["questions"] = o["examples"]
        for s in shown:
            row[str(s)] = o["strata"].get(s, 0)
        rows.append(row)
    cols = (
        ["split", "file", result.unit, "share"]
        + (["questions"] if result.unit == "articles" else [])
        + [str(s) for s in shown]
    )
    return report_table(rows, cols, fmt, align_right=cols[2:])
