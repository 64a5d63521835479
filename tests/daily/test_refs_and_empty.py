"""#18.5: ids match by their random suffix; empty listings say what to do; an empty log says
so; a --name another run has is refused."""

from __future__ import annotations

import json
import textwrap

from tests.conftest import git, run_expctl


def test_show_by_random_suffix(project):
    run_expctl(project, "run", "-q", check=True)
    rid = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)[0]["id"]
    suffix = rid.rsplit("-", 1)[1]
    shown = json.loads(run_expctl(project, "show", suffix, "--json", check=True).stdout)
    assert shown["id"] == rid
    assert run_expctl(project, "log", suffix, check=True).stdout.startswith("step 1")


def test_empty_listings_say_what_to_do(project, tmp_path):
    runs = run_expctl(project, "runs", check=True)
    assert "no runs yet: expctl run --stage smoke" in runs.stderr
    cmp = run_expctl(project, "compare", check=True)
    assert "expctl run --stage smoke" in cmp.stderr
    # a fresh clone: the records are on the remote, not here
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    runs = run_expctl(clone, "runs", check=True)
    assert "expctl pull origin" in runs.stderr


def test_empty_log_says_so(repo):
    (repo / "quiet.py").write_text("pass\n")
    (repo / "expctl.toml").write_text(
        textwrap.dedent("""
        [project]
        name = "q"
        command = "python3 quiet.py"
        default_stage = "none"
        [settings]
        seed = 1
    """)
    )
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    run_expctl(repo, "run", "-q", check=True)
    log = run_expctl(repo, "log", check=True)
    assert log.stdout == "" and "is empty" in log.stderr


def test_duplicate_name_is_refused_before_any_record(project):
    run_expctl(project, "run", "-q", "--name", "baseline", check=True)
    again = run_expctl(project, "run", "-q", "--name", "baseline")
    assert again.returncode == 7 and again.stderr.count("\n") == 1 and "baseline" in again.stderr
    assert len(json.loads(run_expctl(project, "runs", "--json", check=True).stdout)) == 1
    # a --seeds group shares one name
    run_expctl(project, "run", "-q", "--name", "grp", "--seeds", "2", check=True)
    assert [r["name"] for r in json.loads(run_expctl(project, "runs", "--json", check=True).stdout)].count("grp") == 2
