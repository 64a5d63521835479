"""Data pipeline: seeded length-grouped batches, dynamic padding, tokenize-once cache, CJK vocab,
stage subsets logged with how they were drawn."""

from __future__ import annotations

import random

import torch
from trainer_helpers import tiny_flags

from trainers import synth
from trainers.data.formats import Example
from trainers.data.pipeline import EpochSampler, encode, label_space, make_collate
from trainers.modeling import build_tiny_tokenizer


def _batches(sampler, bs):
    order = list(sampler)
    return [order[i : i + bs] for i in range(0, len(order), bs)]


def test_epoch_sampler_seeded_grouped_and_complete():
    rng = random.Random(0)
    lengths = [rng.choice([5, 6, 7, 200]) for _ in range(1000)]
    s = EpochSampler(lengths, 16, seed=3, group_by_length=True)
    s.set_epoch(0)
    a = list(s)
    assert sorted(a) == list(range(1000))
    assert list(s) == a  # same seed + epoch, same order (resume relies on it)
    s.set_epoch(1)
    assert list(s) != a
    plain = EpochSampler(lengths, 16, seed=3, group_by_length=False)

    def padded(sampler):
        return sum(len(b) * max(lengths[i] for i in b) for b in _batches(sampler, 16))

    assert padded(s) < 0.5 * padded(plain)  # far less padding with length grouping
    # the batches stay in random order (not sorted longest-first throughout)
    maxima = [max(lengths[i] for i in b) for b in _batches(s, 16)]
    assert maxima != sorted(maxima, reverse=True)


def test_collate_pads_to_batch_max():
    collate = make_collate(0, "classification")
    items = [
        {"index": 0, "input_ids": torch.tensor([2, 7, 3]), "labels": torch.tensor(1)},
        {"index": 1, "input_ids": torch.tensor([2, 3]), "labels": torch.tensor(0)},
    ]
    b = collate(items)
    assert b["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]] and b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    ner = make_collate(0, "ner")(
        [
            {"index": 0, "input_ids": torch.tensor([2, 3]), "labels": torch.tensor([-100, -100])},
            {"index": 1, "input_ids": torch.tensor([2, 9, 3]), "labels": torch.tensor([-100, 1, -100])},
        ]
    )
    assert ner["labels"].tolist() == [[-100, -100, -100], [-100, 1, -100]]


def test_tokenize_once_cache(tmp_path):
    exs = [Example(line=i + 1, text=r["text"], label=r["label"]) for i, r in enumerate(synth.classification(50))]
    tok = build_tiny_tokenizer((e.text for e in exs), 200)
    l2i = {lab: i for i, lab in enumerate(label_space("classification", exs))}
    ds1, how1 = encode(exs, tok, "classification", l2i, 32, str(tmp_path))
    ds2, how2 = encode(exs, tok, "classification", l2i, 32, str(tmp_path))
    assert (how1, how2) == ("tokenized", "cached")
    assert torch.equal(ds1.columns["input_ids"], ds2.columns["input_ids"]) and ds1.lengths == ds2.lengths
    _, how3 = encode(exs, tok, "classification", l2i, 16, str(tmp_path))  # another max length: new entry
    assert how3 == "tokenized"


def test_cjk_characters_and_word_pieces():
    tok = build_tiny_tokenizer(["我喜欢这部电影 the movies were great", "这个很好 greatest"] * 20, 120)
    pieces = tok.convert_ids_to_tokens(tok("电影很好 great")["input_ids"])
    assert pieces[:6] == ["[CLS]", "电", "影", "很", "好", "great"] and pieces[-1] == "[SEP]"
    pair = tok("我", "好")
    assert pair["token_type_ids"] == [0, 0, 0, 1, 1]


def test_ner_labels_first_subword_only():
    tok = build_tiny_tokenizer(["alice lives in paris"] * 5, 60)
    ex = Example(line=1, tokens=["alice", "lives", "in", "parisin"], tags=["B-PER", "O", "O", "B-LOC"])
    labels = label_space("ner", [ex])
    assert labels == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    ds, _ = encode([ex], tok, "ner", {t: i for i, t in enumerate(labels)}, 32)
    f = ds[0]
    lab = f["labels"].tolist()
    assert lab[0] == -100 and lab[-1] == -100  # [CLS] / [SEP]
    assert [x for x in lab if x != -100] == [3, 0, 0, 1]  # one label per word
    assert len(lab) > 6  # "parisin" split into several pieces, only the first labelled


def test_stage_subset_is_stratified_and_logged(tmp_path, train, capsys):
    rows = synth.classification(600, seed=4)  # sorted by label in the file
    synth.write_tsv(rows, tmp_path / "train.tsv")
    synth.write_tsv(synth.classification(41, seed=5), tmp_path / "dev.tsv")
    train(
        tmp_path / "o",
        **tiny_flags(
            train_file=str(tmp_path / "train.tsv"),
            eval_file=str(tmp_path / "dev.tsv"),
            max_train_samples=100,
            max_eval_samples=21,
            epochs=1,
        ),
    )
    log = capsys.readouterr().out
    assert "100 of 600 examples: seeded label-stratified sample (seed 42)" in log
    counts = {lab: sum(r["label"] == lab for r in rows) for lab in ("pos", "neg", "neutral")}
    for lab, n in counts.items():
        assert f"{lab} {round(100 * n / 600)}" in log or f"{lab} {int(100 * n / 600)}" in log
    assert "21 of 41 examples" in log
    # second run on the same data: tokenizer and tokenized data come from the cache
    train(
        tmp_path / "o2",
        **tiny_flags(
            train_file=str(tmp_path / "train.tsv"),
            eval_file=str(tmp_path / "dev.tsv"),
            max_train_samples=100,
            max_eval_samples=21,
            epochs=1,
        ),
    )
    log2 = capsys.readouterr().out
    assert "vocabulary" in log2 and "cached from the training data" in log2
    assert "data: train cached, eval cached" in log2


def test_long_text_head_tail_encoding():
    tok = build_tiny_tokenizer(["a b c d e f g h i j"], 50)
    ex = Example(line=1, text="a b c d e f g h i j", label="x")
    ds, _ = encode(
        [ex], tok, "classification", {"x": 0}, 128, long_text={"strategy": "head_tail", "head": 3, "tail": 2}
    )
    pieces = tok.convert_ids_to_tokens(ds[0]["input_ids"].tolist())
    assert pieces == ["[CLS]", "a", "b", "c", "i", "j", "[SEP]"]
