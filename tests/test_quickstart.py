"""docs/quickstart.md followed literally: its scripts, its config snippet, its commands."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.conftest import ROOT, git, run_expctl

DOC = (ROOT / "docs" / "quickstart.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)


def script(name: str) -> str:
    return next(b for b in blocks("python") if b.startswith(f"# {name}\n"))


def commands(section: str) -> list[list[str]]:
    """The `expctl ...` lines of the bash block under a heading, without comments."""
    part = DOC[DOC.index(section) :]
    block = re.search(r"```bash\n(.*?)```", part, re.S).group(1)
    out = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("expctl "):
            out.append(shlex.split(line)[1:])
    return out


def setup(tmp_path, name: str):
    project = tmp_path / "my-project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / name).write_text(script(name))
    for args in commands("## 1. Set up"):
        if args[0] == "init":
            args = ["init", "--command", f"python3 {name}"]
        run_expctl(project, *args, check=True)
    git(project, "add", "expctl.toml", "run.sh", ".gitignore", name)
    git(project, "commit", "-qm", "expctl init")
    return project


@pytest.mark.parametrize("name", ["train.py", "train_print.py"])
def test_quickstart_literally(tmp_path, name):
    project = setup(tmp_path, name)
    if name == "train_print.py":
        (snippet,) = blocks("toml")
        toml = (project / "expctl.toml").read_text()
        assert "[metrics.regex]\n" in toml
        (project / "expctl.toml").write_text(toml.replace("[metrics.regex]\n", snippet, 1))
    stage_cmds = [c for c in commands("## 3. Run in stages") if "full" not in c]
    for args in stage_cmds:
        run_expctl(project, *args, check=True)
    records = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)
    assert [r["stage"] for r in reversed(records)] == ["smoke", "converge", "small"]
    for r in records:
        assert r["status"] == "succeeded" and r["check"]["passed"], r["check"]
        assert r["metrics"]["final"]["eval_accuracy"] == 0.9
        assert r["metrics"]["final"]["train_loss"] < 0.1
    # full is refused until smoke passed on this exact code; it has
    run_expctl(project, "run", "--stage", "full", check=True)
    for args in commands("## 4. Look at the results"):
        args = [a if a != "<id>" else records[0]["id"] for a in args]
        run_expctl(project, *args, check=True)
