"""Secrets: environment variables named like TOKEN / KEY / SECRET / PASSWORD and
credentials in URLs never reach anything expctl stores: the run folder's captured files,
git objects (reachable or not), the records cache, and what `push` sends.

Every planted value contains the marker "s3cr3t" (never a variable name), so one search
for the marker finds any leak.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import zlib
from pathlib import Path

from tests.conftest import git, run_expctl
from tests.reliability.conftest import git_dir, runs_json, set_command

MARK = b"s3cr3t"
ENV = {
    "HF_TOKEN": "hf_s3cr3t_token_value",
    "WANDB_API_KEY": "wandb-s3cr3t-api-key",
    "AWS_SECRET_ACCESS_KEY": "aws/s3cr3t/access",
    "DB_PASSWORD": "pw-s3cr3t-db",
    "HF_ENDPOINT": "https://alice:url-s3cr3t-pass@hub.example.com/models",
    "PYTHON_INDEX": "https://ghp_s3cr3tOnlyUserToken@github.com/org/repo.git",
    "TORCH_HOME_URL": "https://bob:p@ss-s3cr3t@mirror.example.com",
}

PROGRAM = textwrap.dedent("""
    import os, sys
    from expctl import track
    # a chatty program: prints what it was given, as many libraries do
    print("endpoint", os.environ["HF_ENDPOINT"], flush=True)
    print("key", os.environ["WANDB_API_KEY"], flush=True)
    print("argv", sys.argv[1:], flush=True)
    track.log_metrics(step=1, eval_accuracy=0.9)
""")


def all_objects(repo: Path) -> bytes:
    """The content of every object in the database, reachable or not, loose or packed."""
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"], cwd=repo, capture_output=True, check=True
    ).stdout


def test_secrets_never_stored_or_pushed(project, tmp_path):
    toml = (project / "expctl.toml").read_text().replace('pass_settings = "file"', 'pass_settings = "args"')
    toml = toml.replace("[settings]\n", '[settings]\napi_key = ""\ndata_url = ""\n', 1)
    (project / "expctl.toml").write_text(toml)
    (project / "chatty.py").write_text(PROGRAM)
    set_command(project, "python3 chatty.py")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "chatty program")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(project, "remote", "add", "origin", str(bare))
    git(project, "remote", "add", "mirror", "https://carol:remote-s3cr3t@git.example.com/x.git")
    (project / "untracked.txt").write_text("dirty tree: a snapshot commit is written too\n")
    settings = ["-s", "api_key=setting-s3cr3t-key", "-s", "data_url=https://dave:data-s3cr3t@data.example.com/set"]
    run_expctl(project, "run", "-q", *settings, "--", "--hub", ENV["HF_ENDPOINT"], env=ENV, check=True)
    run_expctl(project, "push", "origin", env=ENV, check=True)

    (record,) = runs_json(project)
    run_dir = project / "runs" / record["id"]
    # the program did get the real values (they are its input)...
    assert b"url-s3cr3t-pass" in (run_dir / "train.log").read_bytes()
    assert json.loads((run_dir / "settings.json").read_text())["api_key"] == "setting-s3cr3t-key"
    # ...and nothing expctl captured holds them
    for name in ("record.json", "env.json", "command.sh", "exit_status.json", "metrics.jsonl"):
        assert MARK not in (run_dir / name).read_bytes(), name
    env = json.loads((run_dir / "env.json").read_text())["environ"]
    assert env["HF_TOKEN"] == "***" and env["HF_ENDPOINT"] == "https://alice:***@hub.example.com/models"
    assert env["PYTHON_INDEX"] == "https://***@github.com/org/repo.git"
    assert record["settings"]["api_key"] == "***"
    assert record["settings"]["data_url"] == "https://dave:***@data.example.com/set"
    assert "--api_key" in record["command"] and "setting-s3cr3t-key" not in " ".join(record["command"])
    # git: every object, reachable or not; the records cache; everything else under .git
    # except config (where the user keeps the remote URL)
    assert MARK not in all_objects(project)
    gd = git_dir(project)
    assert (gd / "expctl" / "records-cache.jsonl").exists()
    for path in gd.rglob("*"):
        if path.is_file() and path.name != "config":
            data = path.read_bytes()
            if "/objects/" in str(path) and path.parent.name != "pack" and len(path.parent.name) == 2:
                data = zlib.decompress(data)
            assert MARK not in data, path
    log_tail = git(project, "cat-file", "blob", f"refs/expctl/runs/{record['id']}:log_tail.txt").stdout
    assert "endpoint https://alice:***@hub.example.com/models" in log_tail and "key ***" in log_tail
    # what push sent
    assert git(bare, "rev-parse", f"refs/expctl/runs/{record['id']}").returncode == 0
    assert MARK not in all_objects(bare)
    for path in bare.rglob("*"):
        if path.is_file() and "objects" not in path.parts:
            assert MARK not in path.read_bytes(), path
