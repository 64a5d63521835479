"""trainers.data.splits: a split's examples (sampled, k-fold aware) and what the log says of them."""

from __future__ import annotations

import copy

import pytest

from trainers import synth
from trainers.data.splits import read_split
from trainers.runtime import Outputs, TrainerError
from trainers.settings import DEFAULTS


def _setup(tmp_path, **kw):
    synth.write_tsv(synth.classification(60, seed=1), tmp_path / "train.tsv")
    synth.write_tsv(synth.classification(20, seed=2), tmp_path / "dev.tsv")
    settings = copy.deepcopy(DEFAULTS)
    settings.update({"train_file": str(tmp_path / "train.tsv"), "eval_file": str(tmp_path / "dev.tsv"), **kw})
    return settings, Outputs(str(tmp_path / "run"), str(tmp_path / "run" / "m.jsonl"), True)


def test_the_whole_split_is_read_and_its_labels_logged(tmp_path, capsys):
    settings, out = _setup(tmp_path)
    examples = read_split(settings, "train", out)
    assert len(examples) == 60
    log = capsys.readouterr().out
    assert "[trainer] train: " in log and "all " in log and "labels: " in log
    assert "columns: " in log


def test_a_limit_samples_the_same_examples_for_the_same_seed(tmp_path):
    settings, out = _setup(tmp_path, max_train_samples=15)
    a = [ex.text for ex in read_split(settings, "train", out)]
    b = [ex.text for ex in read_split(settings, "train", out)]
    assert len(a) == 15 and a == b
    settings["seed"] += 1
    assert [ex.text for ex in read_split(settings, "train", out)] != a


def test_k_fold_splits_train_file_into_disjoint_train_and_held_out_parts(tmp_path, capsys):
    settings, out = _setup(tmp_path, num_folds=3, fold=1, eval_file="")
    train = read_split(settings, "train", out)
    held = read_split(settings, "eval", out)
    assert len(train) + len(held) == 60
    assert not {ex.text for ex in train} & {ex.text for ex in held}
    log = capsys.readouterr().out
    assert "fold 1 of 3 (held out)" in log and "fold 1 of 3 (the other folds)" in log


def test_a_missing_file_setting_and_an_empty_file_are_trainer_errors(tmp_path):
    settings, out = _setup(tmp_path, eval_file="")
    with pytest.raises(TrainerError, match="eval_file is not set"):
        read_split(settings, "eval", out)
    (tmp_path / "empty.tsv").write_text("text\tlabel\n")
    settings["eval_file"] = str(tmp_path / "empty.tsv")
    with pytest.raises(TrainerError, match="no examples"):
        read_split(settings, "eval", out)


def test_a_class_of_one_warns_and_skipped_lines_are_counted(tmp_path, capsys):
    settings, out = _setup(tmp_path, skip_malformed=True)
    (tmp_path / "odd.tsv").write_text("text\tlabel\na good film\tpos\nno label here\nbad one\tneg\nfine\tpos\n")
    settings["eval_file"] = str(tmp_path / "odd.tsv")
    examples = read_split(settings, "eval", out)
    assert [ex.label for ex in examples].count("neg") == 1
    log = capsys.readouterr().out
    assert "WARNING: eval: class(es) seen in a single example: 'neg'" in log
    assert "skipped 1 malformed line(s) (line 3:" in log


def test_ner_logs_entity_counts(tmp_path, capsys):
    synth.write_tsv(synth.ner(30, seed=0), tmp_path / "ner.tsv", "ner")
    settings, out = _setup(tmp_path, task="ner")
    settings["train_file"] = str(tmp_path / "ner.tsv")
    examples = read_split(settings, "train", out)
    assert len(examples) == 30
    log = capsys.readouterr().out
    assert "entities: " in log and "PER 30" in log
