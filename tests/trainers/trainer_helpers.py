"""Helpers for the trainer tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trainers import synth

ROOT = Path(__file__).resolve().parents[2]


#: a wider tiny model, for the generation tasks (test_seq2seq.py, test_span.py)
WIDE = {"tiny.hidden_size": 64, "tiny.intermediate_size": 128}


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


# --------------------------------------------------------------------------- tiny models for the trick tests

VOCAB, B, T = 60, 4, 10


def tiny(task="classification", num_labels=3, dropout=0.0, seed=0):
    """A 2-layer, hidden-32 BERT (sequence or token classification), seeded."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertForTokenClassification

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    if task == "multilabel":
        cfg.problem_type = "multi_label_classification"
    cls = BertForTokenClassification if task == "ner" else BertForSequenceClassification
    return cls(cfg)


def make_batch(task="classification", num_labels=3, seed=1):
    """A seeded batch of B rows of T tokens (two rows padded) with labels for ``task``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 7:] = 0
    mask[3, 5:] = 0
    ids = ids * mask
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    if task == "multilabel":
        batch["labels"] = (torch.rand(B, num_labels, generator=g) > 0.5).float()
    elif task == "ner":
        tags = torch.randint(0, num_labels, (B, T), generator=g)
        tags[mask == 0] = -100
        tags[:, 0] = -100
        batch["labels"] = tags
    else:
        batch["labels"] = torch.randint(0, num_labels, (B,), generator=g)
    return batch


class Acc:
    """Minimal accelerator stand-in for unit tests: ``backward`` only."""

    num_processes = 1

    @staticmethod
    def backward(loss):
        loss.backward()


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def fresh_accelerator(**kw):
    """A CPU Accelerator on a reset process-wide state."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    return Accelerator(cpu=True, **kw)
