"""trainers/fit.py: the one training flow, on the tiny model over 64 examples (4 updates an epoch).

The eval cadence (every eval_steps and once at the end, never twice at the last step), the best
and last folders, metrics.json's best_* figures, the do_train=false path (evaluate as loaded,
write the final outputs, no checkpoints) and a metric_for_best that is not an eval metric.
"""

from __future__ import annotations

import json

import pytest
from trainer_helpers import as_argv, read_jsonl, tiny_flags

pytest.importorskip("torch")
pytest.importorskip("accelerate")

HF_FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}


def _flags(data, **extra):
    train_path, eval_path = data("classification", n_train=64, n_eval=13)
    return tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=2, lr=3e-3, **extra)


def _evals(out):
    return [
        (e["step"], e["eval_accuracy"], e["eval_loss"]) for e in read_jsonl(out / "metrics.jsonl") if "eval_loss" in e
    ]


def _main_rc(out, **settings) -> int:
    """The trainer's exit code, in this process (the ``train`` fixture asserts 0)."""
    from accelerate.state import AcceleratorState, GradientState

    from trainers.text import main

    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    try:
        return main(as_argv({"output_dir": str(out), **settings}))
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()


@pytest.mark.parametrize("eval_steps, steps", [(3, [3, 6, 8]), (4, [4, 8]), (0, [8])])
def test_evaluates_every_eval_steps_and_once_at_the_end(tmp_path, data, train, eval_steps, steps):
    out = tmp_path / "out"
    metrics = train(out, **_flags(data, eval_steps=eval_steps))
    evals = _evals(out)
    assert [s for s, _, _ in evals] == steps  # 8 updates: the last step is evaluated once, as the final eval
    assert metrics["train_steps"] == 8 and metrics["eval_samples"] == 13
    assert (metrics["eval_accuracy"], metrics["eval_loss"]) == evals[-1][1:]  # metrics.json: the final eval
    train_steps = [e["step"] for e in read_jsonl(out / "metrics.jsonl") if "train_loss" in e]
    assert train_steps == [5, 8]  # log_steps=5, and the last step


def test_best_is_the_first_best_eval_and_last_the_final_model(tmp_path, data, train):
    out = tmp_path / "out"
    metrics = train(out, **_flags(data, eval_steps=3))
    evals = _evals(out)
    best = max(a for _, a, _ in evals)
    best_step = next(s for s, a, _ in evals if a == best)  # a later equal value does not replace it
    assert metrics["best_eval_accuracy"] == best and metrics["best_step"] == best_step
    ck = json.loads((out / "checkpoints.json").read_text())
    assert ck["best_metric"] == {"eval_accuracy": best} and ck["best_step"] == best_step
    assert ck["best"] == "checkpoints/best" and ck["last"] == "checkpoints/last"
    assert ck["all"] == ["checkpoints/step-8"]  # save_steps=0: the state at the end only
    for name in ("best", "last"):
        assert HF_FILES <= {p.name for p in (out / "checkpoints" / name).iterdir()}, name
    assert len(read_jsonl(out / "predictions.jsonl")) == 13
    # the best folder holds the model of best_step: evaluated alone (do_train=false) it gives that eval
    ev = train(
        tmp_path / "ev",
        **_flags(data, do_train=False, init_from=str(out / "checkpoints" / "best")),
    )
    (_, acc_at_best, loss_at_best) = next(e for e in evals if e[0] == best_step)
    assert ev["eval_accuracy"] == acc_at_best and ev["eval_loss"] == pytest.approx(loss_at_best, abs=1e-6)


def test_do_train_false_evaluates_as_loaded_and_writes_the_final_outputs(tmp_path, data, train):
    trained = tmp_path / "trained"
    train(trained, **_flags(data, max_steps=1))
    out = tmp_path / "out"
    metrics = train(out, **_flags(data, do_train=False, init_from=str(trained / "checkpoints" / "last")))
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "metrics.jsonl", "predictions.jsonl"]
    (line,) = read_jsonl(out / "metrics.jsonl")  # one evaluation, at step 0, and no training
    assert line["step"] == 0 and line["eval_loss"] == metrics["eval_loss"]
    assert "train_steps" not in metrics and "best_step" not in metrics and metrics["eval_samples"] == 13
    preds = read_jsonl(out / "predictions.jsonl")
    assert [p["index"] for p in preds] == list(range(13))  # every dev example once, in dataset order
    accuracy = sum(p["pred"] == p["label"] for p in preds) / 13
    assert metrics["eval_accuracy"] == pytest.approx(accuracy)  # the predictions are the evaluated ones


def test_a_metric_for_best_that_is_not_an_eval_metric_fails_the_run(tmp_path, data, capsys):
    rc = _main_rc(tmp_path / "out", **_flags(data, eval_steps=3, metric_for_best="nonsense"))
    assert rc == 2
    err = capsys.readouterr()
    message = err.out + err.err
    assert "metric_for_best 'eval_nonsense' is not an eval metric" in message
    assert "have: eval_accuracy, eval_f1_macro" in message


def test_the_log_calls_last_the_best_model_only_when_it_is(tmp_path, data, train, capsys):
    out = tmp_path / "out"
    metrics = train(out, **_flags(data, eval_steps=3))
    best, last = (out / "checkpoints" / n / "model.safetensors" for n in ("best", "last"))
    same_weights = best.read_bytes() == last.read_bytes()
    assert metrics["best_step"] < metrics["train_steps"] and not same_weights  # the case this test is about
    said_same = "checkpoints/last is the same model as checkpoints/best" in capsys.readouterr().out
    assert said_same == same_weights
