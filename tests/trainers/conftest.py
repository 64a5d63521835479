"""Fixtures for the trainer tests: generated data files and ways to run the trainer.

``train(out_dir, **settings)`` runs the trainer in this process (fast: torch is imported
once); ``trainer_helpers.train_cli(*args)`` runs ``python -m trainers.text`` in a subprocess
(exit codes, hard kills, ``accelerate launch``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trainer_helpers import as_argv, write_task_data


@pytest.fixture(autouse=True)
def _few_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def data(tmp_path):
    """data(task, n_train, n_eval, fmt="tsv") -> (train_path, eval_path)."""

    def make(task="classification", n_train=200, n_eval=51, fmt="tsv", seed=0):
        return write_task_data(tmp_path / f"data-{task}-{fmt}-{seed}", task, n_train, n_eval, fmt, seed)

    return make


@pytest.fixture
def train(monkeypatch):
    """train(out_dir, **settings) -> metrics dict (runs in-process)."""

    def run(out_dir, **settings):
        from accelerate.state import AcceleratorState, GradientState

        from trainers.text import main

        AcceleratorState._reset_state(True)
        GradientState._reset_state()
        settings.setdefault("output_dir", str(out_dir))
        try:
            rc = main(as_argv(settings))
        finally:  # accelerate keeps process-wide state: never leak it into the next test
            AcceleratorState._reset_state(True)
            GradientState._reset_state()
        assert rc == 0, f"trainer exited {rc}"
        return json.loads((Path(out_dir) / "metrics.json").read_text())

    return run


@pytest.fixture
def builtin_project(repo, expctl):
    """A committed `expctl init --trainer builtin` project with small classification data."""
    import subprocess

    from trainers import synth

    expctl(repo, "init", "--trainer", "builtin", check=True)
    (repo / "data").mkdir()
    synth.write_tsv(synth.classification(120, seed=1), repo / "data" / "train.tsv")
    synth.write_tsv(synth.classification(31, seed=2), repo / "data" / "dev.tsv")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", "setup"], cwd=repo, check=True, capture_output=True)
    return repo
