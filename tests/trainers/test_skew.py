"""Skewed labels said out loud (train vs dev distribution, majority baseline, a collapsed model
flagged), class_weights = "balanced", and the distillation logits file the trainer now writes."""

from __future__ import annotations

import math

import pytest
import torch

from trainers import synth
from trainers.data.skew import distribution_report, one_class_warning


def test_distribution_report_names_the_majority_baseline_and_the_skew():
    train = ["pos"] * 470 + ["neg"] * 30
    dev = ["pos"] * 50 + ["neg"] * 50
    lines = distribution_report(train, dev)
    assert "pos 94%/50%" in lines[0] and "neg 6%/50%" in lines[0]
    assert "majority baseline on dev (always 'pos'): accuracy 0.5000" in lines[0]
    assert lines[1].startswith("WARNING: skewed labels") and "class_weights=balanced" in lines[1]
    assert "tricks.focal" in lines[1]
    assert len(distribution_report(["a", "b"] * 50, ["a", "b"] * 20)) == 1  # balanced: no warning


def test_one_class_flag_at_95_percent():
    golds = ["a"] * 50 + ["b"] * 50
    assert one_class_warning(["a"] * 95 + ["b"] * 5, golds).startswith("ONE CLASS: the model predicts 'a' for 95.0%")
    assert one_class_warning(["a"] * 94 + ["b"] * 6, golds) is None
    assert one_class_warning(["a"] * 100, ["a"] * 96 + ["b"] * 4) is None  # the gold is that skewed too


def _skewed(tmp_path):
    synth.write_tsv(synth.classification(100, seed=3, weights=(0.94, 0.06, 0.0)), tmp_path / "train.tsv")
    synth.write_tsv(synth.classification(40, seed=4, weights=(0.5, 0.5, 0.0)), tmp_path / "dev.tsv")
    return {"train_file": str(tmp_path / "train.tsv"), "eval_file": str(tmp_path / "dev.tsv")}


def test_skewed_run_logs_distribution_and_flags_a_one_class_model(tmp_path, train, capsys):
    from trainer_helpers import tiny_flags

    # a few updates on 94:6 data: the model learns the prior and predicts the majority class
    train(tmp_path / "out", **tiny_flags(**_skewed(tmp_path), max_steps=6))
    log = capsys.readouterr().out
    assert "majority baseline on dev (always 'pos')" in log and "WARNING: skewed labels" in log
    assert "ONE CLASS: the model predicts 'pos' for 100.0% of the dev set" in log


def test_balanced_class_weights_weigh_the_cross_entropy():
    from trainers.tricks import build_tricks

    weights = [100 / (2 * 94), 100 / (2 * 6)]
    ts = build_tricks({}, "classification", 2, context={"class_weights": weights})
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    ce = [-torch.log_softmax(row, -1)[y] for row, y in zip(logits, labels)]
    want = sum(weights[y] * c for y, c in zip(labels.tolist(), ce)) / sum(weights[y] for y in labels.tolist())
    assert math.isclose(float(ts.supervised_loss(logits, labels)), float(want), rel_tol=1e-6)


def test_class_weights_balanced_trains(tmp_path, train, capsys):
    from trainer_helpers import tiny_flags

    m = train(tmp_path / "out", **tiny_flags(**_skewed(tmp_path), epochs=1, class_weights="balanced"))
    assert math.isfinite(m["train_loss"])


def test_distill_logits_file_is_written_by_the_trainer_and_reused(tmp_path, train, data):
    from trainer_helpers import tiny_flags

    train_path, eval_path = data("classification", n_train=48, n_eval=16)
    base = tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=1)
    train(tmp_path / "teacher", **base)
    logits = tmp_path / "cache" / "teacher_logits.pt"
    teacher = str(tmp_path / "teacher" / "checkpoints" / "best")
    m1 = train(
        tmp_path / "s1", **base, **{"tricks.distill.teacher": teacher, "tricks.distill.logits_file": str(logits)}
    )
    saved = torch.load(logits)
    assert saved.shape == (48, 3) and math.isfinite(m1["train_loss"])
    # a second run reads the file (no teacher needed any more); the file is not rewritten
    before = logits.stat().st_mtime_ns
    m2 = train(tmp_path / "s2", **base, **{"tricks.distill.logits_file": str(logits)})
    # (the first run drew random numbers while loading its teacher: dropout differs slightly)
    assert logits.stat().st_mtime_ns == before and m2["train_loss"] == pytest.approx(m1["train_loss"], rel=0.05)
