"""push and pull: share run records, tags and explorations through a git remote."""

from __future__ import annotations

import click

from expctl.output import (
    message,
)
from expctl.project import Project


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

    store = Project.open().store
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

    store = Project.open().store
    out = sync.pull(store, remote)
    message(f"expctl: pulled from {remote}: {out}")
