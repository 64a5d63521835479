"""A compact training loop for the tasks whose evaluation is not one forward pass of logits
(``seq2seq``: generation; ``span``: windows reassembled per example).

Same outputs as ``trainers.loop`` (metrics.jsonl / metrics.json / predictions.jsonl /
checkpoints.json, ``checkpoints/best`` and ``checkpoints/last`` as HF folders), same
AdamW + linear warmup/decay, ``accelerator.accumulate``, loss kept on the device between
log steps, and the same resumable state checkpoints through :mod:`trainers.checkpoints`:
``checkpoints/step-N`` every ``save_steps`` updates and at the end (``keep_last`` kept), and
``resume`` = no / auto / a checkpoint, run or ``checkpoints`` folder / a run id or tag. The
batch order is a function of seed and epoch (:class:`EpochShuffle`, no length grouping), so a
resumed run fast-forwards its epoch and sees the same batches. Not supported here (yet):
tricks.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch

from trainers.optim import adamw, linear_schedule, plan_steps, resume_plan
from trainers.updates import train_updates
from trainers.settings import resolve_lr


class EpochShuffle(torch.utils.data.Sampler):
    """Epoch ``e``'s order is the ``(e+1)``-th permutation drawn from one generator seeded with
    ``seed``: one random stream across epochs, like a shuffled loader with a seeded generator,
    but a function of (seed, epoch) (replayed, O(epoch x n)), so a resumed run that starts
    in epoch ``e`` sees the same batches."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.epoch):
            torch.randperm(self.n, generator=g)
        return iter(torch.randperm(self.n, generator=g).tolist())


def run_task(settings: dict[str, Any], accelerator, out, model, tokenizer, make_train_ds: Callable, collate: Callable,
             evaluate: Callable, default_metric: str, run_dir: str, batch_size_fn: Callable,
             resume_from: str | None = None) -> dict[str, float]:
    """Evaluate only (``do_train = false``) or train then evaluate: the shared tail of the
    generation-style tasks. ``make_train_ds()`` is called only when training;
    ``resume_from`` is the checkpoint ``trainers.checkpoints.find_resume`` found (or None)."""
    from trainers.loop import _finish

    name = settings["metric_for_best"]
    name = default_metric if name in ("auto", "") else name
    metric_name = name if name.startswith("eval_") else "eval_" + name
    if not settings["do_train"]:
        model = accelerator.prepare(model)
        metrics, preds = evaluate(model, True)
        out.metrics(0, **metrics)
        _finish(out, metrics, preds, {}, metric_name)
        return metrics
    train_ds = make_train_ds()
    bs = batch_size_fn(model, train_ds, collate)
    return train_and_eval(settings, accelerator, out, model, tokenizer, train_ds, collate, evaluate,
                          metric_name, run_dir, bs, resume_from)


def train_and_eval(settings: dict[str, Any], accelerator, out, model, tokenizer, train_ds, collate: Callable,
                   evaluate: Callable, metric_name: str, run_dir: str, batch_size: int,
                   resume_from: str | None = None) -> dict[str, float]:
    """Train ``model`` on ``train_ds``; ``evaluate(model, final)`` -> (metrics, predictions)."""
    from trainers.checkpoints import Checkpoints, LoopState, link_last_to_best
    from trainers.loop import _finish, _save_hf

    lr = resolve_lr(settings)
    if settings["lr"] == "auto":
        out.resolved(lr=lr)
    optimizer = adamw(model, settings, lr, accelerator.device.type)
    seed = int(settings["seed"])
    # the order of an epoch is a function of (seed, epoch): a resumed run sees the same batches;
    # a private generator: creating a loader iterator must not draw from the global RNG (dropout)
    sampler = EpochShuffle(len(train_ds), seed)
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=batch_size, sampler=sampler, collate_fn=collate,
                                           generator=torch.Generator().manual_seed(seed))
    model, optimizer, train_dl = accelerator.prepare(model, optimizer, train_dl)
    ga = int(settings["grad_accum_steps"])
    plan = plan_steps(settings, len(train_dl))
    steps_per_epoch, total, warmup = plan.steps_per_epoch, plan.total, plan.warmup
    scheduler = linear_schedule(optimizer, total, warmup)
    tricks = _build_tricks(settings, accelerator, model, optimizer, total, run_dir)
    state = LoopState()
    ckpts = Checkpoints(accelerator, out, run_dir, state, metric_name, int(settings["keep_last"]))
    ckpts.register(scheduler)
    out.log(f"train: {len(train_ds)} examples, batch {batch_size} x {accelerator.num_processes} process(es) x {ga} "
            f"accumulation, {steps_per_epoch} updates/epoch, {total} updates, lr {lr:g}, warmup {warmup}"
            + (f"; tricks: {tricks.describe()} ({tricks.passes_per_sample:g} forward/backward passes per sample)"
               if tricks is not None else ""))
    ckpts.plan = resume_plan(settings, batch_size, accelerator.num_processes, plan)
    start_epoch, skip_batches = ckpts.restore(resume_from, steps_per_epoch, ga)

    def consider(mdl, metrics):
        value = metrics.get(metric_name)
        if value is not None and (state.best_metric is None or value > state.best_metric):
            state.best_metric, state.best_step = value, state.global_step
            _save_hf(accelerator, mdl, tokenizer, os.path.join(ckpts.root, "best"))
            out.log(f"new best {metric_name} {value:.4f} at step {state.global_step}: saved checkpoints/best")
            ckpts.write_manifest()

    def step_fn(mdl, batch) -> dict:
        if tricks is not None:
            return tricks.train_step(mdl, _with_decoder_inputs(accelerator, mdl, batch), accelerator)
        loss = mdl(**batch).loss
        accelerator.backward(loss)
        return {"loss": loss.detach()}

    def evaluate_mid(mdl, step: int) -> None:
        metrics, _ = evaluate(mdl, False)
        out.metrics(step, step / steps_per_epoch, **metrics)
        consider(mdl, metrics)

    timing = train_updates(settings=settings, accelerator=accelerator, out=out, model=model, optimizer=optimizer,
                           scheduler=scheduler, train_dl=train_dl, sampler=sampler, plan=plan, state=state,
                           ckpts=ckpts, step_fn=step_fn, tricks=tricks, evaluate_mid=evaluate_mid,
                           start_epoch=start_epoch, skip_batches=skip_batches)
    step = state.global_step
    if tricks is not None:
        model = tricks.finalize(model)  # SWA: the averaged weights
    metrics, preds = evaluate(model, True)
    out.metrics(step, step / steps_per_epoch, **metrics)
    out.log("final eval: " + " | ".join(f"{k[5:]} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)))
    consider(model, metrics)
    _save_hf(accelerator, model, tokenizer, os.path.join(ckpts.root, "last"))
    if accelerator.is_main_process:
        link_last_to_best(ckpts.root, out)
    ckpts.save()
    extra: dict[str, Any] = {"train_runtime_s": round(timing.train_time, 3), "train_steps": step}
    if timing.samples_per_s(accelerator.num_processes) is not None:
        extra["train_samples_per_s"] = timing.samples_per_s(accelerator.num_processes)
    if state.last_train_loss is not None:
        extra["train_loss"] = state.last_train_loss
    _finish(out, metrics, preds, extra, metric_name, best=(state.best_metric, state.best_step))
    accelerator.wait_for_everyone()
    return metrics


def _build_tricks(settings: dict[str, Any], accelerator, model, optimizer, total: int, run_dir: str):
    """The run's TrickSet (trainers.tricks) when any trick is set, else None (the plain step)."""
    if not settings.get("tricks"):
        return None
    from trainers.tricks import build_tricks

    vocab = int(getattr(accelerator.unwrap_model(model).config, "vocab_size", 0) or 0)
    tricks = build_tricks(settings, task=settings["task"], num_labels=vocab, context={
        "accelerator": accelerator, "optimizer": optimizer, "total_steps": total, "run_dir": run_dir})
    tricks.bind_optimizer(optimizer)
    return tricks


def _with_decoder_inputs(accelerator, model, batch: dict) -> dict:
    """The tricks call the model without ``labels`` (they compute the loss from the logits),
    so the decoder inputs the model would derive from the labels are made here, the same way."""
    if "decoder_input_ids" in batch or "labels" not in batch:
        return batch
    inner = accelerator.unwrap_model(model)
    if not hasattr(inner, "prepare_decoder_input_ids_from_labels"):
        from trainers.loop import TrainerError

        raise TrainerError(f"tricks need {type(inner).__name__}.prepare_decoder_input_ids_from_labels "
                           f"(BART, T5, mBART have it)")
    return {**batch, "decoder_input_ids": inner.prepare_decoder_input_ids_from_labels(labels=batch["labels"])}
