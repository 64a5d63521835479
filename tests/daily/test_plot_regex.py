"""#18.13: `plot` draws the curves of a print-only program (metrics from log regexes) just as
of one writing metrics.jsonl."""

from __future__ import annotations

import json

from tests.conftest import git, run_expctl

PRINTS = "for step in range(1, 31):\n    print(f'step {step} loss={1.0 / step:.4f}')\nprint('acc=0.9000')\n"


def test_plot_of_regex_only_events(repo):
    (repo / "p.py").write_text(PRINTS)
    run_expctl(repo, "init", "--command", "python3 p.py", check=True)
    toml = (
        (repo / "expctl.toml")
        .read_text()
        .replace(
            "[metrics.regex]\n", "[metrics.regex]\ntrain_loss = 'loss=([0-9.]+)'\neval_accuracy = 'acc=([0-9.]+)'\n"
        )
    )
    (repo / "expctl.toml").write_text(toml)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    run_expctl(repo, "run", "--stage", "smoke", check=True)
    rid = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]["id"]
    assert (repo / "runs" / rid).is_dir()  # the folder is there: plot used to read its (empty) curves
    out = json.loads(run_expctl(repo, "plot", rid, "--json", check=True).stdout)
    text = json.dumps(out)
    assert "train_loss" in text and "eval_accuracy" in text, out
    csv = run_expctl(repo, "export", "csv", rid, check=True).stdout
    assert csv.count("train_loss") == 30
