"""tag, explore, promote, abandon, strategies: main-line strategies and explorations."""

from __future__ import annotations

import click

from expctl.output import (
    echo,
    fmt_value,
    format_option,
    message,
    pick_format,
    render,
)
from expctl.record import Record


def _project():
    from expctl.project import Project

    return Project.open()


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

    store = _project().store
    record, commit = strategies.create_tag(store, name, run, force=force, note=note)
    forced = strategies.check_refusal(record)
    if forced:
        message(f"expctl: warning: run {record['id']}: {forced}; tagged anyway (--force, recorded in the tag)")
    pm = record.get("primary_metric")
    value = Record(record).final.get(pm)
    snap = " (a snapshot of the dirty tree it ran on)" if Record(record).code.get("snapshot") else ""
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

    store = _project().store
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

    store = _project().store
    out = strategies.promote(store, name, tag=tag, run_ref=run, force=force)
    rec = out["record"]
    pm = rec.get("primary_metric")
    value = Record(rec).final.get(pm)
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

    store = _project().store
    out = strategies.abandon(store, name, why)
    message(
        f"expctl: exploration {name} abandoned ({why}); branch {out['meta']['branch']} kept"
        + (f"; switched back to {out['switched']}" if out["switched"] else "")
    )


@click.command("strategies")
@format_option()
def strategies_cmd(fmt, as_json):
    """The main line (tags in order) and explorations, with status and best primary metric."""
    from expctl import strategies, views

    project = _project()
    cfg, store = project.config, project.store
    rows = views.strategy_rows(strategies.collect(store, cfg), cfg)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    echo(
        render(rows, views.STRATEGY_COLUMNS, pick_format(fmt, as_json), headers={"best": f"best {cfg.primary_metric}"})
    )
