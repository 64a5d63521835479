"""Points 6 and 7 of issue 13: machine-readable output, one stage at a time, one filter language."""

from __future__ import annotations

import csv
import io
import json

from tests.conftest import run_expctl
from tests.honest.conftest import cjson, runs_json


def table_of(text, fmt="csv"):
    return list(csv.DictReader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))


def test_compare_csv_tsv_one_number_per_cell_ascii_headers(hproject):
    repo = hproject
    for seed in (0, 1, 2):
        run_expctl(repo, "run", "--stage", "small", "-s", f"seed={seed}", check=True)
    run_expctl(repo, "tag", "baseline", check=True)
    run_expctl(repo, "explore", "wide", check=True)
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.81", check=True)
    for fmt in ("csv", "tsv"):
        out = run_expctl(repo, "compare", "--format", fmt, check=True).stdout
        assert out.isascii()
        rows = table_of(out, fmt)
        base, wide = rows
        assert list(base)[:10] == [
            "strategy",
            "kind",
            "status",
            "stage",
            "eval_accuracy_mean",
            "eval_accuracy_std",
            "eval_accuracy_n",
            "delta",
            "within_noise",
            "eval_f1",
        ]
        assert (
            abs(float(base["eval_accuracy_mean"]) - 0.821) < 1e-9
            and abs(float(base["eval_accuracy_std"]) - 0.001) < 1e-9
        )
        assert base["eval_accuracy_n"] == "3" and base["delta"] == "" and base["within_noise"] == ""
        assert abs(float(wide["delta"]) - (0.83 - 0.821)) < 1e-9 and wide["within_noise"] == "false"
    rows = cjson(repo)
    assert isinstance(rows[1]["delta"], float) and rows[1]["within_noise"] is False


def test_runs_csv_has_one_column_per_metric(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "small", check=True)
    rows = table_of(run_expctl(repo, "runs", "--format", "csv", check=True).stdout)
    assert rows[0]["eval_accuracy"] == "0.82" and rows[0]["eval_f1"] == "0.77" and "metric" not in rows[0]


def test_compare_shows_one_stage_at_a_time(hproject):
    repo = hproject
    run_expctl(repo, "run", "--stage", "smoke", "-s", "acc=0.5", check=True)
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.5", check=True)
    run_expctl(repo, "tag", "baseline", check=True)
    run_expctl(repo, "explore", "other", check=True)
    run_expctl(repo, "run", "--stage", "smoke", "-s", "acc=0.9", check=True)
    proc = run_expctl(repo, "compare", "--json", check=True)
    rows = {r["strategy"]: r for r in json.loads(proc.stdout)}
    # the latest stage that every row has is smoke: both rows at smoke, delta within it
    assert {r["stage"] for r in rows.values()} == {"smoke"}
    assert abs(rows["other"]["delta"] - 0.4) < 1e-9
    small = {r["strategy"]: r for r in cjson(repo, "--stage", "small")}
    assert list(small) == ["baseline"] and small["baseline"]["stage"] == "small"
    err = run_expctl(repo, "compare", "--stage", "small", check=True).stderr
    assert "not in this table" in err and "other" in err
    text = run_expctl(repo, "compare", check=True).stderr
    assert "stage smoke" in text and "small" in text


def test_where_operators_since_and_unknown_keys(hproject):
    repo = hproject
    for acc, lr, seed in ((0.80, 0.001, 1), (0.85, 0.003, 2), (0.90, 0.001, 3)):
        run_expctl(
            repo, "run", "--stage", "small", "-s", f"acc={acc}", "-s", f"lr={lr}", "-s", f"seed={seed}", check=True
        )
    run_expctl(repo, "run", "--stage", "smoke", "-s", "acc=0.7", "-s", "skip_eval=true")  # check fails, run succeeds

    def accs(*args):
        return sorted(r["settings"]["acc"] for r in runs_json(repo, *args))

    assert accs("--where", "eval_accuracy>0.88") == [0.90]  # 0.821, 0.872, 0.923
    assert accs("--where", "eval_accuracy>=0.872") == [0.85, 0.90]
    assert accs("--where", "lr!=1e-3") == [0.85]
    assert accs("--where", "lr=1e-3", "--where", "stage=small") == [0.80, 0.90]
    assert accs("--where", "seed in 1,3") == [0.80, 0.90]
    assert accs("--where", "status=succeeded", "--where", "stage=smoke") == [0.7]
    assert accs("--since", "1h") == [0.7, 0.8, 0.85, 0.9] and accs("--since", "2099-01-01") == []
    ids = [r["settings"]["acc"] for r in runs_json(repo, "--where", "stage=small", "--sort", "eval_accuracy")]
    assert ids == [0.90, 0.85, 0.80]  # a metric sorts best first
    runs = json.loads(
        run_expctl(repo, "compare", "--runs", "--where", "eval_accuracy<0.85", "--json", check=True).stdout
    )
    assert [r["value"] for r in runs] == [0.821]
    for cmd in (("runs",), ("compare",), ("compare", "--runs")):
        bad = run_expctl(repo, *cmd, "--where", "eval_acuracy>0.8")
        assert bad.returncode == 2 and "did you mean 'eval_accuracy'" in bad.stderr and "Traceback" not in bad.stderr
        bad_sort = run_expctl(repo, *cmd, "--sort", "eval_acuracy")
        assert bad_sort.returncode == 2 and "did you mean 'eval_accuracy'" in bad_sort.stderr
    empty = run_expctl(repo, "runs", "--where", "acc>5", check=True)
    assert empty.stderr.strip() == "expctl: no runs match"
    empty = run_expctl(repo, "compare", "--runs", "--where", "acc>5", check=True)
    assert "no runs match" in empty.stderr
    assert run_expctl(repo, "runs", "--where", "acc~1").returncode == 2
