"""trainers/tricks/rdrop.py: R-Drop's symmetric KL, by hand, and its one forward over the doubled batch."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from trainer_helpers import Acc, B, T, make_batch, tiny  # noqa: E402

from trainers.tricks import base_loss, build_tricks, model_inputs  # noqa: E402
from trainers.tricks.rdrop import rdrop_kl  # noqa: E402


@pytest.mark.parametrize("task", ["classification", "multilabel", "ner"])
def test_rdrop_with_dropout_off_equals_plain_loss(task):
    model, batch = tiny(task), make_batch(task)
    ts = build_tricks({"tricks": {"rdrop": {"alpha": 4}}}, task, 3)
    loss, terms = ts.compute_loss(model, batch)
    plain = base_loss(model(**model_inputs(batch)).logits, batch["labels"], task)
    assert torch.allclose(loss, plain, atol=1e-6)
    assert terms["kl"].abs().item() < 1e-6


def test_rdrop_is_one_forward_over_the_doubled_batch():
    model, batch = tiny(dropout=0.3), make_batch()
    seen = []
    model.register_forward_pre_hook(lambda m, args, kwargs: seen.append(kwargs["input_ids"].shape), with_kwargs=True)
    ts = build_tricks({"tricks": {"rdrop": {"alpha": 4}}}, "classification", 3)
    terms = ts.train_step(model, batch, Acc)
    assert seen == [torch.Size([2 * B, T])]
    assert terms["kl"].item() > 0  # dropout on: the halves differ
    assert torch.allclose(terms["loss"], terms["ce"] + 4 * terms["kl"])


def test_rdrop_kl_matches_hand_computation():
    z1 = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    z2 = torch.tensor([[0.5, 2.5, 0.0], [1.0, 0.0, 1.0]])

    def softmax(row):
        e = [math.exp(v) for v in row]
        return [v / sum(e) for v in e]

    def kl(p, q):
        return sum(a * math.log(a / b) for a, b in zip(p, q))

    expected = (
        sum(0.5 * (kl(softmax(a), softmax(b)) + kl(softmax(b), softmax(a))) for a, b in zip(z1.tolist(), z2.tolist()))
        / 2
    )  # summed over classes, batch mean
    assert rdrop_kl(z1, z2, "classification").item() == pytest.approx(expected, rel=1e-5)

    # token-level: only real tokens count; padding positions may hold anything
    zt1 = torch.stack([z1, z1 * 7])  # [batch 2, tokens 2, classes 3]
    zt2 = torch.stack([z2, z2 - 9])
    mask = torch.tensor([[1, 1], [0, 0]])
    assert rdrop_kl(zt1, zt2, "ner", mask.bool()).item() == pytest.approx(expected, rel=1e-5)

    # multi-label: Bernoulli KL summed over labels
    a, b = torch.tensor([[0.3, -1.0]]), torch.tensor([[1.2, 0.4]])

    def bern(x, y):
        p, q = 1 / (1 + math.exp(-x)), 1 / (1 + math.exp(-y))
        return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))

    hand = sum(0.5 * (bern(x, y) + bern(y, x)) for x, y in zip(a[0].tolist(), b[0].tolist()))
    assert rdrop_kl(a, b, "multilabel").item() == pytest.approx(hand, rel=1e-5)
