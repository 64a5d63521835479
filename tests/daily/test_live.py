"""#18.6: a running run shows a status line on a terminal and plain periodic lines when
piped; `log -f` follows it; `show` and `runs` give its elapsed time and live metrics."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time

import pytest

from tests.conftest import _expctl_bin, commit_project, git, run_expctl
from tests.daily.conftest import assert_fits, in_pty

SLOW = textwrap.dedent("""
    import time
    from expctl import track
    for i in range(1, 7):
        print(f"working on line {i}", flush=True)
        track.log_metrics(step=i, total_steps=6, train_loss=1.0 / i)
        time.sleep(0.4)
    track.log_metrics(step=6, eval_accuracy=0.75)
""")


@pytest.fixture
def slow(repo):
    return commit_project(
        repo,
        SLOW,
        '[project]\nname = "s"\ncommand = "python3 slow.py"\n'
        'default_stage = "none"\nprimary_metric = "eval_accuracy"\n[settings]\nseed = 1\n',
        "slow.py",
    )


def test_plain_status_lines_when_piped(slow):
    proc = run_expctl(slow, "run", env={"EXPCTL_STATUS_EVERY": "0.5"}, check=True)
    status = [line for line in proc.stderr.splitlines() if re.match(r"expctl: run \S+: step \d+/6 ", line)]
    assert status, proc.stderr
    assert any("train_loss=" in line and "elapsed" in line and "ETA" in line for line in status), status
    assert "working on line 6" in proc.stdout  # the program's own output untouched
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr


@pytest.mark.parametrize("cols", [100, 120])
def test_status_line_on_a_terminal(slow, cols):
    code, text = in_pty(slow, "run", cols=cols)
    assert code == 0, text
    assert re.search(r"expctl: run \S+: step \d+/6 train_loss=\S+ \d+s elapsed", text), text
    visible = [line.split("\r")[-1] for line in text.splitlines()]
    for i in range(1, 7):  # every line of the program whole, never broken by the status line
        assert any(line == f"working on line {i}" for line in visible) or f"working on line {i}\n" in text, text
    assert_fits(text, cols)


GATED = textwrap.dedent("""
    import os, time
    from expctl import track
    track.log_metrics(step=1, total_steps=4, train_loss=0.9)
    print("before the gate", flush=True)
    deadline = time.time() + 60
    while not os.path.exists("go") and time.time() < deadline:   # the test opens the gate
        time.sleep(0.05)
    for i in range(2, 5):
        print(f"after the gate {i}", flush=True)
        track.log_metrics(step=i, total_steps=4, train_loss=1.0 / i)
    track.log_metrics(step=4, eval_accuracy=0.75)
""")


def test_log_follow_show_and_runs_of_a_running_run(slow):
    (slow / "slow.py").write_text(GATED)
    git(slow, "commit", "-qam", "gated")
    proc = subprocess.Popen(
        [*_expctl_bin(), "run", "-q"], cwd=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = json.loads(run_expctl(slow, "runs", "--json", check=True).stdout)
            if records and b"before" in (
                (slow / "runs" / records[0]["id"] / "train.log").read_bytes()
                if (slow / "runs" / records[0]["id"] / "train.log").exists()
                else b""
            ):
                break
            time.sleep(0.1)
        rid = records[0]["id"]
        shown = json.loads(run_expctl(slow, "show", rid, "--json", check=True).stdout)
        assert shown["status"] == "running" and shown["elapsed_s"] >= 0
        assert shown["live"]["step"] == 1 and shown["live"]["total_steps"] == 4
        text = run_expctl(slow, "show", rid, check=True).stdout
        assert "running for" in text and "progress  step 1/4 train_loss=0.9" in text and "exit=None" not in text
        assert "so far" in run_expctl(slow, "runs", check=True).stdout
        follow = subprocess.Popen(
            [*_expctl_bin(), "log", "-f", rid], cwd=slow, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(0.5)
        assert follow.poll() is None  # still following: the run has not ended
        (slow / "go").write_text("")
        out, _ = follow.communicate(timeout=60)
        assert b"before the gate" in out and b"after the gate 4" in out  # followed to the end
    finally:
        (slow / "go").write_text("")
        proc.wait(timeout=60)
    assert json.loads(run_expctl(slow, "show", rid, "--json", check=True).stdout)["status"] == "succeeded"
