"""The smaller findings of the probe (issue 14, point 8): concurrent pushes, ambiguous tag
names, terminal escape sequences, stale [env] in run.sh, a NaN size limit, disk-full
hints, and temp files a SIGKILL leaves behind."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.conftest import _expctl_bin, git, run_expctl
from tests.reliability.conftest import assert_healthy, git_dir, run_refs, runs_json, set_command


def test_twenty_concurrent_pushes(project, tmp_path):
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    for acc in ("0.7", "0.8", "0.9"):
        run_expctl(project, "run", "-q", "-s", f"acc={acc}", check=True)
    run_expctl(project, "tag", "baseline", check=True)
    procs = [
        subprocess.Popen(
            [*_expctl_bin(), "push", "origin"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(20)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    failed = [err for code, err in results if code != 0]
    assert not failed, failed[:2]
    assert not any("pull first" in err for _, err in results)
    remote = git(bare, "for-each-ref", "--format=%(refname) %(objectname)", "refs/expctl/runs/").stdout.split("\n")
    local = git(project, "for-each-ref", "--format=%(refname) %(objectname)", "refs/expctl/runs/").stdout.split("\n")
    assert sorted(remote) == sorted(local)


@pytest.mark.parametrize("name", ["main", "HEAD", "@", "refs/heads/main", "head"])
def test_ambiguous_tag_names_are_refused(project, name):
    run_expctl(project, "run", "-q", check=True)
    proc = run_expctl(project, "tag", name)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "invalid tag name" in proc.stderr, proc.stderr
    assert git(project, "tag", "--list").stdout == ""


def test_terminal_escapes_are_shown_not_obeyed(project):
    evil_name = "\x1b]0;pwned\x07run\x1b[2J"
    run_expctl(project, "run", "-q", "--name", evil_name, "-s", "name=\x1b[31mred\x1b[0m", check=True)
    run_expctl(project, "run", "-q", "-s", "name=plain", check=True)
    records = runs_json(project)
    evil = next(r for r in records if r["name"] == evil_name)
    other = next(r for r in records if r is not evil)
    for args in (["compare", "--runs"], ["show", evil["id"]], ["runs"], ["diff", evil["id"], other["id"]]):
        out = run_expctl(project, *args, check=True).stdout
        assert "\x1b" not in out and "\x07" not in out, (args, out)
    assert "\\x1b[31mred" in run_expctl(project, "show", evil["id"], check=True).stdout


ENV_PY = textwrap.dedent("""
    import os
    from expctl import track
    print("FOO is", os.environ.get("FOO"), flush=True)
    track.log_metrics(step=1, eval_accuracy=float(os.environ.get("FOO", "0")) / 10)
""")


def test_env_edits_in_expctl_toml_are_honoured(project):
    (project / "env.py").write_text(ENV_PY)
    toml = (project / "expctl.toml").read_text().replace("[env]\n", '[env]\nFOO = "1"\n', 1)
    (project / "expctl.toml").write_text(toml)
    set_command(project, "python3 env.py")
    (project / "run.sh").unlink()
    run_expctl(project, "init", check=True)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "env")
    (project / "expctl.toml").write_text((project / "expctl.toml").read_text().replace('FOO = "1"', 'FOO = "2"'))
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    assert record["metrics"]["final"]["eval_accuracy"] == 0.2  # [env] as it is now
    out = subprocess.run(["bash", "run.sh"], cwd=project, capture_output=True, text=True).stdout
    assert "FOO is 1" in out  # run by hand, run.sh keeps what it was written with


def test_a_stale_run_sh_is_refused_with_the_fix(project):
    (project / "env.py").write_text(ENV_PY)
    set_command(project, "python3 env.py")
    toml = (project / "expctl.toml").read_text().replace("[env]\n", '[env]\nFOO = "2"\n', 1)
    (project / "expctl.toml").write_text(toml)
    # a run.sh from the earlier template: [env] exported as it was at init, unconditionally
    text = (project / "run.sh").read_text()
    start = text.index('if [ -z "${EXPCTL_ENV_KEYS+set}" ]; then')
    end = text.index("fi\n", start) + 3
    (project / "run.sh").write_text(text[:start] + "export FOO='1'\n" + text[end:])
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1, proc.stderr
    assert "FOO" in proc.stderr and "rm run.sh && expctl init" in proc.stderr
    assert run_refs(project) == {}
    (project / "run.sh").unlink()
    run_expctl(project, "init", check=True)
    run_expctl(project, "run", "-q", check=True)
    assert runs_json(project)[0]["metrics"]["final"]["eval_accuracy"] == 0.2


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_max_untracked_mb_must_be_finite(project, value):
    toml = (project / "expctl.toml").read_text().replace("max_untracked_mb = 50", f"max_untracked_mb = {value}")
    (project / "expctl.toml").write_text(toml)
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1 and "max_untracked_mb" in proc.stderr, proc.stderr
    assert run_refs(project) == {}


@pytest.fixture
def full_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_messages_carry_the_hint(full_disk):
    from tests.reliability.conftest import make_project

    path = full_disk / "p"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    make_project(path)
    run_expctl(path, "run", "-q", check=True)
    with open(path / "runs" / "filler", "wb") as fh:  # ignored: fills the disk, not the snapshot
        try:
            while True:
                fh.write(b"f" * 65536)
                fh.flush()
        except OSError:
            pass
    for args in (["compare", "--runs", "--write", "RESULTS.md"], ["run", "-q"]):
        proc = run_expctl(path, *args)
        assert proc.returncode == 5, (args, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("expctl: error:")]
        assert len(lines) == 1 and "free some space and try again" in lines[0], proc.stderr
        assert "internal error" not in proc.stderr


@pytest.mark.parametrize("point", ["snapshot-index", "object-temp"])
def test_temp_files_left_by_sigkill_are_cleaned_by_the_next_run(project, point):
    (project / "notes.txt").write_text("dirty: a snapshot is written\n")
    proc = run_expctl(project, "run", "-q", env={"EXPCTL_TEST_CRASH_AT": point})
    assert proc.returncode == 137, proc.stderr
    gd = git_dir(project)
    leftovers = [p for p in (gd / "expctl" / "tmp").glob("*")] + list(gd.glob("objects/??/tmp_obj_expctl_*"))
    assert leftovers, "the crash left its temp files"
    run_expctl(project, "run", "-q", check=True)
    assert all(not p.exists() for p in leftovers), leftovers
    assert_healthy(project)
