"""expctl.analysis.svgchart: ticks, series styles and what line_chart draws.

tests/report/test_curvegroups.py checks label escaping and a dense series; here the
other parts of the drawing: bands, sparse markers, epochs, empty charts, well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from expctl.analysis.curvegroups import Band
from expctl.analysis.svgchart import DASHES, PALETTE, ChartSeries, line_chart, nice_ticks, style

NS = "{http://www.w3.org/2000/svg}"


def _band(steps, mean, spread=0.0, seeds=1):
    return Band(
        steps=list(steps),
        mean=list(mean),
        lo=[m - spread for m in mean],
        hi=[m + spread for m in mean],
        n=[seeds] * len(steps),
    )


def test_nice_ticks_use_round_steps_and_cover_the_range():
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.13, 0.87, 4) == [0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(0, 1000, 4) == [0, 250, 500, 750, 1000]
    assert nice_ticks(-3, 3, 3) == [-2, 0, 2]


def test_nice_ticks_of_an_empty_or_non_finite_range_is_the_low_end():
    assert nice_ticks(5, 5) == [5]
    assert nice_ticks(5, 1) == [5]
    (only,) = nice_ticks(float("nan"), 1)
    assert only != only  # NaN: no ticks made up for a range that is not one


def test_styles_cycle_colours_first_then_dashes():
    assert style(0) == (PALETTE[0], "")
    assert style(len(PALETTE) + 1) == (PALETTE[1], DASHES[1])
    assert len({style(k) for k in range(len(PALETTE) * len(DASHES))}) == len(PALETTE) * len(DASHES)


def test_an_empty_chart_says_no_values_and_is_valid_svg():
    svg = line_chart("loss", [ChartSeries("a", _band([], []), 0)])
    root = ET.fromstring(svg)
    assert root.get("data-series") == "0"
    assert "no values" in svg


def test_several_seeds_draw_a_band_and_a_sparse_series_gets_markers():
    multi = ChartSeries("multi", _band(range(0, 50, 10), [1, 0.8, 0.6, 0.5, 0.4], spread=0.1, seeds=3), 0)
    single = ChartSeries("single", _band(range(0, 50, 10), [1, 0.9, 0.8, 0.7, 0.6]), 1)
    root = ET.fromstring(line_chart("eval_loss", [multi, single]))
    groups = {g.get("data-label"): g for g in root.iter(f"{NS}g") if g.get("class") == "series"}
    assert set(groups) == {"multi", "single"}
    assert groups["multi"].get("data-seeds") == "3"
    assert groups["multi"].find(f"{NS}path").get("class") == "band"
    assert groups["single"].find(f"{NS}path") is None
    assert len(list(groups["single"].iter(f"{NS}circle"))) == 5
    assert "mean of 3 seeds" in groups["multi"].find(f"{NS}title").text
    widths = [float(g.find(f"{NS}polyline").get("stroke-width")) for g in groups.values()]
    assert widths[0] > widths[1]  # the earlier series drawn wider, underneath


def test_epoch_lines_inside_the_range_are_labelled_and_marks_outside_are_left_out():
    s = ChartSeries("a", _band(range(0, 100), [1.0 / (1 + i) for i in range(100)]), 0, mark=(500.0, "late"))
    svg = line_chart("loss", [s], epochs=[(0.0, 0), (30.0, 1), (60.0, 2), (300.0, 3)])
    labels = [t.text for t in ET.fromstring(svg).iter(f"{NS}text") if t.get("class") == "epoch-label"]
    assert labels == ["ep 1", "ep 2"]
    assert 'class="diagnosis"' not in svg


def test_a_flat_single_point_series_still_gets_a_range():
    svg = line_chart("acc", [ChartSeries("a", _band([5], [0.5]), 0)])
    root = ET.fromstring(svg)
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "tick"]
    assert "0.5" in ticks
