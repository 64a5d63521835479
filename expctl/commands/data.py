"""``expctl data``: data analysis before training (``data stats``)."""

from __future__ import annotations

import click

from expctl.analysis import FORMATS


@click.group("data")
def data_group() -> None:
    """Data analysis: length and label statistics, duplicates, leakage."""


def _column(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().lstrip("-").isdigit() else value


@data_group.command("stats")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="FILE...")
@click.option("--dev", "dev", type=click.Path(dir_okay=False), default=None,
              help="A dev / test file to check against the first FILE for overlap (leakage).")
@click.option("--task", type=click.Choice(["classification", "pair", "multilabel", "ner"]),
              default="classification", show_default=True, help="What the rows hold (as the trainer's `task`).")
@click.option("--data-format", "data_format", type=click.Choice(["auto", "tsv", "csv", "jsonl", "conll"]),
              default="auto", show_default=True,
              help="File format (the trainer's `format` setting; auto: from the extension, then the content).")
@click.option("--text-column", default="text", show_default=True, help="Text column name or 0-based index.")
@click.option("--text-pair-column", default="text_pair", show_default=True, help="Second text (task pair).")
@click.option("--label-column", default="label", show_default=True, help="Label column name or 0-based index.")
@click.option("--has-header/--no-header", "has_header", default=None,
              help="Whether the first tsv/csv row names the columns (default: detect).")
@click.option("--tokenizer", type=click.Path(file_okay=False), default=None,
              help="A local Hugging Face tokenizer folder: count tokens exactly (needs transformers).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format (csv: one summary row per file).")
def stats_cmd(files: tuple[str, ...], dev: str | None, task: str, data_format: str, text_column: str,
              text_pair_column: str, label_column: str, has_header: bool | None, tokenizer: str | None,
              fmt: str, as_json: bool = False) -> None:
    """Statistics of data FILEs: rows, empty and malformed lines, length distribution
    with a suggested max_seq_length, label distribution with the majority-class baseline,
    imbalance, ordering by label, duplicates, conflicting labels, and train / dev overlap.

    The first FILE is the training file; every later FILE (and --dev) is checked against
    it for leakage. Streams the files: a million rows take a few seconds.
    """
    if as_json:
        fmt = "json"
    from expctl.analysis.datastats import data_stats, render_stats

    paths = list(files) + ([dev] if dev else [])
    read_opts = {
        "format": data_format,
        "text_column": _column(text_column),
        "text_pair_column": _column(text_pair_column),
        "label_column": _column(label_column),
        "has_header": "auto" if has_header is None else has_header,
    }
    report = data_stats(paths, task=task, read_opts=read_opts, tokenizer=tokenizer)
    if fmt in ("json", "csv"):
        for w in report.warnings:
            click.echo(f"expctl: warning: {w}", err=True)
    click.echo(render_stats(report, fmt=fmt))
