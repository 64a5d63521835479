"""expctl kfold and expctl ensemble, end to end with a fast stand-in program (no torch)."""

from __future__ import annotations

import json
import math
import textwrap

from tests.conftest import git, run_expctl

PROGRAM = textwrap.dedent('''
    import json, math, os
    from expctl import track
    s = track.settings()
    fold, k = int(s["fold"]), int(s["num_folds"])
    # k-fold stand-in: accuracy depends on the fold
    acc = 0.5 + 0.1 * fold if k else 0.7
    rows = s["logits"] or [[0.0, 0.0]]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    labels = ["neg", "pos"]
    gold = ["pos", "neg", "pos"][: len(rows)]
    with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "predictions.jsonl"), "w") as fh:
        for i, (row, g) in enumerate(zip(rows, gold)):
            m = max(row); e = [math.exp(v - m) for v in row]; z = sum(e)
            probs = {lab: v / z for lab, v in zip(labels, e)}
            fh.write(json.dumps({"index": i, "text": f"t{i}", "text_pair": None, "label": g,
                                 "pred": max(probs, key=probs.get), "probs": probs, "logits": row}) + "\\n")
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, eval_accuracy=acc)
''')

CONFIG = textwrap.dedent('''
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    num_folds = 0
    fold = 0
    seed = 0
    logits = ""
    eval_file = "data/dev.tsv"
''')


def make(repo):
    (repo / "train.py").write_text(PROGRAM)
    (repo / "expctl.toml").write_text(CONFIG)
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    return repo


def test_kfold_three_grouped_runs_and_mean_std_row(repo):
    make(repo)
    out = run_expctl(repo, "kfold", "--k", "3", "--format", "json", check=True)
    summary = json.loads(out.stdout)
    assert summary["k"] == 3 and summary["succeeded"] == 3 and len(summary["runs"]) == 3
    stat = summary["metrics"]["eval_accuracy"]
    assert abs(stat["mean"] - 0.6) < 1e-9 and abs(stat["std"] - 0.1) < 1e-9 and stat["n"] == 3
    records = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    groups = [r["group"] for r in records]
    assert {g["id"] for g in groups} == {summary["id"]} and sorted(g["fold"] for g in groups) == [0, 1, 2]
    assert sorted(r["settings"]["fold"] for r in records) == [0, 1, 2]
    assert {r["settings"]["num_folds"] for r in records} == {3}
    table = run_expctl(repo, "kfold", "--show", "last", check=True).stdout
    assert "mean ± std" in table and "0.6" in table
    bad = run_expctl(repo, "kfold", "--k", "3", "-s", "fold=1")
    assert bad.returncode == 2 and "set by expctl kfold" in bad.stderr


def test_kfold_needs_fold_settings(repo):
    make(repo)
    (repo / "expctl.toml").write_text(CONFIG.replace("num_folds = 0\nfold = 0\n", ""))
    out = run_expctl(repo, "kfold", "--k", "3")
    assert out.returncode == 3 and "num_folds" in out.stderr and "Traceback" not in out.stderr


def test_ensemble_exact_average_recorded_as_a_run(repo):
    make(repo)
    a = [[2.0, 0.0], [0.0, 1.0], [1.0, 0.5]]
    b = [[0.0, 4.0], [3.0, 0.0], [0.0, 0.2]]
    ids = []
    for logits in (a, b):
        run_expctl(repo, "run", "-q", "-s", f"logits={json.dumps(logits)}", check=True)
        ids.append(json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]["id"])
    out = json.loads(run_expctl(repo, "ensemble", *ids, "--json", check=True).stdout)
    eid = out["run"]
    rec = json.loads(run_expctl(repo, "show", eid, "--json", check=True).stdout)
    assert rec["ensemble"]["members"] == ids and rec["ensemble"]["mode"] == "logits"
    preds = [json.loads(line) for line in (repo / "runs" / eid / "predictions.jsonl").read_text().splitlines()]
    for p, ra, rb in zip(preds, a, b):
        want = [(x + y) / 2 for x, y in zip(ra, rb)]
        assert p["logits"] == want
        assert p["pred"] == ["neg", "pos"][want.index(max(want))]
        z = sum(math.exp(v) for v in want)
        assert abs(p["probs"]["pos"] - math.exp(want[1]) / z) < 1e-6
    # averaged logits [1,2] [1.5,.5] [.5,.35] -> pos, neg, neg vs gold pos, neg, pos
    assert abs(out["metrics"]["eval_accuracy"] - 2 / 3) < 1e-9
    # weights and probability averaging
    out2 = json.loads(run_expctl(repo, "ensemble", *ids, "--weights", "3,1", "--mode", "probs", "--json",
                                 check=True).stdout)
    p0 = [json.loads(line) for line in (repo / "runs" / out2["run"] / "predictions.jsonl").read_text().splitlines()][0]
    sa = 1 / (1 + math.exp(-2.0))  # member a: p(neg) on example 0
    sb = 1 / (1 + math.exp(4.0))
    assert abs(p0["probs"]["neg"] - (0.75 * sa + 0.25 * sb)) < 1e-5
    listing = run_expctl(repo, "compare", "--runs", *ids, eid, check=True).stdout
    assert eid in listing and ids[0] in listing
    bad = run_expctl(repo, "ensemble", ids[0])
    assert bad.returncode == 2 and "at least two" in bad.stderr
