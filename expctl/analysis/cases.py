"""Case study of a run's dev predictions (``predictions.jsonl``, docs/program-interface.md).

Three kinds of prediction files, told apart by their keys:

- classification (single text or pair): ``label`` / ``pred`` (+ ``confidence``, ``probs``):
  confusion matrix, per-class precision / recall / F1, macro and micro averages, and the
  wrong predictions, most confident first;
- multi-label: ``labels`` / ``pred_labels`` (+ ``probs``): per-label P/R/F1 over the
  label decisions, exact-match ratio, and the rows whose label set is wrong (missing /
  extra labels), most confident mistake first;
- sequence labeling (BIO): ``tokens`` / ``tags`` / ``pred_tags``: entity-level scores
  (an entity counts only when type and span both match, as in conlleval), an entity-type
  confusion matrix (``O`` for no entity), and every wrong / missed / spurious entity with
  its context.

Precision, recall and F1 are 0 when their denominator is 0 (no predictions or no gold
for a class), as scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from expctl.analysis.sources import parse_jsonl, read_source
from expctl.errors import UsageError
from trainers.api import bio_entities  # noqa: F401 - the one BIO chunker (conlleval's), pure Python

NONE = "O"  # the "no entity" row / column of the NER confusion matrix


@dataclass
class CaseReport:
    task: str  # classification | multilabel | ner
    source: str
    n: int  # examples (sentences for NER)
    summary: dict[str, Any]  # accuracy / exact_match, wrong count, ...
    labels: list[str]  # confusion matrix order
    confusion: list[list[int]]  # rows: gold, columns: predicted
    per_class: list[dict[str, Any]]  # label, precision, recall, f1, support
    macro: dict[str, float]
    micro: dict[str, float]
    cases: list[dict[str, Any]]  # after --label / --limit
    total_cases: int  # before --limit (after --label)
    malformed: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "n": self.n,
            **self.summary,
            "confusion": {"labels": self.labels, "matrix": self.confusion},
            "per_class": self.per_class,
            "macro": self.macro,
            "micro": self.micro,
            "cases": self.cases,
            "total_cases": self.total_cases,
            "malformed_lines": self.malformed,
        }


# ---------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _scores(labels: list[str], tp: Counter, fp: Counter, fn: Counter, support: Counter):
    per_class = []
    for lab in labels:
        p, r, f = prf(tp[lab], fp[lab], fn[lab])
        per_class.append({"label": lab, "precision": p, "recall": r, "f1": f, "support": support[lab]})
    k = len(per_class) or 1
    macro = {m: sum(row[m] for row in per_class) / k for m in ("precision", "recall", "f1")}
    p, r, f = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    micro = {"precision": p, "recall": r, "f1": f}
    return per_class, macro, micro


def _as_label(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------


def _confidence(row: dict) -> float | None:
    conf = row.get("confidence")
    if isinstance(conf, (int, float)) and not isinstance(conf, bool):
        return float(conf)
    probs = row.get("probs")
    if isinstance(probs, dict):
        value = probs.get(_as_label(row.get("pred")))
        if isinstance(value, (int, float)):
            return float(value)
    return None


def classification_report(
    rows: list[dict], label: str | None = None, limit: int | None = 20, source: str = ""
) -> CaseReport:
    gold = [_as_label(r.get("label")) for r in rows]
    pred = [_as_label(r.get("pred")) for r in rows]
    labels = sorted(set(gold) | set(pred))
    if label is not None and label not in labels:
        raise UsageError(
            f"label {label!r} does not occur in {source or 'the predictions'} (labels: {', '.join(labels)})"
        )
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    support = Counter(gold)
    for g, p in zip(gold, pred):
        matrix[index[g]][index[p]] += 1
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    per_class, macro, micro = _scores(labels, tp, fp, fn, support)
    wrong = []
    for i, (row, g, p) in enumerate(zip(rows, gold, pred)):
        if g == p or (label is not None and label not in (g, p)):
            continue
        case = {
            "index": row.get("index", i),
            "label": g,
            "pred": p,
            "confidence": _confidence(row),
            "text": row.get("text"),
        }
        if row.get("text_pair") is not None:
            case["text_pair"] = row.get("text_pair")
        if isinstance(row.get("probs"), dict):
            case["gold_prob"] = row["probs"].get(g)
        wrong.append(case)
    # most confident mistakes first; unknown confidence last; ties keep file order
    wrong.sort(key=lambda c: (c["confidence"] is None, -(c["confidence"] or 0.0)))
    n_wrong = sum(g != p for g, p in zip(gold, pred))
    summary = {"accuracy": (len(rows) - n_wrong) / len(rows) if rows else 0.0, "wrong": n_wrong}
    return CaseReport(
        "classification",
        source,
        len(rows),
        summary,
        labels,
        matrix,
        per_class,
        macro,
        micro,
        wrong[:limit] if limit is not None else wrong,
        len(wrong),
    )


# ---------------------------------------------------------------------------------------
# Multi-label
# ---------------------------------------------------------------------------------------


def _label_set(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return {_as_label(v) for v in value}


def multilabel_report(
    rows: list[dict], label: str | None = None, limit: int | None = 20, source: str = ""
) -> CaseReport:
    golds = [_label_set(r.get("labels")) for r in rows]
    preds = [_label_set(r.get("pred_labels")) for r in rows]
    labels = sorted(set().union(*golds, *preds)) if rows else []
    if label is not None and label not in labels:
        raise UsageError(
            f"label {label!r} does not occur in {source or 'the predictions'} (labels: {', '.join(labels)})"
        )
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    support: Counter = Counter()
    for g, p in zip(golds, preds):
        support.update(g)
        tp.update(g & p)
        fp.update(p - g)
        fn.update(g - p)
    per_class, macro, micro = _scores(labels, tp, fp, fn, support)
    # per label: [[TN, FP], [FN, TP]] flattened into a labels x {gold 0/1} x {pred 0/1} table
    matrix = [[len(rows) - tp[lab] - fp[lab] - fn[lab], fp[lab], fn[lab], tp[lab]] for lab in labels]
    wrong = []
    for i, (row, g, p) in enumerate(zip(rows, golds, preds)):
        if g == p or (label is not None and label not in (g | p)):
            continue
        probs = row.get("probs") if isinstance(row.get("probs"), dict) else {}
        missing, extra = sorted(g - p), sorted(p - g)
        conf_terms = [float(probs[x]) for x in extra if isinstance(probs.get(x), (int, float))]
        conf_terms += [1.0 - float(probs[x]) for x in missing if isinstance(probs.get(x), (int, float))]
        wrong.append(
            {
                "index": row.get("index", i),
                "labels": sorted(g),
                "pred_labels": sorted(p),
                "missing": missing,
                "extra": extra,
                "confidence": max(conf_terms) if conf_terms else None,
                "text": row.get("text"),
            }
        )
    wrong.sort(key=lambda c: (c["confidence"] is None, -(c["confidence"] or 0.0)))
    exact = sum(g == p for g, p in zip(golds, preds))
    summary = {"exact_match": exact / len(rows) if rows else 0.0, "wrong": len(rows) - exact}
    report = CaseReport(
        "multilabel",
        source,
        len(rows),
        summary,
        labels,
        matrix,
        per_class,
        macro,
        micro,
        wrong[:limit] if limit is not None else wrong,
        len(wrong),
    )
    return report


# ---------------------------------------------------------------------------------------
# Sequence labeling
# ---------------------------------------------------------------------------------------


def _is_cjk(tokens: list[str]) -> bool:
    """Character-tokenized Chinese / Japanese: joined without spaces."""
    chars = [t for t in tokens if t.strip()]
    return bool(chars) and all(len(t) == 1 and ord(t) > 0x2E7F for t in chars)


def _join(tokens: list[str], cjk: bool | None = None) -> str:
    return ("" if (_is_cjk(tokens) if cjk is None else cjk) else " ").join(tokens)


def _context(tokens: list[str], start: int, end: int, window: int = 6) -> str:
    """The entity in brackets with up to ``window`` tokens either side."""
    cjk = _is_cjk(tokens)
    pieces = (["…"] if start > window else []) + tokens[max(0, start - window) : start]
    pieces += ["[" + _join(tokens[start:end], cjk) + "]"] + tokens[end : end + window]
    pieces += ["…"] if end + window < len(tokens) else []
    return _join(pieces, cjk)


def ner_report(rows: list[dict], label: str | None = None, limit: int | None = 20, source: str = "") -> CaseReport:
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    support: Counter = Counter()
    pairs: Counter = Counter()  # (gold type or O, pred type or O)
    cases: list[dict[str, Any]] = []
    sentences_right = 0
    notes: list[str] = []
    for i, row in enumerate(rows):
        tokens = [str(t) for t in row.get("tokens") or []]
        gold_tags, pred_tags = list(row.get("tags") or []), list(row.get("pred_tags") or [])
        if len(pred_tags) != len(gold_tags) or len(tokens) != len(gold_tags):
            notes.append(f"example {row.get('index', i)}: tokens / tags / pred_tags differ in length")
            n = max(len(tokens), len(gold_tags), len(pred_tags))
            tokens += [""] * (n - len(tokens))
            gold_tags += ["O"] * (n - len(gold_tags))
            pred_tags += ["O"] * (n - len(pred_tags))
        gold = set(bio_entities(gold_tags))
        pred = set(bio_entities(pred_tags))
        support.update(t for t, _, _ in gold)
        both = gold & pred
        sentences_right += gold == pred
        for t, _, _ in both:
            tp[t] += 1
            pairs[(t, t)] += 1
        for t, _, _ in pred - gold:
            fp[t] += 1
        for t, _, _ in gold - pred:
            fn[t] += 1
        idx = row.get("index", i)
        matched_pred: set = set()
        for g in sorted(gold - pred, key=lambda e: e[1]):
            overlapping = [p for p in pred - gold if p[1] < g[2] and g[1] < p[2]]
            if overlapping:
                p = overlapping[0]
                matched_pred.update(overlapping)
                kind = "wrong type" if (p[1], p[2]) == (g[1], g[2]) else "wrong span"
                pairs[(g[0], p[0])] += 1
                cases.append(
                    {
                        "index": idx,
                        "kind": kind,
                        "gold": g[0],
                        "pred": p[0],
                        "gold_text": _join(tokens[g[1] : g[2]]),
                        "pred_text": _join(tokens[p[1] : p[2]]),
                        "start": min(g[1], p[1]),
                        "end": max(g[2], p[2]),
                        "context": _context(tokens, min(g[1], p[1]), max(g[2], p[2])),
                    }
                )
            else:
                pairs[(g[0], NONE)] += 1
                cases.append(
                    {
                        "index": idx,
                        "kind": "missed",
                        "gold": g[0],
                        "pred": NONE,
                        "gold_text": _join(tokens[g[1] : g[2]]),
                        "pred_text": "",
                        "start": g[1],
                        "end": g[2],
                        "context": _context(tokens, g[1], g[2]),
                    }
                )
        for p in sorted(pred - gold - matched_pred, key=lambda e: e[1]):
            if any(p[1] < g[2] and g[1] < p[2] for g in gold - pred):
                continue  # a second prediction over a gold entity already reported
            pairs[(NONE, p[0])] += 1
            cases.append(
                {
                    "index": idx,
                    "kind": "spurious",
                    "gold": NONE,
                    "pred": p[0],
                    "gold_text": "",
                    "pred_text": _join(tokens[p[1] : p[2]]),
                    "start": p[1],
                    "end": p[2],
                    "context": _context(tokens, p[1], p[2]),
                }
            )
    types = sorted(set(support) | set(fp) | set(tp))
    if label is not None:
        if label not in types:
            raise UsageError(
                f"entity type {label!r} does not occur in {source or 'the predictions'} (types: {', '.join(types)})"
            )
        cases = [c for c in cases if label in (c["gold"], c["pred"])]
    per_class, macro, micro = _scores(types, tp, fp, fn, support)
    labels = types + [NONE]
    matrix = [[pairs[(g, p)] for p in labels] for g in labels]
    summary = {
        "entity_f1": micro["f1"],
        "sentence_accuracy": sentences_right / len(rows) if rows else 0.0,
        "wrong": len(cases),
    }
    return CaseReport(
        "ner",
        source,
        len(rows),
        summary,
        labels,
        matrix,
        per_class,
        macro,
        micro,
        cases[:limit] if limit is not None else cases,
        len(cases),
        notes=notes,
    )


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


def detect_task(rows: list[dict]) -> str:
    for row in rows:
        if "pred_tags" in row or "tags" in row:
            return "ner"
        if "pred_labels" in row or "labels" in row:
            return "multilabel"
        if "pred" in row or "label" in row:
            return "classification"
    raise UsageError(
        "the predictions have none of the keys label/pred, labels/pred_labels or tags/pred_tags "
        "(see docs/program-interface.md)"
    )


def analyse(
    rows: list[dict], label: str | None = None, limit: int | None = 20, source: str = "", malformed: int = 0
) -> CaseReport:
    if not rows:
        raise UsageError(
            f"no predictions in {source or 'the file'}"
            + (f" ({malformed} malformed lines skipped)" if malformed else "")
        )
    task = detect_task(rows)
    fn = {"classification": classification_report, "multilabel": multilabel_report, "ner": ner_report}[task]
    report = fn(rows, label=label, limit=limit, source=source)
    report.malformed = malformed
    return report


def load_cases(ref: str, label: str | None = None, limit: int | None = 20) -> CaseReport:
    """The case study of ``ref``: a predictions.jsonl file, a run folder, or a run id /
    tag / branch. Malformed lines are skipped and counted in ``report.malformed``."""
    data, source = read_source(ref, "predictions.jsonl")
    rows, bad = parse_jsonl(data)
    return analyse(rows, label=label, limit=limit, source=source, malformed=bad)


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

VIEWS = ("all", "cases", "confusion", "classes")

_CASE_COLUMNS = {
    "classification": (
        ["index", "label", "pred", "confidence", "text"],
        ["index", "gold", "pred", "confidence", "text"],
    ),
    "multilabel": (
        ["index", "missing", "extra", "confidence", "text"],
        ["index", "missing", "extra", "confidence", "text"],
    ),
    "ner": (["index", "kind", "gold", "pred", "context"], ["index", "kind", "gold", "pred", "context"]),
}


def _summary_line(report: CaseReport) -> str:
    if report.task == "classification":
        what = f"{report.n} examples, accuracy {report.summary['accuracy']:.4f}, {report.summary['wrong']} wrong"
    elif report.task == "multilabel":
        what = (
            f"{report.n} examples, exact match {report.summary['exact_match']:.4f}, "
            f"{report.summary['wrong']} with a wrong label set"
        )
    else:
        what = (
            f"{report.n} sentences, entity F1 {report.summary['entity_f1']:.4f}, "
            f"{report.summary['wrong']} entity errors"
        )
    return f"{report.source}: {report.task}, {what}"


def _confusion_rows(report: CaseReport) -> tuple[list[dict], list[str], list[str]]:
    if report.task == "multilabel":
        cols = ["label", "tn", "fp", "fn", "tp"]
        rows = [dict(zip(cols, [lab, *counts])) for lab, counts in zip(report.labels, report.confusion)]
        return rows, cols, ["label", "TN", "FP", "FN", "TP"]
    cols = ["gold"] + [f"pred:{lab}" for lab in report.labels]
    rows = [
        {"gold": lab, **{f"pred:{p}": v for p, v in zip(report.labels, counts)}}
        for lab, counts in zip(report.labels, report.confusion)
    ]
    return rows, cols, ["gold \\ pred", *report.labels]


def _class_rows(report: CaseReport) -> list[dict]:
    rows = [dict(r) for r in report.per_class]
    total = sum(r["support"] for r in rows)
    rows.append({"label": "macro avg", **report.macro, "support": total})
    rows.append({"label": "micro avg", **report.micro, "support": total})
    return rows


def _case_rows(report: CaseReport, width: int | None) -> list[dict]:
    if width is None:
        return report.cases
    from expctl.output import truncate

    out = []
    for c in report.cases:
        c = dict(c)
        if c.get("text") is not None:
            text = c["text"] if c.get("text_pair") is None else f"{c['text']} ||| {c['text_pair']}"
            c["text"] = truncate(text, width)
        if c.get("context") is not None:
            c["context"] = truncate(c["context"], width)
        out.append(c)
    return out


def render_report(report: CaseReport, fmt: str = "table", view: str = "all", width: int = 70) -> str:
    """The report as text. ``json`` gives every section as one object (restricted to
    ``view`` when it is not ``all``); ``csv`` gives one section (the cases for ``all``);
    ``table`` / ``markdown`` give the sections under headings."""
    import json

    from expctl.output import heading
    from expctl.output import report_table as _rows

    if view not in VIEWS:
        raise UsageError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    case_cols, case_headers = _CASE_COLUMNS[report.task]
    conf_rows, conf_cols, conf_headers = _confusion_rows(report)
    class_cols = ["label", "precision", "recall", "f1", "support"]
    if fmt == "json":
        full = report.to_dict()
        if view == "cases":
            return json.dumps(full["cases"], ensure_ascii=False, indent=2)
        if view == "confusion":
            return json.dumps(full["confusion"], ensure_ascii=False, indent=2)
        if view == "classes":
            return json.dumps(
                {"per_class": full["per_class"], "macro": full["macro"], "micro": full["micro"]},
                ensure_ascii=False,
                indent=2,
            )
        return json.dumps(full, ensure_ascii=False, indent=2)
    if fmt in ("csv", "tsv"):
        if view == "confusion":
            return _rows(conf_rows, conf_cols, fmt, headers=conf_headers)
        if view == "classes":
            return _rows(_class_rows(report), class_cols, fmt)
        cols = case_cols + (["text_pair"] if any("text_pair" in c for c in report.cases) else [])
        return _rows(report.cases, cols, fmt, headers=case_headers + cols[len(case_cols) :])
    md = fmt == "markdown"

    def title(text: str) -> str:
        return f"### {text}\n" if md else heading(text)

    parts: list[str] = []
    if view == "all":
        parts.append(_summary_line(report))
    if view in ("all", "confusion"):
        what = (
            "Per-label decisions"
            if report.task == "multilabel"
            else "Confusion matrix (rows: gold, columns: predicted"
            + (", O: no entity)" if report.task == "ner" else ")")
        )
        parts.append(
            title(what) + "\n" + _rows(conf_rows, conf_cols, fmt, headers=conf_headers, align_right=conf_cols[1:])
        )
    if view in ("all", "classes"):
        what = "Per entity type (exact span and type)" if report.task == "ner" else "Per class"
        parts.append(title(what) + "\n" + _rows(_class_rows(report), class_cols, fmt, align_right=class_cols[1:]))
    if view in ("all", "cases"):
        shown = len(report.cases)
        what = {
            "classification": "Wrong predictions, most confident first",
            "multilabel": "Wrong label sets, most confident mistake first",
            "ner": "Entity errors",
        }[report.task]
        count = f" ({shown} of {report.total_cases})" if shown < report.total_cases else f" ({shown})"
        body = (
            _rows(_case_rows(report, width), case_cols, fmt, headers=case_headers, align_right=["index", "confidence"])
            if report.cases
            else "none"
        )
        parts.append(title(what + count) + "\n" + body)
    return "\n\n".join(parts)
