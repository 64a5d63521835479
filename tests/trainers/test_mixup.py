"""trainers/tricks/mixup.py: mixed embeddings, masks and targets; lambda drawn from Beta(a, a)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import torch.nn.functional as F  # noqa: E402
from trainer_helpers import make_batch, tiny  # noqa: E402

from trainers.tricks import base_loss, build_tricks, model_inputs  # noqa: E402


@pytest.mark.parametrize("mode", ["embeddings", "pooled"])
def test_mixup_with_lambda_one_equals_plain_loss(mode):
    model, batch = tiny(), make_batch()
    ts = build_tricks({"tricks": {"mixup": {"alpha": 0.4, "mode": mode}}}, "classification", 3)
    ts.mixup.sample = lambda n, device: (1.0, torch.tensor([2, 3, 0, 1]))
    loss, terms = ts.compute_loss(model, batch)
    plain = base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification")
    assert torch.allclose(loss, plain, atol=1e-6)
    assert terms["mixup_lambda"].item() == 1.0


def test_mixup_mixes_embeddings_masks_and_targets():
    model, batch = tiny(), make_batch()
    perm = torch.tensor([2, 3, 0, 1])
    ts = build_tricks({"tricks": {"mixup": {"alpha": 0.4}}}, "classification", 3)
    ts.mixup.sample = lambda n, device: (0.3, perm)
    loss, _ = ts.compute_loss(model, batch)
    e = model.get_input_embeddings()(batch["input_ids"])
    out = model(
        inputs_embeds=0.3 * e + 0.7 * e[perm],
        token_type_ids=batch["token_type_ids"],
        attention_mask=torch.maximum(batch["attention_mask"], batch["attention_mask"][perm]),
    ).logits
    hand = 0.3 * F.cross_entropy(out, batch["labels"]) + 0.7 * F.cross_entropy(out, batch["labels"][perm])
    assert torch.allclose(loss, hand, atol=1e-6)


def test_mixup_draws_lambda_from_beta():
    ts = build_tricks({"tricks": {"mixup": {"alpha": 0.2, "seed": 0}}}, "classification", 3)
    lams = [ts.mixup.sample(4, "cpu")[0] for _ in range(400)]
    assert all(0 <= x <= 1 for x in lams)
    assert sum(lams) / len(lams) == pytest.approx(0.5, abs=0.06)  # Beta(a, a) has mean 1/2
    assert sum(1 for x in lams if x < 0.1 or x > 0.9) > 200  # a = 0.2: mass near 0 and 1
