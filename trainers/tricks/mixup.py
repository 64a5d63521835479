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
from typing import TYPE_CHECKING, Any

from .specs import TrickConfigError, TrickSpec, fail, no_crf

if TYPE_CHECKING:
    import torch


def _parse_seed(where: str, value: Any) -> int:
    try:
        if float(value) == int(float(value)):
            return int(float(value))
    except (TypeError, ValueError):
        pass
    raise TrickConfigError(f"{where} must be an integer, got {value!r}")


def _check_mixup(values, task, on, settings):
    if values["alpha"] <= 0:
        fail("tricks.mixup.alpha (the Beta parameter) must be > 0")


SPEC = TrickSpec(
    "mixup",
    {"alpha": 0.4, "mode": "embeddings", "seed": None},
    choices={"mode": ("embeddings", "pooled")},
    nonnegative=("alpha",),
    parse={"seed": _parse_seed},
    tasks=("classification", "pair", "multilabel"),
    why_not="tricks.mixup is not defined for task {task!r}: token labels cannot be mixed across sentences",
    check=_check_mixup,
    check_run=no_crf("mixup"),
    order=10,
    build=lambda values, tricks: Mixup(values["alpha"], values["mode"], values["seed"]),
)


def _unwrap(model):
    while hasattr(model, "module") and not hasattr(model, "get_input_embeddings"):
        model = model.module
    return model


class Mixup:
    def __init__(self, alpha: float = 0.4, mode: str = "embeddings", seed: int | None = None):
        self.alpha = float(alpha)
        self.mode = mode
        self._rng = random.Random(seed)

    def sample(self, batch_size: int, device) -> tuple[float, torch.Tensor]:
        """Draw (lam, perm) for one step."""
        import torch

        lam = self._rng.betavariate(self.alpha, self.alpha)
        gen = torch.Generator().manual_seed(self._rng.getrandbits(63))
        perm = torch.randperm(batch_size, generator=gen).to(device)
        return lam, perm

    # the step hooks: draw (lam, perm) once per step, mix the inputs, mix the loss
    reports_ce = True

    def begin_step(self, model, batch, state: dict) -> None:
        state["lam"], state["perm"] = self.sample(batch["input_ids"].size(0), batch["input_ids"].device)

    def prepare_inputs(self, model, inputs: dict, state: dict):
        if self.mode == "embeddings":
            return mix_embeddings(_unwrap(model), inputs, state["lam"], state["perm"]), None
        return inputs, mix_classifier_input(model, state["lam"], state["perm"])

    def mix_loss(self, loss_fn, logits, labels, state: dict):
        return mixed_loss(loss_fn, logits, labels, state["lam"], state["perm"])

    def extra_terms(self, logits, state: dict) -> dict:
        return {"mixup_lambda": logits.new_tensor(state["lam"]).detach()}


def mix_embeddings(model, inputs: dict, lam: float, perm: torch.Tensor) -> dict:
    """Replace input_ids by mixed ``inputs_embeds`` and take the union of the masks."""
    import torch

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
    import torch

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
