"""Each trick's formula, proved on a tiny BERT (2 layers, hidden 32), and their composition."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
accelerate = pytest.importorskip("accelerate")

import torch.nn.functional as F  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification  # noqa: E402

from trainers.tricks import TrickConfigError, base_loss, build_tricks, model_inputs, parse_tricks  # noqa: E402
from trainers.tricks.adversarial import word_embedding_weight  # noqa: E402
from trainers.tricks.losses import focal_loss  # noqa: E402
from trainers.tricks.rdrop import rdrop_kl  # noqa: E402

VOCAB, B, T = 60, 4, 10


def tiny(task="classification", num_labels=3, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    if task == "multilabel":
        cfg.problem_type = "multi_label_classification"
    cls = BertForTokenClassification if task == "ner" else BertForSequenceClassification
    return cls(cfg)


def make_batch(task="classification", num_labels=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 7:] = 0
    mask[3, 5:] = 0
    ids = ids * mask
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    if task == "multilabel":
        batch["labels"] = (torch.rand(B, num_labels, generator=g) > 0.5).float()
    elif task == "ner":
        tags = torch.randint(0, num_labels, (B, T), generator=g)
        tags[mask == 0] = -100
        tags[:, 0] = -100
        batch["labels"] = tags
    else:
        batch["labels"] = torch.randint(0, num_labels, (B,), generator=g)
    return batch


class Acc:
    """Minimal accelerator stand-in for unit tests: ``backward`` only."""

    num_processes = 1

    @staticmethod
    def backward(loss):
        loss.backward()


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


# --------------------------------------------------------------------------- settings


def test_no_trick_is_plain_training():
    model, batch = tiny(), make_batch()
    ts = build_tricks({}, "classification", 3)
    assert ts.enabled == [] and ts.passes_per_sample == 1.0
    terms = ts.train_step(model, batch, Acc)
    expected = base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification")
    assert torch.allclose(terms["loss"], expected)
    assert set(terms) == {"loss"}


@pytest.mark.parametrize(
    "tricks, task, message",
    [
        ({"mixup": {"alpha": 0.4}}, "ner", "mixup"),
        ({"label_smoothing": {"epsilon": 0.1}}, "multilabel", "label_smoothing"),
        ({"fgm": {"epsilon": 1}, "pgd": {"epsilon": 1}}, "classification", "at most one"),
        ({"focal": {"gamma": 2}, "label_smoothing": 0.1}, "classification", "base loss"),
        ({"rdorp": {"alpha": 4}}, "classification", "did you mean 'rdrop'"),
        ({"rdrop": {"alpah": 4}}, "classification", "did you mean 'alpha'"),
        ({"rdrop": {"alpha": "x"}}, "classification", "must be a number"),
        ({"eda": {"alpha": 0.1}}, "classification", "offline"),
        ({"distill": {"alpha": 0.5}}, "classification", "teacher"),
        ({"swa": {"enabled": True}}, "classification", "swa.start"),
        ({"swa": {"start": 0.5}}, "classification", "total_steps"),
        ({"focal": {"alpha": [1.0, 2.0]}}, "classification", "2 weights for 3 classes"),
        ({"distill": {"teacher": "/nonexistent/teacher-folder"}}, "classification", "teacher"),
    ],
)
def test_impossible_combinations_are_rejected(tricks, task, message, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no `expctl` to resolve a run id with
    with pytest.raises(TrickConfigError, match=message):
        build_tricks({"tricks": tricks}, task, 3)


def test_settings_forms_and_off_switches():
    assert parse_tricks({"tricks": {"rdrop": 4}}) == {"rdrop": {"alpha": 4.0}}
    assert parse_tricks({"tricks": {"rdrop": {"alpha": "2.5"}}})["rdrop"]["alpha"] == 2.5
    assert parse_tricks({"tricks": {"rdrop": {"alpha": 0}}}) == {}
    assert parse_tricks({"tricks": {"fgm": {"epsilon": 1, "enabled": "false"}}}) == {}
    assert parse_tricks({"tricks": {"pgd": {"enabled": True}}})["pgd"] == {"epsilon": 1.0, "alpha": 0.3, "steps": 3}
    ts = build_tricks({"tricks": {"rdrop": 1, "pgd": {"steps": 2}}}, "classification", 3)
    assert ts.passes_per_sample == 2 * 3


# --------------------------------------------------------------------------- R-Drop


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


# --------------------------------------------------------------------------- FGM / PGD


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


# --------------------------------------------------------------------------- focal / label smoothing


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


# --------------------------------------------------------------------------- mixup


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


# --------------------------------------------------------------------------- SWA


def test_swa_weights_are_the_mean_of_the_averaged_snapshots():
    model = tiny()
    ts = build_tricks({"tricks": {"swa": {"start": 3, "every": 2}}}, "classification", 3)
    snapshots = []
    for step in range(1, 10):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        if step >= 3 and (step - 3) % 2 == 0:  # steps 3, 5, 7, 9
            snapshots.append({n: p.detach().clone() for n, p in model.named_parameters()})
        ts.after_optimizer_step(model, step)
    assert ts.swa.n_averaged == 4 == len(snapshots)
    model = ts.finalize(model)
    for n, p in model.named_parameters():
        mean = torch.stack([s[n] for s in snapshots]).mean(0)
        assert torch.allclose(p, mean, atol=1e-5), n


def test_swa_sets_constant_and_cyclic_learning_rates():
    model = tiny()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    ts = build_tricks(
        {"tricks": {"swa": {"start": 2, "lr": 0.05, "anneal_steps": 1}}}, "classification", 3, {"optimizer": opt}
    )
    for step in range(1, 6):
        opt.step()
        ts.after_optimizer_step(model, step)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)

    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    ts = build_tricks(
        {"tricks": {"swa": {"start": 1, "every": 3, "lr": 0.1, "lr_min": 0.01, "strategy": "cyclic"}}},
        "classification",
        3,
    )
    ts.bind_optimizer(opt)
    lrs = []
    for step in range(1, 7):
        opt.step()
        ts.after_optimizer_step(model, step)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.055, 0.01, 0.1, 0.055, 0.01, 0.1])
    assert ts.swa.n_averaged == 2  # one snapshot per cycle, at its low-lr end


# --------------------------------------------------------------------------- distillation


def test_distillation_freezes_teacher_and_alpha_zero_is_ce(tmp_path):
    teacher = tiny(seed=5)
    teacher.save_pretrained(tmp_path / "teacher")
    model, batch = tiny(), make_batch()
    ts = build_tricks(
        {"tricks": {"distill": {"teacher": str(tmp_path / "teacher"), "alpha": 0.0}}}, "classification", 3
    )
    t = ts.distiller.teacher
    assert not t.training and not any(p.requires_grad for p in t.parameters())
    terms = ts.train_step(model, batch, Acc)
    assert all(p.grad is None for p in t.parameters())
    plain = base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification")
    assert torch.allclose(terms["loss"], plain, atol=1e-6)
    assert terms["kd"].item() > 0


def test_distillation_loss_matches_formula(tmp_path):
    teacher = tiny(seed=5)
    model, batch = tiny(), make_batch()
    # the path form, loaded through the loop's context["load_model"]
    teacher.save_pretrained(tmp_path / "t")
    ts = build_tricks(
        {"tricks": {"distill": {"teacher": str(tmp_path / "t"), "alpha": 0.7, "temperature": 3.0}}},
        "classification",
        3,
        {"load_model": lambda path: teacher},
    )
    assert ts.distiller.teacher is teacher
    loss, _ = ts.compute_loss(model, batch)
    zs = model(**model_inputs(batch)).logits
    with torch.no_grad():
        zt = teacher(**model_inputs(batch)).logits
    kd = F.kl_div(F.log_softmax(zs / 3, -1), F.softmax(zt / 3, -1), reduction="batchmean") * 9
    hand = 0.3 * F.cross_entropy(zs, batch["labels"]) + 0.7 * kd
    assert torch.allclose(loss, hand, atol=1e-5)


def test_teacher_run_id_is_resolved_through_expctl_show(repo, monkeypatch):
    """A teacher given as a run id or tag: its best checkpoint from the real record (`expctl show`)."""
    from tests.conftest import commit_project, run_expctl
    from trainers.tricks import distill

    program = (
        "import json, os\n"
        "from expctl import track\n"
        "best = os.path.join(track.run_dir(), 'checkpoints', 'best')\n"
        "os.makedirs(best)\n"
        "json.dump({'best': best}, open(os.path.join(track.run_dir(), 'checkpoints.json'), 'w'))\n"
        "track.log_final(acc=0.9)\n"
    )
    commit_project(repo, program, '[project]\nname = "teacher"\ncommand = "python3 train.py"\nprimary_metric = "acc"\n')
    run_expctl(repo, "run", check=True)
    run_expctl(repo, "tag", "teacher", check=True)
    run_id = run_expctl(repo, "show", "teacher", "--json", check=True)
    record = json.loads(run_id.stdout)
    monkeypatch.chdir(repo)
    for ref in (record["id"], "teacher"):
        found = distill.resolve_teacher_path(ref)
        assert found == Path(record["checkpoints"]["best"]) and found.is_dir() and found.name == "best"
    with pytest.raises(distill.TeacherError, match="expctl show"):
        distill.resolve_teacher_path("no-such-run")


def test_precomputed_teacher_logits_are_used(tmp_path):
    from trainers.tricks.distill import precompute_teacher_logits

    teacher, model = tiny(seed=5), tiny()
    batch = make_batch()
    batch["index"] = torch.tensor([3, 0, 2, 1])
    precompute_teacher_logits(teacher, [batch], tmp_path / "logits.pt")
    ts = build_tricks(
        {"tricks": {"distill": {"logits_file": str(tmp_path / "logits.pt"), "alpha": 1.0}}}, "classification", 3
    )
    assert ts.teacher_forwards_per_sample == 0
    loss, _ = ts.compute_loss(model, batch)
    zs = model(**model_inputs(batch)).logits
    with torch.no_grad():
        zt = teacher(**model_inputs(batch)).logits
    kd = F.kl_div(F.log_softmax(zs / 2, -1), F.softmax(zt / 2, -1), reduction="batchmean") * 4
    assert torch.allclose(loss, kd, atol=1e-5)


# --------------------------------------------------------------------------- with accelerate


def _fresh_accelerator(**kw):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    return Accelerator(cpu=True, **kw)


@pytest.mark.parametrize("task", ["classification", "ner"])
def test_rdrop_and_fgm_train_together_through_accelerate(task):
    acc = _fresh_accelerator()
    model = tiny(task, dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    ts = build_tricks(
        {"tricks": {"rdrop": {"alpha": 4}, "fgm": {"epsilon": 1.0}, "swa": {"start": 2}}}, task, 3, {"accelerator": acc}
    )
    assert ts.passes_per_sample == 4
    batch = make_batch(task)
    first = None
    for step in range(1, 7):
        with acc.accumulate(model):
            terms = ts.train_step(model, batch, acc)
            opt.step()
            opt.zero_grad()
        ts.after_optimizer_step(model, step)
        assert set(terms) >= {"loss", "ce", "kl", "adv", "clean"}
        assert all(torch.isfinite(v) for v in terms.values())
        first = first if first is not None else terms["ce"].item()
    assert terms["ce"].item() < first  # it learns the (memorisable) batch
    model = ts.finalize(model)
    assert ts.swa.n_averaged == 5


def test_train_step_runs_under_bf16_autocast_on_cpu():
    acc = _fresh_accelerator(mixed_precision="bf16")
    model = tiny(dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    ts = build_tricks({"tricks": {"rdrop": 1, "pgd": {"steps": 2}}}, "classification", 3)
    terms = ts.train_step(model, make_batch(), acc)
    assert torch.isfinite(terms["loss"]) and terms["loss"].dtype == torch.float32
    assert model.get_input_embeddings().weight.grad is not None
    opt.step()
    _fresh_accelerator()  # leave a plain state behind for other tests


def test_every_compatible_trick_at_once(tmp_path):
    """mixup (pooled) + R-Drop + focal + distillation + PGD + SWA on a pair task, through accelerate."""
    acc = _fresh_accelerator()
    tiny(seed=5).save_pretrained(tmp_path / "teacher")
    model = tiny(dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    settings = {
        "tricks": {
            "mixup": {"alpha": 0.4, "mode": "pooled", "seed": 0},
            "rdrop": 2,
            "focal": 2,
            "distill": {"teacher": str(tmp_path / "teacher"), "alpha": 0.5},
            "pgd": {"steps": 2},
            "swa": {"start": 0.5, "lr": 1e-4},
        }
    }
    ts = build_tricks(settings, "pair", 3, {"accelerator": acc, "optimizer": opt, "total_steps": 4})
    assert ts.passes_per_sample == 2 * 3 and ts.teacher_forwards_per_sample == 1
    batch = make_batch("pair")
    batch["token_type_ids"][:, 5:] = 1
    for step in range(1, 5):
        with acc.accumulate(model):
            terms = ts.train_step(model, batch, acc)
            opt.step()
            opt.zero_grad()
        ts.after_optimizer_step(model, step)
        assert {"loss", "ce", "kl", "kd", "adv", "clean", "mixup_lambda"} <= set(terms)
        assert all(torch.isfinite(v) for v in terms.values())
    assert ts.swa.n_averaged == 3 and opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    ts.finalize(model)
