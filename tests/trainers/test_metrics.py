"""Metrics: classification macro/micro, multi-label, entity-level strict F1 (seqeval-style)."""

from __future__ import annotations

import pytest

from trainers.metrics import (
    bio_entities,
    classification_metrics,
    multilabel_metrics,
    ner_metrics,
)


def test_classification_macro_micro():
    m = classification_metrics(["a", "a", "b", "c"], ["a", "b", "b", "b"], ["a", "b", "c"])
    assert m["accuracy"] == 0.5 and m["f1_micro"] == 0.5
    # a: p=1 r=.5 f=2/3; b: p=1/3 r=1 f=.5; c: p=0 r=0 f=0
    assert m["f1_macro"] == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert m["precision_macro"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert m["recall_macro"] == pytest.approx((0.5 + 1 + 0) / 3)


def test_multilabel():
    m = multilabel_metrics([["a", "b"], ["c"]], [["a"], ["c", "b"]], ["a", "b", "c"])
    # tp: a, c; fp: b; fn: b  -> micro p=2/3 r=2/3
    assert m["f1_micro"] == pytest.approx(2 / 3) and m["accuracy"] == 0.0
    assert m["f1_macro"] == pytest.approx((1 + 0 + 1) / 3)


def test_strict_entities():
    assert bio_entities(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 2), ("LOC", 3, 4)}
    # strict: a lone I- starts nothing; I- of another type ends the entity
    assert bio_entities(["I-PER", "O", "B-LOC", "I-PER"]) == {("LOC", 2, 3)}
    assert bio_entities(["B-X", "B-X", "I-X"]) == {("X", 0, 1), ("X", 1, 3)}


def test_ner_strict_f1_counts_boundaries():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["I-ORG", "O"]]  # PER boundary wrong, ORG starts with I-
    m = ner_metrics(gold, pred)
    # gold 3 entities, pred 2 (PER 0-1, LOC); correct 1 (LOC)
    assert m["entity_precision"] == pytest.approx(1 / 2) and m["entity_recall"] == pytest.approx(1 / 3)
    assert m["entity_f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert m["accuracy"] == pytest.approx(4 / 6) and m["entity_f1_LOC"] == 1.0 and m["entity_f1_ORG"] == 0.0
