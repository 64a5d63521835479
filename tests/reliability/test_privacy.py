"""What leaves the machine (issue 14, points 1 and 2): what a code snapshot captures, what
`push` sends, and that secrets planted everywhere a user might put them never reach any
object the remote receives.

Every planted secret holds the marker "s3cr3t" (except the short one, searched by value),
so one search of every object reachable on the remote finds any leak.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from tests.conftest import git, run_expctl
from tests.reliability.conftest import runs_json, set_command

MARK = b"s3cr3t"


def bare_remote(tmp_path: Path, project: Path, name: str = "origin") -> Path:
    bare = tmp_path / f"{name}.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", name, str(bare))
    return bare


def reachable_objects(bare: Path) -> bytes:
    """The content of every object reachable from any ref of the remote."""
    listing = subprocess.run(
        ["git", "rev-list", "--objects", "--all"], cwd=bare, capture_output=True, check=True, text=True
    ).stdout
    oids = "".join(line.split()[0] + "\n" for line in listing.splitlines() if line.strip())
    return subprocess.run(
        ["git", "cat-file", "--batch"], cwd=bare, input=oids.encode(), capture_output=True, check=True
    ).stdout


def test_snapshot_names_untracked_files_and_withholds_secret_looking_ones(project, tmp_path):
    (project / "local-notes.txt").write_text("todo: try rdrop\n")
    (project / "tok").mkdir()
    for name in ("tokenizer.json", "special_tokens_map.json"):  # model files, not secrets
        (project / "tok" / name).write_text("{}")
    secrets = {
        ".env": "API_KEY=env-s3cr3t\n",
        ".env.local": "X=envlocal-s3cr3t\n",
        "deploy.pem": "pem-s3cr3t",
        "server.key": "key-s3cr3t",
        "id_rsa": "rsa-s3cr3t",
        "conf/aws_credentials.ini": "aws-s3cr3t",
        ".netrc": "machine x password netrc-s3cr3t",
    }
    for name, text in secrets.items():
        (project / name).parent.mkdir(exist_ok=True)
        (project / name).write_text(text)
    (project / "train.py").write_text((project / "train.py").read_text() + "# edited\n")
    proc = run_expctl(project, "run", check=True)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("expctl: code "))
    # the run line names what went in: the changed file, the untracked one and its size
    assert (
        "changed train.py" in line
        and "untracked local-notes.txt, tok/special_tokens_map.json, tok/tokenizer.json (20 bytes)" in line
    ), line
    assert "look like secrets" in proc.stderr and ".env" in proc.stderr
    (record,) = runs_json(project)
    files = git(project, "ls-tree", "-r", "--name-only", record["code"]["commit"]).stdout.split()
    assert "local-notes.txt" in files and "train.py" in files and "tok/tokenizer.json" in files
    assert not set(secrets) & set(files), files
    assert {"path": "local-notes.txt", "size": 16} in record["code"]["untracked"]
    assert sorted(record["code"]["withheld"]) == sorted(secrets)
    shown = run_expctl(project, "show", record["id"], check=True).stdout
    assert "local-notes.txt" in shown and ".env" in shown


def test_secret_file_patterns_are_configurable_and_validated(project):
    (project / "team.key").write_text("public test fixture\n")
    (project / "private.cfg").write_text("x\n")
    toml = (
        (project / "expctl.toml")
        .read_text()
        .replace("[snapshot]\n", '[snapshot]\nsecret_files = ["*.cfg"]\nallow_secret_files = ["team.key"]\n', 1)
    )
    (project / "expctl.toml").write_text(toml)
    run_expctl(project, "run", "-q", check=True)
    (record,) = runs_json(project)
    files = git(project, "ls-tree", "-r", "--name-only", record["code"]["commit"]).stdout.split()
    assert "team.key" in files and "private.cfg" not in files
    bad = toml.replace('secret_files = ["*.cfg"]', 'secret_files = "*.cfg"')
    (project / "expctl.toml").write_text(bad)
    proc = run_expctl(project, "run", "-q")
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1 and "snapshot.secret_files" in proc.stderr


def test_push_sends_records_tags_explorations_and_current_branch_only(project, tmp_path):
    bare = bare_remote(tmp_path, project)
    run_expctl(project, "run", "-q", check=True)
    run_expctl(project, "tag", "baseline", check=True)
    git(project, "branch", "wip-private")
    run_expctl(project, "explore", "rdrop", check=True)
    run_expctl(project, "run", "-q", check=True)
    git(project, "switch", "-q", "main")
    dry = run_expctl(project, "push", "--dry-run", check=True)
    line = dry.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("expctl: would send to origin:"), line
    assert "2 run records" in line and "1 exploration record" in line and "tag baseline" in line, line
    assert "branches explore/rdrop, main" in line and "not sending branch wip-private" in line, line
    assert git(bare, "for-each-ref").stdout == ""  # --dry-run sent nothing
    proc = run_expctl(project, "push", check=True)
    assert "expctl: sending to origin: 2 run records" in proc.stderr
    remote_refs = git(bare, "for-each-ref", "--format=%(refname)").stdout.split()
    assert "refs/heads/main" in remote_refs and "refs/heads/explore/rdrop" in remote_refs
    assert "refs/tags/baseline" in remote_refs and "refs/heads/wip-private" not in remote_refs
    assert len([r for r in remote_refs if r.startswith("refs/expctl/runs/")]) == 2
    again = run_expctl(project, "push", "--dry-run", check=True)
    assert "nothing (the remote is up to date)" in again.stderr
    run_expctl(project, "push", "--all-branches", check=True)
    assert "refs/heads/wip-private" in git(bare, "for-each-ref", "--format=%(refname)").stdout


CHATTY = textwrap.dedent("""
    import json, os, sys
    from expctl import track
    s = track.settings()
    token = os.environ["GITHUB_TOKEN"]
    print("hub setting", s["hub"], flush=True)
    print("db password is", os.environ["DB_PASSWORD"], flush=True)
    print("argv", " ".join(sys.argv[1:]), flush=True)
    run_dir = os.environ["EXPCTL_RUN_DIR"]
    os.makedirs(os.path.join(run_dir, "checkpoints", "step-1"), exist_ok=True)
    with open(os.path.join(run_dir, "checkpoints.json"), "w") as fh:
        json.dump({"best": "checkpoints/step-1", "last": "checkpoints/step-1", "all": ["checkpoints/step-1"],
                   "note": "pushed with " + token}, fh)
    with open(os.path.join(run_dir, "predictions.jsonl"), "w") as fh:
        fh.write(json.dumps({"text": "uses " + token, "pred": 1, "gold": 1}) + "\\n")
    track.log_metrics(step=1, eval_accuracy=0.9)
""")


def test_planted_secrets_never_reach_the_remote(project, tmp_path):
    """-s value equal to a secret variable, a short secret in the log, files the program
    writes into the record, and secret arguments after `--`: none reaches the remote."""
    toml = (project / "expctl.toml").read_text().replace("[settings]\n", '[settings]\nhub = ""\n', 1)
    (project / "expctl.toml").write_text(toml)
    (project / "chatty.py").write_text(CHATTY)
    set_command(project, "python3 chatty.py")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "chatty")
    bare = bare_remote(tmp_path, project)
    env = {"GITHUB_TOKEN": "ghp_s3cr3t_token_0123", "DB_PASSWORD": "Zq9x"}
    run_expctl(
        project,
        "run",
        "-q",
        "-s",
        "hub=ghp_s3cr3t_token_0123",
        "--",
        "--api-key",
        "argkey-s3cr3t",
        "--hub_token=eqarg-s3cr3t",
        "--max_new_tokens",
        "64",
        env=env,
        check=True,
    )
    (record,) = runs_json(project)
    run_dir = project / "runs" / record["id"]
    assert b"Zq9x" in (run_dir / "train.log").read_bytes()  # the program got the real values
    assert record["settings"]["hub"] == "***"
    assert record["command"][-5:] == ["--api-key", "***", "--hub_token=***", "--max_new_tokens", "64"]
    run_expctl(project, "tag", "baseline", env=env, check=True)
    run_expctl(project, "push", env=env, check=True)
    sent = reachable_objects(bare)
    assert b"hub setting ***" in sent and b"argv --api-key *** --hub_token=***" in sent  # the log tail travelled...
    assert b"db password is ***" in sent  # ...with the short secret masked as a word
    assert MARK not in sent and b"Zq9x" not in sent
    tag_message = git(bare, "cat-file", "-p", "refs/tags/baseline").stdout
    assert "s3cr3t" not in tag_message
