"""The one renderer: every command's rows and records as table (rich on a terminal, plain
when piped), markdown, csv, tsv or json, chosen by one pair of options (``--format`` and
``--json``, :func:`format_option`). One value formatter (:func:`fmt_value`), one colour rule
(:func:`use_color`). Data goes to stdout, messages to stderr; colour only on a terminal and
never when NO_COLOR is set.

Two table styles share :func:`render`: listings (runs, compare, ...: the shortest number
form, columns fitted to the terminal) and reports (``align_right``/``digits``: cases, data
stats, plot diagnoses: numbers right-aligned with fixed decimals; csv/tsv with ``exact``
keep full values).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

FORMATS = ("table", "markdown", "csv", "tsv", "json")


def filter_options():
    """``--where`` and ``--since``: the one filter language of ``runs`` and ``compare``
    (expctl.filters)."""

    def decorate(f):
        f = click.option(
            "--since",
            default=None,
            metavar="AGE",
            help="Only runs started in the last AGE (30m, 12h, 2d, 1w) or since a date.",
        )(f)
        return click.option(
            "--where",
            "where",
            multiple=True,
            metavar="COND",
            help="Only runs matching: KEY=V, KEY!=V, KEY>V (>=, <, <=), 'KEY in A,B'; KEY a setting, "
            "final metric, status, stage, name, branch. Repeatable (all must hold).",
        )(f)

    return decorate


def format_option(default: str = "table", help: str = "Output format.") -> Callable:
    """``--format`` plus ``--json`` as a shorthand, for every command that prints rows or a record."""

    def decorator(func: Callable) -> Callable:
        func = click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")(func)
        func = click.option(
            "--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True, help=help
        )(func)
        return func

    return decorator


def pick_format(fmt: str, as_json: bool) -> str:
    return "json" if as_json else fmt


def use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def heading(text: str) -> str:
    """A section heading: bold on a terminal (:func:`use_color`), plain otherwise."""
    if use_color():
        return click.style(text, bold=True)
    return text


def truncate(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters (an ellipsis marks the cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_value(value: Any, digits: int = 4, *, fixed: bool = False) -> str:
    """A value as a cell. Listings (the default): numbers in their shortest form up to
    ``digits`` decimals, lists as ``a,b``. ``fixed`` (report tables, numbers aligned):
    exactly ``digits`` decimals, lists as ``a, b``."""
    if value is None:
        return ""
    if fixed:
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.{digits}f}"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(fmt_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


_CONTROL = None


def safe_text(text: str) -> str:
    """``text`` with terminal control characters made visible (``\\x1b``), so that a setting
    or a name holding escape sequences cannot move the cursor, recolour or retitle the
    terminal. Newlines and tabs stay; undecodable bytes become ``\\xNN``."""
    global _CONTROL
    if text.isprintable() or not text:
        return text
    if _CONTROL is None:
        import re

        _CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

    def one(m) -> str:
        ch = m.group(0)
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(one, text)


def dump_json_list(items: Any) -> str:
    """JSON for listings: a list with one compact object per line (C-speed even for 10,000 rows)."""
    if not isinstance(items, list):
        return json.dumps(_json_safe(items), indent=2, ensure_ascii=False) + "\n"
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(json.dumps(_json_safe(i), ensure_ascii=False, sort_keys=True) for i in items) + "\n]\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def table_options(func: Callable) -> Callable:
    """``--drop`` and ``--only-changed`` for tables (``--columns`` is the command's own)."""
    func = click.option("--only-changed", is_flag=True, help="Hide columns whose value is the same in every row.")(func)
    func = click.option("--drop", "drop", default=None, metavar="COLS", help="Comma-separated columns to hide.")(func)
    return func


def split_columns(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def choose_columns(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    drop: Sequence[str] = (),
    only_changed: bool = False,
    keep: Sequence[str] = (),
) -> list[str]:
    """``columns`` less those named in ``drop`` (an unknown name is a usage error) and, with
    ``only_changed``, those holding one value in every row (``keep`` always stays)."""
    unknown = [c for c in drop if c not in columns]
    if unknown:
        from expctl.errors import UsageError

        raise UsageError(f"--drop: unknown column(s) {', '.join(unknown)}; columns: {', '.join(columns)}")
    out = [c for c in columns if c not in drop]
    if only_changed and len(rows) > 1:
        out = [c for c in out if c in keep or len({fmt_value(r.get(c)) for r in rows}) > 1]
    return out


def fit_columns(
    head: Sequence[str],
    cells: Sequence[Sequence[str]],
    width: int,
    *,
    overhead: tuple[int, int],
    keep: int = 1,
    drop_order: Sequence[int] = (),
) -> list[int]:
    """Indices of the columns to show so that the table is at most ``width`` columns wide,
    never wrapping a cell: the least informative columns go first (those with one value
    in every row), then ``drop_order``, then from the right; the first ``keep`` stay.
    ``overhead`` is (per column, fixed) border and padding width."""
    widths = [max([display_width(h)] + [display_width(row[i]) for row in cells]) for i, h in enumerate(head)]
    shown = list(range(len(head)))
    per, fixed = overhead

    def total() -> int:
        return sum(widths[i] + per for i in shown) + fixed

    constant = [i for i in reversed(shown) if i >= keep and len(cells) > 1 and len({row[i] for row in cells}) == 1]
    order = constant + [i for i in drop_order if i >= keep and i not in constant]
    order += [i for i in reversed(shown) if i >= keep and i not in order]
    for i in order:
        if total() <= width:
            break
        shown.remove(i)
    return shown


def terminal_width() -> int | None:
    """Width of the terminal stdout is on, or None when stdout is not a terminal."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    styles: dict[tuple[int, str], str] | None = None,
    json_rows: Any = None,
    headers: dict[str, str] | Sequence[str] | None = None,
    keep: int = 1,
    drop_order: Sequence[str] = (),
    align_right: Iterable[str] = (),
    digits: int | None = None,
    exact: bool = False,
) -> str:
    """Render rows in one of :data:`FORMATS`. ``styles`` maps (row index, column) to a rich
    style for the table form; ``json_rows`` (optional) is what --format json prints instead
    of the visible cells; ``headers`` renames columns (a dict, or one name per column).

    Report tables: ``align_right`` columns are right-aligned (table, markdown) and ``digits``
    gives numbers exactly that many decimals; ``exact`` keeps full values in csv / tsv
    (lists joined with ``;``).

    On a terminal the table never wraps a cell (ids, hashes, dates and numbers stay whole):
    when it is wider than the terminal, columns are hidden (those with one value in every
    row first, then ``drop_order``, then from the right; the first ``keep`` stay) and a
    line on stderr names them."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if headers is None:
        headers = {}
    elif not isinstance(headers, dict):
        headers = dict(zip(columns, headers))
    if fmt == "json":
        payload = json_rows if json_rows is not None else [{c: row.get(c) for c in columns} for row in rows]
        return dump_json_list(payload)
    head = [safe_text(headers.get(c, c)) for c in columns]
    if fmt in ("csv", "tsv"):
        cells = [_exact_cells(row, columns) for row in rows] if exact else [_cells(row, columns) for row in rows]
        if fmt == "tsv":  # one line per row, split on tabs: a tab or line break in a cell is written \t, \n
            return "".join(_tsv_line(line) for line in [head, *cells])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(head)
        writer.writerows(cells)
        return buf.getvalue()
    right = set(align_right)
    report = bool(right) or digits is not None
    if report:
        cells = [
            [safe_text(fmt_value(row.get(c), 4 if digits is None else digits, fixed=True)) for c in columns]
            for row in rows
        ]
    else:
        cells = [_cells(row, columns) for row in rows]
    colalign = ["right" if c in right else "left" for c in columns]
    if fmt == "markdown":
        from tabulate import tabulate

        cells = [[_md_cell(cell) for cell in row] for row in cells]
        head = [_md_cell(h) for h in head]
        return tabulate(cells, headers=head, tablefmt="github", colalign=colalign, disable_numparse=True) + "\n"
    if report:  # a report section: aligned numbers, the same on a terminal and in a pipe
        from tabulate import tabulate

        if not cells:
            return tabulate([], headers=head, tablefmt="simple") + "\n"
        return tabulate(cells, headers=head, tablefmt="simple", colalign=colalign, disable_numparse=True) + "\n"
    color = use_color()
    width = terminal_width()
    if width is not None and cells:
        shown = fit_columns(
            head,
            cells,
            width,
            overhead=(3, 1) if color else (2, -2),
            keep=keep,
            drop_order=[columns.index(c) for c in drop_order if c in columns],
        )
        if len(shown) < len(columns):
            hidden = [head[i] for i in range(len(columns)) if i not in shown]
            message(_hidden_line(hidden, width))
            columns = [columns[i] for i in shown]
            head = [head[i] for i in shown]
            cells = [[row[i] for i in shown] for row in cells]
    if color:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False, header_style="bold")
        for c in head:
            table.add_column(c, no_wrap=True, overflow="ignore")
        for i, row in enumerate(cells):
            table.add_row(
                *[
                    f"[{styles[(i, col)]}]{_escape(val)}[/]" if styles and (i, col) in styles else _escape(val)
                    for col, val in zip(columns, row)
                ]
            )
        need = sum(max([display_width(h)] + [display_width(r[i]) for r in cells]) + 3 for i, h in enumerate(head)) + 1
        console = Console(file=io.StringIO(), force_terminal=True, width=max(need, width or 0, 40))
        console.print(table)
        return console.file.getvalue()
    return plain_table(head, cells, title)


def report_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    *,
    headers: dict[str, str] | Sequence[str] | None = None,
    digits: int = 4,
    align_right: Iterable[str] = (),
) -> str:
    """One section of a report (cases, data stats, a split, a diagnosis) through :func:`render`:
    numbers with exactly ``digits`` decimals, ``align_right`` columns right-aligned, csv / tsv
    with full values; without the trailing newline (sections are joined by blank lines)."""
    return render(rows, columns, fmt, headers=headers, digits=digits, align_right=align_right, exact=True).rstrip("\n")


def _hidden_line(hidden: Sequence[str], width: int) -> str:
    """One line, no wider than the terminal, naming the hidden columns."""
    for n in range(len(hidden), 0, -1):
        names = ", ".join(hidden[:n]) + (f" +{len(hidden) - n} more" if n < len(hidden) else "")
        line = f"expctl: hidden to fit {width} columns: {names} (--columns, --drop)"
        if display_width(line) <= width:
            return line
    return f"expctl: {len(hidden)} columns hidden (--columns, --drop)"


def _cells(row: dict[str, Any], columns: Sequence[str]) -> list[str]:
    """One row's cells as text, made safe; text cells that are all printable (the usual
    case) take one check for the whole row (listings of 100,000 runs)."""
    values = [row.get(c) for c in columns]
    if all(type(v) is str for v in values) and "".join(values).isprintable():
        return values
    return [safe_text(fmt_value(v)) for v in values]


def _exact_cells(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    """csv / tsv cells with full values: numbers as recorded, lists joined with ``;``."""
    out: list[Any] = []
    for c in columns:
        v = row.get(c)
        if v is None:
            out.append("")
        elif isinstance(v, (list, tuple)):
            out.append(safe_text(";".join(map(str, v))))
        elif isinstance(v, str):
            out.append(safe_text(v))
        else:
            out.append(v)
    return out


def _tsv_line(cells: Sequence[Any]) -> str:
    """One tsv line; the usual row (text cells without tabs or line breaks) in one join."""
    if all(type(c) is str for c in cells):
        line = "\t".join(cells)
        if line.count("\t") == len(cells) - 1 and "\n" not in line and "\r" not in line:
            return line + "\n"
    return "\t".join(map(_tsv_cell, cells)) + "\n"


def _tsv_cell(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    return text


def _md_cell(text: str) -> str:
    """A markdown table cell: a ``|`` escaped and line breaks as ``<br>``, so the row stays one row."""
    if "|" in text:
        text = text.replace("|", "\\|")
    if "\n" in text:
        text = text.replace("\r\n", "\n").replace("\n", "<br>")
    return text


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def display_width(text: str) -> int:
    """Terminal columns of a string (CJK and other wide characters take two)."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1 for ch in text
    )


def plain_table(head: Sequence[str], cells: Iterable[Sequence[str]], title: str | None = None) -> str:
    cells = list(cells)
    columns = list(zip(*cells)) if cells else [() for _ in head]
    ascii_only = [("".join(col)).isascii() for col in columns]  # the usual case: widths are lengths
    widths = [
        max(display_width(h), max(map(len if a else display_width, col), default=0))
        for h, col, a in zip(head, columns, ascii_only)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (widths[i] - display_width(v)) for i, v in enumerate(values)).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(head))
    out.append("  ".join("-" * w for w in widths))
    if all(ascii_only):
        out.extend("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)
    else:
        out.extend(line(row) for row in cells)
    return "\n".join(out) + "\n"


class stdout_to_stderr:
    """While active, whatever is written to file descriptor 1 (the programs a command runs
    included) goes to stderr, so that ``--json`` leaves only JSON on stdout."""

    def __init__(self, active: bool = True):
        self.active = active
        self.saved: int | None = None

    def __enter__(self) -> stdout_to_stderr:
        if self.active:
            sys.stdout.flush()
            self.saved = os.dup(1)
            os.dup2(2, 1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.saved is not None:
            sys.stdout.flush()
            os.dup2(self.saved, 1)
            os.close(self.saved)
            self.saved = None


def echo(text: str) -> None:
    click.echo(text, nl=False)


def message(text: str) -> None:
    click.echo(safe_text(text), err=True)
