"""The trainer's opt-in TensorBoard tracker (settings: tensorboard = true)."""

from __future__ import annotations

import pytest
from trainer_helpers import read_jsonl, tiny_flags


def test_tensorboard_events_match_metrics_jsonl(tmp_path, data, train):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train_path, eval_path = data("classification", n_train=48, n_eval=11)
    out = tmp_path / "o"
    train(
        out,
        **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=1, eval_steps=2, tensorboard=True),
    )
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    got = {(e.step, tag): e.value for tag in acc.Tags()["scalars"] for e in acc.Scalars(tag)}
    want = {
        (e["step"], k): v for e in read_jsonl(out / "metrics.jsonl") for k, v in e.items() if k not in ("step", "epoch")
    }
    assert {k for k in want if k[1] in ("train_loss", "eval_accuracy")} <= set(got)
    assert all(got[k] == pytest.approx(want[k], rel=1e-5) for k in want if k in got)
    assert any(tag == "train_loss" for _, tag in got) and any(tag == "eval_accuracy" for _, tag in got)


def test_tensorboard_off_by_default(tmp_path, data, train):
    train_path, eval_path = data("classification", n_train=32, n_eval=11)
    out = tmp_path / "o"
    train(out, **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=1))
    assert not (out / "tensorboard").exists()
