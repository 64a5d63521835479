"""Optimizer and schedule of the training flow (trainers.fit), for every task.

AdamW with weight decay on every parameter except biases and normalisation weights (the
fused kernel where torch has one), a step plan from the settings (``epochs`` or
``max_steps``, ``grad_accum_steps``, ``warmup_ratio``), and the linear warm-up / linear
decay schedule of the BERT recipe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from trainers.settings import Settings


def no_decay(name: str) -> bool:
    """Biases and normalisation weights (LayerNorm, layer_norm, layernorm_embedding...) get no weight decay."""
    return name.endswith(".bias") or "norm" in name.lower()


def adamw(model, settings: Settings, lr: float, device_type: str) -> torch.optim.AdamW:
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in params if not no_decay(n)], "weight_decay": settings.weight_decay},
        {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0},
    ]
    try:  # the fused kernel (CPU and CUDA in torch >= 2.4): one kernel for all parameters
        return torch.optim.AdamW(groups, lr=lr, fused=device_type in ("cpu", "cuda"))
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


@dataclass
class StepPlan:
    steps_per_epoch: int  # optimizer updates per epoch
    total: int  # optimizer updates in the run
    epochs: int  # epochs started (the last may be partial with max_steps)
    warmup: int  # warm-up updates


def plan_steps(settings: Settings, batches_per_epoch: int) -> StepPlan:
    ga = settings.grad_accum_steps
    per_epoch = max(1, math.ceil(batches_per_epoch / ga))
    max_steps = settings.max_steps
    total = max_steps if max_steps > 0 else per_epoch * settings.epochs
    return StepPlan(per_epoch, total, math.ceil(total / per_epoch), int(round(settings.warmup_ratio * total)))


def linear_schedule(optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` updates, then linear decay to 0 at ``total``."""

    def lr_lambda(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def resume_plan(settings: Settings, batch_size: int, processes: int, plan: StepPlan) -> dict[str, Any]:
    """What the batch order and the step counting depend on: stored with every state checkpoint
    and compared when a run resumes from one (trainers.checkpoints)."""
    keys = ("task", "train_file", "max_train_samples", "seed", "grad_accum_steps", "group_by_length")
    return {
        **{k: getattr(settings, k) for k in keys},
        "batch_size": int(batch_size),
        "processes": int(processes),
        "steps_per_epoch": plan.steps_per_epoch,
        "total_steps": plan.total,
    }
