"""Golden outputs of `expctl compare` for every --format, with CJK names and values; expctl.compare's
helpers directly."""

from __future__ import annotations

import json

import pytest

from expctl import compare, strategies
from tests.conftest import git, run_expctl
from tests.strategy.conftest import commit_file

COLS = "kind,status,stage,eval_accuracy,Δ,note"

GOLDEN = {
    "table": (
        "strategy  kind     status  stage  eval_accuracy  Δ         note\n"
        "--------  -------  ------  -----  -------------  --------  -------------\n"
        "基线      tag      main    small  0.8            baseline  无\n"
        "对抗训练  explore  open    small  0.83 *         +0.0300   对抗 FGM, ε=1\n"
    ),
    "markdown": (
        "| strategy   | kind    | status   | stage   | eval_accuracy   | Δ        | note          |\n"
        "|------------|---------|----------|---------|-----------------|----------|---------------|\n"
        "| 基线       | tag     | main     | small   | 0.8             | baseline | 无            |\n"
        "| 对抗训练   | explore | open     | small   | **0.83**        | +0.0300  | 对抗 FGM, ε=1 |\n"
    ),
    # machine formats: one number per cell, ASCII headers (the baseline row has no delta)
    "csv": (
        "strategy,kind,status,stage,eval_accuracy_mean,eval_accuracy_std,eval_accuracy_n,delta,note\n"
        "基线,tag,main,small,0.8,,1,,无\n"
        '对抗训练,explore,open,small,0.83,,1,0.03,"对抗 FGM, ε=1"\n'
    ),
    "tsv": (
        "strategy\tkind\tstatus\tstage\teval_accuracy_mean\teval_accuracy_std\teval_accuracy_n\tdelta\tnote\n"
        "基线\ttag\tmain\tsmall\t0.8\t\t1\t\t无\n"
        "对抗训练\texplore\topen\tsmall\t0.83\t\t1\t0.03\t对抗 FGM, ε=1\n"
    ),
}


@pytest.fixture(scope="module")
def cjk_project(tmp_path_factory):

    from tests.strategy.conftest import CONFIG, TRAIN_PY

    repo = tmp_path_factory.mktemp("golden") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text(TRAIN_PY)
    (repo / "expctl.toml").write_text(CONFIG)
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.8", "-s", "note=无", check=True)
    run_expctl(repo, "tag", "基线", check=True)
    run_expctl(repo, "explore", "对抗训练", check=True)
    commit_file(repo, "f.py", "x\n", "f")
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.83", "-s", "note=对抗 FGM, ε=1", check=True)
    return repo


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_golden_formats(cjk_project, fmt):
    out = run_expctl(cjk_project, "compare", "--columns", COLS, "--format", fmt, check=True).stdout
    assert out == GOLDEN[fmt]


def test_golden_json(cjk_project):
    rows = json.loads(run_expctl(cjk_project, "compare", "--format", "json", check=True).stdout)
    volatile = {"commit", "date", "run", "runs"}
    stable = [{k: v for k, v in r.items() if k not in volatile} for r in rows]
    for r in stable:
        if r["delta"] is not None:
            r["delta"] = round(r["delta"], 9)
        r["metrics"] = {k: round(v, 9) for k, v in r["metrics"].items()}
    assert stable == [
        {
            "baseline": True,
            "best": False,
            "delta": None,
            "kind": "tag",
            "metric": "eval_accuracy",
            "metrics": {"eval_accuracy": 0.8, "eval_f1": 0.75, "train_loss": 0.01},
            "n": 1,
            "note": "",
            "reproductions": [],
            "settings": {"acc": 0.8, "note": "无"},
            "stage": "small",
            "status": "main",
            "std": None,
            "eval_accuracy_mean": 0.8,
            "eval_accuracy_std": None,
            "eval_accuracy_n": 1,
            "strategy": "基线",
            "value": 0.8,
            "within_noise": None,
        },
        {
            "baseline": False,
            "best": True,
            "delta": 0.03,
            "kind": "explore",
            "metric": "eval_accuracy",
            "metrics": {"eval_accuracy": 0.83, "eval_f1": 0.78, "train_loss": 0.01},
            "n": 1,
            "note": "from 基线",
            "reproductions": [],
            "settings": {"acc": 0.83, "note": "对抗 FGM, ε=1"},
            "stage": "small",
            "status": "open",
            "std": None,
            "eval_accuracy_mean": 0.83,
            "eval_accuracy_std": None,
            "eval_accuracy_n": 1,
            "strategy": "对抗训练",
            "value": 0.83,
            "within_noise": None,
        },
    ]
    for r in rows:
        assert len(r["commit"]) == 40 and r["date"].endswith("Z") and r["runs"] == [r["run"]]


def test_write_results_file(cjk_project):
    out = cjk_project / "RESULTS.md"
    run_expctl(cjk_project, "compare", "--columns", COLS, "--write", str(out), check=True)
    text = out.read_text()
    assert text.startswith("# Results: demo\n") and GOLDEN["markdown"] in text and "~noise" in text


def test_sort_limit_where_runs(cjk_project):
    rows = json.loads(run_expctl(cjk_project, "compare", "--sort", "eval_accuracy", "--json", check=True).stdout)
    assert [r["strategy"] for r in rows] == ["对抗训练", "基线"]
    rows = json.loads(run_expctl(cjk_project, "compare", "--limit", "1", "--json", check=True).stdout)
    assert len(rows) == 1
    rows = json.loads(run_expctl(cjk_project, "compare", "--where", "note=无", "--json", check=True).stdout)
    assert [r["strategy"] for r in rows] == ["基线"]
    runs = json.loads(run_expctl(cjk_project, "compare", "--runs", "--json", check=True).stdout)
    assert {r["strategy"] for r in runs} == {"基线", "对抗训练"} and all(r["kind"] == "run" for r in runs)
    bad = run_expctl(cjk_project, "compare", "--columns", "nope")
    assert bad.returncode == 2 and "unknown column" in bad.stderr


# expctl.compare's helpers directly: the stage of the table, the best row, what differs, the value text
def _row(label, acc=None, seed=0, reproductions=(), **settings):
    final = {"eval_accuracy": acc, "lr_now": 1e-5, "eval_f1": 0.5, "train_loss": 0.2} if acc is not None else {}
    record = {"id": label, "settings": {"seed": seed, **settings}, "metrics": {"final": final}}
    n = 0 if acc is None else 1
    group = strategies.Group([record], acc, None, n, list(reproductions))
    return compare.Row(label, "run", "succeeded", group)


def test_compare_helpers():
    order = ["smoke", "small", "full"]
    assert compare.pick_stage([{"smoke", "small"}, {"small", "full"}], order) == "small"  # the latest all have
    assert compare.pick_stage([{"smoke"}, {"full"}, {"full", "smoke"}], order) == "full"  # else most rows, latest
    assert compare.pick_stage([set(), set()], order) is None
    rows = [_row("a", 0.7, lr=0.1), _row("b", 0.9, seed=1, lr=0.1, wd=0.01), _row("c")]
    assert compare.best_index(rows, "max") == 1 and compare.best_index(rows, "min") == 0
    assert compare.best_index([rows[2]], "max") is None
    assert compare.differing_settings(rows) == ["lr", "wd"]  # c has no lr; the seed only when asked
    assert compare.differing_settings(rows, include_seed=True) == ["lr", "seed", "wd"]
    assert compare.other_metrics(rows, "eval_accuracy") == ["eval_f1", "train_loss"]  # lr_* hidden
    assert compare.other_metrics(rows, "eval_accuracy", limit=1) == ["eval_f1"]
    g = strategies.Group([], 0.8, 0.01, 3, [{"id": "x"}, {"id": "y"}])
    assert compare.value_text(g) == "0.8 ± 0.01 (n=3) [+2 reproductions]"
    assert compare.value_text(strategies.Group([], 0.8, None, 1)) == "0.8"
    assert compare.value_text(strategies.Group([], None, None, 0)) == ""
