"""runs, show, log: reading the recorded runs (the list, one run, its log)."""

from __future__ import annotations

import json
import sys

import click

from expctl import views
from expctl.errors import ExpctlError
from expctl.output import (
    choose_columns,
    echo,
    filter_options,
    format_option,
    message,
    pick_format,
    render,
    safe_text,
    split_columns,
    table_options,
)
from expctl.record import Record
from expctl.refs import resolve_run


@click.command("runs")
@click.option("--stage", default=None, help="Only runs of this stage.")
@click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed", "interrupted"]), default=None)
@click.option(
    "--strategy",
    default=None,
    help="Only runs of this strategy: a tag (runs of its code, settings and data), an exploration, or a branch name.",
)
@filter_options()
@click.option(
    "--sort",
    default=None,
    help="Sort by a field, final metric or setting (prefix - to reverse; metrics sort best first).",
)
@click.option("--limit", "-n", type=int, default=None, help="At most N runs.")
@click.option("--columns", default=None, metavar="COLS", help="Comma-separated columns to show, in this order.")
@table_options
@format_option()
def runs_cmd(stage, status, strategy, where, since, sort, limit, columns, drop, only_changed, fmt, as_json):
    """List recorded runs, newest first (records are read from git).

    csv and tsv have one column per final metric (numbers only)."""
    from expctl import filters
    from expctl.project import Project
    from expctl.records import filter_records

    project = Project.open()

    cfg, store = project.config, project.store
    filt = filters.Filter(where, since)
    newest = None
    fmt = pick_format(fmt, as_json)
    plain = not (filt or stage or status or strategy or sort)
    if limit is not None and plain:
        newest = store.newest(limit)  # the default view: reads only the runs it shows
    elif (
        plain
        and fmt in ("table", "markdown")
        and not (columns or drop or only_changed)
        and not sys.stdout.isatty()
        and (index_text := views.runs_index_table(store, fmt)) is not None
    ):
        for w in store.warnings:
            message(f"expctl: warning: {w}")
        echo(index_text)
        return  # every run, from the local index's ready-made rows
    from expctl import recordindex

    everything = newest if newest is not None else recordindex.summaries(store)
    filt.check(everything, declared=views.declared_keys(cfg))
    records = filter_records(everything, stage=stage, status=status)
    if strategy:
        from expctl import strategies as strat

        found = strat.find(store, strategy, records=everything)
        ids = {r["id"] for r in found.runs} if found is not None else set()
        records = [
            r
            for r in records
            if r["id"] in ids or (found is None and strategy in (r.get("strategy"), Record(r).branch))
        ]
    records = filt.apply(records)
    if sort:
        filters.check_sort_key(sort, filters.known_keys(everything, views.declared_keys(cfg)), ("date", "started"))
        records = filters.sort_records(records, sort, cfg.direction_of)
    if limit is not None:
        records = records[:limit]
    if fmt == "json" and newest is None:
        records = store.full_records(records)  # summaries lack environment, command...: read the shown ones
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    fmt = pick_format(fmt, as_json)
    if not records and fmt != "json":
        if filt or stage or status or strategy:
            message("expctl: no runs match")
        elif not everything:
            from expctl.hints import no_runs_hint

            message(no_runs_hint(store))
    asked = split_columns(columns)
    columns = ["id", "name", "stage", "status", "metric", "check", "branch", "commit", "started", "duration"]
    rows = [views.run_row(r) for r in records]
    if fmt in ("csv", "tsv"):  # one column per final metric, primary first: numbers, not "name=value"
        metric_names = sorted(
            {k for r in records for k in Record(r).final},
            key=lambda k: (k != cfg.primary_metric, k),
        )
        for row, r in zip(rows, records):
            final = Record(r).final
            row.update(
                {
                    k: (format(final[k], ".10g") if isinstance(final.get(k), float) else final.get(k))
                    for k in metric_names
                }
            )
        columns = ["id", "name", "stage", "status", *metric_names, "check", "branch", "commit", "started", "duration"]
    if asked:
        unknown = [c for c in asked if c not in columns]
        if unknown:
            raise ExpctlError(f"--columns: unknown column(s) {', '.join(unknown)}; columns: {', '.join(columns)}")
        columns = asked
    columns = choose_columns(rows, columns, drop=split_columns(drop), only_changed=only_changed, keep=["id"])
    styles = views.status_styles([r.get("status") for r in records])
    echo(
        render(
            rows,
            columns,
            fmt,
            styles=styles,
            json_rows=[views.clean(r) for r in records],
            drop_order=["duration", "commit", "branch", "check", "name", "started", "stage"],
        )
    )


@click.command("show")
@click.argument("ref", default="HEAD")
@format_option()
def show_cmd(ref, fmt, as_json):
    """Show one run: settings, metrics, environment, code, checkpoints, log tail.

    REF is a run id (or a unique prefix, or the random suffix: k6z230), a run name, a tag, a
    branch, or HEAD. markdown, csv and tsv: one (field, value) row per recorded field.
    """
    from expctl.project import Project

    store = Project.open().store
    record = resolve_run(store, ref)
    data = views.show_payload(store, record)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    fmt = pick_format(fmt, as_json)
    if fmt == "json":
        echo(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    elif fmt == "table":
        echo(safe_text(views.format_show(data)))  # escape sequences in names or settings shown, never obeyed
    else:  # markdown, csv, tsv: one (field, value) row per recorded field
        echo(render(views.show_rows(data), views.SHOW_COLUMNS, fmt, exact=True))


@click.command("log")
@click.argument("ref", default="HEAD")
@click.option("--tail", "-n", type=int, default=None, help="Only the last N lines.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing what a running run writes, until it ends.")
def log_cmd(ref, tail, follow):
    """Print a run's log (train.log; the stored tail when the run folder is gone).

    \b
    Examples:
      expctl log                 # the newest run on this HEAD
      expctl log k6z230 -n 50
      expctl log -f              # follow a run that is running
    """
    from expctl.project import Project

    store = Project.open().store
    record = resolve_run(store, ref)
    if follow and record.get("status") == "running":
        from expctl.follow import follow_log

        def still_running() -> bool:
            store.invalidate()
            return store.get(record["id"]).get("status") == "running"

        follow_log(store.run_dir(record["id"]), tail, still_running=still_running)
        return
    data = store.read_file(record, "train.log")
    if data is None:
        data = store.read_file(record, "log_tail.txt")
        if data is not None:
            message(f"expctl: runs/{record['id']}/ is gone; showing the log tail kept in git")
    if data is None:
        raise ExpctlError(f"run {record['id']} has no log")
    text = data.decode("utf-8", "replace")
    if not text:
        message(
            f"expctl: the log of run {record['id']} is empty: the program printed nothing"
            + (" (yet)" if record.get("status") == "running" else "")
        )
        return
    if tail is not None:
        text = "\n".join(text.splitlines()[-tail:]) + "\n"
    echo(text)
