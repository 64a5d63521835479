"""What each trick declares about its configuration: settings and defaults, allowed values,
the tasks it serves and its own checks. Torch-free: the settings check (``python -m
trainers.text --check``) and ``expctl init`` read it; the torch code of each trick lives in its
module (``rdrop.py``, ``adversarial.py``, ...).

Adding a trick: one :class:`TrickSpec` below (plus its module and its wiring in
``TrickSet``); ``parse_tricks`` and ``check_settings`` iterate over :data:`SPECS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: tasks that take tricks; TOKEN_TASKS have per-token logits with -100 on ignored positions
TASKS = ("classification", "pair", "multilabel", "ner", "seq2seq")
TOKEN_TASKS = ("ner", "seq2seq")


class TrickConfigError(ValueError):
    """An impossible or invalid trick configuration, reported at start-up."""


@dataclass(frozen=True)
class TrickSpec:
    name: str
    #: settings with their defaults; the first key is the main value (``tricks.<name>=VALUE``)
    settings: dict[str, Any]
    #: allowed values of string settings
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: settings whose default is None but that take a number when given
    numbers: tuple[str, ...] = ()
    #: the tasks the trick serves, and why not the others
    tasks: tuple[str, ...] = TASKS
    why_not: str = ""
    #: ``check(values, task, enabled, settings)`` raises TrickConfigError
    check: Callable[[dict, str, dict, Any], None] | None = None


def _fail(message: str) -> None:
    raise TrickConfigError(message)


def _check_fgm(values, task, on, settings):
    if "pgd" in on:
        _fail("tricks.fgm and tricks.pgd both own the training step: enable at most one")


def _check_pgd(values, task, on, settings):
    if values["steps"] < 1:
        _fail("tricks.pgd.steps must be >= 1")


def _check_focal(values, task, on, settings):
    if values["alpha"] is not None and task != "multilabel" and not isinstance(values["alpha"], list):
        _fail("tricks.focal.alpha for single-label tasks is a list of per-class weights")


def _check_label_smoothing(values, task, on, settings):
    if "focal" in on:
        _fail("tricks.focal and tricks.label_smoothing both replace the base loss: enable at most one")


def _check_mixup(values, task, on, settings):
    if values["alpha"] <= 0:
        _fail("tricks.mixup.alpha (the Beta parameter) must be > 0")


def _check_distill(values, task, on, settings):
    if not values["teacher"] and not values["logits_file"]:
        _fail(
            "tricks.distill needs tricks.distill.teacher (a run id, tag or model folder) or tricks.distill.logits_file"
        )
    if not 0.0 <= values["alpha"] <= 1.0:
        _fail("tricks.distill.alpha weighs the soft loss against CE: it must lie in [0, 1]")
    if values["temperature"] <= 0:
        _fail("tricks.distill.temperature must be > 0")
    if values["logits_file"] and task == "ner":
        _fail(
            "tricks.distill.logits_file holds one logit row per example: not for task ner "
            "(use tricks.distill.teacher alone)"
        )
    if values["logits_file"] and not values["teacher"] and not os.path.exists(values["logits_file"]):
        _fail(
            f"tricks.distill.logits_file {values['logits_file']!r} does not exist: set "
            "tricks.distill.teacher too and the trainer writes it before training"
        )


def _check_swa(values, task, on, settings):
    if values["start"] is None:
        _fail("tricks.swa needs tricks.swa.start (an optimizer step, or a fraction < 1 of the run)")
    if values["strategy"] == "cyclic" and values["lr"] is None:
        _fail("tricks.swa.strategy=cyclic needs tricks.swa.lr (the cycle's maximum lr)")


def _check_long_text(values, task, on, settings):
    if values["strategy"] == "windows":
        _fail("tricks.long_text.strategy=windows is not supported by the bundled trainer; use head_tail, head or tail")


SPECS: dict[str, TrickSpec] = {
    s.name: s
    for s in (
        TrickSpec("rdrop", {"alpha": 4.0}),
        TrickSpec("fgm", {"epsilon": 1.0}, check=_check_fgm),
        TrickSpec("pgd", {"epsilon": 1.0, "alpha": 0.3, "steps": 3}, check=_check_pgd),
        TrickSpec("focal", {"gamma": 2.0, "alpha": None}, check=_check_focal),
        TrickSpec(
            "label_smoothing",
            {"epsilon": 0.1},
            tasks=("classification", "pair", "ner", "seq2seq"),
            why_not="tricks.label_smoothing applies to softmax targets; it is not defined for "
            "multi-label (sigmoid) training",
            check=_check_label_smoothing,
        ),
        TrickSpec(
            "mixup",
            {"alpha": 0.4, "mode": "embeddings", "seed": None},
            choices={"mode": ("embeddings", "pooled")},
            tasks=("classification", "pair", "multilabel"),
            why_not="tricks.mixup is not defined for task {task!r}: token labels cannot be mixed across sentences",
            check=_check_mixup,
        ),
        TrickSpec(
            "distill",
            {"teacher": None, "alpha": 0.5, "temperature": 2.0, "logits_file": None},
            tasks=("classification", "pair", "multilabel", "ner"),
            why_not="tricks.distill is not available for task {task!r} (R-Drop, FGM, PGD, focal loss, "
            "label smoothing and SWA are)",
            check=_check_distill,
        ),
        TrickSpec(
            "swa",
            {"start": None, "every": 1, "lr": None, "lr_min": None, "strategy": "constant", "anneal_steps": 0},
            choices={"strategy": ("constant", "cyclic")},
            numbers=("start", "lr", "lr_min"),
            check=_check_swa,
        ),
        # data-level: read by the data pipeline through long_text_settings()
        TrickSpec(
            "long_text",
            {"strategy": "head_tail", "head": 128, "tail": 382, "max_length": 512, "stride": 128, "pool": "mean"},
            choices={"strategy": ("head_tail", "windows", "head", "tail"), "pool": ("mean", "max")},
            tasks=("classification", "multilabel"),
            why_not="tricks.long_text is for single-text tasks (classification, multilabel), not {task}",
            check=_check_long_text,
        ),
    )
}
