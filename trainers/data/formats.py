"""Streaming readers for the trainer's data files. Pure Python: no torch, no pandas.

One entry point, :func:`iter_examples`, yields :class:`Example` objects one at a time (a big
file is never held in memory), each with the 1-based line number it started on::

    for ex in iter_examples("data/train.tsv", "classification", text_column="review", label_column=0):
        ex.line, ex.text, ex.label

Formats (``format="auto"`` picks one from the extension, then from the content):

* ``tsv`` - tab-separated, no quoting (a ``"`` is an ordinary character). ``csv`` -
  comma-separated (or ``delimiter``) with RFC-4180 quoting; a quoted field may span lines.
  Columns by header name or by 0-based index (``label_column=0`` for label-first files).
  ``has_header="auto"``: the first row is a header when it contains the configured column
  names, or conventional ones (text/sentence/review/... and label/class/sentiment/...: a
  ``label,review`` file with the default ``text_column``), or when its label cell occurs
  nowhere else while the other rows' labels recur (see :func:`resolve_layout`; the
  :class:`ReadReport` keeps the :class:`Layout` and why, which the trainer logs). Headerless files with named (default) columns: text is the first column, unless
  the first column looks like labels (shorter than the last column on average), then label
  first. For ``ner``, a tsv line may be ``tokens<TAB>tags`` (space-separated both sides; a
  single unspaced CJK string is split into characters when that matches the tag count).
* ``jsonl`` - one object per line; fields named by the ``*_column`` options. Multi-label:
  a list, or a string split on ``label_separator``. NER: ``tokens`` (list or space-separated
  string) and ``tags``.
* ``conll`` - one token per line, its tag in the last whitespace-separated column, a blank
  line between sentences; ``-DOCSTART-`` lines are skipped.

All files are read as UTF-8, with or without a byte-order mark. A malformed line raises
:class:`FormatError` naming the file and line; with ``skip_malformed=True`` it is skipped
and counted in the :class:`ReadReport` passed as ``report``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TASKS = ("classification", "pair", "multilabel", "ner")
FORMATS = ("tsv", "csv", "jsonl", "conll")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


class FormatError(ValueError):
    """A malformed data line. ``path`` and ``line`` say where."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class Example:
    """One example. Fields unused by a task stay None."""

    line: int  # 1-based line number where the example starts
    text: str | None = None
    text_pair: str | None = None
    label: str | None = None  # classification / pair
    labels: list[str] | None = None  # multilabel
    tokens: list[str] | None = None  # ner
    tags: list[str] | None = None  # ner

    def label_key(self) -> str | None:
        """The label used for stratified sampling (single-label tasks only)."""
        return self.label

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ReadReport:
    """Counts of one read: examples yielded, malformed lines skipped (first few kept)."""

    examples: int = 0
    skipped: int = 0
    skipped_lines: list[tuple[int | None, str]] = field(default_factory=list)
    layout: Any = None  # tsv/csv: the Layout read (header, columns, why)

    def skip(self, err: FormatError) -> None:
        self.skipped += 1
        if len(self.skipped_lines) < 10:
            self.skipped_lines.append((err.line, err.reason))


def detect_format(path: str, task: str) -> str:
    """tsv | csv | jsonl | conll, from the extension, else from the first lines."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    if ext in (".conll", ".conllu", ".bio", ".iob", ".iob2", ".ner"):
        return "conll"
    head = _peek_lines(path, 200)
    first = next((ln for ln in head if ln.strip()), "")
    if first.lstrip().startswith("{"):
        return "jsonl"
    if task == "ner":
        # tokens<TAB>tags has space-separated tokens or tags on one line; conll has one token per line
        for ln in head:
            if "\t" in ln:
                left, right = ln.split("\t", 1)
                if " " in left.strip() or " " in right.strip():
                    return "tsv"
        return "conll"
    return "tsv"


def _peek_lines(path: str, n: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for line in fh:
            out.append(line.rstrip("\r\n"))
            if len(out) >= n:
                break
    return out


def _as_index(col: Any) -> int | None:
    if isinstance(col, bool):
        return None
    if isinstance(col, int):
        return col
    if isinstance(col, str) and col.strip().lstrip("-").isdigit():
        return int(col)
    return None


def iter_examples(
    path: str | os.PathLike,
    task: str,
    *,
    format: str = "auto",
    text_column: Any = "text",
    text_pair_column: Any = "text_pair",
    label_column: Any = "label",
    tokens_column: Any = "tokens",
    tags_column: Any = "tags",
    has_header: Any = "auto",
    delimiter: str | None = None,
    label_separator: str = ",",
    skip_malformed: bool = False,
    report: ReadReport | None = None,
    **_ignored: Any,
) -> Iterator[Example]:
    """Yield the examples of one file, streaming. See the module docstring for the formats.

    Extra keyword arguments are ignored so that a whole settings dict can be passed.
    """
    path = str(path)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if not os.path.exists(path):
        raise FormatError(path, None, "file not found")
    if os.path.isdir(path):
        raise FormatError(path, None, "is a folder, not a data file")
    try:
        fmt = detect_format(path, task) if format in ("auto", "", None) else format
    except UnicodeDecodeError as exc:
        raise FormatError(path, None, f"not valid UTF-8 ({exc.reason} in the first lines)") from None
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")
    report = report if report is not None else ReadReport()
    opts = dict(
        text_column=text_column,
        text_pair_column=text_pair_column,
        label_column=label_column,
        tokens_column=tokens_column,
        tags_column=tags_column,
        label_separator=label_separator or ",",
    )
    if fmt == "jsonl":
        gen = _iter_jsonl(path, task, **opts)
    elif fmt == "conll":
        gen = _iter_conll(path, task)
    else:
        delim = delimiter or ("\t" if fmt == "tsv" else ",")
        delim = {"\\t": "\t", "tab": "\t"}.get(delim, delim)
        gen = _iter_delimited(path, task, fmt, delim, has_header, report=report, **opts)
    last_line = 0
    try:
        for item in gen:
            if isinstance(item, FormatError):
                if not skip_malformed:
                    raise item
                report.skip(item)
                continue
            report.examples += 1
            last_line = item.line
            yield item
    except UnicodeDecodeError as exc:
        raise FormatError(path, None, f"not valid UTF-8 (after line {last_line}: {exc.reason})") from None


# --- delimited (tsv / csv) -------------------------------------------------------------


def _split_labels(raw: str, sep: str) -> list[str]:
    return [p.strip() for p in raw.split(sep) if p.strip()]


def _rows(path: str, fmt: str, delim: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of each non-empty row."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if fmt == "tsv":
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                yield lineno, line.split(delim)
        else:
            reader = csv.reader(fh, delimiter=delim, quotechar='"', doublequote=True, strict=False)
            start = 1
            for row in reader:
                end = reader.line_num
                if row and any(f.strip() for f in row):
                    yield start, row
                start = end + 1


# Conventional column names: a first row made of these is a header even when the configured
# names differ (a `label,review` file read with the default text_column = "text").
TEXT_NAMES = (
    "text",
    "sentence",
    "review",
    "content",
    "comment",
    "document",
    "doc",
    "query",
    "question",
    "title",
    "body",
    "utterance",
    "tweet",
    "message",
    "sentence1",
    "text_a",
    "premise",
    "passage",
    "x",
)
PAIR_NAMES = ("text_pair", "sentence2", "text_b", "hypothesis", "answer", "passage2")
LABEL_NAMES = (
    "label",
    "labels",
    "class",
    "category",
    "target",
    "sentiment",
    "polarity",
    "y",
    "intent",
    "tag",
    "tags",
    "gold_label",
    "rating",
    "stars",
)
ROLE_NAMES = {
    "text": TEXT_NAMES,
    "text_pair": PAIR_NAMES,
    "label": LABEL_NAMES,
    "tokens": ("tokens", "words", "text"),
    "tags": ("tags", "labels", "ner_tags", "label"),
}
DEFAULT_NAMES = {"text": "text", "text_pair": "text_pair", "label": "label", "tokens": "tokens", "tags": "tags"}
_HEADER_PEEK = 2000  # rows read ahead to decide the header by label statistics


@dataclass
class Layout:
    """How a tsv/csv file's columns were read: the header row (or None), the column index of
    each role, and why - the sentence the trainer logs and ``data stats`` shows."""

    header: list[str] | None
    index: dict[str, int]
    why: str

    def describe(self) -> str:
        if self.header is not None:
            cols = ", ".join(f"{role} = column {self.header[i]!r}" for role, i in self.index.items())
        else:
            cols = ", ".join(f"{role} = column {i}" for role, i in self.index.items())
        return f"{cols} ({self.why})"


def _norm(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").lower()


def _match_header(row: list[str], wanted: dict[str, Any], conventional: bool) -> dict[str, int] | None:
    """Column index per role from a header row: configured names first, then (with
    ``conventional``) conventional names for roles left at their default name. None: no match."""
    lookup: dict[str, int] = {}
    for i, cell in enumerate(row):
        lookup.setdefault(_norm(cell), i)
    index: dict[str, int] = {}
    for role, col in wanted.items():
        idx = _as_index(col)
        if idx is not None:
            index[role] = idx
            continue
        if str(col).lower() in lookup:
            index[role] = lookup[str(col).lower()]
            continue
        if not conventional or str(col) != DEFAULT_NAMES.get(role):
            return None
        found = next(
            (lookup[n] for n in ROLE_NAMES.get(role, ()) if n in lookup and lookup[n] not in index.values()), None
        )
        if found is None:
            return None
        index[role] = found
    return index


def _first_label_is_unique(task: str, wanted: dict[str, Any], rows: list[list[str]]) -> bool:
    """A first row whose label cell (placed by position) never recurs in the rows after it,
    while the other rows' labels do recur: a header, not an example of a class of one."""
    if task not in ("classification", "pair") or len(rows) < 11:
        return False
    layout = _positional_layout(task, wanted, rows[1:], "")
    li = layout.get("label")
    if li is None:
        return False
    labels = [r[li].strip() for r in rows[1:] if len(r) > li]
    if not labels or len(rows[0]) <= li:
        return False
    counts = Counter(labels)
    if rows[0][li].strip() in counts or len(counts) > len(labels) / 2:
        return False
    # and the row looks like names, not like an example of a rare class: a label cell that is
    # not numeric among numeric labels, or a text cell far shorter than the texts below it
    if all(lab.lstrip("-").isdigit() for lab in counts) and not rows[0][li].strip().lstrip("-").isdigit():
        return True
    ti = next((i for role, i in layout.items() if role in ("text", "tokens")), None)
    if ti is None or len(rows[0]) <= ti:
        return False
    lengths = sorted(len(r[ti]) for r in rows[1:] if len(r) > ti)
    return bool(lengths) and len(rows[0][ti]) <= 0.5 * lengths[len(lengths) // 2]


def resolve_layout(task: str, wanted: dict[str, Any], rows: list[list[str]], has_header: Any, path: str = "") -> Layout:
    """Header or not, and the column of each role, from the first rows of a tsv/csv file.

    ``has_header="auto"`` decides, in this order: the first row names the configured
    columns; it is made of conventional names (text/sentence/review/... and
    label/class/sentiment/...); its label cell occurs nowhere else while the other labels
    recur (label statistics). Otherwise there is no header and columns go by position.
    Raises :class:`FormatError` when a configured column is missing from the header.
    """
    first = rows[0]
    flag = str(has_header).strip().lower()
    if flag in ("true", "1", "yes"):
        index = _match_header(first, wanted, conventional=True)
        if index is None:
            missing = next(
                str(c)
                for role, c in wanted.items()
                if _as_index(c) is None and str(c).lower() not in {_norm(x) for x in first}
            )
            raise FormatError(path, 1, f"header has no column {missing!r} (columns: {', '.join(first)})")
        return Layout(first, index, "has_header = true")
    if flag not in ("false", "0", "no"):
        named = [c for c in wanted.values() if _as_index(c) is None]
        index = _match_header(first, wanted, conventional=False) if named else None
        if index is not None:
            return Layout(first, index, "header detected: the first row names the configured columns")
        index = _match_header(first, wanted, conventional=True) if named else None
        if index is not None:
            return Layout(first, index, "header detected: the first row holds conventional column names")
        if _first_label_is_unique(task, wanted, rows):
            index = _positional_layout(task, wanted, rows[1:], path)
            return Layout(
                first,
                index,
                "header detected: the first row's label occurs nowhere else in the file's "
                f"first {len(rows)} rows; columns placed by position",
            )
        why = "no header: the first row matches no column name"
    else:
        why = "has_header = false"
    index = _positional_layout(task, wanted, rows, path)
    return Layout(
        None, index, why + ("; columns by position" if any(_as_index(c) is None for c in wanted.values()) else "")
    )


def _iter_delimited(
    path,
    task,
    fmt,
    delim,
    has_header,
    *,
    text_column,
    text_pair_column,
    label_column,
    tokens_column,
    tags_column,
    label_separator,
    report=None,
):
    rows = _rows(path, fmt, delim)
    wanted = _wanted_columns(task, text_column, text_pair_column, label_column, tokens_column, tags_column)
    buffered: list[tuple[int, list[str]]] = []
    for item in rows:
        buffered.append(item)
        if len(buffered) >= _HEADER_PEEK:
            break
    if not buffered:
        return
    try:
        layout = resolve_layout(task, wanted, [r for _, r in buffered], has_header, path)
    except FormatError as exc:
        yield FormatError(path, buffered[0][0], exc.reason)
        return
    if report is not None:
        report.layout = layout
    if layout.header is not None:
        buffered = buffered[1:]
    index = layout.index
    ncols_needed = max(index.values()) + 1 if index else 1

    def _all_rows():
        yield from buffered
        yield from rows

    for lineno, row in _all_rows():
        if len(row) < ncols_needed:
            yield FormatError(path, lineno, f"expected at least {ncols_needed} fields, found {len(row)}")
            continue
        try:
            yield _example_from_fields(task, lineno, {role: row[i] for role, i in index.items()}, label_separator)
        except ValueError as exc:
            yield FormatError(path, lineno, str(exc))


def _wanted_columns(task, text_column, text_pair_column, label_column, tokens_column, tags_column) -> dict[str, Any]:
    if task == "ner":
        # tsv/csv ner: tokens<TAB>tags; the text/label columns name them unless tokens/tags set
        return {
            "tokens": tokens_column if tokens_column not in (None, "") else text_column,
            "tags": tags_column if tags_column not in (None, "") else label_column,
        }
    wanted = {"text": text_column, "label": label_column}
    if task == "pair":
        wanted["text_pair"] = text_pair_column
    return wanted


def _positional_layout(task, wanted, sample_rows, path) -> dict[str, int]:
    """Column indexes for a headerless file: explicit indexes win; names fall back to position."""
    explicit = {role: _as_index(c) for role, c in wanted.items() if _as_index(c) is not None}
    if len(explicit) == len(wanted):
        return explicit
    if task == "ner":
        order = ["tokens", "tags"]
        return {role: explicit.get(role, i) for i, role in enumerate(order)}
    ncols = max((len(r) for r in sample_rows), default=len(wanted))
    texts = ["text", "text_pair"] if task == "pair" else ["text"]
    label_first = False
    if "label" not in explicit and sample_rows and ncols >= 2:

        def avg(i):
            vals = [len(r[i]) for r in sample_rows if len(r) > i]
            return sum(vals) / max(1, len(vals))

        label_first = avg(0) < avg(ncols - 1)
    if "label" in explicit:
        label_first = explicit["label"] == 0
    layout: dict[str, int] = {}
    if label_first:
        layout["label"] = 0
        for i, role in enumerate(texts):
            layout[role] = i + 1
    else:
        for i, role in enumerate(texts):
            layout[role] = i
        layout["label"] = len(texts)
    layout.update(explicit)
    return layout


def _split_tokens(tokens_raw: str, n_tags: int) -> list[str]:
    toks = tokens_raw.split()
    if len(toks) == 1 and n_tags > 1 and len(toks[0]) == n_tags:
        return list(toks[0])  # unspaced CJK sentence, one tag per character
    return toks


def _example_from_fields(task: str, lineno: int, fields: dict[str, Any], sep: str) -> Example:
    if task == "ner":
        tags_raw = fields["tags"]
        tags = tags_raw.split() if isinstance(tags_raw, str) else [str(t) for t in tags_raw]
        toks_raw = fields["tokens"]
        tokens = _split_tokens(toks_raw, len(tags)) if isinstance(toks_raw, str) else [str(t) for t in toks_raw]
        if not tokens:
            raise ValueError("empty token sequence")
        if len(tokens) != len(tags):
            raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
        _check_bio(tags)
        return Example(line=lineno, tokens=tokens, tags=tags)
    text = fields.get("text")
    if text is None or not isinstance(text, str):
        raise ValueError("missing text")
    if not text.strip():
        raise ValueError("empty text")
    label = fields.get("label")
    if label is None:
        raise ValueError("missing label")
    ex = Example(line=lineno, text=text)
    if task == "pair":
        pair = fields.get("text_pair")
        if pair is None or not isinstance(pair, str):
            raise ValueError("missing second text (text_pair)")
        ex.text_pair = pair
    if task == "multilabel":
        if isinstance(label, list):
            ex.labels = [str(x).strip() for x in label if str(x).strip()]
        else:
            ex.labels = _split_labels(str(label), sep)
    else:
        if isinstance(label, (list, dict)):
            raise ValueError(f"label must be a single value, got {label!r}")
        lab = str(label).strip() if not isinstance(label, bool) else str(label).lower()
        if not lab:
            raise ValueError("empty label")
        ex.label = lab
    return ex


_TAG = re.compile(r"^(O|[BI]-.+)$")


def _check_bio(tags: list[str]) -> None:
    for t in tags:
        if not _TAG.match(t):
            raise ValueError(f"tag {t!r} is not BIO (O, B-TYPE, I-TYPE)")


# --- jsonl ------------------------------------------------------------------------------


def _iter_jsonl(
    path, task, *, text_column, text_pair_column, label_column, tokens_column, tags_column, label_separator
):
    wanted = _wanted_columns(task, text_column, text_pair_column, label_column, tokens_column, tags_column)
    if task == "ner":
        wanted = {"tokens": tokens_column or "tokens", "tags": tags_column or "tags"}
    with open(path, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield FormatError(path, lineno, f"invalid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield FormatError(path, lineno, "expected a JSON object")
                continue
            fields = {}
            missing = None
            for role, key in wanted.items():
                key = str(key)
                if key not in obj:
                    missing = key
                    break
                value = obj[key]
                if role in ("text", "text_pair") and value is not None and not isinstance(value, str):
                    value = str(value)
                if role == "label" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = str(value)
                fields[role] = value
            if missing is not None:
                yield FormatError(path, lineno, f"missing field {missing!r}")
                continue
            try:
                yield _example_from_fields(task, lineno, fields, label_separator)
            except ValueError as exc:
                yield FormatError(path, lineno, str(exc))


# --- conll -------------------------------------------------------------------------------


def _iter_conll(path, task):
    if task != "ner":
        yield FormatError(path, None, f"format conll is for task=ner, not {task}")
        return
    tokens: list[str] = []
    tags: list[str] = []
    start = None
    bad: FormatError | None = None

    def flush():
        nonlocal tokens, tags, start, bad
        out = bad if bad is not None else (Example(line=start, tokens=tokens, tags=tags) if tokens else None)
        tokens, tags, start, bad = [], [], None, None
        return out

    with open(path, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                ex = flush()
                if ex is not None:
                    yield ex
                continue
            if line.startswith("-DOCSTART-"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            parts = [p for p in parts if p != ""]
            if start is None:
                start = lineno
            if len(parts) < 2:
                if bad is None:
                    bad = FormatError(path, lineno, "expected a token and a tag")
                continue
            tag = parts[-1].strip()
            if not _TAG.match(tag) and bad is None:
                bad = FormatError(path, lineno, f"tag {tag!r} is not BIO (O, B-TYPE, I-TYPE)")
            tokens.append(parts[0].strip())
            tags.append(tag)
    ex = flush()
    if ex is not None:
        yield ex


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


#: the raw rows of a delimited / JSON-lines file, ``(line number, cells)`` (expctl's data split reads them)
read_rows = _rows


def layout_of(path: str, fmt: str, delim: str, task: str, opts: dict[str, Any], peek: int = 2000) -> Layout | None:
    """Header and columns of a tsv/csv file, decided from its first ``peek`` rows exactly as the
    trainer decides them (``opts``: the ``*_column`` and ``has_header`` settings); None when the
    file has no rows. Raises :class:`FormatError` for a layout the trainer would refuse."""
    rows = []
    for _, row in _rows(path, fmt, delim):
        rows.append(row)
        if len(rows) >= peek:
            break
    if not rows:
        return None
    wanted = _wanted_columns(
        task,
        opts.get("text_column", "text"),
        opts.get("text_pair_column", "text_pair"),
        opts.get("label_column", "label"),
        opts.get("tokens_column", "tokens"),
        opts.get("tags_column", "tags"),
    )
    return resolve_layout(task, wanted, rows, opts.get("has_header", "auto"), path)


#: a column given as a number (``2``, ``"2"``, ``-1``) -> its index; a name -> None
column_index = _as_index
