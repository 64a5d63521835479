"""The command line: thin click layer over plain modules.

Subcommands load lazily (``LAZY_COMMANDS`` maps a name to ``module:attribute`` and its
one-line help), so ``expctl --help``, ``runs`` and ``compare`` never import torch,
transformers, accelerate or pandas. Domain errors become one line on stderr and a
documented exit code; ``--debug`` (or EXPCTL_DEBUG=1) shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from expctl import __version__
from expctl.errors import ExitCode, ExpctlError

# name -> (module path, attribute, short help). Short help lives here so that
# `expctl --help` imports no command module at all.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("expctl.commands.init", "init_cmd", "Set up expctl.toml, run.sh and .gitignore in a git repository."),
    "run": ("expctl.commands.run", "run_cmd", "Run the program at a stage and record everything about the run."),
    "runs": ("expctl.commands.runs", "runs_cmd", "List recorded runs, newest first."),
    "show": ("expctl.commands.runs", "show_cmd", "Show one run (or the run behind a tag or branch)."),
    "log": ("expctl.commands.runs", "log_cmd", "Print a run's log."),
    "gc": ("expctl.commands.records", "gc_cmd", "Finalize runs whose expctl died; pack refs and objects."),
    "note": (
        "expctl.commands.records",
        "note_cmd",
        "Attach a note to a run or a tag (shown by show, pushed with the records).",
    ),
    "rm": (
        "expctl.commands.records",
        "rm_cmd",
        "Delete runs: records, run folders, optionally checkpoints; push carries it.",
    ),
    "tag": ("expctl.commands.strategy", "tag_cmd", "Tag a main-line strategy at a run's exact code."),
    "explore": ("expctl.commands.strategy", "explore_cmd", "Branch explore/NAME off a strategy and switch to it."),
    "promote": ("expctl.commands.strategy", "promote_cmd", "Merge an exploration into the main line and tag it."),
    "abandon": ("expctl.commands.strategy", "abandon_cmd", "Record that an exploration failed; keep its branch."),
    "strategies": (
        "expctl.commands.strategy",
        "strategies_cmd",
        "The main line and its explorations, with status and best metric.",
    ),
    "compare": ("expctl.commands.compare", "compare_cmd", "Results table of strategies or runs."),
    "diff": ("expctl.commands.compare", "diff_cmd", "What differs between two runs or strategies."),
    "push": (
        "expctl.commands.sync",
        "push_cmd",
        "Push run records, tags, explorations and the current branch to a git remote.",
    ),
    "pull": ("expctl.commands.sync", "pull_cmd", "Fetch branches, tags and run records from a git remote."),
    "data": ("expctl.commands.data", "data_group", "Data: statistics, leakage, train/dev/test splits."),
    "cases": ("expctl.commands.cases", "cases_cmd", "Case study of a run's wrong predictions."),
    "plot": ("expctl.commands.plot", "plot_cmd", "Training and eval curves, with a diagnosis."),
    "sweep": ("expctl.commands.groups", "sweep_cmd", "One-factor-at-a-time sensitivity sweep of settings."),
    "reproduce": (
        "expctl.commands.run",
        "reproduce_cmd",
        "Rerun a run from its exact code in a worktree and compare.",
    ),
    "kfold": ("expctl.commands.groups", "kfold_cmd", "Train K stratified folds as grouped runs; mean ± std."),
    "ensemble": (
        "expctl.commands.groups",
        "ensemble_cmd",
        "Average the predictions of several runs; record the ensemble as a run.",
    ),
    "demo": ("expctl.commands.demo", "demo_cmd", "Show the whole workflow on generated data, offline."),
    "report": (
        "expctl.commands.report",
        "report_cmd",
        "Write one self-contained HTML report: table, curves, diffs, cases.",
    ),
    "export": ("expctl.commands.report", "export_cmd", "Write runs' curves as TensorBoard events or one tidy CSV."),
    "cancel": ("expctl.commands.cluster", "cancel_cmd", "Cancel the Slurm jobs of a run or a sweep."),
    "wait": ("expctl.commands.cluster", "wait_cmd", "Wait for a run or sweep on Slurm to finish; print its results."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(LAZY_COMMANDS)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attr, _ = LAZY_COMMANDS[cmd_name]
            module = importlib.import_module(module_name)
            from expctl.completion import attach  # run ids, tags, stages, settings (docs/cli.md)
            from expctl.examples import add_examples

            return add_examples(cmd_name, attach(cmd_name, getattr(module, attr)))
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; see expctl --help"
            raise click.UsageError(f"no such command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, LAZY_COMMANDS[name][2]) for name in sorted(LAZY_COMMANDS)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog='\b\nExamples:\n  expctl init --command "python3 train.py"\n  expctl run --stage smoke\n'
    "  expctl runs -n 5\n  expctl compare\n  expctl COMMAND --help   # every command's options and examples",
)
@click.version_option(__version__, prog_name="expctl")
@click.option("--debug", is_flag=True, envvar="EXPCTL_DEBUG", help="Show tracebacks for errors.")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Run as if expctl was started in this directory.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, directory: str | None) -> None:
    """expctl: git-native experiment manager and trainer.

    Every run records its settings, environment, exact code, logs and metrics in git;
    strategies are git tags and branches; `expctl compare` shows the results table.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise ExpctlError(f"cannot change to {directory}: {exc.strerror}") from exc


def usage_line(exc: click.UsageError) -> str:
    """click's usage error as one line: the message and where help is, hidden options never
    suggested."""
    ctx = exc.ctx
    text = exc.format_message()
    if isinstance(exc, click.NoSuchOption) and ctx is not None:
        visible = {
            o
            for p in ctx.command.get_params(ctx)
            if not getattr(p, "hidden", False)
            for o in (*p.opts, *p.secondary_opts)
        }
        close = [o for o in (exc.possibilities or []) if o in visible]
        text = f"no such option {exc.option_name}" + (f"; did you mean {' or '.join(close)}?" if close else "")
    text = " ".join(text.split())
    where = ctx.command_path if ctx is not None else "expctl"
    return f"{text} (see {where} --help)"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps domain errors to one line and an exit code."""
    debug = os.environ.get("EXPCTL_DEBUG") not in (None, "", "0") or "--debug" in (argv or sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="expctl", standalone_mode=False)
    except ExpctlError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        click.echo(f"expctl: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("expctl: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"expctl: error: {usage_line(exc)}", err=True)
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        click.echo(f"expctl: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("expctl: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # `expctl runs | head`: the reader went away; not an error.
        try:
            sys.stdout = None  # type: ignore[assignment]
        finally:
            os._exit(0)
    except OSError as exc:
        if debug:
            raise
        if exc.errno in (28, 122, 30):  # ENOSPC, EDQUOT, EROFS: the disk, not a bug
            where = f" ({exc.filename})" if exc.filename else ""
            hint = "; free some space and try again" if exc.errno != 30 else ""
            click.echo(f"expctl: error: {exc.strerror}{where}{hint}", err=True)
            sys.exit(int(ExitCode.GIT))
        click.echo(
            f"expctl: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True
        )
        sys.exit(int(ExitCode.INTERNAL))
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        if debug:
            raise
        click.echo(
            f"expctl: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True
        )
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
