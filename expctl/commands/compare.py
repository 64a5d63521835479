"""compare and diff: the results table of strategies or runs, and what differs between two."""

from __future__ import annotations

import json

import click

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
from expctl.project import Project


@click.command("compare")
@click.argument("refs", nargs=-1)
@click.option("--runs", "runs_mode", is_flag=True, help="One row per run instead of one per strategy.")
@click.option(
    "--stage", default=None, help="The stage to compare (default: the latest stage every row has; one stage at a time)."
)
@filter_options()
@click.option("--sort", default=None, help="Sort by a column, metric or setting (prefix - to reverse).")
@click.option("--columns", default=None, help="Comma-separated columns to show.")
@click.option("--limit", type=int, default=None, help="At most N rows.")
@click.option("--baseline", default=None, help="The row deltas are measured against (default: the first).")
@click.option(
    "--write",
    "write",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a markdown results file (e.g. RESULTS.md).",
)
@click.option("--notes", "with_notes", is_flag=True, help="Add a column with each run's (or tag's) note.")
@table_options
@format_option()
def compare_cmd(
    refs,
    runs_mode,
    stage,
    where,
    since,
    sort,
    columns,
    limit,
    baseline,
    write,
    with_notes,
    drop,
    only_changed,
    fmt,
    as_json,
):
    """Results table: every strategy with its best run (or REFs: tags, branches, run ids, HEAD).

    A strategy's runs follow one rule (docs/workflow.md): a tag's runs ran its code, settings
    and data; an exploration's ran on its branch. One stage at a time. Only settings that
    differ between rows are shown. Runs differing only by seed are aggregated over distinct
    seeds as mean ± std (n); reruns of a seed are shown beside as reproductions; a delta
    within seed noise is marked ~noise. csv/tsv have one number per cell.
    """
    from expctl import compare, outputs

    project = Project.open()

    cfg, store = project.config, project.store
    rows, ctx = compare.build(
        store, cfg, refs, runs_mode=runs_mode, stage=stage, where=where, baseline=baseline, since=since
    )
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    fmt = pick_format(fmt, as_json)
    cols = [c.strip() for c in columns.split(",")] if columns else None
    visible, col_names, styles, json_rows = compare.table(rows, ctx, fmt, cols, sort, limit)
    if with_notes:
        from expctl import notes, views

        views.add_notes(visible, json_rows, notes.all_notes(store.repo), runs_mode=runs_mode)
        col_names = [*col_names, "note"]
    col_names = choose_columns(
        visible, col_names, drop=split_columns(drop), only_changed=only_changed, keep=col_names[:1]
    )
    if not runs_mode and ctx.get("stage") is not None and fmt != "json":
        others = ", ".join(ctx.get("other_stages") or [])
        message(
            f"expctl: stage {ctx['stage'] or '(none)'}"
            + (f" (also recorded: {others}; --stage to choose)" if others else "")
        )
    if ctx.get("omitted"):
        message(f"expctl: not in this table (no succeeded run at stage {ctx['stage']}): {', '.join(ctx['omitted'])}")
    if not visible and fmt != "json":
        if ctx.get("filtered") or stage or (runs_mode and store.ref_ids()):
            message("expctl: no runs match")
        elif not store.all():
            from expctl.hints import no_runs_hint

            message(no_runs_hint(store))
        else:
            message("expctl: nothing to compare yet: tag a strategy (`expctl tag NAME`) or use --runs")
    echo(
        render(
            visible,
            col_names,
            fmt,
            styles=styles,
            json_rows=json_rows,
            drop_order=["commit", "date", "kind", "status", "stage"],
        )
    )
    if write:
        md_rows, md_cols, _, _ = compare.table(rows, ctx, "markdown", cols, sort, limit)
        outputs.write(write, compare.results_markdown(render(md_rows, md_cols, "markdown"), ctx, cfg.name))
        message(f"expctl: wrote {write}")


@click.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--patch", is_flag=True, help="Show the full code patch, not only the stat.")
@format_option()
def diff_cmd(a, b, patch, fmt, as_json):
    """What differs between two runs or strategies: settings, metrics, data, environment, command, code.

    markdown, csv and tsv: one row per difference (section, key, a, b, delta)."""
    from expctl import diffing

    store = Project.open().store
    d = diffing.diff(store, a, b, patch=patch)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    fmt = pick_format(fmt, as_json)
    if fmt == "json":
        echo(json.dumps(d, indent=2, ensure_ascii=False, default=str) + "\n")
    elif fmt == "table":
        echo(safe_text(diffing.format_text(d)))
    else:  # markdown, csv, tsv: one row per difference (every final metric), the code commits
        from expctl import views

        echo(render(views.diff_rows(d), views.DIFF_COLUMNS, fmt, exact=True))
