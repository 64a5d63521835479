"""One set of output options, honoured by every command that prints rows or a record (issue 17,
point 4): each command x each format gives output a program can parse (csv through the csv
module, tsv split on tabs, json through json.loads, markdown a table). Real project, real
`expctl` subprocesses."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from expctl.output import FORMATS
from tests.conftest import run_expctl

MD_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def parse(fmt: str, text: str):
    """The output parsed as ``fmt``: rows (lists of cells) for tables, the object for json."""
    assert text.strip(), f"no output for --format {fmt}"
    if fmt == "json":
        return json.loads(text)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
    elif fmt == "tsv":
        rows = [line.split("\t") for line in text.splitlines()]
    elif fmt == "markdown":
        return markdown_tables(text)
    else:
        return text
    assert len(rows) >= 2, text
    assert all(len(r) == len(rows[0]) for r in rows), text
    return rows


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in ``text`` (one or more; headings and prose between them),
    each checked: a header, a rule, rows with the header's number of cells."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            assert len(block) >= 2 and MD_RULE.match(block[1]), block
            cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in block]
            assert all(len(r) == len(cells[0]) for r in cells), block
            tables.append([cells[0], *cells[2:]])
            block = []
    assert tables, f"no markdown table in:\n{text}"
    return tables


@pytest.fixture
def two_runs(project):
    for acc in ("0.7", "0.9"):
        run_expctl(project, "run", "--stage", "smoke", "-s", f"acc={acc}", check=True)
    records = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)
    run_expctl(project, "tag", "base", records[-1]["id"], check=True)
    return project, [r["id"] for r in records]


def test_every_table_command_honours_every_format(two_runs, tmp_path):
    project, (newer, older) = two_runs
    preds = tmp_path / "predictions.jsonl"
    preds.write_text(
        "".join(
            json.dumps({"index": i, "text": f"t {i}", "label": g, "pred": p, "confidence": 0.6}) + "\n"
            for i, (g, p) in enumerate([("a", "a"), ("a", "b"), ("b", "b"), ("b", "a")])
        )
    )
    data = tmp_path / "train.tsv"
    data.write_text("text\tlabel\n" + "".join(f"text {i}\t{'ab'[i % 2]}\n" for i in range(20)))
    commands = {
        "runs": ["runs"],
        "compare": ["compare"],
        "compare --runs": ["compare", "--runs"],
        "strategies": ["strategies"],
        "show": ["show", newer],
        "diff": ["diff", older, newer],
        "rm --dry-run": ["rm", newer, "--dry-run"],
        "cases": ["cases", str(preds)],
        "data stats": ["data", "stats", str(data)],
        "data split": ["data", "split", str(data), "--out", str(tmp_path / "split"), "--force"],
        "plot": ["plot", newer, "--no-chart"],
    }
    for name, args in commands.items():
        headers = {}
        for fmt in FORMATS:
            proc = run_expctl(project, *args, "--format", fmt)
            assert proc.returncode == 0, f"{name} --format {fmt}: {proc.stderr}"
            parsed = parse(fmt, proc.stdout)
            if fmt in ("csv", "tsv"):
                headers[fmt] = parsed[0]
            if fmt == "json":
                assert parsed == json.loads(run_expctl(project, *args, "--json", check=True).stdout), name
        assert headers["csv"] == headers["tsv"], name


def test_cases_tsv(tmp_path, project):
    preds = tmp_path / "p.jsonl"
    preds.write_text(
        json.dumps({"index": 0, "text": "x", "label": "a", "pred": "b", "confidence": 0.75})
        + "\n"
        + json.dumps({"index": 1, "text": "y", "label": "b", "pred": "b", "confidence": 0.5})
        + "\n"
    )
    out = run_expctl(project, "cases", str(preds), "--format", "tsv", check=True).stdout
    assert out.splitlines() == ["index\tgold\tpred\tconfidence\ttext", "0\ta\tb\t0.75\tx"]
    out = run_expctl(project, "cases", str(preds), "--format", "tsv", "--show", "confusion", check=True).stdout
    assert out.splitlines() == ["gold \\ pred\ta\tb", "a\t0\t1", "b\t0\t1"]


def test_show_honours_markdown_csv_tsv(two_runs):
    project, (newer, _) = two_runs
    shown = json.loads(run_expctl(project, "show", newer, "--format", "json", check=True).stdout)
    assert shown["id"] == newer and shown["settings"]["acc"] == 0.9
    for fmt in ("csv", "tsv"):
        rows = parse(fmt, run_expctl(project, "show", newer, "--format", fmt, check=True).stdout)
        assert rows[0] == ["field", "value"]
        fields = dict(rows[1:])
        assert fields["id"] == newer
        assert fields["settings.acc"] == "0.9"
        assert fields["metrics.final.eval_accuracy"] == "0.9"
        assert fields["status"] == "succeeded"
    (table,) = markdown_tables(run_expctl(project, "show", newer, "--format", "markdown", check=True).stdout)
    assert table[0] == ["field", "value"]
    assert ["settings.acc", "0.9"] in table[1:] and ["id", newer] in table[1:]
    text = run_expctl(project, "show", newer, check=True).stdout
    assert text.startswith(f"run       {newer}") and "settings\n  acc = 0.9" in text


def test_diff_honours_markdown_csv_tsv(two_runs):
    project, (newer, older) = two_runs
    for fmt in ("csv", "tsv"):
        rows = parse(fmt, run_expctl(project, "diff", older, newer, "--format", fmt, check=True).stdout)
        assert rows[0] == ["section", "key", "a", "b", "delta"]
        by_key = {(r[0], r[1]): r[2:] for r in rows[1:]}
        assert by_key[("run", "id")] == [older, newer, ""]
        assert by_key[("settings", "acc")] == ["0.7", "0.9", ""]
        a, b, delta = by_key[("metrics", "eval_accuracy")]
        assert (a, b) == ("0.7", "0.9") and float(delta) == pytest.approx(0.2)
        assert ("code", "commit") in by_key
    (table,) = markdown_tables(run_expctl(project, "diff", older, newer, "--format", "markdown", check=True).stdout)
    assert table[0] == ["section", "key", "a", "b", "delta"]
    assert ["settings", "acc", "0.7", "0.9", ""] in table[1:]
    text = run_expctl(project, "diff", older, newer, check=True).stdout
    assert "settings\n  ~ acc: 0.7 -> 0.9" in text
