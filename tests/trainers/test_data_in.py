"""Issue 20 through the trainer: a `label,review` CSV read with its header (log names the
columns and why), and best/last checkpoints stored once on disk when they are the same model."""

from __future__ import annotations

import os

from trainer_helpers import as_argv, tiny_flags, train_cli

from trainers import synth
from trainers.checkpoints import disk_usage


def _write_label_review_csv(path, n, seed):
    rows = synth.classification(n, seed=seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("label,review\n")
        for row in rows:
            fh.write(f"{row['label']},{row['text'].replace(',', ' ')}\n")
    return rows


def test_label_review_csv_and_best_last_share_storage(tmp_path):
    train, dev = tmp_path / "train.csv", tmp_path / "dev.csv"
    rows = _write_label_review_csv(train, 120, 0)
    _write_label_review_csv(dev, 40, 1)
    out = tmp_path / "run"
    # eval only at the end: the final model is the best one, so best == last
    flags = tiny_flags(train_file=str(train), eval_file=str(dev), epochs=1, output_dir=str(out))
    proc = train_cli(*as_argv(flags))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout
    assert "train: columns: text = column 'review', label = column 'label' (header detected" in log
    labels_line = next(ln for ln in log.splitlines() if "train:" in ln and "labels:" in ln)
    assert "label 1" not in labels_line and "WARNING" not in log
    for name in {r["label"] for r in rows}:
        assert f"{name} " in labels_line.split("labels:", 1)[1]
    best, last = out / "checkpoints" / "best", out / "checkpoints" / "last"
    assert "checkpoints/last is the same model as checkpoints/best: hard-linked" in log
    weights = next(p.name for p in best.iterdir() if p.suffix == ".safetensors")
    assert os.path.samefile(best / weights, last / weights)
    one, both = disk_usage(str(best)), disk_usage(str(best), str(last))
    assert both < one * 1.05  # stored once, not twice
    assert sorted(os.listdir(best)) == sorted(os.listdir(last))  # each a complete model folder


def test_trainer_warns_about_a_class_of_one(tmp_path, capsys):
    from trainers.loop import Outputs, read_split
    from trainers.settings import DEFAULTS

    p = tmp_path / "t.tsv"
    p.write_text(
        "text\tlabel\n"
        + "".join(f"text number {i}\t{'a' if i % 2 else 'b'}\n" for i in range(30))
        + "one odd text\tc\n",
        encoding="utf-8",
    )
    settings = {**DEFAULTS, "train_file": str(p)}
    examples = read_split(settings, "train", Outputs(str(tmp_path / "run"), str(tmp_path / "run" / "m.jsonl"), True))
    assert len(examples) == 31
    log = capsys.readouterr().out
    assert "WARNING: train: class(es) seen in a single example: 'c'" in log
    assert "train: columns: text = column 'text', label = column 'label' (header detected: the first row names" in log
