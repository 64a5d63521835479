"""Daily-use tests: a small committed project, and running expctl under a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import _expctl_bin, git, run_expctl

TRAIN_PY = textwrap.dedent("""
    import sys
    from expctl import track
    s = track.settings()
    loss = 2.0
    for step in range(1, 4):
        loss *= float(s.get("decay", 0.5))
        track.log_metrics(step=step, train_loss=loss)
        print(f"step {step} loss={loss:.4f}", flush=True)
    track.log_metrics(step=3, eval_accuracy=float(s.get("acc", 0.8)))
    sys.exit(int(s.get("exit_code", 0)))
""")

CONFIG = textwrap.dedent("""
    [project]
    name = "daily"
    command = "python3 train.py"
    primary_metric = "eval_accuracy"
    direction = "max"

    [settings]
    decay = 0.5
    acc = 0.8
    exit_code = 0
    seed = 1

    [stages.smoke]
    check = "metrics"
    expect_metrics = ["eval_accuracy"]
""")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "train.py").write_text(TRAIN_PY)
    (repo / "expctl.toml").write_text(CONFIG)
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    return repo


def in_pty(
    cwd,
    *args,
    cols: int = 100,
    rows: int = 40,
    env: dict | None = None,
    timeout: float = 120,
    color: bool = False,
    input: bytes | None = None,
) -> tuple[int, str]:
    """Run the installed expctl with stdout, stderr and stdin on a pseudo-terminal of a fixed
    size; (exit status, what the terminal showed, escape sequences removed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {**os.environ, "COLUMNS": str(cols), "LINES": str(rows), "TERM": "xterm", **(env or {})}
    if color:
        full_env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [*_expctl_bin(), *args], cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=full_env, close_fds=True
    )
    os.close(slave)
    if input is not None:
        os.write(master, input)  # typed ahead: the terminal driver holds it until read
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=10)
    text = ANSI.sub("", out.decode("utf-8", "replace")).replace("\r\n", "\n")
    return code, text


def assert_fits(text: str, cols: int) -> None:
    for line in text.splitlines():
        line = line.split("\r")[-1]
        assert len(line) <= cols, f"line wider than {cols}: {line!r}"


def push_and_clone(project: Path, tmp_path: Path) -> Path:
    """Push ``project`` to a new bare remote, clone it and `expctl pull` there: the clone."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    run_expctl(project, "push", check=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    run_expctl(clone, "pull", check=True)
    return clone
