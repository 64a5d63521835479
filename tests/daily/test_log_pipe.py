"""#18.7: `expctl run ... | head -1` leaves the run's train.log complete."""

from __future__ import annotations

import json
import subprocess
import textwrap

from tests.conftest import _expctl_bin, commit_project, run_expctl

CHATTY = textwrap.dedent("""
    import time
    from expctl import track
    for i in range(1, 301):
        print(f"line {i}", flush=True)
        if i % 50 == 0:
            time.sleep(0.05)
    track.log_metrics(step=1, eval_accuracy=0.5)
""")


def test_log_is_complete_when_stdout_reader_goes_away(repo):
    commit_project(
        repo,
        CHATTY,
        '[project]\nname = "c"\ncommand = "python3 chatty.py"\ndefault_stage = "none"\n[settings]\nseed = 1\n',
        "chatty.py",
    )
    proc = subprocess.Popen([*_expctl_bin(), "run"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()  # `| head -1`: read one line, then close the pipe
    proc.stdout.close()
    proc.wait(timeout=120)
    assert first == b"line 1\n"
    record = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]
    assert record["status"] == "succeeded", record
    log = run_expctl(repo, "log", record["id"], check=True).stdout.splitlines()
    assert log[0] == "line 1" and log[-1] == "line 300" and len(log) == 300
