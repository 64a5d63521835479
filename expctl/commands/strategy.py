"""tag, explore, promote, abandon, strategies, compare, diff, push, pull."""

from __future__ import annotations

import json
import time

import click

from expctl.output import (
    choose_columns,
    echo,
    fmt_value,
    format_option,
    message,
    pick_format,
    render,
    safe_text,
    split_columns,
    table_options,
)


def _store():
    from expctl.records import open_store

    return open_store()


@click.command("tag")
@click.argument("name")
@click.argument("run", required=False)
@click.option(
    "--force", is_flag=True, help="Move an existing tag; tag a run whose stage check failed (recorded in the tag)."
)
@click.option("-m", "--message", "note", default="", help="A note for the tag message.")
def tag_cmd(name, run, force, note):
    """Tag a main-line strategy NAME at the exact code of RUN.

    RUN defaults to the newest succeeded run on the current HEAD; when that run's tree
    was dirty, the tag points at its snapshot commit. The tag message records the run id,
    stage, headline metrics and settings.
    """
    from expctl import strategies

    _, store = _store()
    record, commit = strategies.create_tag(store, name, run, force=force, note=note)
    forced = strategies.check_refusal(record)
    if forced:
        message(f"expctl: warning: run {record['id']}: {forced}; tagged anyway (--force, recorded in the tag)")
    pm = record.get("primary_metric")
    value = ((record.get("metrics") or {}).get("final") or {}).get(pm)
    snap = " (a snapshot of the dirty tree it ran on)" if (record.get("code") or {}).get("snapshot") else ""
    message(
        f"expctl: tagged {name} at {commit[:10]}{snap}: run {record['id']}"
        + (f", {pm}={fmt_value(value)}" if pm and value is not None else "")
    )


@click.command("explore")
@click.argument("name")
@click.option("--from", "base", default=None, help="Tag, branch or run to branch from (default: HEAD).")
def explore_cmd(name, base):
    """Branch explore/NAME off a strategy and switch to it."""
    from expctl import strategies

    _, store = _store()
    meta = strategies.explore(store, name, base)
    message(
        f"expctl: on branch {meta['branch']} (from {meta['base']}); runs here belong to exploration {name}. "
        f"When it wins: expctl promote {name}; when not: expctl abandon {name} --why '...'"
    )


@click.command("promote")
@click.argument("name")
@click.option("--tag", "tag", default=None, help="Tag name for the promoted strategy (default: NAME).")
@click.option("--run", "run", default=None, help="The run the tag records (default: the exploration's best).")
@click.option(
    "--force",
    is_flag=True,
    help="Move an existing tag; promote an abandoned exploration (its verdict is kept) "
    "or a run whose check failed (recorded in the tag).",
)
def promote_cmd(name, tag, run, force):
    """Merge exploration NAME into the main-line branch it came from, and tag it.

    On a merge conflict nothing changes: HEAD, index, work tree and refs stay as they were.
    """
    from expctl import strategies

    _, store = _store()
    out = strategies.promote(store, name, tag=tag, run_ref=run, force=force)
    rec = out["record"]
    pm = rec.get("primary_metric")
    value = ((rec.get("metrics") or {}).get("final") or {}).get(pm)
    message(
        f"expctl: promoted {name} into {out['meta']['base_branch']} ({out['merge'][:10]}), tagged {out['tag']}"
        + (f": run {rec['id']}, {pm}={fmt_value(value)}" if value is not None else "")
    )


@click.command("abandon")
@click.argument("name")
@click.option("--why", required=True, help="The verdict, kept with the exploration.")
def abandon_cmd(name, why):
    """Record that exploration NAME did not work, and why; its branch is kept."""
    from expctl import strategies

    _, store = _store()
    out = strategies.abandon(store, name, why)
    message(
        f"expctl: exploration {name} abandoned ({why}); branch {out['meta']['branch']} kept"
        + (f"; switched back to {out['switched']}" if out["switched"] else "")
    )


@click.command("strategies")
@format_option()
def strategies_cmd(fmt, as_json):
    """The main line (tags in order) and explorations, with status and best primary metric."""
    from expctl import strategies

    cfg, store = _store()
    rows = []
    for s in strategies.collect(store, cfg):
        group = strategies.best_group(s.runs, cfg.primary_metric, cfg.direction, list(cfg.stages))
        note = ""
        if s.kind == "explore":
            note = f"from {s.meta.get('base')}"
            if s.status == "promoted":
                note += f" → {s.meta.get('promoted_tag')}"
                if s.meta.get("abandoned_why"):
                    note += f" (after being abandoned: {s.meta['abandoned_why']})"
            if s.status == "abandoned":
                note += f": {s.meta.get('why')}"
        rows.append(
            {
                "strategy": s.name,
                "kind": "main-line tag" if s.kind == "tag" else "exploration",
                "status": s.status if s.kind == "explore" else "main",
                "best": group.mean if group else None,
                "stage": group.representative.get("stage") if group else None,
                "runs": len(s.runs),
                "created": time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.date)) if s.date else "",
                "note": note,
                "commit": (s.commit or "")[:10],
            }
        )
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    cols = ["strategy", "kind", "status", "best", "stage", "runs", "created", "commit", "note"]
    echo(render(rows, cols, pick_format(fmt, as_json), headers={"best": f"best {cfg.primary_metric}"}))


@click.command("compare")
@click.argument("refs", nargs=-1)
@click.option("--runs", "runs_mode", is_flag=True, help="One row per run instead of one per strategy.")
@click.option(
    "--stage", default=None, help="The stage to compare (default: the latest stage every row has; one stage at a time)."
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="COND",
    help="Only runs matching: KEY=V, KEY!=V, KEY>V (>=, <, <=), 'KEY in A,B'; KEY a setting, "
    "final metric, status, stage, name, branch. Repeatable (all must hold).",
)
@click.option(
    "--since", default=None, metavar="AGE", help="Only runs started in the last AGE (30m, 12h, 2d, 1w) or since a date."
)
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

    cfg, store = _store()
    rows, ctx = compare.build(
        store, cfg, refs, runs_mode=runs_mode, stage=stage, where=where, baseline=baseline, since=since
    )
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    fmt = pick_format(fmt, as_json)
    cols = [c.strip() for c in columns.split(",")] if columns else None
    visible, col_names, styles, json_rows = compare.table(rows, ctx, fmt, cols, sort, limit)
    if with_notes:
        from expctl import notes

        found = notes.all_notes(store.repo)
        for row, jrow in zip(visible, json_rows or [None] * len(visible)):
            tag_note = None if runs_mode else found.get(f"tags/{row.get('strategy')}")
            row["note"] = tag_note or found.get(f"runs/{row.get('run')}", "")
            if isinstance(jrow, dict):
                jrow["note"] = row["note"] or None
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
    """What differs between two runs or strategies: settings, metrics, data, environment, command, code."""
    from expctl import diffing

    _, store = _store()
    d = diffing.diff(store, a, b, patch=patch)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    if pick_format(fmt, as_json) == "json":
        echo(json.dumps(d, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        echo(safe_text(diffing.format_text(d)))


@click.command("push")
@click.argument("remote", default="origin")
@click.option(
    "--all-branches/--current-branch",
    default=False,
    help="Also push every other local branch (default: only the current branch and explorations).",
)
@click.option("--dry-run", "-n", is_flag=True, help="Only say what would be sent that the remote lacks.")
def push_cmd(remote, all_branches, dry_run):
    """Push run records, tags, explorations and the current branch to a git remote.

    Other local branches stay local unless --all-branches. Before sending, one line lists
    what the remote lacks; --dry-run prints that line and sends nothing.
    """
    from expctl import sync

    _, store = _store()
    plan = sync.plan(store.repo, remote, all_branches=all_branches)
    from expctl.removal import push_specs

    gone = len(push_specs(store.repo, plan.remote))
    message(
        f"expctl: {'would send' if dry_run else 'sending'} to {remote}: {sync.describe(plan)}"
        + (f"; deleting {gone} record(s) removed here (expctl rm)" if gone else "")
    )
    if dry_run:
        return
    out = sync.push(store, remote, all_branches=all_branches, the_plan=plan)
    message(f"expctl: pushed to {remote}: {out}")


@click.command("pull")
@click.argument("remote", default="origin")
def pull_cmd(remote):
    """Fetch tags, run records and strategies (and remote branches) from a git remote."""
    from expctl import sync

    _, store = _store()
    out = sync.pull(store, remote)
    message(f"expctl: pulled from {remote}: {out}")
