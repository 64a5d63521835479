"""Generate docs/cli.md from the commands' own help: `python -m expctl.docgen > docs/cli.md`.

tests/test_docs.py checks the file is current, so the reference never drifts from the code.
"""

from __future__ import annotations

import click

from expctl.cli import LAZY_COMMANDS, cli
from expctl.errors import ExitCode

EXIT_MEANINGS = {
    ExitCode.OK: "success (for `run`: the program succeeded and the stage check passed)",
    ExitCode.RUN_FAILED: "the program exited non-zero (the run is recorded as failed)",
    ExitCode.USAGE: "bad command line: unknown command or option, invalid `-s` syntax or value (`-s epochs=abc`), "
    "invalid tag or branch name",
    ExitCode.CONFIG: "malformed expctl.toml, unknown setting (or an invalid value in expctl.toml), unknown stage",
    ExitCode.NOT_FOUND: "no expctl.toml, no such run / tag / branch / file, command not found",
    ExitCode.GIT: "not a git repository, a git operation refused (e.g. a promote that would conflict), or the repository / run folder could not be written (disk full)",
    ExitCode.CHECK_FAILED: "the program succeeded but the stage check failed (or `reproduce` did not match)",
    ExitCode.REFUSED: "refused without --force (edited files, existing tag, `full` without a passing smoke)",
    ExitCode.INTERNAL: "an internal error in expctl (a bug): one line on stderr; `expctl --debug ...` shows the traceback",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, SIGTERM); the run is recorded as interrupted",
}


def _help(cmd: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(cmd, info_name=" ".join(path))
    from expctl.examples import add_examples

    add_examples(" ".join(path[1:]), cmd)
    text = cmd.get_help(ctx)
    lines = [f"## `{' '.join(path)}`", "", "```text", text.rstrip(), "```", ""]
    if isinstance(cmd, click.Group) and len(path) > 1:
        for name in sorted(cmd.list_commands(ctx)):
            lines += _help(cmd.get_command(ctx, name), [*path, name])
    return lines


def render() -> str:
    ctx = click.Context(cli, info_name="expctl")
    out = [
        "# Command reference",
        "",
        "Generated from the commands' own `--help` by `python -m expctl.docgen > docs/cli.md`.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name in sorted(LAZY_COMMANDS):
        out.append(f"| [`expctl {name}`](#expctl-{name}) | {LAZY_COMMANDS[name][2]} |")
    out += ["", "## Exit codes", "", "| code | meaning |", "|---|---|"]
    for code, meaning in EXIT_MEANINGS.items():
        out.append(f"| {int(code)} | {meaning} |")
    out += [
        "",
        "Every error is one line on stderr (`expctl: error: ...`); `--debug` (or `EXPCTL_DEBUG=1`) adds the traceback.",
        "",
    ]
    out += [
        "## Shell completion",
        "",
        "Completes command and option names, run ids (a random suffix too), tags, explorations, stages",
        "(`--stage`) and setting names (`-s KEY=`). Add one line to your shell's start-up file:",
        "",
        "```bash",
        "# bash (~/.bashrc)",
        'eval "$(_EXPCTL_COMPLETE=bash_source expctl)"',
        "# zsh (~/.zshrc)",
        'eval "$(_EXPCTL_COMPLETE=zsh_source expctl)"',
        "# fish (~/.config/fish/completions/expctl.fish)",
        "_EXPCTL_COMPLETE=fish_source expctl | source",
        "```",
        "",
        "Tables on a terminal fit its width: cells never wrap; the least informative columns",
        "(one value in every row) are hidden first and named on stderr; `--columns`, `--drop` and",
        "`--only-changed` choose. Piped, every column is printed. With `--json` (or csv / tsv),",
        "stdout holds only the data: messages and the programs' own output go to stderr.",
        "",
        "Every command that prints rows or a record takes the same output options: `--format` table",
        "(the default), markdown, csv, tsv or json, and `--json` for `--format json`. `show` and",
        "`diff` print their human view as table; markdown, csv and tsv give one row per field",
        "(`show`: field, value) or per difference (`diff`: section, key, a, b, delta).",
        "",
    ]
    out += _help(cli, ["expctl"])
    for name in sorted(LAZY_COMMANDS):
        try:
            cmd = cli.get_command(ctx, name)
        except ModuleNotFoundError:
            continue  # a command still being written; the docs test skips until it exists
        out += _help(cmd, ["expctl", name])
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
