"""The one training flow of the bundled trainer, for every task.

    task = adapter(settings)                        # data, model, collate, evaluate (trainers/tasks)
    optimizer, schedule = AdamW, linear warm-up/decay (trainers/optim.py)
    tricks = task.make_tricks(...)                  # composed per step (trainers/tricks)
    resume from a state checkpoint (trainers/checkpoints.py)
    train_updates(...)                              # the update loop (trainers/updates.py):
        log every log_steps, evaluate every eval_steps, save a state every save_steps
    tricks.finalize(model)                          # SWA: the averaged weights
    final evaluation -> best / last HF folders, metrics.json, predictions.jsonl

Outputs (docs/program-interface.md): metrics.jsonl (train_* every log_steps, eval_* at eval
steps and the end), metrics.json (final, flat), predictions.jsonl (dev predictions),
checkpoints.json, and under ``checkpoints/``: ``step-N/`` (accelerate ``save_state``: what
``resume`` needs), ``best/`` and ``last/`` (Hugging Face folders: model + tokenizer). Only
the main process writes. Host syncs: the running loss stays on the device; ``.item()``
happens at log steps only.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import torch

from trainers import autobatch
from trainers.checkpoints import Checkpoints, LoopState, link_last_to_best
from trainers.optim import adamw, linear_schedule, plan_steps, resume_plan
from trainers.runtime import Progress, fmt_metrics, save_hf
from trainers.settings import SettingsError
from trainers.tasks.base import gather_rows
from trainers.updates import train_updates


class Evaluation:
    """Evaluates the model on the sharded dev loader and keeps ``checkpoints/best``."""

    def __init__(self, task, eval_dl, state: LoopState, ckpts: Checkpoints, metric_name: str):
        self.task, self.eval_dl, self.state, self.ckpts, self.metric_name = task, eval_dl, state, ckpts, metric_name

    def __call__(self, model, final: bool) -> tuple[dict, list[dict] | None]:
        t = self.task
        present, cols = gather_rows(
            t.accelerator, model, self.eval_dl, lambda m, b: t.eval_rows(m, b, final), t.n_eval, t.out
        )
        return t.score(present, cols, final)

    def consider_best(self, model, metrics: dict[str, float]) -> None:
        name, state = self.metric_name, self.state
        if name not in metrics:
            raise SettingsError(f"metric_for_best {name!r} is not an eval metric (have: {', '.join(sorted(metrics))})")
        value = metrics[name]
        if state.best_metric is None or value > state.best_metric:
            state.best_metric, state.best_step = value, state.global_step
            save_hf(self.task.accelerator, model, self.task.tokenizer, os.path.join(self.ckpts.root, "best"))
            self.task.out.log(f"new best {name} {value:.4f} at step {state.global_step}: saved checkpoints/best")
            self.ckpts.write_manifest()


def fit(task, run_dir: str, resume_from: str | None = None) -> dict[str, float]:
    """Train ``task.model`` (unless ``do_train`` is off) and evaluate it; returns the final metrics."""
    s, acc, out = task.settings, task.accelerator, task.out
    eval_dl = torch.utils.data.DataLoader(
        task.eval_ds,
        batch_size=s.eval_batch_size,
        sampler=task.eval_sampler(),
        collate_fn=task.eval_collate,
        num_workers=s.num_workers,
        generator=torch.Generator().manual_seed(0),
    )
    metric_name, state = s.primary_metric, LoopState()
    ckpts = Checkpoints(acc, out, run_dir, state, metric_name, s.keep_last)
    evaluation = Evaluation(task, eval_dl, state, ckpts, metric_name)
    if not s.do_train:
        return _evaluate_only(task, evaluation, eval_dl, metric_name)

    bs, ga = autobatch.resolve(s, acc, task.model, task.train_ds, task.train_collate, out)
    if ga != s.grad_accum_steps:  # target_batch_size: the accumulation decided at run time
        s = task.settings = dataclasses.replace(s, grad_accum_steps=ga)
    lr = s.peak_lr
    if s.lr == "auto":
        out.resolved(lr=lr)
    optimizer = adamw(task.model, s, lr, acc.device.type)
    sampler = task.train_sampler(bs)
    # a private generator: creating a loader iterator must not draw from the global RNG (dropout),
    # or a resumed run (which creates one more iterator) would see different dropout masks
    train_dl = torch.utils.data.DataLoader(
        task.train_ds,
        batch_size=bs,
        sampler=sampler,
        collate_fn=task.train_collate,
        num_workers=s.num_workers,
        generator=torch.Generator().manual_seed(s.seed),
    )
    model, optimizer, train_dl, evaluation.eval_dl = acc.prepare(task.model, optimizer, train_dl, eval_dl)
    plan = plan_steps(s, len(train_dl))
    scheduler = linear_schedule(optimizer, plan.total, plan.warmup)
    ckpts.register(scheduler)
    tricks = task.make_tricks(model, optimizer, plan.total, run_dir)
    out.log(_describe(task, bs, lr, plan, tricks))
    ckpts.plan = resume_plan(s, bs, acc.num_processes, plan)  # the checkpoint was found before the data was read
    start_epoch, skip_batches = ckpts.restore(resume_from, plan.steps_per_epoch, s.grad_accum_steps)
    progress = Progress(plan.total, state.global_step, enabled=acc.is_main_process and sys.stdout.isatty())

    def evaluate_mid(mdl, step: int) -> None:
        metrics, _ = evaluation(mdl, False)
        out.metrics(step, step / plan.steps_per_epoch, **metrics)
        progress.write(f"eval step {step}: " + fmt_metrics(metrics), out)
        evaluation.consider_best(mdl, metrics)

    timing = train_updates(
        settings=s,
        accelerator=acc,
        out=out,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        train_dl=train_dl,
        sampler=sampler,
        plan=plan,
        state=state,
        ckpts=ckpts,
        step_fn=lambda mdl, batch: task.train_step(mdl, batch, tricks),
        tricks=tricks,
        evaluate_mid=evaluate_mid,
        start_epoch=start_epoch,
        skip_batches=skip_batches,
        progress=progress,
    )
    if tricks is not None:
        model = tricks.finalize(model)  # SWA: the averaged weights
    return _final(task, evaluation, model, plan, state, ckpts, timing, run_dir)


def _evaluate_only(task, evaluation: Evaluation, eval_dl, metric_name: str) -> dict[str, float]:
    """``do_train = false``: evaluate the model as loaded, write the final outputs."""
    model, evaluation.eval_dl = task.accelerator.prepare(task.model, eval_dl)
    metrics, preds = evaluation(model, True)
    task.out.metrics(0, **metrics)
    task.report(metrics, preds)
    task.out.write_final(metrics, preds, {}, metric_name)
    return metrics


def _describe(task, bs: int, lr: float, plan, tricks) -> str:
    """The log line that says how the run trains."""
    s, acc = task.settings, task.accelerator
    return (
        f"train: {len(task.train_ds)} examples, batch {bs} x {acc.num_processes} process(es) x "
        f"{s.grad_accum_steps} accumulation, {plan.steps_per_epoch} updates/epoch, {plan.total} updates "
        f"({plan.epochs} epochs), lr {lr:g}, warmup {plan.warmup}, group_by_length {s.group_by_length}; "
        f"tricks: {tricks.describe() if tricks is not None else 'none'} "
        f"({getattr(tricks, 'passes_per_sample', 1.0):g} forward/backward passes per sample)"
    )


def _final(task, evaluation: Evaluation, model, plan, state: LoopState, ckpts: Checkpoints, timing, run_dir: str):
    """The final evaluation, ``best`` / ``last``, the last state checkpoint, metrics.json."""
    acc, out = task.accelerator, task.out
    metrics, preds = evaluation(model, True)
    out.metrics(state.global_step, state.global_step / plan.steps_per_epoch, **metrics)
    out.log(f"final eval step {state.global_step}: " + fmt_metrics(metrics))
    task.report(metrics, preds)
    evaluation.consider_best(model, metrics)
    save_hf(acc, model, task.tokenizer, os.path.join(ckpts.root, "last"))
    if acc.is_main_process:
        link_last_to_best(ckpts.root, out)
    ckpts.save()
    extra = {"train_runtime_s": round(timing.train_time, 3), "train_steps": state.global_step}
    if timing.samples_per_s(acc.num_processes) is not None:
        extra["train_samples_per_s"] = timing.samples_per_s(acc.num_processes)
    if state.last_train_loss is not None:
        extra["train_loss"] = state.last_train_loss
    out.write_final(metrics, preds, extra, evaluation.metric_name, best=(state.best_metric, state.best_step))
    acc.wait_for_everyone()
    return metrics
