"""#18.6: a running run shows a status line on a terminal and plain periodic lines when
piped; `log -f` follows it; `show` and `runs` give its elapsed time and live metrics."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time

import pytest

from tests.conftest import _expctl_bin, git, run_expctl
from tests.daily.conftest import assert_fits, in_pty

SLOW = textwrap.dedent('''
    import time
    from expctl import track
    for i in range(1, 7):
        print(f"working on line {i}", flush=True)
        track.log_metrics(step=i, total_steps=6, train_loss=1.0 / i)
        time.sleep(0.4)
    track.log_metrics(step=6, eval_accuracy=0.75)
''')


@pytest.fixture
def slow(repo):
    (repo / "slow.py").write_text(SLOW)
    (repo / "expctl.toml").write_text('[project]\nname = "s"\ncommand = "python3 slow.py"\n'
                                      'default_stage = "none"\nprimary_metric = "eval_accuracy"\n[settings]\nseed = 1\n')
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    return repo


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


def test_log_follow_show_and_runs_of_a_running_run(slow):
    proc = subprocess.Popen([*_expctl_bin(), "run", "-q"], cwd=slow, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = json.loads(run_expctl(slow, "runs", "--json", check=True).stdout)
            if records and (slow / "runs" / records[0]["id"] / "metrics.jsonl").exists():
                break
            time.sleep(0.1)
        rid = records[0]["id"]
        shown = json.loads(run_expctl(slow, "show", rid, "--json", check=True).stdout)
        if shown["status"] == "running":
            assert shown["elapsed_s"] >= 0 and shown["live"]["total_steps"] == 6
            text = run_expctl(slow, "show", rid, check=True).stdout
            assert "running for" in text and "progress  step" in text and "exit=None" not in text
            listing = run_expctl(slow, "runs", check=True).stdout
            assert "so far" in listing
        follow = run_expctl(slow, "log", "-f", rid, check=True, timeout=60)
        assert "working on line 6" in follow.stdout  # followed to the end
    finally:
        proc.wait(timeout=60)
    assert json.loads(run_expctl(slow, "show", rid, "--json", check=True).stdout)["status"] == "succeeded"
