"""#18.10: expctl.api: runs() and compare() as records and as typed DataFrames."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from expctl import api
from tests.conftest import run_expctl


def test_runs_and_compare_as_records_and_typed_frames(project):
    run_expctl(project, "run", "-q", "-s", "acc=0.7", check=True)
    run_expctl(project, "run", "-q", "-s", "acc=0.9", "-s", "exit_code=0", check=True)
    records = api.runs(project, frame=False)
    assert [r["id"] for r in records] == [
        r["id"] for r in json.loads(run_expctl(project, "runs", "--json", check=True).stdout)
    ]
    df = api.runs(project)  # pandas is installed: a frame by default
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert df["settings.acc"].dtype == "float64" and df["settings.exit_code"].dtype == "Int64"
    assert df["metrics.eval_accuracy"].dtype == "float64"
    assert sorted(df["metrics.eval_accuracy"]) == [0.7, 0.9]
    assert str(df["started"].dtype).startswith("datetime64")
    assert list(api.runs(project, where=["eval_accuracy>0.8"])["metrics.eval_accuracy"]) == [0.9]
    rows = api.compare(project, runs=True, frame=False)
    assert sorted(r["value"] for r in rows) == [0.7, 0.9]
    cdf = api.compare(project, runs=True)
    assert cdf["value"].dtype == "float64" and "settings.acc" in cdf.columns


def test_importing_the_api_imports_no_pandas():
    code = "import sys, expctl.api; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
