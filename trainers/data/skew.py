"""Skewed labels, said out loud: the train vs dev label distribution and the majority-class
baseline at run start, and a flag when a model predicts one class for most of the dev set.

A classifier trained on 470:30 data and evaluated on a balanced dev set can score 0.50 by
predicting the majority class for everything; nothing in the loss curve says so. Pure Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

#: a model whose most frequent dev prediction covers this share of the dev set is flagged
ONE_CLASS_SHARE = 0.95
#: a training set whose majority class holds this share (or more) is called skewed
SKEWED_SHARE = 0.8


def _shares(counts: Counter) -> dict[str, float]:
    n = sum(counts.values()) or 1
    return {lab: c / n for lab, c in counts.items()}


def distribution_report(train_labels: Sequence[str], eval_labels: Sequence[str]) -> list[str]:
    """Log lines: the label shares of train and dev side by side, the majority baseline on dev
    (always predicting train's most frequent class) and, when train is skewed or the two
    distributions differ a lot, what to try (class_weights=balanced, tricks.focal)."""
    tr, ev = Counter(train_labels), Counter(eval_labels)
    if not tr or not ev:
        return []
    ts, es = _shares(tr), _shares(ev)
    labels = sorted(set(tr) | set(ev), key=lambda lab: (-tr.get(lab, 0), lab))
    shown = ", ".join(f"{lab} {ts.get(lab, 0.0):.0%}/{es.get(lab, 0.0):.0%}" for lab in labels[:12])
    majority = labels[0]
    baseline = ev.get(majority, 0) / sum(ev.values())
    lines = [
        f"labels train/dev: {shown}{' ...' if len(labels) > 12 else ''}; majority baseline on dev "
        f"(always {majority!r}): accuracy {baseline:.4f}"
    ]
    gap = max(abs(ts.get(lab, 0.0) - es.get(lab, 0.0)) for lab in labels)
    if ts[majority] >= SKEWED_SHARE or gap >= 0.2:
        lines.append(
            f"WARNING: skewed labels: {majority!r} is {ts[majority]:.0%} of train and {es.get(majority, 0.0):.0%} "
            f"of dev; a model may learn to predict it for everything. Try class_weights=balanced "
            f"(or tricks.focal.gamma=2 for a focal loss), and compare with the baseline above"
        )
    return lines


def one_class_warning(preds: Sequence[str], golds: Sequence[str]) -> str | None:
    """A warning when one class is >= ONE_CLASS_SHARE of the predictions (and not of the gold)."""
    if not preds:
        return None
    label, count = Counter(preds).most_common(1)[0]
    share = count / len(preds)
    gold_share = sum(g == label for g in golds) / len(golds) if golds else 0.0
    if share < ONE_CLASS_SHARE or gold_share >= ONE_CLASS_SHARE:
        return None
    # flagged as "ONE CLASS:" (a finding about the model, greppable), not as a WARNING about the run
    return (
        f"ONE CLASS: the model predicts {label!r} for {share:.1%} of the dev set (gold: {gold_share:.1%}): "
        f"it has collapsed to one class; see the label distribution at the start of the log "
        f"(class_weights=balanced, tricks.focal)"
    )
