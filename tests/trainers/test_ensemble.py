"""expctl ensemble, end to end: a fast stand-in program (no torch) for single-label ensembles and
the refusals; the bundled trainer (tiny model) for the multilabel and NER ensembles; expctl.ensemble's arithmetic
directly. expctl kfold is in test_kfold.py."""

from __future__ import annotations

import json
import math
import textwrap

import pytest
from standin import make

from expctl import ensemble
from expctl.errors import UsageError
from tests.conftest import git, run_expctl


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
    out2 = json.loads(
        run_expctl(repo, "ensemble", *ids, "--weights", "3,1", "--mode", "probs", "--json", check=True).stdout
    )
    p0 = [json.loads(line) for line in (repo / "runs" / out2["run"] / "predictions.jsonl").read_text().splitlines()][0]
    sa = 1 / (1 + math.exp(-2.0))  # member a: p(neg) on example 0
    sb = 1 / (1 + math.exp(4.0))
    assert abs(p0["probs"]["neg"] - (0.75 * sa + 0.25 * sb)) < 1e-5
    listing = run_expctl(repo, "compare", "--runs", *ids, eid, check=True).stdout
    assert eid in listing and ids[0] in listing
    bad = run_expctl(repo, "ensemble", ids[0])
    assert bad.returncode == 2 and "at least two" in bad.stderr


# ------------------------------------------------- multilabel and NER ensembles of real trainer runs
# Two members each: the bundled trainer (tiny model, a few seconds), then `expctl ensemble`;
# the ensemble's predictions are checked against a hand computation from the members' files.

TINY = [
    "-s",
    "tiny.hidden_size=32",
    "-s",
    "tiny.intermediate_size=64",
    "-s",
    "tiny.num_layers=1",
    "-s",
    "tiny.vocab_size=400",
    "-s",
    "batch_size=8",
    "-s",
    "eval_steps=0",
    "-s",
    "save_steps=0",
    "-s",
    "log_steps=50",
    "-s",
    "lr=0.005",
    "-s",
    "dropout=0.0",
    "-s",
    "warmup_ratio=0.0",
]


def builtin_task_project(repo, task):
    from trainers import synth

    run_expctl(repo, "init", "--trainer", "builtin", "--task", task, check=True)
    toml = repo / "expctl.toml"
    toml.write_text(toml.read_text().replace('OMP_NUM_THREADS = "2"', 'OMP_NUM_THREADS = "1"'))
    (repo / "data").mkdir()
    gen = synth.multilabel if task == "multilabel" else synth.ner
    synth.write_tsv(gen(120, seed=1), repo / "data" / "train.tsv", task)
    synth.write_tsv(gen(30, seed=2), repo / "data" / "dev.tsv", task)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "setup")
    return repo


def member_runs(repo, *member_settings):
    ids = []
    for extra in member_settings:
        run_expctl(repo, "run", "-q", *TINY, *[x for kv in extra for x in ("-s", kv)], check=True)
        ids.append(json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]["id"])
    return ids, [read_rows(repo, rid) for rid in ids]


def read_rows(repo, run_id):
    return [json.loads(line) for line in (repo / "runs" / run_id / "predictions.jsonl").read_text().splitlines()]


def ensemble_json(repo, *args):
    out = json.loads(run_expctl(repo, "ensemble", *args, "--json", check=True).stdout)
    return out, read_rows(repo, out["run"])


def recorded_in_compare(repo, ids, eid, metric):
    listing = json.loads(run_expctl(repo, "compare", "--runs", *ids, eid, "--format", "json", check=True).stdout)
    row = {r["run"]: r for r in listing}[eid]
    assert row["status"] == "succeeded" and row["metric"] == metric
    assert {r["run"] for r in listing} == {*ids, eid}
    return row


def test_ensemble_multilabel_exact_average_recorded_as_a_run(repo):
    from trainers.metrics import multilabel_metrics

    builtin_task_project(repo, "multilabel")
    ids, (ra, rb) = member_runs(repo, ["seed=1", "epochs=10"], ["seed=2", "epochs=8"])
    labels = list(ra[0]["probs"])
    for p in ra + rb:  # the trainer's rows: per-label logits in label order; sigmoid >= 0.5 predicts
        assert list(p["probs"]) == labels and len(p["logits"]) == len(labels)
        assert p["pred_labels"] == [lab for lab, v in zip(labels, p["logits"]) if 1 / (1 + math.exp(-v)) >= 0.5]
        assert all(abs(p["probs"][lab] - 1 / (1 + math.exp(-v))) < 1e-6 for lab, v in zip(labels, p["logits"]))

    # logits, weights 2:1 -> sigmoid -> every label >= 0.5 (averaged logit >= 0)
    out, rows = ensemble_json(repo, *ids, "--weights", "2,1")
    eid = out["run"]
    wa, wb = 2.0 / 3.0, 1.0 / 3.0
    want_pred = []
    for p, a, b in zip(rows, ra, rb):
        want = [0.0 + wa * x + wb * y for x, y in zip(a["logits"], b["logits"])]
        assert p["logits"] == want
        assert p["pred_labels"] == [lab for lab, v in zip(labels, want) if v >= 0]
        assert all(abs(p["probs"][lab] - 1 / (1 + math.exp(-v))) < 1e-6 for lab, v in zip(labels, want))
        assert (p["text"], p["labels"]) == (a["text"], a["labels"])
        want_pred.append(p["pred_labels"])
    gold = [a["labels"] for a in ra]
    assert any(want_pred)  # some labels predicted: the threshold is exercised
    metrics = {f"eval_{k}": v for k, v in multilabel_metrics(gold, want_pred, labels).items()}
    assert {k: v for k, v in out["metrics"].items() if k != "eval_loss"} == metrics
    assert json.loads((repo / "runs" / eid / "metrics.json").read_text()) == out["metrics"]
    bce = [
        sum(
            -math.log(q) if lab in g else -math.log(1 - q)
            for lab, q in ((lab, 1 / (1 + math.exp(-v))) for lab, v in zip(labels, r["logits"]))
        )
        / len(labels)
        for r, g in zip(rows, gold)
    ]
    assert abs(out["metrics"]["eval_loss"] - sum(bce) / len(bce)) < 1e-9
    spec = out["ensemble"]
    assert spec["members"] == ids and spec["task"] == "multilabel" and spec["metric"] == "eval_f1_micro"
    for rid, member in zip(ids, (ra, rb)):  # the members' own scores, from their own predictions
        own = multilabel_metrics(gold, [p["pred_labels"] for p in member], labels)["f1_micro"]
        assert spec["member_metric"][rid] == own
    row = recorded_in_compare(repo, ids, eid, "eval_f1_micro")
    assert row["value"] == metrics["eval_f1_micro"]

    # probabilities, equal weights: the average of the files' (rounded) probabilities
    out2, rows2 = ensemble_json(repo, *ids, "--mode", "probs")
    pred2 = []
    for p, a, b in zip(rows2, ra, rb):
        want = {lab: 0.0 + 0.5 * a["probs"][lab] + 0.5 * b["probs"][lab] for lab in labels}
        assert "logits" not in p and all(abs(p["probs"][lab] - want[lab]) < 1e-6 for lab in labels)
        assert p["pred_labels"] == [lab for lab in labels if want[lab] >= 0.5]
        pred2.append(p["pred_labels"])
    assert out2["metrics"]["eval_f1_micro"] == multilabel_metrics(gold, pred2, labels)["f1_micro"]
    table = run_expctl(repo, "ensemble", *ids).stdout  # the table names the task's metric
    assert "f1_micro" in table and "ensemble (logits)" in table


def test_ensemble_ner_exact_word_average_recorded_as_a_run(repo):
    from trainers.metrics import ner_metrics

    builtin_task_project(repo, "ner")
    # member a cuts sentences at 8 words (max_seq_length 10 with [CLS] and [SEP]): its later words are null
    ids, (ra, rb) = member_runs(repo, ["seed=1", "epochs=2", "max_seq_length=10"], ["seed=2", "epochs=1"])
    tags = ra[0]["tag_names"]
    assert set(tags) == {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"}
    for p in ra + rb:  # the trainer's rows: one score row per word (its first sub-token), null when cut off
        assert p["tag_names"] == tags and len(p["word_logits"]) == len(p["tokens"])
        assert p["pred_tags"] == ["O" if w is None else tags[w.index(max(w))] for w in p["word_logits"]]
    assert any(w is None for p in ra for w in p["word_logits"])
    assert all(w is not None for p in rb for w in p["word_logits"])

    def softmax(row):
        m = max(row)
        e = [math.exp(v - m) for v in row]
        return [v / sum(e) for v in e]

    # logits, weights 3:1; a word one member did not score is the other member's alone
    out, rows = ensemble_json(repo, *ids, "--weights", "3,1")
    eid = out["run"]
    want_pred, alone = [], 0
    for p, a, b in zip(rows, ra, rb):
        assert (p["tokens"], p["tags"], p["tag_names"]) == (a["tokens"], a["tags"], tags)
        sent = []
        for j, (wa, wb) in enumerate(zip(a["word_logits"], b["word_logits"])):
            present = [(w, s) for w, s in ((3.0, wa), (1.0, wb)) if s is not None]
            total = sum(w for w, _ in present)
            want = [0.0] * len(tags)
            for w, s in present:
                want = [x + (w / total) * v for x, v in zip(want, s)]
            alone += len(present) == 1
            assert p["word_logits"][j] == want
            sent.append(tags[want.index(max(want))])
        assert p["pred_tags"] == sent
        want_pred.append(sent)
    assert alone > 0
    gold = [a["tags"] for a in ra]
    metrics = {f"eval_{k}": v for k, v in ner_metrics(gold, want_pred).items()}
    assert {k: v for k, v in out["metrics"].items() if k != "eval_loss"} == metrics
    assert json.loads((repo / "runs" / eid / "metrics.json").read_text()) == out["metrics"]
    spec = out["ensemble"]
    assert spec["members"] == ids and spec["task"] == "ner" and spec["metric"] == "eval_entity_f1"
    assert spec["weights"] == [0.75, 0.25]
    for rid, member in zip(ids, (ra, rb)):
        assert spec["member_metric"][rid] == ner_metrics(gold, [p["pred_tags"] for p in member])["entity_f1"]
    row = recorded_in_compare(repo, ids, eid, "eval_entity_f1")
    assert row["value"] == metrics["eval_entity_f1"]

    # probabilities, equal weights: the average of the members' per-word softmax
    out2, rows2 = ensemble_json(repo, *ids, "--mode", "probs")
    pred2 = []
    for p, a, b in zip(rows2, ra, rb):
        sent = []
        for j, (wa, wb) in enumerate(zip(a["word_logits"], b["word_logits"])):
            present = [softmax(s) for s in (wa, wb) if s is not None]
            want = [sum(col) / len(present) for col in zip(*present)]
            assert all(abs(x - y) < 1e-6 for x, y in zip(p["word_probs"][j], want))
            sent.append(tags[want.index(max(want))])
        assert "word_logits" not in p and p["pred_tags"] == sent
        pred2.append(sent)
    assert out2["metrics"]["eval_entity_f1"] == ner_metrics(gold, pred2)["entity_f1"]

    # a file the members did not predict: each member's checkpoints/best predicts it (eval-only trainer)
    from trainers import synth

    test_rows = synth.ner(12, seed=3)
    synth.write_tsv(test_rows, repo / "data" / "test.tsv", "ner")
    out3, rows3 = ensemble_json(repo, *ids, "--eval-file", "data/test.tsv")
    assert out3["ensemble"]["sources"] == ["checkpoints/best", "checkpoints/best"]
    assert [p["tokens"] for p in rows3] == [r["tokens"] for r in test_rows]
    assert all(len(p["word_logits"]) == len(p["tokens"]) for p in rows3)
    assert (
        out3["metrics"]["eval_entity_f1"]
        == ner_metrics([r["tags"] for r in test_rows], [p["pred_tags"] for p in rows3])["entity_f1"]
    )


# a stand-in that writes the prediction rows it is given (no torch): mixed tasks, old files, tag sets
ROWS_PROGRAM = textwrap.dedent("""
    import json, os
    from expctl import track
    s = track.settings()
    rows = json.loads(s["rows"]) if isinstance(s["rows"], str) else s["rows"]
    with open(os.path.join(os.environ["EXPCTL_RUN_DIR"], "predictions.jsonl"), "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\\n")
    track.log_metrics(step=1, eval_accuracy=0.5)
""")

ML_ROW = {
    "index": 0,
    "text": "t0",
    "labels": ["a"],
    "pred_labels": ["a"],
    "probs": {"a": 0.7, "b": 0.2},
    "logits": [0.8473, -1.3863],
}
NER_ROW = {
    "index": 0,
    "tokens": ["bob", "runs"],
    "tags": ["B-PER", "O"],
    "pred_tags": ["B-PER", "O"],
    "tag_names": ["O", "B-PER", "I-PER"],
    "word_logits": [[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]],
}
SINGLE_ROW = {
    "index": 0,
    "text": "t0",
    "text_pair": None,
    "label": "pos",
    "pred": "pos",
    "probs": {"neg": 0.3, "pos": 0.7},
    "logits": [0.0, 0.8473],
}


def test_ensemble_refuses_mixed_tasks_old_files_and_other_tag_sets(repo):
    (repo / "train.py").write_text(ROWS_PROGRAM)
    (repo / "expctl.toml").write_text(
        '[project]\ncommand = "python3 train.py"\nprimary_metric = "eval_accuracy"\n'
        '\n[settings]\nrows = ""\neval_file = "data/dev.tsv"\n'
    )
    run_expctl(repo, "init", check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")

    def run_with(*rows):
        run_expctl(repo, "run", "-q", "-s", f"rows={json.dumps(list(rows))}", check=True)
        return json.loads(run_expctl(repo, "runs", "--json", check=True).stdout)[0]["id"]

    def refused(*ids, args=()):
        out = run_expctl(repo, "ensemble", *ids, *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, out.stderr
        return lines[0]

    ml, ner, single = run_with(ML_ROW), run_with(NER_ROW), run_with(SINGLE_ROW)
    msg = refused(ml, ner)
    assert "multilabel run" in msg and "ner run" in msg and "one task" in msg
    assert "one task" in refused(single, ml) and "classification/pair" in refused(single, ner)
    # older prediction files: no per-word / per-label scores
    old_ner = run_with({k: v for k, v in NER_ROW.items() if k not in ("tag_names", "word_logits")})
    msg = refused(ner, old_ner)
    assert "word_logits" in msg and "re-run" in msg and "checkpoints/best" in msg
    old_ml = run_with({k: v for k, v in ML_ROW.items() if k != "logits"})
    msg = refused(ml, old_ml)
    assert "logits" in msg and "--mode probs" in msg
    out = json.loads(run_expctl(repo, "ensemble", ml, old_ml, "--mode", "probs", "--json", check=True).stdout)
    assert abs(out["metrics"]["eval_f1_micro"] - 1.0) < 1e-12  # both predict {a}; gold {a}
    # other tag / label sets
    other = run_with({**NER_ROW, "tag_names": ["O", "B-LOC", "I-LOC"]})
    assert "different tag sets" in refused(ner, other)
    other_ml = run_with({**ML_ROW, "probs": {"a": 0.7, "c": 0.2}})
    assert "different label sets" in refused(ml, other_ml)


# expctl.ensemble's arithmetic directly: label alignment, weights, activations, words a member cut off
def test_combine_aligns_labels_and_normalises_weights():
    a = (["neg", "pos"], [[0.0, 2.0], [1.0, 1.0]])
    b = (["pos", "neg"], [[0.0, 2.0], [3.0, 1.0]])  # the other label order
    labels, avg, probs = ensemble.combine([a, b], [1, 3], "logits")
    assert labels == ["neg", "pos"]
    assert avg == [[1.5, 0.5], [1.0, 2.5]]
    assert abs(probs[0][0] - 1 / (1 + math.exp(-1.0))) < 1e-12 and abs(sum(probs[1]) - 1) < 1e-12
    _, avg_p, probs_p = ensemble.combine([a, b], [1, 1], "probs")
    assert probs_p == avg_p == [[1.0, 1.0], [1.0, 2.0]]
    _, _, sig = ensemble.combine([(["x"], [[0.0]])], [2], "logits", activation="sigmoid")
    assert sig == [[0.5]]
    with pytest.raises(UsageError, match="different label sets"):
        ensemble.combine([a, (["neg", "other"], [[0, 0], [0, 0]])], [1, 1], "logits")
    with pytest.raises(UsageError, match="must sum to a positive number"):
        ensemble.combine([a, b], [1, -1], "logits")


def test_combine_words_averages_over_members_that_scored_the_word():
    a = (["O", "B-PER"], [[[0.0, 2.0], None, None]])
    b = (["B-PER", "O"], [[[0.0, 2.0], [4.0, 0.0]]])  # scored one word fewer, and not the third
    tags, avg, probs = ensemble.combine_words([a, b], [1, 1], "logits")
    assert tags == ["O", "B-PER"] and avg == [[[1.0, 1.0], [0.0, 4.0], None]]
    assert probs[0][0] == [0.5, 0.5] and probs[0][2] is None
    with pytest.raises(UsageError, match="different tag sets"):
        ensemble.combine_words([a, (["O"], [[[0.0]]])], [1, 1], "logits")


def test_rows_task_by_fields():
    assert ensemble.rows_task([{"pred_tags": []}], "r") == "ner"
    assert ensemble.rows_task([{"pred_labels": []}], "r") == "multilabel"
    assert ensemble.rows_task([{"probs": {"a": 1.0}, "pred": "a"}], "r") == "single"
    with pytest.raises(UsageError, match="run r: predictions.jsonl is empty"):
        ensemble.rows_task([], "r")
    with pytest.raises(UsageError, match="has no `probs`, `pred_labels` or `pred_tags`"):
        ensemble.rows_task([{"pred": "a"}], "r")
