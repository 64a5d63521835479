"""Stage subsets for any program (issue 20, point 3): `[data.inputs]` + `{data.train}`: a real
argparse script that knows nothing of expctl is fed exactly 200 stratified lines at smoke."""

from __future__ import annotations

import json
import random
from collections import Counter

from tests.conftest import commit_project

PROGRAM = """\
import argparse, collections, json, os

parser = argparse.ArgumentParser(description="a third-party training script")
parser.add_argument("--train", required=True)
parser.add_argument("--dev", required=True)
args = parser.parse_args()
lines = open(args.train, encoding="utf-8").read().splitlines()
header, rows = lines[0], lines[1:]
labels = collections.Counter(r.split("\\t")[1] for r in rows)
print(f"read {len(rows)} training rows from {args.train}; header {header!r}; env {os.environ['EXPCTL_DATA_TRAIN']}")
with open(os.environ["EXPCTL_METRICS"], "a") as fh:
    fh.write(json.dumps({"step": 1, "train_loss": 0.5, "train_rows": len(rows)}) + "\\n")
    fh.write(json.dumps({"step": 1, "eval_accuracy": 0.5, "dev_rows": len(open(args.dev).read().splitlines()) - 1}) + "\\n")
"""

CONFIG = """\
[project]
name = "wrapped"
command = "python3 train.py --train {data.train} --dev {data.dev}"
pass_settings = "none"
primary_metric = "eval_accuracy"

[settings]
seed = 42
max_train_samples = 0
max_eval_samples = 0

[data]
task = "classification"

[data.inputs]
train = "corpus/train.tsv"
dev = { path = "corpus/dev.tsv", limit = "max_eval_samples" }

[stages.smoke]
check = "metrics"
[stages.smoke.settings]
max_train_samples = 200
max_eval_samples = 50

[stages.full]
check = "metrics"
"""


def _corpus(repo, n, name, seed):
    rng = random.Random(seed)
    rows = [
        (
            f"sentence {name} {i} " + " ".join(rng.choice("abcdefg") for _ in range(5)),
            rng.choices(["pos", "neg", "neu"], weights=[6, 3, 1])[0],
        )
        for i in range(n)
    ]
    rows.sort(key=lambda r: r[1])  # sorted by label: a head-of-file subset would see one class
    path = repo / "corpus" / f"{name}.tsv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows), encoding="utf-8")
    return rows


def test_argparse_program_fed_a_stratified_stage_subset(repo, expctl):
    rows = _corpus(repo, 2000, "train", 0)
    _corpus(repo, 300, "dev", 1)
    commit_project(repo, PROGRAM, CONFIG)
    out = expctl(repo, "run", "--stage", "smoke")
    assert out.returncode == 0, out.stderr + out.stdout
    record = json.loads(expctl(repo, "show", "--json", check=True).stdout)
    run_dir = repo / "runs" / record["id"]
    subset = run_dir / "data" / "train.tsv"
    lines = subset.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence\tlabel"  # the header kept
    body = lines[1:]
    assert len(body) == 200
    assert f"read 200 training rows from runs/{record['id']}/data/train.tsv" in out.stdout
    assert f"env runs/{record['id']}/data/train.tsv" in out.stdout
    # stratified: each label's share within one row of the file's
    full = Counter(lab for _, lab in rows)
    got = Counter(line.split("\t")[1] for line in body)
    assert all(abs(got[lab] - 200 * n / len(rows)) <= 1 for lab, n in full.items())
    assert set(body) <= {f"{t}\t{lab}" for t, lab in rows}  # real rows, unchanged
    inp = record["data_inputs"]["train"]
    assert inp["units"] == 200 and inp["labels"] == dict(sorted(got.items()))
    assert inp["source"] == "corpus/train.tsv" and inp["fingerprint"].startswith("blake2b:")
    assert "corpus/train.tsv" in record["data"]  # the source's own fingerprint
    assert record["data_inputs"]["dev"]["units"] == 50
    assert record["metrics"]["final"]["train_rows"] == 200
    shown = expctl(repo, "show", check=True).stdout
    assert (
        f"{{data.train}} = runs/{record['id']}/data/train.tsv: 200 of corpus/train.tsv (max_train_samples=200" in shown
    )
    # same seed, same subset: a second smoke run reads the same lines
    again = expctl(repo, "run", "--stage", "smoke", check=True)
    second = json.loads(expctl(repo, "show", "--json", check=True).stdout)
    assert second["data_inputs"]["train"]["fingerprint"] == inp["fingerprint"], again.stderr
    # a reproduction draws the same subset (same seed) and passes the same arguments
    rep = expctl(repo, "reproduce", record["id"], check=True)
    assert f"reproduced run {record['id']}" in rep.stderr and "NOT reproduced" not in rep.stderr
    (redone,) = [
        r for r in json.loads(expctl(repo, "runs", "--json", check=True).stdout) if r.get("reproduces") == record["id"]
    ]
    redone = json.loads(expctl(repo, "show", redone["id"], "--json", check=True).stdout)
    assert redone["data_inputs"]["train"]["fingerprint"] == inp["fingerprint"]
    assert redone["metrics"]["final"]["train_rows"] == 200
    # no limit at full: the program reads the file itself
    expctl(repo, "run", "--stage", "full", "--force", check=True)
    full_rec = json.loads(expctl(repo, "show", "--json", check=True).stdout)
    assert full_rec["data_inputs"]["train"]["path"] == "corpus/train.tsv"
    assert "train_rows" in full_rec["metrics"]["final"] and full_rec["metrics"]["final"]["train_rows"] == 2000


def test_unknown_input_placeholder_and_missing_file_are_refused(repo, expctl):
    _corpus(repo, 50, "train", 0)
    _corpus(repo, 20, "dev", 1)
    commit_project(repo, PROGRAM, CONFIG.replace("{data.dev}", "{data.valid}"))
    out = expctl(repo, "run", "--stage", "smoke")
    assert out.returncode != 0 and "no input 'valid' (inputs: dev, train)" in out.stderr
    assert "Traceback" not in out.stderr
    (repo / "expctl.toml").write_text(CONFIG.replace("corpus/dev.tsv", "corpus/nope.tsv"))
    out = expctl(repo, "run", "--stage", "smoke")
    assert out.returncode != 0 and "data.inputs.dev: no such file: corpus/nope.tsv" in out.stderr
    assert expctl(repo, "runs", "--json", check=True).stdout.strip() in ("[]", "")
    (repo / "expctl.toml").write_text(CONFIG.replace('limit = "max_eval_samples"', 'limt = "x"'))
    out = expctl(repo, "run", "--stage", "smoke")
    assert out.returncode != 0 and "unknown key 'limt'" in out.stderr and "did you mean" in out.stderr.lower()
