"""note, rm, gc: looking after records after the fact (notes, deletion, dead runs, checkpoints)."""

from __future__ import annotations

import sys

import click

from expctl.errors import ExitCode, ExpctlError, UsageError
from expctl.output import (
    echo,
    format_option,
    message,
    pick_format,
    render,
    report_table,
)
from expctl.refs import resolve_run


@click.command("note")
@click.argument("ref")
@click.argument("text", required=False)
@click.option("--edit", "-e", is_flag=True, help="Write the note in $EDITOR (starting from the current one).")
def note_cmd(ref, text, edit):
    """Attach a note to run REF (id, suffix, name, HEAD) or to a tag: `expctl note base "lr too high"`.

    Without TEXT (and without --edit) prints the current note. An empty TEXT clears it.
    `show` prints the note, `compare --notes` adds it as a column, and `push` / `pull`
    carry notes with the records.

    \b
    Examples:
      expctl note k6z230 "diverged after warmup; lr too high"
      expctl note base --edit
      expctl note base
    """
    from expctl import notes
    from expctl.project import Project

    store = Project.open().store
    key, what = notes.key_of(store, ref)
    current = notes.get(store.repo, key)
    if edit:
        if text is not None:
            raise UsageError("give TEXT or --edit, not both")
        text = click.edit(current or "", extension=".txt")
        if text is None:
            message("expctl: note unchanged (the editor was closed without saving)")
            return
    if text is None:
        if current is None:
            message(f"expctl: {what} has no note")
        else:
            echo(current + "\n")
        return
    notes.put(store.repo, key, text)
    message(f"expctl: note {'cleared' if not text.strip() else 'saved'} for {what}")


@click.command("rm")
@click.argument("refs", nargs=-1)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="COND",
    help="Delete the runs matching (as for `runs --where`). Repeatable (all must hold).",
)
@click.option("--checkpoints", is_flag=True, help="Delete the runs' checkpoints too (kept by default).")
@click.option("--dry-run", "-n", is_flag=True, help="Only list what would be deleted.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Also delete runs a tag or an open exploration refers to.")
@format_option()
def rm_cmd(refs, where, checkpoints, dry_run, yes, force, fmt, as_json):
    """Delete runs: their records and run folders (checkpoints only with --checkpoints).

    Lists what goes and asks before deleting (--yes skips the question; without a terminal
    it is required). The next `push` deletes the records on the remote as well, and a
    deleted record never comes back on a `pull`. Runs still running, or referred to by a
    tag or an open exploration, are refused without --force.

    \b
    Examples:
      expctl rm k6z230 --dry-run
      expctl rm --where status=failed --yes
      expctl rm --where "stage=smoke" --where "eval_accuracy<0.5" --checkpoints -y
    """
    from expctl import filters, removal
    from expctl.ckptgc import human
    from expctl.project import Project

    if not refs and not where:
        raise UsageError("name the runs to delete (RUN... or --where COND)")
    project = Project.open()
    cfg, store = project.config, project.store
    chosen: dict[str, dict] = {}
    for ref in refs:
        record = resolve_run(store, ref)
        chosen[record["id"]] = record
    if where:
        everything = store.all()
        from expctl.views import declared_keys

        filt = filters.Filter(where, None).check(everything, declared=declared_keys(cfg))
        for record in filt.apply(everything):
            chosen.setdefault(record["id"], record)
    p = removal.plan(store, list(chosen.values()), checkpoints=checkpoints)
    fmt = pick_format(fmt, as_json)
    if not p.items:
        message("expctl: no runs match; nothing deleted")
        return
    echo(render(removal.rows(p), ["run", "name", "stage", "status", "folder", "checkpoints", "note"], fmt))
    if p.refused and not force:
        message(
            f"expctl: refusing to delete {len(p.refused)} run(s) ("
            + "; ".join(f"{i.record['id']}: {i.refused}" for i in p.refused[:3])
            + "); use --force; nothing deleted"
        )
        sys.exit(int(ExitCode.REFUSED))
    total = sum(i.bytes for i in p.items)
    what = f"{len(p.items)} run(s), {human(total)} on disk"
    if dry_run:
        message(f"expctl: dry run: would delete {what}")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise ExpctlError(f"would delete {what}: confirm with --yes (no terminal to ask on)", ExitCode.REFUSED)
        if not click.confirm(f"expctl: delete {what}?", default=False, err=True):
            message("expctl: nothing deleted")
            return
    freed = removal.delete(store, p)
    message(f"expctl: deleted {what} ({human(freed)} freed); `expctl push` deletes them on the remote too")


@click.command("gc")
@click.option(
    "--checkpoints",
    is_flag=True,
    help="List checkpoint folders of runs no tag or open exploration references, with their sizes.",
)
@click.option("--yes", is_flag=True, help="With --checkpoints: delete them (records, logs and metrics stay).")
@format_option(help="Output format of the --checkpoints table.")
def gc_cmd(checkpoints, yes, fmt, as_json):
    """Finalize runs whose expctl process died (recorded as interrupted), remove temp files
    killed expctl processes left, then pack refs and objects so listings stay fast. Records,
    code snapshots and tags are never pruned: every record ref keeps its code reachable.

    With --checkpoints: show what deleting the checkpoints of unreferenced runs would free
    (a dry run); add --yes to delete them.
    """
    from expctl.project import Project

    store = Project.open().store
    if checkpoints:
        _gc_checkpoints(store, yes, pick_format(fmt, as_json))
        return
    records = store.all()
    store.repo.cleanup_temp()
    store.repo.pack_refs()
    store.repo.collect_garbage()
    message(f"expctl: {len(records)} records checked; refs and objects packed")
    from expctl import ckptgc

    candidates, _, _ = ckptgc.plan(store)
    if candidates:
        message(
            f"expctl: {ckptgc.human(sum(c.bytes for c in candidates))} more could be reclaimed: the checkpoints "
            f"of {len(candidates)} unreferenced run(s) (`expctl gc --checkpoints`); whole runs: `expctl rm`"
        )


def _gc_checkpoints(store, yes: bool, fmt: str = "table") -> None:
    from expctl import ckptgc

    candidates, keep, kept_bytes = ckptgc.plan(store)
    total = sum(c.bytes for c in candidates)
    if candidates or fmt == "json":
        echo(report_table(ckptgc.rows(candidates), ["run", "stage", "started", "checkpoints", "size"], fmt) + "\n")
    message(
        f"expctl: keeping the checkpoints of {len(keep)} referenced run(s) ({ckptgc.human(kept_bytes)}): "
        + (", ".join(f"{rid} ({why})" for rid, why in list(keep.items())[:5]) or "none")
        + (" ..." if len(keep) > 5 else "")
    )
    if not candidates:
        message("expctl: no checkpoints to delete")
    elif yes:
        freed = ckptgc.delete(store, candidates)
        message(f"expctl: deleted the checkpoints of {len(candidates)} run(s): {ckptgc.human(freed)} freed")
    else:
        message(
            f"expctl: dry run: deleting the checkpoints of {len(candidates)} run(s) would free "
            f"{ckptgc.human(total)}; run `expctl gc --checkpoints --yes` to delete them"
        )
