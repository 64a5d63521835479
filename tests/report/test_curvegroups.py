"""Seed aggregation, downsampling and labels behind the PNG and the report."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from expctl.analysis.curvegroups import aggregate, distinguishing_labels, downsample, epoch_starts
from expctl.analysis.svgchart import ChartSeries, line_chart, nice_ticks


def test_aggregate_mean_and_sample_std_per_step():
    band = aggregate([[(0, 1.0), (10, 2.0)], [(0, 3.0), (10, 2.0)], [(0, 5.0)]])
    assert band.steps == [0, 10] and band.n == [3, 2]
    assert band.mean == [3.0, 2.0]
    assert band.hi[0] - band.mean[0] == 2.0  # sample std of 1, 3, 5
    assert band.lo[1] == band.hi[1] == 2.0


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=600), st.integers(3, 80))
def test_downsample_keeps_ends_and_bounds(values, max_points):
    band = aggregate([[(i, v) for i, v in enumerate(values)], [(i, v + 1) for i, v in enumerate(values)]])
    small = downsample(band, max_points)
    assert len(small) <= len(band)
    if len(band) > max_points:
        assert len(small) <= max_points
    assert small.steps[0] == band.steps[0] and small.steps[-1] == band.steps[-1]
    assert small.mean[0] == band.mean[0] and small.mean[-1] == band.mean[-1]
    assert small.steps == sorted(small.steps)
    assert min(small.lo) >= min(band.lo) - 1e-6 and max(small.hi) <= max(band.hi) + 1e-6


def test_labels_name_the_settings_that_differ():
    ids = ["20261201-101010-abcdef", "20261201-101011-bcdefg", "20261201-101012-cdefgh"]
    settings = [
        {"lr": 0.001, "model.dropout": 0.1},
        {"lr": 0.002, "model.dropout": 0.1},
        {"lr": 0.002, "model.dropout": 0.1},
    ]
    assert distinguishing_labels(settings, ids) == ["lr=0.001", f"lr=0.002 ({ids[1]})", f"lr=0.002 ({ids[2]})"]
    assert distinguishing_labels(settings[:2], ["baseline", "rdrop"]) == ["baseline: lr=0.001", "rdrop: lr=0.002"]
    assert distinguishing_labels([{"a": 1}, {"a": 1}], ["x", "y"]) == ["x", "y"]  # nothing differs: the names


def test_epoch_starts():
    data = b"".join(b'{"step": %d, "epoch": %s}\n' % (s, str(s / 4).encode()) for s in range(0, 13))
    assert epoch_starts(data) == [(4.0, 1), (8.0, 2), (12.0, 3)]
    assert epoch_starts(b'{"step": 1, "train_loss": 1}\n') == []


def test_svg_declares_what_it_draws_and_escapes_labels():
    band = aggregate([[(s, math.exp(-s / 10)) for s in range(100)]])
    svg = line_chart("m<1>", [ChartSeries('a"<b>', band, 0, (50.0, "overfitting at 50"))])
    assert svg.count('<g class="series"') == 1 and 'data-series="1"' in svg
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "m&lt;1&gt;" in svg
    assert '<g class="diagnosis" data-step="50">' in svg
    assert "<circle" not in svg  # 100 points: dense, no markers
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
