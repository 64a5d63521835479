"""`expctl plot`: the PNG's legend, series, bands and diagnosis through matplotlib's objects;
the terminal chart within the terminal's width."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_expctl

matplotlib = pytest.importorskip("matplotlib")


def test_png_legend_by_settings_seed_bands_markers_diagnosis(pictures, monkeypatch, tmp_path):
    from matplotlib.collections import PolyCollection

    from expctl.analysis.curvegroups import load_groups
    from expctl.analysis.plot import build_figure

    monkeypatch.chdir(pictures)
    curves, groups = load_groups(["baseline", "best-lr", "overfit"])
    assert [len(g.members) for g in groups] == [2, 3, 1]  # every seed of each results-table row
    fig = build_figure(["train_loss", "eval_accuracy"], groups, eval_metric="eval_accuracy")
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    # labelled by the settings that tell them apart, with the strategy name, never run ids
    assert labels == [
        "baseline: acc=0.8, lr=0.01, overfit=0 (n=2)",
        "best-lr: acc=0.84, lr=0.02, overfit=0 (n=3)",
        "overfit: acc=0.804, lr=0.02, overfit=150",
    ]
    assert not any(run_id in " ".join(labels) for g in groups for run_id in g.run_ids)
    # the legend sits outside the plotting areas (to the right of every axes)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert all(box.x0 >= ax.get_window_extent(renderer).x1 for ax in fig.axes)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "step" and loss_ax.get_ylabel() == "train_loss"
    assert fig._suptitle.get_text() == "Training curves: train_loss, eval_accuracy"
    for ax in (loss_ax, acc_ax):
        series = [line for line in ax.get_lines() if line.get_gid() == "series"]
        assert len(series) == 3
        # identical-looking curves stay apart: each its own colour, dash pattern and width
        assert len({line.get_color() for line in series}) == 3
        assert len({line.get_linestyle() for line in series}) == 3
        bands = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "band"]
        assert len(bands) == 2  # baseline and best-lr have seeds; overfit has one run
    # dense train loss (61 points) without markers; sparse eval points (6) marked
    assert all(line.get_marker() in (None, "None", "") for line in loss_ax.get_lines() if line.get_gid() == "series")
    assert all(line.get_marker() not in (None, "None", "") for line in acc_ax.get_lines() if line.get_gid() == "series")
    # the mean line of baseline's seeds is the mean of the two runs
    seeds = [dict(c.series["train_loss"]) for c in groups[0].members]
    line = next(line for line in loss_ax.get_lines() if line.get_gid() == "series")
    assert line.get_ydata()[0] == pytest.approx((seeds[0][0] + seeds[1][0]) / 2)
    # the overfitting exploration's diagnosis is drawn: a vertical line at step 150
    diag = [line for line in acc_ax.get_lines() if line.get_gid() == "diagnosis"]
    assert [list(line.get_xdata()) for line in diag] == [[150, 150]]


def test_png_through_the_cli_and_terminal_width(pictures, tmp_path):
    png = tmp_path / "curves.png"
    proc = run_expctl(
        pictures, "plot", "baseline", "best-lr", "overfit", "--png", str(png), check=True, env={"COLUMNS": "60"}
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    chart = proc.stdout.split("\nDiagnosis")[0]
    assert max(len(line) for line in chart.splitlines()) <= 60
    assert "baseline: acc=0.8" in chart  # the legend names settings
    wide = run_expctl(pictures, "plot", "baseline", env={"COLUMNS": "120"}, check=True).stdout.split("\nDiagnosis")[0]
    assert 100 < max(len(line) for line in wide.splitlines()) <= 120
    data = json.loads(run_expctl(pictures, "plot", "overfit", "--json", check=True).stdout)
    assert data["runs"][0]["verdict"] == "overfitting" and data["runs"][0]["since_step"] == 150


def test_terminal_chart_never_wider_than_the_terminal(tmp_path):
    from expctl.analysis.plot import render_chart

    runs = [(f"a-long-run-folder-name-{k}", [(s, 1e-4 * (k + 1) / (1 + s)) for s in range(50)]) for k in range(4)]
    for columns in (40, 57, 80, 150):
        text = render_chart("train_loss", runs, height=6, fit=columns)
        assert max(len(line) for line in text.splitlines()) <= columns, (columns, text)
        assert all(f"a-long-run-folder-name-{k}" in text for k in range(4)) or columns < 60
    assert max(len(line) for line in render_chart("x", runs, fit=150).splitlines()) > 120  # it does fill


def test_plot_cli_fits_columns_and_refuses_a_missing_folder(tmp_path):
    import math

    folders = []
    for k in range(3):
        f = tmp_path / f"an-experiment-folder-with-a-long-name-{k}"
        f.mkdir()
        (f / "metrics.jsonl").write_text(
            "".join(
                json.dumps({"step": s, "train_loss": 1e-3 * math.exp(-s / (50 + k))}) + "\n" for s in range(0, 200, 5)
            )
        )
        folders.append(str(f))
    out = run_expctl(tmp_path, "plot", *folders, env={"COLUMNS": "50"}, check=True).stdout
    chart = out.split("\nDiagnosis")[0]
    assert max(len(line) for line in chart.splitlines()) <= 50, chart
    proc = run_expctl(tmp_path, "plot", folders[0], "--png", str(tmp_path / "nope" / "c.png"))
    assert proc.returncode == 2 and proc.stderr.startswith("expctl: error: cannot write ")
