"""Recorded curves for the viewers people already have: TensorBoard event files and one
tidy CSV for pandas.

Both read a run's ``metrics.jsonl`` from its record (folder or git, so any program's runs,
also in a fresh clone after ``expctl pull``) with :func:`expctl.analysis.plot.parse_metrics`:

- :func:`tidy_rows`: one row per (run, step, metric): ``run``, ``name``, ``strategy``,
  ``stage``, ``step``, ``metric``, ``value``, then one column per setting (flattened keys,
  ``setting.`` in front only where a key would clash with those columns).
- :func:`write_tensorboard`: one sub-folder per run (``<out>/<run id>/``) holding one event
  file of scalar summaries (tag = metric, step, wall time from the event's ``time`` when the
  program logged it, else the run's start), written with ``tensorboard``'s own
  ``EventFileWriter`` (an optional extra: ``pip install 'expctl[tensorboard]'``), plus the
  run's settings as a text summary.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from expctl.errors import UsageError

FIXED = ["run", "name", "strategy", "stage", "step", "metric", "value"]


def _curves(store, record: dict[str, Any]):
    from expctl.analysis.plot import parse_metrics

    data = store.read_file(record, "metrics.jsonl")
    if not data:
        raise UsageError(f"run {record['id']} recorded no curves (no metrics.jsonl)")
    return parse_metrics(data, name=record["id"]), data


def _wall_times(data: bytes) -> dict[float, float]:
    """step -> the ``time`` the program logged with it (the last one wins)."""
    from expctl.analysis.sources import parse_jsonl

    out = {}
    for obj in parse_jsonl(data)[0]:
        step, t = obj.get("step"), obj.get("time")
        if isinstance(step, (int, float)) and isinstance(t, (int, float)) and not isinstance(t, bool):
            out[float(step)] = float(t)
    return out


def _settings(record: dict[str, Any]) -> dict[str, Any]:
    from expctl.record import Record
    from expctl.settings import flatten

    return {k: v for k, v in flatten(Record(record).settings).items() if not isinstance(v, dict)}


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def _step(step: float) -> int | float:
    return int(step) if float(step).is_integer() else step


def tidy_rows(store, records: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of the tidy table (see the module docstring)."""
    keys = sorted({k for r in records for k in _settings(r)})
    names = {k: (f"setting.{k}" if k in FIXED else k) for k in keys}
    rows = []
    for record in records:
        curves, _ = _curves(store, record)
        settings = _settings(record)
        head = [record["id"], record.get("name") or "", record.get("strategy") or "", record.get("stage") or ""]
        tail = [_cell(settings.get(k)) for k in keys]
        for metric in curves.metrics():
            for step, value in curves.series[metric]:
                rows.append([*head, _step(step), metric, value, *tail])
    return FIXED + [names[k] for k in keys], rows


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_tensorboard(store, records: Sequence[dict[str, Any]], out: str | Path) -> list[Path]:
    """One event file per run under ``out/<run id>/``; returns the files."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as exc:
        raise UsageError(
            "export tensorboard needs tensorboard, which is not installed: pip install 'expctl[tensorboard]'"
        ) from exc
    out = Path(out)
    files = []
    loaded = [(record, *_curves(store, record)) for record in records]  # refuse before writing anything
    for record, curves, data in loaded:
        folder = out / record["id"]
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("events.out.tfevents.*.expctl"):
            old.unlink()  # an export replaces the previous export of this run
        times = _wall_times(data)
        start = float(record.get("started_unix") or 0.0)
        writer = EventFileWriter(str(folder), filename_suffix=".expctl")
        text = json.dumps(_settings(record), ensure_ascii=False, sort_keys=True, indent=1)
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING, string_val=[text.encode()], tensor_shape=tensor_shape_pb2.TensorShapeProto()
        )
        writer.add_event(
            event_pb2.Event(
                wall_time=start,
                step=0,
                summary=summary_pb2.Summary(
                    value=[summary_pb2.Summary.Value(tag="settings", metadata=meta, tensor=tensor)]
                ),
            )
        )
        for metric in curves.metrics():
            for step, value in curves.series[metric]:
                summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=metric, simple_value=value)])
                writer.add_event(event_pb2.Event(wall_time=times.get(step, start), step=int(step), summary=summary))
        writer.close()
        files.extend(sorted(folder.glob("events.out.tfevents.*.expctl")))
    return files
