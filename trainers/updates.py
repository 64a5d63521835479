"""The update loop of the training flow (trainers.fit), for every task.

Per micro-batch: ``step_fn(model, batch)`` does forward + loss + backward and returns the
named loss terms (detached scalar tensors, ``"loss"`` the total); then clipping, the optimizer
step and ``zero_grad`` under ``accelerator.accumulate``. Per update: the scheduler, the tricks'
``after_optimizer_step`` (SWA), logging every ``log_steps`` (terms averaged over the window
and over processes, ``train_<term>`` in metrics.jsonl; ``.item()`` only there), evaluation
every ``eval_steps`` through ``evaluate_mid(model, step)``, state checkpoints every
``save_steps`` and the test-only ``debug_stop_after_step``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from trainers.checkpoints import debug_stop, epoch_batches


@dataclass
class Timing:
    train_time: float  # wall time of the loop
    samples: int  # samples seen in the logged windows (this process)
    window_time: float  # time of the logged windows (evaluation and saving excluded)

    def samples_per_s(self, nproc: int) -> float | None:
        return self.samples * nproc / self.window_time if self.window_time > 0 else None


def train_updates(
    *,
    settings: dict[str, Any],
    accelerator,
    out,
    model,
    optimizer,
    scheduler,
    train_dl,
    sampler,
    plan,
    state,
    ckpts,
    step_fn: Callable,
    tricks,
    evaluate_mid: Callable,
    start_epoch: int,
    skip_batches: int,
    progress=None,
) -> Timing:
    log_steps, eval_steps = settings.log_steps, settings.eval_steps
    save_steps, stop_after = settings.save_steps, settings.debug_stop_after_step
    clip = settings.max_grad_norm
    total = plan.total
    write = progress.write if progress is not None else (lambda msg, o: o.log(msg))
    sums: dict[str, torch.Tensor] = {}
    micro, samples_since, t_since = 0, 0, time.perf_counter()
    t_train, samples_total, time_total = time.perf_counter(), 0, 0.0
    model.train()
    for epoch in range(start_epoch, plan.epochs):
        if state.global_step >= total:
            break
        for batch in epoch_batches(accelerator, train_dl, sampler, epoch, skip_batches):
            with accelerator.accumulate(model):
                terms = step_fn(model, batch)
                if accelerator.sync_gradients and clip > 0:
                    accelerator.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            for k, v in terms.items():
                v = v.detach().float()
                sums[k] = sums[k] + v if k in sums else v
            micro += 1
            samples_since += batch["input_ids"].shape[0]
            if not accelerator.sync_gradients:
                continue
            scheduler.step()
            state.global_step += 1
            step = state.global_step
            if tricks is not None:
                tricks.after_optimizer_step(model, step)
            if progress is not None:
                progress.update(step)
            if step % log_steps == 0 or step == total:
                dt = time.perf_counter() - t_since
                _log_step(accelerator, out, write, scheduler, plan, state, tricks, sums, micro, samples_since, dt)
                samples_total += samples_since
                time_total += dt
                sums, micro, samples_since, t_since = {}, 0, 0, time.perf_counter()
            if eval_steps > 0 and step % eval_steps == 0 and step != total:
                evaluate_mid(model, step)
                model.train()
                samples_since, t_since = 0, time.perf_counter()
            if save_steps > 0 and step % save_steps == 0 and step != total:
                ckpts.save()
                samples_since, t_since = 0, time.perf_counter()
            debug_stop(stop_after, step, out)
            if step >= total:
                break
        skip_batches = 0
    if progress is not None:
        progress.close()
    return Timing(time.perf_counter() - t_train, samples_total, time_total)


def _log_step(accelerator, out, write, scheduler, plan, state, tricks, sums, micro, samples, dt) -> None:
    """The logged train step: loss and trick terms averaged over the window and the processes."""
    step, total = state.global_step, plan.total
    keys = sorted(sums)
    vals = accelerator.reduce(torch.stack([sums[k] / micro for k in keys]).to(accelerator.device), "mean").tolist()
    named = dict(zip(keys, vals))
    sps = samples * accelerator.num_processes / dt if dt > 0 else 0.0
    loss = named.get("loss", float("nan"))
    state.last_train_loss = loss
    cur_lr, ep = scheduler.get_last_lr()[0], step / plan.steps_per_epoch
    extra = {f"train_{k}": v for k, v in named.items() if k != "loss"}
    out.metrics(step, ep, train_loss=loss, lr=cur_lr, train_samples_per_s=sps, **extra)
    if not math.isfinite(loss):
        out.log(f"WARNING: train loss is {loss} at step {step}")
    for warning in tricks.check_terms(named) if tricks is not None else ():
        out.log(warning)
    terms_txt = "".join(f" | {k} {v:.4f}" for k, v in named.items() if k != "loss")
    write(
        f"step {step}/{total} | epoch {ep:.2f} | loss {loss:.4f}{terms_txt} | lr {cur_lr:.2e} | {sps:.1f} samples/s",
        out,
    )
