"""expctl demo: the whole workflow on generated data, offline."""

from __future__ import annotations

import click


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--fast", is_flag=True, help="A sub-minute version on less data (used in tests).")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of the generated data."
)
@click.option("--quiet-runs", is_flag=True, help="Hide the trainer's own output (expctl's messages stay).")
def demo_cmd(directory, fast, lang, quiet_runs):
    """Show the whole workflow on generated data, offline, on a CPU.

    Creates a fresh project in DIRECTORY (default: a new temporary folder), generates a
    noisy text-classification dataset, then: data stats -> smoke -> converge -> small ->
    tag baseline -> explore R-Drop on a branch -> promote it if it wins, abandon it if not
    -> compare. Each step prints the command a user would type.
    """
    from expctl.demo import run_demo

    run_demo(directory, fast, lang, say=lambda m: click.echo(m, err=False), quiet_runs=quiet_runs)
