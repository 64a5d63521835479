"""Stable code identity (issue 13, point 2): expctl's own outputs never make the tree
dirty, identical trees share one snapshot commit, and the run line names what went in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import git, run_expctl


def runs(project):
    return json.loads(run_expctl(project, "runs", "--json", check=True).stdout)


def test_identical_dirty_trees_share_one_snapshot_commit(project):
    (project / "notes.txt").write_text("scratch\n")
    first = run_expctl(project, "run", check=True)
    run_expctl(project, "run", "-q", check=True)
    a, b = runs(project)
    assert a["code"]["snapshot"] and b["code"]["snapshot"]
    assert a["code"]["commit"] == b["code"]["commit"]
    assert "untracked notes.txt (8 bytes)" in first.stderr
    (project / "notes.txt").write_text("scratch, edited\n")
    run_expctl(project, "run", "-q", check=True)
    assert runs(project)[0]["code"]["commit"] != a["code"]["commit"]


def test_python_bytecode_of_a_local_import_never_dirties_the_code(project):
    """A program importing a module of the project makes Python write __pycache__/ next to it
    (not git-ignored here): the next run is still the same, clean code, not a snapshot of it."""
    (project / "helper.py").write_text("ACC = 0.7\n")
    (project / "train.py").write_text("import helper\n" + (project / "train.py").read_text())
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a local module")
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    writes_bytecode = {"PYTHONDONTWRITEBYTECODE": ""}  # as on most machines
    run_expctl(project, "run", "-q", env=writes_bytecode, check=True)
    assert list((project / "__pycache__").glob("helper.*.pyc"))
    (project / "stray.pyc").write_bytes(b"\0")
    run_expctl(project, "run", "-q", env=writes_bytecode, check=True)
    second, first = runs(project)
    for code in (first["code"], second["code"]):
        assert code["commit"] == head and not code["snapshot"] and not code.get("untracked"), code


def test_expctl_outputs_never_dirty_the_code(project):
    head = git(project, "rev-parse", "HEAD").stdout.strip()
    run_expctl(project, "run", "-q", check=True)
    run_id = runs(project)[0]["id"]
    run_expctl(project, "compare", "--runs", "--write", "RESULTS.md", check=True)
    run_expctl(project, "plot", run_id, "--png", "curves.png", "--no-chart", check=True)
    run_expctl(project, "report", "--runs", "-o", "report.html", check=True)
    run_expctl(project, "export", "csv", run_id, "-o", "curves.csv", check=True)
    run_expctl(project, "export", "tensorboard", run_id, check=True)
    # track outside a run writes ./metrics.jsonl (here in a subfolder)
    (project / "nb").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPCTL_")}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from expctl import track; track.log_metrics(step=1, loss=0.5);track.log_metrics(step=2, loss=0.4)",
        ],
        cwd=project / "nb",
        env=env,
        check=True,
    )
    assert (project / "RESULTS.md").exists() and (project / "curves.png").exists()
    assert (project / "report.html").exists() and (project / "curves.csv").exists()
    assert list((project / "tensorboard").rglob("events.out.tfevents.*"))
    assert (project / "nb" / "metrics.jsonl").exists()
    run_expctl(project, "run", "-q", check=True)
    code = runs(project)[0]["code"]
    assert code["commit"] == head and not code["snapshot"], code
    # a file the user edits after expctl wrote it is code again
    (project / "RESULTS.md").write_text("my own notes\n")
    run_expctl(project, "run", "-q", check=True)
    code = runs(project)[0]["code"]
    assert code["snapshot"] and code["changed"] == ["RESULTS.md"], code
