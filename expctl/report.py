"""``expctl report``: one self-contained HTML file of the results, curves, diffs and cases.

Everything comes from the run records in git (``metrics.jsonl`` and ``predictions.jsonl``
travel with them), so a fresh clone after ``expctl pull`` renders the same report. The data
is gathered with the modules the terminal commands use, never re-derived:

- the results table: :func:`expctl.compare.build` and :func:`expctl.compare.table`
  (membership, seed groups, mean ± std, within-noise marking);
- curves: each row's seed group (:class:`expctl.strategies.Group`) aggregated by
  :mod:`expctl.analysis.curvegroups`, drawn as inline SVG by :mod:`expctl.analysis.svgchart`;
- the diagnosis: :func:`expctl.analysis.plot.diagnose` on the group's mean curves;
- the diff against the baseline row: :func:`expctl.diffing.diff`;
- the confusion matrix and wrong predictions: :func:`expctl.analysis.cases.analyse`.

The page holds no external reference of any kind (no script, style sheet, font or image
URL): charts are SVG, the style sheet and the 40-line table-sorting script are inlined
from ``expctl/report_assets/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from expctl import __version__
from expctl.errors import UsageError

HIDDEN_CURVES = ("lr", "learning_rate", "epoch", "time", "train_samples_per_s", "train_runtime", "grad_norm")
MAX_METRICS = 6
CASES_PAGE = 50


@dataclass
class Section:
    """One row of the table: its curves, diagnosis, diff against the baseline, cases."""

    label: str
    kind: str
    index: int
    run_ids: list[str]
    group: Any  # CurveGroup
    diagnosis: Any = None  # plot.Diagnosis
    diff: dict[str, Any] | None = None
    cases: Any = None  # cases.CaseReport
    cases_note: str = ""
    chart: str = ""


@dataclass
class Report:
    project: str
    generated: str
    head: str | None
    branch: str | None
    metric: str | None
    direction: str
    stages: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]  # visible cells
    json_rows: list[dict[str, Any]]
    metrics: list[str]
    charts: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    baseline: str | None = None


def _chart_metrics(groups, primary: str | None, wanted: Sequence[str] | None) -> list[str]:
    from expctl.analysis.plot import primary_eval_metric

    available = sorted({m for g in groups for c in g.members for m in c.series})
    if wanted:
        unknown = [m for m in wanted if m not in available]
        if unknown:
            raise UsageError(
                f"no metric {', '.join(unknown)} in the runs (available: {', '.join(available) or 'none'})"
            )
        return list(wanted)
    out = [m for m in ("train_loss", "loss") if m in available][:1]
    ev = primary_eval_metric(available, primary)
    if ev and ev not in out:
        out.append(ev)
    out += [m for m in available if m.startswith("eval_") and m not in out]
    out += [m for m in available if m not in out and not m.startswith(HIDDEN_CURVES) and not m.startswith("eval_")]
    return out[:MAX_METRICS]


def build(
    store,
    cfg,
    refs: Sequence[str] = (),
    *,
    runs_mode: bool = False,
    stage: str | None = None,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    max_points: int = 200,
) -> Report:
    """Gather everything the page shows (no HTML here)."""
    from expctl import compare, diffing
    from expctl.analysis.cases import analyse
    from expctl.analysis.curvegroups import CurveGroup, distinguishing_labels, epoch_starts
    from expctl.analysis.plot import diagnose, parse_metrics, primary_eval_metric
    from expctl.analysis.sources import parse_jsonl

    rows, ctx = compare.build(store, cfg, refs, runs_mode=runs_mode, stage=stage, baseline=baseline)
    if not rows:
        raise UsageError("nothing to report yet: tag a strategy (`expctl tag NAME`) or use --runs")
    visible, columns, _, json_rows = compare.table(rows, ctx, "json")  # human cells, no best marker
    groups = []
    for row in rows:
        blobs = [store.read_file(r, "metrics.jsonl") or b"" for r in row.group.runs]
        members = [parse_metrics(b, name=r["id"]) for b, r in zip(blobs, row.group.runs)]
        groups.append(
            CurveGroup(
                row.label,
                members,
                [r["id"] for r in row.group.runs],
                {},
                row.label,
                epoch_starts(blobs[0]) if blobs else [],
            )
        )
    if runs_mode:
        from expctl.analysis.curvegroups import _plain_settings

        labels = distinguishing_labels([_plain_settings(r.record) for r in rows], [r.label for r in rows])
        for g, label in zip(groups, labels):
            g.label = label
    chart_metrics = _chart_metrics(groups, ctx["metric"], metrics)
    available = sorted({m for g in groups for c in g.members for m in c.series})
    eval_metric = primary_eval_metric(available, ctx["metric"])
    base_row = next((r for r in rows if r.extra.get("baseline")), rows[0])
    sections = []
    for i, (row, group) in enumerate(zip(rows, groups)):
        sec = Section(group.label, row.kind, i, group.run_ids, group)
        sec.diagnosis = diagnose(group.mean_curves(), eval_metric=eval_metric, direction_of=cfg.direction_of)
        if row is not base_row:
            sec.diff = diffing.diff(store, base_row.record["id"], row.record["id"])
            for part in sec.diff["settings"].values():  # seeds differ within a row too: not a change
                for key in [k for k in part if k.rsplit(".", 1)[-1] == "seed"]:
                    del part[key]
        data = store.read_file(row.record, "predictions.jsonl")
        if data:
            preds, bad = parse_jsonl(data)
            try:
                sec.cases = analyse(
                    preds, limit=CASES_PAGE, source=f"{row.record['id']}:predictions.jsonl", malformed=bad
                )
            except UsageError as exc:
                sec.cases_note = str(exc)
        sections.append(sec)
    repo = store.repo
    report = Report(
        project=cfg.name,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        head=repo.head(),
        branch=repo.branch(),
        metric=ctx["metric"],
        direction=ctx["direction"],
        stages=sorted({r.record.get("stage") or "" for r in rows} - {""}),
        columns=columns,
        rows=visible,
        json_rows=json_rows,
        metrics=chart_metrics,
        sections=sections,
        baseline=base_row.label,
    )
    draw_charts(report, max_points)
    return report


def draw_charts(report: Report, max_points: int = 200) -> None:
    """The overlaid chart of each metric and each section's own chart (with its diagnosis)."""
    from expctl.analysis.curvegroups import downsample
    from expctl.analysis.svgchart import ChartSeries, line_chart

    def mark(sec: Section):
        d = sec.diagnosis
        if d is not None and d.step is not None and d.verdict in ("overfitting", "diverged"):
            return (float(d.step), f"{sec.label}: {d.verdict} at {d.step:g}")
        return None

    report.charts = []
    for metric in report.metrics:
        series = []
        for sec in report.sections:
            band = sec.group.band(metric)
            if band:
                series.append(ChartSeries(sec.label, downsample(band, max_points), sec.index, mark(sec)))
        # the epoch axis only when every row's epochs begin at the same steps
        epochs = {json.dumps(sec.group.epochs) for sec in report.sections}
        report.charts.append(
            line_chart(
                metric,
                series,
                width=550,
                height=280,
                epochs=report.sections[0].group.epochs if len(epochs) == 1 else (),
            )
        )
    for sec in report.sections:
        own = [m for m in report.metrics[:2] if sec.group.band(m)]
        series = [
            (metric, downsample(sec.group.band(metric), max(10, max_points // 2)))  # half-width charts
            for metric in own
        ]
        sec.chart = "".join(
            line_chart(
                f"{metric} — {sec.label}",
                [ChartSeries(sec.label, band, sec.index, mark(sec))],
                width=360,
                height=220,
                css_class="chart small",
                epochs=sec.group.epochs,
            )
            for metric, band in series
        )


# ------------------------------------------------------------------------ HTML
def _asset(name: str) -> str:
    from importlib import resources

    return resources.files("expctl").joinpath("report_assets", name).read_text(encoding="utf-8")


def render(report: Report) -> str:
    """The page as one string (jinja2, autoescaped; the SVG is built escaped)."""
    import jinja2
    from markupsafe import Markup

    from expctl.analysis.cases import _CASE_COLUMNS
    from expctl.analysis.svgchart import style

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    template = env.from_string(_asset("report.html.j2"))
    sort_keys = []
    for _row, jr in zip(report.rows, report.json_rows):
        keys = {}
        for col in report.columns:
            if col == report.metric:
                keys[col] = jr.get("value")
            elif col == "Δ":
                keys[col] = jr.get("delta")
        sort_keys.append(keys)
    return template.render(
        r=report,
        version=__version__,
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        charts=[Markup(c) for c in report.charts],
        sort_keys=sort_keys,
        style=style,
        case_columns=_CASE_COLUMNS,
        Markup=Markup,
    )


def _fmt(value: Any) -> str:
    from expctl.output import fmt_value

    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return fmt_value(value)


def write(path: str, report: Report) -> int:
    """Write the page atomically; returns its size in bytes."""
    from expctl.fsutil import atomic_write

    data = render(report).encode("utf-8")
    atomic_write(path, data)
    return len(data)
