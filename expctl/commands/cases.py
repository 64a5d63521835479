"""``expctl cases RUN``: case study of a run's wrong predictions."""

from __future__ import annotations

import click

from expctl.output import format_option, pick_format


@click.command("cases")
@click.argument("run")
@click.option(
    "--label",
    "label",
    default=None,
    metavar="L",
    help="Only cases whose gold or predicted label (entity type for NER) is L.",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Show at most N cases (0: all)."
)
@click.option(
    "--show",
    "view",
    type=click.Choice(["all", "cases", "confusion", "classes"]),
    default="all",
    show_default=True,
    help="Which section to print (csv prints one section; 'all' means cases).",
)
@format_option(help="Output format (csv / tsv print one section; 'all' means cases).")
@click.option(
    "--width",
    type=click.IntRange(min=10),
    default=70,
    show_default=True,
    help="Truncate texts to this many characters in table / markdown output.",
)
def cases_cmd(run: str, label: str | None, limit: int, view: str, fmt: str, width: int, as_json: bool = False) -> None:
    """Case study of RUN's dev predictions (predictions.jsonl).

    RUN is a predictions.jsonl file, a run folder, or a run id, tag or branch. Prints the
    confusion matrix, per-class precision / recall / F1 (macro and micro), and the wrong
    predictions, most confident mistakes first. Sequence-labeling predictions get
    entity-level scores and every wrong, missed or spurious entity in its context;
    multi-label predictions get per-label scores and the missing / extra labels.
    """
    fmt = pick_format(fmt, as_json)
    from expctl.analysis.cases import load_cases, render_report

    report = load_cases(run, label=label, limit=limit or None)
    if report.malformed:
        click.echo(f"expctl: skipped {report.malformed} malformed line(s) in {report.source}", err=True)
    for note in report.notes[:5]:
        click.echo(f"expctl: warning: {note}", err=True)
    click.echo(render_report(report, fmt=fmt, view=view, width=width))
