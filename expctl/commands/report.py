"""``expctl report`` (one offline HTML file) and ``expctl export`` (TensorBoard events, tidy CSV)."""

from __future__ import annotations

import click

from expctl.output import message
from expctl.refs import resolve_run


@click.command("report")
@click.argument("refs", nargs=-1)
@click.option(
    "-o",
    "--output",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The HTML file to write.",
)
@click.option("--runs", "runs_mode", is_flag=True, help="One row per run instead of one per strategy.")
@click.option("--stage", default=None, help="Only runs of this stage.")
@click.option("--baseline", default=None, help="The row deltas and diffs are measured against (default: the first).")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    metavar="NAME",
    help="Metric to chart (repeatable). Default: train_loss and the eval metrics.",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=10),
    default=200,
    show_default=True,
    help="Points per curve at most (longer curves are averaged in buckets).",
)
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
    from expctl.project import Project

    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {output}: no folder {folder}")

    project = Project.open()

    cfg, store = project.config, project.store
    data = report.build(
        store,
        cfg,
        refs,
        runs_mode=runs_mode,
        stage=stage,
        baseline=baseline,
        metrics=list(metrics) or None,
        max_points=max_points,
    )
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    size = report.write(output, data)
    _register_outputs([output])
    message(f"expctl: wrote {output} ({len(data.rows)} rows, {len(data.charts)} charts, {size / 1024:.0f} KB)")


@click.command("export")
@click.argument("kind", type=click.Choice(["tensorboard", "csv"]))
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(),
    help="tensorboard: the folder to write (default: tensorboard/); csv: the file (default: stdout).",
)
def export_cmd(kind, runs, output):
    """Write recorded runs' curves (any program's) as TensorBoard event files or one tidy CSV.

    RUN is a run id, name, tag or branch. tensorboard writes OUTPUT/<run id>/events.out.
    tfevents.* (view with `tensorboard --logdir OUTPUT`); csv writes one row per run, step
    and metric, with the run's settings as columns (for pandas.read_csv).
    """
    from expctl.analysis import export
    from expctl.output import echo
    from expctl.project import Project

    store = Project.open().store
    records = list({r["id"]: r for r in (resolve_run(store, ref) for ref in runs)}.values())
    if kind == "csv":
        header, rows = export.tidy_rows(store, records)
        text = export.to_csv(header, rows)
        if output:
            from expctl.fsutil import atomic_write

            atomic_write(output, text)
            _register_outputs([output])
            message(f"expctl: wrote {output} ({len(rows)} rows from {len(records)} run(s))")
        else:
            echo(text)
        return
    files = export.write_tensorboard(store, records, output or "tensorboard")
    _register_outputs(files)
    message(
        f"expctl: wrote {len(files)} event file(s) under {output or 'tensorboard'}/ "
        f"(view: tensorboard --logdir {output or 'tensorboard'})"
    )


def _register_outputs(paths) -> None:
    """What expctl wrote into the work tree is never part of a code snapshot (expctl.outputs)."""
    from pathlib import Path

    from expctl import outputs

    for path in paths:
        outputs.register(path, Path(path).read_bytes())
