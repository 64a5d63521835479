"""``expctl report`` (one offline HTML file) and ``expctl export`` (TensorBoard events, tidy CSV)."""

from __future__ import annotations

import click

from expctl.output import message


@click.command("report")
@click.argument("refs", nargs=-1)
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--runs", "runs_mode", is_flag=True, help="One row per run instead of one per strategy.")
@click.option("--stage", default=None, help="Only runs of this stage.")
@click.option("--baseline", default=None, help="The row deltas and diffs are measured against (default: the first).")
@click.option("--metric", "-m", "metrics", multiple=True, metavar="NAME",
              help="Metric to chart (repeatable). Default: train_loss and the eval metrics.")
@click.option("--max-points", type=click.IntRange(min=10), default=200, show_default=True,
              help="Points per curve at most (longer curves are averaged in buckets).")
def report_cmd(refs, output, runs_mode, stage, baseline, metrics, max_points):
    """Write one self-contained HTML report: results table, curves, diagnosis, diffs, cases.

    REFS are strategies, branches or run ids as for `expctl compare` (default: every
    strategy). The file fetches nothing when opened (inline SVG charts, inline style and
    script) and is built from the run records alone, so it works from a fresh clone after
    `expctl pull`.
    """
    import os

    from expctl import report
    from expctl.errors import UsageError
    from expctl.records import open_store

    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {output}: no folder {folder}")

    cfg, store = open_store()
    data = report.build(store, cfg, refs, runs_mode=runs_mode, stage=stage, baseline=baseline,
                        metrics=list(metrics) or None, max_points=max_points)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    size = report.write(output, data)
    message(f"expctl: wrote {output} ({len(data.rows)} rows, {len(data.charts)} charts, {size / 1024:.0f} KB)")
