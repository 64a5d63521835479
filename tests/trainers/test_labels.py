"""trainers/tasks/labels.py: all four label tasks (classification, pair, multilabel, ner) train and
evaluate end to end, writing the program-interface files; the adapter on its own (class weights,
the label set, evaluating without training)."""

from __future__ import annotations

import json

import pytest
from trainer_helpers import fresh_accelerator, read_jsonl, tiny_flags


@pytest.mark.parametrize(
    "task,fmt,key",
    [
        ("classification", "tsv", "eval_accuracy"),
        ("pair", "jsonl", "eval_accuracy"),
        ("multilabel", "tsv", "eval_f1_micro"),
        ("ner", "conll", "eval_entity_f1"),
    ],
)
def test_task_end_to_end(tmp_path, data, train, task, fmt, key):
    train_path, eval_path = data(task, n_train=160, n_eval=41, fmt=fmt)
    out = tmp_path / "out"
    flags = tiny_flags(
        task=task, train_file=str(train_path), eval_file=str(eval_path), epochs=2, eval_steps=10, save_steps=15, lr=3e-3
    )
    if task == "multilabel":
        flags["label_column"] = "label"
    metrics = train(out, **flags)
    for k in (key, "eval_loss", "eval_f1_macro", "eval_accuracy", "train_loss"):
        assert k in metrics, k
    if task == "ner":
        for k in ("eval_entity_precision", "eval_entity_recall", "eval_entity_f1_PER"):
            assert k in metrics
    else:
        for k in (
            "eval_precision_macro",
            "eval_recall_macro",
            "eval_precision_micro",
            "eval_recall_micro",
            "eval_f1_micro",
        ):
            assert k in metrics
    # metrics.jsonl: train lines every log_steps, eval lines at eval steps and the end
    lines = read_jsonl(out / "metrics.jsonl")
    train_lines = [ln for ln in lines if "train_loss" in ln]
    assert [ln["step"] for ln in train_lines][:2] == [5, 10]
    assert all({"lr", "train_samples_per_s", "epoch"} <= set(ln) for ln in train_lines)
    eval_steps = [ln["step"] for ln in lines if key in ln]
    assert eval_steps[0] == 10 and eval_steps[-1] == metrics["train_steps"]
    assert all(isinstance(v, (int, float)) for ln in lines for v in ln.values())
    # predictions.jsonl in the contract's shape, one per dev example
    preds = read_jsonl(out / "predictions.jsonl")
    assert len(preds) == 41 and [p["index"] for p in preds] == list(range(41))
    first = preds[0]
    if task in ("classification", "pair"):
        assert {"text", "text_pair", "label", "pred", "confidence", "probs"} <= set(first)
        assert abs(sum(first["probs"].values()) - 1) < 1e-4 and first["confidence"] == max(first["probs"].values())
        assert (first["text_pair"] is None) == (task == "classification")
    elif task == "multilabel":
        assert {"text", "labels", "pred_labels", "probs"} <= set(first)
    else:
        assert {"tokens", "tags", "pred_tags"} <= set(first) and len(first["pred_tags"]) == len(first["tokens"])
    # checkpoints.json + HF folders loadable by the Auto classes
    ck = json.loads((out / "checkpoints.json").read_text())
    assert ck["best"] == "checkpoints/best" and ck["last"] == "checkpoints/last"
    assert ck["all"] and all((out / p / "COMPLETE").exists() for p in ck["all"])
    assert key in ck["best_metric"]
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    auto = AutoModelForTokenClassification if task == "ner" else AutoModelForSequenceClassification
    model = auto.from_pretrained(out / "checkpoints" / "best")
    tok = AutoTokenizer.from_pretrained(out / "checkpoints" / "last")
    assert model.config.id2label and len(tok) > 10
    if task == "multilabel":
        assert model.config.problem_type == "multi_label_classification"


def test_tricks_and_accumulation_through_the_loop(tmp_path, data, train, capsys):
    """The loop calls the tricks seam: R-Drop + FGM terms are logged; accumulation counts updates."""
    train_path, eval_path = data("classification", n_train=96, n_eval=21)
    out = tmp_path / "out"
    metrics = train(
        out,
        **tiny_flags(
            train_file=str(train_path),
            eval_file=str(eval_path),
            epochs=1,
            grad_accum_steps=2,
            log_steps=1,
            keep_last=1,
            save_steps=1,
            **{"tricks.rdrop.alpha": 1.0, "tricks.fgm.epsilon": 1.0},
        ),
    )
    assert metrics["train_steps"] == 3  # 6 micro-batches of 16, 2 per update
    lines = [ln for ln in read_jsonl(out / "metrics.jsonl") if "train_loss" in ln]
    assert [ln["step"] for ln in lines] == [1, 2, 3]
    assert all("train_kl" in ln for ln in lines)
    # FGM's strength against the tiny model's small embeddings: logged every window, warned once
    assert all(ln["train_adv_rel"] > 0.1 for ln in lines)
    warnings = [ln for ln in capsys.readouterr().out.splitlines() if "tricks.fgm.epsilon=1 perturbs" in ln]
    assert len(warnings) == 1 and "try tricks.fgm.epsilon=" in warnings[0]
    ck = json.loads((out / "checkpoints.json").read_text())
    assert ck["all"] == ["checkpoints/step-3"]  # keep_last=1 pruned step-1 and step-2
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best", "last", "step-3"]


# --------------------------------------------------------------------------- the adapter on its own


def _label_task(tmp_path, data, task="classification", fmt="tsv", **settings):
    from accelerate.state import AcceleratorState

    from trainers.runtime import Outputs
    from trainers.settings import typed
    from trainers.tasks.labels import LabelTask

    train_path, eval_path = data(task, n_train=40, n_eval=11, fmt=fmt)
    flags = {**tiny_flags(task=task, train_file=str(train_path), eval_file=str(eval_path)), **settings}
    out = Outputs(str(tmp_path / "run"), str(tmp_path / "run" / "metrics.jsonl"), True)
    try:
        return LabelTask(typed(flags), fresh_accelerator(), out)
    finally:
        AcceleratorState._reset_state(True)


def test_balanced_class_weights_are_n_over_k_times_the_class_count(tmp_path, data):
    from collections import Counter

    t = _label_task(tmp_path, data, class_weights="balanced")
    counts = Counter(ex.label for ex in t.train_ex)
    assert len(t.train_ex) == 40 and len(t.labels) == 3 and t.n_eval == 11
    assert t.class_weights() == pytest.approx([40 / (3 * counts[lab]) for lab in t.labels])
    assert _label_task(tmp_path, data).class_weights() is None  # class_weights unset: the plain loss


def test_a_label_outside_the_fixed_label_set_names_its_line(tmp_path, data):
    from trainers.runtime import TrainerError

    with pytest.raises(TrainerError, match=r"label 'neutral' \(line \d+\) is not in the label set \['neg', 'pos'\]"):
        _label_task(tmp_path, data, labels="neg,pos")


def test_evaluating_without_training_needs_a_model_folder(tmp_path, data):
    from trainers.runtime import TrainerError

    with pytest.raises(TrainerError, match="builds its vocabulary from the training data: set do_train or init_from"):
        _label_task(tmp_path, data, do_train=False)
