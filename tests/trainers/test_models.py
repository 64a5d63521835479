"""Model sources: a local Hugging Face folder, warm start via init_from (path and run/tag ref)."""

from __future__ import annotations

import json
import os
import stat

from trainer_helpers import read_jsonl, tiny_flags

from trainers import synth


def _save_random_bert(folder, words):
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words))]
    folder.mkdir(parents=True)
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(folder)  # a "pretrained" encoder without a task head
    tok.save_pretrained(folder)
    return len(vocab)


def test_local_hf_folder_fine_tunes(tmp_path, data, train):
    train_path, eval_path = data("classification", n_train=160, n_eval=41)
    words = [w for r in synth.classification(2000, seed=5) for w in r["text"].split()]
    folder = tmp_path / "my-bert"
    vocab_size = _save_random_bert(folder, words)
    out = tmp_path / "out"
    metrics = train(
        out, **tiny_flags(model=str(folder), train_file=str(train_path), eval_file=str(eval_path), epochs=3, lr=2e-3)
    )
    assert 0 <= metrics["eval_accuracy"] <= 1 and metrics["train_steps"] == 30
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    best = AutoModelForSequenceClassification.from_pretrained(out / "checkpoints" / "best")
    assert best.config.vocab_size == vocab_size and best.config.hidden_size == 32
    assert sorted(best.config.label2id) == ["neg", "neutral", "pos"]
    assert len(AutoTokenizer.from_pretrained(out / "checkpoints" / "best")) == vocab_size


def test_warm_start_from_path_and_ref(tmp_path, data, train, monkeypatch, capsys):
    train_path, eval_path = data("classification", n_train=200, n_eval=41)
    first = tmp_path / "first"
    m1 = train(first, **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=4, lr=3e-3))
    capsys.readouterr()
    fresh_loss = [ln["train_loss"] for ln in read_jsonl(first / "metrics.jsonl") if "train_loss" in ln][0]

    best = first / "checkpoints" / "best"
    second = tmp_path / "second"
    m2 = train(
        second,
        **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), max_steps=5, lr=1e-4, init_from=str(best)),
    )
    log = capsys.readouterr().out
    assert f"warm start from {best}" in log and "head kept" in log
    warm_loss = [ln["train_loss"] for ln in read_jsonl(second / "metrics.jsonl") if "train_loss" in ln][0]
    assert warm_loss < fresh_loss
    assert m2["eval_accuracy"] >= m1["best_eval_accuracy"] - 0.1

    # a run id / tag resolves through `expctl show REF --json` (a stand-in CLI with the contract's output)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "expctl"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = show ] && [ "$2" = best-rdrop ] && [ "$3" = --json ]; then\n'
        f"  echo '{json.dumps({'id': 'x', 'checkpoints': {'best': str(best)}})}'; exit 0; fi\n"
        'echo "error: no run $2" >&2; exit 1\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    third = tmp_path / "third"
    train(
        third, **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), max_steps=2, init_from="best-rdrop")
    )
    assert f"warm start from {best}" in capsys.readouterr().out

    from trainers.loop import TrainerError, resolve_init_from

    try:
        resolve_init_from("no-such-run")
    except TrainerError as exc:
        assert "no run no-such-run" in str(exc)
    else:
        raise AssertionError("expected TrainerError")


def test_init_from_run_id_through_real_expctl(builtin_project, expctl):
    """The REF form against the real CLI: expctl init --trainer builtin, a smoke run, a warm start."""
    repo = builtin_project
    first = expctl(
        repo, "run", "--stage", "smoke", "-s", "tiny.hidden_size=32", "-s", "tiny.intermediate_size=64", check=True
    )
    run_id = json.loads(expctl(repo, "runs", "--json", check=True).stdout)[0]["id"]
    best = json.loads(expctl(repo, "show", run_id, "--json", check=True).stdout)["checkpoints"]["best"]
    assert os.path.isdir(best), first.stdout
    second = expctl(
        repo,
        "run",
        "--stage",
        "smoke",
        "-s",
        f"init_from={run_id}",
        "-s",
        "tiny.hidden_size=32",
        "-s",
        "tiny.intermediate_size=64",
        check=True,
    )
    assert f"warm start from {best}" in second.stdout + second.stderr
    assert "head kept" in second.stdout + second.stderr
