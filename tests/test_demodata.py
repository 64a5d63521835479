"""The demo data generator: deterministic, sized, balanced, noisy by the stated amount,
and learnable but not trivial (a pure-Python naive Bayes proves both halves)."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

import pytest

from expctl import demodata
from expctl.demodata import (
    LABELS,
    generate_classification,
    generate_ner,
    make_demo_files,
    write_classification,
    write_ner,
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_deterministic_and_sized(lang):
    a = generate_classification(500, lang=lang, seed=3)
    b = generate_classification(500, lang=lang, seed=3)
    c = generate_classification(500, lang=lang, seed=4)
    assert a == b
    assert a != c
    assert len(a) == 500
    assert generate_classification(0, lang=lang) == []
    assert all(isinstance(t, str) and t and lab in LABELS for t, lab in a)
    assert all("\t" not in t and "\n" not in t for t, _ in a)


def test_languages_differ():
    en = generate_classification(200, lang="en")
    zh = generate_classification(200, lang="zh")
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t, _ in zh) == 200
    assert not any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t, _ in en)
    with pytest.raises(ValueError):
        generate_classification(3, lang="fr")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_class_balance_and_majority_baseline(lang):
    rows = generate_classification(20000, lang=lang, seed=1)
    counts = Counter(lab for _, lab in rows)
    assert set(counts) == set(LABELS)
    shares = {lab: c / len(rows) for lab, c in counts.items()}
    assert all(0.2 < s < 0.45 for s in shares.values()), shares
    assert max(shares.values()) < 0.6  # majority baseline well below 0.6


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_noise_rate_in_range_and_texts_independent_of_noise(lang):
    noisy = generate_classification(20000, lang=lang, seed=2, noise=0.06)
    clean = generate_classification(20000, lang=lang, seed=2, noise=0.0)
    assert [t for t, _ in noisy] == [t for t, _ in clean]
    flipped = sum(a[1] != b[1] for a, b in zip(noisy, clean)) / len(noisy)
    assert 0.05 < flipped < 0.07
    much = generate_classification(5000, lang=lang, seed=2, noise=0.3)
    flipped = sum(a[1] != b[1] for a, b in zip(much, clean)) / len(much)
    assert 0.27 < flipped < 0.33


def test_has_the_hard_cases():
    en = [t for t, _ in generate_classification(5000, lang="en", seed=0)]
    zh = [t for t, _ in generate_classification(5000, lang="zh", seed=0)]
    assert any(" but " in t for t in en)
    assert any(" not " in t for t in en)
    assert any("但是" in t for t in zh)
    assert any("不" in t for t in zh)
    vocab = set(demodata._EN_POS + demodata._EN_NEG + demodata._EN_ASPECTS)
    words = {w.strip(".,!?") for t in en for w in t.split()}
    assert words - vocab  # typos and function words


def test_100k_rows():
    # (its speed, ~0.6 s here, is not asserted: no timed unit tests)
    rows = generate_classification(100_000, lang="en", seed=0)
    assert len(rows) == 100_000 and len({r[0] for r in rows}) > 1_000


def _tokens(text: str, lang: str) -> list[str]:
    if lang == "en":
        return text.split()
    return list(text) + [text[i : i + 2] for i in range(len(text) - 1)]


def _naive_bayes_accuracy(train, test, lang) -> float:
    counts: dict[str, Counter] = defaultdict(Counter)
    prior: Counter = Counter()
    for text, lab in train:
        prior[lab] += 1
        counts[lab].update(_tokens(text, lang))
    vocab = {w for c in counts.values() for w in c}
    totals = {lab: sum(c.values()) for lab, c in counts.items()}

    def score(lab, toks):
        denom = totals[lab] + len(vocab)
        return math.log(prior[lab]) + sum(math.log((counts[lab][w] + 1) / denom) for w in toks)

    right = 0
    for text, lab in test:
        toks = _tokens(text, lang)
        right += max(prior, key=lambda L: score(L, toks)) == lab
    return right / len(test)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_learnable_but_not_trivial(lang):
    rows = generate_classification(12000, lang=lang, seed=5)
    train, test = rows[:10000], rows[10000:]
    majority = Counter(lab for _, lab in test).most_common(1)[0][1] / len(test)
    acc = _naive_bayes_accuracy(train, test, lang)
    assert majority < 0.45
    assert acc > majority + 0.25, (acc, majority)  # clearly learnable
    assert acc < 0.92, acc  # clearly not trivial: noise, contrast clauses, ambiguity


def test_write_classification_tsv_and_jsonl(tmp_path):
    p = write_classification(tmp_path / "a.tsv", 50, seed=1)
    lines = p.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "text\tlabel"
    assert len(lines) == 51
    assert [tuple(line.split("\t")) for line in lines[1:]] == generate_classification(50, seed=1)
    q = write_classification(tmp_path / "b.jsonl", 20, lang="zh", fmt="jsonl")
    objs = [json.loads(line) for line in q.read_text(encoding="utf-8").splitlines()]
    assert [(o["text"], o["label"]) for o in objs] == generate_classification(20, lang="zh")
    s = write_classification(tmp_path / "s.tsv", 300, sort_by_label=True)
    labels = [line.split("\t")[1] for line in s.read_text().splitlines()[1:]]
    assert labels == sorted(labels)
    with pytest.raises(ValueError):
        write_classification(tmp_path / "c.xml", 5, fmt="xml")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ner(lang, tmp_path):
    rows = generate_ner(300, lang=lang, seed=0)
    assert rows == generate_ner(300, lang=lang, seed=0)
    assert len(rows) == 300
    kinds = Counter()
    for toks, tags in rows:
        assert len(toks) == len(tags)
        prev = "O"
        for tag in tags:
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:] and prev != "O"  # well-formed BIO
            if tag.startswith("B-"):
                kinds[tag[2:]] += 1
            prev = tag
    assert set(kinds) == {"PER", "LOC", "ORG"}
    if lang == "zh":
        assert all(len(t) == 1 for toks, _ in rows for t in toks)
    p = write_ner(tmp_path / "x.conll", 5, lang=lang)
    blocks = p.read_text(encoding="utf-8").strip("\n").split("\n\n")
    assert len(blocks) == 5
    assert [ln.split("\t") for ln in blocks[0].splitlines()] == [list(x) for x in zip(*generate_ner(5, lang)[0])]


def test_make_demo_files(tmp_path):
    files = make_demo_files(tmp_path / "d", n_train=100, n_dev=30, lang="zh", seed=7)
    train, dev = files
    assert files.train == train and train.name == "train.tsv" and dev.name == "dev.tsv"
    assert len(train.read_text(encoding="utf-8").splitlines()) == 101
    assert len(dev.read_text(encoding="utf-8").splitlines()) == 31
    ner = make_demo_files(tmp_path / "n", n_train=10, n_dev=5, task="ner")
    assert ner.train.suffix == ".conll"
