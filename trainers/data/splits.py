"""The examples of a split (train / eval) of the label tasks (classification, pair,
multilabel, ner): read through :mod:`trainers.data.formats`, sampled through
:mod:`trainers.data.sampling` (seeded, label-stratified), k-fold aware, and described in the
log (where from, how many, the label distribution, the columns read, skipped lines).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trainers.data import formats, sampling
from trainers.runtime import TrainerError, data_path, project_root
from trainers.settings import Settings, typed

if TYPE_CHECKING:
    from trainers.runtime import Outputs


def missing_files(settings: Settings | Mapping[str, Any]) -> str | None:
    """Why the data files the run will read are not there (None: they are): torch-free, for the
    pre-flight (``--check``) and the first thing a run does, so a typo in a path costs one line
    and no record instead of a failed run."""
    s = typed(settings)
    need = []
    if s.distill_data.teacher:
        need.append("train_file")  # the texts to augment and label
    else:
        if s.do_train or s.num_folds:
            need.append("train_file")  # with num_folds the held-out fold comes from it too
        if not s.num_folds:
            need.append("eval_file")
    for key in need:
        value = getattr(s, key)
        if not value:
            return f"{key} is not set"
        path = data_path(value)
        where = "" if os.path.isabs(value) else f" (relative to the project root {project_root()})"
        if not os.path.exists(path):
            return f"{key} {value}: file not found{where}"
        if os.path.isdir(path):
            return f"{key} {value}: is a folder, not a data file{where}"
    return None


def read_split(settings: Settings | Mapping[str, Any], which: str, out: Outputs):
    """The ``train`` or ``eval`` examples (a k-fold part of ``train_file`` with ``num_folds``)."""
    settings = typed(settings)
    k = settings.num_folds
    if not getattr(settings, f"{which}_file") and not (k and which == "eval"):
        raise TrainerError(f"{which}_file is not set")
    path = data_path(getattr(settings, "train_file" if k else f"{which}_file"))
    task = settings.task
    limit = getattr(settings, f"max_{which}_samples")
    opts = {
        k: getattr(settings, k)
        for k in (
            "format",
            "text_column",
            "text_pair_column",
            "label_column",
            "tokens_column",
            "tags_column",
            "has_header",
            "delimiter",
            "label_separator",
            "skip_malformed",
        )
    }
    reports: list[formats.ReadReport] = []

    def make_iter():
        rep = formats.ReadReport()
        reports.append(rep)
        return formats.iter_examples(path, task, report=rep, **opts)

    label_of = (lambda ex: ex.label) if task in ("classification", "pair") else None
    seed = settings.seed + (0 if which == "train" else 1)
    if k:
        # k-fold: both splits come from train_file; the fold assignment is seeded by fold_seed only
        path = data_path(settings.train_file)
        every = list(make_iter())
        folds = sampling.fold_assignment(every, k, settings.fold_seed, label_of)
        fold = settings.fold
        part = [ex for ex, f in zip(every, folds) if (f == fold) == (which == "eval")]
        examples, how, counts = sampling.sample(lambda: iter(part), limit, seed, label_of)
        how = f"fold {fold} of {k} ({'held out' if which == 'eval' else 'the other folds'}): {how}"
    else:
        examples, how, counts = sampling.sample(make_iter, limit, seed, label_of)
    if not examples:
        raise TrainerError(f"{which}_file {path}: no examples")
    if task == "multilabel":
        counts = Counter(lab for ex in examples for lab in ex.labels)
    elif task == "ner":
        counts = Counter(t[2:] for ex in examples for t in ex.tags if t.startswith("B-"))
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
    more = f" (+{len(counts) - 20} more)" if len(counts) > 20 else ""
    kind = {"multilabel": "label occurrences", "ner": "entities"}.get(task, "labels")
    out.log(
        f"{which}: {os.path.relpath(path, project_root()) if path.startswith(project_root()) else path}: {how}; "
        f"{kind}: {shown}{more}"
    )
    rep = reports[-1]
    if rep.layout is not None:
        out.log(f"{which}: columns: {rep.layout.describe()}")
    if task in ("classification", "pair") and (limit <= 0 or how.startswith("all ")):
        single = sorted(lab for lab, c in counts.items() if c == 1)
        if single:
            out.log(
                f"WARNING: {which}: class(es) seen in a single example: {', '.join(map(repr, single[:10]))} "
                "(a header row read as data? a typo in a label?)"
            )
    if rep.skipped:
        first = "; ".join(f"line {ln}: {why}" for ln, why in rep.skipped_lines[:3])
        out.log(f"{which}: skipped {rep.skipped} malformed line(s) ({first})")
    return examples
