"""expctl.completion: the completers themselves (in-process) and how attach assigns them.

tests/daily/test_help_completion.py drives completion through the installed command."""

from __future__ import annotations

import click

from expctl import completion
from tests.conftest import git

CONFIG = """\
[project]
name = "c"
command = "python3 train.py"

[settings]
lr = 0.1
model = { layers = 2, dropout = 0.1 }

[stages.small]
check = "none"
"""


def _project(repo):
    (repo / "expctl.toml").write_text(CONFIG)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    for ref in (
        "refs/expctl/runs/20260101-000000-aaaa11",
        "refs/expctl/runs/20260102-000000-bbbb22",
        "refs/tags/base",
        "refs/expctl/strategies/wider",
    ):
        git(repo, "update-ref", ref, head)
    return repo


def test_runs_tags_and_explorations_newest_run_first(repo, monkeypatch):
    monkeypatch.chdir(_project(repo))
    assert completion.runs_and_strategies(None, None, "") == [
        "20260102-000000-bbbb22",
        "20260101-000000-aaaa11",
        "base",
        "wider",
        "HEAD",
    ]
    assert completion.runs_and_strategies(None, None, "2026010") == ["20260102-000000-bbbb22", "20260101-000000-aaaa11"]


def test_a_random_suffix_completes_to_its_run_id(repo, monkeypatch):
    monkeypatch.chdir(_project(repo))
    assert completion.runs_and_strategies(None, None, "bbb") == ["20260102-000000-bbbb22"]
    assert completion.runs_and_strategies(None, None, "H") == ["HEAD"]


def test_tags_explorations_and_stages_filter_by_prefix(repo, monkeypatch):
    monkeypatch.chdir(_project(repo))
    assert completion.tags(None, None, "b") == ["base"]
    assert completion.tags(None, None, "w") == []
    assert completion.explorations(None, None, "") == ["wider"]
    assert completion.stages(None, None, "") == ["small"]
    assert completion.stages(None, None, "sm") == ["small"]
    assert completion.stages(None, None, "zzz") == []


def test_setting_names_are_dotted_and_end_with_equals(repo, monkeypatch):
    monkeypatch.chdir(_project(repo))
    items = completion.settings(None, None, "model.")
    assert sorted(i.value for i in items) == ["model.dropout=", "model.layers="]
    assert {i.help for i in items} == {"default 0.1", "default 2"}
    assert completion.settings(None, None, "lr=0") == []  # a value is being typed: nothing to offer


def test_outside_a_project_every_completer_offers_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert completion.runs_and_strategies(None, None, "x") == []
    assert completion.tags(None, None, "") == []
    assert completion.stages(None, None, "") == []
    assert completion.settings(None, None, "") == []


def test_attach_gives_parameters_their_completer_by_name_but_keeps_choices_and_custom_ones():
    def mine(ctx, param, incomplete):
        return []

    @click.command()
    @click.argument("ref")
    @click.option("--stage")
    @click.option("--run", type=click.Choice(["a", "b"]))
    @click.option("--base", shell_complete=mine)
    @click.option("--other")
    def cmd(ref, stage, run, base, other):
        pass

    completion.attach("show", cmd)
    by = {p.name: p._custom_shell_complete for p in cmd.params}
    assert by["ref"] is completion.runs_and_strategies
    assert by["stage"] is completion.stages
    assert by["run"] is None and by["other"] is None
    assert by["base"] is mine


def test_attach_by_command_and_parameter_name():
    @click.command()
    @click.argument("name")
    def promote(name):
        pass

    @click.command()
    @click.argument("name")
    def other(name):
        pass

    completion.attach("promote", promote)
    completion.attach("other", other)
    assert promote.params[0]._custom_shell_complete is completion.explorations
    assert other.params[0]._custom_shell_complete is None
