"""The preset networks (model = bow | cnn | bilstm, crf = true): each overfits a tiny set at
the converge stage, saves an HF folder that evaluates again with the same figures, and is
refused for a task it does not serve."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from trainer_helpers import as_argv, read_jsonl, tiny_flags, train_cli

from trainers.settings import STAGES

NET = {"net.embedding_dim": 32, "net.hidden_size": 32, "net.num_filters": 32}


def _converge(data_paths, **extra):
    train_path, eval_path = data_paths
    flags = tiny_flags(**STAGES["converge"])
    flags.update(train_file=str(train_path), eval_file=str(eval_path), eval_steps=0, **NET)
    flags.update(extra)
    return flags


def _losses(out):
    return [ln["train_loss"] for ln in read_jsonl(out / "metrics.jsonl") if "train_loss" in ln]


@pytest.mark.parametrize(
    "model,task",
    [
        ("bow", "classification"),
        ("cnn", "classification"),
        ("cnn", "pair"),
        ("bilstm", "classification"),
        ("bilstm", "ner"),
    ],
)
def test_preset_network_overfits_at_converge(tmp_path, data, train, model, task):
    paths = data(task, n_train=120, n_eval=40, fmt="conll" if task == "ner" else "tsv")
    out = tmp_path / "out"
    metrics = train(out, **_converge(paths, task=task, model=model))  # the converge stage as is; lr auto
    losses = _losses(out)
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
    key = "eval_entity_f1" if task == "ner" else "eval_accuracy"
    assert metrics[key] > 0.8, metrics
    # the best / last folders are HF folders: evaluating one gives the run's own figures again
    again = train(
        tmp_path / "again", **_converge(paths, task=task, do_train=False, init_from=str(out / "checkpoints" / "last"))
    )
    assert again[key] == metrics[key]
    if model == "cnn" and task == "classification":  # a fresh process (export, a teacher) loads the folder too
        code = "import sys; from trainers.export import load_fp32; print(type(load_fp32(sys.argv[1])).__name__)"
        proc = subprocess.run(
            [sys.executable, "-c", code, str(out / "checkpoints" / "best")], capture_output=True, text=True, timeout=120
        )
        assert proc.stdout.strip() == "NetForSequenceClassification", proc.stderr[-2000:]


def test_bilstm_crf_overfits_and_decodes_valid_bio(tmp_path, data, train):
    paths = data("ner", n_train=120, n_eval=40, fmt="conll")
    out = tmp_path / "out"
    metrics = train(out, **_converge(paths, task="ner", model="bilstm", crf=True))
    losses = _losses(out)
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
    assert metrics["eval_entity_f1"] > 0.8
    for p in read_jsonl(out / "predictions.jsonl"):  # Viterbi under BIO constraints: no stray I-
        prev = "O"
        for tag in p["pred_tags"]:
            assert not tag.startswith("I-") or prev[2:] == tag[2:], p["pred_tags"]
            prev = tag
    again = train(
        tmp_path / "again", **_converge(paths, task="ner", do_train=False, init_from=str(out / "checkpoints" / "last"))
    )
    assert again["eval_entity_f1"] == metrics["eval_entity_f1"]


def test_tiny_bert_takes_a_crf_too(tmp_path, data, train):
    paths = data("ner", n_train=60, n_eval=20, fmt="conll")
    out = tmp_path / "out"
    metrics = train(out, **_converge(paths, task="ner", crf=True, epochs=2, lr=3e-3))
    config = json.loads((out / "checkpoints" / "last" / "config.json").read_text())
    assert config["crf"] is True
    again = train(
        tmp_path / "again", **_converge(paths, task="ner", do_train=False, init_from=str(out / "checkpoints" / "last"))
    )
    assert again["eval_entity_f1"] == metrics["eval_entity_f1"] and again["eval_loss"] == pytest.approx(
        metrics["eval_loss"], abs=1e-5
    )


@pytest.mark.parametrize(
    "flags,message",
    [
        ({"model": "bow", "task": "ner"}, "model=bow is for task"),
        ({"crf": True}, "crf=true is a sequence-labeling"),
        ({"class_weights": "inverse"}, "class_weights 'inverse'"),
    ],
)
def test_impossible_model_settings_are_one_line_errors(tmp_path, flags, message):
    proc = train_cli(*as_argv({"output_dir": str(tmp_path / "o"), **flags}))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
