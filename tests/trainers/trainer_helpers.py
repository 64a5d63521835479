"""Helpers for the trainer tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trainers import synth

ROOT = Path(__file__).resolve().parents[2]


def write_task_data(
    dir_: Path, task: str, n_train: int, n_eval: int, fmt: str = "tsv", seed: int = 0
) -> tuple[Path, Path]:
    gen = {
        "classification": synth.classification,
        "pair": synth.pair,
        "multilabel": synth.multilabel,
        "ner": synth.ner,
    }[task]
    dir_.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, n, s in (("train", n_train, seed), ("dev", n_eval, seed + 1000)):
        rows = gen(n, seed=s)
        path = dir_ / f"{name}.{'conll' if fmt == 'conll' else fmt}"
        if fmt == "jsonl":
            synth.write_jsonl(rows, path)
        elif fmt == "conll":
            synth.write_conll(rows, path)
        else:
            synth.write_tsv(rows, path, task)
        paths.append(path)
    return paths[0], paths[1]


def tiny_flags(**overrides) -> dict:
    """Settings that keep a run to seconds on a shared CPU."""
    base = {
        "tiny.hidden_size": 32,
        "tiny.intermediate_size": 64,
        "tiny.num_layers": 2,
        "tiny.num_heads": 2,
        "tiny.vocab_size": 400,
        "max_seq_length": 48,
        "batch_size": 16,
        "eval_batch_size": 32,
        "log_steps": 5,
        "eval_steps": 0,
        "save_steps": 0,
    }
    base.update(overrides)
    return base


def as_argv(settings: dict) -> list[str]:
    argv = []
    for k, v in settings.items():
        argv += [f"--{k}", json.dumps(v) if isinstance(v, (bool, list, dict)) or v is None else str(v)]
    return argv


def train_cli(*args, env=None, launcher=None, timeout=300, cwd=None):
    """Run the trainer in a subprocess: ``python -m trainers.text`` or ``launcher + [-m, trainers.text]``."""
    full = dict(os.environ)
    full.update({"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    if env:
        full.update(env)
    cmd = (launcher or [sys.executable]) + ["-m", "trainers.text", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=timeout, cwd=cwd or ROOT)


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
