"""`expctl export tensorboard|csv`: read back with tensorboard's own reader and with csv,
matching the values in the run's record."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_expctl


def recorded(repo, run_id):
    """The run's curve as stored in git: {(step, metric): value}."""
    from tests.conftest import git

    blob = git(repo, "cat-file", "blob", f"refs/expctl/runs/{run_id}:metrics.jsonl").stdout
    out = {}
    for line in blob.splitlines():
        event = json.loads(line)
        for k, v in event.items():
            if k not in ("step", "time", "epoch"):
                out[(event["step"], k)] = v
    return out


def test_export_tensorboard_read_back_with_tensorboard(pictures, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = json.loads(run_expctl(pictures, "runs", "--json", check=True).stdout)
    ids = [r["id"] for r in runs[:2]]
    out = tmp_path / "tb"
    proc = run_expctl(pictures, "export", "tensorboard", *ids, "-o", str(out), check=True)
    assert proc.stderr == f"expctl: wrote 2 event file(s) under {out}/ (view: tensorboard --logdir {out})\n"
    for run_id in ids:
        acc = EventAccumulator(str(out / run_id))
        acc.Reload()
        got = {(e.step, tag): e.value for tag in acc.Tags()["scalars"] for e in acc.Scalars(tag)}
        want = recorded(pictures, run_id)
        assert set(got) == set(want) and len(got) > 60
        assert all(got[k] == pytest.approx(want[k], rel=1e-6) for k in want)  # float32 in the event file
        assert "settings" in acc.Tags()["tensors"]
    # again: the export replaces, never duplicates
    run_expctl(pictures, "export", "tensorboard", ids[0], "-o", str(out), check=True)
    assert len(list((out / ids[0]).glob("events.out.tfevents.*"))) == 1


def test_export_csv_is_tidy_with_settings(pictures, tmp_path):
    runs = json.loads(run_expctl(pictures, "runs", "--json", check=True).stdout)
    ids = [r["id"] for r in runs]
    text = run_expctl(pictures, "export", "csv", *ids, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    assert header[:7] == ["run", "name", "strategy", "stage", "step", "metric", "value"]
    assert {"acc", "lr", "seed", "overfit", "steps"} <= set(header)
    for run_id in ids:
        mine = {(int(r["step"]), r["metric"]): float(r["value"]) for r in rows if r["run"] == run_id}
        assert mine == pytest.approx(recorded(pictures, run_id))
    overfit = [r for r in rows if r["overfit"] == "150"]
    assert overfit and {r["lr"] for r in overfit} == {"0.02"} and {r["stage"] for r in rows} == {"small"}
    # -o writes the same table to a file
    out = tmp_path / "curves.csv"
    run_expctl(pictures, "export", "csv", *ids, "-o", str(out), check=True)
    assert out.read_text() == text


def test_export_refusals(pictures, tmp_path):
    proc = run_expctl(pictures, "export", "csv", "nosuch")
    assert proc.returncode == 4 and proc.stderr == "expctl: error: no run, tag or branch named 'nosuch'\n"
    proc = run_expctl(pictures, "export", "parquet", "baseline")
    assert proc.returncode == 2 and "parquet" in proc.stderr and "Traceback" not in proc.stderr
