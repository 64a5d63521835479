"""#18.4: every --help has Examples; `run --help` says what happens without --stage; shell
completion completes run ids, tags, explorations, stages and setting names."""

from __future__ import annotations

import json
import re

import pytest

from expctl.cli import LAZY_COMMANDS
from tests.conftest import ROOT, git, run_expctl


def test_every_command_help_has_examples_in_the_reference():
    text = (ROOT / "docs" / "cli.md").read_text()
    sections = [s for s in re.split(r"\n## ", text)[1:] if s.startswith("`expctl")]
    assert len(sections) >= len(LAZY_COMMANDS) + 1
    missing = [s.splitlines()[0] for s in sections if "Examples:" not in s]
    assert missing == []
    for shell in ("bash_source", "zsh_source", "fish_source"):
        assert f"_EXPCTL_COMPLETE={shell} expctl" in text


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["rm", "--help"], ["note", "--help"]])
def test_help_through_the_installed_command(tmp_path, args):
    out = run_expctl(tmp_path, *args, check=True).stdout
    assert "Examples:" in out
    if args[0] == "run":
        assert "Without --stage" in " ".join(out.split()) and "default_stage" in out


def _complete(cwd, words: str) -> list[str]:
    cword = len(words.split()) if words.endswith(" ") else len(words.split()) - 1
    proc = run_expctl(cwd, env={"COMP_WORDS": words, "COMP_CWORD": str(cword), "_EXPCTL_COMPLETE": "bash_complete"})
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if "," in line]


def test_completion_of_ids_tags_explorations_stages_settings(project):
    run_expctl(project, "run", "-q", check=True)
    rid = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)[0]["id"]
    run_expctl(project, "tag", "base", rid, check=True)
    run_expctl(project, "explore", "wider", check=True)
    git(project, "checkout", "-q", "main")
    shown = _complete(project, "expctl show ")
    assert rid in shown and "base" in shown and "wider" in shown
    assert _complete(project, f"expctl log {rid.rsplit('-', 1)[1][:4]}") == [rid]  # by the random suffix
    assert _complete(project, "expctl promote ") == ["wider"]
    assert "smoke" in _complete(project, "expctl run --stage ")
    assert set(_complete(project, "expctl run -s ")) >= {"decay=", "acc=", "seed="}
    assert {"run", "runs"} <= set(_complete(project, "expctl ru"))
