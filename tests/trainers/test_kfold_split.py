"""The trainer's k-fold split, dev logits, and predicting a file with a run's checkpoint."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from trainer_helpers import read_jsonl, tiny_flags

from trainers.data import formats, sampling


def test_fold_assignment_stratified_seeded_disjoint():
    items = [("a" if i % 3 else "b", i) for i in range(31)]
    folds = sampling.fold_assignment(items, 3, seed=7, label_of=lambda x: x[0])
    assert folds == sampling.fold_assignment(items, 3, seed=7, label_of=lambda x: x[0])
    assert folds != sampling.fold_assignment(items, 3, seed=8, label_of=lambda x: x[0])
    sizes = Counter(folds)
    assert max(sizes.values()) - min(sizes.values()) <= 1
    for lab in "ab":
        per = Counter(f for (x, _), f in zip(items, folds) if x == lab)
        assert max(per.values()) - min(per.values()) <= 1


def test_fold_run_and_logits_and_checkpoint_prediction(tmp_path, data, train):
    tr, dev = data("classification", 90, 30)
    m = train(tmp_path / "f1", **tiny_flags(train_file=str(tr), eval_file="", num_folds=3, fold=1, epochs=2))
    rows = list(formats.iter_examples(str(tr), "classification"))
    folds = sampling.fold_assignment(rows, 3, 0, lambda ex: ex.label)
    held = [ex.text for ex, f in zip(rows, folds) if f == 1]
    preds = read_jsonl(tmp_path / "f1" / "predictions.jsonl")
    assert m["eval_samples"] == len(held) == len(preds) and sorted(p["text"] for p in preds) == sorted(held)
    for p in preds:  # logits are written and are the probabilities' pre-softmax scores
        z = sum(math.exp(v) for v in p["logits"])
        assert all(abs(math.exp(v) / z - p["probs"][lab]) < 1e-5 for v, lab in zip(p["logits"], p["probs"]))

    # expctl ensemble's fallback: predict another file with the member's checkpoints/best
    from expctl.ensemble import predict_with_checkpoint

    record = {
        "id": "r1",
        "settings": {**tiny_flags(), "task": "classification", "train_file": str(tr), "num_folds": 3, "fold": 1},
        "checkpoints": {"best": "checkpoints/best"},
    }
    out = predict_with_checkpoint(Path(tmp_path), record, tmp_path / "f1", str(dev))
    assert len(out) == 30 and all("logits" in p for p in out)
