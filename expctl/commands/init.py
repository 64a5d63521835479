"""init: expctl.toml, run.sh and .gitignore in a git repository."""

from __future__ import annotations

import sys

import click

from expctl.errors import ExitCode
from expctl.output import (
    message,
)


@click.command("init")
@click.option(
    "--trainer",
    type=click.Choice(["builtin"]),
    default=None,
    help="Wire up the bundled trainer (python -m trainers.text) with its stage defaults.",
)
@click.option(
    "--task",
    default=None,
    type=click.Choice(["classification", "pair", "multilabel", "ner", "seq2seq", "span"]),
    help="With --trainer builtin: the task, which also picks the primary metric "
    "(accuracy, micro F1, entity F1, BLEU, span F1).",
)
@click.option("--command", "command", default=None, help='The program to run, e.g. "python train.py".')
@click.option("--name", default=None, help="Project name (default: the folder name).")
@click.option("--force", is_flag=True, help="Overwrite expctl.toml and run.sh even if edited.")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
def init_cmd(trainer, task, command, name, force, directory):
    """Set up expctl in a git repository (creating one if needed).

    Writes expctl.toml (command, default settings, stages, metric sources, primary
    metric), run.sh rendered from the template, and .gitignore entries for runs/,
    checkpoints and data. Running it again changes nothing; edited files are only
    overwritten with --force, and when one is refused nothing at all is written. A
    project's own run.sh (one without expctl's header) is never touched nor run: the
    launcher then goes to expctl-run.sh.
    """
    from expctl import scaffold as project

    result = project.init(directory, trainer=trainer, command=command, name=name, force=force, task=task)
    if result.created_repo:
        message(f"expctl: {result.root} was not a git repository: created one (git init)")
    for note in result.notes:
        message(f"expctl: {note}")
    for f in result.written:
        message(f"expctl: wrote {f}")
    for f in result.unchanged:
        message(f"expctl: {f} unchanged")
    if result.gitignore_added:
        message(f"expctl: .gitignore now ignores {' '.join(result.gitignore_added)}")
    for entry, files in result.gitignore_skipped.items():
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        message(f"expctl: not ignoring {entry}: it matches tracked files ({shown}); ignore big files in it by name")
    if result.refused:
        for f in result.refused:
            message(f"expctl: {f} has been edited; not overwriting it (use --force)")
        message("expctl: nothing written")
        sys.exit(int(ExitCode.REFUSED))
    launcher = "expctl-run.sh" if result.own_run_sh else "run.sh"
    if result.own_run_sh:
        message("expctl: run.sh is the project's own: expctl leaves it alone and launches runs through expctl-run.sh")
    if result.written:
        message(
            f"expctl: next: git add expctl.toml {launcher} .gitignore && git commit -m 'expctl init', then "
            "expctl run --stage smoke"
        )
