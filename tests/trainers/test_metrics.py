"""Metrics: classification macro/micro, multi-label, entity-level F1 with conlleval's chunking."""

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


# Reference cases for the one BIO chunker, with conlleval's semantics (seqeval's default mode
# agrees; seqeval mode="strict" + IOB2 would drop a stray I- instead): an I-X after O, after
# another type or at the start STARTS an entity of type X; B-X always starts one.
CHUNKS = [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["I-LOC", "I-LOC", "O"], [("LOC", 0, 2)]),  # a leading I- starts the entity
    (["I-PER", "O", "B-LOC", "I-PER"], [("PER", 0, 1), ("LOC", 2, 3), ("PER", 3, 4)]),  # type change: new entity
    (["B-X", "B-X", "I-X"], [("X", 0, 1), ("X", 1, 3)]),  # B- always starts one
    (["O", "I-PER", "I-PER", "O", "I-LOC"], [("PER", 1, 3), ("LOC", 4, 5)]),
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),
    (["S-LOC", "B-PER", "E-PER", "O"], [("LOC", 0, 1), ("PER", 1, 3)]),  # BIOES
    ([], []),
]


@pytest.mark.parametrize("tags,entities", CHUNKS)
def test_bio_chunks_follow_conlleval(tags, entities):
    assert bio_entities(tags) == entities


def test_stray_inside_tag_scores_like_conlleval():
    # the case: gold [B-LOC, I-LOC, O] vs pred [I-LOC, I-LOC, O]: conlleval reads the
    # prediction as LOC 0-2, the gold entity exactly: F1 1.0 (strict IOB2 would say 0.0)
    assert ner_metrics([["B-LOC", "I-LOC", "O"]], [["I-LOC", "I-LOC", "O"]])["entity_f1"] == 1.0
    # seqeval's README example (default mode): precision = recall = f1 = 0.5
    gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    m = ner_metrics(gold, pred)
    assert m["entity_precision"] == m["entity_recall"] == m["entity_f1"] == 0.5


def test_trainer_and_cases_report_the_same_entity_f1():
    from expctl.analysis.cases import analyse

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["B-LOC", "I-LOC", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["I-ORG", "O"], ["I-LOC", "I-LOC", "O"]]
    rows = [
        {"index": i, "tokens": [f"w{k}" for k in range(len(g))], "tags": g, "pred_tags": p}
        for i, (g, p) in enumerate(zip(gold, pred))
    ]
    assert analyse(rows).summary["entity_f1"] == pytest.approx(ner_metrics(gold, pred)["entity_f1"])


def test_ner_f1_counts_boundaries():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["I-ORG", "O"]]  # PER boundary wrong, ORG starts with I-
    m = ner_metrics(gold, pred)
    # gold 3 entities; pred 3 (PER 0-1, LOC, ORG: the leading I- starts it); correct 2 (LOC, ORG)
    assert m["entity_precision"] == pytest.approx(2 / 3) and m["entity_recall"] == pytest.approx(2 / 3)
    assert m["entity_f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(4 / 6) and m["entity_f1_LOC"] == 1.0 and m["entity_f1_ORG"] == 1.0
    assert m["entity_f1_PER"] == 0.0
