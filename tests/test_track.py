"""expctl.track: what a program's log_metrics / log_final / settings calls write and read."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from expctl import outputs, track


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_log_metrics_appends_one_event_per_call_to_expctl_metrics(tmp_path, monkeypatch):
    path = tmp_path / "m.jsonl"
    monkeypatch.setenv("EXPCTL_METRICS", str(path))
    track.log_metrics(step=3.0, epoch=1, train_loss=0.5, flag=True, frac=Fraction(1, 4))
    track.log_metrics(eval_accuracy=float("nan"))
    first, second = _lines(path)
    assert first["step"] == 3 and isinstance(first["step"], int)
    assert first["epoch"] == 1.0 and isinstance(first["epoch"], float)
    assert first["train_loss"] == 0.5 and first["flag"] == 1 and first["frac"] == 0.25
    assert isinstance(first["time"], float)
    assert "step" not in second and second["eval_accuracy"] == "nan"


def test_a_metric_that_is_not_a_number_raises_and_writes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "m.jsonl"
    monkeypatch.setenv("EXPCTL_METRICS", str(path))
    with pytest.raises(TypeError, match="loss"):
        track.log_metrics(step=1, loss="low")
    assert not path.exists()


def test_outside_expctl_metrics_go_to_cwd_and_are_registered_as_expctl_output(repo, monkeypatch):
    monkeypatch.chdir(repo)
    track.log_metrics(step=1, x=1)
    track.log_metrics(step=2, x=2)
    assert [e["x"] for e in _lines(repo / "metrics.jsonl")] == [1, 2]
    assert outputs.load(repo / ".git") == {"metrics.jsonl": {"any"}}


def test_log_final_writes_metrics_json_in_the_run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPCTL_RUN_DIR", str(tmp_path))
    track.log_final(eval_accuracy=0.83, best=float("inf"))
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"best": "inf", "eval_accuracy": 0.83}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_settings_reads_the_runs_settings_file_or_gives_an_empty_dict(tmp_path, monkeypatch):
    assert track.settings() == {}
    monkeypatch.setenv("EXPCTL_SETTINGS", str(tmp_path / "missing.json"))
    assert track.settings() == {}
    (tmp_path / "s.json").write_text('{"lr": 0.1, "model": {"layers": 2}}')
    monkeypatch.setenv("EXPCTL_SETTINGS", str(tmp_path / "s.json"))
    assert track.settings() == {"lr": 0.1, "model": {"layers": 2}}


def test_run_dir_defaults_to_the_current_folder(monkeypatch, tmp_path):
    assert track.run_dir() == "."
    monkeypatch.setenv("EXPCTL_RUN_DIR", str(tmp_path))
    assert track.run_dir() == str(tmp_path)
