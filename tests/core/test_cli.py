"""Errors are one line on stderr with a documented exit code; start-up stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from expctl.cli import LAZY_COMMANDS
from tests.conftest import run_expctl


def one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("expctl: error:")
    return lines[0]


def test_not_a_git_repo(tmp_path):
    (tmp_path / "expctl.toml").write_text('[project]\ncommand = "true"\n')
    proc = run_expctl(tmp_path, "run")
    assert proc.returncode == 5 and "not a git repository" in one_error_line(proc)


def test_no_config(repo):
    proc = run_expctl(repo, "runs")
    assert proc.returncode == 4 and "expctl init" in one_error_line(proc)


def test_malformed_toml_names_line(project):
    (project / "expctl.toml").write_text('[project]\ncommand = "python3 train.py"\n[settings]\nlr = = 3\n')
    proc = run_expctl(project, "run")
    assert proc.returncode == 3 and "line 4" in one_error_line(proc)


def test_unknown_config_key(project):
    text = (project / "expctl.toml").read_text().replace("[project]\n", '[project]\nprimary_metrc = "x"\n', 1)
    (project / "expctl.toml").write_text(text)
    proc = run_expctl(project, "runs")
    assert proc.returncode == 3 and "did you mean 'primary_metric'" in one_error_line(proc)


def test_unknown_setting(project):
    proc = run_expctl(project, "run", "-s", "epoch=3")
    assert proc.returncode == 3 and "did you mean 'epochs'" in one_error_line(proc)


def test_invalid_assignment(project):
    proc = run_expctl(project, "run", "-s", "lr")
    assert proc.returncode == 2 and "key=value" in one_error_line(proc)


def test_unknown_stage(project):
    proc = run_expctl(project, "run", "--stage", "smok")
    assert proc.returncode == 3 and "did you mean 'smoke'" in one_error_line(proc)


def test_command_not_found(project):
    text = (
        (project / "expctl.toml")
        .read_text()
        .replace('command = "python3 train.py"', 'command = "no-such-program-xyz --x"')
    )
    (project / "expctl.toml").write_text(text)
    proc = run_expctl(project, "run")
    assert proc.returncode == 4 and "command not found: no-such-program-xyz" in one_error_line(proc)
    assert not (project / "runs").exists() or not any((project / "runs").iterdir())


def test_unknown_run(project):
    proc = run_expctl(project, "show", "nope")
    assert proc.returncode == 4 and "nope" in one_error_line(proc)


def test_debug_shows_traceback(project):
    proc = run_expctl(project, "--debug", "run", "-s", "epoch=3")
    assert proc.returncode == 3 and "Traceback" in proc.stderr


def test_help_lists_every_command():
    proc = subprocess.run([sys.executable, "-m", "expctl.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    for name, (_, _, short) in LAZY_COMMANDS.items():
        assert f"{name} {short[:25]}" in flat


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_command_has_help(name):
    module, attr, _ = LAZY_COMMANDS[name]
    assert callable(getattr(__import__(module, fromlist=[attr]), attr))  # the lazy entry resolves
    proc = subprocess.run([sys.executable, "-m", "expctl.cli", name, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage:" in proc.stdout and len(proc.stdout.splitlines()) > 3


def test_cli_import_is_light():
    # every command module, as `expctl CMD --help` loads it
    code = (
        "import importlib, pkgutil, sys, expctl.cli, expctl.commands as c; "
        "[importlib.import_module(f'expctl.commands.{m.name}') for m in pkgutil.iter_modules(c.__path__)]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch','transformers','accelerate','pandas','matplotlib','git')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import expctl.cli"], capture_output=True, text=True
    )
    heavy = [
        line
        for line in proc.stderr.splitlines()
        if any(f"| {m}" in line for m in ("torch", "transformers", "accelerate", "pandas"))
    ]
    assert heavy == []


def test_init_idempotent_and_refuses_edits(repo):
    first = run_expctl(repo, "init", check=True)
    assert "wrote expctl.toml" in first.stderr and "wrote run.sh" in first.stderr
    again = run_expctl(repo, "init", check=True)
    assert "wrote" not in again.stderr
    gi = (repo / ".gitignore").read_text()
    assert gi.count("/runs/") == 1 and "checkpoints/" in gi and "/data/" in gi
    (repo / "run.sh").write_text((repo / "run.sh").read_text() + "# my edit\n")
    refused = run_expctl(repo, "init")
    assert refused.returncode == 7 and "run.sh has been edited" in refused.stderr
    assert (repo / "run.sh").read_text().endswith("# my edit\n")
    forced = run_expctl(repo, "init", "--force", check=True)
    assert not (repo / "run.sh").read_text().endswith("# my edit\n") and forced.returncode == 0


def test_init_builtin_task_picks_the_primary_metric(tmp_path):
    import tomllib

    for task, metric in (
        ("seq2seq", "eval_bleu"),
        ("span", "eval_f1"),
        ("ner", "eval_entity_f1"),
        ("classification", "eval_accuracy"),
    ):
        folder = tmp_path / task
        folder.mkdir()
        run_expctl(folder, "init", "--trainer", "builtin", "--task", task, check=True)
        cfg = tomllib.loads((folder / "expctl.toml").read_text())
        assert cfg["settings"]["task"] == task and cfg["project"]["primary_metric"] == metric
        assert cfg["stages"]["smoke"]["expect_metrics"] == [metric]
    bad = tmp_path / "bad"
    bad.mkdir()
    proc = run_expctl(bad, "init", "--task", "seq2seq")  # without --trainer builtin
    assert proc.returncode == 2 and "--task goes with --trainer builtin" in proc.stderr
    assert not (bad / ".git").exists() and not (bad / "expctl.toml").exists()  # nothing written


def test_init_creates_repo(tmp_path):
    proc = run_expctl(tmp_path, "init", check=True)
    assert "created one" in proc.stderr and (tmp_path / ".git").is_dir() and (tmp_path / "run.sh").exists()


def test_run_sh_by_hand(project):
    """run.sh is readable bash that works without expctl driving it."""
    proc = subprocess.run(["bash", "run.sh"], cwd=project, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (project / "runs").iterdir()
    assert run_dir.name.startswith("manual-")
    assert (run_dir / "env.json").exists() and "step 5" in (run_dir / "train.log").read_text()
    assert '"exit_code": 0' in (run_dir / "exit_status.json").read_text()
