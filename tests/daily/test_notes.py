"""#18.8: `expctl note RUN|TAG`: shown by show, a compare column, pushed and pulled."""

from __future__ import annotations

import json

from tests.conftest import run_expctl
from tests.daily.conftest import push_and_clone


def test_note_on_run_and_tag_shown_compared_pushed_and_pulled(project, tmp_path):
    run_expctl(project, "run", "-q", check=True)
    rid = json.loads(run_expctl(project, "runs", "--json", check=True).stdout)[0]["id"]
    run_expctl(project, "tag", "base", rid, check=True)
    run_expctl(project, "note", rid.rsplit("-", 1)[1], "lr too high; diverged", check=True)
    run_expctl(project, "note", "base", "the baseline", check=True)
    assert run_expctl(project, "note", rid, check=True).stdout == "lr too high; diverged\n"
    show = run_expctl(project, "show", rid, check=True).stdout
    assert "note      lr too high; diverged" in show
    assert json.loads(run_expctl(project, "show", rid, "--json", check=True).stdout)["note"] == "lr too high; diverged"
    cmp = run_expctl(project, "compare", "--notes", check=True).stdout
    assert "the baseline" in cmp.splitlines()[2] and "note" in cmp.splitlines()[0]
    cmp = json.loads(run_expctl(project, "compare", "--runs", "--notes", "--json", check=True).stdout)
    assert cmp[0]["note"] == "lr too high; diverged"
    # --edit through $EDITOR
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\nprintf 'edited note\\n' > \"$1\"\n")
    editor.chmod(0o755)
    run_expctl(project, "note", rid, "--edit", env={"EDITOR": str(editor), "VISUAL": str(editor)}, check=True)
    assert run_expctl(project, "note", rid, check=True).stdout == "edited note\n"
    # pushed and pulled with the records
    clone = push_and_clone(project, tmp_path)
    assert run_expctl(clone, "note", rid, check=True).stdout == "edited note\n"
    assert run_expctl(clone, "note", "base", check=True).stdout == "the baseline\n"
    # an unknown target: one line, exit 4
    bad = run_expctl(project, "note", "nosuchthing", "x")
    assert bad.returncode == 4 and bad.stderr.count("\n") == 1
