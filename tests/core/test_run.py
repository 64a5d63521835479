"""End to end through the installed `expctl` console script, in real git repositories."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import _expctl_bin, git, run_expctl


def runs_json(cwd) -> list[dict]:
    proc = run_expctl(cwd, "runs", "--json", check=True)
    return json.loads(proc.stdout)


def worktree_tree(repo: Path) -> str:
    """The tree of the work tree (tracked + untracked, ignored excluded), via a throwaway index."""
    env = dict(os.environ, GIT_INDEX_FILE=str(repo / ".git" / "test-index"))
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    tree = subprocess.run(
        ["git", "write-tree"], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    os.unlink(repo / ".git" / "test-index")
    return tree


def test_smoke_run_record_survives_rm_runs(project):
    proc = run_expctl(project, "run", "--stage", "smoke", check=True)
    assert "check smoke: passed" in proc.stderr
    shutil.rmtree(project / "runs")
    records = runs_json(project)
    assert len(records) == 1
    r = records[0]
    assert r["status"] == "succeeded" and r["stage"] == "smoke" and r["exit_code"] == 0
    assert r["metrics"]["final"]["eval_accuracy"] == 0.8
    assert r["metrics"]["final"]["train_loss"] == pytest.approx(2.0 * 0.3**5)
    assert r["metrics"]["best"]["train_loss"] == pytest.approx(2.0 * 0.3**5)
    assert r["settings"]["max_train_samples"] == 200 and r["settings"]["epochs"] == 1  # stage overrides
    assert r["check"] == {"check": "smoke", "passed": True, "reasons": []}
    # and `show` still works from git alone, log tail included
    shown = json.loads(run_expctl(project, "show", r["id"], "--json", check=True).stdout)
    assert shown["id"] == r["id"] and "step 5 loss=" in shown["log_tail"] and shown["run_dir_exists"] is False
    assert "step 5 loss=" in run_expctl(project, "log", r["id"], check=True).stdout


def test_run_folder_contents(project):
    run_expctl(project, "run", "-s", "lr=0.5", "--name", "first", "--", "--extra", "arg", check=True)
    (run_dir,) = (project / "runs").iterdir()
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "settings.json",
        "env.json",
        "command.sh",
        "train.log",
        "metrics.jsonl",
        "record.json",
        "exit_status.json",
    } <= names
    settings = json.loads((run_dir / "settings.json").read_text())
    assert settings["lr"] == 0.5
    env = json.loads((run_dir / "env.json").read_text())
    assert env["python"] == sys.version.split()[0] and env["git"]["dirty"] is False and env["host"]
    import expctl

    assert env["packages"]["expctl"] == expctl.__version__
    assert (run_dir / "command.sh").read_text().strip() == "python3 train.py --extra arg"
    assert "step 5 loss=" in (run_dir / "train.log").read_text()
    record = json.loads((run_dir / "record.json").read_text())
    assert record["name"] == "first" and record["code"]["snapshot"] is False
    assert record["code"]["commit"] == git(project, "rev-parse", "HEAD").stdout.strip()


def test_dirty_tree_snapshot_touches_nothing(project):
    (project / "train.py").write_text((project / "train.py").read_text() + "\n# edited\n")
    (project / "notes with space 中文.txt").write_text("untracked\n")
    (project / "staged.txt").write_text("staged\n")
    git(project, "add", "staged.txt")
    (project / "data").mkdir()
    (project / "data" / "big.bin").write_bytes(b"x" * 1000)  # git-ignored by init (/data/)
    git(project, "stash", "list")
    before = {
        "status": git(project, "status", "--porcelain").stdout,
        "stash": git(project, "stash", "list").stdout,
        "branch": git(project, "symbolic-ref", "HEAD").stdout,
        "index": (project / ".git" / "index").read_bytes(),
        "head": git(project, "rev-parse", "HEAD").stdout,
    }
    run_expctl(project, "run", check=True)
    after = {
        "status": git(project, "status", "--porcelain").stdout,
        "stash": git(project, "stash", "list").stdout,
        "branch": git(project, "symbolic-ref", "HEAD").stdout,
        "index": (project / ".git" / "index").read_bytes(),
        "head": git(project, "rev-parse", "HEAD").stdout,
    }
    assert before == after
    (record,) = runs_json(project)
    code = record["code"]
    assert code["dirty"] and code["snapshot"] and code["head"] == before["head"].strip()
    ref = f"refs/expctl/runs/{record['id']}"
    assert git(project, "rev-parse", f"{ref}^").stdout.strip() == code["commit"]
    # the snapshot holds exactly the work tree, ignored files excluded
    snap_tree = git(project, "rev-parse", f"{code['commit']}^{{tree}}").stdout.strip()
    assert snap_tree == worktree_tree(project)
    files = git(project, "ls-tree", "-r", "--name-only", code["commit"]).stdout.splitlines()
    assert "staged.txt" in files and "data/big.bin" not in files
    assert any("中文" in f or "\\" in f for f in files)
    assert git(project, "fsck", "--strict").returncode == 0


def test_setting_values_are_data_not_code(project, tmp_path):
    payload = "$(touch pwned)`touch pwned2`; touch pwned3 \"'\n"
    run_expctl(project, "run", "-s", f"name={payload}", check=True)
    assert not list(project.glob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    (record,) = runs_json(project)
    assert record["settings"]["name"] == payload
    (run_dir,) = (project / "runs").iterdir()
    assert json.loads((run_dir / "settings.json").read_text())["name"] == payload


def test_args_mode_passes_values_verbatim(project):
    toml = (project / "expctl.toml").read_text().replace('pass_settings = "file"', 'pass_settings = "args"')
    toml = toml.replace('command = "python3 train.py"', 'command = "python3 echo_args.py"')
    (project / "expctl.toml").write_text(toml)
    (project / "echo_args.py").write_text(
        "import sys, json\nprint('ARGS=' + json.dumps(sys.argv[1:]))\n"
        "from expctl import track\ntrack.log_metrics(eval_accuracy=1.0)\n"
    )  # smoke check
    payload = "$(touch pwned); rm -rf / 'x' \"y\""
    run_expctl(project, "run", "-s", f"name={payload}", "--", "--extra", "a b", check=True)
    assert not (project / "pwned").exists()
    (run_dir,) = (project / "runs").iterdir()
    printed = next(line for line in (run_dir / "train.log").read_text().splitlines() if line.startswith("ARGS="))
    argv = json.loads(printed[len("ARGS=") :])
    assert argv[argv.index("--name") + 1] == payload and argv[-2:] == ["--extra", "a b"]
    assert argv[argv.index("--lr") + 1] == "0.001"


def test_four_concurrent_runs(project):
    (project / "train.py").write_text((project / "train.py").read_text() + "\n# dirty so each run snapshots\n")
    procs = [
        subprocess.Popen(
            [*_expctl_bin(), "run", "-q", "-s", f"acc=0.{i + 1}"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    assert not any("index.lock" in err for _, err in outs)
    records = runs_json(project)
    assert len(records) == 4 and len({r["id"] for r in records}) == 4
    assert sorted(r["metrics"]["final"]["eval_accuracy"] for r in records) == [0.1, 0.2, 0.3, 0.4]
    assert all(r["status"] == "succeeded" for r in records)
    assert git(project, "fsck", "--strict").returncode == 0


SLOW_PY = """
import time
from expctl import track
for i in range(600):
    track.log_metrics(step=i, train_loss=1.0 / (i + 1))
    print("tick", i, flush=True)
    time.sleep(0.05)
"""


def _start_slow(project):
    (project / "slow.py").write_text(SLOW_PY)
    toml = (project / "expctl.toml").read_text().replace('command = "python3 train.py"', 'command = "python3 slow.py"')
    (project / "expctl.toml").write_text(toml)
    proc = subprocess.Popen(
        [*_expctl_bin(), "run", "-q"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        logs = list((project / "runs").glob("*/train.log")) if (project / "runs").exists() else []
        if logs and "tick 3" in logs[0].read_text():
            return proc, logs[0].parent
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("slow program did not start")


def _gone(name: str, within: float = 10.0) -> bool:
    """No process runs ``name`` within ``within`` seconds (polled: a loaded machine is slow to reap)."""
    deadline = time.time() + within
    while name in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout:
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_is_recorded(project, sig):
    proc, run_dir = _start_slow(project)
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    (record,) = runs_json(project)
    assert record["status"] == "interrupted" and record["signal"] == sig.name.removeprefix("SIG")
    assert "tick 3" in (run_dir / "train.log").read_text()
    assert record["metrics"]["events"] >= 3
    assert _gone("slow.py")  # no process left behind


def test_sigkill_of_expctl_is_interrupted_later(project):
    proc, run_dir = _start_slow(project)
    proc.kill()
    proc.communicate(timeout=30)
    time.sleep(1.0)  # run.sh gets SIGTERM (parent-death signal) and stops the program
    assert _gone("slow.py")
    (record,) = runs_json(project)
    assert record["status"] == "interrupted"
    assert "tick 3" in (run_dir / "train.log").read_text()
    # the repair was persisted in git: a second listing reads it as is
    assert runs_json(project)[0]["status"] == "interrupted"
    # and nothing blocks the next run
    toml = (project / "expctl.toml").read_text().replace('"python3 slow.py"', '"python3 train.py"')
    (project / "expctl.toml").write_text(toml)
    run_expctl(project, "run", check=True)


def test_failed_run_and_exit_code(project):
    proc = run_expctl(project, "run", "-s", "exit_code=3")
    assert proc.returncode == 1
    (record,) = runs_json(project)
    assert record["status"] == "failed" and record["exit_code"] == 3


def test_converge_check(project):
    ok = run_expctl(project, "run", "--stage", "converge")
    assert ok.returncode == 0, ok.stderr
    bad = run_expctl(project, "run", "--stage", "converge", "-s", "decay=0.99")
    assert bad.returncode == 6 and "check converge: FAILED" in bad.stderr
    records = runs_json(project)
    assert [r["check"]["passed"] for r in records] == [False, True]
    assert records[1]["check"]["detail"]["ratio"] == pytest.approx(0.3**4)


def test_full_needs_passing_smoke_of_same_code(project):
    refused = run_expctl(project, "run", "--stage", "full")
    assert refused.returncode == 7 and "needs a passing smoke run" in refused.stderr
    run_expctl(project, "run", "--stage", "smoke", check=True)
    run_expctl(project, "run", "--stage", "full", check=True)
    (project / "train.py").write_text((project / "train.py").read_text() + "\n# changed code\n")
    assert run_expctl(project, "run", "--stage", "full").returncode == 7
    assert run_expctl(project, "run", "--stage", "full", "--force").returncode == 0


def test_regex_metrics_from_log(project):
    (project / "printer.py").write_text(
        "for i in range(1, 4):\n    print(f'epoch {i} loss: {1.0/i:.3f} acc={0.5+i/10}')\n"
    )
    toml = (project / "expctl.toml").read_text()
    toml = toml.replace('command = "python3 train.py"', 'command = "python3 printer.py"')
    toml = toml.replace(
        "[metrics.regex]\n",
        "[metrics.regex]\ntrain_loss = 'loss: ([0-9.]+)'\neval_accuracy = 'acc=(?P<value>[0-9.]+)'\n",
    )
    (project / "expctl.toml").write_text(toml)
    run_expctl(project, "run", "--stage", "converge", check=False)
    (record,) = runs_json(project)
    assert record["metrics"]["final"] == {"train_loss": pytest.approx(0.333), "eval_accuracy": pytest.approx(0.8)}
    assert record["metrics"]["events"] == 6


def test_runs_filters_and_formats(project):
    run_expctl(project, "run", "--stage", "smoke", check=True)
    run_expctl(project, "run", "--stage", "small", "-s", "exit_code=1")  # (no --stage would be smoke: the default)
    assert [r["stage"] for r in json.loads(run_expctl(project, "runs", "--stage", "smoke", "--json").stdout)] == [
        "smoke"
    ]
    assert [r["status"] for r in json.loads(run_expctl(project, "runs", "--status", "failed", "--json").stdout)] == [
        "failed"
    ]
    csv_out = run_expctl(project, "runs", "--format", "csv", check=True).stdout.splitlines()
    assert csv_out[0].startswith("id,name,stage,status") and len(csv_out) == 3


def test_large_untracked_file_excluded_with_warning(project):
    toml = (project / "expctl.toml").read_text().replace("max_untracked_mb = 50", "max_untracked_mb = 1")
    (project / "expctl.toml").write_text(toml)
    with open(project / "huge.bin", "wb") as fh:
        fh.truncate(3 * 1024 * 1024)
    proc = run_expctl(project, "run", check=True)
    assert "huge.bin" in proc.stderr and "not in the code snapshot" in proc.stderr
    (record,) = runs_json(project)
    assert record["code"]["excluded"] == [{"path": "huge.bin", "size": 3 * 1024 * 1024}]
    files = git(project, "ls-tree", "-r", "--name-only", record["code"]["commit"]).stdout.splitlines()
    assert "huge.bin" not in files and "expctl.toml" in files


def test_data_fingerprints(project):
    (project / "data").mkdir()
    (project / "data" / "train.tsv").write_text("text\tlabel\nhello\tpos\n")
    toml = (project / "expctl.toml").read_text().replace('name = ""', 'name = ""\ntrain_file = "data/train.tsv"')
    (project / "expctl.toml").write_text(toml)
    run_expctl(project, "run", check=True)
    (project / "data" / "train.tsv").write_text("text\tlabel\nhello\tneg\n")
    run_expctl(project, "run", check=True)
    new, old = runs_json(project)
    fp_old, fp_new = old["data"]["data/train.tsv"], new["data"]["data/train.tsv"]
    assert fp_old["fingerprint"] != fp_new["fingerprint"] and fp_old["size"] == fp_new["size"]


RESUMABLE_PY = textwrap.dedent("""
    import json, os, sys
    from expctl import track
    s = track.settings()
    print("RESUME_DIR=" + os.environ.get("EXPCTL_RESUME_DIR", ""), flush=True)
    print("ARGS=" + json.dumps(sys.argv[1:]), flush=True)
    start = 0
    if s.get("resume", "no") != "no":
        with open(os.path.join(os.environ["EXPCTL_RESUME_DIR"], "progress.txt")) as fh:
            start = int(fh.read())
    for step in range(start + 1, 7):
        with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "progress.txt"), "w") as fh:
            fh.write(str(step))
        track.log_metrics(step=step, train_loss=1.0 / step)
        if step == int(s.get("crash_at", 0)):
            sys.exit(3)
    track.log_metrics(step=6, eval_accuracy=float(s.get("acc", 0.8)), started_at=start)
""")


def test_run_resume_continues_a_failed_run_as_a_linked_run(project):
    (project / "train.py").write_text(RESUMABLE_PY)
    toml = (project / "expctl.toml").read_text()
    toml = toml.replace("seed = 42\n", 'seed = 42\nresume = "no"\ncrash_at = 0\n', 1)
    (project / "expctl.toml").write_text(toml)
    git(project, "commit", "-qam", "resumable")
    first = run_expctl(project, "run", "--stage", "smoke", "-s", "crash_at=4", "-s", "acc=0.7", "--", "--flag", "x y")
    assert first.returncode == 1
    (failed,) = runs_json(project)
    assert failed["status"] == "failed"
    assert "--resume" not in first.stderr  # no checkpoints/ folder: no hint

    # continue it: same stage, settings and arguments; -s still overrides (here: no crash this time)
    second = run_expctl(project, "run", "--resume", failed["id"], "-s", "crash_at=0")
    assert second.returncode == 0, second.stderr
    assert f"resuming run {failed['id']}" in second.stderr
    new = runs_json(project)[0]
    assert new["resumes"] == failed["id"] and new["stage"] == "smoke"
    assert new["settings"]["resume"] == failed["id"] and new["settings"]["acc"] == 0.7
    assert new["settings"]["crash_at"] == 0
    assert new["metrics"]["final"]["started_at"] == 4  # continued after the failed run's last step
    log = (project / "runs" / new["id"] / "train.log").read_text()
    assert f"RESUME_DIR={project / 'runs' / failed['id']}" in log
    assert 'ARGS=["--flag", "x y"]' in log
    shown = run_expctl(project, "show", new["id"], check=True).stdout
    assert f"resumes   {failed['id']}" in shown
    # the old run's record and folder are untouched
    assert runs_json(project)[1] == failed

    missing = run_expctl(project, "run", "--resume", "no-such-run")
    assert missing.returncode == 4 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
