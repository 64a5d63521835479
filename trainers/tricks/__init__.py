"""Training tricks: the seam between the training loop and the tricks.

The loop (trainers/loop.py) knows nothing about individual tricks. Per micro-batch it calls

    tricks = build_tricks(settings, task=..., num_labels=..., context={...})   # once
    terms = tricks.train_step(model, batch, accelerator)   # forward + loss + backward
    ... optimizer.step(); scheduler.step(); optimizer.zero_grad()
    tricks.after_optimizer_step(model, step)                # SWA / EMA bookkeeping
    model = tricks.finalize(model)                          # once, before the final eval

``train_step`` returns the named loss terms as detached scalar tensors (``"loss"`` is the
total that was back-propagated; tricks add e.g. ``"ce"``, ``"kl"``, ``"adv"``). The loop
keeps them on the device and calls ``.item()`` only at log steps.

Batches are dicts of tensors: ``input_ids``, ``attention_mask``, optional
``token_type_ids`` and ``labels`` (class index for single-label tasks, a float multi-hot
vector for multi-label, per-token tag ids with -100 on padding / sub-word continuations
for sequence labeling). Models return an object with ``.logits``; the base loss is computed
here from the logits, so that tricks can replace it (focal, label smoothing).

Settings live under ``tricks.<name>.*`` (e.g. ``tricks.rdrop.alpha=4``); every trick is
off by default. Each trick is one small module in this package.
"""

from __future__ import annotations

from typing import Any, Mapping

TASKS = ("classification", "pair", "multilabel", "ner")


class TrickConfigError(ValueError):
    """An impossible or invalid trick configuration, reported at start-up."""


def base_loss(logits, labels, task: str):
    """The plain loss for a task: CE, BCE-with-logits for multi-label, token CE (ignore -100)."""
    import torch.nn.functional as F

    if task == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    if task == "ner":
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
    return F.cross_entropy(logits, labels)


def model_inputs(batch: Mapping[str, Any]) -> dict:
    """The batch without labels and bookkeeping keys: what the model's forward takes."""
    return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids", "inputs_embeds")}


class TrickSet:
    """The composed tricks of one run. With no trick enabled this is plain training."""

    #: forward+backward passes per sample relative to plain training (for throughput logs)
    passes_per_sample: float = 1.0

    def __init__(self, settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None):
        if task not in TASKS:
            raise TrickConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        self.settings = settings
        self.task = task
        self.num_labels = num_labels
        self.context = dict(context or {})

    def compute_loss(self, model, batch):
        outputs = model(**model_inputs(batch))
        loss = base_loss(outputs.logits, batch["labels"], self.task)
        return loss, {"loss": loss.detach()}

    def train_step(self, model, batch, accelerator):
        loss, terms = self.compute_loss(model, batch)
        accelerator.backward(loss)
        return terms

    def after_optimizer_step(self, model, step: int) -> None:
        return None

    def finalize(self, model):
        return model


def build_tricks(settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None) -> TrickSet:
    """Build the run's TrickSet from the resolved settings (``settings.get("tricks", {})``)."""
    return TrickSet(settings, task, num_labels, context)
