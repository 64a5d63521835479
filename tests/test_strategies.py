"""expctl.strategies directly: tag messages, refusals, seed groups and the best group or run,
noise, and explorations stored in a real repository. The commands (tag, explore, promote,
abandon, strategies) end to end are in tests/strategy/test_strategy.py."""

from __future__ import annotations

import math

import pytest

from expctl import strategies
from expctl.gitlayer import Repo
from tests.conftest import git


def rec(rid, acc=None, seed=0, stage="small", status="succeeded", started=None, **settings):
    return {
        "id": rid,
        "stage": stage,
        "status": status,
        "started": started or rid,
        "primary_metric": "acc",
        "direction": "max",
        "settings": {"seed": seed, **settings},
        "metrics": {"final": {} if acc is None else {"acc": acc, "loss": 1 - acc}},
        "code": {"commit": "c0ffee"},
    }


def test_tag_message_round_trips_through_parse_tag_message():
    record = rec("r1", 0.75, lr=0.1, model={"name": "m"})
    text = strategies.tag_message("baseline", record, note="first try", forced="check failed")
    assert text.startswith("Strategy baseline\n\nfirst try\n\n")
    fields = strategies.parse_tag_message(text)
    assert fields[strategies.TAG_RUN_KEY] == "r1" and fields["expctl-stage"] == "small"
    assert fields["expctl-primary"] == "acc=0.75" and fields["expctl-code"] == "c0ffee"
    assert fields["expctl-metrics"] == '{"acc": 0.75}'  # the primary and eval_ metrics only
    assert fields["expctl-settings"] == '{"lr": 0.1, "model.name": "m", "seed": 0}'
    assert fields["expctl-forced"] == "check failed"
    assert strategies.parse_tag_message("no fields\nexpctl-x without colon\n") == {}


def test_check_refusal_only_for_a_failed_check():
    assert strategies.check_refusal({"check": {}}) is None
    assert strategies.check_refusal({"check": {"check": "metrics", "passed": True}}) is None
    why = strategies.check_refusal({"check": {"check": "converge", "passed": False, "reasons": ["flat", "nan"]}})
    assert why == "its converge check failed (flat; nan)"
    assert "no reason recorded" in strategies.check_refusal({"check": {"check": "metrics", "passed": False}})


def test_seed_split_keeps_the_first_run_of_each_seed():
    runs = [rec("r3", 0.7, seed=1), rec("r1", 0.6, seed=1), rec("r2", 0.8, seed=2), rec("r4", 0.5, seed=None)]
    distinct, repro = strategies.seed_split(runs)
    assert [r["id"] for r in distinct] == ["r1", "r2", "r4"] and [r["id"] for r in repro] == ["r3"]


def test_make_group_statistics_count_distinct_seeds_only():
    group = strategies.make_group([rec("r1", 0.6, seed=1), rec("r2", 0.8, seed=2), rec("r3", 0.9, seed=1)], "acc")
    assert group.n == 2 and group.mean == pytest.approx(0.7) and group.std == pytest.approx(math.sqrt(0.02))
    assert [r["id"] for r in group.reproductions] == ["r3"] and group.representative["id"] == "r3"  # newest first
    assert group.metric_means == pytest.approx({"acc": 0.7, "loss": 0.3})
    groups = strategies.make_groups([rec("a", 0.5, lr=1), rec("b", 0.6, lr=2), rec("c", 0.7, seed=5, lr=1)], "acc")
    assert sorted(g.n for g in groups) == [1, 2]


def test_primary_value_ignores_missing_and_non_finite():
    assert strategies.primary_value(rec("r", 0.5)) == 0.5
    assert strategies.primary_value(rec("r", 0.5), "loss") == 0.5
    assert strategies.primary_value(rec("r")) is None
    assert strategies.primary_value({**rec("r"), "metrics": {"final": {"acc": float("nan")}}}) is None
    assert strategies.primary_value({"id": "r"}) is None


def test_best_group_and_best_run_by_direction_and_stage():
    runs = [
        rec("a1", 0.9, seed=1, stage="smoke"),
        rec("b1", 0.6, seed=1, lr=1),
        rec("b2", 0.7, seed=2, lr=1),
        rec("c1", 0.8, seed=1, lr=2),
        rec("d1", 0.99, seed=1, lr=3, status="failed"),
    ]
    best = strategies.best_group(runs, "acc", "max", stage_order=["smoke", "small", "full"])
    assert {r["id"] for r in best.runs} == {"c1"}  # the furthest stage reached; failed runs never count
    assert strategies.best_group(runs, "acc", "min", stage="small").mean == pytest.approx(0.65)
    assert strategies.best_group(runs, "acc", "max", stage="full") is None
    assert strategies.best_run(runs)["id"] == "a1"  # no stage order: every succeeded run competes
    assert strategies.best_run([]) is None and strategies.best_run([rec("x", 0.1, status="failed")]) is None
    assert strategies.stage_rank("small", ["smoke", "small"]) == 1 and strategies.stage_rank("x", ["smoke"]) == -1


def test_within_noise_needs_two_seeds_somewhere():
    g = strategies.Group
    assert strategies.within_noise(g([], 0.7, None, 1), g([], 0.8, None, 1)) is None
    assert strategies.within_noise(g([], None, None, 0), g([], 0.8, 0.1, 3)) is None
    assert strategies.within_noise(g([], 0.70, 0.05, 3), g([], 0.74, 0.05, 3)) is True
    assert strategies.within_noise(g([], 0.70, 0.01, 3), g([], 0.80, None, 1)) is False


def test_explorations_and_tags_in_a_real_repository(repo):
    r = Repo.open(repo)
    assert strategies.load_explorations(r) == {} and strategies.list_tags(r) == []
    strategies.save_exploration(r, {"name": "wider", "status": "open", "created": 1})
    strategies.save_exploration(r, {"name": "wider", "status": "abandoned", "created": 1, "why": "no gain"})
    assert strategies.load_explorations(r) == {
        "wider": {"name": "wider", "status": "abandoned", "created": 1, "why": "no gain"}
    }
    log = git(repo, "log", "--format=%s", strategies.STRATEGY_REF + "wider").stdout.split("\n")
    assert log[:2] == ["expctl strategy wider: abandoned", "expctl strategy wider: open"]  # a commit chain
    git(repo, "tag", "-a", "plain", "-m", "not made by expctl")
    git(repo, "tag", "-a", "base", "-m", strategies.tag_message("base", rec("r7", 0.5)))
    git(repo, "tag", "light")
    tags = strategies.list_tags(r)
    assert [t["name"] for t in tags] == ["base"] and tags[0]["run"] == "r7"
    assert tags[0]["commit"] == git(repo, "rev-parse", "HEAD").stdout.strip()
    assert strategies.tag_run_id(r, "base") == "r7" and strategies.tag_run_id(r, "plain") is None
