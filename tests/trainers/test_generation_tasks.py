"""BLEU / ROUGE-L / EM / F1; the settings of the generation tasks; batch_size=auto; the span reader.

That task=seq2seq and task=span overfit tiny data: test_seq2seq.py and test_span.py."""

from __future__ import annotations

import json

import pytest
from trainer_helpers import read_jsonl, tiny_flags

from trainers import synth
from trainers.metrics import bleu, generation_metrics, rouge_l, span_metrics, words
from trainers.settings import SettingsError, resolve


def test_generation_and_span_metrics():
    ref = words("the cat sat on the mat")
    assert bleu([ref], [ref]) == 1.0
    assert bleu([words("the cat")], [ref]) == 0.0  # no 3/4-gram at all: unsmoothed corpus BLEU is 0
    hyp = words("the cat sat on a mat")
    # 1-4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths: no brevity penalty
    want = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert abs(bleu([hyp], [ref]) - want) < 1e-12
    assert abs(rouge_l([["a", "b", "c"]], [["a", "c"]]) - 0.8) < 1e-12
    assert generation_metrics(["Hello , world"], ["hello, world"])["exact_match"] == 1.0
    m = span_metrics(["The Eiffel tower", "paris", "爬行垫"], [["Eiffel Tower"], ["London"], ["爬行"]])
    assert abs(m["exact_match"] - 1 / 3) < 1e-12 and abs(m["f1"] - (1 + 0 + 0.8) / 3) < 1e-12


def test_settings_for_new_tasks():
    s = resolve({"task": "seq2seq", "batch_size": "auto", "target_batch_size": 64})
    assert s["batch_size"] == "auto" and s["num_beams"] == 4
    with pytest.raises(SettingsError):
        resolve({"num_folds": 1})
    with pytest.raises(SettingsError):
        resolve({"num_folds": 3, "fold": 3})


def test_batch_size_auto_records_value_and_target_batch(tmp_path, data, train, capsys):
    tr, dev = data("classification", 64, 16)
    m = train(
        tmp_path / "a",
        **tiny_flags(
            train_file=str(tr), eval_file=str(dev), epochs=1, batch_size="auto", auto_batch_max=16, target_batch_size=32
        ),
    )
    assert m["batch_size_found"] == 16  # the cap: a tiny model fits easily
    assert m["grad_accum_steps_used"] == 2 and m["effective_batch_size"] == 32
    out = capsys.readouterr().out
    assert "batch_size=auto: found 16" in out and "= 32" in out
    events = read_jsonl(tmp_path / "a" / "metrics.jsonl")
    assert any(e.get("batch_size_found") == 16 for e in events)


def test_batch_size_auto_memory_budget_and_fallback(tmp_path, data, train, capsys, monkeypatch):
    from trainers import autobatch

    tr, dev = data("classification", 64, 16)
    m = train(
        tmp_path / "b",
        **tiny_flags(train_file=str(tr), eval_file=str(dev), max_steps=1, batch_size="auto", auto_batch_memory_mb=1),
    )  # 1 MB: the estimate allows only a few
    assert 1 <= m["batch_size_found"] < 16 and m["batch_size_found"] & (m["batch_size_found"] - 1) == 0

    def broken(*a, **k):
        raise RuntimeError("no estimate")

    monkeypatch.setattr(autobatch, "cpu_estimate", broken)
    m = train(tmp_path / "c", **tiny_flags(train_file=str(tr), eval_file=str(dev), max_steps=1, batch_size="auto"))
    assert m["batch_size_found"] == autobatch.FALLBACK
    assert "falling back to 32" in capsys.readouterr().out


def test_span_reader_and_windows_point_at_the_answer(tmp_path):
    from trainers.data.squad import read_squad, windows
    from trainers.modeling import build_tiny_tokenizer

    doc = synth.span_squad(6, seed=3, context_words=(40, 60))
    (tmp_path / "a.json").write_text(json.dumps(doc))
    lines = []
    for para in doc["data"][0]["paragraphs"]:
        qa = para["qas"][0]
        ans = qa["answers"][0]
        # jsonl, SQuAD-v1 style answers, a wrong answer_start (looked up in the context instead)
        lines.append(
            json.dumps(
                {
                    "id": qa["id"],
                    "question": qa["question"],
                    "context": para["context"],
                    "answers": {"text": [ans["text"]], "answer_start": [ans["answer_start"] + 1]},
                }
            )
        )
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n")
    a, b = read_squad(str(tmp_path / "a.json")), read_squad(str(tmp_path / "b.jsonl"))
    assert [(q.context[s : s + len(t)], t) for q in a for t, s in zip(q.answers, q.starts)] == [
        (t, t) for q in a for t in q.answers
    ]
    assert [q.starts for q in a] == [q.starts for q in b]
    tok = build_tiny_tokenizer([t for q in a for t in (q.question, q.context)], 400)
    feats = windows(a, tok, 32, 8, True)
    assert len(feats["input_ids"]) > len(a)  # long contexts: several windows each
    found = set()
    for w, ex in enumerate(feats["example"]):
        s, e = feats["start_positions"][w], feats["end_positions"][w]
        if s:
            offs = feats["offsets"][w]
            assert a[ex].context[offs[s][0] : offs[e][1]] == a[ex].answers[0]
            found.add(ex)
    assert found == set(range(len(a)))  # every answer lies whole in at least one window
