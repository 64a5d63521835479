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
off by default. Each trick is one small module in this package; docs/tricks.md has the
formulas, recommended values and costs. Modules: ``specs`` (what each trick declares),
``rdrop``, ``adversarial`` (FGM, PGD), ``mixup``, ``losses`` (focal, label smoothing),
``distill`` (knowledge distillation), ``swa``, ``longtext`` (long-text strategies), ``eda``
(offline augmentation).

Composition (in this order within ``train_step``): mixup transforms the inputs (draw lam
once per step), R-Drop duplicates them, one forward, the base loss (CE / BCE / focal /
label smoothing, mixed by mixup) plus named terms (R-Drop ``kl``, distillation ``kd``), and
FGM or PGD (at most one) own the step by calling the loss closure again on perturbed
embeddings. SWA acts after the optimizer step and swaps its average in at ``finalize``.
EDA (``python -m trainers.tricks.eda``) and long-text handling (``longtext``) are data-level.

A setting turns its trick on: ``-s tricks.rdrop.alpha=4`` (or the short form
``tricks.rdrop=4`` for the main value); ``tricks.<name>.enabled=false`` turns it off again,
and a main value of 0 means off. Unknown names and keys are errors.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from typing import Any

from .specs import SPECS, TASKS, TOKEN_TASKS, TrickConfigError  # noqa: F401 - the configuration side


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

#: every trick's settings with their defaults (declared in specs.py); ``enabled`` is accepted everywhere
SCHEMA: dict[str, dict[str, Any]] = {name: dict(spec.settings) for name, spec in SPECS.items()}


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(name: str, key: str, value: Any, default: Any) -> Any:
    where = f"tricks.{name}.{key}"
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
    if (name, key) == ("focal", "alpha"):
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
            value = value[0] if len(value) == 1 else value
        try:
            return [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
        except (TypeError, ValueError) as exc:
            raise TrickConfigError(f"{where} must be a number or a list of per-class weights, got {value!r}") from exc
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            f = float(value)
        except (TypeError, ValueError) as exc:
            raise TrickConfigError(f"{where} must be an integer, got {value!r}") from exc
        if f != int(f):
            raise TrickConfigError(f"{where} must be an integer, got {value!r}")
        return int(f)
    if isinstance(default, float) or key in SPECS[name].numbers:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise TrickConfigError(f"{where} must be a number, got {value!r}") from exc
    value = str(value)
    choices = SPECS[name].choices.get(key)
    if choices and value not in choices:
        raise TrickConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_tricks(settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate ``settings["tricks"]``; return {name: resolved settings} of the ENABLED tricks."""
    raw = (settings or {}).get("tricks") or {}
    if not isinstance(raw, Mapping):
        raise TrickConfigError(f"`tricks` must be a table of tricks, got {raw!r}")
    enabled: dict[str, dict[str, Any]] = {}
    for name, section in raw.items():
        if name == "eda":
            raise TrickConfigError(
                "EDA is an offline augmentation of the training file, not a trainer setting: "
                "run `python -m trainers.tricks.eda IN OUT --alpha 0.1 --n-aug 4 --synonyms FILE` "
                "and train on OUT"
            )
        if name not in SCHEMA:
            raise TrickConfigError(f"unknown trick {name!r}{_suggest(name, SCHEMA)}; known: {', '.join(SCHEMA)}")
        schema = SCHEMA[name]
        main = next(iter(schema))
        if section is None:
            continue
        if not isinstance(section, Mapping):
            section = {main: section}
        values = dict(schema)
        on = True
        for key, value in section.items():
            if key == "enabled":
                on = _coerce(name, key, value, True)
                continue
            if key not in schema:
                raise TrickConfigError(
                    f"unknown setting tricks.{name}.{key}{_suggest(key, schema)}; "
                    f"known: {', '.join(['enabled', *schema])}"
                )
            values[key] = _coerce(name, key, value, schema[key])
        for key in (
            "alpha",
            "epsilon",
            "gamma",
            "temperature",
            "steps",
            "every",
            "head",
            "tail",
            "stride",
            "anneal_steps",
        ):
            v = values.get(key)
            if isinstance(v, (int, float)) and v < 0:
                raise TrickConfigError(f"tricks.{name}.{key} must be >= 0, got {v}")
        if on and values[main] != 0:
            enabled[name] = values
    return enabled


def long_text_settings(settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The validated ``tricks.long_text`` settings for the data pipeline, or None when off."""
    return parse_tricks(settings).get("long_text")


def _check_combinations(on: dict, task: str, settings: Mapping[str, Any] | None = None) -> None:
    """Each enabled trick's own checks (specs.py): its tasks, its values, its combinations."""
    if on and task not in TASKS:
        raise TrickConfigError(f"tricks are not supported for task={task} yet (tasks with tricks: {', '.join(TASKS)})")
    for name, values in on.items():
        spec = SPECS[name]
        if task not in spec.tasks:
            raise TrickConfigError(spec.why_not.format(task=task))
        if spec.check is not None:
            spec.check(values, task, on, settings or {})


def check_settings(settings: Mapping[str, Any]) -> None:
    """Validate the run's tricks against its task before any data or model work (fail fast):
    unknown names and keys, invalid values, impossible combinations, unsupported tasks.
    Torch-free (the pre-flight ``python -m trainers.text --check`` runs it)."""
    on = parse_tricks(settings)
    task = settings.get("task", "classification")
    for name in ("focal", "label_smoothing", "mixup"):
        if name in on and settings.get("crf"):
            raise TrickConfigError(
                f"tricks.{name} replaces or mixes the per-token loss; with crf=true the loss is "
                "the CRF's sequence likelihood: turn one of them off"
            )
    if settings.get("class_weights") and ("focal" in on or "label_smoothing" in on):
        raise TrickConfigError(
            "class_weights=balanced weighs the plain cross-entropy; with tricks.focal use "
            "tricks.focal.alpha (per-class weights) instead"
        )
    _check_combinations(on, task, settings)


def _unwrap(model):
    while hasattr(model, "module") and not hasattr(model, "get_input_embeddings"):
        model = model.module
    return model


# --------------------------------------------------------------------------- the trick set


class TrickSet:
    """The composed tricks of one run. With no trick enabled this is plain training."""

    #: forward+backward passes per sample relative to plain training (for throughput logs)
    passes_per_sample: float = 1.0

    def __init__(
        self, settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None
    ):
        if task not in TASKS:
            raise TrickConfigError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        self.settings = settings
        self.task = task
        self.num_labels = num_labels
        self.context = dict(context or {})
        on = parse_tricks(settings)
        _check_combinations(on, task)
        self.config = on
        self.enabled = [name for name in on if name != "long_text"]
        self._warned: set[str] = set()
        self._optimizer = self.context.get("optimizer")

        self.rdrop_alpha = on["rdrop"]["alpha"] if "rdrop" in on else None

        self.focal = on.get("focal")
        if (
            self.focal
            and isinstance(self.focal["alpha"], list)
            and task != "multilabel"
            and len(self.focal["alpha"]) != num_labels
        ):
            raise TrickConfigError(
                f"tricks.focal.alpha has {len(self.focal['alpha'])} weights for {num_labels} classes"
            )
        self.label_smoothing = on["label_smoothing"]["epsilon"] if "label_smoothing" in on else None

        self.mixup = None
        if "mixup" in on:
            from .mixup import Mixup

            self.mixup = Mixup(
                on["mixup"]["alpha"],
                on["mixup"]["mode"],
                None if on["mixup"]["seed"] is None else int(on["mixup"]["seed"]),
            )

        self.adversary = None
        if "fgm" in on:
            from .adversarial import FGM

            self.adversary = FGM(on["fgm"]["epsilon"])
        elif "pgd" in on:
            from .adversarial import PGD

            c = on["pgd"]
            self.adversary = PGD(c["epsilon"], c["alpha"], c["steps"])

        self.distiller = self._build_distiller(on["distill"]) if "distill" in on else None
        self.swa = self._build_swa(on["swa"]) if "swa" in on else None

        self.passes_per_sample = float(
            (2 if self.rdrop_alpha else 1) * (self.adversary.passes if self.adversary else 1)
        )
        #: teacher forwards (no backward) per sample, on top of passes_per_sample
        self.teacher_forwards_per_sample = 1.0 if self.distiller and self.distiller.cache is None else 0.0

    def _build_distiller(self, c: Mapping[str, Any]):
        """Knowledge distillation: a teacher checkpoint, or its logits cached in a file."""
        task = self.task
        from .distill import Distiller, TeacherError, load_teacher

        teacher = None
        if c["teacher"] and c["logits_file"]:
            from .distill import ensure_logits_file

            try:
                ensure_logits_file(c["teacher"], task, self.context, c["logits_file"])
            except (TeacherError, OSError) as exc:
                raise TrickConfigError(f"tricks.distill.logits_file: {exc}") from exc
        if c["teacher"] and not c["logits_file"]:
            try:
                teacher = load_teacher(c["teacher"], task, self.context)
            except (TeacherError, OSError) as exc:
                raise TrickConfigError(f"tricks.distill.teacher: {exc}") from exc
        return Distiller(teacher, task, c["alpha"], c["temperature"], c["logits_file"])

    def _build_swa(self, c: Mapping[str, Any]):
        """Stochastic weight averaging from ``start`` (an update, or a fraction of the run)."""
        from .swa import SWA

        start = c["start"]
        if 0 < start < 1:
            total = self.context.get("total_steps")
            if not total:
                raise TrickConfigError("tricks.swa.start as a fraction needs context['total_steps']")
            start = int(start * total)
        return SWA(
            int(start),
            c["every"],
            c["lr"],
            c["lr_min"],
            c["strategy"],
            c["anneal_steps"],
            optimizer_getter=lambda: self._optimizer,
        )

    # ------------------------------------------------------------------ hooks for the loop

    def bind_optimizer(self, optimizer) -> None:
        """Give SWA the optimizer whose lr it sets (``tricks.swa.lr``)."""
        self._optimizer = optimizer

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
        """The base loss, replaced by focal loss or label smoothing when enabled."""
        if self.focal is not None:
            from .losses import focal_loss

            return focal_loss(logits, labels, self.task, self.focal["gamma"], self.focal["alpha"])
        if self.label_smoothing:
            from .losses import smoothed_ce

            return smoothed_ce(logits, labels, self.task, self.label_smoothing)
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
        if self.mixup is not None:
            state["lam"], state["perm"] = self.mixup.sample(batch["input_ids"].size(0), batch["input_ids"].device)
        if self.distiller is not None:
            state["teacher"] = self.distiller.teacher_logits(batch, model_inputs(batch))
        return state

    def loss_from_state(self, model, batch, state):
        from .losses import token_mask

        inputs = model_inputs(batch)
        labels = batch["labels"]
        lam, perm = state.get("lam", 1.0), state.get("perm")
        ctx = contextlib.nullcontext()
        if self.mixup is not None:
            from .mixup import mix_classifier_input, mix_embeddings

            if self.mixup.mode == "embeddings":
                inputs = mix_embeddings(_unwrap(model), inputs, lam, perm)
            else:
                ctx = mix_classifier_input(model, lam, perm)
        if self.rdrop_alpha:
            from .rdrop import duplicate_batch, split_halves

            inputs = duplicate_batch(inputs)
        with ctx:
            logits = model(**inputs).logits.float()
        halves = split_halves(logits) if self.rdrop_alpha else (logits,)

        def sup(z):
            if self.mixup is None:
                return self.supervised_loss(z, labels)
            from .mixup import mixed_loss

            return mixed_loss(self.supervised_loss, z, labels, lam, perm)

        ce = sum(sup(z) for z in halves) / len(halves)
        terms: dict[str, Any] = {}
        loss = ce
        mask = token_mask(batch, self.task)
        if self.distiller is not None:
            from .distill import kd_kl

            t, T = state["teacher"], self.distiller.temperature

            def kd(z):
                if self.mixup is None or lam == 1.0:
                    return kd_kl(t, z, self.task, T, mask)
                return lam * kd_kl(t, z, self.task, T, mask) + (1 - lam) * kd_kl(t[perm], z, self.task, T, mask)

            kd_term = sum(kd(z) for z in halves) / len(halves)
            a = self.distiller.alpha
            loss = (1 - a) * ce + a * kd_term
            terms["kd"] = kd_term.detach()
        if self.rdrop_alpha:
            from .rdrop import rdrop_kl

            kl = rdrop_kl(halves[0], halves[1], self.task, mask)
            loss = loss + self.rdrop_alpha * kl
            terms["kl"] = kl.detach()
        if terms or self.focal is not None or self.label_smoothing or self.mixup is not None:
            terms["ce"] = ce.detach()
        if self.mixup is not None:
            terms["mixup_lambda"] = logits.new_tensor(lam).detach()
        terms["loss"] = loss.detach()
        return loss, terms

    def compute_loss(self, model, batch):
        """Forward + total loss (no backward): ``(loss, terms)``."""
        return self.loss_from_state(model, batch, self.begin_step(model, batch))

    def train_step(self, model, batch, accelerator):
        state = self.begin_step(model, batch)

        def closure():
            return self.loss_from_state(model, batch, state)

        if self.adversary is not None:
            return self.adversary.step(model, closure, accelerator)
        loss, terms = closure()
        accelerator.backward(loss)
        return terms

    def check_terms(self, named: Mapping[str, float]) -> list[str]:
        """Warnings about the logged (window-averaged) terms; each is given once per run.

        FGM / PGD: ``adv_rel`` above ``ADV_REL_WARN`` means epsilon moves the batch's token
        embeddings by a large fraction of their own norm -- in the study (docs/tricks.md) that
        wrecked training of the small model.
        """
        from .adversarial import ADV_REL_TARGET, ADV_REL_WARN

        out: list[str] = []
        rel = named.get("adv_rel")
        if self.adversary is not None and rel is not None and rel > ADV_REL_WARN and "adv_rel" not in self._warned:
            self._warned.add("adv_rel")
            name = "fgm" if "fgm" in self.enabled else "pgd"
            eps = self.adversary.epsilon
            scale = ADV_REL_TARGET / rel
            suggest = f"tricks.{name}.epsilon={eps * scale:.2g}"
            if name == "pgd":  # the step size scales with the ball
                suggest += f" tricks.pgd.alpha={self.adversary.alpha * scale:.2g}"
            out.append(
                f"WARNING: tricks.{name}.epsilon={eps:g} perturbs the batch's token embeddings by "
                f"{rel:.2g} of their norm (adv_rel > {ADV_REL_WARN:g}); this model's embeddings are small "
                f"for that epsilon -- try {suggest} (adv_rel ~{ADV_REL_TARGET:g}; see docs/tricks.md)"
            )
        return out

    def after_optimizer_step(self, model, step: int) -> None:
        if self.swa is not None:
            self.swa.after_optimizer_step(model, step)

    def finalize(self, model):
        if self.swa is not None:
            model = self.swa.finalize(model)
        return model


def build_tricks(
    settings: Mapping[str, Any], task: str, num_labels: int, context: Mapping[str, Any] | None = None
) -> TrickSet:
    """Build the run's TrickSet from the resolved settings (``settings.get("tricks", {})``).

    Raises TrickConfigError for unknown tricks or keys, invalid values and impossible
    combinations (mixup + ner, label smoothing + multilabel, fgm + pgd, ...).
    """
    return TrickSet(settings, task, num_labels, context)
