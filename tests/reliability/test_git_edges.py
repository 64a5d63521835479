"""Git edge cases: no commits yet, detached HEAD, shallow clone, submodules, worktrees,
a branch checked out elsewhere, paths with spaces and CJK, a 200 MB untracked file,
global excludes, core.autocrlf. Each ends with fsck and a readable record."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, run_expctl
from tests.reliability.conftest import assert_healthy, make_project, runs_json


def worktree_tree(path: Path) -> str:
    """What `git add -A` of the work tree would commit (ignored files excluded), via a throwaway index."""
    index = path.parent / "throwaway-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(["git", "add", "-A"], cwd=path, env=env, check=True, capture_output=True)
    tree = subprocess.run(
        ["git", "write-tree"], cwd=path, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    index.unlink()
    return tree


def snapshot_files(path: Path, record: dict) -> list[str]:
    return git(
        path, "-c", "core.quotepath=false", "ls-tree", "-r", "--name-only", record["code"]["commit"]
    ).stdout.splitlines()


def test_repository_without_commits(tmp_path):
    path = tmp_path / "fresh"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    make_project(path, commit=False)
    run_expctl(path, "run", "-q", check=True)
    (record,) = runs_json(path)
    code = record["code"]
    assert record["status"] == "succeeded" and code["head"] is None and code["snapshot"]
    assert {"train.py", "expctl.toml", "run.sh"} <= set(snapshot_files(path, record))
    assert git(path, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0  # still no commit
    assert git(path, "status", "--porcelain").stdout.count("??") >= 3  # nothing was staged
    assert_healthy(path)


def test_detached_head(project):
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    git(project, "checkout", "-q", "--detach", "HEAD")
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    assert record["code"]["branch"] is None and record["code"]["commit"] == head
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "HEAD"  # still detached
    assert "(detached)" in run_expctl(project, "runs", check=True).stdout
    assert_healthy(project)


def test_shallow_clone_runs_and_pushes(project, tmp_path):
    for i in range(3):
        (project / f"f{i}.txt").write_text(str(i))
        git(project, "add", "-A")
        git(project, "commit", "-qm", f"c{i}")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(origin))
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert (Path(git(clone, "rev-parse", "--path-format=absolute", "--git-dir").stdout.strip()) / "shallow").exists()
    (clone / "train.py").write_text((clone / "train.py").read_text() + "\n# dirty\n")
    run_expctl(clone, "run", "-q", check=True)
    (record,) = runs_json(clone)
    assert record["code"]["snapshot"] and record["status"] == "succeeded"
    assert_healthy(clone)
    # a remote that has the history accepts the records of a shallow clone
    run_expctl(clone, "push", "origin", check=True)
    assert git(origin, "rev-parse", f"refs/expctl/runs/{record['id']}").returncode == 0
    assert git(origin, "fsck", "--strict", check=False).returncode == 0
    # an empty remote cannot take shallow history (git's rule): one clear line that says why
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    proc = run_expctl(clone, "push", str(empty))
    assert proc.returncode == 5 and "shallow" in proc.stderr and "--unshallow" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_submodule(project, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    (lib / "util.py").write_text("X = 1\n")
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "lib")
    git(project, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(project, "commit", "-qm", "add submodule")
    run_expctl(project, "run", "-q", "--name", "old", check=True)
    # a new commit inside the submodule, not yet recorded by the superproject
    (project / "vendor" / "lib" / "util.py").write_text("X = 2\n")
    git(project / "vendor" / "lib", "commit", "-qam", "bump")
    sub_head = git(project / "vendor" / "lib", "rev-parse", "HEAD").stdout.strip()
    index_before = (project / ".git" / "index").read_bytes()
    run_expctl(project, "run", "-q", "--name", "new", check=True)
    new, old = runs_json(project)
    assert (new["name"], old["name"]) == ("new", "old")
    assert old["code"]["snapshot"] is False, old["code"]
    assert new["code"]["snapshot"] is True
    gitlink = git(project, "ls-tree", new["code"]["commit"], "vendor/lib").stdout.split()
    assert gitlink[:3] == ["160000", "commit", sub_head]  # the submodule's exact commit
    assert (project / ".git" / "index").read_bytes() == index_before
    assert_healthy(project)


def test_linked_worktree_and_branch_checked_out_elsewhere(project, tmp_path):
    wt = tmp_path / "wt dir"
    git(project, "worktree", "add", "-q", "-b", "explore/wt", str(wt))
    (wt / "train.py").write_text((wt / "train.py").read_text() + "\n# worktree change\n")
    run_expctl(wt, "run", "-q", "--name", "in-worktree", check=True)
    run_expctl(project, "run", "-q", "--name", "in-main", check=True)
    # records live in the shared object database: both work trees see both runs
    for where in (project, wt):
        names = sorted(r["name"] for r in runs_json(where))
        assert names == ["in-main", "in-worktree"]
    (rec,) = [r for r in runs_json(project) if r["name"] == "in-worktree"]
    assert rec["code"]["branch"] == "explore/wt" and rec["code"]["snapshot"]
    assert (wt / "runs" / rec["id"] / "train.log").exists()
    # `main` is checked out in the main work tree: git refuses to check it out in wt,
    # and expctl must say so in one line and change nothing
    head_before = git(wt, "rev-parse", "HEAD").stdout
    proc = run_expctl(wt, "promote", "wt", "--tag", "wt-strategy")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.strip().startswith("expctl: error:"), proc.stderr
    assert git(wt, "rev-parse", "HEAD").stdout == head_before
    assert_healthy(project)
    assert_healthy(wt)


def test_paths_with_spaces_and_cjk(tmp_path):
    path = tmp_path / "my experiments 实验 ümlaut"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    make_project(path)
    (path / "数据 说明.txt").write_text("untracked note\n")
    (path / "sub dir").mkdir()
    (path / "sub dir" / "训练 脚本.py").write_text("print('hi')\n")
    run_expctl(path, "run", "-q", "-s", "name=名字 with space", check=True)
    (record,) = runs_json(path)
    files = snapshot_files(path, record)
    assert "数据 说明.txt" in files and "sub dir/训练 脚本.py" in files
    assert git(path, "rev-parse", f"{record['code']['commit']}^{{tree}}").stdout.strip() == worktree_tree(path)
    assert record["settings"]["name"] == "名字 with space"
    assert "step 3" in (path / "runs" / record["id"] / "train.log").read_text()
    assert_healthy(path)


def test_200mb_untracked_file_is_excluded(project):
    with open(project / "big model dump.bin", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: no real disk used
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "big model dump.bin" in proc.stderr and "not in the code snapshot" in proc.stderr
    (record,) = runs_json(project)
    assert record["code"]["excluded"] == [{"path": "big model dump.bin", "size": 200 * 1024 * 1024}]
    assert "big model dump.bin" not in snapshot_files(project, record)
    assert record["code"]["commit"] == git(project, "rev-parse", "HEAD").stdout.strip()
    assert_healthy(project)


def test_global_excludes_file(project, git_env):
    excludes = git_env / "global-ignore"
    excludes.write_text("*.secret\nscratch/\n")
    with open(git_env / ".gitconfig", "a") as fh:
        fh.write(f"[core]\n\texcludesFile = {excludes}\n")
    (project / "keys.secret").write_text("do not snapshot\n")
    (project / "scratch").mkdir()
    (project / "scratch" / "tmp.txt").write_text("scratch\n")
    (project / "kept.txt").write_text("kept\n")
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    files = snapshot_files(project, record)
    assert "kept.txt" in files and "keys.secret" not in files and "scratch/tmp.txt" not in files
    assert record["code"]["changed"] == ["kept.txt"]
    assert_healthy(project)


@pytest.mark.parametrize("autocrlf", ["true", pytest.param("input", marks=pytest.mark.slow)])
def test_core_autocrlf(project, autocrlf):
    git(project, "config", "core.autocrlf", autocrlf)
    (project / "windows.txt").write_bytes(b"line one\r\nline two\r\n")
    (project / "unix.txt").write_bytes(b"line one\nline two\n")
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    commit = record["code"]["commit"]
    assert git(project, "rev-parse", f"{commit}^{{tree}}").stdout.strip() == worktree_tree(project)
    # stored normalised, as git add would: LF in the object database
    assert git(project, "cat-file", "blob", f"{commit}:windows.txt").stdout == "line one\nline two\n"
    assert (project / "windows.txt").read_bytes() == b"line one\r\nline two\r\n"  # the work tree is untouched
    # the record itself is exact JSON, not converted
    assert git(project, "cat-file", "blob", f"refs/expctl/runs/{record['id']}:record.json").stdout.count("\r") == 0
    assert_healthy(project)
