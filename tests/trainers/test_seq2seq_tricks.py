"""Tricks for task=seq2seq: token-level losses over the target, R-Drop KL over real target
tokens, FGM on the shared embeddings, and the generation loop driving them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from trainer_helpers import read_jsonl, tiny_flags

from trainers import synth
from trainers.tricks import TrickConfigError, build_tricks, model_inputs
from trainers.tricks.adversarial import word_embedding_weight
from trainers.tricks.rdrop import rdrop_kl


class Acc:  # the accelerator surface TrickSet uses on one process
    num_processes = 1

    @staticmethod
    def backward(loss):
        loss.backward()


def tiny_bart(dropout: float):
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    cfg = BartConfig(
        vocab_size=40,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=32,
        dropout=dropout,
        attention_dropout=dropout,
        activation_dropout=dropout,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    return BartForConditionalGeneration(cfg).train()


def batch_with_decoder_inputs(model):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, 40, (3, 7), generator=g)
    mask = torch.ones_like(ids)
    mask[2, 5:] = 0
    labels = torch.randint(3, 40, (3, 5), generator=g)
    labels[0, 3:] = -100  # padding of shorter targets
    labels[1, 4:] = -100
    return {
        "input_ids": ids * mask,
        "attention_mask": mask,
        "labels": labels,
        "decoder_input_ids": model.prepare_decoder_input_ids_from_labels(labels=labels),
    }


def test_seq2seq_base_loss_and_rdrop_without_dropout_equal_the_models_own_loss():
    model = tiny_bart(0.0)
    batch = batch_with_decoder_inputs(model)
    hf = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    plain = build_tricks({}, "seq2seq", 40)
    loss, _ = plain.compute_loss(model, batch)
    assert loss.item() == pytest.approx(hf.item(), rel=1e-6)
    rdrop = build_tricks({"tricks": {"rdrop": {"alpha": 4}}}, "seq2seq", 40)
    loss, terms = rdrop.compute_loss(model, batch)
    assert terms["kl"].item() == pytest.approx(0.0, abs=1e-7) and loss.item() == pytest.approx(hf.item(), rel=1e-6)


def test_seq2seq_rdrop_kl_is_over_real_target_tokens_only():
    model = tiny_bart(0.3)
    batch = batch_with_decoder_inputs(model)
    seen = []
    handle = model.register_forward_hook(lambda m, a, kw_out: seen.append(kw_out.logits.detach()), with_kwargs=False)
    torch.manual_seed(1)
    _, terms = build_tricks({"tricks": {"rdrop": {"alpha": 2}}}, "seq2seq", 40).compute_loss(model, batch)
    handle.remove()
    (logits,) = seen
    assert logits.shape[0] == 6  # one forward over the doubled batch
    z1, z2 = logits[:3].float(), logits[3:].float()
    # by hand: symmetric KL per target position, averaged over the 3 + 4 + 5 = 12 real ones
    p1, p2 = F.log_softmax(z1, -1), F.log_softmax(z2, -1)
    sym = 0.5 * ((p1.exp() * (p1 - p2)).sum(-1) + (p2.exp() * (p2 - p1)).sum(-1))
    real = batch["labels"] != -100
    assert int(real.sum()) == 12
    assert terms["kl"].item() == pytest.approx(float(sym[real].mean()), rel=1e-5)
    assert terms["kl"].item() == pytest.approx(rdrop_kl(z1, z2, "seq2seq", real).item(), rel=1e-6)
    assert terms["kl"].item() > 0


def test_seq2seq_label_smoothing_and_fgm():
    model = tiny_bart(0.0)
    batch = batch_with_decoder_inputs(model)
    logits = model(**model_inputs(batch)).logits
    want = F.cross_entropy(logits.reshape(-1, 40), batch["labels"].reshape(-1), ignore_index=-100, label_smoothing=0.1)
    loss, _ = build_tricks({"tricks": {"label_smoothing": {"epsilon": 0.1}}}, "seq2seq", 40).compute_loss(model, batch)
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    # FGM perturbs the shared (encoder = decoder) embedding matrix and restores it bit for bit
    weight = word_embedding_weight(model)
    before = weight.detach().clone()
    terms = build_tricks({"tricks": {"fgm": {"epsilon": 0.1}}}, "seq2seq", 40).train_step(model, batch, Acc)
    assert torch.equal(weight, before) and terms["adv"].item() > 0 and terms["adv_rel"].item() > 0


def test_seq2seq_rejects_tricks_it_cannot_do():
    for trick in ({"mixup": {"alpha": 0.4}}, {"distill": {"teacher": "x"}}):
        with pytest.raises(TrickConfigError):
            build_tricks({"tricks": trick}, "seq2seq", 40)


def test_seq2seq_trains_with_rdrop_fgm_and_swa_through_the_loop(tmp_path, train):
    rows = synth.seq2seq(40, seed=0, kind="copy", max_len=4)
    path = tmp_path / "pairs.tsv"
    path.write_text("text\ttarget\n" + "".join(f"{r['text']}\t{r['target']}\n" for r in rows))
    flags = tiny_flags(
        task="seq2seq",
        train_file=str(path),
        eval_file=str(path),
        batch_size=8,
        max_seq_length=16,
        max_target_length=8,
        num_beams=1,
        epochs=2,
        log_steps=1,
        **{"tricks.rdrop.alpha": 1.0, "tricks.fgm.epsilon": 0.01, "tricks.swa.start": 5},
    )
    m = train(tmp_path / "out", **flags)
    assert m["train_steps"] == 10 and "eval_bleu" in m
    lines = [ln for ln in read_jsonl(tmp_path / "out" / "metrics.jsonl") if "train_loss" in ln]
    assert len(lines) == 10
    assert all(ln["train_kl"] > 0 and ln["train_adv"] > 0 and 0 < ln["train_adv_rel"] for ln in lines)


def test_span_with_tricks_is_one_clear_error(tmp_path):
    import json
    import subprocess
    import sys

    from trainer_helpers import as_argv

    path = tmp_path / "train.json"
    path.write_text(json.dumps(synth.span_squad(4, seed=0)))
    argv = as_argv(
        tiny_flags(
            task="span",
            train_file=str(path),
            eval_file=str(path),
            output_dir=str(tmp_path / "o"),
            **{"tricks.rdrop.alpha": 1.0},
        )
    )
    proc = subprocess.run([sys.executable, "-m", "trainers.text", *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "task=span" in proc.stderr and "tricks" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "o").exists()  # refused before any work
