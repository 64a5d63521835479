"""trainers.runtime: the run's output files, paths from the project root, model folders."""

from __future__ import annotations

import json

import pytest

from trainers.runtime import (
    Outputs,
    Progress,
    TrainerError,
    cache_dir,
    data_path,
    fmt_metrics,
    model_folder,
    project_root,
    resolve_init_from,
)
from trainers.settings import typed


def _lines(path):
    return [json.loads(line) for line in open(path)]


def test_metrics_lines_keep_finite_numbers_only(tmp_path):
    out = Outputs(str(tmp_path / "run"), str(tmp_path / "m" / "metrics.jsonl"), True)
    out.metrics(3, epoch=0.123456, loss=0.5, acc=float("nan"), flag=True, name="x", n=2)
    out.metrics(None, lr=1e-3)
    assert _lines(tmp_path / "m" / "metrics.jsonl") == [{"step": 3, "epoch": 0.1235, "loss": 0.5, "n": 2}, {"lr": 1e-3}]


def test_resolved_merges_into_settings_resolved_json(tmp_path):
    out = Outputs(str(tmp_path), str(tmp_path / "m.jsonl"), True)
    out.resolved(batch_size=8)
    out.resolved(grad_accum_steps=2, batch_size=4)
    assert json.loads((tmp_path / "settings_resolved.json").read_text()) == {"batch_size": 4, "grad_accum_steps": 2}
    (tmp_path / "settings_resolved.json").write_text("[broken")
    out.resolved(lr=0.1)
    assert json.loads((tmp_path / "settings_resolved.json").read_text()) == {"lr": 0.1}


def test_write_final_writes_flat_numeric_metrics_the_best_and_predictions(tmp_path, capsys):
    out = Outputs(str(tmp_path), str(tmp_path / "m.jsonl"), True)
    out.final_extra = {"batch_size_found": 16}
    out.write_final(
        {"eval_accuracy": 0.8, "note": "text"}, [{"id": 1, "pred": "pos"}], {"train_s": 1.5}, "eval_accuracy", (0.9, 40)
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == {
        "eval_accuracy": 0.8,
        "batch_size_found": 16,
        "train_s": 1.5,
        "best_eval_accuracy": 0.9,
        "best_step": 40,
    }
    assert _lines(tmp_path / "predictions.jsonl") == [{"id": 1, "pred": "pos"}]
    assert "1 dev predictions" in capsys.readouterr().out


def test_off_the_main_process_nothing_is_written_or_logged(tmp_path, capsys):
    out = Outputs(str(tmp_path / "run"), str(tmp_path / "run" / "m.jsonl"), False)
    out.log("hello")
    out.metrics(1, loss=1.0)
    out.resolved(batch_size=2)
    out.write_final({"a": 1.0}, [], {}, "a")
    assert not (tmp_path / "run").exists()
    assert capsys.readouterr().out == ""


def test_paths_are_relative_to_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert project_root() == str(tmp_path)
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", "/proj")
    assert data_path("data/train.tsv") == "/proj/data/train.tsv"
    assert data_path("/abs/x") == "/abs/x"


def test_cache_dir_from_settings_or_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert cache_dir(typed({"cache_dir": ""})) == "/xdg/expctl/trainer"
    assert cache_dir(typed({"cache_dir": "cache"})) == str(tmp_path / "cache")


def test_model_folder_built_in_a_local_folder_or_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    assert model_folder(typed({"model": "tiny", "init_from": ""})) == ""
    (tmp_path / "hf").mkdir()
    assert model_folder(typed({"model": "hf", "init_from": ""})) == str(tmp_path / "hf")
    with pytest.raises(TrainerError, match="no such folder"):
        model_folder(typed({"model": "missing", "init_from": ""}))
    assert model_folder(typed({"model": "missing", "init_from": "hf"})) == str(tmp_path / "hf")


def test_init_from_a_ref_outside_a_project_is_a_trainer_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(TrainerError, match=r"init_from='base': not a folder"):
        resolve_init_from("base")


def test_fmt_metrics_shows_the_known_eval_metrics_in_order():
    text = fmt_metrics({"eval_f1": 0.5, "eval_loss": 0.25, "train_loss": 9.0, "eval_accuracy": 1.0})
    assert text == "loss 0.2500 | accuracy 1.0000 | f1 0.5000"


def test_progress_off_a_terminal_writes_log_lines(tmp_path, capsys):
    out = Outputs(str(tmp_path), str(tmp_path / "m.jsonl"), True)
    bar = Progress(10, 0, enabled=False)
    bar.update(3)
    bar.write("step 3", out)
    bar.close()
    assert capsys.readouterr().out == "[trainer] step 3\n"
