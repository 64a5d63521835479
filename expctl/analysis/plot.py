"""Training and eval curves from ``metrics.jsonl``: terminal charts and a diagnosis.

- :func:`parse_metrics` reads the JSON lines tolerantly: a malformed line (a partial last
  line while the run is still writing, invalid JSON, not an object) is skipped and counted;
  a value that is not a finite number (NaN, Inf, a string, a list) is skipped and counted,
  and a non-finite loss is remembered because it means the run diverged.
- :func:`diagnose` puts one run in plain words: ``diverged``, ``not learning``,
  ``overfitting since step N``, ``still improving`` or ``converged`` (rules in its
  docstring).
- :func:`render_chart` draws one metric for several runs with no dependency: braille dots
  (2x4 per character) for a single run, distinct marks per run (``•`` ``×`` ``+`` ...)
  when several are overlaid, so the chart stays readable without colour.
- :func:`save_png` draws the same with matplotlib, imported only there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from expctl.errors import UsageError
from expctl.refs import resolve_run

Series = list[tuple[float, float]]  # (step, value), in file order

MARKS = ("•", "×", "+", "o", "*", "#", "@", "%")
_PREFERRED_EVAL = ("eval_f1_macro", "eval_f1", "eval_entity_f1", "eval_f1_micro", "eval_accuracy", "eval_acc")


@dataclass
class Curves:
    name: str
    series: dict[str, Series] = field(default_factory=dict)
    bad_lines: int = 0
    bad_values: int = 0
    nonfinite: dict[str, float] = field(default_factory=dict)  # metric -> first step with NaN / Inf

    def metrics(self) -> list[str]:
        return sorted(self.series)


def _finite_number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def parse_metrics(data: bytes | str, name: str = "run") -> Curves:
    """Curves from metrics.jsonl content. Lines without a usable ``step`` take the last
    step seen (or their event number when no step was ever given)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    curves = Curves(name)
    last_step: float | None = None
    events = 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            curves.bad_lines += 1
            continue
        if not isinstance(obj, dict):
            curves.bad_lines += 1
            continue
        events += 1
        step = _finite_number(obj.get("step"))
        if step is not None:
            last_step = step
        else:
            step = last_step if last_step is not None else float(events - 1)
        for key, value in obj.items():
            if key in ("step", "epoch", "time"):
                continue
            num = _finite_number(value)
            if num is None:
                curves.bad_values += 1
                is_nan_like = (isinstance(value, float) and not math.isfinite(value)) or (
                    isinstance(value, str) and value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
                )
                if is_nan_like and key not in curves.nonfinite:
                    curves.nonfinite[key] = step
                continue
            curves.series.setdefault(str(key), []).append((step, num))
    return curves


def load_curves(ref: str) -> Curves:
    """Curves of ``ref``: a metrics.jsonl file, a run folder, or a run id / tag / branch."""
    from expctl.analysis.sources import read_source

    data, _ = read_source(ref, "metrics.jsonl")
    path = Path(ref)
    if path.is_file():
        name = path.parent.name if path.name == "metrics.jsonl" and path.parent.name else path.stem
    elif path.is_dir():
        name = path.resolve().name
    else:
        name = ref
    return parse_metrics(data, name=name)


# ---------------------------------------------------------------------------------------
# Which metrics, which direction
# ---------------------------------------------------------------------------------------


def direction_guess(metric: str) -> str:
    """``min`` for losses, errors and perplexities, ``max`` otherwise."""
    try:
        from expctl.config import metric_direction_guess
    except ImportError:  # pragma: no cover - config always ships with expctl
        low = metric.lower()
        return "min" if "loss" in low or "error" in low or "ppl" in low or "perplexity" in low else "max"
    return metric_direction_guess(metric)


def primary_eval_metric(available: Sequence[str], primary: str | None = None) -> str | None:
    """The project's primary metric when the runs log it, else the first of eval_f1_macro,
    eval_f1, eval_entity_f1, eval_f1_micro, eval_accuracy, else any eval_* metric that is
    not a loss, else eval_loss."""
    avail = set(available)
    if primary and primary in avail:
        return primary
    if primary and f"eval_{primary}" in avail:
        return f"eval_{primary}"
    for name in _PREFERRED_EVAL:
        if name in avail:
            return name
    evals = sorted(m for m in avail if m.startswith("eval_") and direction_guess(m) == "max")
    if evals:
        return evals[0]
    return "eval_loss" if "eval_loss" in avail else None


def default_metrics(runs: Sequence[Curves], primary: str | None = None) -> list[str]:
    available = sorted({m for r in runs for m in r.series})
    out = []
    if "train_loss" in available:
        out.append("train_loss")
    elif "loss" in available:
        out.append("loss")
    ev = primary_eval_metric(available, primary)
    if ev and ev not in out:
        out.append(ev)
    return out or available[:1]


# ---------------------------------------------------------------------------------------
# Diagnosis
# ---------------------------------------------------------------------------------------


@dataclass
class Diagnosis:
    verdict: str  # diverged | not learning | overfitting | still improving | converged | too few points
    step: float | None
    detail: str

    @property
    def text(self) -> str:
        head = self.verdict
        if self.verdict in ("overfitting", "diverged") and self.step is not None:
            head += (
                f" since step {_fmt_step(self.step)}"
                if self.verdict == "overfitting"
                else f" at step {_fmt_step(self.step)}"
            )
        return f"{head}: {self.detail}" if self.detail else head


def truncate_text(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _fmt_step(step: float) -> str:
    return str(int(step)) if float(step).is_integer() else f"{step:g}"


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _quarters(values: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """First quarter, third quarter, last quarter (each at least one value)."""
    n = len(values)
    q = max(1, n // 4)
    return list(values[:q]), list(values[max(0, n - 2 * q) : n - q] or values[:1]), list(values[n - q :])


def _smooth(values: Sequence[float], k: int) -> list[float]:
    """Centered running mean over 2k+1 points (shorter at the ends)."""
    if k <= 0:
        return list(values)
    out = []
    for i in range(len(values)):
        lo, hi = max(0, i - k), min(len(values), i + k + 1)
        out.append(_mean(values[lo:hi]))
    return out


def diagnose(
    curves: Curves,
    eval_metric: str | None = None,
    direction_of: Callable[[str], str] = direction_guess,
    plateau: float = 0.03,
    margin: float = 0.05,
) -> Diagnosis:
    """One run in plain words. Checked in this order:

    1. ``diverged``: the train loss was NaN or Inf at some step.
    2. ``not learning``: the train loss's last quarter (mean) is not at least 5 % below its
       first quarter (unless the first quarter is already below 0.01).
    3. ``overfitting since step N``: eval loss rose more than ``margin`` (relative) above its
       minimum at step N, or the eval metric fell from its best at step N by more than
       ``margin`` of its range so far (at least 0.01 for a metric in [0, 1]), over at least
       two later evaluations, while the train loss kept falling after N.
    4. ``still improving``: the eval metric's best in its last quarter beats the best before
       by more than ``plateau`` of its range, or (without an eval metric) the train loss's
       last quarter is more than ``plateau`` below its third quarter (relative to the scale
       of the loss).
    5. ``converged`` otherwise.
    """
    train = curves.series.get("train_loss") or curves.series.get("loss") or []
    train_name = "train_loss" if "train_loss" in curves.series else "loss"
    for key in ("train_loss", "loss"):
        if key in curves.nonfinite:
            return Diagnosis("diverged", curves.nonfinite[key], f"{key} became NaN or Inf")
    if eval_metric is None:
        eval_metric = primary_eval_metric(curves.metrics())
    ev = curves.series.get(eval_metric or "", []) if eval_metric else []
    eval_loss = curves.series.get("eval_loss", [])
    if len(train) < 4 and len(ev) < 3:
        return Diagnosis("too few points", None, f"{len(train)} train_loss and {len(ev)} eval values")

    tvals = _smooth([v for _, v in train], max(0, len(train) // 40))
    if len(train) >= 4:
        first, _, last = _quarters(tvals)
        f, l_ = _mean(first), _mean(last)
        if l_ > f - 0.05 * abs(f) and f > 0.01:  # a loss already near 0 (warm start) is not "not learning"
            return Diagnosis(
                "not learning", None, f"{train_name} went from {_fmt(f)} to {_fmt(l_)} (first vs last quarter)"
            )

    def train_fell_after(step: float) -> tuple[bool, float, float]:
        if not train:
            return True, math.nan, math.nan
        near = [v for s, v in train if s <= step] or [train[0][1]]
        at = _mean(near[-max(1, len(near) // 10) :])
        end = _mean([v for _, v in train][-max(1, len(train) // 10) :])
        return end < at * 0.98, at, end

    # 3a. eval loss rising from its minimum
    if len(eval_loss) >= 4:
        i_min = min(range(len(eval_loss)), key=lambda i: eval_loss[i][1])
        s_min, v_min = eval_loss[i_min]
        after = [v for _, v in eval_loss[i_min + 1 :]]
        if len(after) >= 2 and _mean(after[-2:]) > v_min * (1 + margin) + 1e-12:
            fell, at, end = train_fell_after(s_min)
            if fell:
                return Diagnosis(
                    "overfitting",
                    s_min,
                    f"eval_loss lowest {_fmt(v_min)} at step {_fmt_step(s_min)}, now {_fmt(eval_loss[-1][1])}, "
                    f"while {train_name} fell {_fmt(at)} → {_fmt(end)}",
                )
    # 3b. eval metric falling from its best
    if ev and eval_metric != "eval_loss" and len(ev) >= 4:
        sign = 1.0 if direction_of(eval_metric) == "max" else -1.0
        vals = [sign * v for _, v in ev]
        i_best = max(range(len(vals)), key=lambda i: vals[i])
        s_best, best = ev[i_best][0], vals[i_best]
        spread = max(vals) - min(vals)
        unit = all(0.0 <= v <= 1.0 for _, v in ev)
        tol = max(margin * spread, 0.01 if unit else 0.0, 1e-12)
        after = vals[i_best + 1 :]
        if len(after) >= 2 and _mean(after[-2:]) < best - tol:
            fell, at, end = train_fell_after(s_best)
            if fell:
                return Diagnosis(
                    "overfitting",
                    s_best,
                    f"{eval_metric} best {_fmt(sign * best)} at step {_fmt_step(s_best)}, now {_fmt(ev[-1][1])}, "
                    f"while {train_name} fell {_fmt(at)} → {_fmt(end)}",
                )
    # 4. still improving?
    if ev and len(ev) >= 4:
        sign = 1.0 if direction_of(eval_metric) == "max" else -1.0
        vals = [sign * v for _, v in ev]
        q = max(1, len(vals) // 4)
        before, recent = max(vals[:-q]), max(vals[-q:])
        spread = (max(vals) - min(vals)) or abs(before) or 1.0
        if recent - before > plateau * spread:
            return Diagnosis(
                "still improving",
                None,
                f"{eval_metric} best {_fmt(sign * recent)} in the last quarter (before: {_fmt(sign * before)})",
            )
        return Diagnosis("converged", None, f"{eval_metric} flat at {_fmt(ev[-1][1])} (best {_fmt(sign * max(vals))})")
    if len(train) >= 4:
        first, third, last = _quarters(tvals)
        scale = max(abs(_mean(third)), 0.05 * abs(_mean(first)), 1e-12)
        drop = (_mean(third) - _mean(last)) / scale
        if drop > plateau:
            return Diagnosis(
                "still improving",
                None,
                f"{train_name} still falling ({_fmt(_mean(third))} → {_fmt(_mean(last))} over the last half)",
            )
        return Diagnosis("converged", None, f"{train_name} flat at {_fmt(_mean(last))}")
    return Diagnosis("too few points", None, f"{len(ev)} {eval_metric} values")


# ---------------------------------------------------------------------------------------
# Terminal chart
# ---------------------------------------------------------------------------------------

# braille dot bits: (column 0..1, row 0..3) -> bit
_BRAILLE = {
    (0, 0): 0x01,
    (0, 1): 0x02,
    (0, 2): 0x04,
    (1, 0): 0x08,
    (1, 1): 0x10,
    (1, 2): 0x20,
    (0, 3): 0x40,
    (1, 3): 0x80,
}


def _line(x0: int, y0: int, x1: int, y1: int):
    """Integer points from (x0, y0) to (x1, y1) (Bresenham)."""
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        yield x0, y0
        if x0 == x1 and y0 == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def render_chart(
    metric: str,
    runs: Sequence[tuple[str, Series]],
    width: int = 64,
    height: int = 12,
    braille: bool | None = None,
    fit: int | None = None,
) -> str:
    """One metric, several runs, as text: y labels (max, middle, min) on the left, step
    range below, and a legend. ``braille`` defaults to True for a single run. With ``fit``
    (a terminal's columns) the plot area shrinks so that no line is longer than ``fit``
    and the legend wraps."""
    runs = [(name, s) for name, s in runs if s]
    if not runs:
        return f"{metric}: no values"
    if braille is None:
        braille = len(runs) == 1
    xs = [x for _, s in runs for x, _ in s]
    ys = [y for _, s in runs for _, y in s]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    if y_hi == y_lo:
        pad = abs(y_lo) * 0.05 or 1.0
        y_lo, y_hi = y_lo - pad, y_hi + pad
    labels = {0: _fmt(y_hi), height - 1: _fmt(y_lo)}
    if height >= 5:
        labels[(height - 1) // 2] = _fmt((y_hi + y_lo) / 2)
    lw = max(len(v) for v in labels.values())
    if fit is not None:
        width = max(10, fit - lw - 2 - len("  step"))
    sub_w, sub_h = (2, 4) if braille else (1, 1)
    W, H = width * sub_w, height * sub_h
    dots = [[0] * width for _ in range(height)]
    cells: list[list[str]] = [[" "] * width for _ in range(height)]

    def to_grid(x: float, y: float) -> tuple[int, int]:
        gx = round((x - x_lo) / (x_hi - x_lo) * (W - 1))
        gy = round((y_hi - y) / (y_hi - y_lo) * (H - 1))
        return gx, gy

    for k, (_, s) in enumerate(runs):
        mark = MARKS[k % len(MARKS)]
        pts = [to_grid(x, y) for x, y in s]
        segs = zip(pts, pts[1:]) if len(pts) > 1 else [(pts[0], pts[0])]
        for a, b in segs:
            for gx, gy in _line(a[0], a[1], b[0], b[1]):
                cx, cy = gx // sub_w, gy // sub_h
                if braille:
                    dots[cy][cx] |= _BRAILLE[(gx % 2, gy % 4)]
                else:
                    cells[cy][cx] = mark
    if braille:
        cells = [[chr(0x2800 + d) if d else " " for d in row] for row in dots]

    lines = [metric]
    for r in range(height):
        lab = labels.get(r, "")
        tick = "┤" if r in labels else "│"
        lines.append(f"{lab:>{lw}} {tick}{''.join(cells[r])}")
    lines.append(" " * lw + " └" + "─" * width)
    lo_s, hi_s = _fmt_step(x_lo), _fmt_step(max(xs))
    lines.append(" " * (lw + 2) + lo_s + " " * max(1, width - len(lo_s) - len(hi_s)) + hi_s + "  step")
    if len(runs) > 1 or not braille:
        entries = [f"{MARKS[k % len(MARKS)]} {name}" for k, (name, _) in enumerate(runs)]
        room = (fit if fit is not None else lw + 2 + width + len("  step")) - lw - 2
        legend = entries[0]
        for entry in entries[1:]:
            if fit is not None and len(legend) + 3 + len(entry) > room:
                lines.append(" " * (lw + 2) + truncate_text(legend, room))
                legend = entry
            else:
                legend += "   " + entry
        lines.append(" " * (lw + 2) + (legend if fit is None else truncate_text(legend, room)))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# PNG (optional matplotlib)
# ---------------------------------------------------------------------------------------


def run_record(ref: str) -> dict | None:
    """The run record behind ``ref`` when there is one: ``record.json`` beside a
    metrics.jsonl or in a run folder, else the record of a run id / tag / branch. None for
    a bare file (its curves are still drawn, labelled by its name)."""
    path = Path(ref)
    if path.exists():
        candidate = (path.parent if path.is_file() else path) / "record.json"
        try:
            record = json.loads(candidate.read_bytes())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("id") else None
    try:
        from expctl.errors import ExpctlError
        from expctl.project import Project

        store = Project.open().store
        return resolve_run(store, ref)
    except (ExpctlError, OSError):
        return None


LINESTYLES = ("-", "--", ":", "-.")
MARKERS_PNG = ("o", "s", "^", "D", "v", "P", "X", "*")


def build_figure(
    metrics: Sequence[str],
    groups,
    eval_metric: str | None = None,
    direction_of: Callable[[str], str] = direction_guess,
    title: str | None = None,
):
    """A matplotlib figure: one subplot per metric, one mean line per seed group (band =
    mean ± std when it has several seeds), markers on sparse series, each group's
    diagnosis step as a dotted vertical line, one legend outside the plots, labelled by
    the settings that tell the groups apart. Identical curves stay distinguishable: each
    group has its own colour, dash pattern and marker, and earlier groups are drawn wider
    underneath later ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from expctl.analysis.curvegroups import is_sparse

    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 2.8 * len(metrics) + 0.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color") or ["C0"]
    n = len(groups)
    handles: dict[str, object] = {}
    diagnoses = [diagnose(g.mean_curves(), eval_metric=eval_metric, direction_of=direction_of) for g in groups]
    for ax, metric in zip(axes[:, 0], metrics):
        for k, g in enumerate(groups):
            band = g.band(metric)
            if not band:
                continue
            color = colors[k % len(colors)]
            sparse = is_sparse(len(band))
            (line,) = ax.plot(
                band.steps,
                band.mean,
                color=color,
                label=g.label,
                gid="series",
                linestyle=LINESTYLES[k % len(LINESTYLES)],
                linewidth=1.4 + 1.2 * (n - 1 - k) / max(1, n - 1),
                marker=MARKERS_PNG[k % len(MARKERS_PNG)] if sparse else None,
                markersize=4,
                zorder=2 + k,
            )
            if band.seeds >= 2:
                ax.fill_between(
                    band.steps, band.lo, band.hi, color=color, alpha=0.18, linewidth=0, gid="band", zorder=1
                )
            handles.setdefault(g.label, line)
            d = diagnoses[k]
            if d.step is not None and d.verdict in ("overfitting", "diverged"):
                ax.axvline(d.step, color=color, linestyle=":", linewidth=1.2, gid="diagnosis", zorder=1)
                ax.annotate(
                    f"{d.verdict} {_fmt_step(d.step)}",
                    xy=(d.step, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, -10 - 10 * k),
                    textcoords="offset points",
                    fontsize=7,
                    color=color,
                )
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
    labels = [g.label + (f" (n={len(g.members)})" if len(g.members) > 1 else "") for g in groups if g.label in handles]
    fig.legend(
        [handles[g.label] for g in groups if g.label in handles],
        labels,
        loc="upper left",
        bbox_to_anchor=(1.0, 0.97),
        fontsize=8,
        frameon=False,
        title="runs (mean ± std over seeds)" if any(len(g.members) > 1 for g in groups) else "runs",
    )
    fig.suptitle(title or "Training curves: " + ", ".join(metrics), fontsize=11)
    fig.tight_layout()
    return fig


def save_png(
    path: str | Path,
    metrics: Sequence[str],
    runs: Sequence[Curves],
    groups=None,
    eval_metric: str | None = None,
    direction_of: Callable[[str], str] = direction_guess,
) -> Path:
    """:func:`build_figure` saved as a PNG (legend kept in the picture). Needs matplotlib
    (``pip install 'expctl[plot]'``); raises UsageError with that advice when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError("--png needs matplotlib, which is not installed: pip install 'expctl[plot]'") from exc
    import matplotlib.pyplot as plt

    if groups is None:
        from expctl.analysis.curvegroups import group_curves

        groups = group_curves(runs, [None] * len(runs))
    fig = build_figure(metrics, groups, eval_metric=eval_metric, direction_of=direction_of)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------
# Report: what the command prints
# ---------------------------------------------------------------------------------------


def project_metric_info() -> tuple[str | None, Callable[[str], str]]:
    """The project's primary metric and direction function when run inside a project;
    (None, :func:`direction_guess`) otherwise."""
    try:
        from expctl.config import load
        from expctl.errors import ExpctlError
    except ImportError:  # pragma: no cover
        return None, direction_guess
    try:
        cfg = load()
    except (ExpctlError, OSError, ValueError):
        return None, direction_guess
    return cfg.primary_metric, cfg.direction_of


def summary_rows(
    runs: Sequence[Curves],
    metrics: Sequence[str],
    eval_metric: str | None,
    direction_of: Callable[[str], str] = direction_guess,
) -> list[dict]:
    rows = []
    for run in runs:
        d = diagnose(run, eval_metric=eval_metric, direction_of=direction_of)
        step = int(d.step) if d.step is not None and float(d.step).is_integer() else d.step
        row = {
            "run": run.name,
            "verdict": d.verdict,
            "since_step": step,
            "diagnosis": d.text,
            "skipped_lines": run.bad_lines,
            "skipped_values": run.bad_values,
        }
        for m in metrics:
            s = run.series.get(m)
            if s:
                pick = max if direction_of(m) == "max" else min
                row[f"{m}_last"] = s[-1][1]
                row[f"{m}_best"] = pick(v for _, v in s)
        rows.append(row)
    return rows


def render_plot_report(
    runs: Sequence[Curves],
    metrics: Sequence[str] | None = None,
    fmt: str = "table",
    width: int = 64,
    height: int = 12,
    chart: bool = True,
    primary: str | None = None,
    direction_of: Callable[[str], str] = direction_guess,
    fit: int | None = None,
) -> str:
    from expctl.output import heading, report_table

    available = sorted({m for r in runs for m in r.series})
    metrics = list(metrics or default_metrics(runs, primary))
    unknown = [m for m in metrics if m not in available]
    if unknown:
        raise UsageError(f"no metric {', '.join(unknown)} in the runs (available: {', '.join(available) or 'none'})")
    eval_metric = primary_eval_metric(available, primary)
    rows = summary_rows(runs, metrics, eval_metric, direction_of)
    cols = ["run", "verdict", "since_step", "diagnosis", "skipped_lines", "skipped_values"]
    cols += [c for m in metrics for c in (f"{m}_last", f"{m}_best")]
    if fmt == "json":
        return json.dumps({"metrics": metrics, "eval_metric": eval_metric, "runs": rows}, ensure_ascii=False, indent=2)
    if fmt in ("csv", "tsv", "markdown"):
        return report_table(rows, cols, fmt)
    parts = []
    if chart:
        for m in metrics:
            parts.append(
                render_chart(m, [(r.name, r.series.get(m, [])) for r in runs], width=width, height=height, fit=fit)
            )
    diag = [heading("Diagnosis")]
    name_w = max(len(r["run"]) for r in rows)
    for r in rows:
        diag.append(f"{r['run']:<{name_w}}  {r['diagnosis']}")
    parts.append("\n".join(diag))
    return "\n\n".join(parts)
