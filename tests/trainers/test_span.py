"""trainers/tasks/span.py: task=span overfits SQuAD-style data read in windows (doc_stride)."""

from __future__ import annotations

import json

from trainer_helpers import WIDE, read_jsonl, tiny_flags

from trainers import synth


def test_span_overfits_squad_style_with_windows(tmp_path, train):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(synth.span_squad(50, seed=0)))
    flags = tiny_flags(
        **WIDE,
        task="span",
        train_file=str(path),
        eval_file=str(path),
        max_seq_length=48,
        doc_stride=16,
        epochs=30,
        log_steps=50,
    )
    m = train(tmp_path / "out", stage="converge", **flags)
    assert m["eval_exact_match"] > 0.9 and m["eval_f1"] > 0.9
    preds = read_jsonl(tmp_path / "out" / "predictions.jsonl")
    assert len(preds) == 50 and preds[0]["answers"] and "pred" in preds[0]
    log = (tmp_path / "out" / "metrics.jsonl").read_text()
    assert "eval_exact_match" in log
