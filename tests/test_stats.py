"""expctl.stats: the one implementation of seed-group statistics (mean, sample std, n, ±)."""

from __future__ import annotations

import statistics

from expctl import stats


def test_mean_and_sample_std_match_the_standard_library():
    values = [0.61, 0.64, 0.58, 0.6]
    mean, std = stats.mean_std(values)
    assert abs(mean - statistics.mean(values)) < 1e-15
    assert abs(std - statistics.stdev(values)) < 1e-15  # n - 1, not n
    assert stats.summarize(values) == stats.Summary(mean, std, 4)
    assert stats.sample_std(values, mean) == std
    assert stats.mean(values) == mean


def test_too_few_values():
    assert stats.mean_std([]) == (None, None)
    assert stats.mean_std([0.5]) == (0.5, None)
    assert stats.summarize([]) == stats.Summary(None, None, 0)
    assert stats.sample_std([1.0]) is None and stats.mean([]) is None


def test_plus_minus_text():
    assert stats.pm(0.65, 0.0707106781) == "0.65 ± 0.0707"
    assert stats.pm(0.65, 0.0707106781, spaced=False) == "0.65±0.0707"
    assert stats.pm(0.65, None) == "0.65"
    assert stats.pm(None, None) == "-"
    assert stats.pm(None, None, missing="failed") == "failed"


def test_every_reader_uses_it():
    """compare's seed groups, the curves' band, the sweep table and the k-fold row agree."""
    from expctl import kfold, strategies
    from expctl.analysis.curvegroups import aggregate

    runs = [
        {"id": f"r{i}", "status": "succeeded", "settings": {"seed": i}, "metrics": {"final": {"eval_accuracy": v}}}
        for i, v in enumerate([0.6, 0.7, 0.65])
    ]
    mean, std = stats.mean_std([0.6, 0.7, 0.65])
    group = strategies.make_group(runs, "eval_accuracy")
    assert (group.mean, group.std, group.n) == (mean, std, 3)
    band = aggregate([[(1, 0.6)], [(1, 0.7)], [(1, 0.65)]])
    assert band.mean == [mean] and band.hi == [mean + std] and band.lo == [mean - std]
    for r, fold in zip(runs, range(3)):
        r["group"] = {"kind": "kfold", "id": "kfold-x", "index": fold, "size": 3, "fold": fold, "k": 3}
    summary = kfold.kfold_summary(runs, "eval_accuracy")
    assert summary["metrics"]["eval_accuracy"] == {"mean": mean, "std": std, "n": 3}
    assert kfold.kfold_rows(summary)[0][-1]["eval_accuracy"] == stats.pm(mean, std)
