"""expctl.rungroups: the one run-group engine (ids, plan, executors, lookup, the `group` record
field) - units on its pure parts, and real projects for sweep, kfold, run --seeds and ensembles,
including records written the way expctl wrote them before the engine (read back the same)."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from expctl import rungroups
from tests.conftest import commit_project, run_expctl

PROGRAM = textwrap.dedent("""
    import json, os
    from expctl import track
    s = track.settings()
    fold, k = int(s["fold"]), int(s["num_folds"])
    acc = 0.5 + float(s["lr"]) + 0.001 * int(s["seed"]) + (0.1 * fold if k else 0.0)
    rows = [[1.0, 0.0], [0.0, 2.0]] if fold == 0 else [[0.0, 1.0], [0.5, 0.0]]
    with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "predictions.jsonl"), "w") as fh:
        for i, (row, gold) in enumerate(zip(rows, ["neg", "pos"])):
            fh.write(json.dumps({"index": i, "text": f"t{i}", "text_pair": None, "label": gold,
                                 "pred": "neg", "probs": {"neg": 0.5, "pos": 0.5}, "logits": row}) + "\\n")
    track.log_metrics(step=1, train_loss=1.0)
    track.log_metrics(step=2, eval_accuracy=round(acc, 6))
""")

CONFIG = textwrap.dedent("""
    [project]
    command = "python3 train.py"
    primary_metric = "eval_accuracy"

    [settings]
    lr = 0.1
    seed = 0
    num_folds = 0
    fold = 0
""")


@pytest.fixture
def project(repo):
    commit_project(repo, PROGRAM, CONFIG)
    return repo


def runs(repo) -> list[dict]:
    return json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)


def meta_run(repo, meta: dict, *assignments: str) -> None:
    """One run recorded through the real store with the given extra record fields."""
    args = ["run", "-q"]
    for a in assignments:
        args += ["-s", a]
    run_expctl(repo, *args, "--meta", json.dumps(meta), check=True)


# ------------------------------------------------------------------------------ units
def test_ids_by_kind():
    assert re.fullmatch(r"sweep-\d{8}-\d{6}-[0-9a-f]{4}", rungroups.new_id("sweep"))
    assert rungroups.new_id("seeds").startswith("sweep-")  # seed groups share the sweep's ids
    assert rungroups.new_id("kfold").startswith("kfold-")
    assert rungroups.looks_like_group_id("kfold-20260101-000000-abcd")
    assert not rungroups.looks_like_group_id("a1b2c3")


def test_plan_argv_and_record_fields():
    members = [
        rungroups.Member("small", ["lr=0.1", "seed=3"], {"seed": 3}, "[1/2] seed=3", extra_args=["--x"]),
        rungroups.Member(None, ["seed=4"], {"seed": 4}, "[2/2] seed=4", name="n", extra_record={"note": "hi"}),
    ]
    plan = rungroups.Plan("seeds", "sweep-x", members)
    assert plan.size == 2 and plan.progress(0) == "expctl: seed group sweep-x [1/2] seed=3"
    args = plan.run_args(0)
    assert args[:8] == ["run", "-q", "--stage", "small", "-s", "lr=0.1", "-s", "seed=3"]
    assert args[-2:] == ["--", "--x"]
    meta = json.loads(args[args.index("--meta") + 1])
    assert meta["group"] == {"kind": "seeds", "id": "sweep-x", "index": 0, "size": 2, "seed": 3}
    assert "sweep" not in meta  # one record field; JSON output derives the old `sweep` from it:
    from expctl.views import clean

    assert clean({"id": "r", **meta})["sweep"] == {"id": "sweep-x", "config": {}, "varied": None, "base": {}, "seed": 3}
    second = plan.record_fields(1)
    assert second["note"] == "hi" and second["group"]["index"] == 1
    assert plan.run_args(1)[:6] == ["run", "-q", "-s", "seed=4", "--name", "n"]
    fold = rungroups.Plan("kfold", "kfold-x", [rungroups.Member(None, [], {"fold": 0, "k": 1}, "[fold 1/1]")])
    assert "sweep" not in fold.record_fields(0)


def test_membership_maps_old_fields_to_the_one_shape():
    new = {"group": {"kind": "kfold", "id": "kfold-a", "index": 1, "size": 3, "fold": 1, "k": 3}}
    old_fold = {"group": {"kind": "kfold", "id": "kfold-a", "fold": 1, "k": 3}}
    assert rungroups.membership(new) == rungroups.membership(old_fold) == new["group"]
    old_sweep = {"sweep": {"id": "sweep-b", "config": {"lr": 0.1}, "varied": "lr", "base": {"lr": 0.2}, "seed": None}}
    assert rungroups.membership(old_sweep) == {
        "kind": "sweep",
        "id": "sweep-b",
        "index": None,
        "size": None,
        "config": {"lr": 0.1},
        "varied": "lr",
        "base": {"lr": 0.2},
        "seed": None,
    }
    seeds = {"group": {"kind": "seeds", "id": "sweep-c", "index": 0, "size": 2, "seed": 0}, "sweep": {"id": "x"}}
    assert rungroups.membership(seeds)["id"] == "sweep-c"  # group wins over the alias
    assert rungroups.membership(seeds)["config"] == {} and rungroups.membership(seeds)["base"] == {}
    assert rungroups.membership({}) is None and rungroups.membership({"group": {"kind": "kfold"}}) is None
    records = [{"id": "r2", **old_fold}, {"id": "r1", **new}, {"id": "r3", **old_sweep}]
    assert [r["id"] for r in rungroups.runs_of(records, "kfold-a")] == ["r2", "r1"]
    assert rungroups.expand_refs(records, ["sweep-b", "zz", "kfold-none"]) == ["r3", "zz", "kfold-none"]


def test_lookup_newest_and_errors():
    records = [
        {"id": "a", "started": "2026-01-02", "group": {"kind": "kfold", "id": "kfold-new", "index": 0, "size": 1}},
        {"id": "b", "started": "2026-01-01", "group": {"kind": "kfold", "id": "kfold-old", "index": 0, "size": 1}},
        {"id": "c", "started": "2026-01-03", "sweep": {"id": "sweep-s", "config": {}, "base": {}}},
    ]
    texts = {"none_yet": "none", "unknown": "no group {id!r}"}
    assert rungroups.lookup(records, ("kfold",), None, **texts) == ("kfold-new", [records[0]])
    assert rungroups.lookup(records, rungroups.SWEEP_KINDS, None, **texts)[0] == "sweep-s"
    from expctl.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no group 'kfold-zz'"):
        rungroups.lookup(records, ("kfold",), "kfold-zz", **texts)
    with pytest.raises(NotFoundError, match="none"):
        rungroups.lookup(records, ("seeds",), None, **texts)


def test_recordschema_checks_both_fields():
    from expctl import recordschema

    ok = {"group": {"kind": "kfold", "id": "kfold-a", "index": 0, "size": 2, "fold": 0, "k": 2}}
    assert recordschema.problems(ok) == []
    assert recordschema.problems({"sweep": {"id": "sweep-b", "config": {}, "varied": None, "base": {}}}) == []
    assert recordschema.problems({"group": {"kind": "kfold", "id": "x", "index": "0"}}) == ["group.index"]
    assert recordschema.problems({"sweep": {"id": "x", "config": [1]}}) == ["sweep.config"]


# ------------------------------------------------------------------- real projects
def test_sweep_members_carry_the_group_field_and_read_back_like_old_records(project):
    repo = project
    new = json.loads(run_expctl(repo, "sweep", "-s", "lr=0.1,0.3", "--json", check=True).stdout)
    records = runs(repo)
    groups = sorted((r["group"] for r in records), key=lambda g: g["index"])
    assert [(g["kind"], g["id"], g["index"], g["size"]) for g in groups] == [
        ("sweep", new["sweep"], 0, 2),
        ("sweep", new["sweep"], 1, 2),
    ]
    assert [g["config"] for g in groups] == [{"lr": 0.1}, {"lr": 0.3}] and groups[1]["varied"] == "lr"
    assert {r["sweep"]["id"] for r in records} == {new["sweep"]}  # the alias readers of the old field see
    # the same sweep recorded the old way: only `sweep: {...}`, no `group`
    for lr, varied in ((0.1, None), (0.3, "lr")):
        old = {"id": "sweep-old", "config": {"lr": lr}, "varied": varied, "base": {"lr": 0.1}, "seed": None}
        meta_run(repo, {"sweep": old}, f"lr={lr}")
    old = json.loads(run_expctl(repo, "sweep", "--show", "sweep-old", "--json", check=True).stdout)
    assert old.pop("sweep") == "sweep-old" and new.pop("sweep")
    assert old == new
    table = run_expctl(repo, "sweep", "--show", "sweep-old", check=True).stdout
    assert "sweep sweep-old: 2 runs, 2 configurations" in table and "0.1: 0.6  0.3: 0.8" in table


def test_kfold_group_and_old_kfold_records_read_back_the_same(project):
    repo = project
    new = json.loads(run_expctl(repo, "kfold", "--k", "2", "--json", check=True).stdout)
    records = runs(repo)
    assert sorted((r["group"]["index"], r["group"]["size"], r["group"]["fold"]) for r in records) == [
        (0, 2, 0),
        (1, 2, 1),
    ]
    for fold in (1, 0):  # the pre-engine field, written out of order
        meta_run(
            repo, {"group": {"kind": "kfold", "id": "kfold-old", "fold": fold, "k": 2}}, "num_folds=2", f"fold={fold}"
        )
    old = json.loads(run_expctl(repo, "kfold", "--show", "kfold-old", "--json", check=True).stdout)
    assert old["id"] == "kfold-old" and [f["fold"] for f in old["folds"]] == [0, 1]
    for summary in (old, new):
        for key in ("id", "runs"):
            summary.pop(key)
        for f in summary["folds"]:
            f.pop("run")
    assert old == new
    table = run_expctl(repo, "kfold", "--show", "kfold-old", check=True).stdout
    assert "kfold kfold-old: 2 folds" in table and "0.65 ± 0.0707" in table
    # `expctl ensemble GROUP` takes the group's runs as its members, in fold order
    out = json.loads(run_expctl(repo, "ensemble", "kfold-old", "--json", check=True).stdout)
    fold_ids = [
        f["run"] for f in json.loads(run_expctl(repo, "kfold", "--show", "kfold-old", "--json").stdout)["folds"]
    ]
    assert out["ensemble"]["members"] == fold_ids


def test_run_seeds_is_a_seeds_group_that_sweep_show_lists(project):
    repo = project
    proc = run_expctl(repo, "run", "--seeds", "2", "-s", "lr=0.2", check=True)
    assert proc.stderr.count("expctl: seed group sweep-") == 2
    records = runs(repo)
    gid = records[0]["group"]["id"]
    assert sorted((r["group"]["kind"], r["group"]["index"], r["group"]["seed"]) for r in records) == [
        ("seeds", 0, 0),
        ("seeds", 1, 1),
    ]
    assert {r["sweep"]["id"] for r in records} == {gid}
    shown = json.loads(run_expctl(repo, "sweep", "--show", "last", "--json", check=True).stdout)
    assert shown["sweep"] == gid and shown["runs"] == 2 and shown["config_stats"][0]["n"] == 2
