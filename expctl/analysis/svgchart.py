"""Line charts as inline SVG text: no script, no library, nothing fetched.

:func:`line_chart` draws one metric for several seed groups (:class:`~expctl.analysis.
curvegroups.Band`): each group a mean polyline with its own colour and dash pattern, the
band (mean ± std) as a translucent path when the group has several seeds, a dot at every
point of a sparse series (eval metrics), and a dotted vertical line with a caption at each
diagnosis step. Axes carry "nice" ticks and a ``step`` label; where the program logged
epochs, each epoch's first step is a faint vertical line labelled ``ep 1``, ``ep 2`` ... Every drawn series is a
``<g class="series">`` with ``data-label`` and ``data-points`` so a test (or a reader's
browser) can check what was drawn; ``<title>`` elements give hover text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from expctl.analysis.curvegroups import Band, is_sparse

# Tableau 10, then the same hues with dashes (DASHES): 40 distinguishable series.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DASHES = ("", "6 3", "2 2", "8 3 2 3")


def style(k: int) -> tuple[str, str]:
    """(colour, dash pattern) of the k-th series."""
    return PALETTE[k % len(PALETTE)], DASHES[(k // len(PALETTE)) % len(DASHES)]


@dataclass
class ChartSeries:
    label: str
    band: Band
    index: int  # position in the report's legend: colour and dashes
    mark: tuple[float, str] | None = None  # (step, caption) of the diagnosis


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5, 5 × 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _px(v: float) -> str:
    """A curve coordinate: whole pixels (what a screen draws anyway; a third of the bytes)."""
    return str(round(v))


def _tick_text(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(
    title: str,
    series: Sequence[ChartSeries],
    width: int = 760,
    height: int = 280,
    css_class: str = "chart",
    epochs: Sequence[tuple[float, int]] = (),
) -> str:
    """One metric as an ``<svg>`` element (see the module docstring). ``epochs``: (step,
    epoch) where epochs began, drawn as faint labelled lines (the epoch axis)."""
    series = [s for s in series if len(s.band)]
    left, right, top, bottom = 58, 14, 26, 38
    pw, ph = width - left - right, height - top - bottom
    head = (
        f'<svg class="{css_class}" data-metric="{escape(title)}" data-series="{len(series)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    parts = [head, f'<text class="title" x="{left}" y="16">{escape(title)}</text>']
    if not series:
        parts.append(f'<text class="empty" x="{left + 10}" y="{top + ph / 2}">no values</text></svg>')
        return "".join(parts)
    xs = [x for s in series for x in s.band.steps]
    ys = [y for s in series for vals in (s.band.lo, s.band.hi, s.band.mean) for y in vals]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = min(ys), max(ys)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    if y_hi == y_lo:
        pad = abs(y_lo) * 0.05 or 1.0
        y_lo, y_hi = y_lo - pad, y_hi + pad
    pad = (y_hi - y_lo) * 0.04
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def sy(y: float) -> float:
        return top + (y_hi - y) / (y_hi - y_lo) * ph

    # axes and grid
    grid = ['<g class="axes">']
    for t in nice_ticks(y_lo, y_hi):
        y = sy(t)
        grid.append(
            f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{_num(y)}" y2="{_num(y)}"/>'
            f'<text class="tick" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">{_tick_text(t)}</text>'
        )
    for t in nice_ticks(x_lo, x_hi, 6):
        x = sx(t)
        grid.append(
            f'<line class="grid" x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{top + ph}"/>'
            f'<text class="tick" x="{_num(x)}" y="{top + ph + 16}" text-anchor="middle">{_tick_text(t)}</text>'
        )
    shown = [(st, e) for st, e in epochs if x_lo < st <= x_hi]
    every = max(1, math.ceil(len(shown) / 12))  # at most a dozen epoch labels
    for st, e in shown:
        if e % every:
            continue
        x = _num(sx(st))
        grid.append(
            f'<line class="epoch" x1="{x}" x2="{x}" y1="{top}" y2="{top + ph}"/>'
            f'<text class="epoch-label" x="{x}" y="{top + ph - 4}" dx="3">ep {e}</text>'
        )
    grid.append(f'<rect class="frame" x="{left}" y="{top}" width="{pw}" height="{ph}"/>')
    grid.append(f'<text class="axis-label" x="{left + pw / 2}" y="{height - 4}" text-anchor="middle">step</text>')
    grid.append("</g>")
    parts.extend(grid)

    marks = []
    for order, s in enumerate(series):
        color, dash = style(s.index)
        b = s.band
        pts = " ".join(f"{_px(sx(x))},{_px(sy(y))}" for x, y in zip(b.steps, b.mean))
        g = [
            f'<g class="series" data-label="{escape(s.label)}" data-points="{len(b)}" data-seeds="{b.seeds}">',
            f"<title>{escape(s.label)}"
            + (f" (mean of {b.seeds} seeds, band ± std)" if b.seeds > 1 else "")
            + "</title>",
        ]
        if b.seeds > 1:
            upper = " ".join(f"{_px(sx(x))},{_px(sy(y))}" for x, y in zip(b.steps, b.hi))
            lower = " ".join(f"{_px(sx(x))},{_px(sy(y))}" for x, y in zip(reversed(b.steps), reversed(b.lo)))
            g.append(f'<path class="band" d="M{upper} L{lower} Z" fill="{color}"/>')
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        # earlier series wider, drawn underneath: identical curves stay visible as a rim
        widthpx = 1.6 + 2.4 * (len(series) - 1 - order) / max(1, len(series) - 1)
        g.append(f'<polyline class="line" points="{pts}" stroke="{color}" stroke-width="{widthpx:.1f}"{dash_attr}/>')
        if is_sparse(len(b)):
            g.append(
                f'<g class="points" fill="{color}">'
                + "".join(
                    f'<circle cx="{_num(sx(x))}" cy="{_num(sy(y))}" r="3"><title>{escape(s.label)}: step '
                    f"{_tick_text(x)}, {y:.4g}</title></circle>"
                    for x, y in zip(b.steps, b.mean)
                )
                + "</g>"
            )
        g.append("</g>")
        parts.append("".join(g))
        if s.mark is not None and x_lo <= s.mark[0] <= x_hi:
            x = _num(sx(s.mark[0]))
            n = len(marks)
            marks.append(
                f'<g class="diagnosis" data-step="{s.mark[0]:g}"><line x1="{x}" x2="{x}" y1="{top}" '
                f'y2="{top + ph}" stroke="{color}"/><text x="{x}" y="{top + 12 + 12 * n}" dx="4" '
                f'fill="{color}">{escape(s.mark[1])}</text></g>'
            )
    parts.extend(marks)
    parts.append("</svg>")
    return "".join(parts)
