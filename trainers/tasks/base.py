"""What a task adapter provides to :func:`trainers.fit.fit`, and the one evaluation gather.

An adapter (one per family: :mod:`.labels` for classification / pair / multilabel / ner,
:mod:`.seq2seq`, :mod:`.span`) reads its data and builds its model in ``__init__`` and then
exposes ``model``, ``tokenizer``, ``train_ds`` (None when not training), ``eval_ds``,
``train_collate`` / ``eval_collate`` and ``train_sampler(batch_size)``; and it knows how to
turn an eval batch into per-row tensors (:meth:`TaskAdapter.eval_rows`) and gathered rows
into metrics and predictions (:meth:`TaskAdapter.score`).

Evaluation is the same for every task: the prepared eval loader shards the dev set over the
processes, each batch's rows (the example or window ``index`` first) are padded across
processes where ragged and gathered with ``gather_for_metrics`` (which drops the duplicates
that even shards add), then put back in dataset order on every process (:func:`gather_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from trainers.settings import Settings


def _pad_dim1(t: torch.Tensor, width: int, value) -> torch.Tensor:
    if t.dim() < 2 or t.shape[1] == width:
        return t
    return F.pad(t, [0, 0] * (t.dim() - 2) + [0, width - t.shape[1]], value=value)


def gather_rows(
    accelerator, model, eval_dl, rows_fn: Callable, n_examples: int, out
) -> tuple[list[int], list[torch.Tensor]]:
    """Run ``rows_fn(model, batch)`` -> ``[(tensor, pad or None), ...]`` (``index`` first; a pad
    value marks a tensor ragged in dim 1) over the sharded loader; gather, concatenate and
    order by index. Returns (the indexes present, in order; the columns in that order)."""
    parts: list[tuple[torch.Tensor, ...]] = []
    pads: list[Any] = []
    model.eval()
    with torch.no_grad():
        for batch in eval_dl:
            rows = rows_fn(model, batch)
            pads = [pad for _, pad in rows]
            cols = tuple(
                t if pad is None else accelerator.pad_across_processes(t, dim=1, pad_index=pad) for t, pad in rows
            )
            parts.append(tuple(t.cpu() for t in accelerator.gather_for_metrics(cols)))
    model.train()
    columns = []
    for c, pad in enumerate(pads):
        width = max(p[c].shape[1] for p in parts) if pad is not None else 0
        columns.append(torch.cat([_pad_dim1(p[c], width, pad) if pad is not None else p[c] for p in parts]))
    idx = columns[0].tolist()
    first: dict[int, int] = {}
    for row, i in enumerate(idx):
        first.setdefault(i, row)
    if len(first) != len(idx) or len(first) != n_examples:
        out.log(f"WARNING: eval gathered {len(idx)} rows for {len(first)} distinct of {n_examples} samples")
    present = [i for i in range(n_examples) if i in first]
    order = [first[i] for i in present]
    return present, [col[order] for col in columns[1:]]


class TaskAdapter:
    """The interface :func:`trainers.fit.fit` uses; subclasses fill in the data and the model."""

    model: Any
    tokenizer: Any
    train_ds: Any = None
    eval_ds: Any
    train_collate: Callable
    eval_collate: Callable
    #: examples (or windows) the dev set has: what gather_rows expects
    n_eval: int

    def __init__(self, settings: Settings, accelerator, out):
        self.settings, self.accelerator, self.out = settings, accelerator, out

    def train_sampler(self, batch_size: int) -> torch.utils.data.Sampler:
        raise NotImplementedError

    def eval_sampler(self) -> torch.utils.data.Sampler | None:
        return None  # dataset order

    def make_tricks(self, model, optimizer, total_steps: int, run_dir: str):
        """The run's TrickSet, or None for plain training (``model(**batch).loss``)."""
        return None

    def train_step(self, model, batch, tricks) -> dict:
        """Forward + loss + backward of one micro-batch -> the named loss terms (detached)."""
        if tricks is not None:
            return tricks.train_step(model, batch, self.accelerator)
        loss = model(**batch).loss
        self.accelerator.backward(loss)
        return {"loss": loss.detach()}

    def eval_rows(self, model, batch, final: bool) -> Sequence[tuple[torch.Tensor, Any]]:
        raise NotImplementedError

    def score(self, present: list[int], cols: list[torch.Tensor], final: bool) -> tuple[dict, list[dict] | None]:
        """Metrics (``eval_*``) and, at least at the final evaluation, the dev predictions."""
        raise NotImplementedError

    def report(self, metrics: dict, preds: list[dict] | None) -> None:
        """Remarks on the final evaluation for the log (e.g. a model predicting one class)."""
