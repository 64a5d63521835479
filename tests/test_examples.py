"""expctl.examples: the Examples epilog each command's --help gets."""

from __future__ import annotations

import click

from expctl.examples import EXAMPLES, add_examples


def test_a_listed_command_gets_its_examples_as_an_epilog():
    cmd = add_examples("run", click.Command("run", help="Run the program."))
    assert cmd.epilog.startswith("\b\nExamples:\n")
    assert cmd.epilog.splitlines()[2:] == [f"  {line}" for line in EXAMPLES["run"]]


def test_a_docstring_with_its_own_examples_or_an_epilog_is_kept():
    own = add_examples("run", click.Command("run", help="Run.\n\nExamples:\n  expctl run"))
    assert own.epilog is None
    kept = add_examples("run", click.Command("run", epilog="see docs"))
    assert kept.epilog == "see docs"


def test_an_unlisted_command_gets_nothing():
    assert add_examples("no-such-command", click.Command("x")).epilog is None


def test_a_group_passes_examples_to_its_subcommands_by_their_full_name():
    group = click.Group("data", commands=[click.Command("stats"), click.Command("split"), click.Command("other")])
    add_examples("data", group)
    assert "expctl data" in group.epilog
    assert group.commands["stats"].epilog.splitlines()[2] == f"  {EXAMPLES['data stats'][0]}"
    assert "--dev 0.1" in group.commands["split"].epilog
    assert group.commands["other"].epilog is None


def test_running_twice_does_not_repeat_the_examples():
    cmd = add_examples("gc", click.Command("gc"))
    first = cmd.epilog
    add_examples("gc", cmd)
    assert cmd.epilog == first and first.count("Examples:") == 1
