"""expctl.output, the one renderer: every format parseable, the one value formatter, the two
table styles (listings and report sections), the one option set."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner

from expctl.output import (
    FORMATS,
    fmt_value,
    format_option,
    pick_format,
    render,
    report_table,
    truncate,
)

ROWS = [
    {"id": "a1", "acc": 0.123456, "tags": ["x", "y"], "note": "has | pipe", "n": 3},
    {"id": "b2", "acc": None, "tags": [], "note": "two\nlines", "n": 10},
]
COLS = ["id", "acc", "tags", "note", "n"]


def test_formats_are_the_union():
    assert FORMATS == ("table", "markdown", "csv", "tsv", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_parses(fmt):
    out = render(ROWS, COLS, fmt)
    assert out.endswith("\n")
    if fmt == "json":
        assert json.loads(out) == [{c: r.get(c) for c in COLS} for r in ROWS]
    elif fmt in ("csv", "tsv"):
        rows = list(csv.reader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
        assert rows[0] == COLS and len(rows) == 3
        assert rows[1][:3] == ["a1", "0.1235", "x,y"]
    elif fmt == "markdown":
        lines = out.splitlines()
        assert len(lines) == 4  # header, rule, one line per row: a newline in a cell is <br>
        assert all(line.startswith("|") and line.endswith("|") for line in lines)
        assert "has \\| pipe" in lines[2] and "two<br>lines" in lines[3]
    else:
        assert out.splitlines()[0].split() == COLS


def test_exact_csv_keeps_full_values():
    out = render(ROWS, COLS, "csv", exact=True)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1][:3] == ["a1", "0.123456", "x;y"] and rows[2][1] == ""


def test_headers_as_a_dict_or_one_per_column():
    assert render(ROWS, ["id", "n"], "csv", headers={"n": "count"}).splitlines()[0] == "id,count"
    assert render(ROWS, ["id", "n"], "csv", headers=["run", "count"]).splitlines()[0] == "run,count"


def test_report_table_aligns_numbers_with_fixed_decimals():
    rows = [{"label": "a", "f1": 0.5, "support": 4}, {"label": "bb", "f1": 0.25, "support": 12}]
    text = report_table(rows, ["label", "f1", "support"], align_right=["f1", "support"])
    assert text.splitlines() == [
        "label        f1    support",
        "-------  ------  ---------",
        "a        0.5000          4",
        "bb       0.2500         12",
    ]
    md = report_table(rows, ["label", "f1", "support"], "markdown", digits=1, align_right=["f1", "support"])
    assert "| a       |  0.5 |         4 |" in md
    assert report_table(rows, ["label", "f1"], "tsv").splitlines() == ["label\tf1", "a\t0.5", "bb\t0.25"]
    assert json.loads(report_table(rows, ["label"], "json")) == [{"label": "a"}, {"label": "bb"}]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        render(ROWS, COLS, "yaml")


def test_one_value_formatter():
    assert fmt_value(None) == "" and fmt_value(True) == "true"
    assert fmt_value(0.5) == "0.5" and fmt_value(1e-5) == "1.000e-05" and fmt_value([1, 2]) == "1,2"
    assert fmt_value(0.5, fixed=True) == "0.5000" and fmt_value(0.25, 1, fixed=True) == "0.2"
    assert fmt_value(float("nan"), fixed=True) == "nan" and fmt_value(["a", "b"], fixed=True) == "a, b"
    assert truncate("a  b\nc", 10) == "a b c" and truncate("x" * 20, 5) == "xxxx…"


def test_one_option_set():
    @click.command()
    @format_option(help="Output format (custom help).")
    def cmd(fmt, as_json):
        click.echo(pick_format(fmt, as_json))

    runner = CliRunner()
    assert runner.invoke(cmd, []).output == "table\n"
    assert runner.invoke(cmd, ["--json"]).output == "json\n"
    for fmt in FORMATS:
        assert runner.invoke(cmd, ["--format", fmt]).output == f"{fmt}\n"
    assert "custom help" in runner.invoke(cmd, ["--help"]).output
