"""expctl.runmetrics: metric events, final and best values, and the stage checks."""

from __future__ import annotations

import math

from expctl import runmetrics


def test_parse_events_keeps_numbers_and_counts_bad_lines_and_dropped_values():
    data = (
        '{"step": 1, "loss": 2.0, "note": "hi"}\n'
        "garbage\n"
        '{"step": "x", "epoch": 0.5, "acc": "nan", "flag": true}\n'
        '{"time": 3}\n'
        '{"step": 2, "big": ' + str(10**400) + "}\n"
    )
    events, bad, dropped = runmetrics.parse_events(data)
    assert bad == 1
    assert dropped == 3  # "hi", step "x", the bool
    assert events[0] == {"step": 1, "loss": 2.0}
    assert events[1]["epoch"] == 0.5 and math.isnan(events[1]["acc"]) and "step" not in events[1]
    assert events[2] == {"step": 2, "big": math.inf}
    assert len(events) == 3  # {"time": 3} holds no metric


def test_regex_events_count_steps_or_take_them_from_the_step_group(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("loss=0.9\nstep 10 acc 0.5\nloss=oops loss=0.7\nstep 20 acc 0.6\n")
    events = runmetrics.regex_events(
        log, {"loss": r"loss=([0-9.]+)", "acc": r"step (?P<step>\d+) acc (?P<value>[0-9.]+)"}
    )
    loss = [(e["step"], e["loss"]) for e in events if "loss" in e]
    acc = [(e["step"], e["acc"]) for e in events if "acc" in e]
    assert loss == [(1, 0.9), (2, 0.7)]
    assert acc == [(10, 0.5), (20, 0.6)]
    assert all(e["_source"] == "log" for e in events)
    assert runmetrics.regex_events(tmp_path / "missing.log", {"loss": "x"}) == []


def test_collect_takes_final_values_from_the_last_event_then_metrics_json(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"step": 1, "loss": 3.0, "acc": 0.1}\n{"step": 2, "loss": 1.0}\n')
    (tmp_path / "metrics.json").write_text('{"acc": 0.9, "name": "text"}')
    out = runmetrics.collect(tmp_path, tmp_path / "m.jsonl", {})
    assert len(out.events) == 2
    assert out.final == {"loss": 1.0, "acc": 0.9}


def test_collect_counts_an_unreadable_metrics_json_as_a_bad_line(tmp_path):
    (tmp_path / "metrics.json").write_text("{broken")
    out = runmetrics.collect(tmp_path, tmp_path / "none.jsonl", {})
    assert out.bad_lines == 1 and out.final == {} and out.events == []


def test_best_values_follow_each_metrics_direction_and_skip_non_finite():
    events = [{"step": 1, "loss": 2.0, "acc": 0.5}, {"step": 2, "loss": 1.0, "acc": math.nan}]
    best = runmetrics.best_values(events, {"acc": 0.4}, lambda k: "min" if k == "loss" else "max")
    assert best == {"loss": 1.0, "acc": 0.5}


def test_first_last():
    events = [{"a": 1.0}, {"b": 2.0}, {"a": 3.0}]
    assert runmetrics.first_last(events, "a") == (1.0, 3.0)
    assert runmetrics.first_last(events, "c") == (None, None)


def _check(check, events, final=None, tmp_path=None, **kw):
    return runmetrics.run_check(
        check, exit_code=kw.pop("exit_code", 0), events=events, final=final or {}, run_dir=tmp_path, **kw
    )


def test_check_none_passes_whatever_happened(tmp_path):
    assert _check("none", [], tmp_path=tmp_path, exit_code=1)["passed"]


def test_smoke_fails_on_exit_code_no_metrics_and_a_missing_primary_metric(tmp_path):
    r = _check("smoke", [], tmp_path=tmp_path, exit_code=2)
    assert not r["passed"] and r["reasons"] == ["exit code 2", "no metrics recorded"]
    r = _check("smoke", [{"step": 1, "loss": 1.0}], tmp_path=tmp_path, primary_metric="acc", expect_metrics=["acc"])
    assert r["reasons"] == ["primary metric acc never recorded (recorded: loss)"]
    assert _check("smoke", [{"step": 1, "acc": 1.0}], tmp_path=tmp_path, primary_metric="acc")["passed"]


def test_non_finite_values_expected_metrics_and_files(tmp_path):
    (tmp_path / "preds.jsonl").write_text("")
    r = _check(
        "metrics",
        [{"step": 1, "loss": math.inf}],
        tmp_path=tmp_path,
        expect_metrics=["acc"],
        expect_files=["preds.*", "model/*.bin"],
    )
    assert r["reasons"] == ["non-finite values in loss", "metric acc missing", "no file matches model/*.bin"]


def test_converge_compares_the_last_loss_with_the_first(tmp_path):
    ok = _check("converge", [{"train_loss": 2.0}, {"train_loss": 0.1}], tmp_path=tmp_path)
    assert ok["passed"] and ok["detail"]["ratio"] == 0.05
    slow = _check("converge", [{"train_loss": 2.0}, {"train_loss": 1.0}], tmp_path=tmp_path)
    assert not slow["passed"] and "fell only to 50.0%" in slow["reasons"][0]
    other = _check("converge", [{"eval_loss": 1.0}], tmp_path=tmp_path, loss_metric="train_loss")
    assert other["reasons"] == ["train_loss not recorded"]
    zero = _check("converge", [{"train_loss": 0.0}, {"train_loss": 0.0}], tmp_path=tmp_path)
    assert "cannot judge convergence" in zero["reasons"][0]
