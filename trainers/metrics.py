"""Evaluation metrics, pure Python (no torch, no sklearn, no seqeval).

* :func:`classification_metrics` - accuracy, precision / recall / F1 macro and micro.
* :func:`multilabel_metrics` - micro / macro P/R/F1 over (example, label) decisions, subset
  accuracy as ``accuracy``.
* :func:`ner_metrics` - entity-level P/R/F1 as ``conlleval`` computes them (entities chunked by
  :func:`bio_entities`: an ``I-X`` after ``O`` or another type starts an entity; a prediction
  counts only when type, start and end all match), plus token accuracy; ``f1_micro`` /
  ``f1_macro`` (and P/R) are entity-level too.

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
        "precision_macro": mp,
        "recall_macro": mr,
        "f1_macro": mf,
        "precision_micro": up,
        "recall_micro": ur,
        "f1_micro": uf,
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
        "precision_macro": sum(x[0] for x in per) / k,
        "recall_macro": sum(x[1] for x in per) / k,
        "f1_macro": sum(x[2] for x in per) / k,
        "precision_micro": up,
        "recall_micro": ur,
        "f1_micro": uf,
        "samples": n,
    }


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities as (type, start, end-exclusive), in order, chunked the way CoNLL's ``conlleval``
    does (and ``seqeval`` in its default mode): an ``I-X`` that does not continue an ``X``
    entity - after ``O``, after another type, at the start - *starts* an entity of type X;
    ``B-X`` always starts one. ``E-``/``S-`` (BIOES) and ``L-``/``U-`` (BILOU) are read too,
    IOB1 works as is. The one chunker of the project: the trainer's entity F1 and
    ``expctl cases`` both use it (tests/trainers/test_metrics.py has the reference cases).
    """
    entities: list[tuple[str, int, int]] = []
    start, kind = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        tag = "O" if tag is None else str(tag)
        prefix, _, typ = tag.partition("-")
        if not typ:
            prefix, typ = ("O", "") if tag in ("O", "") else ("B", tag)
        prefix = prefix.upper()
        continues = prefix in ("I", "E", "L") and kind == typ and start is not None
        if not continues and start is not None:
            entities.append((kind, start, i))
            start, kind = None, None
        if prefix in ("B", "S", "U") or (prefix in ("I", "E", "L") and not continues):
            start, kind = i, typ
        if prefix in ("E", "L", "S", "U") and start is not None:
            entities.append((kind, start, i + 1))
            start, kind = None, None
    return entities


def ner_metrics(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    tok_correct = tok_total = 0
    for t, p in zip(y_true, y_pred):
        if len(t) != len(p):
            raise ValueError("gold and predicted tag sequences differ in length")
        tok_total += len(t)
        tok_correct += sum(a == b for a, b in zip(t, p))
        gold, pred = set(bio_entities(t)), set(bio_entities(p))
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
        "entity_precision": p,
        "entity_recall": r,
        "entity_f1": f,
        "entity_f1_macro": sum(v[2] for v in per.values()) / max(1, len(per)),
        # the usual micro / macro names, entity-level for sequence labeling
        "precision_micro": p,
        "recall_micro": r,
        "f1_micro": f,
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


# ------------------------------------------------------------------ generation and span metrics
_WORD = None


def words(text: str, lowercase: bool = True) -> list[str]:
    """Word tokens for BLEU / ROUGE-L: runs of word characters and single punctuation marks;
    every CJK character is its own token."""
    import re

    global _WORD
    if _WORD is None:
        _WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+|[^\w\s]")
    return _WORD.findall(text.lower() if lowercase else text)


def bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """Corpus BLEU (Papineni et al. 2002) in [0, 1]: clipped n-gram precisions for n = 1..max_n
    summed over the corpus, geometric mean, brevity penalty exp(1 - r/c) when c < r; one
    reference per hypothesis; no smoothing (a corpus with no matching n-gram of some order
    scores 0). ``max_n`` is lowered to the longest reference when every sentence is shorter."""
    import math

    if len(hypotheses) != len(references):
        raise ValueError("hypotheses and references differ in length")
    longest = max((len(r) for r in references), default=0)
    max_n = max(1, min(max_n, longest))
    match = [0] * max_n
    total = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            h = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
            r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            match[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            total[n - 1] += max(0, len(hyp) - n + 1)
    if hyp_len == 0 or any(m == 0 for m in match):
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(match, total)) / max_n
    bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(log_p)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Mean sentence-level ROUGE-L F1 (LCS precision and recall, beta = 1) in [0, 1]."""
    scores = []
    for hyp, ref in zip(hypotheses, references):
        lcs = _lcs(hyp, ref)
        if lcs == 0:
            scores.append(0.0)
            continue
        p, r = lcs / len(hyp), lcs / len(ref)
        scores.append(2 * p * r / (p + r))
    return sum(scores) / len(scores) if scores else 0.0


def generation_metrics(hyps: Sequence[str], refs: Sequence[str], lowercase: bool = True) -> dict:
    h = [words(x, lowercase) for x in hyps]
    r = [words(x, lowercase) for x in refs]
    exact = sum(a == b for a, b in zip(h, r))
    return {
        "bleu": bleu(h, r),
        "rouge_l": rouge_l(h, r),
        "exact_match": exact / len(h) if h else 0.0,
        "samples": len(h),
    }


def _squad_normalize(text: str) -> list[str]:
    """SQuAD's answer normalisation (lowercase, no punctuation, no a/an/the, single spaces);
    CJK text is compared character by character."""
    import re
    import string

    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation) and ch not in "，。、；：？！“”‘’（）《》")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    out = []
    for tok in text.split():
        if re.search(r"[\u3400-\u4dbf\u4e00-\u9fff]", tok):
            out.extend(list(tok))
        else:
            out.append(tok)
    return out


def span_metrics(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict:
    """SQuAD exact match and token F1, each the max over an example's gold answers, in [0, 1]."""
    em = f1 = 0.0
    for pred, golds in zip(predictions, answers):
        p = _squad_normalize(pred)
        best_em = best_f1 = 0.0
        for gold in golds or [""]:
            g = _squad_normalize(gold)
            best_em = max(best_em, float(p == g))
            common = Counter(p) & Counter(g)
            same = sum(common.values())
            if not p or not g:
                best_f1 = max(best_f1, float(p == g))
            elif same:
                pr, rc = same / len(p), same / len(g)
                best_f1 = max(best_f1, 2 * pr * rc / (pr + rc))
        em += best_em
        f1 += best_f1
    n = len(predictions)
    return {"exact_match": em / n if n else 0.0, "f1": f1 / n if n else 0.0, "samples": n}
