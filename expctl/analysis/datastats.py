"""Statistics of a training data file, streaming: ``expctl data stats``.

What a practitioner should look at before tuning anything:

- rows, empty lines, malformed lines (skipped, with the first few line numbers);
- length distribution in characters and in tokens (min, p50, p90, p95, p99, max) and a
  suggested ``max_seq_length``. Tokens come from a local Hugging Face tokenizer folder when
  one is given (special tokens included), else an estimate: whitespace words plus CJK
  characters, plus 2 for [CLS] / [SEP];
- label distribution, the majority-class accuracy (the baseline any model must beat), an
  imbalance warning, and a warning when the file is ordered by label (a head-of-file subset
  would see one class);
- duplicate texts and texts with conflicting labels (texts compared after collapsing
  whitespace and ignoring case);
- train / dev overlap (leakage) when given a second file: rows of the later files whose
  text is in the first file, found in the same streaming pass.

Files are read with the trainer's own streaming readers (``trainers.data.formats``), so the
statistics see exactly what training sees; nothing is held in memory but counters and one
64-bit hash per distinct text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expctl.errors import NotFoundError, UsageError

PERCENTILES = (50, 90, 95, 99)
SEQ_LENGTHS = (32, 64, 128, 256, 384, 512)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CONFLICT = -1
_EXAMPLES = 5  # examples kept per finding
HEAD_ROWS = 200  # the head-of-file sample whose labels are shown beside the whole file's (a smoke stage's size)


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def percentile(hist: Counter, q: float) -> int:
    """Nearest-rank percentile of a histogram {value: count}: the smallest value with at
    least q % of the counts at or below it."""
    total = sum(hist.values())
    if not total:
        return 0
    rank = max(1, -(-q * total // 100))  # ceil(q/100 * total)
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    return max(hist)  # pragma: no cover


def length_summary(hist: Counter) -> dict[str, Any]:
    total = sum(hist.values())
    if not total:
        return {"min": 0, **{f"p{q}": 0 for q in PERCENTILES}, "max": 0, "mean": 0.0}
    return {
        "min": min(hist),
        **{f"p{q}": percentile(hist, q) for q in PERCENTILES},
        "max": max(hist),
        "mean": sum(v * c for v, c in hist.items()) / total,
    }


def estimate_tokens(text: str) -> int:
    """Whitespace words, with each CJK character counted as a word, plus [CLS] and [SEP]."""
    if text.isascii():
        return len(text.split()) + 2
    cjk = len(_CJK.findall(text))
    return cjk + len(_CJK.sub(" ", text).split()) + 2


def suggest_max_seq_length(token_hist: Counter) -> tuple[int, float]:
    """The smallest of 32/64/128/256/384/512 that holds the 95th percentile, and the share
    of rows that fit in it untruncated."""
    total = sum(token_hist.values())
    p95 = percentile(token_hist, 95)
    choice = next((n for n in SEQ_LENGTHS if n >= p95), SEQ_LENGTHS[-1])
    fits = sum(c for v, c in token_hist.items() if v <= choice) / total if total else 1.0
    return choice, fits


def _key(text: str) -> int:
    return hash(" ".join(text.split()).casefold())


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------


@dataclass
class FileStats:
    path: str
    task: str
    rows: int = 0
    empty_lines: int = 0
    malformed: int = 0
    malformed_examples: list[tuple[int | None, str]] = field(default_factory=list)
    char_hist: Counter = field(default_factory=Counter)
    token_hist: Counter = field(default_factory=Counter)
    tokens_exact: bool = False
    labels: Counter = field(default_factory=Counter)
    label_changes: int = 0
    head_labels: Counter = field(default_factory=Counter)  # labels of the first HEAD_ROWS rows
    columns: str = ""  # tsv/csv: the columns read and why (header detection)
    first_row: dict[str, int] = field(default_factory=dict)  # label -> 1-based row where it first appears
    duplicate_rows: int = 0
    duplicated_texts: int = 0
    duplicate_examples: list[dict] = field(default_factory=list)
    conflicting_texts: int = 0
    conflict_examples: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    leak: dict[str, Any] | None = None
    keys: dict[int, int] = field(default_factory=dict, repr=False)  # text hash -> label id or _CONFLICT
    label_ids: dict[str, int] = field(default_factory=dict, repr=False)

    # derived ------------------------------------------------------------------------
    @property
    def majority(self) -> tuple[str | None, float]:
        if not self.labels or self.task in ("multilabel", "ner"):
            return None, 0.0
        label, count = self.labels.most_common(1)[0]
        return label, count / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        label, share = self.majority
        seq, fits = suggest_max_seq_length(self.token_hist) if self.rows else (0, 1.0)
        return {
            "path": self.path,
            "task": self.task,
            "rows": self.rows,
            "empty_lines": self.empty_lines,
            "malformed_lines": self.malformed,
            "malformed_examples": [{"line": ln, "reason": why} for ln, why in self.malformed_examples],
            "length_chars": length_summary(self.char_hist),
            "length_tokens": length_summary(self.token_hist),
            "tokens": "tokenizer" if self.tokens_exact else "estimate",
            "suggested_max_seq_length": seq,
            "fits_untruncated": fits,
            "labels": dict(self.labels.most_common()),
            "head_rows": min(self.rows, HEAD_ROWS),
            "head_labels": dict(self.head_labels.most_common()),
            "label_changes": self.label_changes,
            "label_runs": runs_test(self.labels, self.label_changes)
            if self.task in ("classification", "pair")
            else None,
            "columns": self.columns,
            "majority_label": label,
            "majority_baseline": share if label is not None else None,
            "duplicate_rows": self.duplicate_rows,
            "duplicated_texts": self.duplicated_texts,
            "duplicate_examples": self.duplicate_examples,
            "conflicting_texts": self.conflicting_texts,
            "conflict_examples": self.conflict_examples,
            "warnings": self.warnings,
        }


def _count_empty_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if not line.strip())


def _read(path: str, task: str, read_opts: dict[str, Any], stats: FileStats) -> Iterator[tuple[str, str | None, int]]:
    """(text, label key, line) of each example, through the trainer's readers."""
    from trainers.api import FormatError, ReadReport, iter_examples

    report = ReadReport()
    try:
        for ex in iter_examples(path, task, skip_malformed=True, report=report, **read_opts):
            if task == "ner":
                tokens = ex.tokens or []
                cjk = all(len(t) == 1 and not t.isascii() for t in tokens)
                text = ("" if cjk else " ").join(tokens)
                label = " ".join(ex.tags or [])  # the tag sequence: for duplicates / conflicts / leakage
            elif task == "multilabel":
                text = ex.text or ""
                label = "|".join(sorted(set(ex.labels or [])))
            elif task == "pair":
                text = f"{ex.text}\t{ex.text_pair}"
                label = ex.label
            else:
                text, label = ex.text or "", ex.label
            if task == "ner":
                stats.labels.update(t[2:] for t in (ex.tags or []) if t.startswith("B-"))
            yield text, label, ex.line
    except FormatError as exc:  # a fatal one: missing file, header without the column...
        raise UsageError(str(exc)) from exc
    except ValueError as exc:  # unknown task / format
        raise UsageError(str(exc)) from exc
    finally:
        if report.layout is not None:
            stats.columns = report.layout.describe()
        stats.malformed = report.skipped
        stats.malformed_examples = list(report.skipped_lines[:_EXAMPLES])


def _token_lengths(tokenizer_path: str):
    """A function texts -> token counts (special tokens included) from a local HF tokenizer."""
    if not Path(tokenizer_path).exists():
        raise NotFoundError(f"tokenizer folder {tokenizer_path} does not exist")
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise UsageError("--tokenizer needs transformers: pip install 'expctl[train]'") from exc
    try:
        tok = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a tokenizer from {tokenizer_path}: {exc}") from exc

    def lengths(texts: list[str]) -> list[int]:
        pairs = [t.split("\t", 1) if "\t" in t else None for t in texts]
        if any(p is not None for p in pairs) and all(p is not None for p in pairs):
            enc = tok([p[0] for p in pairs], [p[1] for p in pairs], add_special_tokens=True, truncation=False)
        else:
            enc = tok(texts, add_special_tokens=True, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    return lengths


def file_stats(
    path: str | Path,
    task: str = "classification",
    read_opts: dict[str, Any] | None = None,
    tokenizer: str | None = None,
    batch: int = 1000,
    against: FileStats | None = None,
) -> FileStats:
    """Statistics of one file (see the module docstring). With ``against`` (the train
    file's statistics), also the rows whose text is in that file: ``stats.leak``."""
    path = str(path)
    if not Path(path).is_file():
        raise NotFoundError(f"no such file: {path}")
    read_opts = dict(read_opts or {})
    stats = FileStats(path=path, task=task)
    ner_words = task == "ner"  # NER lengths are in words (tokens of the file), not subwords
    stats.tokens_exact = tokenizer is not None and not ner_words
    count_tokens = _token_lengths(tokenizer) if tokenizer and not ner_words else None
    pending: list[str] = []
    keys = stats.keys
    label_ids = stats.label_ids
    labels = stats.labels
    char_hist = stats.char_hist
    token_hist = stats.token_hist
    first_row = stats.first_row
    dup_texts: set[int] = set()
    prev_label = None
    against_keys = against.keys if against is not None else None
    against_names = {v: n for n, v in against.label_ids.items()} if against is not None else {}
    leaked = leaked_same = 0
    leak_examples: list[dict] = []
    ner = task == "ner"
    rows = 0
    changes = 0
    dup_rows = 0
    for text, label, line in _read(path, task, read_opts, stats):
        rows += 1
        char_hist[len(text)] += 1
        words = text.split()
        if ner:
            token_hist[label.count(" ") + 3] += 1  # one tag per token, plus [CLS] and [SEP]
        elif count_tokens is None:
            # estimate_tokens(), inlined: this loop runs once per row
            token_hist[len(words) + 2 if text.isascii() else estimate_tokens(text)] += 1
        else:
            pending.append(text)
            if len(pending) >= batch:
                token_hist.update(count_tokens(pending))
                pending.clear()
        lid = 0
        if ner:
            lid = label_ids.get(label)
            if lid is None:
                lid = label_ids[label] = len(label_ids)
        elif label is not None:
            if task == "multilabel":
                labels.update(label.split("|") if label else ["(none)"])
            else:
                labels[label] += 1
                if rows <= HEAD_ROWS:
                    stats.head_labels[label] += 1
            lid = label_ids.get(label)
            if lid is None:
                lid = label_ids[label] = len(label_ids)
                first_row[label] = rows
            if prev_label is not None and lid != prev_label:
                changes += 1
            prev_label = lid
        k = hash(" ".join(words).casefold())  # _key(text), inlined
        if against_keys is not None:
            tid = against_keys.get(k)
            if tid is not None:
                leaked += 1
                train_label = against_names.get(tid) if tid != _CONFLICT else "(several)"
                leaked_same += label is not None and train_label == label
                if len(leak_examples) < _EXAMPLES:
                    leak_examples.append(
                        {"line": line, "text": _short(text), "label": label, "train_label": train_label}
                        if not ner
                        else {"line": line, "text": _short(text), "same_tags": train_label == label}
                    )
        seen = keys.get(k)
        if seen is None:
            keys[k] = lid
            continue
        dup_rows += 1
        if k not in dup_texts:
            dup_texts.add(k)
            if len(stats.duplicate_examples) < _EXAMPLES:
                stats.duplicate_examples.append({"line": line, "text": _short(text)})
        if seen != _CONFLICT and seen != lid:
            keys[k] = _CONFLICT
            stats.conflicting_texts += 1
            if len(stats.conflict_examples) < _EXAMPLES:
                names = {v: n for n, v in label_ids.items()}
                stats.conflict_examples.append(
                    {"line": line, "text": _short(text), "labels": sorted({names[seen], names[lid]})}
                )
                if ner:  # tag sequences: too long to show
                    stats.conflict_examples[-1]["labels"] = ["different tags"]
    if rows == 0 and stats.malformed:
        line, why = stats.malformed_examples[0]
        raise UsageError(
            f"{path}{f':{line}' if line else ''}: {why} (no usable rows; see --text-column, "
            "--label-column, --has-header/--no-header, --data-format)"
        )
    if pending:
        token_hist.update(count_tokens(pending))
    stats.rows = rows
    stats.label_changes = changes
    stats.duplicate_rows = dup_rows
    stats.duplicated_texts = len(dup_texts)
    stats.empty_lines = (
        _count_empty_lines(path)
        if read_opts.get("format") != "conll"
        and not path.endswith((".conll", ".bio", ".iob", ".iob2", ".ner", ".conllu"))
        else 0
    )
    if against is not None:
        only_here = sorted(set(stats.labels) - set(against.labels)) if task != "ner" else []
        stats.leak = {
            "train": against.path,
            "other": stats.path,
            "rows": leaked,
            "share": leaked / rows if rows else 0.0,
            "same_label": leaked_same,
            "examples": leak_examples,
            "labels_missing_from_train": only_here,
        }
    stats.warnings = file_warnings(stats)
    return stats


def runs_test(labels: Counter, changes: int) -> dict[str, float] | None:
    """Label changes between consecutive rows against a shuffled file (the runs test for k
    categories): under a random order of the same labels, with counts n_i of N rows,
    E[changes] = (N-1) - sum n_i(n_i-1)/N and, with runs R = changes + 1,
    Var(R) = [S2 (S2 + N(N+1)) - 2N S3 - N^3] / (N^2 (N-1)), S2 = sum n_i^2, S3 = sum n_i^3.
    ``z`` well below 0 (long runs of one label) means clustered rows."""
    n = sum(labels.values())
    if n < 3 or len(labels) < 2:
        return None
    s2 = sum(c * c for c in labels.values())
    s3 = sum(c**3 for c in labels.values())
    expected = (n - 1) - sum(c * (c - 1) for c in labels.values()) / n
    var = (s2 * (s2 + n * (n + 1)) - 2 * n * s3 - n**3) / (n * n * (n - 1))
    z = (changes - expected) / var**0.5 if var > 0 else 0.0
    return {"changes": changes, "expected": expected, "z": z}


def file_warnings(s: FileStats) -> list[str]:
    out: list[str] = []
    name = Path(s.path).name
    if s.rows == 0:
        return [f"{name}: no usable rows"]
    if s.malformed:
        where = ", ".join(str(ln) for ln, _ in s.malformed_examples if ln is not None)
        out.append(f"{name}: {s.malformed} malformed line(s) skipped" + (f" (lines {where}, ...)" if where else ""))
    single = s.task not in ("multilabel", "ner")
    if single and s.labels:
        counts = s.labels.most_common()
        top_label, top = counts[0]
        low_label, low = counts[-1]
        if len(counts) == 1:
            out.append(f"{name}: only one label ({top_label!r}): nothing to learn")
        else:
            share = top / s.rows
            if top / low >= 5 or share >= 0.8:
                out.append(
                    f"{name}: imbalanced labels: {top_label!r} is {share:.1%} of rows, {low_label!r} "
                    f"{low / s.rows:.1%} ({top / low:.0f}:1); the majority-class baseline is {share:.4g}: "
                    "report macro F1, consider class weights or focal loss"
                )
            single = [lab for lab, c in counts if c == 1]
            if single:
                out.append(
                    f"{name}: class(es) seen in a single row: {', '.join(map(repr, single[:10]))} "
                    "(a header row read as data? a typo in a label?)"
                )
            rare = [lab for lab, c in counts if 1 < c < 10]
            if rare and s.rows >= 100:
                out.append(f"{name}: labels with fewer than 10 rows: {', '.join(map(repr, rare[:10]))}")
            # ordered by label: far fewer label changes than a shuffled file would have
            n = s.rows
            expected = (n - 1) * (1 - sum((c / n) ** 2 for _, c in counts))
            if n >= 20 and s.label_changes < 0.2 * expected:
                order = sorted(s.first_row.items(), key=lambda kv: kv[1])
                head_note = ""
                if len(order) >= 2 and order[1][1] > 1:
                    head_note = f"; the first {order[1][1] - 1} rows are all {order[0][0]!r}"
                out.append(
                    f"{name}: rows are ordered by label ({s.label_changes} label changes where a shuffled "
                    f"file would have about {expected:.0f}){head_note}: shuffle before taking a "
                    "head-of-file subset or a split"
                )
            else:
                rt = runs_test(s.labels, s.label_changes)
                if n >= 50 and rt is not None and rt["z"] < -4 and s.label_changes < 0.8 * rt["expected"]:
                    out.append(
                        f"{name}: labels come in long runs ({s.label_changes:,} label changes where a shuffled "
                        f"file would have about {rt['expected']:,.0f}; runs test z = {rt['z']:.1f}): the "
                        f"first {min(n, HEAD_ROWS)} rows are not a fair sample (see the head column); "
                        "shuffle before taking a head-of-file subset"
                    )
    if s.duplicate_rows:
        out.append(
            f"{name}: {s.duplicate_rows} row(s) repeat an earlier text ({s.duplicated_texts} distinct "
            f"text(s), {s.duplicate_rows / s.rows:.1%} of rows)"
        )
    if s.conflicting_texts:
        out.append(f"{name}: {s.conflicting_texts} text(s) appear with different labels")
    p99 = percentile(s.token_hist, 99)
    if p99 > 512:
        out.append(f"{name}: 1% of rows are longer than {p99} tokens: beyond 512, consider head+tail truncation")
    return out


# ---------------------------------------------------------------------------------------
# Leakage between files
# ---------------------------------------------------------------------------------------


def leakage_warnings(leak: dict[str, Any]) -> list[str]:
    out = []
    other, train = Path(leak["other"]).name, Path(leak["train"]).name
    what = "tags" if any("same_tags" in e for e in leak["examples"]) else "label"
    if leak["rows"]:
        out.append(
            f"leakage: {leak['rows']} row(s) of {other} ({leak['share']:.1%}) also appear in {train}"
            f" ({leak['same_label']} with the same {what}): dev scores are inflated; remove them from one side"
        )
    if leak["labels_missing_from_train"]:
        out.append(f"{other}: labels never seen in {train}: {', '.join(map(repr, leak['labels_missing_from_train']))}")
    return out


# ---------------------------------------------------------------------------------------
# Several files
# ---------------------------------------------------------------------------------------


@dataclass
class StatsReport:
    files: list[FileStats]
    leaks: list[dict[str, Any]]

    @property
    def warnings(self) -> list[str]:
        out = [w for f in self.files for w in f.warnings]
        for leak in self.leaks:
            out += leakage_warnings(leak)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "leakage": self.leaks, "warnings": self.warnings}


def data_stats(
    paths: Sequence[str | Path],
    task: str = "classification",
    read_opts: dict[str, Any] | None = None,
    tokenizer: str | None = None,
) -> StatsReport:
    """Statistics of each file; leakage of every later file against the first (train)."""
    if not paths:
        raise UsageError("give at least one data file")
    first = file_stats(paths[0], task=task, read_opts=read_opts, tokenizer=tokenizer)
    files = [first]
    for p in paths[1:]:
        other = file_stats(p, task=task, read_opts=read_opts, tokenizer=tokenizer, against=first)
        other.keys.clear()  # only the first file's hashes are needed
        files.append(other)
    return StatsReport(files, [f.leak for f in files[1:] if f.leak is not None])


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def summary_rows(report: StatsReport) -> list[dict[str, Any]]:
    rows = []
    for f in report.files:
        d = f.to_dict()
        row = {"file": f.path, "rows": f.rows, "empty_lines": f.empty_lines, "malformed": f.malformed}
        for unit, key in (("chars", "length_chars"), ("tokens", "length_tokens")):
            for stat in ("min", "p50", "p90", "p95", "p99", "max"):
                row[f"{unit}_{stat}"] = d[key][stat]
        row.update(
            {
                "max_seq_length": d["suggested_max_seq_length"],
                "labels": len(f.labels),
                "majority_label": d["majority_label"],
                "majority_baseline": d["majority_baseline"],
                "duplicate_rows": f.duplicate_rows,
                "conflicting_texts": f.conflicting_texts,
            }
        )
        rows.append(row)
    for leak in report.leaks:
        for row in rows:
            if row["file"] == leak["other"]:
                row["leaked_rows"] = leak["rows"]
    return rows


SUMMARY_COLUMNS = [
    "file",
    "rows",
    "empty_lines",
    "malformed",
    *(f"{u}_{s}" for u in ("chars", "tokens") for s in ("min", "p50", "p90", "p95", "p99", "max")),
    "max_seq_length",
    "labels",
    "majority_label",
    "majority_baseline",
    "duplicate_rows",
    "conflicting_texts",
    "leaked_rows",
]


def render_stats(report: StatsReport, fmt: str = "table") -> str:
    import json

    from expctl.output import heading
    from expctl.output import report_table as _rows

    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
    if fmt in ("csv", "tsv"):
        return _rows(summary_rows(report), SUMMARY_COLUMNS, fmt)
    md = fmt == "markdown"

    def title(text: str) -> str:
        return f"### {text}\n" if md else heading(text)

    parts: list[str] = []
    for f in report.files:
        d = f.to_dict()
        head = f"{f.path}: {f.rows:,} rows, {f.empty_lines} empty line(s), {f.malformed} malformed line(s) skipped"
        parts.append(f"## {head}" if md else heading(head))
        if f.columns:
            parts.append(f"Columns: {f.columns}")
        stat_cols = ["what", "min", "p50", "p90", "p95", "p99", "max", "mean"]
        ner = f.task == "ner"
        tok_what = "tokens" if f.tokens_exact else "words + 2" if ner else "tokens (estimate)"
        length_rows = [{"what": "characters", **d["length_chars"]}, {"what": tok_what, **d["length_tokens"]}]
        seq_note = (
            f"Suggested max_seq_length: {d['suggested_max_seq_length']} "
            f"({d['fits_untruncated']:.1%} of rows fit untruncated"
            + (
                ""
                if f.tokens_exact
                else "; words + [CLS] and [SEP]: a subword tokenizer gives more"
                if ner
                else "; tokens estimated as words + CJK characters + 2, give --tokenizer for exact counts"
            )
            + ")"
        )
        parts.append(
            title("Length")
            + "\n"
            + _rows(length_rows, stat_cols, fmt, digits=1, align_right=stat_cols[1:])
            + "\n"
            + seq_note
        )
        if f.labels:
            total = sum(f.labels.values())
            label_rows = [{"label": lab, "rows": c, "share": c / total} for lab, c in f.labels.most_common()]
            cols = ["label", "rows", "share"]
            if f.head_labels and f.rows > HEAD_ROWS:
                head = f"first_{min(f.rows, HEAD_ROWS)}_rows"
                for row in label_rows:
                    row[head] = f.head_labels.get(row["label"], 0)
                cols.append(head)
            what = {"ner": "Entity types", "multilabel": "Labels (a row may have several)"}.get(f.task, "Labels")
            text = title(what) + "\n" + _rows(label_rows, cols, fmt, align_right=cols[1:])
            if d["majority_label"] is not None:
                text += (
                    f"\nMajority-class baseline: {d['majority_baseline']:.4f} "
                    f"(always predicting {d['majority_label']!r})"
                )
            parts.append(text)
        dup = (
            f"Duplicates: {f.duplicate_rows} row(s) repeat an earlier text ({f.duplicated_texts} distinct); "
            f"{f.conflicting_texts} text(s) with conflicting labels"
        )
        examples = [f"  duplicate at line {e['line']}: {e['text']}" for e in f.duplicate_examples[:3]]
        examples += [
            f"  conflict at line {e['line']}: {e['text']}  (labels {', '.join(e['labels'])})"
            for e in f.conflict_examples[:3]
        ]
        parts.append("\n".join([dup, *examples]))
    for leak in report.leaks:
        same = "tags" if any("same_tags" in e for e in leak["examples"]) else "label"
        text = (
            f"Leakage: {leak['rows']} row(s) of {leak['other']} ({leak['share']:.1%}) also in {leak['train']}, "
            f"{leak['same_label']} with the same {same}"
        )
        ex = [
            f"  line {e['line']}: {e['text']}  (label {e['label']}; in train: {e['train_label']})"
            if "label" in e
            else f"  line {e['line']}: {e['text']}"
            for e in leak["examples"][:3]
        ]
        parts.append("\n".join([title("Train / dev overlap") if md else heading("Train / dev overlap"), text, *ex]))
    warnings = report.warnings
    if warnings:
        bullet = "- "
        parts.append(title("Warnings") + "\n" + "\n".join(bullet + w for w in warnings))
    else:
        parts.append("No warnings.")
    return "\n\n".join(parts)
