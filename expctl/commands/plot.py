"""``expctl plot RUN...``: training / eval curves in the terminal, with a diagnosis."""

from __future__ import annotations

import shutil

import click

from expctl.output import format_option, pick_format


@click.command("plot")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    metavar="NAME",
    help="Metric to draw (repeatable). Default: train_loss and the primary eval metric.",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the charts to this PNG file (needs matplotlib: pip install 'expctl[plot]').",
)
@format_option(help="table: charts and diagnosis; json / csv / tsv / markdown: the diagnosis and last / best values.")
@click.option(
    "--width",
    type=click.IntRange(min=10),
    default=None,
    help="Plot area width in characters. Default: the chart fills the terminal's width.",
)
@click.option("--height", type=click.IntRange(min=3), default=12, show_default=True, help="Chart height in lines.")
@click.option("--no-chart", is_flag=True, help="Print only the diagnosis.")
def plot_cmd(
    runs: tuple[str, ...],
    metrics: tuple[str, ...],
    png: str | None,
    fmt: str,
    width: int | None,
    height: int,
    no_chart: bool,
    as_json: bool = False,
) -> None:
    """Draw RUN's training and eval curves (metrics.jsonl) and say how training went.

    RUN is a metrics.jsonl file, a run folder, a run id or branch, or a strategy (all the
    seeds of its results-table row); several are overlaid with distinct marks. Runs that
    differ only by seed are drawn as one mean line (with a ± std band in the PNG), labelled
    by the settings that tell the runs apart. Each gets a diagnosis: still improving,
    overfitting since step N, not learning, converged (or diverged when the loss became NaN).
    Malformed lines and non-numeric values are skipped and counted.
    """
    fmt = pick_format(fmt, as_json)
    if png:
        import os

        from expctl.errors import UsageError

        folder = os.path.dirname(os.path.abspath(png))
        if not os.path.isdir(folder):
            raise UsageError(f"cannot write {png}: no folder {folder}")
    from expctl.analysis.curvegroups import load_groups
    from expctl.analysis.plot import project_metric_info, render_plot_report, save_png

    curves, groups = load_groups(runs)
    for c in curves:
        if c.bad_lines or c.bad_values:
            click.echo(
                f"expctl: {c.name}: skipped {c.bad_lines} malformed line(s) and {c.bad_values} non-numeric value(s)",
                err=True,
            )
    primary, direction_of = project_metric_info()
    fit = None
    if width is None:  # fill the terminal, never wider than it
        fit = max(30, shutil.get_terminal_size((80, 24)).columns)
        width = 64
    text = render_plot_report(
        [g.mean_curves() for g in groups],
        metrics=list(metrics) or None,
        fmt=fmt,
        width=width,
        height=height,
        chart=not no_chart,
        primary=primary,
        direction_of=direction_of,
        fit=fit,
    )
    if png:
        from expctl.analysis.plot import default_metrics, primary_eval_metric

        chosen = list(metrics) or default_metrics(curves, primary)
        eval_metric = primary_eval_metric(sorted({m for c in curves for m in c.series}), primary)
        save_png(png, chosen, curves, groups=groups, eval_metric=eval_metric, direction_of=direction_of)
        from pathlib import Path

        from expctl import outputs

        outputs.register(png, Path(png).read_bytes())  # expctl's output: never part of a code snapshot
        click.echo(f"expctl: wrote {png}", err=True)
    click.echo(text)
