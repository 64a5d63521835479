"""trainers/tricks/losses.py: focal loss and label smoothing against hand computation and torch."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import torch.nn.functional as F  # noqa: E402
from trainer_helpers import make_batch, tiny  # noqa: E402

from trainers.tricks import base_loss, build_tricks, model_inputs  # noqa: E402
from trainers.tricks.losses import focal_loss  # noqa: E402


@pytest.mark.parametrize("task", ["classification", "multilabel", "ner"])
def test_focal_with_gamma_zero_equals_plain_loss(task):
    model, batch = tiny(task), make_batch(task)
    ts = build_tricks({"tricks": {"focal": {"gamma": 0}}}, task, 3)
    loss, _ = ts.compute_loss(model, batch)
    plain = base_loss(model(**model_inputs(batch)).logits, batch["labels"], task)
    assert torch.allclose(loss, plain, atol=1e-6)


def test_focal_matches_hand_computation():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]])
    y = torch.tensor([0, 2])
    alpha = [0.25, 1.0, 2.0]
    hand = 0.0
    for row, t in zip(z.tolist(), y.tolist()):
        p = math.exp(row[t]) / sum(math.exp(v) for v in row)
        hand += -alpha[t] * (1 - p) ** 2 * math.log(p)
    assert focal_loss(z, y, "classification", 2.0, alpha).item() == pytest.approx(hand / 2, rel=1e-5)
    # binary (multi-label), alpha_t = a for positives, 1 - a for negatives
    x, t = torch.tensor([[1.5, -0.5]]), torch.tensor([[1.0, 0.0]])
    p1, p0 = 1 / (1 + math.exp(-1.5)), 1 - 1 / (1 + math.exp(0.5))
    hand = (-0.25 * (1 - p1) ** 2 * math.log(p1) - 0.75 * (1 - p0) ** 2 * math.log(p0)) / 2
    assert focal_loss(x, t, "multilabel", 2.0, 0.25).item() == pytest.approx(hand, rel=1e-5)


def test_label_smoothing_matches_torch():
    model, batch = tiny(), make_batch()
    ts = build_tricks({"tricks": {"label_smoothing": 0.1}}, "classification", 3)
    loss, _ = ts.compute_loss(model, batch)
    logits = model(**model_inputs(batch)).logits
    hand = (-(0.9 * F.one_hot(batch["labels"], 3) + 0.1 / 3) * F.log_softmax(logits, -1)).sum(-1).mean()
    assert torch.allclose(loss, hand, atol=1e-6)
