"""mixup for text (Zhang et al. 2018; Guo et al. 2019, "wordMixup" / "senMixup").

    lam ~ Beta(a, a),  pi = a random permutation of the batch
    x~ = lam * x_i + (1 - lam) * x_pi(i)
    loss = lam * L(f(x~), y_i) + (1 - lam) * L(f(x~), y_pi(i))

where x is either

* ``mode = "embeddings"`` (default): the word embeddings, passed as ``inputs_embeds``
  (position and token-type embeddings are added by the model afterwards, from sample i);
  the attention mask is the union of the two samples' masks;
* ``mode = "pooled"``: the input of the model's ``classifier`` module (BERT: the pooled
  [CLS] vector), mixed by a forward pre-hook.

Settings: ``tricks.mixup.alpha`` (the Beta parameter a; 0.2-0.4 on large data, up to 2 on
small data), ``tricks.mixup.mode``. Not defined for token classification (rejected).
Cost: one Beta draw and one gather per step; the loss is computed twice on the same logits.
"""

from __future__ import annotations

import contextlib
import random

import torch


class Mixup:
    def __init__(self, alpha: float = 0.4, mode: str = "embeddings", seed: int | None = None):
        self.alpha = float(alpha)
        self.mode = mode
        self._rng = random.Random(seed)

    def sample(self, batch_size: int, device) -> tuple[float, torch.Tensor]:
        """Draw (lam, perm) for one step."""
        lam = self._rng.betavariate(self.alpha, self.alpha)
        gen = torch.Generator().manual_seed(self._rng.getrandbits(63))
        perm = torch.randperm(batch_size, generator=gen).to(device)
        return lam, perm


def mix_embeddings(model, inputs: dict, lam: float, perm: torch.Tensor) -> dict:
    """Replace input_ids by mixed ``inputs_embeds`` and take the union of the masks."""
    inputs = dict(inputs)
    embed = (
        model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else model.module.get_input_embeddings()
    )
    emb = embed(inputs.pop("input_ids"))
    inputs["inputs_embeds"] = lam * emb + (1.0 - lam) * emb[perm]
    if inputs.get("attention_mask") is not None:
        mask = inputs["attention_mask"]
        inputs["attention_mask"] = torch.maximum(mask, mask[perm])
    return inputs


@contextlib.contextmanager
def mix_classifier_input(model, lam: float, perm: torch.Tensor):
    """Within the block, the classifier's input rows are mixed: lam x_i + (1 - lam) x_perm(i).

    A batch duplicated by R-Drop (2B rows) is mixed within each half.
    """
    inner = model
    while not hasattr(inner, "classifier") and hasattr(inner, "module"):
        inner = inner.module
    if not hasattr(inner, "classifier"):
        raise AttributeError("mixup mode 'pooled' needs a model with a `classifier` module")
    b = perm.numel()

    def pre_hook(module, args):
        x = args[0]
        p = perm if x.size(0) == b else torch.cat([perm + i * b for i in range(x.size(0) // b)])
        return (lam * x + (1.0 - lam) * x[p],) + tuple(args[1:])

    handle = inner.classifier.register_forward_pre_hook(pre_hook)
    try:
        yield
    finally:
        handle.remove()


def mixed_loss(loss_fn, logits, labels, lam: float, perm: torch.Tensor):
    """lam * L(z, y) + (1 - lam) * L(z, y[perm]); exactly L(z, y) when lam == 1."""
    if lam == 1.0:
        return loss_fn(logits, labels)
    return lam * loss_fn(logits, labels) + (1.0 - lam) * loss_fn(logits, labels[perm])
