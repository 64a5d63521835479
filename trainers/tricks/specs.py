"""What a trick declares: :class:`TrickSpec` (its settings and defaults, allowed values, the
tasks it serves, its checks, its place in the step and the builder of its step hooks).

Torch-free: the settings check (``python -m trainers.text --check``) and ``expctl init`` read
the declarations. Each trick module declares its own ``SPEC`` (or ``SPECS``) at its top and
imports torch inside its functions; ``trainers/tricks/registry.py`` lists the modules, and
``parse_tricks``, ``check_settings`` and ``TrickSet`` compose whatever is registered.

Adding a trick: a module ``trainers/tricks/<name>.py`` with ``SPEC = TrickSpec(...)`` and the
class its ``build`` returns, plus its name in ``registry.MODULES``. The hooks a built trick may
have (each optional; ``TrickSet`` calls only the ones it has):

    begin_step(model, batch, state)          per-step draws, shared by every closure call (state: a dict)
    prepare_inputs(model, inputs, state)     -> (inputs, context manager or None) around the forward
    split_logits(logits)                     -> the logits' parts (R-Drop: the two halves)
    replace_loss(logits, labels)             the supervised loss instead of CE / BCE (at most one)
    mix_loss(loss_fn, logits, labels, state) the supervised loss of mixed inputs
    add_terms(loss, ce, parts, state)        -> (loss, {name: detached term}) (state["mask"]: real tokens)
    extra_terms(logits, state)               -> {name: detached value} logged after ``ce``
    step(model, closure, accelerator)        owns forward+backward of the step (at most one)
    after_optimizer_step(model, step)        after each optimizer update
    finalize(model)                          -> the model of the final evaluation
    check_terms(named)                       -> warnings about the logged terms
    passes, teacher_forwards, reports_ce     forward/backward passes per sample (a factor),
                                             teacher forwards per sample, log ``ce`` on its own
"""

from __future__ import annotations

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
    settings: dict[str, Any] = field(default_factory=dict)
    #: allowed values of string settings
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: settings whose default is None but that take a number when given
    numbers: tuple[str, ...] = ()
    #: settings that must not be negative
    nonnegative: tuple[str, ...] = ()
    #: ``parse(where, value)`` per setting that has its own form (e.g. a number or a list)
    parse: dict[str, Callable[[str, Any], Any]] = field(default_factory=dict)
    #: the tasks the trick serves, and why not the others
    tasks: tuple[str, ...] = TASKS
    why_not: str = ""
    #: ``check(values, task, enabled, settings)`` raises TrickConfigError
    check: Callable[[dict, str, dict, Any], None] | None = None
    #: ``check_run(values, settings)``: against the run's other settings (crf, class_weights),
    #: before the task checks
    check_run: Callable[[dict, Any], None] | None = None
    #: ``build(values, tricks)`` -> the object with the trick's step hooks (``tricks``: the
    #: TrickSet: ``task``, ``num_labels``, ``context``, ``optimizer``); None: a data-level trick
    build: Callable[[dict, Any], Any] | None = None
    #: place in the step: hooks run in increasing order (mixup 10, losses 20, distill 30,
    #: rdrop 40, fgm / pgd 50, swa 60)
    order: int = 100
    #: a name that is refused with this message (e.g. an offline tool, not a trainer setting)
    refuse: str = ""


def fail(message: str) -> None:
    raise TrickConfigError(message)


def no_crf(name: str) -> Callable[[dict, Any], None]:
    """A ``check_run`` for tricks that replace or mix the per-token loss."""

    def check(values, settings) -> None:
        if settings.get("crf"):
            fail(
                f"tricks.{name} replaces or mixes the per-token loss; with crf=true the loss is "
                "the CRF's sequence likelihood: turn one of them off"
            )

    return check
