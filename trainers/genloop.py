"""A compact training loop for the tasks whose evaluation is not one forward pass of logits
(``seq2seq``: generation; ``span``: windows reassembled per example).

Same outputs as ``trainers.loop`` (metrics.jsonl / metrics.json / predictions.jsonl /
checkpoints.json, ``checkpoints/best`` and ``checkpoints/last`` as HF folders), same
AdamW + linear warmup/decay, ``accelerator.accumulate``, loss kept on the device between
log steps. Not supported here (yet): ``resume``, tricks, ``save_steps`` state checkpoints.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable

import torch


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "norm" in name.lower()


def run_task(settings: dict[str, Any], accelerator, out, model, tokenizer, make_train_ds: Callable, collate: Callable,
             evaluate: Callable, default_metric: str, run_dir: str, batch_size_fn: Callable) -> dict[str, float]:
    """Evaluate only (``do_train = false``) or train then evaluate: the shared tail of the
    generation-style tasks. ``make_train_ds()`` is called only when training."""
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
                          metric_name, run_dir, bs)


def train_and_eval(settings: dict[str, Any], accelerator, out, model, tokenizer, train_ds, collate: Callable,
                   evaluate: Callable, metric_name: str, run_dir: str, batch_size: int) -> dict[str, float]:
    """Train ``model`` on ``train_ds``; ``evaluate(model, final)`` -> (metrics, predictions)."""
    from trainers.loop import _finish, _save_hf

    lr = settings["lr"]
    lr = (1e-3 if settings["model"] == "tiny" else 3e-5) if lr == "auto" else float(lr)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in params if not _no_decay(n)], "weight_decay": float(settings["weight_decay"])},
        {"params": [p for n, p in params if _no_decay(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr)
    gen = torch.Generator().manual_seed(int(settings["seed"]))
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=batch_size, shuffle=True, collate_fn=collate,
                                           generator=gen)
    model, optimizer, train_dl = accelerator.prepare(model, optimizer, train_dl)
    ga = int(settings["grad_accum_steps"])
    steps_per_epoch = max(1, math.ceil(len(train_dl) / ga))
    total = int(settings["max_steps"]) if int(settings["max_steps"]) > 0 else steps_per_epoch * int(settings["epochs"])
    warmup = int(round(float(settings["warmup_ratio"]) * total))

    def lr_lambda(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    out.log(f"train: {len(train_ds)} examples, batch {batch_size} x {accelerator.num_processes} process(es) x {ga} "
            f"accumulation, {steps_per_epoch} updates/epoch, {total} updates, lr {lr:g}, warmup {warmup}")
    ckpt_root = os.path.join(run_dir, "checkpoints")
    best: list = [None, None]

    def consider(mdl, metrics, step):
        value = metrics.get(metric_name)
        if value is not None and (best[0] is None or value > best[0]):
            best[0], best[1] = value, step
            _save_hf(accelerator, mdl, tokenizer, os.path.join(ckpt_root, "best"))
            out.log(f"new best {metric_name} {value:.4f} at step {step}: saved checkpoints/best")

    step, micro, run_loss = 0, 0, None
    log_steps, eval_steps = int(settings["log_steps"]), int(settings["eval_steps"])
    clip = float(settings["max_grad_norm"])
    t0, t_since, samples_since, samples_total, time_total = time.perf_counter(), time.perf_counter(), 0, 0, 0.0
    model.train()
    epoch = 0
    while step < total:
        for batch in train_dl:
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and clip > 0:
                    accelerator.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            d = loss.detach().float()
            run_loss = d if run_loss is None else run_loss + d
            micro += 1
            samples_since += batch["input_ids"].shape[0]
            if not accelerator.sync_gradients:
                continue
            scheduler.step()
            step += 1
            if step % log_steps == 0 or step == total:
                value = accelerator.reduce(run_loss / micro, "mean").item()
                dt = time.perf_counter() - t_since
                sps = samples_since * accelerator.num_processes / dt if dt > 0 else 0.0
                samples_total += samples_since
                time_total += dt
                out.metrics(step, step / steps_per_epoch, train_loss=value, lr=scheduler.get_last_lr()[0],
                            train_samples_per_s=sps)
                out.log(f"step {step}/{total} | loss {value:.4f} | {sps:.1f} samples/s")
                run_loss, micro, samples_since, t_since = None, 0, 0, time.perf_counter()
                last_loss = value
            if eval_steps > 0 and step % eval_steps == 0 and step != total:
                metrics, _ = evaluate(model, False)
                model.train()
                out.metrics(step, step / steps_per_epoch, **metrics)
                consider(model, metrics, step)
                t_since = time.perf_counter()
            if step >= total:
                break
        epoch += 1
    train_time = time.perf_counter() - t0
    metrics, preds = evaluate(model, True)
    out.metrics(step, step / steps_per_epoch, **metrics)
    out.log("final eval: " + " | ".join(f"{k[5:]} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)))
    consider(model, metrics, step)
    _save_hf(accelerator, model, tokenizer, os.path.join(ckpt_root, "last"))
    out.write_json("checkpoints.json", {"best": "checkpoints/best" if best[0] is not None else None,
                                        "last": "checkpoints/last", "all": [],
                                        "best_metric": {metric_name: best[0]} if best[0] is not None else {},
                                        "best_step": best[1], "resume_from": None})
    extra: dict[str, Any] = {"train_runtime_s": round(train_time, 3), "train_steps": step}
    if time_total > 0:
        extra["train_samples_per_s"] = samples_total * accelerator.num_processes / time_total
    if "last_loss" in locals():
        extra["train_loss"] = last_loss
    _finish(out, metrics, preds, extra, metric_name, best=(best[0], best[1]))
    accelerator.wait_for_everyone()
    return metrics
