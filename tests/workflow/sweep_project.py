"""The stand-in project shared by test_sweep.py and test_reproduce.py."""

from __future__ import annotations

import textwrap

from tests.conftest import commit_project

TRAIN = textwrap.dedent("""
    import hashlib
    from expctl import track
    s = track.settings()
    data = open(s["train_file"], "rb").read()
    bonus = int(hashlib.sha256(data).hexdigest(), 16) % 1000 / 1e5   # depends on the data, deterministically
    acc = 0.5 + float(s["lr"]) + bonus + 0.0001 * int(s["seed"])      # lr matters, dropout does not
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, train_loss=0.5, eval_accuracy=acc)
""")


CONFIG = textwrap.dedent("""
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    lr = 0.2
    dropout = 0.1
    seed = 0
    train_file = "data/train.tsv"

    [stages.small]
    check = "metrics"
""")


def make(repo):
    commit_project(repo, TRAIN, CONFIG)
    (repo / "data").mkdir()
    (repo / "data" / "train.tsv").write_text("text\tlabel\na\tpos\n")  # git-ignored data
    return repo
