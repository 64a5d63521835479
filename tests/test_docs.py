"""The docs describe what exists: every command with its help, every doc page present."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from expctl.cli import LAZY_COMMANDS
from tests.conftest import ROOT

DOCS = [
    "quickstart.md",
    "workflow.md",
    "configuration.md",
    "cli.md",
    "trainer.md",
    "tricks.md",
    "benchmarks.md",
    "multi-gpu.md",
    "program-interface.md",
    "reliability.md",
    "data.md",
    "report.md",
    "cluster.md",
]


def _importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ModuleNotFoundError:
        return False


def test_cli_reference_is_current():
    assert all(_importable(m) for m, _, _ in LAZY_COMMANDS.values()), "a lazy command's module is missing"
    generated = subprocess.run(
        [sys.executable, "-m", "expctl.docgen"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    ).stdout
    assert (ROOT / "docs" / "cli.md").read_text() == generated, "run: python -m expctl.docgen > docs/cli.md"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_every_command_documented_with_help(name):
    text = (ROOT / "docs" / "cli.md").read_text()
    assert f"## `expctl {name}`" in text
    assert LAZY_COMMANDS[name][2] in text


@pytest.mark.parametrize("page", DOCS)
def test_doc_pages_exist(page):
    assert (ROOT / "docs" / page).is_file()


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert any("expctl demo" in b for b in blocks) and any("pytest" in b for b in blocks)
    test_cmd = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd.replace("pip install ", "pip install -q ") in ci or test_cmd in ci
