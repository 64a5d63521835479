"""Learning sanity on generated data: converge drives the loss near 0, shuffled labels still
overfit, and small-stage-like training beats the majority baseline by a wide margin."""

from __future__ import annotations

import random
from collections import Counter

from trainer_helpers import read_jsonl, tiny_flags

from trainers import synth
from trainers.settings import STAGES


def _write(path, rows):
    synth.write_tsv(rows, path, "classification")


def _converge_flags(train_path, eval_path, **extra):
    flags = tiny_flags(**STAGES["converge"])
    flags.update(train_file=str(train_path), eval_file=str(eval_path), max_eval_samples=101, eval_steps=0)
    flags.update(extra)
    return flags


def _losses(out):
    return [ln["train_loss"] for ln in read_jsonl(out / "metrics.jsonl") if "train_loss" in ln]


def test_converge_stage_drives_loss_below_5_percent(tmp_path, train):
    rows = synth.classification(1500, seed=11)
    _write(tmp_path / "train.tsv", rows)
    _write(tmp_path / "dev.tsv", synth.classification(101, seed=12))
    out = tmp_path / "out"
    # exactly the converge stage (1000-sample seeded subset, 30 epochs, no dropout / decay / warmup)
    # on the default tiny model, with the default lr and log interval
    metrics = train(
        out, train_file=str(tmp_path / "train.tsv"), eval_file=str(tmp_path / "dev.tsv"), **STAGES["converge"]
    )
    losses = _losses(out)
    assert len(losses) == 96  # 960 updates, logged every 10
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
    assert metrics["train_steps"] == 960 and metrics["eval_accuracy"] > 0.9


def test_shuffled_labels_still_overfit(tmp_path, train):
    # real text has a wide vocabulary: add a few pseudo-words to each templated sentence
    rng = random.Random(5)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 7))) for _ in range(800)]
    rows = synth.classification(300, seed=21, weights=(1, 1, 1))
    labels = [r["label"] for r in rows]
    random.Random(0).shuffle(labels)
    shuffled = [
        {"text": r["text"] + " " + " ".join(rng.choice(words) for _ in range(6)), "label": lab}
        for r, lab in zip(rows, labels)
    ]
    _write(tmp_path / "train.tsv", shuffled)
    _write(tmp_path / "dev.tsv", synth.classification(31, seed=22))
    out = tmp_path / "out"
    train(
        out,
        **_converge_flags(
            tmp_path / "train.tsv",
            tmp_path / "dev.tsv",
            epochs=30,
            lr=3e-3,
            **{"tiny.hidden_size": 64, "tiny.intermediate_size": 128, "tiny.vocab_size": 2000},
        ),
    )
    losses = _losses(out)
    # chance level is ln 3 = 1.10: memorising random labels drives the loss far below it
    assert losses[0] > 0.9 and losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])


def test_small_stage_beats_majority_baseline(tmp_path, train):
    train_rows = synth.classification(3000, seed=31)
    eval_rows = synth.classification(501, seed=32)
    _write(tmp_path / "train.tsv", train_rows)
    _write(tmp_path / "dev.tsv", eval_rows)
    majority = Counter(r["label"] for r in eval_rows).most_common(1)[0][1] / len(eval_rows)
    out = tmp_path / "out"
    flags = tiny_flags(**STAGES["small"])
    flags.update(
        train_file=str(tmp_path / "train.tsv"),
        eval_file=str(tmp_path / "dev.tsv"),
        max_train_samples=2000,
        max_eval_samples=501,
        epochs=3,
        lr=2e-3,
        **{"tiny.hidden_size": 64, "tiny.intermediate_size": 128},
    )
    metrics = train(out, **flags)
    assert majority < 0.6
    assert metrics["eval_accuracy"] >= majority + 0.3, (metrics["eval_accuracy"], majority)
