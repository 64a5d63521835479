"""`expctl gc --checkpoints` (issue 20, point 5): a dry run with sizes first; --yes deletes the
checkpoints of runs no tag or open exploration references; records stay."""

from __future__ import annotations

import json

import pytest

from expctl import ckptgc
from tests.conftest import commit_project, git

PROGRAM = """\
import json, os
run = os.environ["EXPCTL_RUN_DIR"]
for kind in ("best", "last"):
    os.makedirs(os.path.join(run, "checkpoints", kind), exist_ok=True)
    with open(os.path.join(run, "checkpoints", kind, "model.bin"), "wb") as fh:
        fh.write(os.urandom(200_000))
with open(os.environ["EXPCTL_METRICS"], "a") as fh:
    fh.write(json.dumps({"step": 1, "eval_accuracy": 0.5}) + "\\n")
"""
CONFIG = """\
[project]
name = "p"
command = "python3 train.py"
primary_metric = "eval_accuracy"
[settings]
lr = 0.1
"""


def _run(repo, expctl):
    expctl(repo, "run", check=True)
    return json.loads(expctl(repo, "show", "--json", check=True).stdout)["id"]


def test_gc_checkpoints_dry_run_then_delete_unreferenced(repo, expctl):
    commit_project(repo, PROGRAM, CONFIG)
    old = _run(repo, expctl)
    tagged = _run(repo, expctl)
    expctl(repo, "tag", "baseline", tagged, check=True)
    expctl(repo, "explore", "bigger-lr", check=True)
    (repo / "expctl.toml").write_text(CONFIG.replace("0.1", "0.2"))
    git(repo, "commit", "-qam", "lr 0.2")
    explored = _run(repo, expctl)
    git(repo, "checkout", "-q", "main")
    other = _run(repo, expctl)  # same code as the tagged run, but not the run the tag names
    dry = expctl(repo, "gc", "--checkpoints", check=True)
    assert "dry run" in dry.stderr and "--yes" in dry.stderr
    assert (repo / "runs" / old / "checkpoints").is_dir()  # nothing deleted by a dry run
    listed = {line.split()[0] for line in dry.stdout.splitlines()[2:] if line.strip()}
    assert listed == {old, other}
    assert f"{tagged} (tag baseline)" in dry.stderr and f"{explored} (exploration bigger-lr)" in dry.stderr
    sizes = [float(line.split()[-2]) for line in dry.stdout.splitlines()[2:] if line.strip()]
    assert all(
        400 <= kb <= 420 and line_unit == "KB"
        for kb, line_unit in zip(sizes, [ln.split()[-1] for ln in dry.stdout.splitlines()[2:] if ln.strip()])
    )  # 2 x 200 kB each
    assert "would free 8" in dry.stderr
    done = expctl(repo, "gc", "--checkpoints", "--yes", check=True)
    assert "freed" in done.stderr
    for rid in (old, other):
        assert not (repo / "runs" / rid / "checkpoints").exists()
        assert (repo / "runs" / rid / "settings.json").exists()
    for rid in (tagged, explored):
        assert (repo / "runs" / rid / "checkpoints" / "best" / "model.bin").is_file()
    ids = {r["id"] for r in json.loads(expctl(repo, "runs", "--json", check=True).stdout)}
    assert {old, tagged, explored, other} <= ids  # records stay


def test_gc_checkpoints_table_in_every_format(repo, expctl):
    import csv
    import io

    commit_project(repo, PROGRAM, CONFIG)
    rid = _run(repo, expctl)
    header = ["run", "stage", "started", "checkpoints", "size"]
    rows = json.loads(expctl(repo, "gc", "--checkpoints", "--json", check=True).stdout)
    assert [r["run"] for r in rows] == [rid] and set(rows[0]) == set(header)
    out = expctl(repo, "gc", "--checkpoints", "--format", "csv", check=True).stdout
    assert [r[0] for r in csv.reader(io.StringIO(out))] == ["run", rid]
    out = expctl(repo, "gc", "--checkpoints", "--format", "tsv", check=True).stdout
    assert [line.split("\t")[0] for line in out.splitlines()] == ["run", rid]
    out = expctl(repo, "gc", "--checkpoints", "--format", "markdown", check=True).stdout
    assert out.splitlines()[0].split("|")[1].strip() == "run" and f"| {rid} " in out
    assert (repo / "runs" / rid / "checkpoints").is_dir()  # still a dry run in every format


# --- the module's functions directly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (1_234_567, "1.2 MB"),
        (5 * 10**9, "5.0 GB"),
        (7 * 10**12, "7000.0 GB"),
    ],
)
def test_human_sizes(n, text):
    assert ckptgc.human(n) == text


def test_rows_name_each_candidate_with_its_size_and_a_dash_for_no_stage():
    cands = [
        ckptgc.Candidate("r1", "small", "2026-01-01T00:00:00", "runs/r1/checkpoints", 2_500_000),
        ckptgc.Candidate("r2", None, None, "runs/r2/checkpoints", 10),
    ]
    assert ckptgc.rows(cands) == [
        {
            "run": "r1",
            "stage": "small",
            "started": "2026-01-01T00:00:00",
            "checkpoints": "runs/r1/checkpoints",
            "size": "2.5 MB",
        },
        {"run": "r2", "stage": "-", "started": None, "checkpoints": "runs/r2/checkpoints", "size": "10 B"},
    ]
