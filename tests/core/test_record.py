"""expctl/record.py: the record view's accessors and the one constructor of new records."""

from __future__ import annotations

from expctl import recordschema
from expctl.record import SCHEMA, Record


def _new(**kw):
    base = dict(
        name=None,
        stage="smoke",
        status="running",
        started=1_800_000_000.25,
        command=["python3", "train.py"],
        settings={"lr": 0.1, "seed": 1},
        code={"commit": "c" * 40, "branch": "main", "tree": "t" * 40, "head": "h" * 40},
        data={},
        env={"world_size": 1},
        primary_metric="eval_accuracy",
        direction="max",
    )
    base.update(kw)
    return Record.new("20270115-080000-abcdef", **base)


def test_accessors_give_empty_tables_for_missing_or_null_fields():
    r = Record({"id": "x", "metrics": None, "code": None})
    assert (r.id, r.status, r.name, r.stage) == ("x", None, None, None)
    assert r.final == {} and r.metrics == {} and r.settings == {} and r.code == {}
    assert (r.commit, r.branch, r.tree, r.head) == (None, None, None, None)
    assert r.env == {} and r.data == {} and r.data_inputs == {} and r.slurm == {}
    assert r.check == {} and r.checkpoints == {}


def test_accessors_read_the_dict_without_copying_it():
    raw = {"id": "x", "metrics": {"final": {"acc": 0.5}}, "settings": {"lr": 1}, "code": {"commit": "abc"}}
    r = Record(raw)
    assert r.final == {"acc": 0.5} and r.final is raw["metrics"]["final"]
    assert r.settings is raw["settings"] and r.commit == "abc" and r.raw is raw


def test_new_builds_a_record_that_passes_the_record_check():
    r = _new(process={"host": "h", "pid": 1})
    raw = r.raw
    assert raw["schema"] == SCHEMA and raw["id"] == "20270115-080000-abcdef"
    assert raw["started"] == "2027-01-15T08:00:00Z" and raw["started_unix"] == 1_800_000_000.25
    assert raw["ended"] is None and raw["duration_s"] is None and raw["exit_code"] is None
    assert raw["metrics"] == {"final": {}, "best": {}, "events": 0}
    assert raw["check"] is None and raw["checkpoints"] is None and raw["process"] == {"host": "h", "pid": 1}
    assert "submitted" not in raw
    assert recordschema.problems(raw) == []


def test_new_for_a_submission_and_for_a_finished_record():
    queued = _new(status="queued", submitted=True).raw
    assert queued["submitted"] == queued["started"] and "process" not in queued
    done = _new(status="succeeded", exact_start=False, ended=1_800_000_000.25, exit_code=0, ensemble={"mode": "x"})
    raw = done.raw
    assert "started_unix" not in raw and raw["ended"] == raw["started"] and raw["duration_s"] == 0.0
    assert list(raw)[-1] == "ensemble" and recordschema.problems(raw) == []
