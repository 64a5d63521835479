"""trainers.text: the entry point's own logic (settings from $EXPCTL_SETTINGS, --stage, --check,
--help, exit codes), called in-process. Training runs through it are in the other trainer tests."""

from __future__ import annotations

import json

import pytest

from trainers.text import main


def test_help_prints_the_launch_commands(capsys):
    assert main(["--help"]) == 0
    assert "accelerate launch" in capsys.readouterr().out


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A project root holding the default data files (empty: the check only looks for them)."""
    (tmp_path / "data").mkdir()
    for name in ("train.tsv", "dev.tsv"):
        (tmp_path / "data" / name).write_text("")
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    return tmp_path


def test_check_accepts_good_settings_and_stops_before_any_work(data_root, capsys):
    (data_root / "other.tsv").write_text("not read: the check only looks for the file\n")
    assert main(["--check", "--lr", "1e-4", "--train_file", str(data_root / "other.tsv")]) == 0
    assert capsys.readouterr().err == ""


def test_check_refuses_a_data_file_that_is_not_there(data_root, capsys):
    assert main(["--check", "--train_file", "data/missing.tsv"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err == f"error: train_file data/missing.tsv: file not found (relative to the project root {data_root})"
    assert main(["--check", "--do_train", "false", "--train_file", "data/missing.tsv"]) == 0  # not read then
    assert main(["--check", "--num_folds", "5", "--eval_file", "data/missing.tsv"]) == 0  # folds of train_file


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--check", "--lr", "abc"], "lr 'abc'"),
        (["--check", "--no_such_key", "1"], "no_such_key"),
        (["--check", "--stage", "nonsense"], "nonsense"),
    ],
)
def test_bad_settings_are_one_error_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_settings_file_from_expctl_and_flags_on_top(data_root, tmp_path, monkeypatch, capsys):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"lr": "abc"}))
    monkeypatch.setenv("EXPCTL_SETTINGS", str(path))
    assert main(["--check"]) == 2  # the file's value is read (and refused)
    assert "lr 'abc'" in capsys.readouterr().err
    assert main(["--check", "--lr", "0.1"]) == 0  # a flag wins over the file
    path.write_text("{broken")
    assert main(["--check"]) == 2
    monkeypatch.setenv("EXPCTL_SETTINGS", str(tmp_path / "missing.json"))
    assert main(["--check"]) == 2


def test_stage_flag_in_both_spellings(data_root, capsys):
    assert main(["--check", "--stage", "smoke"]) == 0
    assert main(["--check", "--stage=converge"]) == 0
    assert main(["--check", "--stage=nope"]) == 2


def test_a_run_with_a_missing_train_file_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPCTL_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("EXPCTL_METRICS", str(tmp_path / "run" / "metrics.jsonl"))
    from accelerate.state import AcceleratorState, GradientState

    try:
        rc = main(["--train_file", str(tmp_path / "missing.tsv"), "--eval_file", str(tmp_path / "missing.tsv")])
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and "missing.tsv" in err[0]
