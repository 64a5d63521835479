"""Adversarial training on the word-embedding weights: FGM and PGD.

Both own the step: they call ``closure()`` (forward + loss, returning ``(loss, terms)``)
several times and back-propagate each call, so gradients of the clean and adversarial
losses add up before the optimizer step. The embedding weights are restored exactly
(``copy_`` from a backup: bit-identical) before returning.

FGM (Miyato et al. 2017):   r = eps * g / ||g||_2,  g = d loss / d E  (E: word-embedding matrix)
    grads = grad L(E) + grad L(E + r)

PGD (Madry et al. 2018), K steps:
    r_0 = 0;  r_{t+1} = Proj_{||r|| <= eps}(r_t + a * g_t / ||g_t||_2)
    where g_0 is the clean gradient and g_t (t >= 1) the gradient of L(E + r_t) alone
    (gradients are zeroed between attack steps). Before the last backward the clean
    gradients are restored, so  grads = grad L(E) + grad L(E + r_K).

Settings: ``tricks.fgm.epsilon`` (1.0), ``tricks.pgd.epsilon`` (1.0), ``tricks.pgd.alpha`` (0.3),
``tricks.pgd.steps`` (3). Cost: FGM 2 forward/backward passes per sample, PGD K + 1.

Strength: epsilon is an absolute norm over the whole perturbation, so its effect depends on
the model's embedding scale. Each step logs ``adv_rel`` = ||r|| / ||rows of E the batch
touches|| (``train_adv_rel`` in metrics.jsonl), and the loop warns once when it exceeds
``ADV_REL_WARN``: see docs/tricks.md for what the study measured.

Caveats: with gradient accumulation, ``g`` includes the earlier micro-batches' gradients
(as in the common implementations). A zero or non-finite ``g`` skips the attack for that
step (term ``adv`` = 0). Under multi-process training the clean backward runs under
``accelerator.no_sync`` so only the final backward all-reduces.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from .specs import TrickSpec, fail

if TYPE_CHECKING:
    import torch


def _check_fgm(values, task, on, settings):
    if "pgd" in on:
        fail("tricks.fgm and tricks.pgd both own the training step: enable at most one")


def _check_pgd(values, task, on, settings):
    if values["steps"] < 1:
        fail("tricks.pgd.steps must be >= 1")


SPECS = (
    TrickSpec(
        "fgm",
        {"epsilon": 1.0},
        nonnegative=("epsilon",),
        check=_check_fgm,
        order=50,
        build=lambda values, tricks: FGM(values["epsilon"]),
    ),
    TrickSpec(
        "pgd",
        {"epsilon": 1.0, "alpha": 0.3, "steps": 3},
        nonnegative=("alpha", "epsilon", "steps"),
        check=_check_pgd,
        order=50,
        build=lambda values, tricks: PGD(values["epsilon"], values["alpha"], values["steps"]),
    ),
)


def word_embedding_weight(model) -> torch.nn.Parameter:
    """The word-embedding matrix of an HF model (unwrapping DDP / compiled wrappers)."""
    inner = model
    while hasattr(inner, "module") and not hasattr(inner, "get_input_embeddings"):
        inner = inner.module
    return inner.get_input_embeddings().weight


def _no_sync(model, accelerator):
    if accelerator is not None and getattr(accelerator, "num_processes", 1) > 1:
        return accelerator.no_sync(model)
    return contextlib.nullcontext()


def _backward(loss, accelerator):
    if accelerator is None:
        loss.backward()
    else:
        accelerator.backward(loss)


#: ``adv_rel`` above this draws a warning from the loop (once per run); ADV_REL_TARGET is the
#: strength the warning suggests. Calibrated by the study in docs/tricks.md.
ADV_REL_WARN = 0.1
ADV_REL_TARGET = 0.01


def relative_size(r: torch.Tensor, weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """||r|| / ||E_touched||: the perturbation against the embedding rows this batch touches.

    Rows with a non-zero gradient are the batch's tokens; ``r`` lives on exactly those rows
    (it is a multiple of the gradient). The ratio says how strong ``epsilon`` is for THIS
    model: the same epsilon is mild for BERT-base's embeddings (rows of norm ~1.4, a batch
    touches ~1,000 of them) and overwhelming for a small randomly initialised model.
    Logged as the term ``adv_rel``; a detached scalar tensor (no device sync).
    """
    import torch

    touched = grad.detach().abs().amax(dim=-1) > 0
    denom = torch.linalg.vector_norm(weight.detach()[touched].float())
    return (torch.linalg.vector_norm(r.detach().float()) / denom.clamp_min(1e-12)).detach()


def _unit(g: torch.Tensor) -> torch.Tensor | None:
    import torch

    norm = torch.linalg.vector_norm(g.float())
    if not torch.isfinite(norm) or norm.item() == 0.0:
        return None
    return g / norm


class _Attack:
    """What FGM and PGD share: the warning about a too strong ``epsilon`` (once per run)."""

    name = ""
    epsilon = 1.0
    _warned = False

    def check_terms(self, named) -> list[str]:
        """``adv_rel`` above ``ADV_REL_WARN`` means epsilon moves the batch's token embeddings by
        a large fraction of their own norm -- in the study (docs/tricks.md) that wrecked
        training of the small model."""
        rel = named.get("adv_rel")
        if rel is None or rel <= ADV_REL_WARN or self._warned:
            return []
        self._warned = True
        eps, scale = self.epsilon, ADV_REL_TARGET / rel
        suggest = f"tricks.{self.name}.epsilon={eps * scale:.2g}"
        if self.name == "pgd":  # the step size scales with the ball
            suggest += f" tricks.pgd.alpha={self.alpha * scale:.2g}"
        return [
            f"WARNING: tricks.{self.name}.epsilon={eps:g} perturbs the batch's token embeddings by "
            f"{rel:.2g} of their norm (adv_rel > {ADV_REL_WARN:g}); this model's embeddings are small "
            f"for that epsilon -- try {suggest} (adv_rel ~{ADV_REL_TARGET:g}; see docs/tricks.md)"
        ]


class FGM(_Attack):
    """Fast Gradient Method on the word-embedding weights (one extra forward/backward)."""

    name = "fgm"
    passes = 2

    def __init__(self, epsilon: float = 1.0):
        self.epsilon = float(epsilon)
        self.last_norm: float | None = None

    def step(self, model, closure, accelerator):
        import torch

        with _no_sync(model, accelerator):
            loss, terms = closure()
            _backward(loss, accelerator)
        weight = word_embedding_weight(model)
        direction = _unit(weight.grad) if weight.grad is not None else None
        if direction is None:
            terms["adv"] = torch.zeros_like(terms["loss"])
            terms["adv_rel"] = torch.zeros_like(terms["loss"])
            self.last_norm = 0.0
            return terms
        backup = weight.data.clone()
        try:
            r = self.epsilon * direction
            self.last_norm = float(torch.linalg.vector_norm(r.float()))
            terms["adv_rel"] = relative_size(r, weight, weight.grad)
            weight.data.add_(r.to(weight.dtype))
            adv_loss, _ = closure()
            _backward(adv_loss, accelerator)
        finally:
            weight.data.copy_(backup)
        terms["clean"] = terms["loss"]
        terms["adv"] = adv_loss.detach()
        terms["loss"] = (loss + adv_loss).detach()
        return terms


class PGD(_Attack):
    """Projected Gradient Descent on the word-embedding weights (K extra forward/backward)."""

    name = "pgd"

    def __init__(self, epsilon: float = 1.0, alpha: float = 0.3, steps: int = 3):
        self.epsilon = float(epsilon)
        self.alpha = float(alpha)
        self.steps = int(steps)
        self.norms: list[float] = []  # ||r_t|| of each attack step of the last call

    @property
    def passes(self) -> int:
        return self.steps + 1

    def step(self, model, closure, accelerator):
        import torch

        with _no_sync(model, accelerator):
            loss, terms = closure()
            _backward(loss, accelerator)
        weight = word_embedding_weight(model)
        params = [p for p in model.parameters() if p.requires_grad]
        grad_backup = {id(p): p.grad.detach().clone() for p in params if p.grad is not None}
        weight_backup = weight.data.clone()
        delta = torch.zeros_like(weight.data, dtype=torch.float32)
        self.norms = []
        adv_loss = None
        finished = False
        try:
            for t in range(self.steps):
                direction = _unit(weight.grad) if weight.grad is not None else None
                if direction is None:
                    break
                delta.add_(self.alpha * direction.float())
                norm = torch.linalg.vector_norm(delta)
                if norm > self.epsilon:
                    delta.mul_(self.epsilon / norm)
                self.norms.append(float(torch.linalg.vector_norm(delta)))
                torch.add(weight_backup, delta.to(weight.dtype), out=weight.data)
                last = t == self.steps - 1
                for p in params:  # zero between steps; clean grads back before the last one
                    p.grad = grad_backup[id(p)] if last and id(p) in grad_backup else None
                ctx = contextlib.nullcontext() if last else _no_sync(model, accelerator)
                with ctx:
                    adv_loss, _ = closure()
                    _backward(adv_loss, accelerator)
                finished = last
        finally:
            weight.data.copy_(weight_backup)
            if not finished:  # attack skipped or interrupted: keep exactly the clean gradients
                for p in params:
                    p.grad = grad_backup.get(id(p))
        terms["clean"] = terms["loss"]
        if finished:
            terms["adv"] = adv_loss.detach()
            terms["loss"] = (loss + adv_loss).detach()
            terms["adv_rel"] = relative_size(delta, weight_backup, grad_backup[id(weight)])
        else:
            terms["adv"] = torch.zeros_like(terms["loss"])
            terms["adv_rel"] = torch.zeros_like(terms["loss"])
        return terms
