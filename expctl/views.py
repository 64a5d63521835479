"""View code: what a command shows of a run, a record or a difference, as rows for the one
renderer (:mod:`expctl.output`) or as the human text of ``show``. Click callbacks parse
options, call the project's logic, and hand its result to a function here and to
:func:`expctl.output.render`; :mod:`expctl.api` reads records through :func:`clean`.

Nothing heavy is imported (the listings of 100,000 runs go through here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expctl.output import fmt_value

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "interrupted": "yellow",
    "running": "cyan",
    "queued": "blue",
}
"""The table colour of each run status (on a terminal only, :func:`expctl.output.use_color`)."""


def status_styles(statuses: list[str | None]) -> dict[tuple[int, str], str]:
    """``render``'s styles for a table with a ``status`` column, one status a row."""
    return {(i, "status"): STATUS_STYLE.get(s or "", "") for i, s in enumerate(statuses)}


def clean(record: dict[str, Any]) -> dict[str, Any]:
    """A record as it is shown and returned: without the store's private ``_`` keys. A member
    of a sweep or seed group also shows ``sweep: {id, config, varied, base, seed}`` (derived
    from its ``group``), the field scripts read before the run-group engine."""
    out = {k: v for k, v in record.items() if not k.startswith("_")}
    if "sweep" not in out:
        from expctl import rungroups

        legacy = rungroups.legacy_sweep(record)
        if legacy is not None:
            out["sweep"] = legacy
    return out


def elapsed(record: dict[str, Any]) -> str:
    """How long a running run has run so far (``runs`` and ``show``)."""
    import calendar
    import time

    from expctl.live import human_duration

    try:
        t0 = calendar.timegm(time.strptime((record.get("started") or "").rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return ""
    return human_duration(time.time() - t0) + " so far"


def run_row(record: dict[str, Any]) -> dict[str, Any]:
    """One run's row in ``runs`` and ``wait`` (a running run's duration so far)."""
    from expctl.recordindex import runs_row

    row = runs_row(record)
    if record.get("status") == "running":
        row["duration"] = elapsed(record)
    return row


def declared_keys(cfg) -> list[str]:
    """The settings and the primary metric the project declares (``--where`` and ``--sort``
    accept them before any run has recorded them)."""
    from expctl.settings import flatten

    return [*flatten(cfg.settings), *([cfg.primary_metric] if cfg.primary_metric else [])]


def human(seconds: Any) -> str:
    from expctl.live import human_duration

    return human_duration(seconds or 0)


def show_payload(store, record: dict[str, Any]) -> dict[str, Any]:
    """The record plus what `show` adds: absolute checkpoint paths (and whether they
    exist), the run folder, and the log tail."""
    data = clean(record)
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
                f"started   {data.get('started')}  running for {human(data.get('elapsed_s'))}",
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
        lines.append(f"  {k} = {fmt_value(v) if v != '' else chr(34) * 2}")  # an empty string shown as ""
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


SHOW_COLUMNS = ["field", "value"]


def show_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``show``'s payload as (field, value) rows for markdown, csv and tsv: nested fields
    as dotted names (``settings.lr``, ``metrics.final.eval_accuracy``), lists of plain
    values kept (the renderer joins them), lists of objects as JSON."""
    import json

    rows: list[dict[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
            rows.append({"field": prefix, "value": json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)})
        elif isinstance(value, dict):
            rows.append({"field": prefix, "value": None})
        else:
            rows.append({"field": prefix, "value": value})

    walk("", data)
    return rows


DIFF_COLUMNS = ["section", "key", "a", "b", "delta"]


def diff_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """``diff``'s result (:func:`expctl.diffing.diff`) as rows for markdown, csv and tsv:
    one row per setting, metric, data file or environment field that differs (every final
    metric), the command when it differs, and the code commits (and changed files)."""
    rows: list[dict[str, Any]] = [
        {"section": "run", "key": "ref", "a": d["a"]["ref"], "b": d["b"]["ref"]},
        {"section": "run", "key": "id", "a": d["a"]["run"], "b": d["b"]["run"]},
        {"section": "run", "key": "stage", "a": d["a"]["stage"], "b": d["b"]["stage"]},
    ]
    for section in ("settings", "data"):
        changes = d[section]
        for k, (va, vb) in changes["changed"].items():
            rows.append({"section": section, "key": k, "a": va, "b": vb})
        for k, v in changes["added"].items():
            rows.append({"section": section, "key": k, "a": None, "b": v})
        for k, v in changes["removed"].items():
            rows.append({"section": section, "key": k, "a": v, "b": None})
        if section == "settings":
            for k, m in d["metrics"].items():
                rows.append({"section": "metrics", "key": k, "a": m["a"], "b": m["b"], "delta": m["delta"]})
    for k, (va, vb) in d["env"].items():
        rows.append({"section": "env", "key": k, "a": va, "b": vb})
    if d["command"]:
        ca, cb = d["command"]
        rows.append({"section": "command", "key": "command", "a": " ".join(ca or []), "b": " ".join(cb or [])})
    code = d["code"]
    rows.append({"section": "code", "key": "commit", "a": code["a"], "b": code["b"]})
    if code.get("files"):
        rows.append({"section": "code", "key": "files", "a": None, "b": list(code["files"])})
    return rows


def add_notes(
    rows: list[dict[str, Any]], json_rows: list[Any] | None, found: dict[str, str], *, runs_mode: bool
) -> None:
    """``compare --notes``: each row's note (a strategy row: its tag's note, else its run's),
    in place; the json rows get it too (None for none)."""
    for row, jrow in zip(rows, json_rows or [None] * len(rows)):
        tag_note = None if runs_mode else found.get(f"tags/{row.get('strategy')}")
        row["note"] = tag_note or found.get(f"runs/{row.get('run')}", "")
        if isinstance(jrow, dict):
            jrow["note"] = row["note"] or None


STRATEGY_COLUMNS = ["strategy", "kind", "status", "best", "stage", "runs", "created", "commit", "note"]


def strategy_rows(found, cfg) -> list[dict[str, Any]]:
    """``strategies``' rows: each strategy (:func:`expctl.strategies.collect`) with its status,
    best primary metric (a seed group's mean), stage, run count, date and a note on its history."""
    import time

    from expctl.strategies import best_group

    rows = []
    for s in found:
        group = best_group(s.runs, cfg.primary_metric, cfg.direction, list(cfg.stages))
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
    return rows


REPRODUCE_COLUMNS = ["metric", "original", "reproduced", "delta", "ok"]


def reproduce_rows(out: dict[str, Any]) -> list[dict[str, Any]]:
    """``reproduce``'s table: each metric, original and reproduced, the delta, within tolerance."""
    return [
        {
            "metric": k,
            "original": m["original"],
            "reproduced": m["reproduced"],
            "delta": f"{m['delta']:+.3g}" if m["delta"] is not None else "",
            "ok": "yes" if m["within_tolerance"] else "NO",
        }
        for k, m in out["metrics"].items()
    ]


def runs_index_table(store, fmt: str) -> str | None:
    """Every run's row as the local index holds it (``runs`` piped, table or markdown), or
    None when it cannot (a run is queued or running: its liveness is judged on the whole
    record; or nothing is recorded yet: the normal path gives the hint)."""
    from expctl import recordindex
    from expctl.output import render, use_color

    if fmt == "table" and not use_color():
        return recordindex.runs_text(store)  # as plain_table prints the cells, kept in the index
    _, cells = recordindex.runs_table(store)
    if not cells:
        return None
    columns = list(recordindex.RUNS_COLUMNS)
    rows = [dict(zip(columns, c)) for c in cells]
    return render(rows, columns, fmt, styles=status_styles([r["status"] for r in rows]))
