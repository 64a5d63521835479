"""`python -m trainers.text` as expctl runs it: env vars in, files out, one-line errors."""

from __future__ import annotations

import json

from trainer_helpers import as_argv, read_jsonl, tiny_flags, train_cli


def test_program_interface_env_and_precedence(tmp_path, data):
    train_path, eval_path = data("classification", n_train=64, n_eval=21)
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    settings = {
        **{k: v for k, v in tiny_flags().items() if not k.startswith("tiny.")},
        "tiny": {"hidden_size": 32, "intermediate_size": 64, "vocab_size": 300},
        "train_file": str(train_path),
        "eval_file": str(eval_path),
        "epochs": 5,
        "mixed_precision": "fp16",
        "_meta": "ignored",
    }
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    env = {
        "EXPCTL_RUN_DIR": str(run_dir),
        "EXPCTL_SETTINGS": str(tmp_path / "settings.json"),
        "EXPCTL_METRICS": str(run_dir / "metrics.jsonl"),
        "EXPCTL_RUN_ID": "r1",
        "EXPCTL_STAGE": "smoke",
        "EXPCTL_PROJECT_ROOT": str(tmp_path),
    }
    proc = train_cli("--epochs", "1", env=env)  # flags beat the settings file
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fp16 does nothing on a CPU" in proc.stdout and "mixed precision no" in proc.stdout
    assert "(1 epochs)" in proc.stdout
    for name in ("metrics.json", "metrics.jsonl", "predictions.jsonl", "checkpoints.json"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "checkpoints" / "best" / "config.json").exists()
    assert (run_dir / "checkpoints" / "last" / "tokenizer.json").exists()
    assert read_jsonl(run_dir / "metrics.jsonl")[-1]["step"] == 4
    assert "Traceback" not in proc.stderr


def test_user_errors_are_one_line(tmp_path, data):
    proc = train_cli("--bacth_size", "3")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: unknown setting 'bacth_size' in command-line flags (did you mean batch_size?)"
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nfine\tpos\nbroken-line\n", encoding="utf-8")
    proc = train_cli(*as_argv(tiny_flags(train_file=str(bad), eval_file=str(bad), output_dir=str(tmp_path / "o"))))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [f"error: {bad}:3: expected at least 2 fields, found 1"]
    help_ = train_cli("--help")
    assert help_.returncode == 0 and "accelerate launch" in help_.stdout


def test_bf16_on_cpu_trains(tmp_path, data, train, capsys):
    train_path, eval_path = data("classification", n_train=48, n_eval=11)
    m = train(
        tmp_path / "o",
        **tiny_flags(train_file=str(train_path), eval_file=str(eval_path), epochs=1, mixed_precision="bf16"),
    )
    assert "mixed precision bf16" in capsys.readouterr().out
    assert m["train_loss"] == m["train_loss"]  # finite, not NaN


def test_unknown_trick_fails_fast_in_process(tmp_path, capsys):
    from trainers.text import main

    rc = main(["--tricks.rdropp.alpha", "4", "--train_file", str(tmp_path / "missing.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "unknown trick 'rdropp'" in err[0] and "rdrop" in err[0]
