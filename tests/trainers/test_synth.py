"""trainers.synth: the generated datasets are seeded, learnable by construction, and readable
back through the trainer's own readers in every format they are written in."""

from __future__ import annotations

from collections import Counter

import pytest

from trainers import synth
from trainers.data.formats import iter_examples


def test_generators_are_seeded():
    for gen in (synth.classification, synth.pair, synth.multilabel, synth.ner, synth.seq2seq):
        assert gen(20, seed=3) == gen(20, seed=3)
        assert gen(20, seed=3) != gen(20, seed=4)


def test_classification_labels_follow_the_weights_and_their_keyword():
    rows = synth.classification(600, seed=0)
    counts = Counter(r["label"] for r in rows)
    assert counts["pos"] > counts["neg"] > counts["neutral"]
    words = {"pos": synth.POS, "neg": synth.NEG, "neutral": synth.NEU}
    assert all(any(w in r["text"].split() for w in words[r["label"]]) for r in rows)
    assert [r["label"] for r in rows] == sorted(r["label"] for r in rows)
    unsorted = synth.classification(50, seed=0, sort_by_label=False)
    assert [r["label"] for r in unsorted] != sorted(r["label"] for r in unsorted)


def test_long_rows_get_extra_filler():
    rows = synth.classification(200, seed=1, long_frac=0.5, long_len=100)
    lengths = [len(r["text"].split()) for r in rows]
    assert max(lengths) > 100 and min(lengths) < 20


def test_pair_labels_say_whether_both_texts_share_the_noun():
    for r in synth.pair(100, seed=2):
        a = {w for w in r["text"].split() if w in synth.NOUNS}
        b = {w for w in r["text_pair"].split() if w in synth.NOUNS}
        assert (r["label"] == "same") == bool(a & b)


def test_ner_tags_are_aligned_valid_bio_and_mark_the_entities():
    for r in synth.ner(100, seed=5):
        assert len(r["tokens"]) == len(r["tags"])
        for prev, tag in zip(["O", *r["tags"]], r["tags"]):
            assert tag == "O" or tag.startswith("B-") or prev[2:] == tag[2:] != ""
        per = [t for t, g in zip(r["tokens"], r["tags"]) if g == "B-PER"]
        assert len(per) == 1 and per[0] in synth.PER


@pytest.mark.parametrize("task", ["classification", "pair", "multilabel", "ner"])
@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_written_files_read_back_through_the_trainers_readers(tmp_path, task, fmt):
    rows = {
        "classification": synth.classification,
        "pair": synth.pair,
        "multilabel": synth.multilabel,
        "ner": synth.ner,
    }[task](12, seed=0)
    path = tmp_path / f"d.{fmt}"
    (synth.write_jsonl(rows, path) if fmt == "jsonl" else synth.write_tsv(rows, path, task))
    # jsonl multilabel rows keep their "labels" field (the tsv writer puts them in the label column)
    column = "labels" if task == "multilabel" and fmt == "jsonl" else "label"
    back = list(iter_examples(path, task, label_column=column))
    assert len(back) == len(rows)
    for row, ex in zip(rows, back):
        if task == "ner":
            assert (ex.tokens, ex.tags) == (row["tokens"], row["tags"])
        elif task == "multilabel":
            assert sorted(ex.labels) == row["labels"]
        else:
            assert (ex.text, ex.label) == (row["text"], row["label"])
            if task == "pair":
                assert ex.text_pair == row["text_pair"]


def test_conll_files_read_back(tmp_path):
    rows = synth.ner(5, seed=1)
    synth.write_conll(rows, tmp_path / "d.conll")
    back = list(iter_examples(tmp_path / "d.conll", "ner"))
    assert [(e.tokens, e.tags) for e in back] == [(r["tokens"], r["tags"]) for r in rows]


def test_seq2seq_reverses_or_copies():
    for r in synth.seq2seq(10, seed=0):
        assert r["target"].split() == r["text"].split()[::-1]
    for r in synth.seq2seq(10, seed=0, kind="copy", min_len=2, max_len=2):
        assert r["target"] == r["text"] and len(r["text"].split()) == 2


def test_span_squad_answer_starts_point_at_the_answer():
    doc = synth.span_squad(20, seed=4)
    paragraphs = doc["data"][0]["paragraphs"]
    assert len(paragraphs) == 20
    for p in paragraphs:
        (qa,) = p["qas"]
        (a,) = qa["answers"]
        assert p["context"][a["answer_start"] :].startswith(a["text"] + " .")
        assert a["text"] in synth.WORDS


def test_chinese_ner_is_character_level_and_dev_entities_are_mostly_unseen():
    train, dev = synth.chinese_ner(300, 100, seed=0)
    assert len(train) == 300 and len(dev) == 100
    assert all(len(t) == 1 for r in train[:20] for t in r["tokens"])

    def entities(rows):
        out = []
        for r in rows:
            cur = ""
            for ch, tag in zip(r["tokens"], r["tags"]):
                if tag.startswith("B-"):
                    if cur:
                        out.append(cur)
                    cur = ch
                elif tag.startswith("I-"):
                    cur += ch
                else:
                    if cur:
                        out.append(cur)
                    cur = ""
            if cur:
                out.append(cur)
        return out

    seen = set(entities(train))
    dev_ents = entities(dev)
    assert dev_ents and sum(e in seen for e in dev_ents) / len(dev_ents) < 0.5
