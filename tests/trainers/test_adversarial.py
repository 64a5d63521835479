"""trainers/tricks/adversarial.py: FGM and PGD on the word embeddings, gradients checked by hand."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from trainer_helpers import Acc, grads, make_batch, tiny  # noqa: E402

from trainers.tricks import base_loss, build_tricks, model_inputs  # noqa: E402
from trainers.tricks.adversarial import word_embedding_weight  # noqa: E402


def _clean_grads(model, batch):
    model.zero_grad(set_to_none=True)
    base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification").backward()
    return grads(model)


def test_fgm_restores_embeddings_exactly_and_adds_the_adversarial_gradient():
    model, batch = tiny(), make_batch()
    weight = word_embedding_weight(model)
    before = weight.detach().clone()
    clean = _clean_grads(model, batch)
    g = clean["bert.embeddings.word_embeddings.weight"]
    # the adversarial gradient, by hand: loss at E + eps * g / ||g||
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        weight.add_(0.5 * g / g.norm())
    base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification").backward()
    adv = grads(model)
    with torch.no_grad():
        weight.copy_(before)

    model.zero_grad(set_to_none=True)
    ts = build_tricks({"tricks": {"fgm": {"epsilon": 0.5}}}, "classification", 3)
    terms = ts.train_step(model, batch, Acc)
    assert torch.equal(weight, before)  # bit-identical
    got = grads(model)
    for name in clean:
        assert torch.allclose(got[name], clean[name] + adv[name], atol=1e-6), name
    assert ts.adversary.last_norm == pytest.approx(0.5, rel=1e-5)
    assert torch.allclose(terms["loss"], terms["clean"] + terms["adv"])
    assert ts.passes_per_sample == 2


def test_adv_rel_is_the_perturbation_over_the_touched_embedding_rows():
    """adv_rel = ||r|| / ||E[rows of the batch's token ids]||: by hand from the input ids."""
    model, batch = tiny(), make_batch()
    weight = word_embedding_weight(model)
    rows = torch.unique(batch["input_ids"])
    pad = model.bert.embeddings.word_embeddings.padding_idx  # the padding row gets no gradient
    rows = rows[rows != pad] if pad is not None else rows
    hand_touched = float(weight.detach()[rows].norm())
    ts = build_tricks({"tricks": {"fgm": {"epsilon": 0.5}}}, "classification", 3)
    terms = ts.train_step(model, batch, Acc)
    assert terms["adv_rel"].item() == pytest.approx(0.5 / hand_touched, rel=1e-5)
    # PGD: the final perturbation's norm (projected onto eps) over the same rows
    model.zero_grad(set_to_none=True)
    ts = build_tricks({"tricks": {"pgd": {"epsilon": 0.4, "alpha": 0.3, "steps": 3}}}, "classification", 3)
    terms = ts.train_step(model, batch, Acc)
    assert terms["adv_rel"].item() == pytest.approx(0.4 / hand_touched, rel=1e-4)
    # the loop's once-per-run warning, at the threshold
    assert ts.check_terms({"adv_rel": 0.05}) == []
    (warning,) = ts.check_terms({"adv_rel": 0.5})
    # eps 0.4 at adv_rel 0.5 -> 0.4 * 0.01 / 0.5 = 0.008; alpha 0.3 scaled alike -> 0.006
    assert "tricks.pgd.epsilon=0.4 perturbs" in warning and "0.5 of their norm" in warning
    assert "try tricks.pgd.epsilon=0.008 tricks.pgd.alpha=0.006" in warning
    assert ts.check_terms({"adv_rel": 0.9}) == []  # once per run


def test_pgd_with_one_step_equals_fgm_with_its_step_size():
    model, batch = tiny(), make_batch()
    build_tricks({"tricks": {"fgm": {"epsilon": 0.2}}}, "classification", 3).train_step(model, batch, Acc)
    fgm = grads(model)
    model.zero_grad(set_to_none=True)
    build_tricks({"tricks": {"pgd": {"epsilon": 1.0, "alpha": 0.2, "steps": 1}}}, "classification", 3).train_step(
        model, batch, Acc
    )
    pgd = grads(model)
    for name in fgm:
        assert torch.allclose(fgm[name], pgd[name], atol=1e-6), name


def test_pgd_projects_onto_the_ball_restores_weights_and_keeps_clean_gradients():
    model, batch = tiny(), make_batch()
    weight = word_embedding_weight(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    clean = _clean_grads(model, batch)
    model.zero_grad(set_to_none=True)
    ts = build_tricks({"tricks": {"pgd": {"epsilon": 0.5, "alpha": 0.3, "steps": 3}}}, "classification", 3)
    seen = []  # the embedding matrix at every forward: clean + K adversarial

    handle = model.bert.embeddings.word_embeddings.register_forward_pre_hook(
        lambda m, a: seen.append(m.weight.detach().clone())
    )
    terms = ts.train_step(model, batch, Acc)
    handle.remove()
    seen_norms = [float((w - before["bert.embeddings.word_embeddings.weight"]).norm()) for w in seen]
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]), n  # every weight bit-identical, embeddings included
    assert seen_norms[0] == 0.0 and len(seen_norms) == 4  # clean + K adversarial forwards
    assert all(r <= 0.5 * (1 + 1e-5) for r in seen_norms)
    assert ts.adversary.norms == pytest.approx([0.3, 0.5, 0.5], rel=1e-4)  # 0.3, then projected onto eps
    # final gradients = clean + gradient of the loss at E + r_K alone: recompute the latter by hand
    got = grads(model)
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        weight.copy_(seen[-1])
    base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification").backward()
    adv = grads(model)
    with torch.no_grad():
        weight.copy_(before["bert.embeddings.word_embeddings.weight"])
    for name in clean:
        assert torch.allclose(got[name], clean[name] + adv[name], atol=1e-6), name
    assert torch.allclose(terms["loss"], terms["clean"] + terms["adv"])
    assert ts.passes_per_sample == 4


def test_pgd_perturbation_never_leaves_the_epsilon_ball():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    model, batch = tiny(), make_batch()
    weight = word_embedding_weight(model)
    before = weight.detach().clone()

    @hypothesis.settings(max_examples=12, deadline=None, derandomize=True)
    @hypothesis.given(eps=st.floats(0.01, 3.0), alpha=st.floats(0.01, 3.0), steps=st.integers(1, 4))
    def check(eps, alpha, steps):
        ts = build_tricks({"tricks": {"pgd": {"epsilon": eps, "alpha": alpha, "steps": steps}}}, "classification", 3)
        norms = []
        handle = model.bert.embeddings.word_embeddings.register_forward_pre_hook(
            lambda m, a: norms.append(float((m.weight.detach() - before).norm()))
        )
        try:
            ts.train_step(model, batch, Acc)
        finally:
            handle.remove()
            model.zero_grad(set_to_none=True)
        assert len(norms) == steps + 1
        assert max(norms) <= eps * (1 + 1e-5)
        assert torch.equal(weight, before)

    check()


def test_adversarial_step_with_zero_gradient_is_skipped_cleanly():
    model, batch = tiny(), make_batch()
    ts = build_tricks({"tricks": {"pgd": {"epsilon": 1.0}}}, "classification", 3)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    before = grads(model)
    terms = ts.train_step(model, batch, Acc)
    assert terms["adv"].item() == 0.0 and before == {}
    clean = grads(model)
    model.zero_grad(set_to_none=True)
    base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification").backward()
    for n, g in grads(model).items():
        assert torch.allclose(clean[n], g), n
