"""expctl.docgen: what render() puts in the command reference.

tests/test_docs.py checks docs/cli.md is current; here the parts of the page itself."""

from __future__ import annotations

import re

from expctl.cli import LAZY_COMMANDS
from expctl.docgen import EXIT_MEANINGS, render
from expctl.errors import ExitCode


def test_every_exit_code_has_a_meaning():
    assert set(EXIT_MEANINGS) == set(ExitCode)


def test_the_reference_lists_every_command_exit_code_and_a_help_section_each():
    text = render()
    assert text.startswith("# Command reference\n") and text.endswith("```\n")
    table = re.findall(r"^\| \[`expctl (\S+)`\]\(#expctl-\1\) \|", text, re.M)
    assert table == sorted(LAZY_COMMANDS)
    codes = re.findall(r"^\| (\d+) \| ", text, re.M)
    assert [int(c) for c in codes] == [int(c) for c in EXIT_MEANINGS]
    for name in LAZY_COMMANDS:
        assert f"## `expctl {name}`" in text
    assert "## `expctl`\n" in text


def test_group_subcommands_get_their_own_sections_with_examples():
    text = render()
    assert "## `expctl data stats`" in text
    section = text.split("## `expctl data split`", 1)[1].split("## `", 1)[0]
    assert "Examples:" in section and "expctl data split data/all.jsonl" in section
