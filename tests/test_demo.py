"""`expctl demo --fast`: the whole workflow, asserted from what it left behind."""

from __future__ import annotations

import json

from tests.conftest import git, run_expctl


def test_demo_fast(tmp_path):
    target = tmp_path / "demo"
    proc = run_expctl(tmp_path, "demo", "--fast", str(target), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # it prints the commands a user would type, in order
    steps = [
        "$ expctl init --trainer builtin",
        "$ expctl data stats data/train.tsv --dev data/dev.tsv",
        "$ expctl run --stage smoke",
        "$ expctl run --stage converge",
        "$ expctl run --stage small",
        "$ expctl tag baseline",
        "$ expctl explore rdrop",
        "$ expctl compare",
    ]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)
    # records: smoke, converge, small on main; small with R-Drop on the exploration
    records = json.loads(run_expctl(target, "runs", "--json", check=True).stdout)
    assert sorted(r["stage"] for r in records) == ["converge", "small", "small", "smoke"]
    assert all(r["status"] == "succeeded" and r["check"]["passed"] for r in records)
    rdrop = [r for r in records if r["code"]["branch"] == "explore/rdrop"]
    assert len(rdrop) == 1 and rdrop[0]["settings"]["tricks"]["rdrop"]["alpha"] == 4.0
    # tags and branches
    tags = git(target, "tag").stdout.split()
    branches = git(target, "branch", "--format=%(refname:short)").stdout.split()
    assert "baseline" in tags and "explore/rdrop" in branches
    rows = {r["strategy"]: r for r in json.loads(run_expctl(target, "compare", "--json", check=True).stdout)}
    base_small = next(r for r in records if r["stage"] == "small" and r["code"]["branch"] == "main")
    assert rows["baseline"]["run"] == base_small["id"]
    assert rows["baseline"]["value"] == base_small["metrics"]["final"]["eval_accuracy"]
    assert rows["rdrop"]["value"] == rdrop[0]["metrics"]["final"]["eval_accuracy"]
    if rows["rdrop"]["status"] == "promoted":
        assert "best-rdrop" in tags and rows["best-rdrop"]["value"] == rows["rdrop"]["value"]
    else:
        assert rows["rdrop"]["status"] == "abandoned" and rows["rdrop"]["value"] <= rows["baseline"]["value"]
    # the compare table printed at the end came from these runs
    final_table = out[out.rindex("$ expctl compare") :]
    assert f"{base_small['metrics']['final']['eval_accuracy']:.4g}".rstrip("0") in final_table
    # the model learned: above the majority baseline of the generated data
    assert base_small["metrics"]["final"]["eval_accuracy"] > 0.45
