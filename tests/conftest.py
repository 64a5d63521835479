"""Shared fixtures: real git repositories in tmp_path with an isolated environment.

Every test that touches git uses ``git_env`` (autouse): a fake HOME, no system or global
git config, a pinned default branch and a fixed author, so the host's ~/.gitconfig can
never change a result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _expctl_bin() -> list[str]:
    exe = shutil.which("expctl")
    return [exe] if exe else [sys.executable, "-m", "expctl.cli"]


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "EXPCTL_RUN_ID",
        "EXPCTL_RUN_DIR",
        "EXPCTL_SETTINGS",
        "EXPCTL_METRICS",
        "EXPCTL_STAGE",
        "EXPCTL_PROJECT_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test User")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test User")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    return home


def git(cwd, *args, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True, **kw)


@pytest.fixture
def repo(tmp_path) -> Path:
    """An empty git repository with one commit on branch main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("test project\n")
    git(path, "add", "README.md")
    git(path, "commit", "-qm", "initial")
    return path


def commit_project(repo: Path, program: str, config: str, name: str = "train.py") -> Path:
    """Commit a program and its expctl.toml into ``repo`` and `expctl init` it (run.sh, .gitignore)."""
    (repo / name).write_text(program)
    (repo / "expctl.toml").write_text(config)
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    return repo


def run_expctl(cwd, *args, check=False, env=None, timeout=600, input=None) -> subprocess.CompletedProcess:
    """Run the installed `expctl` console script as a real subprocess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [*_expctl_bin(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"expctl {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def expctl():
    """Call the installed expctl: expctl(cwd, *args, check=True)."""
    return run_expctl


# Property-based tests: the same examples on every run (CI never fails on a new random draw)
# and no per-example deadline (a loaded two-core machine is slow, not wrong).
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("expctl", derandomize=True, deadline=None, print_blob=True)
_hyp_settings.load_profile("expctl")


def plant_record(project: Path, blob: bytes, run_id: str, *parents: str) -> None:
    """A record commit holding ``blob`` as record.json, under refs/expctl/runs/<run_id>, made
    with git's own plumbing (as another clone, or a damaged one, could have written it)."""
    oid = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=project, input=blob, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    tree = git(project, "mktree", input=f"100644 blob {oid}\trecord.json\n").stdout.strip()
    args = [a for p in parents for a in ("-p", p)]
    commit = git(project, "commit-tree", *args, "-m", "planted", tree).stdout.strip()
    git(project, "update-ref", f"refs/expctl/runs/{run_id}", commit)
