"""runs, show, log: reading the recorded runs (the list, one run, its log)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from expctl.errors import ExpctlError
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
from expctl.record import Record
from expctl.refs import resolve_run


def _row(record: dict[str, Any]) -> dict[str, Any]:
    from expctl.recordindex import runs_row

    row = runs_row(record)
    if record.get("status") == "running":
        row["duration"] = _elapsed(record)
    return row


def _elapsed(record: dict[str, Any]) -> str:
    """How long a running run has run so far (``runs`` and ``show``)."""
    import calendar
    import time

    from expctl.live import human_duration

    try:
        t0 = calendar.timegm(time.strptime((record.get("started") or "").rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return ""
    return human_duration(time.time() - t0) + " so far"


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


@click.command("runs")
@click.option("--stage", default=None, help="Only runs of this stage.")
@click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed", "interrupted"]), default=None)
@click.option(
    "--strategy",
    default=None,
    help="Only runs of this strategy: a tag (runs of its code, settings and data), an exploration, or a branch name.",
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
        and _runs_table(store, fmt)
    ):
        return  # every run, from the local index's ready-made rows
    from expctl import recordindex

    everything = newest if newest is not None else recordindex.summaries(store)
    filt.check(everything, declared=_declared(cfg))
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
        filters.check_sort_key(sort, filters.known_keys(everything, _declared(cfg)), ("date", "started"))
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
    rows = [_row(r) for r in records]
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
    styles = {}
    for i in range(len(rows)):
        styles[(i, "status")] = {
            "succeeded": "green",
            "failed": "red",
            "interrupted": "yellow",
            "running": "cyan",
            "queued": "blue",
        }.get(records[i].get("status"), "")
    echo(
        render(
            rows,
            columns,
            fmt,
            styles=styles,
            json_rows=[_clean(r) for r in records],
            drop_order=["duration", "commit", "branch", "check", "name", "started", "stage"],
        )
    )


def _runs_table(store, fmt: str) -> bool:
    """Print every run's row as the local index holds it, for a pipe (a terminal gets the
    table fitted to its width); False when it cannot (a run is queued or running: its
    liveness is judged on the whole record)."""
    from expctl import recordindex
    from expctl.output import plain_table, use_color

    cells = recordindex.runs_table(store)
    if not cells:  # a run is live (or nothing is recorded yet: the normal path gives the hint)
        return False
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    columns = list(recordindex.RUNS_COLUMNS)
    if fmt == "table" and not use_color():
        echo(plain_table(columns, cells))
        return True
    rows = [dict(zip(columns, c)) for c in cells]
    styles = {(i, "status"): _STATUS_STYLE.get(r["status"], "") for i, r in enumerate(rows)}
    echo(render(rows, columns, fmt, styles=styles))
    return True


_STATUS_STYLE = {"succeeded": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}


def _declared(cfg) -> list[str]:
    from expctl.settings import flatten

    return [*flatten(cfg.settings), *([cfg.primary_metric] if cfg.primary_metric else [])]


def show_payload(store, record: dict[str, Any]) -> dict[str, Any]:
    """The record plus what `show` adds: absolute checkpoint paths (and whether they
    exist), the run folder, and the log tail."""
    data = _clean(record)
    run_dir = store.run_dir(record["id"])
    data["run_dir"] = str(run_dir)
    data["run_dir_exists"] = run_dir.is_dir()
    ck = record.get("checkpoints") or {}
    if ck:
        resolved: dict[str, Any] = {}
        for key in ("best", "last"):
            if ck.get(key):
                resolved[key] = str((run_dir / ck[key]).resolve()) if not Path(ck[key]).is_absolute() else ck[key]
        resolved["all"] = [str((run_dir / p).resolve()) if not Path(p).is_absolute() else p for p in ck.get("all", [])]
        resolved["exists"] = {
            p: Path(p).exists() for p in {*resolved["all"], *[resolved[k] for k in ("best", "last") if k in resolved]}
        }
        for key, value in ck.items():
            resolved.setdefault(key, value)
        data["checkpoints"] = resolved
    tail = store.read_file(record, "train.log")
    if tail is None:
        tail = store.read_file(record, "log_tail.txt")
    text = (tail or b"").decode("utf-8", "replace")
    data["log_tail"] = "\n".join(text.splitlines()[-20:])
    if record.get("status") == "running":
        from expctl.live import running_summary

        elapsed, progress = running_summary(record, run_dir / "metrics.jsonl")
        data["elapsed_s"] = round(elapsed, 1)
        data["live"] = {
            "step": progress.step,
            "total_steps": progress.total,
            "metrics": progress.latest,
            "text": progress.text(),
        }
    from expctl import notes

    note = notes.get(store.repo, f"runs/{record['id']}")
    if note:
        data["note"] = note
    return data


@click.command("show")
@click.argument("ref", default="HEAD")
@format_option()
def show_cmd(ref, fmt, as_json):
    """Show one run: settings, metrics, environment, code, checkpoints, log tail.

    REF is a run id (or a unique prefix, or the random suffix: k6z230), a run name, a tag, a
    branch, or HEAD.
    """
    from expctl.project import Project

    store = Project.open().store
    record = resolve_run(store, ref)
    data = show_payload(store, record)
    for w in store.warnings:
        message(f"expctl: warning: {w}")
    if pick_format(fmt, as_json) == "json":
        echo(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    echo(safe_text(format_show(data)))  # escape sequences in names or settings shown, never obeyed


def _human(seconds: Any) -> str:
    from expctl.live import human_duration

    return human_duration(seconds or 0)


def format_show(data: dict[str, Any]) -> str:
    from expctl.cluster import status_text
    from expctl.settings import flatten

    code = data.get("code") or {}
    lines = [
        f"run       {data['id']}" + (f"  ({data['name']})" if data.get("name") else ""),
        *([f"note      {line}" for line in data["note"].splitlines()] if data.get("note") else []),
        *(
            [
                f"status    {status_text(data)}  stage={data.get('stage') or '-'}",
                f"started   {data.get('started')}  running for {_human(data.get('elapsed_s'))}",
                f"progress  {data['live']['text']}",
            ]
            if data.get("live")
            else [
                f"status    {status_text(data)}  exit={data.get('exit_code')}  stage={data.get('stage') or '-'}"
                + (f"  ({data['slurm']['reason']})" if (data.get("slurm") or {}).get("reason") else ""),
                f"started   {data.get('started')}  duration={fmt_value(data.get('duration_s'))}s",
            ]
        ),
        f"code      {code.get('commit')}"
        + ("  (snapshot of a dirty tree)" if code.get("snapshot") else "")
        + f"  branch={code.get('branch') or '(detached)'}",
        f"command   {' '.join(data.get('command') or [])}",
        f"folder    {data['run_dir']}" + ("" if data.get("run_dir_exists") else "  (gone; record kept in git)"),
    ]
    for item in code.get("excluded") or []:
        lines.append(f"excluded  {item['path']} ({item['size']} bytes, not in the snapshot)")
    for item in code.get("untracked") or []:
        lines.append(f"untracked {item['path']} ({item['size']} bytes, in the snapshot)")
    if code.get("withheld"):
        lines.append(f"withheld  {', '.join(code['withheld'])} (look like secrets; not in the snapshot)")
    for key, what in (("resumes", "resumes"), ("reproduces", "reproduces")):
        if data.get(key):
            lines.append(f"{what:9} {data[key]}")
    check = data.get("check")
    if check:
        lines.append(
            f"check     {check['check']}: "
            + ("passed" if check["passed"] else "FAILED: " + "; ".join(check["reasons"]))
        )
    lines.append("")
    lines.append("settings")
    for k, v in flatten(data.get("settings") or {}).items():
        lines.append(f"  {k} = {fmt_value(v)}")
    m = data.get("metrics") or {}
    lines.append("")
    lines.append("metrics (final / best)")
    best = m.get("best") or {}
    for k, v in sorted((m.get("final") or {}).items()):
        lines.append(
            f"  {k} = {fmt_value(v)}" + (f"  (best {fmt_value(best[k])})" if k in best and best[k] != v else "")
        )
    if data.get("data"):
        lines.append("")
        lines.append("data")
        for path, fp in data["data"].items():
            lines.append(
                f"  {path}  {fp.get('fingerprint')}"
                + (f"  {fp['size']} bytes" if "size" in fp else "")
                + (f"  {fp['split']}" if fp.get("split") else "")
            )
    for name, inp in (data.get("data_inputs") or {}).items():
        if not isinstance(inp, dict):
            continue
        if inp.get("path") != inp.get("source"):
            counts = ", ".join(f"{k} {v}" for k, v in (inp.get("labels") or {}).items())
            lines.append(
                f"  {{data.{name}}} = {inp.get('path')}: {inp.get('units')} of {inp.get('source')} "
                f"({inp.get('limit_setting')}={inp.get('limit')}, seed {inp.get('seed')})"
                + (f"; labels {counts}" if counts else "")
                + f"  {inp.get('fingerprint')}"
            )
        else:
            lines.append(f"  {{data.{name}}} = {inp.get('source')} (whole file)")
    env = data.get("env") or {}
    lines.append("")
    lines.append(
        f"env       host={env.get('host')} python={env.get('python')} gpus={len(env.get('gpus') or [])} "
        + " ".join(f"{k}={v}" for k, v in (env.get("packages") or {}).items())
    )
    ck = data.get("checkpoints")
    if ck:
        lines.append("")
        lines.append("checkpoints")
        for key in ("best", "last"):
            if key in ck:
                lines.append(f"  {key}: {ck[key]}" + ("" if ck.get("exists", {}).get(ck[key]) else "  (missing)"))
    if data.get("log_tail"):
        lines.append("")
        lines.append("log (tail)")
        lines.extend("  " + line for line in data["log_tail"].splitlines())
    return "\n".join(lines) + "\n"


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
