"""trainers.optim: weight-decay groups, the step plan, the warm-up / decay schedule, the resume plan."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from trainers.optim import StepPlan, adamw, linear_schedule, no_decay, plan_steps, resume_plan
from trainers.settings import typed


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(4, 4)
        self.LayerNorm = torch.nn.LayerNorm(4)
        self.frozen = torch.nn.Linear(4, 1)
        self.frozen.weight.requires_grad_(False)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("encoder.dense.bias", True),
        ("encoder.LayerNorm.weight", True),
        ("model.layernorm_embedding.weight", True),
        ("encoder.dense.weight", False),
        ("embeddings.word_embeddings.weight", False),
    ],
)
def test_no_decay_is_for_biases_and_norms(name, expected):
    assert no_decay(name) is expected


def test_adamw_puts_decayed_and_undecayed_trainable_parameters_in_two_groups():
    net = _Net()
    opt = adamw(net, typed({"weight_decay": 0.1}), 1e-3, "cpu")
    decay, plain = opt.param_groups
    assert decay["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(net.dense.weight)}
    assert {id(p) for p in plain["params"]} == {
        id(net.dense.bias),
        id(net.LayerNorm.weight),
        id(net.LayerNorm.bias),
        id(net.frozen.bias),
    }
    assert decay["lr"] == 1e-3


def test_plan_steps_by_epochs_and_by_max_steps():
    s = typed({"grad_accum_steps": 3, "epochs": 2, "max_steps": 0, "warmup_ratio": 0.1})
    assert plan_steps(s, 10) == StepPlan(steps_per_epoch=4, total=8, epochs=2, warmup=1)
    s = dataclasses.replace(s, max_steps=10, warmup_ratio=0.25)
    assert plan_steps(s, 10) == StepPlan(steps_per_epoch=4, total=10, epochs=3, warmup=2)
    assert plan_steps(dataclasses.replace(s, grad_accum_steps=8), 1).steps_per_epoch == 1


def test_linear_schedule_warms_up_then_decays_to_zero():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = linear_schedule(opt, total=10, warmup=4)
    lrs = []
    for _ in range(11):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert lrs[4] == pytest.approx(1.0)
    assert lrs[4:] == sorted(lrs[4:], reverse=True) and lrs[10] == 0.0


def test_resume_plan_holds_what_the_batch_order_depends_on():
    s = typed({"seed": 7})
    plan = StepPlan(steps_per_epoch=5, total=15, epochs=3, warmup=1)
    rp = resume_plan(s, 16, 2, plan)
    assert rp["seed"] == 7 and rp["batch_size"] == 16 and rp["processes"] == 2
    assert rp["steps_per_epoch"] == 5 and rp["total_steps"] == 15
    assert resume_plan(dataclasses.replace(s, lr=1.0), 16, 2, plan) == rp  # the learning rate does not change the order
    assert resume_plan(dataclasses.replace(s, seed=8), 16, 2, plan) != rp
