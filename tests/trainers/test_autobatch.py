"""trainers.autobatch: batch_size=auto on CPU (the memory estimate) and target_batch_size."""

from __future__ import annotations

import json

import pytest
import torch

from trainers import autobatch
from trainers.runtime import Outputs
from trainers.settings import typed


@pytest.fixture
def accelerator():
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    try:
        yield Accelerator(cpu=True)
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()


@pytest.fixture
def bert():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return BertForSequenceClassification(cfg)


class _Rows(torch.utils.data.Dataset):
    def __init__(self, lengths):
        self.lengths = lengths

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        return {"input_ids": [1] * self.lengths[i]}


def _out(tmp_path):
    return Outputs(str(tmp_path / "run"), str(tmp_path / "run" / "metrics.jsonl"), True)


def test_pow2_floor():
    assert [autobatch._pow2_floor(n) for n in (0, 1, 2, 3, 31, 32, 33)] == [1, 1, 2, 2, 16, 32, 32]


def test_cpu_estimate_grows_with_memory_shrinks_with_length_and_stays_a_capped_power_of_two(bert):
    small, info = autobatch.cpu_estimate(bert, 64, 50, 4096)
    big, _ = autobatch.cpu_estimate(bert, 64, 500, 4096)
    longer, _ = autobatch.cpu_estimate(bert, 512, 500, 4096)
    assert small < big and longer < big
    for bs in (small, big, longer):
        assert bs & (bs - 1) == 0
    assert autobatch.cpu_estimate(bert, 64, 500, 8)[0] == 8
    assert autobatch.cpu_estimate(bert, 64, 0.001, 512)[0] == 1  # no room at all: still one sample
    assert info["budget_mb"] == 50 and info["fixed_mb"] > 0


def test_auto_on_cpu_is_logged_recorded_and_capped_by_the_data(tmp_path, accelerator, bert, capsys):
    settings = typed({"batch_size": "auto", "auto_batch_memory_mb": 10_000, "target_batch_size": 0})
    out = _out(tmp_path)
    bs, _ = autobatch.resolve(settings, accelerator, bert, _Rows([10, 20, 5]), None, out)
    assert bs == 3  # plenty of memory: capped at the training set (3 examples)
    assert "batch_size=auto: found 3 (CPU memory estimate" in capsys.readouterr().out
    assert out.final_extra["batch_size_found"] == 3
    assert json.loads((tmp_path / "run" / "settings_resolved.json").read_text()) == {"batch_size": 3}
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text()) == {"step": 0, "batch_size_found": 3}


def test_auto_falls_back_when_the_estimate_fails(tmp_path, accelerator, capsys):
    settings = typed({"batch_size": "auto", "target_batch_size": 0})
    bs, _ = autobatch.resolve(settings, accelerator, torch.nn.Linear(2, 2), _Rows([3]), None, _out(tmp_path))
    assert bs == autobatch.FALLBACK
    assert "search failed (AttributeError" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("batch", "target", "bs", "ga"), [(16, 64, 16, 4), (16, 50, 10, 5), (32, 8, 8, 1), (3, 7, 1, 7)]
)
def test_target_batch_size_sets_accumulation_for_a_fixed_effective_batch(tmp_path, accelerator, batch, target, bs, ga):
    settings = typed({"batch_size": batch, "target_batch_size": target, "grad_accum_steps": 1})
    out = _out(tmp_path)
    assert autobatch.resolve(settings, accelerator, None, _Rows([1]), None, out) == (bs, ga)
    assert accelerator.gradient_accumulation_steps == ga
    assert out.final_extra["effective_batch_size"] == bs * ga == target
    resolved = json.loads((tmp_path / "run" / "settings_resolved.json").read_text())
    assert resolved == {"batch_size": bs, "grad_accum_steps": ga}


def test_a_fixed_batch_without_target_is_used_as_is_and_not_recorded(tmp_path, accelerator):
    settings = typed({"batch_size": 24, "target_batch_size": 0})
    assert autobatch.resolve(settings, accelerator, None, _Rows([1]), None, _out(tmp_path)) == (24, 1)
    assert not (tmp_path / "run" / "settings_resolved.json").exists()
