"""trainers.updates: the update loop on a real accelerator with a one-weight regression model:
update counting (with accumulation), the logged metrics, mid-run evaluation, resuming an epoch."""

from __future__ import annotations

import json

import pytest
import torch

from trainers.checkpoints import LoopState
from trainers.data.pipeline import EpochShuffle
from trainers.optim import linear_schedule, plan_steps
from trainers.runtime import Outputs
from trainers.settings import typed
from trainers.updates import Timing, train_updates


@pytest.fixture
def make_accelerator():
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    def make(ga=1):
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
        return Accelerator(cpu=True, gradient_accumulation_steps=ga)

    yield make
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


class _Points(torch.utils.data.Dataset):
    def __init__(self, n):
        self.x = torch.linspace(-1, 1, n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input_ids": self.x[i : i + 1], "y": 3 * self.x[i : i + 1]}


def _train(tmp_path, accelerator, *, n=24, batch=4, ga=1, epochs=3, start_epoch=0, **overrides):
    torch.manual_seed(0)
    settings = typed(
        {
            "grad_accum_steps": ga,
            "epochs": epochs,
            "max_steps": 0,
            "warmup_ratio": 0.0,
            "log_steps": 2,
            "eval_steps": 0,
            "save_steps": 0,
            "debug_stop_after_step": 0,
            "max_grad_norm": 1.0,
            **overrides,
        }
    )
    model = torch.nn.Linear(1, 1, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    sampler = EpochShuffle(n, seed=1)
    dl = torch.utils.data.DataLoader(_Points(n), batch_size=batch, sampler=sampler)
    model, optimizer, dl = accelerator.prepare(model, optimizer, dl)
    plan = plan_steps(settings, len(dl))
    scheduler = linear_schedule(optimizer, plan.total, plan.warmup)
    state = LoopState()
    state.global_step = start_epoch * plan.steps_per_epoch
    out = Outputs(str(tmp_path), str(tmp_path / "metrics.jsonl"), True)
    evaluated = []

    def step_fn(model, batch):
        pred = model(batch["input_ids"])
        loss = torch.nn.functional.mse_loss(pred, batch["y"])
        accelerator.backward(loss)
        return {"loss": loss.detach(), "abs": (pred - batch["y"]).abs().mean().detach()}

    timing = train_updates(
        settings=settings,
        accelerator=accelerator,
        out=out,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        train_dl=dl,
        sampler=sampler,
        plan=plan,
        state=state,
        ckpts=None,
        step_fn=step_fn,
        tricks=None,
        evaluate_mid=lambda m, step: evaluated.append(step),
        start_epoch=start_epoch,
        skip_batches=0,
    )
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    return state, plan, timing, lines, evaluated, model


def test_every_update_is_counted_and_every_log_steps_window_logged(tmp_path, make_accelerator, capsys):
    state, plan, timing, lines, _, model = _train(tmp_path, make_accelerator())
    assert plan.total == 18 and state.global_step == 18
    assert [e["step"] for e in lines] == list(range(2, 19, 2))
    assert all({"train_loss", "lr", "train_abs", "train_samples_per_s", "epoch"} <= set(e) for e in lines)
    assert lines[-1]["train_loss"] < lines[0]["train_loss"]
    assert state.last_train_loss == lines[-1]["train_loss"]
    assert float(model.weight.detach()) == pytest.approx(3.0, abs=0.3)  # it learned y = 3x
    assert isinstance(timing, Timing) and timing.samples == 24 * 3
    assert "step 18/18 | epoch 3.00 | loss" in capsys.readouterr().out


def test_accumulation_makes_one_update_of_several_micro_batches(tmp_path, make_accelerator):
    state, plan, _, lines, _, _ = _train(tmp_path, make_accelerator(ga=2), ga=2, epochs=2)
    assert plan.steps_per_epoch == 3 and state.global_step == 6
    assert [e["step"] for e in lines] == [2, 4, 6]


def test_mid_run_evaluation_every_eval_steps_but_not_at_the_end(tmp_path, make_accelerator):
    state, _, _, _, evaluated, _ = _train(tmp_path, make_accelerator(), eval_steps=4)
    assert evaluated == [4, 8, 12, 16] and state.global_step == 18


def test_max_steps_stops_mid_epoch_and_a_resumed_epoch_counts_on(tmp_path, make_accelerator):
    state, plan, _, lines, _, _ = _train(tmp_path / "a", make_accelerator(), max_steps=7)
    assert state.global_step == 7 and lines[-1]["step"] == 7  # the last update is always logged
    state, plan, timing, lines, _, _ = _train(tmp_path / "b", make_accelerator(), start_epoch=2)
    assert state.global_step == plan.total == 18
    assert [e["step"] for e in lines] == [14, 16, 18] and timing.samples == 24


def test_timing_samples_per_second():
    assert Timing(10.0, 100, 4.0).samples_per_s(2) == 50.0
    assert Timing(10.0, 100, 0.0).samples_per_s(1) is None
