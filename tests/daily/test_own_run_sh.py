"""#18.11: a project with its own run.sh: init is all-or-nothing, the user's run.sh is never
overwritten nor run, the launcher goes where it cannot collide."""

from __future__ import annotations

import json

from tests.conftest import git, run_expctl

OWN = "#!/bin/sh\necho the project's own script\n"


def test_init_beside_own_run_sh_and_run_uses_the_launcher(repo):
    (repo / "run.sh").write_text(OWN)
    (repo / "train.py").write_text(
        "from expctl import track\nprint('trained')\ntrack.log_metrics(step=1, eval_accuracy=0.5)\n"
    )
    init = run_expctl(repo, "init", "--command", "python3 train.py")
    assert init.returncode == 0, init.stderr
    assert (repo / "run.sh").read_text() == OWN
    assert (repo / "expctl-run.sh").is_file() and "expctl-run.sh" in init.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    run = run_expctl(repo, "run", "--stage", "smoke")
    assert "trained" in run.stdout and "own script" not in run.stdout
    record = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)
    assert record["metrics"]["final"]["eval_accuracy"] == 0.5
    again = run_expctl(repo, "init", check=True)  # idempotent
    assert "wrote" not in again.stderr


def test_run_refuses_a_run_sh_expctl_did_not_write(repo):
    (repo / "train.py").write_text("print('x')\n")
    run_expctl(repo, "init", "--command", "python3 train.py", check=True)
    (repo / "run.sh").write_text(OWN)  # replaced by the user's own after init
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    run = run_expctl(repo, "run")
    assert run.returncode == 3 and "not expctl's launcher" in run.stderr and "own script" not in run.stdout
    assert json.loads(run_expctl(repo, "runs", "--json", check=True).stdout) == []


def test_init_is_all_or_nothing(repo):
    run_expctl(repo, "init", "--command", "python3 a.py", check=True)
    toml = (repo / "expctl.toml").read_text()
    (repo / "run.sh").write_text((repo / "run.sh").read_text() + "# edited\n")
    (repo / "expctl.toml").unlink()
    (repo / ".gitignore").unlink()
    refused = run_expctl(repo, "init", "--command", "python3 a.py")
    assert refused.returncode == 7 and "nothing written" in refused.stderr
    assert not (repo / "expctl.toml").exists() and not (repo / ".gitignore").exists()
    run_expctl(repo, "init", "--command", "python3 a.py", "--force", check=True)
    assert (repo / "expctl.toml").read_text() == toml
