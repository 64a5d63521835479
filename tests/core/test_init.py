"""`expctl init` proposes ignores only for paths that hold no tracked files, and says so (issue 20)."""

from __future__ import annotations

import subprocess

from tests.conftest import git, run_expctl


def _ignored(repo, path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=repo).returncode == 0


def test_init_keeps_a_committed_data_folder_visible(repo):
    (repo / "data").mkdir()
    (repo / "data" / "train.txt").write_text("a committed corpus\n")
    git(repo, "add", "data/train.txt")
    git(repo, "commit", "-qm", "corpus")
    out = run_expctl(repo, "init", check=True)
    gi = (repo / ".gitignore").read_text()
    assert "/data/" not in gi.splitlines() and "/runs/" in gi.splitlines()
    assert "not ignoring /data/: it matches tracked files (data/train.txt)" in out.stderr
    assert "ignores /runs/ checkpoints/" in out.stderr
    (repo / "data" / "valid.txt").write_text("a new file next to the corpus\n")
    assert not _ignored(repo, "data/valid.txt")  # no blanket ignore of the corpus folder
    assert _ignored(repo, "runs/x/log.txt")


def test_init_ignores_data_when_it_holds_no_tracked_files(repo):
    run_expctl(repo, "init", check=True)
    assert "/data/" in (repo / ".gitignore").read_text().splitlines()
    assert _ignored(repo, "data/big.tsv")
