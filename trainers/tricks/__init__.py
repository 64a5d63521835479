"""Training tricks: the seam between the training loop and the tricks.

The loop (trainers/loop.py) knows nothing about individual tricks. Per micro-batch it calls

    tricks = build_tricks(settings, task=..., num_labels=..., context={...})   # once
    terms = tricks.train_step(model, batch, accelerator)   # forward + loss + backward
    ... optimizer.step(); scheduler.step(); optimizer.zero_grad()
    tricks.after_optimizer_step(model, step)                # SWA / EMA bookkeeping
    model = tricks.finalize(model)                          # once, before the final eval

``train_step`` returns the named loss terms as detached scalar tensors (``"loss"`` is the
total that was back-propagated; tricks add e.g. ``"ce"``, ``"kl"``, ``"adv"``). The loop
keeps them on the device and calls ``.item()`` only at log steps.

Batches are dicts of tensors: ``input_ids``, ``attention_mask``, optional
``token_type_ids`` and ``labels`` (class index for single-label tasks, a float multi-hot
vector for multi-label, per-token tag ids with -100 on padding / sub-word continuations
for sequence labeling). Models return an object with ``.logits``; the base loss is computed
here from the logits, so that tricks can replace it (focal, label smoothing).

Settings live under ``tricks.<name>.*`` (e.g. ``tricks.rdrop.alpha=4``); every trick is
off by default. Each trick is one small module in this package that declares itself
(``SPEC = TrickSpec(...)``: settings, checks, the builder of its step hooks; torch-free at
import); ``registry.py`` lists the modules, and this module composes whatever is registered.
docs/tricks.md has the formulas, recommended values, costs and how to add a trick.

Modules: ``specs`` (TrickSpec, the hook protocol), ``registry`` (which tricks exist),
``rdrop``, ``adversarial`` (fgm, pgd), ``losses`` (focal, label_smoothing, divergences),
``mixup``, ``distill``, ``swa``, ``longtext`` (data-level), ``eda`` (offline tool).

Composition (by ``TrickSpec.order`` within ``train_step``): mixup transforms the inputs
(draw lam once per step), R-Drop duplicates them, one forward, the base loss (CE / BCE /
focal / label smoothing, mixed by mixup) plus named terms (distillation ``kd``, R-Drop
``kl``), and FGM or PGD (at most one) own the step by calling the loss closure again on
perturbed embeddings. SWA acts after the optimizer step and swaps its average in at
``finalize``. EDA (``python -m trainers.tricks.eda``) and long-text handling (``longtext``)
are data-level.

A setting turns its trick on: ``-s tricks.rdrop.alpha=4`` (or the short form
``tricks.rdrop=4`` for the main value); ``tricks.<name>.enabled=false`` turns it off again,
and a main value of 0 means off. Unknown names and keys are errors.
"""

from __future__ import annotations

import contextlib
import difflib
import math
from collections.abc import Mapping
from typing import Any

from .registry import register, specs, unregister  # noqa: F401 - the tricks that exist
from .specs import TASKS, TOKEN_TASKS, TrickConfigError, TrickSpec  # noqa: F401 - what a trick declares


def base_loss(logits, labels, task: str, weight=None):
    """The plain loss for a task: CE (optionally class-weighted: ``class_weights``),
    BCE-with-logits for multi-label, token CE (ignore -100)."""
    import torch.nn.functional as F

    if task == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    if task in TOKEN_TASKS:
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)
    return F.cross_entropy(logits, labels, weight=weight)


def model_inputs(batch: Mapping[str, Any]) -> dict:
    """The batch without labels and bookkeeping keys: what the model's forward takes."""
    return {
        k: v
        for k, v in batch.items()
        if k
        in (
            "input_ids",
            "attention_mask",
            "token_type_ids",
            "inputs_embeds",
            "decoder_input_ids",
            "decoder_attention_mask",
        )
    }


# --------------------------------------------------------------------------- settings


def schema() -> dict[str, dict[str, Any]]:
    """Every trick's settings with their defaults (``enabled`` is accepted everywhere)."""
    return {name: dict(spec.settings) for name, spec in specs().items() if not spec.refuse}


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(spec: TrickSpec, key: str, value: Any, default: Any) -> Any:
    where = f"tricks.{spec.name}.{key}"
    if value is None:
        return None
    if key == "enabled" or isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise TrickConfigError(f"{where} must be true or false, got {value!r}")
        return bool(value)
    if key in spec.parse:
        return spec.parse[key](where, value)
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            f = float(value)
        except (TypeError, ValueError) as exc:
            raise TrickConfigError(f"{where} must be an integer, got {value!r}") from exc
        if f != int(f):
            raise TrickConfigError(f"{where} must be an integer, got {value!r}")
        return int(f)
    if isinstance(default, float) or key in spec.numbers:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise TrickConfigError(f"{where} must be a number, got {value!r}") from exc
    value = str(value)
    choices = spec.choices.get(key)
    if choices and value not in choices:
        raise TrickConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _parse_one(spec: TrickSpec, section: Any) -> tuple[bool, dict[str, Any]]:
    """One trick's section (a table, or its main value): (on, resolved settings)."""
    main = next(iter(spec.settings), None)
    if not isinstance(section, Mapping):
        section = {main: section}
    values, on = dict(spec.settings), True
    for key, value in section.items():
        if key == "enabled":
            on = _coerce(spec, key, value, True)
            continue
        if key not in spec.settings:
            raise TrickConfigError(
                f"unknown setting tricks.{spec.name}.{key}{_suggest(key, spec.settings)}; "
                f"known: {', '.join(['enabled', *spec.settings])}"
            )
        values[key] = _coerce(spec, key, value, spec.settings[key])
    for key in spec.nonnegative:
        v = values.get(key)
        if isinstance(v, (int, float)) and v < 0:
            raise TrickConfigError(f"tricks.{spec.name}.{key} must be >= 0, got {v}")
    return on and (main is None or values[main] != 0), values


def _mapping(settings) -> Mapping[str, Any]:
    """The settings as a mapping: a dict as is, the typed ``Settings`` by the dict it was parsed from."""
    return getattr(settings, "source", None) or settings or {}


def parse_tricks(settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate ``settings["tricks"]``; return {name: resolved settings} of the ENABLED tricks."""
    raw = _mapping(settings).get("tricks") or {}
    if not isinstance(raw, Mapping):
        raise TrickConfigError(f"`tricks` must be a table of tricks, got {raw!r}")
    known = specs()
    enabled: dict[str, dict[str, Any]] = {}
    for name, section in raw.items():
        spec = known.get(name)
        if spec is not None and spec.refuse:
            raise TrickConfigError(spec.refuse)
        if spec is None:
            names = schema()
            raise TrickConfigError(f"unknown trick {name!r}{_suggest(name, names)}; known: {', '.join(names)}")
        if section is None:
            continue
        on, values = _parse_one(spec, section)
        if on:
            enabled[name] = values
    return enabled


def long_text_settings(settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The validated ``tricks.long_text`` settings for the data pipeline, or None when off."""
    return parse_tricks(settings).get("long_text")


def _check_combinations(on: dict, task: str, settings: Mapping[str, Any] | None = None) -> None:
    """Each enabled trick's own checks (its spec): its tasks, its values, its combinations."""
    if on and task not in TASKS:
        raise TrickConfigError(f"tricks are not supported for task={task} yet (tasks with tricks: {', '.join(TASKS)})")
    known = specs()
    for name, values in on.items():
        spec = known[name]
        if task not in spec.tasks:
            raise TrickConfigError(spec.why_not.format(task=task))
        if spec.check is not None:
            spec.check(values, task, on, settings or {})


def check_settings(settings: Mapping[str, Any]) -> None:
    """Validate the run's tricks against its task before any data or model work (fail fast):
    unknown names and keys, invalid values, impossible combinations, unsupported tasks.
    Torch-free (the pre-flight ``python -m trainers.text --check`` runs it)."""
    settings = _mapping(settings)
    on = parse_tricks(settings)
    task = settings.get("task", "classification")
    for name, spec in specs().items():  # against the run's other settings (crf, class_weights)
        if name in on and spec.check_run is not None:
            spec.check_run(on[name], settings)
    _check_combinations(on, task, settings)


# --------------------------------------------------------------------------- the trick set

#: the hooks a built trick may have (trainers/tricks/specs.py describes each)
HOOKS = (
    "begin_step",
    "prepare_inputs",
    "split_logits",
    "replace_loss",
    "mix_loss",
    "add_terms",
    "extra_terms",
    "step",
    "after_optimizer_step",
    "finalize",
    "check_terms",
)


class TrickSet:
    """The composed tricks of one run, built from the registered specs. With no trick enabled
    this is plain training."""

    #: forward+backward passes per sample relative to plain training (for throughput logs)
    passes_per_sample: float = 1.0

    def __init__(
        self, settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None
    ):
        if task not in TASKS:
            raise TrickConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        self.settings = settings = _mapping(settings)
        self.task = task
        self.num_labels = num_labels
        self.context = dict(context or {})
        #: the optimizer whose lr a trick may set (``bind_optimizer``; SWA)
        self.optimizer = self.context.get("optimizer")
        on = parse_tricks(settings)
        _check_combinations(on, task)
        self.config = on
        known = specs()
        self.enabled = [name for name in on if known[name].build is not None]
        #: name -> the built trick, in step order (``TrickSpec.order``)
        self.hooks = {n: known[n].build(on[n], self) for n in sorted(self.enabled, key=lambda n: known[n].order)}
        self._by_hook = {h: [t for t in self.hooks.values() if hasattr(t, h)] for h in HOOKS}
        owners = [n for n, t in self.hooks.items() if hasattr(t, "step")]
        if len(owners) > 1:
            raise TrickConfigError(
                f"tricks.{owners[0]} and tricks.{owners[1]} both own the training step: enable at most one"
            )
        self._owner = self.hooks[owners[0]] if owners else None
        self._reports_ce = any(getattr(t, "reports_ce", False) for t in self.hooks.values())
        self.passes_per_sample = float(math.prod(getattr(t, "passes", 1) for t in self.hooks.values()))
        #: teacher forwards (no backward) per sample, on top of passes_per_sample
        self.teacher_forwards_per_sample = float(sum(getattr(t, "teacher_forwards", 0.0) for t in self.hooks.values()))

    # ------------------------------------------------------------------ the built tricks

    def hook(self, name: str):
        """The built trick ``name`` (None when it is off)."""
        return self.hooks.get(name)

    @property
    def adversary(self):
        """The trick that owns the step (FGM / PGD), or None."""
        return self._owner

    @property
    def mixup(self):
        return self.hooks.get("mixup")

    @property
    def distiller(self):
        return self.hooks.get("distill")

    @property
    def swa(self):
        return self.hooks.get("swa")

    # ------------------------------------------------------------------ hooks for the loop

    def bind_optimizer(self, optimizer) -> None:
        """Give the tricks the optimizer whose lr they set (``tricks.swa.lr``)."""
        self.optimizer = optimizer

    def describe(self) -> str:
        return (
            ", ".join(
                f"{n}({', '.join(f'{k}={v}' for k, v in self.config[n].items() if v is not None)})"
                for n in self.enabled
            )
            or "none"
        )

    # ------------------------------------------------------------------ loss

    def supervised_loss(self, logits, labels):
        """The base loss, replaced by a trick's (focal loss, label smoothing) when enabled."""
        for trick in self._by_hook["replace_loss"]:
            return trick.replace_loss(logits, labels)
        crf = self.context.get("crf")
        if crf is not None:  # ner with crf=true: the negative log-likelihood of the gold path
            return crf.nll(logits, labels)
        weights = self.context.get("class_weights")
        if weights is not None:
            import torch

            weights = torch.tensor(weights, dtype=logits.dtype, device=logits.device)
        return base_loss(logits, labels, self.task, weights)

    def begin_step(self, model, batch) -> dict:
        """Per-step random draws and teacher logits, shared by every closure call of the step."""
        state: dict[str, Any] = {}
        for trick in self._by_hook["begin_step"]:
            trick.begin_step(model, batch, state)
        return state

    def _supervised(self, state: dict):
        """The supervised loss function, mixed by the tricks that mix it (mixup)."""
        fn = self.supervised_loss
        for trick in self._by_hook["mix_loss"]:
            fn = (lambda t, inner: lambda z, y: t.mix_loss(inner, z, y, state))(trick, fn)
        return fn

    def loss_from_state(self, model, batch, state):
        from .losses import token_mask

        inputs = model_inputs(batch)
        labels = batch["labels"]
        with contextlib.ExitStack() as stack:
            for trick in self._by_hook["prepare_inputs"]:
                inputs, ctx = trick.prepare_inputs(model, inputs, state)
                if ctx is not None:
                    stack.enter_context(ctx)
            logits = model(**inputs).logits.float()
        parts: tuple = (logits,)
        for trick in self._by_hook["split_logits"]:
            parts = tuple(p for z in parts for p in trick.split_logits(z))
        sup = self._supervised(state)
        ce = sum(sup(z, labels) for z in parts) / len(parts)
        terms: dict[str, Any] = {}
        loss = ce
        state["mask"] = token_mask(batch, self.task)
        for trick in self._by_hook["add_terms"]:
            loss, more = trick.add_terms(loss, ce, parts, state)
            terms.update(more)
        if terms or self._reports_ce:
            terms["ce"] = ce.detach()
        for trick in self._by_hook["extra_terms"]:
            terms.update(trick.extra_terms(logits, state))
        terms["loss"] = loss.detach()
        return loss, terms

    def compute_loss(self, model, batch):
        """Forward + total loss (no backward): ``(loss, terms)``."""
        return self.loss_from_state(model, batch, self.begin_step(model, batch))

    def train_step(self, model, batch, accelerator):
        state = self.begin_step(model, batch)

        def closure():
            return self.loss_from_state(model, batch, state)

        if self._owner is not None:
            return self._owner.step(model, closure, accelerator)
        loss, terms = closure()
        accelerator.backward(loss)
        return terms

    def check_terms(self, named: Mapping[str, float]) -> list[str]:
        """Warnings about the logged (window-averaged) terms; each trick gives each once per run
        (FGM / PGD: an ``epsilon`` too large for the model's embeddings, see adversarial.py)."""
        out: list[str] = []
        for trick in self._by_hook["check_terms"]:
            out += trick.check_terms(named)
        return out

    def after_optimizer_step(self, model, step: int) -> None:
        for trick in self._by_hook["after_optimizer_step"]:
            trick.after_optimizer_step(model, step)

    def finalize(self, model):
        for trick in self._by_hook["finalize"]:
            model = trick.finalize(model)
        return model


def build_tricks(
    settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None
) -> TrickSet:
    """Build the run's TrickSet from the resolved settings (``settings.get("tricks", {})``).

    Raises TrickConfigError for unknown tricks or keys, invalid values and impossible
    combinations (mixup + ner, label smoothing + multilabel, fgm + pgd, ...).
    """
    return TrickSet(settings, task, num_labels, context)
