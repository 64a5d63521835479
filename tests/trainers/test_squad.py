"""trainers.data.squad: SQuAD / jsonl questions, context windows and the best answer span."""

from __future__ import annotations

import json

import pytest
import torch

from trainers import synth
from trainers.data.squad import QA, WindowDataset, best_spans, make_collate, read_squad, windows
from trainers.modeling import build_tiny_tokenizer


def test_squad_json_with_answer_starts_checked_against_the_context(tmp_path):
    doc = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": "the cat sat on the mat",
                        "qas": [
                            {"id": "a", "question": "who sat", "answers": [{"text": "cat", "answer_start": 4}]},
                            {"id": "b", "question": "where", "answers": [{"text": "mat", "answer_start": 0}]},
                        ],
                    }
                ]
            }
        ]
    }
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc))
    a, b = read_squad(str(path))
    assert (a.id, a.answers, a.starts) == ("a", ["cat"], [4])
    assert b.starts == [19]  # the wrong answer_start is looked up in the context


def test_jsonl_with_v1_style_answers_and_missing_starts(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        json.dumps({"id": 7, "question": "q", "context": "x y z", "answers": {"text": ["y", "z"], "answer_start": [2]}})
        + "\n\n"
        + json.dumps({"question": "q2", "context": "abc", "answers": []})
        + "\n"
    )
    first, second = read_squad(str(path))
    assert first.id == "7" and first.answers == ["y", "z"] and first.starts == [2, 4]
    assert second.id == "3" and second.answers == []


def test_unreadable_and_empty_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "context": "c"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not SQuAD JSON"):
        read_squad(str(bad))
    empty = tmp_path / "empty.json"
    empty.write_text('{"data": []}')
    with pytest.raises(ValueError, match="no questions"):
        read_squad(str(empty))


def _items():
    doc = synth.span_squad(6, seed=3, context_words=(30, 40))
    return [
        QA(
            qa["id"],
            qa["question"],
            p["context"],
            [a["text"] for a in qa["answers"]],
            [qa["answers"][0]["answer_start"]],
        )
        for p in doc["data"][0]["paragraphs"]
        for qa in p["qas"]
    ]


def test_windows_overlap_and_mark_the_answer_tokens_where_the_window_holds_it():
    items = _items()
    tok = build_tiny_tokenizer([q.question + " " + q.context for q in items], 300)
    feats = windows(items, tok, max_len=24, stride=8, train=True)
    assert len(feats["input_ids"]) > len(items)  # long contexts need several windows
    assert sorted(set(feats["example"])) == list(range(len(items)))
    found = set()
    for w, ex in enumerate(feats["example"]):
        sp, ep = feats["start_positions"][w], feats["end_positions"][w]
        if sp:
            o = feats["offsets"][w]
            assert items[ex].context[o[sp][0] : o[ep][1]] == items[ex].answers[0]
            found.add(ex)
    assert found == set(range(len(items)))


def test_best_spans_pick_the_highest_scoring_valid_span_over_all_windows():
    items = _items()
    tok = build_tiny_tokenizer([q.question + " " + q.context for q in items], 300)
    feats = windows(items, tok, max_len=24, stride=8, train=False)
    width = max(len(x) for x in feats["input_ids"])
    starts = torch.zeros(len(feats["input_ids"]), width)
    ends = torch.zeros_like(starts)
    for w in range(len(feats["input_ids"])):
        if feats["start_positions"][w]:  # logits that point at the gold span of this window
            starts[w, feats["start_positions"][w]] = 10.0
            ends[w, feats["end_positions"][w]] = 10.0
    best = best_spans(items, feats, starts, ends, max_answer=5)
    assert [text for text, _ in best] == [q.answers[0] for q in items]
    assert all(score == 20.0 for _, score in best)


def test_collate_pads_windows_and_keeps_positions():
    ds = WindowDataset(
        {
            "input_ids": [[2, 5, 3], [2, 3]],
            "token_type_ids": [[0, 1, 1], [0, 0]],
            "start_positions": [1, 0],
            "end_positions": [1, 0],
        }
    )
    b = make_collate(0, with_index=True)([ds[0], ds[1]])
    assert b["input_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert b["token_type_ids"].tolist() == [[0, 1, 1], [0, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert b["start_positions"].tolist() == [1, 0] and b["index"].tolist() == [0, 1]
