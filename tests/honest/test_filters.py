"""expctl.filters as a plain module: the --where language, --since, sort keys."""

from __future__ import annotations

import pytest

from expctl import filters
from expctl.errors import UsageError

REC = {
    "id": "r1",
    "status": "succeeded",
    "stage": "small",
    "name": None,
    "code": {"branch": "main", "commit": "abc"},
    "started": "2026-11-30T10:00:00Z",
    "settings": {"lr": 0.001, "seed": 2, "model": {"name": "tiny"}, "note": "无"},
    "metrics": {"final": {"eval_accuracy": 0.86, "lr": 0.0}},
}


@pytest.mark.parametrize(
    "cond,expected",
    [
        ("eval_accuracy>0.85", True),
        ("eval_accuracy>0.86", False),
        ("eval_accuracy>=0.86", True),
        ("eval_accuracy<=0.5", False),
        ("lr=1e-3", True),
        ("lr!=1e-3", False),
        ("lr==0.001", True),
        ("seed in 1,2,3", True),
        ("seed in 4,5", False),
        ("seed not in 4,5", True),
        ("model.name=tiny", True),
        ("note=无", True),
        ("stage=small", True),
        ("status=failed", False),
        ("branch=main", True),
        ("commit=abc", True),
        ("name=x", False),
        ("name!=x", True),
    ],
)
def test_conditions(cond, expected):
    assert filters.matches(filters.parse_where(cond), filters.fields(REC)) is expected


def test_a_name_that_is_a_setting_and_a_metric_means_the_setting():
    assert filters.matches(filters.parse_where("lr>0"), filters.fields(REC))


@pytest.mark.parametrize("bad", ["lr", "=3", "seed in ", "a b=1"])
def test_bad_conditions(bad):
    with pytest.raises(UsageError):
        filters.parse_where(bad)


def test_unknown_key_did_you_mean_and_since():
    with pytest.raises(UsageError, match="did you mean 'eval_accuracy'"):
        filters.Filter(["eval_acc>1"]).check([REC])
    now = filters.started_at(REC)
    assert filters.parse_since("2d", now=now) == now - 2 * 86400
    assert filters.parse_since("2026-11-30") == now - 10 * 3600
    with pytest.raises(UsageError):
        filters.parse_since("yesterday")
    with pytest.raises(UsageError, match="did you mean"):
        filters.check_sort_key("-eval_acuracy", filters.known_keys([REC]))
