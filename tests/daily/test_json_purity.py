"""#18.3: with --json, stdout holds only JSON (the programs' own output goes to stderr)."""

from __future__ import annotations

import json

from tests.conftest import run_expctl


def test_sweep_and_reproduce_json_stdout_is_only_json(project):
    sweep = run_expctl(project, "sweep", "-s", "acc=0.7,0.9", "--stage", "smoke", "--json", check=True)
    data = json.loads(sweep.stdout)  # the program printed "step 1 loss=..." for each run
    assert data["runs"] == 3  # the base value 0.8 and the two others
    assert "step 1 loss=" in sweep.stderr and "step 1" not in sweep.stdout
    rid = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)[0]["id"]
    rep = run_expctl(project, "reproduce", rid, "--json", check=True)
    out = json.loads(rep.stdout)
    assert out["reproduced"] is True and "step 1 loss=" in rep.stderr
