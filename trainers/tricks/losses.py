"""Loss functions shared by the tricks: focal loss, label smoothing (two tricks declared
here: ``tricks.focal``, ``tricks.label_smoothing``), divergences.

Reductions (stated once, used everywhere):

* single-label / pair: mean over the batch;
* sequence labeling (``ner``): mean over the tokens whose label is not -100 (CE-like terms)
  or over the real tokens of ``attention_mask`` (divergence terms);
* multi-label: mean over batch x labels for BCE-like terms (as
  ``binary_cross_entropy_with_logits``), and, for divergences, sum over labels of the
  Bernoulli KL, mean over the batch.

Divergences are *summed over the classes* and averaged over rows ("batchmean"): plain
``reduction='mean'`` would also divide by the class count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .specs import TrickConfigError, TrickSpec, fail, no_crf

if TYPE_CHECKING:
    import torch


IGNORE_INDEX = -100


def _parse_alpha(where: str, value: Any):
    """``tricks.focal.alpha``: one number (multi-label) or per-class weights ("1,2,3" or a list)."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
        value = value[0] if len(value) == 1 else value
    try:
        return [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
    except (TypeError, ValueError) as exc:
        raise TrickConfigError(f"{where} must be a number or a list of per-class weights, got {value!r}") from exc


def _check_focal(values, task, on, settings):
    if values["alpha"] is not None and task != "multilabel" and not isinstance(values["alpha"], list):
        fail("tricks.focal.alpha for single-label tasks is a list of per-class weights")


def _check_label_smoothing(values, task, on, settings):
    if "focal" in on:
        fail("tricks.focal and tricks.label_smoothing both replace the base loss: enable at most one")


def _replaces_ce(name: str):
    """``check_run``: not with crf=true, not with class_weights (they weigh the plain CE)."""
    crf = no_crf(name)

    def check(values, settings) -> None:
        crf(values, settings)
        if settings.get("class_weights"):
            fail(
                "class_weights=balanced weighs the plain cross-entropy; with tricks.focal use "
                "tricks.focal.alpha (per-class weights) instead"
            )

    return check


def _build_focal(values, tricks):
    alpha = values["alpha"]
    if isinstance(alpha, list) and tricks.task != "multilabel" and len(alpha) != tricks.num_labels:
        fail(f"tricks.focal.alpha has {len(alpha)} weights for {tricks.num_labels} classes")
    return ReplacedLoss(focal_loss, tricks.task, values["gamma"], alpha)


SPECS = (
    TrickSpec(
        "focal",
        {"gamma": 2.0, "alpha": None},
        nonnegative=("alpha", "gamma"),
        parse={"alpha": _parse_alpha},
        check=_check_focal,
        check_run=_replaces_ce("focal"),
        order=20,
        build=_build_focal,
    ),
    TrickSpec(
        "label_smoothing",
        {"epsilon": 0.1},
        nonnegative=("epsilon",),
        tasks=("classification", "pair", "ner", "seq2seq"),
        why_not="tricks.label_smoothing applies to softmax targets; it is not defined for "
        "multi-label (sigmoid) training",
        check=_check_label_smoothing,
        check_run=_replaces_ce("label_smoothing"),
        order=20,
        build=lambda values, tricks: ReplacedLoss(smoothed_ce, tricks.task, values["epsilon"]),
    ),
)


class ReplacedLoss:
    """The step hook of focal loss and label smoothing: the supervised loss instead of CE."""

    reports_ce = True

    def __init__(self, fn, task: str, *args):
        self.fn, self.task, self.args = fn, task, args

    def replace_loss(self, logits, labels):
        return self.fn(logits, labels, self.task, *self.args)


# --------------------------------------------------------------------------- divergences


def categorical_kl_rows(p_logits: torch.Tensor, q_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(p || q) per row, summed over the last (class) dim; p = softmax(p_logits / T)."""
    import torch.nn.functional as F

    log_p = F.log_softmax(p_logits.float() / temperature, dim=-1)
    log_q = F.log_softmax(q_logits.float() / temperature, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def bernoulli_kl_rows(p_logits: torch.Tensor, q_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Sum over labels of KL(Bern(p) || Bern(q)) per row; p = sigmoid(p_logits / T)."""
    import torch.nn.functional as F

    a = p_logits.float() / temperature
    b = q_logits.float() / temperature
    log_p, log_1p = F.logsigmoid(a), F.logsigmoid(-a)
    log_q, log_1q = F.logsigmoid(b), F.logsigmoid(-b)
    kl = log_p.exp() * (log_p - log_q) + log_1p.exp() * (log_1p - log_1q)
    return kl.sum(-1)


def kl_rows(p_logits, q_logits, task: str, temperature: float = 1.0) -> torch.Tensor:
    """Per-row (per-token for ``ner``) KL(p || q) for the task's output distribution."""
    if task == "multilabel":
        return bernoulli_kl_rows(p_logits, q_logits, temperature)
    return categorical_kl_rows(p_logits, q_logits, temperature)


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` over the positions where ``mask`` is true (all if mask is None)."""
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def token_mask(batch, task: str) -> torch.Tensor | None:
    """Real (non-padding) tokens for token tasks, None for sequence-level tasks.

    ner: the input tokens (attention_mask); seq2seq: the target tokens (labels != -100)."""
    if task == "seq2seq":
        return batch["labels"] != IGNORE_INDEX
    if task != "ner":
        return None
    if batch.get("attention_mask") is not None:
        return batch["attention_mask"].bool()
    return batch["labels"] != IGNORE_INDEX


# --------------------------------------------------------------------------- base losses


def focal_loss(logits, labels, task: str, gamma: float = 2.0, alpha=None) -> torch.Tensor:
    """Focal loss FL = -alpha_t (1 - p_t)^gamma log p_t (Lin et al. 2017); gamma = 0, no alpha = CE.

    * single-label / pair / ner: softmax p_t of the gold class; ``alpha`` is an optional list
      of per-class weights (alpha_t = alpha[y]); mean over samples (ner: over labelled tokens,
      i.e. not -100). Unlike ``F.cross_entropy(weight=...)`` the weighted sum is divided by
      the sample count, not by the sum of weights.
    * multilabel: sigmoid focal loss per (sample, label); ``alpha`` a scalar or per-label list
      a, with alpha_t = a for positives and 1 - a for negatives (RetinaNet); mean over all
      elements, like ``binary_cross_entropy_with_logits``.
    """
    import torch
    import torch.nn.functional as F

    logits = logits.float()
    if task == "multilabel":
        y = labels.to(logits.dtype)
        log_p_t = -F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        p_t = log_p_t.exp()
        loss = -((1.0 - p_t) ** gamma) * log_p_t if gamma else -log_p_t
        if alpha is not None:
            a = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
            loss = (a * y + (1.0 - a) * (1.0 - y)) * loss
        return loss.mean()
    flat = logits.reshape(-1, logits.size(-1))
    y = labels.reshape(-1)
    keep = y != IGNORE_INDEX
    flat, y = flat[keep], y[keep]
    log_p_t = F.log_softmax(flat, dim=-1).gather(1, y.unsqueeze(1)).squeeze(1)
    loss = -((1.0 - log_p_t.exp()) ** gamma) * log_p_t if gamma else -log_p_t
    if alpha is not None:
        a = torch.as_tensor(alpha, dtype=logits.dtype, device=logits.device)
        loss = a[y] * loss
    return loss.mean() if loss.numel() else flat.sum() * 0.0


def smoothed_ce(logits, labels, task: str, epsilon: float) -> torch.Tensor:
    """CE with label smoothing: target (1 - eps) one-hot + eps / C uniform (torch's convention)."""
    import torch.nn.functional as F

    if task in ("ner", "seq2seq"):
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX, label_smoothing=epsilon
        )
    return F.cross_entropy(logits, labels, label_smoothing=epsilon)
