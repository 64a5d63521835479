"""Hostile and malformed input: settings values that look like shell, names git rejects,
a broken expctl.toml, damaged metrics.jsonl lines, and records edited by hand (in git,
in the records cache, in the run folder). Never a traceback, never a lost record."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.conftest import git, run_expctl
from tests.reliability.conftest import assert_healthy, run_refs, runs_json, set_command

NASTY = [
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned #",
    "a'b\"c",
    "line one\nline two",
    "tab\there",
    "&& rm -rf ./* ||",
    "*",
    "~",
    "\\",
    "-s",
    "--",
    "$HOME",
    "中文 value",
    "\x1b[31mred\x1b[0m",
    "",
]


@pytest.mark.parametrize("mode", ["file", "args"])
def test_shell_metacharacters_are_data(project, mode):
    toml = (project / "expctl.toml").read_text().replace('pass_settings = "file"', f'pass_settings = "{mode}"')
    toml = toml.replace("[settings]\n", "[settings]\n" + "".join(f'v{i} = ""\n' for i in range(len(NASTY))), 1)
    (project / "expctl.toml").write_text(toml)
    (project / "echo_args.py").write_text(
        textwrap.dedent("""
        import json, os, sys
        from expctl import track
        with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "argv.json"), "w") as fh:
            json.dump(sys.argv[1:], fh)
        track.log_metrics(step=1, eval_accuracy=1.0)
    """)
    )
    set_command(project, "python3 echo_args.py")
    args = [a for i, v in enumerate(NASTY) for a in ("-s", f"v{i}={v}")]
    run_expctl(project, "run", "-q", *args, "--", "$(touch pwned)", "x y", check=True)
    assert not list(project.rglob("pwned*"))
    (record,) = runs_json(project)
    assert [record["settings"][f"v{i}"] for i in range(len(NASTY))] == NASTY
    run_dir = project / "runs" / record["id"]
    argv = json.loads((run_dir / "argv.json").read_text())
    assert argv[-2:] == ["$(touch pwned)", "x y"]
    if mode == "args":
        for i, v in enumerate(NASTY):
            assert argv[argv.index(f"--v{i}") + 1] == v
    # command.sh is copy-paste safe: bash parses it back into exactly the program's argv
    words = subprocess.run(
        ["bash", "-c", 'eval "printf \'%s\\\\0\' $(cat "$1")"', "-", str(run_dir / "command.sh")],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")[:-1]
    assert [w.decode() for w in words] == record["command"] == ["python3", "echo_args.py", *argv]
    assert not list(project.rglob("pwned*"))


def test_nul_and_bad_keys_are_one_line_errors(project):
    for arg, code in [("name=a\x00b", None), ("bad key=1", 2), ("=1", 2), ("novalue", 2), ("nosuch=1", 3)]:
        try:
            proc = run_expctl(project, "run", "-q", "-s", arg)
        except ValueError:  # the OS itself refuses NUL in argv; nothing to test past it
            assert "\x00" in arg
            continue
        assert proc.returncode == code, (arg, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("expctl: error:"), proc.stderr
    assert run_refs(project) == {}


def test_very_long_values(project):
    long_value = "x" * 100_000
    run_expctl(project, "run", "-q", "-s", f"name={long_value}", check=True)
    (record,) = runs_json(project)
    assert record["settings"]["name"] == long_value
    # a default longer than one argv string may hold (128 KiB on Linux), passed as --name
    toml = (project / "expctl.toml").read_text().replace('pass_settings = "file"', 'pass_settings = "args"')
    (project / "expctl.toml").write_text(toml.replace('name = ""', f'name = "{"y" * 300_000}"', 1))
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "could not start run.sh" in proc.stderr
    failed = [r for r in runs_json(project) if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["exit_code"] == 127
    (project / "expctl.toml").write_text(toml)
    assert_healthy(project)


BAD_REF_NAMES = [
    "a..b",
    "-x",
    "a b",
    "a~1",
    "a^b",
    "a:b",
    "a?b",
    "a*b",
    "a[b",
    "x.lock",
    "/x",
    "x/",
    "a@{b",
    "a\\b",
    ".hidden",
    "a\nb",
    "a" * 300,
]


@pytest.mark.parametrize(
    "names", [["a..b", "-x", "a b", "x.lock", "a\nb"], pytest.param(BAD_REF_NAMES, marks=pytest.mark.slow, id="all")]
)
def test_tag_and_branch_names_git_rejects(project, names):
    run_expctl(project, "run", "-q", check=True)
    tags_before = git(project, "tag").stdout
    branches_before = git(project, "branch").stdout
    for name in names:
        # (explore prefixes "explore/", so "-x" makes the valid branch explore/-x: not tried)
        for cmd in (["tag", "--", name], *([["explore", "--", name]] if name != "-x" else [])):
            proc = run_expctl(project, *cmd)
            assert proc.returncode == 2, (cmd, proc.stderr)
            assert proc.stderr.startswith("expctl: error:") and "Traceback" not in proc.stderr, proc.stderr
    assert git(project, "tag").stdout == tags_before and git(project, "branch").stdout == branches_before
    assert_healthy(project)


MALFORMED_TOML = [
    b"[project\ncommand = 'x'",
    b"\xff\xfe not utf-8",
    b"[project]\ncommand = 3\n",
    b"[project]\ncommand = ''\n",
    b"[project]\ncommand = 'python \"unterminated'\n",
    b"[project]\nname = 'x'\n",
    b"[project]\ncommand = 'x'\ncomand = 'y'\n",
    b"[project]\ncommand = 'x'\n[stages.smoke]\ncheck = 'bogus'\n",
    b"[project]\ncommand = 'x'\n[stages]\nsmoke = 1\n",
    b"[project]\ncommand = 'x'\n[metrics.regex]\nloss = '(unclosed'\n",
    b"[project]\ncommand = 'x'\n[env]\n'BAD NAME' = '1'\n",
    b"[project]\ncommand = 'x'\npass_settings = 'smoke signals'\n",
    b"project = 1\n",
    b"",
]


@pytest.mark.parametrize(
    "text", [t if i in (0, 1, 6, 9) else pytest.param(t, marks=pytest.mark.slow) for i, t in enumerate(MALFORMED_TOML)]
)
def test_malformed_expctl_toml(project, text):
    (project / "expctl.toml").write_bytes(text)
    for cmd in (["run", "-q"], ["runs"], ["compare"]):
        proc = run_expctl(project, *cmd)
        assert proc.returncode in (3, 4), (cmd, text, proc.stderr)
        assert proc.stderr.startswith("expctl: error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert run_refs(project) == {}


METRICS_LINES = textwrap.dedent("""
    import os
    path = os.environ["EXPCTL_METRICS"]
    with open(path, "w") as fh:
        fh.write('{"step": 1, "train_loss": 1.0, "eval_accuracy": 0.5}\\n')
        fh.write('{"step": 2, "train_loss": NaN}\\n')
        fh.write('{"step": 3, "train_loss": Infinity, "eval_accuracy": -Infinity}\\n')
        fh.write('{"step": 4, "train_loss": "nan", "note": "hello", "nested": {"a": 1}, "flag": true}\\n')
        fh.write('{"step": "five", "eval_accuracy": 0.7}\\n')
        fh.write('{"step": NaN, "train_loss": 0.5}\\n')
        fh.write('{"step": Infinity, "train_loss": 0.25}\\n')
        fh.write('{"step": 8, "train_loss": 1%s}\\n' % ("0" * 400))
        fh.write('[1, 2, 3]\\n')
        fh.write('not json at all\\n')
        fh.write('\\x00\\x01 binary\\n')
        fh.write('{"step": 9, "eval_accuracy": 0.9}\\n')
        fh.write('{"step": 10, "eval_accuracy": 0.95, "train_lo')  # killed mid-write
""")


def test_damaged_metrics_lines(project):
    (project / "metrics_writer.py").write_text(METRICS_LINES)
    set_command(project, "python3 metrics_writer.py")
    proc = run_expctl(project, "run", "-q", "--stage", "smoke")
    assert proc.returncode == 6, proc.stderr  # the smoke check fails: non-finite values
    (record,) = runs_json(project)
    m = record["metrics"]
    assert record["status"] == "succeeded" and m["final"]["eval_accuracy"] == 0.9
    assert m["best"]["eval_accuracy"] == 0.9 and m["best"]["train_loss"] == 0.25
    assert m["bad_lines"] == 4  # the list, the two non-JSON lines and the partial last line
    assert m["dropped_values"] >= 5  # "hello", {...}, true, "five", NaN step, Infinity step
    assert not record["check"]["passed"] and any("non-finite" in r for r in record["check"]["reasons"])
    for cmd in (["show", record["id"]], ["compare", "--runs"], ["runs"], ["plot", record["id"], "--help"]):
        out = run_expctl(project, *cmd)
        assert out.returncode == 0 and "Traceback" not in out.stderr, (cmd, out.stderr)
    curve = git(project, "cat-file", "blob", f"refs/expctl/runs/{record['id']}:metrics.jsonl").stdout
    assert all(json.loads(line) for line in curve.splitlines())  # stored curve is strict JSON lines
    assert_healthy(project)


def _replace_record(project, run_id, new_blob: bytes) -> None:
    """Edit a record by hand the git way: a new record commit with another record.json, ref moved."""
    ref = f"refs/expctl/runs/{run_id}"
    old = git(project, "rev-parse", ref).stdout.strip()
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=project, input=new_blob, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    listing = git(project, "ls-tree", old).stdout
    lines = [line for line in listing.splitlines() if not line.endswith("\trecord.json")]
    lines.append(f"100644 blob {blob}\trecord.json")
    tree = subprocess.run(
        ["git", "mktree"], cwd=project, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    ).stdout.strip()
    commit = git(project, "commit-tree", tree, "-p", old, "-m", "edited by hand").stdout.strip()
    git(project, "update-ref", ref, commit, old)


def test_records_edited_by_hand(project):
    for i in range(5):
        run_expctl(project, "run", "-q", "--name", f"r{i}", "-s", f"acc=0.{i + 1}", check=True)
    records = {r["name"]: r for r in runs_json(project)}
    good = json.loads((project / "runs" / records["r0"]["id"] / "record.json").read_text())
    _replace_record(project, records["r1"]["id"], b'{"id": "truncated", "status": "succ')
    _replace_record(
        project,
        records["r2"]["id"],
        json.dumps({**good, "id": records["r2"]["id"], "metrics": "lots", "settings": [1]}).encode(),
    )
    _replace_record(project, records["r3"]["id"], json.dumps([1, 2, 3]).encode())
    # the cache and the mirror of a good record damaged too: neither may hide it
    cache = project / ".git" / "expctl" / "records-cache.jsonl"
    data = cache.read_bytes()
    r4 = (
        records["r4"]["_commit"]
        if "_commit" in records["r4"]
        else git(project, "rev-parse", f"refs/expctl/runs/{records['r4']['id']}").stdout.strip()
    )
    cache.write_bytes(data + f'{r4}\t{{"id": "broken'.encode() + b"\n" + b"\xff\xfe garbage\n" + data[:37])
    (project / "runs" / records["r4"]["id"] / "record.json").write_text("{ not json")
    for cmd in (
        ["runs"],
        ["runs", "--json"],
        ["compare"],
        ["compare", "--runs"],
        ["compare", "--json"],
        ["strategies"],
        ["show", records["r4"]["id"]],
    ):
        proc = run_expctl(project, *cmd)
        assert proc.returncode == 0, (cmd, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, (cmd, proc.stderr)
    proc = run_expctl(project, "runs", "--json")
    names = sorted(r["name"] for r in json.loads(proc.stdout))
    assert names == ["r0", "r4"]  # good records survive a damaged cache and mirror
    for name in ("r1", "r2", "r3"):
        assert f"run {records[name]['id']}:" in proc.stderr and "skipped" in proc.stderr
    compare = run_expctl(project, "compare", "--runs", "--json")
    assert sorted(row["run"] for row in json.loads(compare.stdout)) == sorted(records[n]["id"] for n in ("r0", "r4"))
    assert git(project, "fsck", "--strict").returncode == 0
