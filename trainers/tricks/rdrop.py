"""R-Drop (Liang et al. 2021): consistency between two dropout passes.

    loss = 1/2 [L(z1, y) + L(z2, y)] + alpha * 1/2 [KL(p1 || p2) + KL(p2 || p1)]

z1 and z2 come from ONE forward pass over the batch concatenated with itself (duplicated
after collation, so both halves share the padding), split in two. Dropout masks differ
between the halves; with dropout off, z1 == z2 and the loss is the plain loss.

Reduction of the KL term (alpha's scale depends on it): the KL is summed over classes and
averaged over the samples ("batchmean"); for sequence labeling it is averaged over the
real tokens (attention_mask == 1); for multi-label it is the Bernoulli KL summed over the
labels, averaged over the samples. The reference implementation sums over the batch
instead, so its alpha is smaller by a factor of the batch size for the same effect.
Settings: ``tricks.rdrop.alpha`` (recommended 1-10 with this reduction; 4 is a good start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .losses import masked_mean
from .specs import TrickSpec

if TYPE_CHECKING:
    import torch

SPEC = TrickSpec(
    "rdrop",
    {"alpha": 4.0},
    nonnegative=("alpha",),
    order=40,
    build=lambda values, tricks: RDrop(values["alpha"], tricks.task),
)


def duplicate_batch(inputs: dict) -> dict:
    """Concatenate every tensor of the (model-input) batch with itself along dim 0."""
    import torch

    return {k: torch.cat([v, v], dim=0) if torch.is_tensor(v) else v for k, v in inputs.items()}


def split_halves(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    half = logits.size(0) // 2
    return logits[:half], logits[half:]


def symmetric_kl_rows(logits1: torch.Tensor, logits2: torch.Tensor, task: str) -> torch.Tensor:
    """1/2 [KL(p1 || p2) + KL(p2 || p1)] per row (per token), one log-probability per side.

    Categorical: the two KLs share their log-ratio, so the sum is sum_c (p1 - p2)(log p1 - log p2).
    Multi-label (Bernoulli per label): KL(a||b) + KL(b||a) = (s(a) - s(b)) (a - b) per label,
    s the sigmoid, a and b the logits -- exact, and free of log(0).
    """
    import torch
    import torch.nn.functional as F

    a, b = logits1.float(), logits2.float()
    if task == "multilabel":
        return 0.5 * ((torch.sigmoid(a) - torch.sigmoid(b)) * (a - b)).sum(-1)
    log_p1, log_p2 = F.log_softmax(a, dim=-1), F.log_softmax(b, dim=-1)
    return 0.5 * ((log_p1.exp() - log_p2.exp()) * (log_p1 - log_p2)).sum(-1)


def rdrop_kl(logits1: torch.Tensor, logits2: torch.Tensor, task: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """1/2 [KL(p1 || p2) + KL(p2 || p1)], summed over classes, averaged over rows / real tokens."""
    return masked_mean(symmetric_kl_rows(logits1, logits2, task), mask)


class RDrop:
    """The step hooks: one forward over the batch twice, the two halves' CE, ``alpha`` * KL."""

    passes = 2

    def __init__(self, alpha: float, task: str):
        self.alpha, self.task = alpha, task

    def prepare_inputs(self, model, inputs: dict, state: dict):
        return duplicate_batch(inputs), None

    def split_logits(self, logits):
        return split_halves(logits)

    def add_terms(self, loss, ce, parts, state: dict):
        kl = rdrop_kl(parts[0], parts[1], self.task, state["mask"])
        return loss + self.alpha * kl, {"kl": kl.detach()}
