"""trainers/tricks/longtext.py: head+tail truncation, sliding windows and their pooled logits."""

from __future__ import annotations

import pytest


@pytest.fixture
def tokenizer(tmp_path):
    transformers = pytest.importorskip("transformers")
    words = [f"w{i}" for i in range(50)]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    return transformers.BertTokenizerFast(vocab_file=str(vocab))


def test_head_tail_keeps_exactly_the_configured_token_counts(tokenizer):
    from trainers.tricks.longtext import head_tail_encode, head_tail_ids

    ids = list(range(100, 130))
    out = head_tail_ids(ids, 5, 7, cls_id=1, sep_id=2)
    assert out == [1, *ids[:5], *ids[-7:], 2] and len(out) == 5 + 7 + 2
    assert head_tail_ids(ids[:10], 5, 7, 1, 2) == [1, *ids[:10], 2]  # short: whole
    assert head_tail_ids(ids, 12, 0, 1, 2) == [1, *ids[:12], 2]  # head only

    long_text = " ".join(f"w{i % 50}" for i in range(40))
    enc = head_tail_encode(tokenizer, [long_text, "w1 w2"], head=4, tail=6)
    row = enc["input_ids"][0]
    content = tokenizer(long_text, add_special_tokens=False)["input_ids"]
    assert row == [tokenizer.cls_token_id, *content[:4], *content[-6:], tokenizer.sep_token_id]
    assert sum(enc["attention_mask"][0]) == 12 and sum(enc["attention_mask"][1]) == 4


def test_sliding_windows_cover_the_text_and_pool_logits(tokenizer):
    torch = pytest.importorskip("torch")
    from trainers.tricks.longtext import pool_window_logits, sliding_windows

    text = " ".join(f"w{i}" for i in range(30))
    enc = sliding_windows(tokenizer, [text, "w1 w2 w3"], max_length=12, stride=4)
    mapping = enc["overflow_to_sample_mapping"]
    assert mapping.count(0) > 1 and mapping.count(1) == 1
    first, second = enc["input_ids"][0], enc["input_ids"][1]
    assert len(first) == 12 and first[-5:-1] == second[1:5]  # consecutive windows share `stride` tokens
    logits = torch.tensor([[1.0, 0.0], [3.0, -2.0], [0.0, 5.0], [7.0, 7.0]])
    assert torch.allclose(pool_window_logits(logits, [0, 0, 0, 1], "mean"), torch.tensor([[4 / 3, 1.0], [7.0, 7.0]]))
    assert torch.equal(pool_window_logits(logits, [0, 0, 0, 1], "max"), torch.tensor([[3.0, 5.0], [7.0, 7.0]]))


def test_long_text_settings_are_validated():
    from trainers.tricks import TrickConfigError, long_text_settings

    assert long_text_settings({}) is None
    got = long_text_settings({"tricks": {"long_text": {"head": 64, "tail": "190"}}})
    assert got["head"] == 64 and got["tail"] == 190 and got["strategy"] == "head_tail"
    with pytest.raises(TrickConfigError, match="pool"):
        long_text_settings({"tricks": {"long_text": {"strategy": "windows", "pool": "median"}}})
