"""``expctl data``: data analysis before training (``data stats``) and ``data split``."""

from __future__ import annotations

import click

from expctl.output import format_option, pick_format


@click.group("data")
def data_group() -> None:
    """Data: statistics (lengths, labels, duplicates, leakage) and splitting one file into train/dev/test."""


def _column(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().lstrip("-").isdigit() else value


@data_group.command("stats")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="FILE...")
@click.option(
    "--dev",
    "dev",
    type=click.Path(dir_okay=False),
    default=None,
    help="A dev / test file to check against the first FILE for overlap (leakage).",
)
@click.option(
    "--task",
    type=click.Choice(["classification", "pair", "multilabel", "ner"]),
    default="classification",
    show_default=True,
    help="What the rows hold (as the trainer's `task`).",
)
@click.option(
    "--data-format",
    "data_format",
    type=click.Choice(["auto", "tsv", "csv", "jsonl", "conll"]),
    default="auto",
    show_default=True,
    help="File format (the trainer's `format` setting; auto: from the extension, then the content).",
)
@click.option("--text-column", default="text", show_default=True, help="Text column name or 0-based index.")
@click.option("--text-pair-column", default="text_pair", show_default=True, help="Second text (task pair).")
@click.option("--label-column", default="label", show_default=True, help="Label column name or 0-based index.")
@click.option(
    "--has-header/--no-header",
    "has_header",
    default=None,
    help="Whether the first tsv/csv row names the columns (default: detect).",
)
@click.option(
    "--tokenizer",
    type=click.Path(file_okay=False),
    default=None,
    help="A local Hugging Face tokenizer folder: count tokens exactly (needs transformers).",
)
@format_option(help="Output format (csv / tsv: one summary row per file).")
def stats_cmd(
    files: tuple[str, ...],
    dev: str | None,
    task: str,
    data_format: str,
    text_column: str,
    text_pair_column: str,
    label_column: str,
    has_header: bool | None,
    tokenizer: str | None,
    fmt: str,
    as_json: bool = False,
) -> None:
    """Statistics of data FILEs: rows, empty and malformed lines, length distribution
    with a suggested max_seq_length, label distribution with the majority-class baseline,
    imbalance, ordering by label, duplicates, conflicting labels, and train / dev overlap.

    The first FILE is the training file; every later FILE (and --dev) is checked against
    it for leakage. Streams the files: a million rows take a few seconds.
    """
    fmt = pick_format(fmt, as_json)
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
    if fmt in ("json", "csv", "tsv"):
        for w in report.warnings:
            click.echo(f"expctl: warning: {w}", err=True)
    click.echo(render_stats(report, fmt=fmt))


@data_group.command("split")
@click.argument("file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--dev", "dev", type=float, default=0.1, show_default=True, help="Share of units for dev.")
@click.option("--test", "test", type=float, default=0.1, show_default=True, help="Share of units for test (0: none).")
@click.option(
    "--by",
    "by",
    default="label",
    show_default=True,
    metavar="label|COLUMN|none",
    help="Stratify by the label, by another column (header name or 0-based index), or not at all.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Which units go where (same seed, same split).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for train/dev/test files and split.json (default: FILE's folder).",
)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option(
    "--task",
    type=click.Choice(["classification", "pair", "multilabel", "ner"]),
    default="classification",
    show_default=True,
    help="What the rows hold (as the trainer's `task`).",
)
@click.option(
    "--data-format",
    "data_format",
    type=click.Choice(["auto", "tsv", "csv", "jsonl", "conll", "squad"]),
    default="auto",
    show_default=True,
    help="File format (auto: from the extension, then the content).",
)
@click.option("--text-column", default="text", show_default=True, help="Text column name or 0-based index.")
@click.option("--label-column", default="label", show_default=True, help="Label column name or 0-based index.")
@click.option(
    "--has-header/--no-header",
    "has_header",
    default=None,
    help="Whether the first tsv/csv row names the columns (default: detect).",
)
@format_option(help="Output format of the counts table.")
def split_cmd(
    file: str,
    dev: float,
    test: float,
    by: str,
    seed: int,
    out_dir: str | None,
    force: bool,
    task: str,
    data_format: str,
    text_column: str,
    label_column: str,
    has_header: bool | None,
    fmt: str = "table",
    as_json: bool = False,
) -> None:
    """Split one data FILE into train / dev / test files: stratified by label (or --by),
    seeded, header and format kept (tsv, csv, jsonl, CoNLL sentence blocks, SQuAD JSON by
    article). Prints the counts; writes split.json with the outputs' fingerprints (the
    data version that runs reading these files record) and reports texts that appear in
    more than one output (leakage).
    """
    import shlex
    import sys

    from expctl.datasplit import render_split, split_file

    read_opts = {
        "text_column": _column(text_column),
        "label_column": _column(label_column),
        "has_header": "auto" if has_header is None else has_header,
    }
    result = split_file(
        file,
        dev=dev,
        test=test,
        by=by,
        seed=seed,
        out_dir=out_dir,
        fmt=data_format,
        task=task,
        read_opts=read_opts,
        force=force,
        command=shlex.join(["expctl", "data", "split", *sys.argv[3:]]),
    )
    if result.columns:
        click.echo(f"expctl: {file}: {result.columns}", err=True)
    how = f"stratified by {result.by}" if result.by != "none" else "not stratified"
    click.echo(f"expctl: split {file} ({how}, seed {result.seed}) -> {result.manifest} ({result.version})", err=True)
    click.echo(render_split(result, pick_format(fmt, as_json)))
    leak = result.leakage
    if leak["texts"]:
        pairs = ", ".join(f"{k} {v}" for k, v in leak["pairs"].items())
        click.echo(
            f"expctl: warning: leakage: {leak['texts']} text(s) appear in more than one output ({pairs}); "
            f"e.g. {leak['examples'][0]['text']!r}: remove duplicates from the source and split again",
            err=True,
        )
    else:
        click.echo("expctl: no text appears in more than one output", err=True)
