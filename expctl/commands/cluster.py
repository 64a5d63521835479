"""--on slurm for run/sweep/kfold, and cancel / wait: thin click layer over expctl.cluster."""

from __future__ import annotations

import json
import sys

import click

from expctl.output import echo, format_option, message, pick_format, render
from expctl.record import Record


def on_options(func):
    """`--on local|slurm` and `--cluster KEY=VALUE` for run, sweep and kfold."""
    func = click.option(
        "--cluster",
        "cluster_overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="With --on slurm: override a [cluster] setting, e.g. --cluster time=00:10:00. Repeatable.",
    )(func)
    func = click.option(
        "--on",
        "on",
        type=click.Choice(["local", "slurm"]),
        default="local",
        show_default=True,
        help="Where the runs execute: here, or submitted to Slurm (returns at once).",
    )(func)
    return func


def submit_and_report(cfg, store, specs, overrides, *, force=False, what="a run", verb="run", group=None) -> None:
    """Submit, then print one line per run on stdout (run id, job id) and a summary on stderr."""
    from expctl import cluster

    report_submitted(cluster.submit(cfg, store, specs, list(overrides), force=force, what=what, verb=verb), group)


def report_submitted(records, group=None) -> None:
    """One line per submitted run on stdout (run id, job id) and a summary on stderr."""
    for r in records:
        echo(f"{r['id']}\t{r['slurm']['job_id']}\n")
    job = records[0]["slurm"].get("array_job") or records[0]["slurm"]["job_id"]
    message(
        f"expctl: submitted {len(records)} run(s) to Slurm as job {job}"
        + (f" ({group})" if group else "")
        + f"; script runs/{records[0]['id']}/sbatch.sh"
    )
    message(
        f"expctl: follow with `expctl runs`; `expctl wait {group or records[0]['id']}`, "
        f"`expctl cancel {group or records[0]['id']}`"
    )


@click.command("cancel")
@click.argument("ref")
def cancel_cmd(ref):
    """Cancel the Slurm jobs of RUN or SWEEP (a sweep or k-fold group id; 'last': the newest
    submission). Runs that were running are recorded interrupted with Slurm's reason
    (CANCELLED); runs that never started, too."""
    from expctl import cluster
    from expctl.project import Project

    store = Project.open().store
    runs = cluster.cancel(store, ref)
    message(
        f"expctl: cancelled {len(runs)} run(s): "
        + ", ".join(f"{r['id']} (job {r['slurm']['job_id']})" for r in runs[:10])
        + (" ..." if len(runs) > 10 else "")
    )


@click.command("wait")
@click.argument("ref")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds (exit 1).")
@format_option()
def wait_cmd(ref, timeout, fmt, as_json):
    """Block until every run of RUN or SWEEP (a sweep or k-fold group id; 'last': the newest
    submission) has its final record, then print them (a sweep: its sensitivity table).
    Exit status 0 when all succeeded, 1 otherwise."""
    from expctl import cluster, rungroups, sweep
    from expctl.project import Project
    from expctl.views import clean, run_row

    project = Project.open()

    cfg, store = project.config, project.store
    runs = cluster.wait(store, ref, timeout=timeout)
    fmt = pick_format(fmt, as_json)
    rows = [run_row(r) for r in runs]
    columns = ["id", "name", "stage", "status", "metric", "check", "commit", "duration"]
    if fmt == "json":
        echo(
            json.dumps(
                [clean(r) for r in runs],
                indent=2,
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
    else:
        echo(render(rows, columns, fmt))
        swept = [r for r in runs if (rungroups.membership(r) or {}).get("kind") in rungroups.SWEEP_KINDS]
        if swept and len(swept) == len(runs):
            result = sweep.sensitivity(swept, cfg.primary_metric or "", cfg.direction)
            echo(
                "\n"
                + render(
                    sweep.table_rows(result),
                    ["rank", "knob", "range", "seed spread", "verdict", "best", "values (metric mean)"],
                    fmt,
                    title=f"sweep {rungroups.membership(swept[0])['id']}: metric {result['metric']}",
                )
            )
    bad = [r for r in runs if r.get("status") != "succeeded"]
    for r in bad:
        reason = Record(r).slurm.get("reason") or r.get("reason")
        message(
            f"expctl: run {r['id']} {r.get('status')}"
            + (f": {reason}" if reason else "")
            + f" (log: expctl log {r['id']})"
        )
    if bad:
        sys.exit(1)
