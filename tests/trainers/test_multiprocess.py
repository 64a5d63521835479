"""`accelerate launch` with 2 CPU processes (gloo): same eval metrics on the same checkpoint as
one process, each eval sample counted once (odd eval size, uneven last batch), for every task family:
classification, ner (ragged widths), seq2seq (generation per shard) and span (windows)."""

from __future__ import annotations

import json
import shutil

import pytest
from trainer_helpers import as_argv, read_jsonl, tiny_flags, train_cli

ACCELERATE = shutil.which("accelerate")


def _launcher() -> list[str]:
    """accelerate launch with 2 processes on a free port (other test runs may share the machine)."""
    assert ACCELERATE, "the accelerate CLI comes with the package's dependencies (pip install -e '.[test]')"
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # on a CPU-only machine --multi_gpu starts torchrun workers that use gloo on the CPU
    return [
        ACCELERATE,
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(port),
    ]


def test_two_processes_match_one(tmp_path, data, train):
    train_path, eval_path = data("classification", n_train=120, n_eval=51)
    out2 = tmp_path / "two"
    flags = tiny_flags(
        train_file=str(train_path), eval_file=str(eval_path), epochs=2, eval_batch_size=8, output_dir=str(out2), lr=3e-3
    )
    proc = train_cli(*as_argv(flags), launcher=_launcher(), timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "processes 2" in proc.stdout
    assert proc.stdout.count("[trainer] final eval") == 1  # only the main process prints / writes
    assert "WARNING" not in proc.stdout
    two = json.loads((out2 / "metrics.json").read_text())
    preds2 = read_jsonl(out2 / "predictions.jsonl")
    assert two["eval_samples"] == 51 and sorted(p["index"] for p in preds2) == list(range(51))

    # one process, evaluation only, on the checkpoint the two-process run evaluated last
    out1 = tmp_path / "one"
    one = train(
        out1,
        **tiny_flags(
            train_file=str(train_path),
            eval_file=str(eval_path),
            do_train=False,
            init_from=str(out2 / "checkpoints" / "last"),
            eval_batch_size=8,
        ),
    )
    preds1 = read_jsonl(out1 / "predictions.jsonl")
    assert one["eval_samples"] == 51 and len(preds1) == 51
    for key in ("eval_accuracy", "eval_f1_macro", "eval_f1_micro", "eval_precision_macro", "eval_recall_macro"):
        assert one[key] == two[key], key
    assert one["eval_loss"] == pytest.approx(two["eval_loss"], abs=1e-5)
    assert [p["pred"] for p in preds1] == [p["pred"] for p in preds2]
    for a, b in zip(preds1, preds2):
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-4)


def test_two_process_eval_of_token_labels_matches_one(tmp_path, data, train):
    """NER: sequences of different widths on each process are padded before gathering."""
    train_path, eval_path = data("ner", n_train=96, n_eval=37, fmt="conll")
    one_dir = tmp_path / "one"
    one = train(
        one_dir,
        **tiny_flags(
            task="ner", train_file=str(train_path), eval_file=str(eval_path), epochs=2, lr=3e-3, eval_batch_size=4
        ),
    )
    two_dir = tmp_path / "two"
    flags = tiny_flags(
        task="ner",
        train_file=str(train_path),
        eval_file=str(eval_path),
        do_train=False,
        init_from=str(one_dir / "checkpoints" / "last"),
        eval_batch_size=4,
        output_dir=str(two_dir),
    )
    proc = train_cli(*as_argv(flags), launcher=_launcher(), timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "processes 2" in proc.stdout and "WARNING" not in proc.stdout
    two = json.loads((two_dir / "metrics.json").read_text())
    for key in ("eval_entity_f1", "eval_entity_precision", "eval_entity_recall", "eval_accuracy", "eval_samples"):
        assert two[key] == one[key], key
    assert two["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)
    p1, p2 = read_jsonl(one_dir / "predictions.jsonl"), read_jsonl(two_dir / "predictions.jsonl")
    assert [p["pred_tags"] for p in p1] == [p["pred_tags"] for p in p2]


def _two_process_eval(tmp_path, flags: dict):
    out = tmp_path / "two"
    proc = train_cli(*as_argv({**flags, "output_dir": str(out)}), launcher=_launcher(), timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "processes 2" in proc.stdout and "WARNING" not in proc.stdout
    return json.loads((out / "metrics.json").read_text()), read_jsonl(out / "predictions.jsonl")


def test_two_process_eval_of_seq2seq_matches_one(tmp_path, train):
    """seq2seq: each process generates for its shard; gathered, the outputs are the one-process ones."""
    from trainers import synth

    rows = synth.seq2seq(23, seed=0, kind="reverse")  # odd size: the last shard is uneven
    path = tmp_path / "pairs.tsv"
    path.write_text("text\ttarget\n" + "".join(f"{r['text']}\t{r['target']}\n" for r in rows))
    base = tiny_flags(
        task="seq2seq",
        train_file=str(path),
        eval_file=str(path),
        max_seq_length=32,
        max_target_length=12,
        num_beams=2,
        eval_batch_size=4,
    )
    train(tmp_path / "trained", **base, epochs=8, lr=3e-3)
    ev = {**base, "do_train": False, "init_from": str(tmp_path / "trained" / "checkpoints" / "last")}
    one = train(tmp_path / "one", **ev)
    two, preds2 = _two_process_eval(tmp_path, ev)
    for key in ("eval_bleu", "eval_rouge_l", "eval_exact_match", "eval_bleu_beam", "eval_rouge_l_beam"):
        assert two[key] == one[key], key
    assert two["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)
    preds1 = read_jsonl(tmp_path / "one" / "predictions.jsonl")
    assert len(preds2) == 23 and [p["pred"] for p in preds2] == [p["pred"] for p in preds1]
    assert [p["pred_beam"] for p in preds2] == [p["pred_beam"] for p in preds1]


def test_two_process_eval_of_span_matches_one(tmp_path, train):
    """span: windows of one question may land on different processes; gathered, every window counts once."""
    from trainers import synth

    path = tmp_path / "squad.json"
    path.write_text(json.dumps(synth.span_squad(13, seed=0)))
    base = tiny_flags(
        task="span", train_file=str(path), eval_file=str(path), max_seq_length=48, doc_stride=8, eval_batch_size=4
    )
    train(tmp_path / "trained", **base, epochs=4, lr=3e-3)
    ev = {**base, "do_train": False, "init_from": str(tmp_path / "trained" / "checkpoints" / "last")}
    one = train(tmp_path / "one", **ev)
    two, preds2 = _two_process_eval(tmp_path, ev)
    assert two["eval_exact_match"] == one["eval_exact_match"] and two["eval_f1"] == one["eval_f1"]
    assert two["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5)
    preds1 = read_jsonl(tmp_path / "one" / "predictions.jsonl")
    assert [p["pred"] for p in preds2] == [p["pred"] for p in preds1] and len(preds2) == 13
