"""#18.2: command typos get a suggestion; usage errors are one line; the exit-code table in
docs/cli.md matches the program."""

from __future__ import annotations

import re

from expctl.errors import ExitCode
from tests.conftest import ROOT, run_expctl


def test_command_typo_is_one_line_with_a_suggestion(project):
    proc = run_expctl(project, "rnus")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "did you mean runs" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_click_usage_errors_are_one_line_and_hidden_options_never_suggested(project):
    proc = run_expctl(project, "run", "--met")  # --meta is hidden (sweep's plumbing)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--meta" not in proc.stderr and "expctl run --help" in proc.stderr
    proc = run_expctl(project, "runs", "--status", "nope")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Usage" not in proc.stderr


def _doc_codes() -> dict[int, str]:
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.*) \|$", section, re.M)}


def test_exit_code_table_matches_the_program(project, tmp_path):
    codes = _doc_codes()
    assert set(codes) == {int(c) for c in ExitCode}
    # each case lands under exactly the code whose row names it
    bare = tmp_path / "bare"
    bare.mkdir()
    run_expctl(bare, "init", "--help", check=True)
    import subprocess

    subprocess.run(["git", "init", "-q", str(bare)], check=True)
    missing = run_expctl(bare, "runs")
    assert missing.returncode == 4 and "expctl.toml" in codes[4]
    assert "missing" not in codes[3] and "no expctl.toml" not in codes[3]
    bad_value = run_expctl(project, "run", "-s", "decay=abc")
    assert bad_value.returncode == 2 and "epochs=abc" in codes[2]
    unknown = run_expctl(project, "run", "-s", "nosuch=1")
    assert unknown.returncode == 3 and "unknown setting" in codes[3]
    stage = run_expctl(project, "run", "--stage", "nosuch")
    assert stage.returncode == 3 and "unknown stage" in codes[3]
    typo = run_expctl(project, "rnus")
    assert typo.returncode == 2 and "unknown command" in codes[2]
