"""A real project for the picture tests: strategies on git, seeds, predictions.

The program writes metrics and predictions the way the bundled trainer does (train_loss
every 5 steps with the epoch (100 steps each), eval metrics every 50, ``predictions.jsonl`` with label / pred /
confidence / text), in a few milliseconds, so that a project of several strategies with
seeds is built in seconds.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import commit_project, git, run_expctl

TRAIN_PY = textwrap.dedent("""
    import json, math, os
    from expctl import track
    s = track.settings()
    seed, lr, acc, steps = int(s["seed"]), float(s["lr"]), float(s["acc"]), int(s["steps"])
    overfit = int(s["overfit"])
    for step in range(0, steps + 1, 5):
        track.log_metrics(step=step, epoch=step / 100, train_loss=2.0 * math.exp(-step * lr) + 0.002 * seed)
        if step % 50 == 0 and step:
            rise = max(0, step - overfit) / 100.0 if overfit else 0.0
            ev = {"eval_loss": 1.0 * math.exp(-step * lr) + 0.3 + rise,
                  "eval_accuracy": acc * (1 - math.exp(-step * lr * 2)) + 0.004 * seed - 0.3 * rise}
            track.log_metrics(step=step, **ev)
    final = acc + 0.004 * seed
    track.log_final(eval_accuracy=final, eval_loss=0.35)
    labels = ["neg", "neu", "pos"]
    with open(os.path.join(track.run_dir(), "predictions.jsonl"), "w", encoding="utf-8") as fh:
        for i in range(30):
            gold = labels[i % 3]
            pred = gold if i % 4 else labels[(i + 1) % 3]
            fh.write(json.dumps({"index": i, "text": f"sample <b>{i}</b> text", "label": gold, "pred": pred,
                                 "confidence": 0.5 + (i % 5) / 10}) + "\\n")
""")

CONFIG = textwrap.dedent("""
    [project]
    name = "pictures"
    command = "python3 train.py"
    primary_metric = "eval_accuracy"
    direction = "max"

    [settings]
    acc = 0.8
    seed = 0
    lr = 0.01
    steps = 300
    overfit = 0

    [stages.small]
    check = "metrics"
""")


def run(repo: Path, *settings: str) -> None:
    run_expctl(repo, "run", "--stage", "small", *[a for kv in settings for a in ("-s", kv)], check=True)


@pytest.fixture
def pictures(repo: Path) -> Path:
    """Strategies: baseline (2 seeds), best-lr (3 seeds, lr and code changed), explore/overfit (a
    code change; eval loss rises after step 150), each run writing predictions."""
    commit_project(repo, TRAIN_PY, CONFIG)
    for seed in (0, 1):
        run(repo, f"seed={seed}")
    run_expctl(repo, "tag", "baseline", check=True)
    (repo / "schedule.py").write_text("WARMUP = 0\n")
    git(repo, "add", "schedule.py")
    git(repo, "commit", "-qm", "no warm-up")
    for seed in (0, 1, 2):
        run(repo, "lr=0.02", "acc=0.84", f"seed={seed}")
    run_expctl(repo, "tag", "best-lr", check=True)
    run_expctl(repo, "explore", "overfit", check=True)
    (repo / "model.py").write_text("LAYERS = 12\n")
    git(repo, "add", "model.py")
    git(repo, "commit", "-qm", "bigger model")
    run(repo, "lr=0.02", "acc=0.804", "overfit=150")
    return repo
