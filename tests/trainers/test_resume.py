"""Crash after a checkpoint, rerun with resume=auto: continues from that step (mid-epoch) with
the saved optimizer state, and ends where an uninterrupted run ends."""

from __future__ import annotations

import json

import pytest
import torch
from trainer_helpers import as_argv, read_jsonl, tiny_flags, train_cli


def _optimizer_state(ckpt):
    sd = torch.load(ckpt / "optimizer.bin", map_location="cpu", weights_only=False)
    return sd["state"], sd["param_groups"]


def _assert_same_optimizer(a, b, atol=0.0):
    (sa, ga), (sb, gb) = a, b
    assert sa.keys() == sb.keys()
    assert [g["lr"] for g in ga] == pytest.approx([g["lr"] for g in gb])
    for k in sa:
        assert float(sa[k]["step"]) == float(sb[k]["step"])
        for name in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(sa[k][name], sb[k][name], atol=atol, rtol=atol and 1e-3)


def test_kill_then_resume_auto(tmp_path, data):
    train_path, eval_path = data("classification", n_train=200, n_eval=41)
    # 200 / 16 -> 13 updates per epoch; checkpoint at 7, 14 (mid-epoch 2), 21; crash at 17
    flags = tiny_flags(
        train_file=str(train_path),
        eval_file=str(eval_path),
        epochs=3,
        save_steps=7,
        keep_last=10,
        log_steps=1,
        lr=3e-3,
        dropout=0.1,
    )
    full, crash = tmp_path / "full", tmp_path / "crash"
    ref = train_cli(*as_argv({**flags, "output_dir": str(full)}))
    assert ref.returncode == 0, ref.stderr[-3000:]

    first = train_cli(*as_argv({**flags, "output_dir": str(crash), "debug_stop_after_step": 17}))
    assert first.returncode == 3, first.stderr[-3000:]
    assert not (crash / "metrics.json").exists()
    assert json.loads((crash / "checkpoints.json").read_text())["resume_from"] == "checkpoints/step-14"
    # the checkpoint the crashed run left equals the uninterrupted run's at the same step
    _assert_same_optimizer(
        _optimizer_state(crash / "checkpoints" / "step-14"), _optimizer_state(full / "checkpoints" / "step-14")
    )

    again = train_cli(*as_argv({**flags, "output_dir": str(crash), "resume": "auto"}))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from checkpoints/step-14 at step 14 (epoch 1, skipping 1 batch(es) of it)" in again.stdout
    lines = read_jsonl(crash / "metrics.jsonl")
    resumed_at = next(i for i, ln in enumerate(lines) if "resumed_from_step" in ln)
    assert lines[resumed_at]["step"] == 14
    after = [ln["step"] for ln in lines[resumed_at + 1 :] if "train_loss" in ln]
    assert after[0] == 15 and after[-1] == 39

    # same trajectory: train losses after the resume, final optimizer state and metrics
    ref_loss = {ln["step"]: ln["train_loss"] for ln in read_jsonl(full / "metrics.jsonl") if "train_loss" in ln}
    for ln in lines[resumed_at + 1 :]:
        if "train_loss" in ln:
            assert ln["train_loss"] == pytest.approx(ref_loss[ln["step"]], rel=1e-4, abs=1e-5)
    _assert_same_optimizer(
        _optimizer_state(crash / "checkpoints" / "step-39"),
        _optimizer_state(full / "checkpoints" / "step-39"),
        atol=1e-5,
    )
    m_full = json.loads((full / "metrics.json").read_text())
    m_crash = json.loads((crash / "metrics.json").read_text())
    assert m_crash["eval_accuracy"] == pytest.approx(m_full["eval_accuracy"], abs=1e-6)
    assert m_crash["eval_loss"] == pytest.approx(m_full["eval_loss"], rel=1e-4)
    assert m_crash["train_steps"] == m_full["train_steps"] == 39


def test_resume_auto_without_checkpoint_starts_fresh(tmp_path, data, train):
    train_path, eval_path = data("classification", n_train=48, n_eval=11)
    out = tmp_path / "out"
    m = train(out, **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=1, resume="auto"))
    assert m["train_steps"] == 3
