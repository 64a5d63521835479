"""The whole strategy workflow against a real bare remote."""

from __future__ import annotations

import json

from tests.conftest import git, run_expctl
from tests.strategy.conftest import commit_file


def cj(repo, *args):
    return json.loads(run_expctl(repo, "compare", *args, "--format", "json", check=True).stdout)


def all_refs(repo):
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)").stdout


def test_tag_explore_promote_abandon_compare_diff_push_pull(sproject, tmp_path):
    repo = sproject
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))

    # baseline on the main line
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.80", check=True)
    tag = run_expctl(repo, "tag", "baseline", check=True)
    assert "tagged baseline" in tag.stderr
    msg = git(repo, "cat-file", "-p", "refs/tags/baseline").stdout
    runs = json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)
    assert f"expctl-run: {runs[0]['id']}" in msg and "expctl-stage: small" in msg
    assert '"eval_accuracy": 0.8' in msg and "expctl-settings:" in msg

    # exploration: R-Drop wins with alpha=4
    run_expctl(repo, "explore", "rdrop", check=True)
    assert git(repo, "symbolic-ref", "--short", "HEAD").stdout.strip() == "explore/rdrop"
    refused = run_expctl(repo, "tag", "nope")
    assert refused.returncode == 7 and "expctl promote rdrop" in refused.stderr
    commit_file(repo, "rdrop.py", "ALPHA = 4\n", "add rdrop")
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.83", "-s", "alpha=1", check=True)
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.85", "-s", "alpha=4", check=True)
    out = run_expctl(repo, "promote", "rdrop", "--tag", "best-rdrop", check=True)
    assert "tagged best-rdrop" in out.stderr and "eval_accuracy=0.85" in out.stderr
    assert git(repo, "symbolic-ref", "--short", "HEAD").stdout.strip() == "main"
    assert (repo / "rdrop.py").exists()

    # exploration: FGM loses, abandoned
    run_expctl(repo, "explore", "fgm", check=True)
    commit_file(repo, "fgm.py", "EPS = 1\n", "add fgm")
    run_expctl(repo, "run", "--stage", "small", "-s", "acc=0.79", "-s", "alpha=4", check=True)
    out = run_expctl(repo, "abandon", "fgm", "--why", "worse than best-rdrop by 6 points", check=True)
    assert "switched back to main" in out.stderr
    assert git(repo, "rev-parse", "--verify", "-q", "refs/heads/explore/fgm").returncode == 0  # branch kept

    rows = cj(repo)
    by = {r["strategy"]: r for r in rows}
    assert [r["strategy"] for r in rows] == ["baseline", "best-rdrop", "rdrop", "fgm"]
    assert by["baseline"]["value"] == 0.80 and by["baseline"]["baseline"]
    assert by["best-rdrop"]["value"] == 0.85 and by["best-rdrop"]["best"]
    assert by["rdrop"]["value"] == 0.85 and by["rdrop"]["status"] == "promoted"
    assert by["fgm"]["value"] == 0.79 and by["fgm"]["status"] == "abandoned"
    assert round(by["best-rdrop"]["delta"], 6) == 0.05
    # only the differing settings: acc and alpha (lr, seed, note are the same everywhere)
    assert set(by["baseline"]["settings"]) == {"acc", "alpha"}
    table = run_expctl(repo, "compare", check=True).stdout
    header = table.splitlines()[0]
    assert "acc" in header and "alpha" in header and " lr " not in header and "note" not in header
    strategies_out = run_expctl(repo, "strategies", check=True).stdout
    assert "abandoned" in strategies_out and "promoted" in strategies_out and "worse than best-rdrop" in strategies_out

    # runs --strategy: a tag means the runs at its code, an exploration its branch's runs
    def run_accs(*args):
        return sorted(
            r["settings"]["acc"] for r in json.loads(run_expctl(repo, "runs", "--json", *args, check=True).stdout)
        )

    assert run_accs("--strategy", "baseline") == [0.80]
    assert run_accs("--strategy", "best-rdrop") == [0.85]  # its code AND settings (acc=0.83 ran other settings)
    assert run_accs("--strategy", "rdrop") == [0.83, 0.85]
    assert run_accs("--strategy", "explore/fgm") == [0.79]  # a branch name still works
    assert run_accs("--strategy", "nothing-by-this-name") == []
    # compare --runs shows seed when it differs, and --columns takes any setting or final metric
    rows = json.loads(
        run_expctl(repo, "compare", "--runs", "--columns", "acc,lr,eval_f1", "--format", "json", check=True).stdout
    )
    assert {round(r["metrics"]["eval_f1"], 6) for r in rows} == {0.75, 0.78, 0.8, 0.74}
    assert {r["settings"]["lr"] for r in rows} == {0.001}
    bad = run_expctl(repo, "compare", "--columns", "nope")
    assert bad.returncode == 2 and "unknown column(s) nope" in bad.stderr and "Traceback" not in bad.stderr

    # diff names exactly the changed settings and files
    d = json.loads(run_expctl(repo, "diff", "baseline", "best-rdrop", "--json", check=True).stdout)
    assert (
        set(d["settings"]["changed"]) == {"acc", "alpha"}
        and not d["settings"]["added"]
        and not d["settings"]["removed"]
    )
    assert d["code"]["files"] == ["rdrop.py"]
    assert round(d["metrics"]["eval_accuracy"]["delta"], 6) == 0.05
    text = run_expctl(repo, "diff", "baseline", "best-rdrop", "--patch", check=True).stdout
    assert "~ alpha: 0 -> 4" in text and "+ALPHA = 4" in text

    # push, clone elsewhere, pull: the same table
    before = cj(repo)
    run_expctl(repo, "push", check=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    run_expctl(clone, "pull", check=True)
    assert cj(clone) == before
    assert run_expctl(clone, "compare", check=True).stdout == run_expctl(repo, "compare", check=True).stdout
    # records survive in the clone without any runs/ folder
    assert len(json.loads(run_expctl(clone, "runs", "--json", check=True).stdout)) == 4
    assert git(repo, "fsck", "--strict").returncode == 0


def test_promote_conflict_changes_nothing(sproject):
    repo = sproject
    commit_file(repo, "model.py", "x = 1\n", "model")
    run_expctl(repo, "run", check=True)
    run_expctl(repo, "explore", "wide", check=True)
    commit_file(repo, "model.py", "x = 2  # wide\n", "wide model")
    run_expctl(repo, "run", "-s", "acc=0.9", check=True)
    git(repo, "switch", "-q", "main")
    commit_file(repo, "model.py", "x = 3  # main moved on\n", "main change")
    git(repo, "switch", "-q", "explore/wide")
    (repo / "scratch.txt").write_text("untracked stays\n")

    def state():
        return (
            git(repo, "rev-parse", "HEAD").stdout,
            git(repo, "symbolic-ref", "HEAD").stdout,
            (repo / ".git" / "index").read_bytes(),
            (repo / "model.py").read_text(),
            (repo / "scratch.txt").read_text(),
            all_refs(repo),
            git(repo, "status", "--porcelain").stdout,
        )

    before = state()
    proc = run_expctl(repo, "promote", "wide")
    assert proc.returncode == 5 and "conflicts in model.py" in proc.stderr and "nothing was changed" in proc.stderr
    assert state() == before
    assert not (repo / ".git" / "MERGE_HEAD").exists()


def test_records_survive_rebase_and_squash(sproject):
    repo = sproject
    run_expctl(repo, "explore", "sq", check=True)
    commit_file(repo, "a.py", "a = 1\n", "a")
    run_expctl(repo, "run", "-s", "acc=0.81", check=True)
    commit_file(repo, "b.py", "b = 1\n", "b")
    run_expctl(repo, "run", "-s", "acc=0.82", check=True)
    # squash-merge by hand into main and delete the branch: runs still attributed, code kept
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "--squash", "explore/sq")
    git(repo, "commit", "-qm", "squashed")
    git(repo, "branch", "-D", "explore/sq")
    git(repo, "gc", "-q", "--prune=now")
    rows = cj(repo)
    assert [r["strategy"] for r in rows] == ["sq"] and rows[0]["value"] == 0.82
    for r in json.loads(run_expctl(repo, "runs", "--json", check=True).stdout):
        assert git(repo, "cat-file", "-e", r["code"]["commit"]).returncode == 0


def test_seed_groups_and_noise(sproject):
    repo = sproject
    for seed in (1, 2, 3):
        run_expctl(repo, "run", "-s", "acc=0.80", "-s", f"seed={seed}", check=True)
    run_expctl(repo, "tag", "base3", check=True)
    run_expctl(repo, "explore", "tiny-gain", check=True)
    commit_file(repo, "t.py", "t = 1\n", "t")
    for seed in (1, 2, 3):
        run_expctl(repo, "run", "-s", "acc=0.8005", "-s", f"seed={seed}", check=True)
    run_expctl(repo, "explore", "big-gain", "--from", "base3", check=True)
    commit_file(repo, "u.py", "u = 1\n", "u")
    for seed in (1, 2, 3):
        run_expctl(repo, "run", "-s", "acc=0.85", "-s", f"seed={seed}", check=True)
    rows = {r["strategy"]: r for r in cj(repo)}
    assert (
        rows["base3"]["n"] == 3
        and abs(rows["base3"]["value"] - 0.802) < 1e-9
        and abs(rows["base3"]["std"] - 0.001) < 1e-9
    )
    assert rows["tiny-gain"]["within_noise"] is True
    assert rows["big-gain"]["within_noise"] is False
    table = run_expctl(repo, "compare", check=True).stdout
    assert "± 0.001 (n=3)" in table and "~noise" in table


def test_tag_refusals(sproject):
    repo = sproject
    assert run_expctl(repo, "tag", "x").returncode == 4  # no run yet
    run_expctl(repo, "run", "-s", "acc=0.8", check=True)
    for bad in ("bad..name", "-x", "a b", "x.lock", "a~b", "a:b", "a^b", "a\\x"):
        proc = run_expctl(repo, "tag", "--", bad)
        assert proc.returncode == 2 and "invalid tag name" in proc.stderr, bad
    run_expctl(repo, "tag", "ok", check=True)
    assert run_expctl(repo, "tag", "ok").returncode == 7
    assert run_expctl(repo, "tag", "ok", "--force").returncode == 0
    toml = (repo / "expctl.toml").read_text().replace('command = "python3 train.py"', 'command = "false"')
    (repo / "expctl.toml").write_text(toml)
    run_expctl(repo, "run")
    failed = json.loads(run_expctl(repo, "runs", "--status", "failed", "--json").stdout)[0]["id"]
    proc = run_expctl(repo, "tag", "f", failed)
    assert proc.returncode == 7 and "failed" in proc.stderr


def test_tag_dirty_run_points_at_snapshot(sproject):
    repo = sproject
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# dirty\n")
    run_expctl(repo, "run", check=True)
    proc = run_expctl(repo, "tag", "dirty-one", check=True)
    assert "snapshot" in proc.stderr
    rec = json.loads(run_expctl(repo, "runs", "--json").stdout)[0]
    assert git(repo, "rev-parse", "dirty-one^{commit}").stdout.strip() == rec["code"]["commit"]
    assert "# dirty" in git(repo, "show", "dirty-one:train.py").stdout
