"""expctl.runner directly: the program's argv, argument checks, the run line, exit codes and the
resume hint; and one real run's record and exit code through `expctl run`. Runs end to end
(signals, concurrency, snapshots, checks) are in tests/core/test_run.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from expctl import config, runner
from expctl.errors import ConfigError, UsageError
from tests.small_project import make_project, new_run


def cfg(tmp_path: Path, command, **project):
    return config.parse({"project": {"command": command, **project}, "settings": {"lr": 0.1}}, tmp_path)


def test_build_argv_fills_placeholders_and_passes_settings_as_args(tmp_path):
    settings = {"lr": 0.1, "model": {"name": "bert"}, "tags": ["a", "b"], "fast": True, "none": None}
    c = cfg(tmp_path, "python3 train.py --lr {lr} --tags {tags} --fast {fast} --none={none}")
    argv = runner.build_argv(c, settings, ["--extra", "x y"])
    assert argv == [
        *["python3", "train.py", "--lr", "0.1", "--tags", '["a", "b"]', "--fast", "true", "--none="],
        *["--extra", "x y"],
    ]
    with pytest.raises(ConfigError, match=r"uses \{missing\} but there is no setting 'missing'"):
        runner.build_argv(cfg(tmp_path, "python3 t.py {missing}"), settings, [])
    with pytest.raises(ConfigError, match="bad placeholder"):
        runner.build_argv(cfg(tmp_path, "python3 t.py {lr!x}"), settings, [])
    args = runner.build_argv(cfg(tmp_path, "python3 t.py", pass_settings="args"), settings, [])
    assert args == ["python3", "t.py", "--lr", "0.1", "--model.name", "bert", "--tags", "a", "b", "--fast"]


def test_argument_checks():
    runner.check_argv(["python3", "t.py", "--name", "中文"])
    with pytest.raises(UsageError, match="NUL"):
        runner.check_argv(["a\0b"])
    with pytest.raises(UsageError, match="not valid UTF-8"):
        runner.check_argv(["bad\udcffbyte"])
    assert runner.parse_extra(["--", "--x", "1"]) == ["--x", "1"] and runner.parse_extra(["a"]) == ["a"]
    assert runner.parse_extra([]) == []
    with pytest.raises(UsageError):
        runner.parse_extra(["--", "a\0"])


def test_summary_line_and_exit_codes():
    record = {
        "id": "r1",
        "status": "succeeded",
        "duration_s": 1.234,
        "primary_metric": "acc",
        "metrics": {"final": {"acc": 0.912345}},
        "check": {"check": "metrics", "passed": False, "reasons": ["no eval_f1", "nan loss"]},
    }
    assert (
        runner.summary_line(record)
        == "run r1 succeeded in 1.2s · acc=0.9123 · check metrics: FAILED (no eval_f1; nan loss)"
    )
    assert runner.exit_code_for(record) == 6
    assert runner.exit_code_for({**record, "check": {"check": "metrics", "passed": True}}) == 0
    assert runner.exit_code_for({**record, "status": "failed"}) == 1
    assert runner.exit_code_for({**record, "status": "interrupted"}) == 130
    assert runner.summary_line({"id": "r2", "status": "running"}) == "run r2 running"


def test_resume_hint_only_with_step_checkpoints(tmp_path):
    record = {"id": "r1", "status": "interrupted"}
    assert runner.resume_hint(record, tmp_path) is None  # no checkpoints folder
    (tmp_path / "checkpoints" / "best").mkdir(parents=True)
    assert runner.resume_hint(record, tmp_path) is None
    (tmp_path / "checkpoints" / "step-10").mkdir()
    assert runner.resume_hint(record, tmp_path) == "checkpoints were saved: continue with `expctl run --resume r1`"
    assert runner.resume_hint({**record, "status": "succeeded"}, tmp_path) is None


def test_describe_snapshot_names_changed_and_untracked_files():
    clean = SimpleNamespace(snapshot=None, changed=[], untracked=[])
    assert runner.describe_snapshot(clean) == ""
    untracked = [{"path": f"u{i}.txt", "size": 1500} for i in range(6)]
    snap = SimpleNamespace(snapshot="abc", changed=["train.py", "u0.txt"], untracked=untracked)
    assert runner.describe_snapshot(snap) == (
        " (snapshot of the dirty tree: changed train.py; untracked u0.txt, u1.txt, u2.txt, u3.txt, u4.txt"
        " and 1 more (9.0 kB))"
    )


def test_a_real_run_records_its_outcome_and_exit_code(repo):
    make_project(repo)
    ok = new_run(repo, "-s", "acc=0.7", "--", "--flag")
    assert ok["status"] == "succeeded" and ok["check"]["passed"] and ok["metrics"]["final"]["eval_accuracy"] == 0.7
    assert ok["command"][-1] == "--flag" and ok["code"]["commit"]
    bad = new_run(repo, "-s", "exit_code=3")
    assert bad["status"] == "failed" and bad["exit_code"] == 3


def test_placeholder_of_a_nested_setting(tmp_path):
    c = cfg(tmp_path, "python3 t.py --model {model.name}")
    assert runner.build_argv(c, {"model": {"name": "bert"}}, []) == ["python3", "t.py", "--model", "bert"]


def test_placeholders_braces_and_bad_words(tmp_path):
    settings = {"lr": 0.1, "model": {"name": "bert"}}
    c = cfg(tmp_path, "python3 t.py --json={{a}} --m={model.name}/{lr}")
    assert runner.build_argv(c, settings, [])[2:] == ["--json={a}", "--m=bert/0.1"]
    for bad in ("python3 t.py {lr", "python3 t.py lr}", "python3 t.py {0}", "python3 t.py {a b}"):
        with pytest.raises(ConfigError, match="bad placeholder"):
            runner.build_argv(cfg(tmp_path, bad), settings, [])
    with pytest.raises(ConfigError, match=r"no setting 'model.size'"):
        runner.build_argv(cfg(tmp_path, "python3 t.py {model.size}"), settings, [])
