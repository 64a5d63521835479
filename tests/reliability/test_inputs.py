"""Inputs that used to hang, exhaust memory or crash a run (issue 14, points 5, 6 and 7):
settings naming special files, SHA-256 repositories, bytes that are not UTF-8, NUL in
expctl.toml. Each is handled before any record exists, or recorded cleanly."""

from __future__ import annotations

import os
import resource
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import _expctl_bin, git, run_expctl
from tests.reliability.conftest import assert_healthy, make_project, run_refs, runs_json


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))  # an old expctl fails fast, not the host


def run_bounded(project: Path, *args: str | bytes, timeout: float = 60) -> tuple[int, str]:
    """`expctl` with its stdin an open pipe (as a terminal would be), memory capped."""
    err = project.parent / "stderr.txt"
    with open(err, "wb") as fh:
        proc = subprocess.Popen(
            [*_expctl_bin(), *args],
            cwd=project,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=fh,
            preexec_fn=_limit_memory,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"expctl {args} hung") from None
        finally:
            proc.stdin.close()
    return code, err.read_text(errors="replace")


@pytest.mark.parametrize("target", ["/dev/stdin", "/dev/stdout", "fifo", "/dev/zero", "/dev/urandom"])
def test_a_setting_naming_a_special_file_neither_hangs_nor_fills_memory(project, tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "a.fifo")
        os.mkfifo(target)
    code, err = run_bounded(project, "run", "-q", "-s", f"name={target}", timeout=60)
    assert code == 0, err
    (record,) = runs_json(project)
    assert record["status"] == "succeeded"
    assert record["data"][target]["kind"] == "special"


def test_regular_files_are_fingerprinted_with_a_size_cap(project):
    (project / "data").mkdir()
    big = project / "data" / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MB, never read in full
    run_expctl(project, "run", "-q", "-s", "name=data/big.bin", check=True)
    (record,) = runs_json(project)
    assert record["data"]["data/big.bin"]["fingerprint"].startswith("quick:")


def test_sha256_repository_end_to_end(tmp_path):
    path = tmp_path / "sha256"
    path.mkdir()
    git(path, "init", "-q", "--object-format=sha256", "-b", "main")
    make_project(path)
    run_expctl(path, "run", "-q", check=True)
    (path / "notes.txt").write_text("dirty\n")
    run_expctl(path, "run", "-q", "-s", "acc=0.9", check=True)
    records = runs_json(path)
    assert [r["status"] for r in records] == ["succeeded", "succeeded"]
    assert all(len(r["code"]["commit"]) == 64 for r in records) and records[0]["code"]["snapshot"]
    run_expctl(path, "tag", "baseline", check=True)
    assert "baseline" in run_expctl(path, "compare", check=True).stdout
    run_expctl(path, "show", "baseline", check=True)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--object-format=sha256", str(bare))
    git(path, "remote", "add", "origin", str(bare))
    run_expctl(path, "push", check=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    run_expctl(clone, "pull", check=True)
    assert sorted(r["id"] for r in runs_json(clone)) == sorted(r["id"] for r in records)
    assert_healthy(path)


def test_untracked_file_with_a_non_utf8_name(project):
    name = os.fsdecode(b"caf\xe9 notes.txt")
    (project / name).write_text("scratch\n")
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    assert record["code"]["snapshot"]
    assert record["code"]["changed"] == ["caf\\xe9 notes.txt"]
    files = subprocess.run(
        ["git", "ls-tree", "-z", "--name-only", record["code"]["commit"]], cwd=project, capture_output=True, check=True
    ).stdout.split(b"\0")
    assert b"caf\xe9 notes.txt" in files  # the snapshot holds the file under its real name
    assert_healthy(project)


@pytest.mark.parametrize(
    "args",
    [
        [b"run", b"-q", b"-s", b"name=caf\xe9"],
        [b"run", b"-q", b"--", b"--tag", b"\xff\xfe"],
        [b"run", b"-q", b"--name", b"r\xe9sum\xe9"],
    ],
    ids=["setting", "argument", "name"],
)
def test_non_utf8_values_are_refused_before_any_record(project, args):
    proc = subprocess.run([*map(os.fsencode, _expctl_bin()), *args], cwd=project, capture_output=True)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and err.count("\n") == 1 and "not valid UTF-8" in err, err
    assert "internal error" not in err
    assert run_refs(project) == {} and not (project / "runs").exists()


def test_nul_in_a_command_word_is_refused_before_any_record(project):
    toml = (project / "expctl.toml").read_text()
    start = toml.index("command = ")
    end = toml.index("\n", start)
    (project / "expctl.toml").write_text(toml[:start] + 'command = "python3 train.py --x=a\\u0000b"' + toml[end:])
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1 and "NUL" in proc.stderr, proc.stderr
    assert run_refs(project) == {} and not (project / "runs").exists()
    args_mode = textwrap.dedent("""\
        [project]
        command = "python3 train.py"
        pass_settings = "args"
        [settings]
        name = "a\\u0000b"
    """)
    (project / "expctl.toml").write_text(args_mode)
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 2 and "NUL" in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert run_refs(project) == {}
