"""trainers.data.pairs: reading seq2seq (source, target) pairs and padding their batches."""

from __future__ import annotations

import pytest
import torch

from trainers.data.pairs import PairDataset, make_collate, read_pairs
from trainers.settings import typed


def _settings(**kw):
    return typed({"text_column": "text", "target_column": "target", **kw})


def test_tsv_with_a_header_finds_the_columns_by_name(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("id\ttarget\ttext\n1\tb a\ta b\n2\td c\tc d\n\n")
    assert read_pairs(str(path), _settings(), 0, 0) == [("a b", "b a"), ("c d", "d c")]


def test_headerless_tsv_and_csv_take_the_first_two_columns(tmp_path):
    tsv = tmp_path / "d.tsv"
    tsv.write_text("x y\ty x\n")
    assert read_pairs(str(tsv), _settings(), 0, 0) == [("x y", "y x")]
    csv = tmp_path / "d.csv"
    csv.write_text('"a, quoted",b\n')
    assert read_pairs(str(csv), _settings(), 0, 0) == [("a, quoted", "b")]


def test_jsonl_uses_the_configured_fields(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"src": "a", "tgt": 1}\n\n{"src": "b", "tgt": "2"}\n')
    assert read_pairs(str(path), _settings(text_column="src", target_column="tgt"), 0, 0) == [("a", "1"), ("b", "2")]


def test_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "target": "b"}\n{"text": "only"}\n')
    with pytest.raises(ValueError, match=r"d.jsonl:2: needs the fields"):
        read_pairs(str(path), _settings(), 0, 0)
    short = tmp_path / "d.tsv"
    short.write_text("a\tb\nlonely\n")
    with pytest.raises(ValueError, match=r"d.tsv:2: expected a source and a target"):
        read_pairs(str(short), _settings(), 0, 0)
    empty = tmp_path / "e.tsv"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="no examples"):
        read_pairs(str(empty), _settings(), 0, 0)


def test_a_limit_takes_a_seeded_subset(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("".join(f"s{i}\tt{i}\n" for i in range(50)))
    a = read_pairs(str(path), _settings(), 10, 1)
    assert len(a) == 10 and a == read_pairs(str(path), _settings(), 10, 1)
    assert set(a) <= {(f"s{i}", f"t{i}") for i in range(50)}
    assert a != read_pairs(str(path), _settings(), 10, 2)


def test_collate_pads_sources_with_pad_id_and_targets_with_minus_100():
    ds = PairDataset([[5, 6, 7], [8]], [[1], [2, 3]])
    assert len(ds) == 2 and ds[1] == {"index": 1, "input_ids": [8], "labels": [2, 3]}
    batch = make_collate(0, with_index=True)([ds[0], ds[1]])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[1, -100], [2, 3]]
    assert batch["index"].tolist() == [0, 1]
    assert "index" not in make_collate(0)([ds[0]])
    assert batch["input_ids"].dtype == torch.long
