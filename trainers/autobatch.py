"""``batch_size=auto`` and ``target_batch_size``: the per-device batch, and the accumulation
that keeps the effective batch fixed.

* GPU: accelerate's ``find_executable_batch_size`` from the largest power of two <=
  ``auto_batch_max`` (and <= the training set), halving on out-of-memory; each trial is one
  forward + backward on the *longest* training examples (the worst batch), plus room for the
  optimizer state (AdamW keeps two fp32 moments per parameter: the trial allocates them).
* CPU (no memory error to catch - the OS kills the process instead): an estimate.
  Budget = ``auto_batch_memory_mb`` (0: half of MemAvailable); fixed cost = 16 bytes per
  parameter (weights, gradients, two AdamW moments); per sample at the longest length s,
  per transformer layer, fp32 activations of s·h·(34 + 5·a·s/h)·2 bytes (Korthikanti et al.
  2022, doubled from 16-bit; decoder layers count 1.5x for cross-attention), plus
  3·s·V·4 bytes for the output logits of token-level heads. The batch is the largest power
  of two that fits, between 1 and ``auto_batch_max``.
* Anything failing (no training data, an odd model) falls back to 32 with a log line.

The value found is logged (``batch_size=auto: found N``) and written to metrics.json as
``batch_size_found``; with ``target_batch_size`` also ``grad_accum_steps_used`` and
``effective_batch_size``.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainers.settings import Settings

FALLBACK = 32


def _pow2_floor(n: int) -> int:
    return 1 << (max(1, int(n)).bit_length() - 1)


def available_memory_mb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return 4096.0


def _lengths(ds) -> list[int]:
    if hasattr(ds, "lengths"):
        return list(ds.lengths)
    return [
        len(ds[i]["input_ids"]) + len(ds[i].get("labels", []) if isinstance(ds[i].get("labels"), list) else [])
        for i in range(len(ds))
    ]


def cpu_estimate(model, max_len: int, budget_mb: float, cap: int) -> tuple[int, dict[str, float]]:
    cfg = model.config
    h = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "d_model", 0) or 256)
    heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "encoder_attention_heads", 0) or 4)
    enc = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "encoder_layers", 0) or 1)
    dec = int(getattr(cfg, "decoder_layers", 0) or 0) if getattr(cfg, "is_encoder_decoder", False) else 0
    layers = enc + 1.5 * dec
    vocab = int(getattr(cfg, "vocab_size", 0) or 0)
    token_head = getattr(cfg, "is_encoder_decoder", False) or "ForMaskedLM" in type(model).__name__
    s = max(1, max_len)
    per_layer = s * h * (34 + 5 * heads * s / h) * 2
    per_sample = layers * per_layer + (3 * s * vocab * 4 if token_head else 0) + s * h * 4 * 4
    fixed = sum(p.numel() for p in model.parameters()) * 16
    room = budget_mb * 2**20 - fixed
    raw = int(room // per_sample) if per_sample > 0 else cap
    bs = max(1, min(cap, _pow2_floor(max(1, raw))))
    return bs, {"per_sample_mb": per_sample / 2**20, "fixed_mb": fixed / 2**20, "budget_mb": budget_mb}


def gpu_search(model, train_ds, collate, accelerator, cap: int) -> int:
    import torch
    from accelerate.utils import find_executable_batch_size

    order = sorted(range(len(train_ds)), key=lambda i: -_lengths_one(train_ds, i))
    device = accelerator.device
    model.to(device)
    model.train()
    accepted = set(inspect.signature(model.forward).parameters)
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in model.parameters() if p.requires_grad]
    found: list[int] = []

    @find_executable_batch_size(starting_batch_size=_pow2_floor(cap))
    def trial(batch_size):
        batch = collate([train_ds[i] for i in order[:batch_size]])
        batch = {k: v.to(device) for k, v in batch.items() if k in accepted}
        with accelerator.autocast():
            loss = model(**batch).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        found.append(batch_size)
        return batch_size

    bs = trial()
    del moments
    torch.cuda.empty_cache()
    return bs


def _lengths_one(ds, i: int) -> int:
    if hasattr(ds, "lengths"):
        return ds.lengths[i]
    it = ds[i]
    return len(it["input_ids"])


def resolve(settings: Settings, accelerator, model, train_ds, collate, out) -> tuple[int, int]:
    """The per-device batch size to train with and the micro-batches per update: another
    ``grad_accum_steps`` (set on the accelerator too) when ``target_batch_size`` asks for a fixed
    effective batch."""
    final: dict[str, float] = getattr(out, "final_extra", None) or {}
    out.final_extra = final
    requested = settings.batch_size
    nproc = accelerator.num_processes
    if requested == "auto":
        cap = max(1, min(settings.auto_batch_max, math.ceil(len(train_ds) / nproc) if train_ds else 1))
        try:
            if accelerator.device.type == "cuda":
                bs = gpu_search(model, train_ds, collate, accelerator, cap)
                how = f"largest that fits on {accelerator.device} (find_executable_batch_size from {_pow2_floor(cap)})"
            else:
                budget = settings.auto_batch_memory_mb or available_memory_mb() / 2
                longest = max(_lengths(train_ds)) if train_ds else settings.max_seq_length
                bs, info = cpu_estimate(model, longest, budget, cap)
                how = (
                    f"CPU memory estimate: budget {info['budget_mb']:.0f} MB, fixed {info['fixed_mb']:.1f} MB, "
                    f"{info['per_sample_mb']:.2f} MB per sample at length {longest}; cap {cap}"
                )
        except Exception as exc:  # noqa: BLE001 - an estimate never stops a run
            bs, how = FALLBACK, f"search failed ({type(exc).__name__}: {exc}); falling back to {FALLBACK}"
        out.log(f"batch_size=auto: found {bs} ({how})")
        final["batch_size_found"] = bs
        out.metrics(0, batch_size_found=bs)
    else:
        bs = requested
    target, ga = settings.target_batch_size, settings.grad_accum_steps
    if target > 0:
        ga = None
        for g in range(1, target + 1):
            if target % (g * nproc) == 0 and target // (g * nproc) <= bs:
                ga = g
                break
        if ga is None:
            ga = max(1, math.ceil(target / (bs * nproc)))
            bs = max(1, math.ceil(target / (ga * nproc)))
        else:
            bs = target // (ga * nproc)
        try:
            accelerator.gradient_accumulation_steps = ga
        except Exception:  # noqa: BLE001 - older accelerate: the plugin is read at construction
            accelerator.gradient_state.plugin_kwargs["num_steps"] = ga
        eff = bs * nproc * ga
        out.log(
            f"target_batch_size {target}: batch {bs} x {nproc} process(es) x {ga} accumulation = {eff}"
            + ("" if eff == target else f" (not exactly {target}: {target} is not a multiple of {nproc})")
        )
        final.update({"grad_accum_steps_used": ga, "effective_batch_size": eff, "batch_size_used": bs})
    if requested == "auto" or target > 0:
        # values decided at run time: expctl records them in the run's settings
        resolved = {"batch_size": bs}
        if target > 0:
            resolved["grad_accum_steps"] = ga
        if hasattr(out, "resolved"):
            out.resolved(**resolved)
    return bs, ga
