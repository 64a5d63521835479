"""Ensembles of runs: averaged predictions of several runs, recorded as a run of its own.

:func:`ensemble` averages the logits (or probabilities) of any set of runs of one task on
one dev / test file - different models welcome; a run group's id (:mod:`expctl.rungroups`,
e.g. a k-fold group) stands for its member runs - and records the ensemble as a run of its
own (``ensemble: {members, mode, weights, eval_file}``) with ``metrics.json`` and
``predictions.jsonl`` computed by the trainer's own metric code. Classification / pair:
softmax over the averaged ``logits`` (or averaged ``probs``), argmax; multilabel: sigmoid of
the averaged per-label ``logits`` (or averaged ``probs``), every label >= 0.5; ner: per
word, softmax of the averaged ``word_logits`` (the word's first sub-token, ``tag_names``
order), argmax. Members' predictions come from their ``predictions.jsonl``; for a file a
member did not predict, its ``checkpoints/best`` predicts it (``python -m trainers.text
--do_train false``).

No torch here: predicting a file runs the trainer in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from expctl import rungroups
from expctl.errors import NotFoundError, UsageError
from expctl.record import Record
from expctl.refs import resolve_run


# ---------------------------------------------------------------------------- ensemble
def _softmax(row: list[float]) -> list[float]:
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = sum(e)
    return [v / s for v in e]


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


#: A multilabel prediction is every label whose probability is at least this (the trainer's rule).
MULTILABEL_THRESHOLD = 0.5
#: The kinds of prediction rows (see :func:`rows_task`), as messages name them.
TASK_NAMES = {"single": "classification/pair", "multilabel": "multilabel", "ner": "ner"}
_REPREDICT = "give --eval-file FILE (a file other than its own eval_file) to predict FILE with its checkpoints/best"


def _load_predictions(store, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    data = store.read_file(record, "predictions.jsonl")
    if data is None:
        return None
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def _same_file(a: str | None, b: str | None, root: Path) -> bool:
    if not a or not b:
        return False
    pa = Path(a) if os.path.isabs(a) else root / a
    pb = Path(b) if os.path.isabs(b) else root / b
    try:
        return pa.resolve() == pb.resolve()
    except OSError:
        return False


def predict_with_checkpoint(root: Path, record: dict[str, Any], run_dir: Path, eval_file: str) -> list[dict]:
    """Predict ``eval_file`` with a member's ``checkpoints/best`` (the bundled trainer, eval only)."""
    from trainers import api as TS  # torch-free

    best = Record(record).checkpoints.get("best")
    folder = run_dir / best if best and not os.path.isabs(best) else Path(best) if best else None
    if folder is None or not folder.is_dir():
        raise NotFoundError(
            f"run {record['id']} did not predict {eval_file} and has no checkpoints/best on this "
            f"machine to predict it with"
        )
    known = TS.flatten(TS.DEFAULTS)
    mine = {k: v for k, v in TS.flatten(Record(record).settings).items() if k in known and not k.startswith("tricks")}
    settings: dict[str, Any] = {}
    for k, v in mine.items():
        TS.set_dotted(settings, k, v)
    settings.update(
        {
            "do_train": False,
            "init_from": str(folder),
            "eval_file": eval_file,
            "num_folds": 0,
            "fold": 0,
            "max_eval_samples": 0,
            "save_steps": 0,
            "resume": "no",
            "debug_stop_after_step": 0,
        }
    )
    settings.setdefault("distill_data", {})["teacher"] = ""
    if settings.get("batch_size") == "auto":
        settings["batch_size"] = 32
    tmp = Path(tempfile.mkdtemp(prefix="expctl-ensemble-"))
    try:
        (tmp / "settings.json").write_text(json.dumps(settings))
        env = dict(os.environ)
        env.update(
            {
                "EXPCTL_SETTINGS": str(tmp / "settings.json"),
                "EXPCTL_RUN_DIR": str(tmp / "out"),
                "EXPCTL_METRICS": str(tmp / "out" / "metrics.jsonl"),
                "EXPCTL_PROJECT_ROOT": str(root),
            }
        )
        env.pop("EXPCTL_RUN_ID", None)
        proc = subprocess.run(
            [sys.executable, "-m", "trainers.text"], cwd=root, env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise UsageError(
                f"predicting {eval_file} with run {record['id']}'s checkpoint failed: "
                f"{lines[-1] if lines else proc.returncode}"
            )
        text = (tmp / "out" / "predictions.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rows_task(preds: list[dict], run_id: str) -> str:
    """``single`` (classification / pair), ``multilabel`` or ``ner``, from the prediction rows' fields."""
    if not preds:
        raise UsageError(f"run {run_id}: predictions.jsonl is empty")
    first = preds[0]
    if "pred_tags" in first:
        return "ner"
    if "pred_labels" in first:
        return "multilabel"
    if isinstance(first.get("probs"), dict) and "pred" in first:
        return "single"
    raise UsageError(
        f"run {run_id}: predictions.jsonl has no `probs`, `pred_labels` or `pred_tags`: ensembles "
        f"need classification, pair, multilabel or ner runs"
    )


def _member_scores(preds: list[dict], mode: str, run_id: str) -> tuple[list[str], list[list[float]]]:
    """(label names in order, one score row per example): logits or probabilities."""
    if not preds:
        raise UsageError(f"run {run_id}: predictions.jsonl is empty")
    first = preds[0]
    if not isinstance(first.get("probs"), dict) or "pred" not in first:
        raise UsageError(
            f"run {run_id}: predictions.jsonl has no single-label `probs`: ensembles need classification or pair runs"
        )
    labels = list(first["probs"])
    rows = []
    for p in preds:
        if mode == "logits":
            if "logits" not in p:
                raise UsageError(
                    f"run {run_id}: predictions.jsonl has no `logits` (an older trainer?); use --mode probs"
                )
            rows.append([float(v) for v in p["logits"]])
        else:
            rows.append([float(p["probs"][lab]) for lab in labels])
    return labels, rows


def _multilabel_scores(preds: list[dict], mode: str, run_id: str) -> tuple[list[str], list[list[float]]]:
    """(label names in order, one row per example): per-label logits or sigmoid probabilities."""
    first = preds[0]
    if not isinstance(first.get("probs"), dict):
        raise UsageError(f"run {run_id}: predictions.jsonl has no per-label `probs`")
    labels = list(first["probs"])
    rows = []
    for p in preds:
        if mode == "logits":
            if not isinstance(p.get("logits"), list):
                raise UsageError(
                    f"run {run_id}: predictions.jsonl has no per-label `logits` (an older trainer, or "
                    f"an ensemble made with --mode probs): use --mode probs, re-run it, or {_REPREDICT}"
                )
            rows.append([float(v) for v in p["logits"]])
        else:
            if not isinstance(p.get("probs"), dict) or set(p["probs"]) != set(labels):
                raise UsageError(f"run {run_id}: example {p.get('index')} has `probs` for other labels than {labels}")
            rows.append([float(p["probs"][lab]) for lab in labels])
        if len(rows[-1]) != len(labels):
            raise UsageError(
                f"run {run_id}: example {p.get('index')} has {len(rows[-1])} scores for {len(labels)} labels"
            )
    return labels, rows


def _ner_scores(preds: list[dict], mode: str, run_id: str) -> tuple[list[str], list[list[list[float] | None]]]:
    """(tag names in order, per example one row per word): the word's logits or softmax
    probabilities; None for a word the member did not score (cut off by max_seq_length)."""
    first = preds[0]
    if not isinstance(first.get("tag_names"), list) or not ({"word_logits", "word_probs"} & set(first)):
        raise UsageError(
            f"run {run_id}: predictions.jsonl has no per-word scores (`tag_names`, `word_logits`; "
            f"an older trainer wrote it): re-run it, or {_REPREDICT}"
        )
    if mode == "logits" and "word_logits" not in first:
        raise UsageError(
            f"run {run_id}: predictions.jsonl has per-word probabilities only (`word_probs`, an "
            f"ensemble made with --mode probs): use --mode probs"
        )
    probs_given = mode == "probs" and "word_probs" in first  # an ensemble made with --mode probs
    key = "word_probs" if probs_given else "word_logits"
    tags = list(first["tag_names"])
    out = []
    for p in preds:
        if list(p.get("tag_names") or []) != tags or not isinstance(p.get(key), list):
            raise UsageError(f"run {run_id}: example {p.get('index')} has no `{key}` in the tag order of the others")
        words = []
        for w in p[key]:
            if w is None:
                words.append(None)
                continue
            if len(w) != len(tags):
                raise UsageError(f"run {run_id}: example {p.get('index')} has {len(w)} scores for {len(tags)} tags")
            row = [float(v) for v in w]
            words.append(_softmax(row) if mode == "probs" and not probs_given else row)
        words = (words + [None] * len(p.get("tokens") or []))[: len(p.get("tokens") or [])]
        out.append(words)
    return tags, out


def _check_label_sets(members: list[tuple[list[str], Any]], what: str = "label") -> list[str]:
    labels = members[0][0]
    for lab, _ in members[1:]:
        if set(lab) != set(labels) or len(lab) != len(labels):
            raise UsageError(f"members predict different {what} sets: {sorted(labels)} vs {sorted(lab)}")
    return labels


def combine(
    members: list[tuple[list[str], list[list[float]]]], weights: list[float], mode: str, activation: str = "softmax"
) -> tuple[list[str], list[list[float]], list[list[float]]]:
    """Weighted average of the members' rows, aligned on label names.

    Returns (labels, averaged scores, probabilities): with ``mode="logits"`` the averaged
    logits go through a softmax (``activation="sigmoid"``: one sigmoid per label, multilabel);
    with ``"probs"`` the averaged probabilities are the output.
    """
    labels = members[0][0]
    for lab, _ in members[1:]:
        if set(lab) != set(labels):
            raise UsageError(f"members predict different label sets: {sorted(labels)} vs {sorted(lab)}")
    n = len(members[0][1])
    total = sum(weights)
    if total <= 0:
        raise UsageError("--weights must sum to a positive number")
    w = [x / total for x in weights]
    avg = [[0.0] * len(labels) for _ in range(n)]
    for (lab, rows), wi in zip(members, w):
        col = [lab.index(name) for name in labels]
        for i, row in enumerate(rows):
            for j, c in enumerate(col):
                avg[i][j] += wi * row[c]
    if mode != "logits":
        probs = [list(r) for r in avg]
    elif activation == "sigmoid":
        probs = [[_sigmoid(v) for v in r] for r in avg]
    else:
        probs = [_softmax(r) for r in avg]
    return labels, avg, probs


def combine_words(
    members: list[tuple[list[str], list[list[list[float] | None]]]], weights: list[float], mode: str
) -> tuple[list[str], list[list[list[float] | None]], list[list[list[float] | None]]]:
    """NER: per word, the weighted average of the members' rows, aligned on tag names.

    A word some member did not score (None) is averaged over the members that did, their
    weights renormalised; a word no member scored stays None (predicted ``O``). Returns
    (tags, averaged scores, probabilities: softmax of averaged logits, or the averaged probabilities).
    """
    tags = _check_label_sets(members, "tag")
    if sum(weights) <= 0:
        raise UsageError("--weights must sum to a positive number")
    cols = [[lab.index(name) for name in tags] for lab, _ in members]
    avg: list[list[list[float] | None]] = []
    for i in range(len(members[0][1])):
        n_words = max(len(rows[i]) for _, rows in members)
        sent: list[list[float] | None] = []
        for j in range(n_words):
            present = [m for m, (_, rows) in enumerate(members) if j < len(rows[i]) and rows[i][j] is not None]
            total = sum(weights[m] for m in present)
            if not present or total <= 0:
                sent.append(None)
                continue
            acc = [0.0] * len(tags)
            for m in present:
                wi, row = weights[m] / total, members[m][1][i][j]
                for k, c in enumerate(cols[m]):
                    acc[k] += wi * row[c]
            sent.append(acc)
        avg.append(sent)
    probs = [[None if w is None else (_softmax(w) if mode == "logits" else list(w)) for w in sent] for sent in avg]
    return tags, avg, probs


def _example_key(row: dict[str, Any]) -> tuple:
    """What must be equal between the members' rows of one example (their text and gold answer)."""
    return (
        row.get("text"),
        row.get("text_pair"),
        row.get("label"),
        row.get("labels"),
        row.get("tokens"),
        row.get("tags"),
    )


def _common_settings(records: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    """The settings every member shares (so `compare --runs` shows only real differences), plus ``extra``."""
    from expctl.settings import flatten, unflatten

    flats = [flatten(Record(r).settings) for r in records]
    common = {k: v for k, v in flats[0].items() if all(f.get(k, object()) == v for f in flats[1:])}
    common.update(extra)
    return unflatten(common)


def ensemble(
    cfg,
    store,
    refs: list[str],
    *,
    eval_file: str | None = None,
    weights: list[float] | None = None,
    mode: str = "logits",
    name: str | None = None,
) -> dict[str, Any]:
    """Average the members' predictions on one file, record the ensemble as a run; returns the record."""
    from trainers.api import classification_metrics  # pure Python

    if mode not in ("logits", "probs"):
        raise UsageError(f"--mode {mode!r}: expected logits or probs")
    if any(rungroups.looks_like_group_id(r) for r in refs):  # a run group's id: its member runs
        refs = rungroups.expand_refs(store.all(), list(refs))
    if len(refs) < 2:
        raise UsageError("an ensemble needs at least two runs")
    records = [resolve_run(store, r) for r in refs]
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        raise UsageError("the same run is given twice")
    if weights is None:
        weights = [1.0] * len(records)
    if len(weights) != len(records):
        raise UsageError(f"--weights has {len(weights)} values for {len(records)} runs")
    root = Path(store.root)
    members, predictions, sources, tasks = [], [], [], []
    for rec in records:
        own_eval = Record(rec).settings.get("eval_file")
        nf = int(Record(rec).settings.get("num_folds") or 0)
        preds = None
        if eval_file is None or (_same_file(eval_file, own_eval, root) and not nf):
            preds = _load_predictions(store, rec)
            if preds is None and eval_file is None:
                raise NotFoundError(f"run {rec['id']} has no predictions.jsonl; give --eval-file to predict one")
            sources.append("predictions.jsonl")
        if preds is None:
            preds = predict_with_checkpoint(root, rec, store.run_dir(rec["id"]), eval_file)
            sources.append("checkpoints/best")
        task = rows_task(preds, rec["id"])
        if tasks and task != tasks[0]:
            raise UsageError(
                f"run {ids[0]} is a {TASK_NAMES[tasks[0]]} run and run {rec['id']} a "
                f"{TASK_NAMES[task]} run: an ensemble needs runs of one task"
            )
        tasks.append(task)
        scorer = {"single": _member_scores, "multilabel": _multilabel_scores, "ner": _ner_scores}[task]
        members.append(scorer(preds, mode, rec["id"]))
        predictions.append(preds)
    n = len(predictions[0])
    for rec, preds in zip(records[1:], predictions[1:]):
        if len(preds) != n:
            raise UsageError(
                f"runs {ids[0]} and {rec['id']} predicted different files ({n} vs {len(preds)} "
                f"examples); give --eval-file"
            )
        for a, b in zip(predictions[0], preds):
            if _example_key(a) != _example_key(b):
                raise UsageError(
                    f"runs {ids[0]} and {rec['id']} predicted different examples (index {a.get('index')}); "
                    f"give --eval-file"
                )
    if tasks[0] != "single":
        return _record_ensemble(
            cfg, store, records, predictions, members, sources, tasks[0], weights, mode, name, eval_file
        )
    labels, avg, probs = combine(members, weights, mode)
    gold = [p.get("label") for p in predictions[0]]
    pred = [labels[max(range(len(labels)), key=lambda j: row[j])] for row in probs]
    metrics = classification_metrics(gold, pred, labels)
    loss = [-math.log(max(row[labels.index(g)], 1e-12)) for row, g in zip(probs, gold) if g in labels]
    final = {f"eval_{k}": v for k, v in metrics.items()}
    if loss:
        final["eval_loss"] = sum(loss) / len(loss)
    # the members' own scores on the same examples, for the log line and the record
    member_acc = {}
    for rec, (lab, rows) in zip(records, members):
        mp = [lab[max(range(len(lab)), key=lambda j: r[j])] for r in rows]
        member_acc[rec["id"]] = sum(a == b for a, b in zip(gold, mp)) / max(1, len(gold))

    out_rows = []
    for i, (p0, row, pr, lab) in enumerate(zip(predictions[0], avg, probs, pred)):
        out_rows.append(
            {
                "index": i,
                "text": p0.get("text"),
                "text_pair": p0.get("text_pair"),
                "label": p0.get("label"),
                "pred": lab,
                "confidence": round(max(pr), 6),
                "probs": {name: round(v, 6) for name, v in zip(labels, pr)},
                **({"logits": row} if mode == "logits" else {}),
            }
        )
    return _save_ensemble(
        cfg, store, records, out_rows, final, sources, {"member_accuracy": member_acc}, weights, mode, name, eval_file
    )


def _save_ensemble(cfg, store, records, out_rows, final, sources, extra, weights, mode, name, eval_file):
    """Write the ensemble's run folder (predictions.jsonl, metrics.json/.jsonl, settings.json) and record it."""
    from expctl.fsutil import write_json
    from expctl.record import Record
    from expctl.records import new_run_id

    ids = [r["id"] for r in records]
    run_id = new_run_id()
    run_dir = store.run_dir(run_id)
    run_dir.mkdir(parents=True)
    with open(run_dir / "predictions.jsonl", "w", encoding="utf-8") as fh:
        for row in out_rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    write_json(run_dir / "metrics.json", final)
    (run_dir / "metrics.jsonl").write_text(json.dumps({"step": 0, **final}) + "\n")
    now = time.time()
    head = store.repo.head()
    eval_shown = eval_file or Record(records[0]).settings.get("eval_file")
    spec = {
        "members": ids,
        "mode": mode,
        "weights": [w / sum(weights) for w in weights],
        "eval_file": eval_shown,
        "sources": sources,
        **extra,
    }
    record = Record.new(
        run_id,
        name=name,
        stage=None,
        status="succeeded",
        started=now,
        exact_start=False,
        ended=now,
        exit_code=0,
        command=["expctl", "ensemble", *ids, "--mode", mode],
        settings=_common_settings(records, {"ensemble_mode": mode, "eval_file": eval_shown}),
        code={
            "commit": head,
            "tree": store.repo.tree_of(head) if head else None,
            "head": head,
            "branch": store.repo.branch(),
            "dirty": False,
            "snapshot": False,
            "changed": [],
            "changed_count": 0,
            "excluded": [],
        },
        data={},
        env={},
        metrics={"final": final, "best": dict(final), "events": 1},
        primary_metric=cfg.primary_metric,
        direction=cfg.direction,
        process=None,
        ensemble=spec,
    ).raw
    write_json(run_dir / "settings.json", record["settings"])
    store.save(record, head)
    return record


def _multilabel_outcome(predictions, members, weights, mode):
    """(metrics, prediction rows, members' own metrics) of a multilabel ensemble."""
    from trainers.api import multilabel_metrics

    labels, avg, probs = combine(members, weights, mode, activation="sigmoid")
    gold = [list(p.get("labels") or []) for p in predictions[0]]
    pred = [[lab for lab, v in zip(labels, row) if v >= MULTILABEL_THRESHOLD] for row in probs]
    metrics = multilabel_metrics(gold, pred, labels)
    loss = []
    for row, g in zip(probs, gold):
        terms = [
            -math.log(max(v, 1e-12)) if lab in g else -math.log(max(1.0 - v, 1e-12)) for lab, v in zip(labels, row)
        ]
        loss.append(sum(terms) / max(1, len(terms)))
    rows = []
    for i, (p0, sc, pr, ps) in enumerate(zip(predictions[0], avg, probs, pred)):
        rows.append(
            {
                "index": i,
                "text": p0.get("text"),
                "labels": p0.get("labels"),
                "pred_labels": ps,
                "probs": {name: round(v, 6) for name, v in zip(labels, pr)},
                **({"logits": sc} if mode == "logits" else {}),
            }
        )
    own = [multilabel_metrics(gold, [list(p.get("pred_labels") or []) for p in preds], labels) for preds in predictions]
    return metrics, loss, rows, own


def _ner_outcome(predictions, members, weights, mode):
    """(metrics, prediction rows, members' own metrics) of an NER ensemble."""
    from trainers.api import ner_metrics

    tags, avg, probs = combine_words(members, weights, mode)
    gold = [list(p.get("tags") or []) for p in predictions[0]]
    pred = [["O" if w is None else tags[max(range(len(tags)), key=lambda j: w[j])] for w in sent] for sent in probs]
    metrics = ner_metrics(gold, pred)
    loss = []
    for sent, g in zip(probs, gold):  # per sentence: mean over its scored words, as the trainer's eval_loss
        terms = [-math.log(max(w[tags.index(t)], 1e-12)) for w, t in zip(sent, g) if w is not None and t in tags]
        loss.append(sum(terms) / max(1, len(terms)))
    rows = []
    for i, (p0, sc, pr, pt) in enumerate(zip(predictions[0], avg, probs, pred)):
        scores = (
            {"word_logits": sc}
            if mode == "logits"
            else {"word_probs": [None if w is None else [round(v, 6) for v in w] for w in pr]}
        )
        rows.append(
            {
                "index": i,
                "tokens": p0.get("tokens"),
                "tags": p0.get("tags"),
                "pred_tags": pt,
                "tag_names": list(tags),
                **scores,
            }
        )
    own = [ner_metrics(gold, [list(p.get("pred_tags") or []) for p in preds]) for preds in predictions]
    return metrics, loss, rows, own


def _record_ensemble(cfg, store, records, predictions, members, sources, task, weights, mode, name, eval_file):
    """Multilabel and NER ensembles: the trainer's own metric functions, recorded like the single-label one."""
    from trainers.api import PRIMARY_METRICS  # torch-free

    if sum(weights) <= 0:
        raise UsageError("--weights must sum to a positive number")
    outcome = _multilabel_outcome if task == "multilabel" else _ner_outcome
    metrics, loss, out_rows, own = outcome(predictions, members, weights, mode)
    final = {f"eval_{k}": v for k, v in metrics.items()}
    if loss:
        final["eval_loss"] = sum(loss) / len(loss)
    metric = PRIMARY_METRICS[task]
    ids = [r["id"] for r in records]
    extra = {
        "task": task,
        "metric": metric,
        "member_metric": {rid: m.get(metric[len("eval_") :]) for rid, m in zip(ids, own)},
        "member_accuracy": {rid: m.get("accuracy") for rid, m in zip(ids, own)},
    }
    return _save_ensemble(cfg, store, records, out_rows, final, sources, extra, weights, mode, name, eval_file)
