"""trainers.modeling: the tiny tokenizer (deterministic, cached), label heads, dropout, the tiny
models, model folders and the CRF layer."""

from __future__ import annotations

import json
import os

import pytest
import torch

from trainers import modeling
from trainers.data.formats import Example
from trainers.settings import typed

TEXTS = ["the cat sat", "the dog sat", "the cat ran", "a bird flew", "北京欢迎你"]
TINY = {
    "hidden_size": 16,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_size": 32,
    "vocab_size": 60,
    "max_position": 64,
}


def test_the_tiny_tokenizer_is_deterministic_and_keeps_the_frequent_words():
    a = modeling.build_tiny_tokenizer(TEXTS, 60)
    b = modeling.build_tiny_tokenizer(list(reversed(TEXTS)), 60)
    assert a.get_vocab() == b.get_vocab()
    vocab = a.get_vocab()
    assert [vocab[t] for t in modeling.SPECIAL] == list(range(len(modeling.SPECIAL)))
    assert {"the", "cat", "sat"} <= set(vocab)
    assert a.tokenize("The cat sat") == ["the", "cat", "sat"]
    assert a.tokenize("北京") == ["北", "京"]  # CJK characters apart
    assert a.tokenize("tat") == ["t", "##a", "##t"]  # an unseen word of seen characters: pieces
    assert a.tokenize("zebra") == ["[UNK]"]  # an unseen character: unknown


def test_the_vocabulary_size_limits_whole_words_but_keeps_every_character():
    small = modeling.build_tiny_tokenizer(["aaa bbb ccc aaa"], 5 + 3 + 3)  # specials + 3 first chars + ##a ##b ##c
    vocab = set(small.get_vocab())
    assert {"a", "b", "c", "##a", "##b", "##c"} <= vocab and "aaa" not in vocab
    assert small.tokenize("aaa") == ["a", "##a", "##a"]
    assert "aaa" in modeling.build_tiny_tokenizer(["aaa bbb ccc aaa"], 12).get_vocab()  # the most frequent first


def test_pairs_are_encoded_with_segment_ids():
    tok = modeling.build_tiny_tokenizer(TEXTS, 60)
    enc = tok("the cat", "a bird")
    ids = enc["input_ids"]
    assert ids[0] == tok.cls_token_id and ids.count(tok.sep_token_id) == 2
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]


def test_example_texts_of_text_pair_and_token_examples():
    exs = [Example(1, text="a", text_pair="b"), Example(2, text="c"), Example(3, tokens=["x", "y"], tags=["O", "O"])]
    assert list(modeling.example_texts(exs)) == ["a", "b", "c", "x y"]


def test_the_cached_tokenizer_is_built_once_then_loaded(tmp_path):
    exs = [Example(i, text=t) for i, t in enumerate(TEXTS)]
    barrier_calls = []
    first, how1 = modeling.tiny_tokenizer_cached(exs, TINY, str(tmp_path), True, lambda: barrier_calls.append(1))
    second, how2 = modeling.tiny_tokenizer_cached(exs, TINY, str(tmp_path), True, lambda: barrier_calls.append(1))
    assert (how1, how2) == ("built", "cached") and len(barrier_calls) == 2
    assert first.get_vocab() == second.get_vocab()
    assert len(os.listdir(tmp_path / "tokenizers")) == 1
    other = [Example(0, text="different data")]
    modeling.tiny_tokenizer_cached(other, TINY, str(tmp_path), True, lambda: None)
    assert len(os.listdir(tmp_path / "tokenizers")) == 2
    _, how = modeling.tiny_tokenizer_cached(exs, TINY, None, True, lambda: None)
    assert how == "built"


def test_label_kwargs_by_task():
    kw = modeling.label_kwargs("multilabel", ["a", "b"])
    assert kw["num_labels"] == 2 and kw["id2label"] == {0: "a", 1: "b"} and kw["label2id"] == {"a": 0, "b": 1}
    assert kw["problem_type"] == "multi_label_classification"
    assert modeling.label_kwargs("pair", ["x"])["problem_type"] == "single_label_classification"
    assert modeling.label_kwargs("ner", ["O"])["problem_type"] is None


def test_apply_dropout_sets_every_dropout_the_config_has():
    from transformers import BertConfig

    cfg = BertConfig(classifier_dropout=None)
    modeling.apply_dropout(cfg, typed({"dropout": 0.3}).dropout)
    assert cfg.hidden_dropout_prob == 0.3 and cfg.attention_probs_dropout_prob == 0.3
    assert cfg.classifier_dropout is None  # unset stays unset (the model's own default)
    own = typed({"dropout": ""}).dropout  # "" in the settings: the model's own dropout
    assert own is None
    modeling.apply_dropout(cfg, own)
    assert cfg.hidden_dropout_prob == 0.3


def test_build_tiny_model_for_sequence_and_token_labels():
    tok = modeling.build_tiny_tokenizer(TEXTS, 60)
    seq = modeling.build_tiny_model("classification", ["a", "b", "c"], tok, TINY, 128, 0.0)
    assert type(seq).__name__ == "BertForSequenceClassification"
    assert seq.config.num_labels == 3 and seq.config.max_position_embeddings == 128
    assert seq.config.vocab_size == len(tok) and seq.config.hidden_dropout_prob == 0.0
    tagger = modeling.build_tiny_model("ner", ["O", "B-PER"], tok, TINY, 32, None)
    assert type(tagger).__name__ == "BertForTokenClassification" and tagger.config.max_position_embeddings == 64
    batch = tok(["the cat sat"], return_tensors="pt")
    assert tagger(**batch).logits.shape == (1, batch["input_ids"].shape[1], 2)


def test_folder_labels_are_the_stored_names_in_id_order(tmp_path):
    assert modeling.folder_labels(str(tmp_path)) is None
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"1": "neg", "0": "pos", "10": "z"}}))
    assert modeling.folder_labels(str(tmp_path)) == ["pos", "neg", "z"]
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "LABEL_0", "1": "LABEL_1"}}))
    assert modeling.folder_labels(str(tmp_path)) is None


def test_a_saved_model_folder_loads_with_its_head_or_a_new_one(tmp_path):
    tok = modeling.build_tiny_tokenizer(TEXTS, 60)
    model = modeling.build_tiny_model("classification", ["a", "b"], tok, TINY, 32, 0.0)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    same, tok2 = modeling.load_folder_model(str(tmp_path), "classification", ["a", "b"], None)
    assert torch.equal(same.classifier.weight, model.classifier.weight)
    assert tok2.get_vocab() == tok.get_vocab()
    wider, _ = modeling.load_folder_model(str(tmp_path), "classification", ["a", "b", "c"], 0.2)
    assert wider.classifier.weight.shape[0] == 3 and wider.config.hidden_dropout_prob == 0.2


def test_a_crf_attached_to_a_tagger_comes_back_from_its_folder(tmp_path):
    tok = modeling.build_tiny_tokenizer(TEXTS, 60)
    labels = ["O", "B-PER", "I-PER"]
    model = modeling.build_tiny_model("ner", labels, tok, TINY, 32, 0.0)
    modeling.attach_crf(model, labels)
    assert model.config.crf is True
    with torch.no_grad():
        for p in model.crf.parameters():
            p.add_(0.5)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    back, _ = modeling.load_folder_model(str(tmp_path), "ner", labels, None)
    assert back.crf is not None
    for a, b in zip(model.crf.state_dict().values(), back.crf.state_dict().values()):
        assert torch.equal(a, b)


def test_unwrap_removes_wrappers():
    inner = torch.nn.Linear(1, 1)

    class Wrapper(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert modeling.unwrap(Wrapper(Wrapper(inner))) is inner
    assert modeling.unwrap(inner) is inner


@pytest.mark.parametrize("task", ["classification", "ner"])
def test_model_class_by_task(task):
    expected = "AutoModelForTokenClassification" if task == "ner" else "AutoModelForSequenceClassification"
    assert modeling.model_class(task).__name__ == expected
