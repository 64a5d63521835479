"""Evaluation metrics, pure Python (no torch, no sklearn, no seqeval).

* :func:`classification_metrics` - accuracy, precision / recall / F1 macro and micro.
* :func:`multilabel_metrics` - micro / macro P/R/F1 over (example, label) decisions, subset
  accuracy as ``accuracy``.
* :func:`ner_metrics` - entity-level strict P/R/F1 (seqeval ``mode="strict"`` with IOB2: an
  entity is ``B-X`` followed by ``I-X``\\*; a prediction counts only when type, start and end
  all match; an ``I-X`` that does not continue a ``B-X``/``I-X`` of the same type starts no
  entity), plus token accuracy; ``f1_micro`` / ``f1_macro`` (and P/R) are entity-level too.

All keys are returned without the ``eval_`` prefix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    n = len(y_true)
    correct = sum(t == p for t, p in zip(y_true, y_pred))
    tp, fp, fn = Counter(), Counter(), Counter()
    for t, p in zip(y_true, y_pred):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
    # macro over labels present in gold or predictions (sklearn's default label set)
    present = [lab for lab in labels if tp[lab] + fp[lab] + fn[lab] > 0] or labels
    per = {lab: _prf(tp[lab], fp[lab], fn[lab]) for lab in present}
    mp = sum(v[0] for v in per.values()) / max(1, len(per))
    mr = sum(v[1] for v in per.values()) / max(1, len(per))
    mf = sum(v[2] for v in per.values()) / max(1, len(per))
    up, ur, uf = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "accuracy": correct / n if n else 0.0,
        "precision_macro": mp, "recall_macro": mr, "f1_macro": mf,
        "precision_micro": up, "recall_micro": ur, "f1_micro": uf,
        "samples": n,
    }


def multilabel_metrics(y_true: Sequence[Iterable[str]], y_pred: Sequence[Iterable[str]], labels: Sequence[str]) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    exact = 0
    for t, p in zip(y_true, y_pred):
        t, p = set(t), set(p)
        exact += t == p
        for lab in t & p:
            tp[lab] += 1
        for lab in p - t:
            fp[lab] += 1
        for lab in t - p:
            fn[lab] += 1
    n = len(y_true)
    per = [_prf(tp[lab], fp[lab], fn[lab]) for lab in labels]
    k = max(1, len(per))
    up, ur, uf = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "accuracy": exact / n if n else 0.0,  # subset accuracy (exact match)
        "precision_macro": sum(x[0] for x in per) / k, "recall_macro": sum(x[1] for x in per) / k,
        "f1_macro": sum(x[2] for x in per) / k,
        "precision_micro": up, "recall_micro": ur, "f1_micro": uf,
        "samples": n,
    }


def bio_entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Strict IOB2 chunks as (type, start, end-exclusive)."""
    out = set()
    typ, start = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        if tag.startswith("I-") and typ is not None and tag[2:] == typ:
            continue
        if typ is not None:
            out.add((typ, start, i))
            typ, start = None, None
        if tag.startswith("B-"):
            typ, start = tag[2:], i
    return out


def ner_metrics(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    tok_correct = tok_total = 0
    for t, p in zip(y_true, y_pred):
        if len(t) != len(p):
            raise ValueError("gold and predicted tag sequences differ in length")
        tok_total += len(t)
        tok_correct += sum(a == b for a, b in zip(t, p))
        gold, pred = bio_entities(t), bio_entities(p)
        for e in gold & pred:
            tp[e[0]] += 1
        for e in pred - gold:
            fp[e[0]] += 1
        for e in gold - pred:
            fn[e[0]] += 1
    types = sorted(set(tp) | set(fp) | set(fn))
    per = {ty: _prf(tp[ty], fp[ty], fn[ty]) for ty in types}
    p, r, f = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    out = {
        "entity_precision": p, "entity_recall": r, "entity_f1": f,
        "entity_f1_macro": sum(v[2] for v in per.values()) / max(1, len(per)),
        # the usual micro / macro names, entity-level for sequence labeling
        "precision_micro": p, "recall_micro": r, "f1_micro": f,
        "precision_macro": sum(v[0] for v in per.values()) / max(1, len(per)),
        "recall_macro": sum(v[1] for v in per.values()) / max(1, len(per)),
        "f1_macro": sum(v[2] for v in per.values()) / max(1, len(per)),
        "accuracy": tok_correct / tok_total if tok_total else 0.0,  # token accuracy
        "samples": len(y_true),
    }
    for ty, (_, _, tf) in per.items():
        safe = "".join(ch if ch.isalnum() else "_" for ch in ty)
        out[f"entity_f1_{safe}"] = tf
    return out
