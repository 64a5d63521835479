"""expctl.scaffold: what `init` writes (in-process), which launcher `run` calls, stale [env].

The CLI side of `init` is covered by tests/core/test_init.py and
tests/daily/test_own_run_sh.py; here the module's functions directly."""

from __future__ import annotations

import os
import tomllib

import pytest

from expctl import config as config_mod
from expctl import scaffold
from expctl.errors import ConfigError, NotFoundError, UsageError
from tests.conftest import git

CONFIG = """\
[project]
name = "s"
command = "python3 train.py --fast"

[env]
FOO = "a b"

[settings]
lr = 0.1
"""


def _cfg(root, text=CONFIG):
    return config_mod.parse(tomllib.loads(text), root)


def test_run_sh_is_rendered_with_the_command_and_the_launcher_mark(tmp_path):
    text = scaffold.render_run_sh(_cfg(tmp_path))
    assert text.startswith("#!")
    assert scaffold.LAUNCHER_MARK in text
    assert "python3 train.py --fast" in text


def test_is_launcher_and_the_launcher_run_calls(tmp_path):
    with pytest.raises(NotFoundError, match="expctl init"):
        scaffold.launcher(tmp_path)
    (tmp_path / "run.sh").write_text("#!/bin/sh\necho mine\n")
    assert not scaffold.is_launcher(tmp_path / "run.sh")
    with pytest.raises(ConfigError, match=scaffold.ALT_LAUNCHER):
        scaffold.launcher(tmp_path)
    (tmp_path / scaffold.ALT_LAUNCHER).write_text(scaffold.render_run_sh(_cfg(tmp_path)))
    assert scaffold.launcher(tmp_path) == tmp_path / scaffold.ALT_LAUNCHER
    (tmp_path / "run.sh").write_text(scaffold.render_run_sh(_cfg(tmp_path)))
    assert scaffold.launcher(tmp_path) == tmp_path / "run.sh"
    assert not scaffold.is_launcher(tmp_path / "missing.sh")


def test_a_current_run_sh_is_never_stale_an_old_one_with_baked_exports_is(tmp_path):
    cfg = _cfg(tmp_path)
    current = tmp_path / "run.sh"
    current.write_text(scaffold.render_run_sh(cfg))
    assert scaffold.stale_env(cfg, current) == []
    old = tmp_path / "old.sh"
    old.write_text("#!/bin/sh\nexport PYTHONUNBUFFERED=1\nexport FOO='a b'\nexport BAR=1\n")
    assert scaffold.stale_env(cfg, old) == ["BAR"]
    old.write_text("#!/bin/sh\nexport FOO=ab\n")
    assert scaffold.stale_env(cfg, old) == ["FOO"]
    assert scaffold.stale_env(cfg, tmp_path / "missing.sh") == []


def test_builtin_config_parses_and_takes_the_tasks_primary_metric(tmp_path):
    from trainers import api

    text = scaffold.builtin_config("demo", "ner")
    cfg = _cfg(tmp_path, text)
    assert cfg.name == "demo"
    assert cfg.primary_metric == api.PRIMARY_METRICS["ner"]
    assert cfg.command == ["python3", "-m", "trainers.text"]
    with pytest.raises(UsageError, match="unknown task"):
        scaffold.builtin_config("demo", "poetry")


def test_generic_config_starter_settings_only_for_a_program_using_track(tmp_path):
    (tmp_path / "train.py").write_text("from expctl import track\nprint(track.settings())\n")
    (tmp_path / "plain.py").write_text("print('hi')\n")
    with_track = tomllib.loads(scaffold.generic_config("p", "python3 train.py", tmp_path))
    plain = tomllib.loads(scaffold.generic_config("p", "python3 plain.py", tmp_path))
    assert with_track["settings"]["lr"] == scaffold.STARTER_SETTINGS["lr"]
    assert not plain.get("settings")


def test_init_in_a_plain_folder_makes_a_repository_and_writes_every_file(tmp_path):
    result = scaffold.init(tmp_path, command="python3 train.py", name="proj")
    assert result.created_repo and (tmp_path / ".git").is_dir()
    assert sorted(result.written) == [".gitignore", "expctl.toml", "run.sh"]
    assert os.access(tmp_path / "run.sh", os.X_OK)
    assert tomllib.loads((tmp_path / "expctl.toml").read_text())["project"]["name"] == "proj"
    assert (tmp_path / ".gitignore").read_text() == scaffold.GITIGNORE_BLOCK


def test_init_again_changes_nothing_and_a_different_command_is_refused_all_or_nothing(repo):
    scaffold.init(repo, command="python3 train.py")
    again = scaffold.init(repo)
    assert again.written == [] and sorted(again.unchanged) == [".gitignore", "expctl.toml", "run.sh"]
    before = (repo / "run.sh").read_text()
    refused = scaffold.init(repo, command="python3 other.py")
    # the config differs, so nothing is written (run.sh renders from the config that stays)
    assert refused.refused == ["expctl.toml"] and refused.written == []
    assert (repo / "run.sh").read_text() == before
    forced = scaffold.init(repo, command="python3 other.py", force=True)
    assert "python3 other.py" in (repo / "run.sh").read_text() and "run.sh" in forced.written


def test_init_keeps_a_projects_own_run_sh_and_gitignore_lines(repo):
    (repo / "run.sh").write_text("#!/bin/sh\necho own\n")
    (repo / ".gitignore").write_text("*.pyc\n/runs/")
    (repo / "data").mkdir()
    (repo / "data" / "corpus.txt").write_text("kept in git\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "own files")
    result = scaffold.init(repo, command="python3 train.py")
    assert result.own_run_sh and (repo / scaffold.ALT_LAUNCHER).is_file()
    assert (repo / "run.sh").read_text() == "#!/bin/sh\necho own\n"
    assert result.gitignore_skipped == {"/data/": ["data/corpus.txt"]}
    assert "/runs/" not in result.gitignore_added and "checkpoints/" in result.gitignore_added
    lines = (repo / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["*.pyc", "/runs/"] and lines.count("/runs/") == 1 and "/data/" not in lines


def test_init_refuses_unknown_trainers_a_task_without_builtin_and_a_missing_folder(tmp_path):
    with pytest.raises(UsageError):
        scaffold.init(tmp_path, trainer="other")
    with pytest.raises(UsageError, match="--task"):
        scaffold.init(tmp_path, task="ner")
    with pytest.raises(NotFoundError):
        scaffold.init(tmp_path / "missing")


def test_template_source_finds_both_templates():
    assert "{{" in scaffold.template_source()
    assert "#SBATCH" in scaffold.template_source("sbatch.sh.j2")
    with pytest.raises(NotFoundError, match="nope"):
        scaffold.template_source("nope.j2")
