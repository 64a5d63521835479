"""#18.9: `expctl rm`: confirmation, --dry-run, --where, and the deletion carried to the
remote so that the next pull does not bring the record back."""

from __future__ import annotations

import json

from expctl import removal
from expctl.gitlayer import Repo
from tests.conftest import git, run_expctl
from tests.daily.conftest import in_pty, push_and_clone


def _ids(path):
    return [r["id"] for r in json.loads(run_expctl(path, "runs", "--json", check=True).stdout)]


def test_rm_dry_run_confirmation_and_where(project):
    run_expctl(project, "run", "-q", "-s", "acc=0.1", check=True)
    run_expctl(project, "run", "-q", "-s", "acc=0.9", check=True)
    low, high = sorted(
        json.loads(run_expctl(project, "runs", "--json", check=True).stdout),
        key=lambda r: r["metrics"]["final"]["eval_accuracy"],
    )
    dry = run_expctl(project, "rm", "--where", "eval_accuracy<0.5", "--dry-run", check=True)
    assert low["id"] in dry.stdout and high["id"] not in dry.stdout and "would delete 1 run(s)" in dry.stderr
    assert len(_ids(project)) == 2 and (project / "runs" / low["id"]).is_dir()
    no_tty = run_expctl(project, "rm", low["id"])  # no terminal to ask on: refused, nothing gone
    assert no_tty.returncode == 7 and "--yes" in no_tty.stderr and len(_ids(project)) == 2
    code, text = in_pty(project, "rm", low["id"], input=b"n\n", timeout=60)  # asked on the terminal: no
    assert "delete 1 run(s)" in text and low["id"] in text and "nothing deleted" in text, text
    assert len(_ids(project)) == 2
    run_expctl(project, "rm", "--where", "eval_accuracy<0.5", "--yes", check=True)
    assert _ids(project) == [high["id"]] and not (project / "runs" / low["id"]).exists()
    assert run_expctl(project, "show", low["id"]).returncode == 4


def test_rm_refuses_a_tagged_run_without_force(project):
    run_expctl(project, "run", "-q", check=True)
    (rid,) = _ids(project)
    run_expctl(project, "tag", "base", rid, check=True)
    refused = run_expctl(project, "rm", rid, "--yes")
    assert refused.returncode == 7 and "tag base" in refused.stderr and _ids(project) == [rid]
    run_expctl(project, "rm", rid, "--yes", "--force", check=True)
    assert _ids(project) == []


def test_deletion_is_pushed_and_never_comes_back_on_pull(project, tmp_path):
    for acc in ("0.1", "0.9"):
        run_expctl(project, "run", "-q", "-s", f"acc={acc}", check=True)
    clone = push_and_clone(project, tmp_path)
    assert len(_ids(clone)) == 2
    gone, kept = _ids(project)
    run_expctl(project, "rm", gone, "--yes", check=True)
    run_expctl(project, "pull", check=True)  # before pushing: the remote still has it, yet it stays gone
    assert _ids(project) == [kept]
    dry = run_expctl(project, "push", "--dry-run", check=True)
    assert (
        "deleting 1 record(s)" in dry.stderr
        and f"refs/expctl/runs/{gone}" in git(project, "ls-remote", "origin").stdout
    )
    run_expctl(project, "push", check=True)
    assert f"refs/expctl/runs/{gone}" not in git(project, "ls-remote", "origin").stdout
    run_expctl(project, "pull", check=True)
    assert _ids(project) == [kept]
    run_expctl(clone, "pull", check=True)  # the other clone learns of the deletion
    assert _ids(clone) == [kept]
    run_expctl(clone, "push", check=True)  # and does not send it back
    assert f"refs/expctl/runs/{gone}" not in git(project, "ls-remote", "origin").stdout


def test_gc_reports_what_it_could_reclaim(project):
    run_expctl(project, "run", "-q", check=True)
    (rid,) = _ids(project)
    ck = project / "runs" / rid / "checkpoints"
    ck.mkdir()
    (ck / "model.bin").write_bytes(b"\0" * 200_000)
    gc = run_expctl(project, "gc", check=True)
    assert "could be reclaimed" in gc.stderr and "gc --checkpoints" in gc.stderr
    dry = run_expctl(project, "rm", rid, "--dry-run", check=True)
    assert "kept" in dry.stdout  # checkpoints stay by default
    run_expctl(project, "rm", rid, "--yes", check=True)
    assert (ck / "model.bin").is_file() and not (project / "runs" / rid / "train.log").exists()


# --- the module's functions directly ---------------------------------------------------------


def test_tombstones_and_the_push_specs_that_carry_them(repo):
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    for ref in ("refs/expctl/deleted/r1", "refs/expctl/deleted/r2", "refs/expctl/runs/r3"):
        git(repo, "update-ref", ref, head)
    r = Repo.open(repo)
    assert removal.tombstones(r) == {"r1", "r2"}
    remote = {"refs/expctl/runs/r2": head, "refs/expctl/runs/r3": head}
    assert removal.push_specs(r, remote) == [":refs/expctl/runs/r2"]  # only what the remote still has
    assert removal.push_specs(r, {}) == []
