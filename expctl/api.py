"""expctl from Python (notebooks, scripts): the runs and the results table as data.

>>> from expctl import api
>>> df = api.runs("path/to/project", stage="small", where=["status=succeeded"])
>>> df.sort_values("metrics.eval_accuracy", ascending=False).head()
>>> api.compare("path/to/project", runs=True, frame=False)[0]["value"]

Both return a pandas ``DataFrame`` when pandas is installed (``frame=None``, the default;
``frame=True`` insists on it, ``frame=False`` asks for the plain records). A frame has one
row per run (or results-table row) and typed columns: ``id``, ``name``, ``stage``,
``status``, ``started`` (a datetime), ``duration_s``, ``branch``, ``commit``, then one
``settings.<key>`` column per setting and one ``metrics.<name>`` column per final metric
(numbers as numbers, booleans as booleans; missing values are ``<NA>``). The records are
the same dictionaries `expctl runs --json` prints. Nothing here imports pandas until a
frame is built.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from expctl.record import Record

__all__ = ["runs", "compare", "to_frame"]


def _project(path: str | os.PathLike | None):
    from expctl.project import Project

    return Project.open(path)


def _want_frame(frame: bool | None) -> bool:
    if frame is not None:
        return frame
    import importlib.util

    return importlib.util.find_spec("pandas") is not None


def runs(
    path: str | os.PathLike | None = None,
    *,
    stage: str | None = None,
    status: str | None = None,
    where: Iterable[str] = (),
    since: str | None = None,
    limit: int | None = None,
    frame: bool | None = None,
) -> Any:
    """The project's runs, newest first, filtered as `expctl runs` filters them
    (``where``: conditions like ``"lr>1e-4"``, ``"status=succeeded"``)."""
    from expctl import filters
    from expctl.records import filter_records
    from expctl.views import clean, declared_keys

    project = _project(path)
    cfg, store = project.config, project.store
    everything = store.all()
    filt = filters.Filter(tuple(where), since).check(everything, declared=declared_keys(cfg))
    records = filt.apply(filter_records(everything, stage=stage, status=status))
    if limit is not None:
        records = records[:limit]
    records = [clean(r) for r in records]
    return to_frame(records) if _want_frame(frame) else records


def compare(
    path: str | os.PathLike | None = None,
    refs: Iterable[str] = (),
    *,
    runs: bool = False,
    stage: str | None = None,
    where: Iterable[str] = (),
    sort: str | None = None,
    frame: bool | None = None,
) -> Any:
    """The results table `expctl compare` shows, one dictionary (or frame row) per row:
    ``value`` (the primary metric, a seed group's mean), ``std``, ``n``, ``delta``,
    ``settings`` and ``metrics``."""
    from expctl import compare as compare_mod

    project = _project(path)
    cfg, store = project.config, project.store
    rows, ctx = compare_mod.build(store, cfg, tuple(refs), runs_mode=runs, stage=stage, where=tuple(where))
    _, _, _, json_rows = compare_mod.table(rows, ctx, "json", None, sort, None)
    return to_frame(json_rows) if _want_frame(frame) else json_rows


def to_frame(records: list[dict[str, Any]]):
    """A typed DataFrame from run records or compare rows (see the module docstring)."""
    try:
        import pandas as pd
    except ImportError as exc:  # frame=True without pandas
        raise ImportError("expctl.api frames need pandas: pip install pandas (or pass frame=False)") from exc
    from expctl.settings import flatten

    flat_rows = []
    for r in records:
        code = r.get("code") or {}
        final = Record(r).metrics.get("final") if "final" in Record(r).metrics else r.get("metrics")
        row: dict[str, Any] = {}
        for key, value in r.items():
            if key in ("settings", "metrics", "code", "env", "check", "checkpoints", "data", "data_inputs"):
                continue
            if isinstance(value, (dict, list)):
                continue
            row[key] = value
        if code:
            row["branch"] = code.get("branch")
            row["commit"] = code.get("commit")
        for key, value in flatten(Record(r).settings).items():
            if not isinstance(value, dict):
                row[f"settings.{key}"] = value if not isinstance(value, list) else tuple(value)
        for key, value in (final or {}).items():
            row[f"metrics.{key}"] = value
        flat_rows.append(row)
    df = pd.DataFrame(flat_rows)
    for col in df.columns:
        values = [v for v in df[col] if v is not None and not (isinstance(v, float) and v != v)]
        if values and all(isinstance(v, bool) for v in values):
            df[col] = df[col].astype("boolean")
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("Int64")
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("float64")
    for col in ("started", "ended", "date"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, errors="coerce")
    return df
