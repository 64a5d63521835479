"""trainers.loop: the task adapters, the accelerator set-up, and what run() checks before any work."""

from __future__ import annotations

import copy

import pytest

from trainers import loop
from trainers.runtime import TrainerError
from trainers.settings import DEFAULTS, typed


@pytest.fixture(autouse=True)
def _fresh_accelerate():
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@pytest.mark.parametrize(
    ("task", "name"),
    [
        ("classification", "LabelTask"),
        ("pair", "LabelTask"),
        ("multilabel", "LabelTask"),
        ("ner", "LabelTask"),
        ("seq2seq", "Seq2SeqTask"),
        ("span", "SpanTask"),
    ],
)
def test_each_task_gets_its_adapter(task, name):
    assert loop.adapter_class(task).__name__ == name


def test_fp16_on_a_cpu_trains_in_fp32_and_says_so():
    settings = typed({"cpu": True, "mixed_precision": "fp16", "grad_accum_steps": 3})
    acc, mp, note = loop._accelerator(settings, {})
    assert mp == "no" and "bf16" in note
    assert acc.device.type == "cpu" and acc.gradient_accumulation_steps == 3


def test_bf16_on_a_cpu_is_kept():
    acc, mp, note = loop._accelerator(typed({"cpu": True, "mixed_precision": "bf16"}), {})
    assert mp == "bf16" and note is None and acc.mixed_precision == "bf16"


def test_a_bad_resume_fails_before_any_data_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    settings = copy.deepcopy(DEFAULTS)
    settings.update(cpu=True, resume=str(tmp_path / "not-a-checkpoint"), train_file="missing.tsv")
    (tmp_path / "not-a-checkpoint").mkdir()
    with pytest.raises(TrainerError, match="resume=.*no complete checkpoint"):
        loop.run(settings, str(tmp_path / "run"), str(tmp_path / "run" / "metrics.jsonl"))
    log = capsys.readouterr().out
    assert "task classification; device cpu; processes 1" in log
    assert "train: " not in log  # no data was read


def test_an_unknown_trick_fails_before_the_accelerator_starts(tmp_path, capsys):
    settings = copy.deepcopy(DEFAULTS)
    settings["tricks"] = {"nonsense": {}}
    from trainers.tricks import TrickConfigError

    with pytest.raises(TrickConfigError, match="nonsense"):
        loop.run(settings, str(tmp_path / "run"), str(tmp_path / "run" / "metrics.jsonl"))
    assert "device" not in capsys.readouterr().out
