"""The fast stand-in program (no torch) shared by test_kfold.py and test_ensemble.py."""

from __future__ import annotations

import textwrap

from tests.conftest import commit_project

PROGRAM = textwrap.dedent("""
    import json, math, os
    from expctl import track
    s = track.settings()
    fold, k = int(s["fold"]), int(s["num_folds"])
    # k-fold stand-in: accuracy depends on the fold
    acc = 0.5 + 0.1 * fold if k else 0.7
    rows = s["logits"] or [[0.0, 0.0]]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    labels = ["neg", "pos"]
    gold = ["pos", "neg", "pos"][: len(rows)]
    with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "predictions.jsonl"), "w") as fh:
        for i, (row, g) in enumerate(zip(rows, gold)):
            m = max(row); e = [math.exp(v - m) for v in row]; z = sum(e)
            probs = {lab: v / z for lab, v in zip(labels, e)}
            fh.write(json.dumps({"index": i, "text": f"t{i}", "text_pair": None, "label": g,
                                 "pred": max(probs, key=probs.get), "probs": probs, "logits": row}) + "\\n")
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, eval_accuracy=acc)
""")


CONFIG = textwrap.dedent("""
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    num_folds = 0
    fold = 0
    seed = 0
    logits = ""
    eval_file = "data/dev.tsv"
""")


def make(repo):
    commit_project(repo, PROGRAM, CONFIG)
    return repo
