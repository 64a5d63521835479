"""`expctl diff A B`: settings, metrics, data, environment, command and code of two runs."""

from __future__ import annotations

import json
import math
from typing import Any

from expctl.record import Record
from expctl.refs import resolve_run
from expctl.settings import flatten

BATCH_KEYS = ("batch_size", "per_device_batch_size", "train_batch_size", "per_device_train_batch_size")
ACCUM_KEYS = ("grad_accum_steps", "gradient_accumulation_steps", "accumulation_steps")


def _env(store, record) -> dict[str, Any]:
    blob = store.read_file(record, "env.json")
    try:
        return json.loads(blob) if blob else {}
    except ValueError:
        return {}


def effective_batch(record: dict[str, Any]) -> int | None:
    flat = flatten(Record(record).settings)
    batch = next((flat[k] for k in BATCH_KEYS if isinstance(flat.get(k), int)), None)
    if batch is None:
        return None
    accum = next((flat[k] for k in ACCUM_KEYS if isinstance(flat.get(k), int)), 1)
    world = Record(record).env.get("world_size") or 1
    return batch * accum * world


def _changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    added = {k: b[k] for k in sorted(b) if k not in a}
    removed = {k: a[k] for k in sorted(a) if k not in b}
    changed = {k: [a[k], b[k]] for k in sorted(a) if k in b and a[k] != b[k]}
    return {"added": added, "removed": removed, "changed": changed}


def diff(store, ref_a: str, ref_b: str, patch: bool = False) -> dict[str, Any]:
    ra, rb = resolve_run(store, ref_a), resolve_run(store, ref_b)
    sa = {k: v for k, v in flatten(Record(ra).settings).items() if not isinstance(v, dict)}
    sb = {k: v for k, v in flatten(Record(rb).settings).items() if not isinstance(v, dict)}
    fa = Record(ra).final
    fb = Record(rb).final
    metrics = {}
    for k in sorted(set(fa) | set(fb)):
        va, vb = fa.get(k), fb.get(k)
        delta = (
            vb - va
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and math.isfinite(va) and math.isfinite(vb)
            else None
        )
        metrics[k] = {"a": va, "b": vb, "delta": delta}
    da = {p: fp.get("fingerprint") for p, fp in Record(ra).data.items()}
    db = {p: fp.get("fingerprint") for p, fp in Record(rb).data.items()}
    ea, eb = _env(store, ra), _env(store, rb)
    env_a = {
        "python": ea.get("python"),
        "host": ea.get("host"),
        "gpus": ",".join(g.get("name", "") for g in ea.get("gpus") or []),
        "world_size": Record(ra).env.get("world_size"),
        "effective_batch_size": effective_batch(ra),
        **{f"package.{k}": v for k, v in (ea.get("packages") or {}).items()},
    }
    env_b = {
        "python": eb.get("python"),
        "host": eb.get("host"),
        "gpus": ",".join(g.get("name", "") for g in eb.get("gpus") or []),
        "world_size": Record(rb).env.get("world_size"),
        "effective_batch_size": effective_batch(rb),
        **{f"package.{k}": v for k, v in (eb.get("packages") or {}).items()},
    }
    ca, cb = Record(ra).commit, Record(rb).commit
    code: dict[str, Any] = {"a": ca, "b": cb, "files": [], "stat": "", "patch": None}
    if ca and cb and ca != cb:
        repo = store.repo
        code["files"] = repo.diff_names(ca, cb)
        code["stat"] = repo.diff_stat(ca, cb)
        if patch:
            code["patch"] = repo.diff_patch(ca, cb)
    return {
        "a": {"ref": ref_a, "run": ra["id"], "stage": ra.get("stage")},
        "b": {"ref": ref_b, "run": rb["id"], "stage": rb.get("stage")},
        "settings": _changes(sa, sb),
        "metrics": metrics,
        "data": _changes(da, db),
        "env": _changes(env_a, env_b)["changed"],
        "command": None if ra.get("command") == rb.get("command") else [ra.get("command"), rb.get("command")],
        "code": code,
    }


def format_text(d: dict[str, Any]) -> str:
    from expctl.output import fmt_value

    a, b = d["a"], d["b"]
    lines = [
        f"A: {a['ref']} (run {a['run']}, stage {a['stage'] or '-'})",
        f"B: {b['ref']} (run {b['run']}, stage {b['stage'] or '-'})",
        "",
    ]
    s = d["settings"]
    lines.append("settings")
    if not any(s.values()):
        lines.append("  (identical)")
    for k, v in s["changed"].items():
        lines.append(f"  ~ {k}: {fmt_value(v[0])} -> {fmt_value(v[1])}")
    for k, v in s["added"].items():
        lines.append(f"  + {k} = {fmt_value(v)}")
    for k, v in s["removed"].items():
        lines.append(f"  - {k} = {fmt_value(v)}")
    lines += ["", "metrics (final)"]
    for k, m in d["metrics"].items():
        delta = f"  ({m['delta']:+.4g})" if m["delta"] is not None and m["delta"] != 0 else ""
        lines.append(f"  {k}: {fmt_value(m['a'])} -> {fmt_value(m['b'])}{delta}")
    data = d["data"]
    if any(data.values()):
        lines += ["", "data"]
        for k, v in data["changed"].items():
            lines.append(f"  ~ {k}: {v[0]} -> {v[1]}")
        for k in data["added"]:
            lines.append(f"  + {k}")
        for k in data["removed"]:
            lines.append(f"  - {k}")
    if d["env"]:
        lines += ["", "environment"]
        for k, v in d["env"].items():
            lines.append(f"  ~ {k}: {fmt_value(v[0])} -> {fmt_value(v[1])}")
    if d["command"]:
        lines += ["", "command", f"  - {' '.join(d['command'][0] or [])}", f"  + {' '.join(d['command'][1] or [])}"]
    code = d["code"]
    lines += ["", f"code {str(code['a'])[:10]} -> {str(code['b'])[:10]}"]
    if code["a"] == code["b"]:
        lines.append("  (same code)")
    else:
        lines.extend("  " + line for line in (code["stat"] or "").rstrip().splitlines())
        if code.get("patch"):
            lines += ["", code["patch"].rstrip()]
    return "\n".join(lines) + "\n"
