"""trainers.checkpoints: finding complete checkpoints, what `resume` names, shared files on disk."""

from __future__ import annotations

import os

import pytest

from trainers.checkpoints import (
    STATE_MARKER,
    LoopState,
    complete_checkpoints,
    disk_usage,
    find_resume,
    link_last_to_best,
    newest_complete,
    share_identical,
)
from trainers.runtime import Outputs, TrainerError


def _step(root, n, complete=True):
    path = root / f"step-{n}"
    path.mkdir(parents=True)
    if complete:
        (path / STATE_MARKER).write_text("")
    return path


@pytest.fixture
def out(tmp_path):
    return Outputs(str(tmp_path / "log-run"), str(tmp_path / "log-run" / "m.jsonl"), True)


def test_loop_state_round_trips():
    a = LoopState()
    a.global_step, a.best_metric, a.best_step, a.last_train_loss = 12, 0.8, 10, 0.3
    b = LoopState()
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == {"global_step": 12, "best_metric": 0.8, "best_step": 10, "last_train_loss": 0.3}


def test_complete_checkpoints_are_sorted_by_step_and_torn_ones_skipped(tmp_path):
    ck = tmp_path / "checkpoints"
    _step(ck, 10)
    _step(ck, 2)
    _step(ck, 30, complete=False)
    (ck / "best").mkdir()
    assert complete_checkpoints(str(ck)) == [(2, str(ck / "step-2")), (10, str(ck / "step-10"))]
    assert complete_checkpoints(str(tmp_path / "missing")) == []


def test_newest_complete_of_a_checkpoint_a_checkpoints_folder_and_a_run_folder(tmp_path):
    run = tmp_path / "run"
    s5 = _step(run / "checkpoints", 5)
    s7 = _step(run / "checkpoints", 7)
    assert newest_complete(str(s5)) == str(s5)
    assert newest_complete(str(run)) == str(s7)
    assert newest_complete(str(run / "checkpoints")) == str(s7)
    (tmp_path / "empty").mkdir()
    assert newest_complete(str(tmp_path / "empty")) is None


def test_resume_no_and_auto(tmp_path, out, capsys):
    ck = tmp_path / "checkpoints"
    assert find_resume("no", str(ck), out) is None
    assert find_resume("", str(ck), out) is None
    assert find_resume("auto", str(ck), out) is None
    assert "starting from scratch" in capsys.readouterr().out
    _step(ck, 3)
    assert find_resume(" auto ", str(ck), out) == os.path.abspath(ck / "step-3")


def test_resume_from_a_folder_relative_to_the_project_root(tmp_path, out, monkeypatch):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))
    _step(tmp_path / "runs" / "r1" / "checkpoints", 4)
    assert find_resume("runs/r1", "", out) == str(tmp_path / "runs" / "r1" / "checkpoints" / "step-4")
    torn = _step(tmp_path / "other", 9, complete=False)
    with pytest.raises(TrainerError, match="not a complete checkpoint folder"):
        find_resume(str(torn), "", out)
    with pytest.raises(TrainerError, match="no complete checkpoint"):
        find_resume(str(tmp_path / "other"), "", out)


def test_resume_from_a_ref_that_expctl_cannot_show_is_one_line(tmp_path, out, monkeypatch):
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))  # no project here: `expctl show` fails
    with pytest.raises(
        TrainerError, match=r"resume='nosuchrun': not a folder, and `expctl show nosuchrun --json` failed"
    ):
        find_resume("nosuchrun", "", out)


def test_identical_files_are_hard_linked_and_counted_once(tmp_path, out, capsys):
    best, last = tmp_path / "best", tmp_path / "last"
    for folder in (best, last):
        (folder / "sub").mkdir(parents=True)
        (folder / "model.bin").write_bytes(b"w" * 50_000)
    (best / "sub" / "config.json").write_text('{"a": 1}')
    (last / "sub" / "config.json").write_text('{"a": 2}')
    (last / "only-last.txt").write_text("x")
    before = disk_usage(str(best), str(last))
    link_last_to_best(str(tmp_path), out)
    assert os.path.samefile(best / "model.bin", last / "model.bin")
    assert not os.path.samefile(best / "sub" / "config.json", last / "sub" / "config.json")
    assert (last / "sub" / "config.json").read_text() == '{"a": 2}'
    assert disk_usage(str(best), str(last)) < before
    assert "hard-linked" in capsys.readouterr().out
    assert share_identical(str(best), str(last)) == 0  # already shared: nothing more
    assert share_identical(str(best), str(tmp_path / "missing")) == 0
