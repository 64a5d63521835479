"""Stochastic Weight Averaging (Izmailov et al. 2018) with ``torch.optim.swa_utils``.

    w_swa = (1 / n) * sum_{k=1..n} w_k     (w_k: the weights after the k-th averaged step)

Averaging starts after optimizer step ``start`` and takes a snapshot every ``every`` steps
(``AveragedModel``, equal weights). The SWA learning rate is optional:

* ``strategy = "constant"`` with ``lr``: ``SWALR`` anneals from the current lr to ``lr`` over
  ``anneal_steps`` steps, then holds it (it runs after the loop's scheduler, so it wins);
* ``strategy = "cyclic"`` with ``lr`` (max) and ``lr_min``: within each cycle of ``every``
  steps the lr falls linearly from ``lr`` to ``lr_min``; the snapshot is taken at the end of
  each cycle (at the low lr);
* no ``lr``: the loop's schedule is kept (for fine-tuning a pretrained LM, average every
  step over the last part of training: e.g. ``start`` = 75% of the steps, ``every`` = 1).

``finalize`` copies the averaged weights into the model, so the final evaluation and the
saved checkpoint use them. BERT has no BatchNorm: ``update_bn`` is not needed.
Settings: ``tricks.swa.start`` (an optimizer step, or a fraction < 1 of
``context["total_steps"]``), ``every`` (1), ``lr``, ``lr_min``, ``strategy``, ``anneal_steps``.
Cost: one extra copy of the weights in memory and one in-place average per snapshot.
"""

from __future__ import annotations

import warnings

from .specs import TrickConfigError, TrickSpec, fail


def _check_swa(values, task, on, settings):
    if values["start"] is None:
        fail("tricks.swa needs tricks.swa.start (an optimizer step, or a fraction < 1 of the run)")
    if values["strategy"] == "cyclic" and values["lr"] is None:
        fail("tricks.swa.strategy=cyclic needs tricks.swa.lr (the cycle's maximum lr)")


def _build(values, tricks):
    """Averaging from ``start`` (an update, or a fraction of the run); the lr is set through
    the TrickSet's optimizer (``bind_optimizer``)."""
    start = values["start"]
    if 0 < start < 1:
        total = tricks.context.get("total_steps")
        if not total:
            fail("tricks.swa.start as a fraction needs context['total_steps']")
        start = int(start * total)
    return SWA(
        int(start),
        values["every"],
        values["lr"],
        values["lr_min"],
        values["strategy"],
        values["anneal_steps"],
        optimizer_getter=lambda: tricks.optimizer,
    )


SPEC = TrickSpec(
    "swa",
    {"start": None, "every": 1, "lr": None, "lr_min": None, "strategy": "constant", "anneal_steps": 0},
    choices={"strategy": ("constant", "cyclic")},
    numbers=("start", "lr", "lr_min"),
    nonnegative=("every", "anneal_steps"),
    check=_check_swa,
    order=60,
    build=_build,
)


def _unwrap(model):
    import torch

    while hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
        model = model.module
    return model


class SWA:
    def __init__(
        self,
        start: int,
        every: int = 1,
        lr: float | None = None,
        lr_min: float | None = None,
        strategy: str = "constant",
        anneal_steps: int = 0,
        optimizer_getter=None,
    ):
        from torch.optim.swa_utils import AveragedModel

        self.start = int(start)
        self.every = max(1, int(every))
        self.lr = lr
        self.lr_min = lr_min
        self.strategy = strategy
        self.anneal_steps = int(anneal_steps)
        self.optimizer_getter = optimizer_getter or (lambda: None)
        self.averaged: AveragedModel | None = None
        self._swalr = None

    def _optimizer(self):
        opt = self.optimizer_getter()
        if opt is None:
            raise TrickConfigError(
                "tricks.swa.lr needs the optimizer: pass context['optimizer'] "
                "or call TrickSet.bind_optimizer(optimizer)"
            )
        return opt

    def after_optimizer_step(self, model, step: int) -> None:
        from torch.optim.swa_utils import SWALR

        if step < self.start:
            return
        k = step - self.start  # 0 at the first SWA step
        if self.strategy == "cyclic":
            pos = k % self.every
            take = pos == self.every - 1
            if self.lr is not None:  # lr for the NEXT step
                nxt = (pos + 1) % self.every
                lo = self.lr_min if self.lr_min is not None else 0.0
                lr = self.lr - (self.lr - lo) * nxt / max(1, self.every - 1)
                for group in self._optimizer().param_groups:
                    group["lr"] = lr
        else:
            take = k % self.every == 0
            if self.lr is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if self._swalr is None:
                        self._swalr = SWALR(
                            self._optimizer(),
                            swa_lr=self.lr,
                            anneal_epochs=max(1, self.anneal_steps),
                            anneal_strategy="cos",
                        )
                    else:
                        self._swalr.step()
        if take:
            self.update(model)

    def update(self, model) -> None:
        from torch.optim.swa_utils import AveragedModel

        inner = _unwrap(model)
        if self.averaged is None:
            self.averaged = AveragedModel(inner)  # deep copy, then running mean from n = 1
        self.averaged.update_parameters(inner)

    @property
    def n_averaged(self) -> int:
        return 0 if self.averaged is None else int(self.averaged.n_averaged)

    def finalize(self, model):
        import torch

        if self.averaged is None or self.n_averaged == 0:
            return model
        inner = _unwrap(model)
        with torch.no_grad():
            for p, q in zip(inner.parameters(), self.averaged.module.parameters()):
                p.copy_(q)
        return model
