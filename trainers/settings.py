"""Settings of the bundled trainer: every knob with its default, the stages, how they merge,
and :class:`Settings`, the one typed, frozen object the trainer reads them through.

Importable without torch: ``expctl init --trainer builtin`` writes ``expctl.toml`` from
``DEFAULTS`` / ``STAGES`` / ``PRIMARY_METRIC``.

Precedence (lowest first): ``DEFAULTS`` < the JSON file at ``$EXPCTL_SETTINGS`` (nested) <
``--key value`` flags (dotted keys: ``--tiny.hidden_size 32``). Unknown keys are rejected with
a suggestion; ``tricks.*`` is free-form (validated by ``trainers.tricks``).

``resolve(...)`` gives the merged, validated settings as a nested dict (what is recorded);
``load(...)`` / ``typed(mapping)`` parse that dict once into :class:`Settings` (typed fields:
``s.epochs`` is an int, ``s.dropout`` a float or None, ``s.net.kernel_sizes`` a tuple of
ints), the object fit(), the task adapters, the data code and the models read. A bad value is
a :class:`SettingsError` that names its key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
from collections.abc import Mapping
from typing import Any, Literal

TASKS = ("classification", "pair", "multilabel", "ner", "seq2seq", "span")

DEFAULTS: dict[str, Any] = {
    # --- task and data -------------------------------------------------------------------
    "task": "classification",  # classification | pair | multilabel | ner (BIO tags) | seq2seq | span
    "train_file": "data/train.tsv",  # training data, relative to the project root or absolute
    "eval_file": "data/dev.tsv",  # dev data: evaluated every eval_steps and at the end
    "format": "auto",  # auto (from the extension / content) | tsv | csv | jsonl | conll
    "text_column": "text",  # column name or 0-based index (tsv/csv), field name (jsonl)
    "text_pair_column": "text_pair",  # second text for task=pair
    "label_column": "label",  # label column / field (a list or a separated string for multilabel)
    "tokens_column": "tokens",  # ner, jsonl: field with the tokens (list, or a string split on spaces)
    "tags_column": "tags",  # ner, jsonl: field with the BIO tags
    "has_header": "auto",  # auto | true | false (tsv/csv): auto = first row names the columns
    "delimiter": "",  # "" = tab for tsv, comma for csv
    "label_separator": ",",  # multilabel: separator of labels inside one field
    "skip_malformed": False,  # true: skip and count bad lines instead of stopping with an error
    "labels": "",  # optional fixed label list "a,b,c" (otherwise: sorted labels of the train data)
    "target_column": "target",  # seq2seq: the output text (tsv: second column when headerless)
    # --- k-fold (expctl kfold sets these) ---------------------------------------------------
    "num_folds": 0,  # > 1: train on the other folds of train_file, evaluate on fold `fold` (eval_file unused)
    "fold": 0,  # which fold is held out, 0 .. num_folds-1
    "fold_seed": 0,  # seeds the (label-stratified) fold assignment; independent of `seed`
    # --- model ---------------------------------------------------------------------------
    # tiny (a small BERT) | bow (embedding bag + linear) | cnn (TextCNN) | bilstm | a local HF folder;
    # all but a folder build their vocabulary from the training data (docs/trainer.md: which to pick)
    "model": "tiny",
    "crf": False,  # ner: a linear-chain CRF output layer (Viterbi decoding, BIO transitions) over any encoder
    "class_weights": "",  # "" (plain loss) | balanced: weigh classes by n / (k * n_class) (classification, pair)
    "init_from": "",  # warm start: run id | tag | path of an HF folder (e.g. a run's checkpoints/best)
    "dropout": "",  # "" = the model's own; a number overrides hidden/attention dropout (TOML has no null)
    "tiny": {
        "hidden_size": 64,  # width of the built-in tiny BERT
        "num_layers": 2,  # transformer layers
        "num_heads": 2,  # attention heads (must divide hidden_size)
        "intermediate_size": 128,  # feed-forward width
        "vocab_size": 8000,  # WordPiece vocabulary built from the training data (CJK: characters)
        "max_position": 512,  # longest sequence the position table holds
        "lowercase": True,  # lowercase text before building / applying the vocabulary
    },
    "net": {  # the preset networks (model = bow | cnn | bilstm)
        "embedding_dim": 128,  # token embedding width
        "hidden_size": 128,  # bilstm: hidden units per direction
        "num_layers": 1,  # bilstm: stacked layers
        "kernel_sizes": "2,3,4",  # cnn: convolution widths (tokens), comma-separated
        "num_filters": 128,  # cnn: filters per width
        "dropout": 0.1,  # before the output layer ("dropout" overrides it when set)
    },
    # --- optimisation --------------------------------------------------------------------
    "max_seq_length": 128,  # truncate longer inputs (tokens, including [CLS]/[SEP])
    "batch_size": 32,  # per process, per micro-batch; "auto" = the largest that fits (see docs/trainer.md)
    "target_batch_size": 0,  # > 0: keep the effective batch (batch x processes x accumulation) at this size
    "auto_batch_max": 512,  # batch_size=auto: largest batch tried
    "auto_batch_memory_mb": 0,  # batch_size=auto on CPU: memory budget (0 = half of the available memory)
    "eval_batch_size": 64,  # per process
    "lr": "auto",  # peak learning rate; auto = 1e-3 tiny, 2e-2 bow, 5e-3 cnn / bilstm, 3e-5 a folder model
    "weight_decay": 0.01,  # AdamW decoupled weight decay (not on biases / LayerNorm)
    "warmup_ratio": 0.06,  # fraction of the update steps spent warming up linearly from 0
    "epochs": 3,  # passes over the training data (ignored when max_steps > 0)
    "max_steps": 0,  # > 0: stop after this many optimizer updates
    "grad_accum_steps": 1,  # micro-batches per optimizer update
    "max_grad_norm": 1.0,  # gradient clipping (0 = off)
    "seed": 42,  # seeds sampling, shuffling, initialisation and dropout
    "mixed_precision": "no",  # no | fp16 (GPU only) | bf16
    "cpu": False,  # force the CPU even when a GPU is visible
    # --- data pipeline -------------------------------------------------------------------
    "max_train_samples": 0,  # 0 = all; otherwise a seeded (label-stratified) random sample
    "max_eval_samples": 0,  # 0 = all; otherwise a seeded (label-stratified) random sample
    "group_by_length": True,  # batches of similar lengths (less padding), order still random
    "cache_dir": "",  # tokenized-data cache; "" = $XDG_CACHE_HOME/expctl/trainer (~/.cache/...)
    "num_workers": 0,  # DataLoader worker processes
    # --- logging, evaluation, checkpoints ------------------------------------------------
    "log_steps": 10,  # log train_loss / lr / samples/s every N updates (the only host syncs)
    "eval_steps": 100,  # evaluate every N updates (and always at the end; 0 = only at the end)
    "tensorboard": False,  # also write TensorBoard events to runs/<id>/tensorboard/ (pip install 'expctl[tensorboard]')
    "save_steps": 1000,  # save a resumable checkpoint every N updates (and always at the end)
    "keep_last": 2,  # resumable checkpoints kept (the best model is kept separately)
    "metric_for_best": "auto",  # auto = PRIMARY_METRICS[task]
    # no | auto (newest complete checkpoint in this run's folder) | a checkpoint, run or checkpoints
    # folder | a run id or tag (that run's newest complete checkpoint; this run writes its own folder)
    "resume": "no",
    "do_train": True,  # false: only evaluate (e.g. init_from=<checkpoint>)
    "output_dir": "outputs",  # used when not run by expctl ($EXPCTL_RUN_DIR wins)
    "debug_stop_after_step": 0,  # tests only: hard exit (os._exit(3)) right after this update
    # --- seq2seq and span tasks ---------------------------------------------------------------
    "max_target_length": 64,  # seq2seq: longest target (tokens) and generated output
    "num_beams": 4,  # seq2seq: beam width of the final evaluation (1 = greedy only; greedy always runs)
    "doc_stride": 32,  # span: overlap (tokens) between the sliding windows of a long context
    "max_answer_length": 30,  # span: longest predicted answer (tokens)
    # --- data distillation: with a teacher set, the run labels data instead of training
    "distill_data": {
        "teacher": "",  # run id | tag | HF folder of the fine-tuned teacher; "" = off (train as usual)
        "out": "data/distilled.tsv",  # the teacher-labeled training file written (originals + augmented)
        "n_aug": 4,  # augmented texts per train_file example
        "p_unk": 0.1,  # probability of a word becoming [UNK]
        "p_replace": 0.1,  # probability of a same-class word replacement
        "unlabeled": "",  # optional extra unlabeled texts (one per line) for the teacher to label
        "original": "gold",  # originals in the output: gold | teacher | none
    },
    # --- tricks (owned by trainers.tricks; free-form) ---------------------------------------
    "tricks": {},
}

#: Stage overrides. converge: a small set, many epochs, no regularisation - the loss must
#: approach 0 (a model that cannot overfit 1000 samples has a bug).
STAGES: dict[str, dict[str, Any]] = {
    "smoke": {"max_train_samples": 200, "max_eval_samples": 200, "epochs": 1, "eval_steps": 20, "save_steps": 1000},
    "converge": {
        "max_train_samples": 1000,
        "max_eval_samples": 1000,
        "epochs": 30,
        "dropout": 0.0,
        "weight_decay": 0.0,
        "warmup_ratio": 0.0,
        "eval_steps": 200,
    },
    "small": {"max_train_samples": 20000, "max_eval_samples": 5000, "epochs": 3},
    "full": {"max_train_samples": 0, "max_eval_samples": 0, "epochs": 3},
}

#: The metric that picks the best checkpoint (higher is better), per task.
PRIMARY_METRICS: dict[str, str] = {
    "classification": "eval_accuracy",
    "pair": "eval_accuracy",
    "multilabel": "eval_f1_micro",
    "ner": "eval_entity_f1",
    "seq2seq": "eval_bleu",
    "span": "eval_f1",
}
PRIMARY_METRIC = "eval_accuracy"
#: ``model`` values built from the training data (anything else is a local HF folder)
BUILTIN_MODELS = ("tiny", "bow", "cnn", "bilstm")
#: which preset network serves which tasks
NET_TASKS = {
    "bow": ("classification", "pair"),
    "cnn": ("classification", "pair"),
    "bilstm": ("classification", "pair", "ner"),
}
PRIMARY_DIRECTION = "max"


class SettingsError(ValueError):
    """A bad setting: unknown key, wrong type, impossible value."""


def primary_metric(settings: Mapping[str, Any]) -> str:
    chosen = settings.get("metric_for_best", "auto")
    if chosen and chosen != "auto":
        return chosen if chosen.startswith("eval_") else "eval_" + chosen
    return PRIMARY_METRICS.get(settings.get("task", "classification"), PRIMARY_METRIC)


#: ``lr = auto`` per model: from scratch, a bag of embeddings needs a large step; the usual
#: fine-tuning rate for a pretrained folder
AUTO_LR = {"tiny": 1e-3, "bow": 2e-2, "cnn": 5e-3, "bilstm": 5e-3}


def resolve_lr(settings: Mapping[str, Any]) -> float:
    """The peak learning rate; ``auto``: :data:`AUTO_LR` for the models built from scratch
    (tiny also when warm-started from a tiny run), 3e-5 for a pretrained folder model."""
    lr = settings["lr"]
    if lr == "auto":
        return AUTO_LR.get(settings["model"], 3e-5)
    return float(lr)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _parse_scalar(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off") and low != "no":
        return False
    if low in ("null", "none"):
        return None
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Bring a value to the type of its default (flags and TOML often carry strings)."""
    if default is None or value is None:
        return value
    if key == "batch_size" and isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.strip().lower() in ("true", "yes", "1", "on")
        raise SettingsError(f"setting {key}: expected true/false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise SettingsError(f"setting {key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise SettingsError(f"setting {key}: expected an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, bool):
            raise SettingsError(f"setting {key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"setting {key}: expected a number, got {value!r}") from None
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        # columns may be given by index; "lr" may be given as a number
        return value
    return value


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def merge(base: Mapping[str, Any], override: Mapping[str, Any], *, source: str = "settings") -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``, validating keys against DEFAULTS."""
    out = copy.deepcopy(dict(base))
    known = flatten(DEFAULTS)
    for dotted, value in flatten(override).items():
        if dotted.startswith("_"):
            continue  # private/meta keys of the caller
        if dotted.startswith("tricks.") or dotted == "tricks":
            _set_dotted(out, dotted, value)
            continue
        if dotted not in known:
            # a whole sub-table given as {} or a prefix of known keys
            if isinstance(value, Mapping) and not value:
                continue
            close = difflib.get_close_matches(dotted, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"unknown setting {dotted!r} in {source}{hint}")
        _set_dotted(out, dotted, _coerce(dotted, value, known[dotted]))
    return out


def parse_flags(argv: list[str]) -> dict[str, Any]:
    """``--key value`` / ``--key=value`` / ``--flag`` (true) into a nested dict."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or arg == "--":
            raise SettingsError(f"unexpected argument {arg!r}: use --key value")
        key = arg[2:]
        if "=" in key:
            key, raw = key.split("=", 1)
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            raw = argv[i + 1]
            i += 2
        else:
            raw = "true"
            i += 1
        _set_dotted(out, key.replace("-", "_"), _parse_scalar(raw))
    return out


def validate(settings: Mapping[str, Any]) -> None:
    if settings["task"] not in TASKS:
        raise SettingsError(f"task {settings['task']!r}: expected one of {', '.join(TASKS)}")
    if settings["format"] not in ("auto", "tsv", "csv", "jsonl", "conll"):
        raise SettingsError(f"format {settings['format']!r}: expected auto, tsv, csv, jsonl or conll")
    if settings["mixed_precision"] not in ("no", "fp16", "bf16"):
        raise SettingsError(f"mixed_precision {settings['mixed_precision']!r}: expected no, fp16 or bf16")
    for key in ("batch_size", "eval_batch_size", "grad_accum_steps", "max_seq_length", "log_steps"):
        if key == "batch_size" and settings[key] == "auto":
            continue
        if settings[key] < 1:  # merge() gave every value its default's type
            raise SettingsError(f"{key} must be >= 1, got {settings[key]}")
    for key in ("lr", "dropout"):
        _special(key, settings[key])
    nf, fold = settings["num_folds"], settings["fold"]
    if nf == 1 or nf < 0:
        raise SettingsError(f"num_folds must be 0 (off) or >= 2, got {nf}")
    if nf and not 0 <= fold < nf:
        raise SettingsError(f"fold must be in 0..{nf - 1}, got {fold}")
    if settings["task"] in ("seq2seq", "span") and nf:
        raise SettingsError(f"num_folds is for classification tasks, not {settings['task']}")
    if settings["target_batch_size"] < 0:
        raise SettingsError("target_batch_size must be >= 0")
    _validate_models(settings)
    if settings["tiny"]["hidden_size"] % settings["tiny"]["num_heads"]:
        raise SettingsError("tiny.hidden_size must be a multiple of tiny.num_heads")


def _validate_models(settings: Mapping[str, Any]) -> None:
    model, task = settings["model"], settings["task"]
    if model in NET_TASKS and task not in NET_TASKS[model]:
        raise SettingsError(f"model={model} is for task {' / '.join(NET_TASKS[model])}, not {task}")
    if settings["crf"] and task != "ner":
        raise SettingsError(f"crf=true is a sequence-labeling output layer (task=ner), not for task={task}")
    if settings["class_weights"] not in ("", "balanced"):
        raise SettingsError(
            f'class_weights {settings["class_weights"]!r}: expected "" or balanced (or tricks.focal for a focal loss)'
        )
    if settings["class_weights"] and task not in ("classification", "pair"):
        raise SettingsError(f"class_weights=balanced is for classification and pair, not {task}")
    _kernel_sizes(settings["net"]["kernel_sizes"])


def resolve(
    settings_json: Mapping[str, Any] | None = None, flags: list[str] | None = None, stage: str | None = None
) -> dict[str, Any]:
    """DEFAULTS < STAGES[stage] < settings_json < flags, validated.

    ``stage`` is for runs by hand (``python -m trainers.text --stage smoke``); under expctl
    the stage is already folded into the settings file.
    """
    out = copy.deepcopy(DEFAULTS)
    if stage:
        if stage not in STAGES:
            raise SettingsError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        out = merge(out, STAGES[stage], source=f"stage {stage}")
    if settings_json:
        out = merge(out, settings_json, source="$EXPCTL_SETTINGS")
    if flags:
        out = merge(out, parse_flags(flags), source="command-line flags")
    validate(out)
    return out


#: set ``a.b.c = value`` in a nested settings tree (public for expctl through trainers.api)
set_dotted = _set_dotted


# --------------------------------------------------------------------------- the typed settings


@dataclasses.dataclass(frozen=True)
class TinySettings:
    """``tiny.*``: the built-in small BERT."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_position: int
    lowercase: bool


@dataclasses.dataclass(frozen=True)
class NetSettings:
    """``net.*``: the preset networks (bow, cnn, bilstm)."""

    embedding_dim: int
    hidden_size: int
    num_layers: int
    kernel_sizes: tuple[int, ...]
    num_filters: int
    dropout: float


@dataclasses.dataclass(frozen=True)
class DistillDataSettings:
    """``distill_data.*``: label augmented data with a teacher instead of training."""

    teacher: str
    out: str
    n_aug: int
    p_unk: float
    p_replace: float
    unlabeled: str
    original: str


Column = str | int  # a column name, or a 0-based index (tsv / csv)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The run's settings, typed; one field per key of :data:`DEFAULTS` (docs there)."""

    task: str
    train_file: str
    eval_file: str
    format: str
    text_column: Column
    text_pair_column: Column
    label_column: Column
    tokens_column: Column
    tags_column: Column
    has_header: str | bool
    delimiter: str
    label_separator: str
    skip_malformed: bool
    labels: str
    target_column: Column
    num_folds: int
    fold: int
    fold_seed: int
    model: str
    crf: bool
    class_weights: str
    init_from: str
    dropout: float | None  # None: the model's own
    tiny: TinySettings
    net: NetSettings
    max_seq_length: int
    batch_size: int | Literal["auto"]
    target_batch_size: int
    auto_batch_max: int
    auto_batch_memory_mb: int
    eval_batch_size: int
    lr: float | Literal["auto"]
    weight_decay: float
    warmup_ratio: float
    epochs: int
    max_steps: int
    grad_accum_steps: int
    max_grad_norm: float
    seed: int
    mixed_precision: str
    cpu: bool
    max_train_samples: int
    max_eval_samples: int
    group_by_length: bool
    cache_dir: str
    num_workers: int
    log_steps: int
    eval_steps: int
    tensorboard: bool
    save_steps: int
    keep_last: int
    metric_for_best: str
    resume: str
    do_train: bool
    output_dir: str
    debug_stop_after_step: int
    max_target_length: int
    num_beams: int
    doc_stride: int
    max_answer_length: int
    distill_data: DistillDataSettings
    #: ``tricks.*`` as given (validated and typed by ``trainers.tricks``)
    tricks: Mapping[str, Any]
    #: the resolved nested dict this was parsed from (what is recorded; what the tricks read)
    source: Mapping[str, Any] = dataclasses.field(repr=False, compare=False, default_factory=dict)

    @property
    def primary_metric(self) -> str:
        """The metric that picks the best checkpoint (``metric_for_best`` or the task's)."""
        return primary_metric({"task": self.task, "metric_for_best": self.metric_for_best})

    @property
    def peak_lr(self) -> float:
        """``lr``, or for ``auto`` the model's (:data:`AUTO_LR`, 3e-5 for a folder model)."""
        return resolve_lr({"lr": self.lr, "model": self.model})

    def as_dict(self) -> dict[str, Any]:
        """The nested settings dict (a copy): for the tricks, TensorBoard and subprocesses."""
        return copy.deepcopy(dict(self.source))


def _kernel_sizes(value: Any) -> tuple[int, ...]:
    try:
        widths = tuple(int(k) for k in str(value).split(",") if k.strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise SettingsError(f"net.kernel_sizes {value!r}: expected widths like 2,3,4")
    return widths


def _special(key: str, value: Any) -> Any:
    """The keys whose type is not their default's: sentinels, optional numbers, lists."""
    if key == "dropout":
        if value in ("", None):
            return None
        try:
            dropout = float(value)
        except (TypeError, ValueError):
            dropout = -1.0
        if not 0.0 <= dropout < 1.0:
            raise SettingsError(f'dropout {value!r}: expected "" (the model\'s own) or a number in [0, 1)')
        return dropout
    if key == "lr":
        if value == "auto":
            return "auto"
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"lr {value!r}: expected a number or 'auto'") from None
    if key == "batch_size":
        return "auto" if value == "auto" else _coerce(key, value, 0)
    return _kernel_sizes(value)


_SPECIAL = ("dropout", "lr", "batch_size", "net.kernel_sizes")


_SECTIONS = {"tiny": TinySettings, "net": NetSettings, "distill_data": DistillDataSettings}


def _typed_section(cls, values: Mapping[str, Any], prefix: str = ""):
    """One dataclass from a resolved (merged: complete) section; each value to its field's type."""
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "source":
            continue
        key, value = prefix + f.name, values[f.name]
        if key in _SECTIONS:
            kw[f.name] = _typed_section(_SECTIONS[key], value, key + ".")
        elif key == "tricks":
            kw[f.name] = copy.deepcopy(dict(value or {}))
        elif key in _SPECIAL:
            kw[f.name] = _special(key, value)
        else:
            kw[f.name] = _coerce(key, value, _DEFAULTS_FLAT[key])
    return cls(**kw)


def section(name: str, values: Any):
    """A typed section (``tiny``, ``net``, ``distill_data``): a typed one as is, a (partial)
    dict over its defaults."""
    cls = _SECTIONS[name]
    if isinstance(values, cls):
        return values
    return _typed_section(cls, {**DEFAULTS[name], **values}, name + ".")


def typed(settings: Settings | Mapping[str, Any]) -> Settings:
    """The typed settings: a :class:`Settings` as is; a settings dict merged over DEFAULTS,
    validated and parsed (once, at the trainer's entry points)."""
    if isinstance(settings, Settings):
        return settings
    resolved = merge(DEFAULTS, settings, source="settings")
    validate(resolved)
    out = _typed_section(Settings, resolved)
    return dataclasses.replace(out, source=resolved)


def load(
    settings_json: Mapping[str, Any] | None = None, flags: list[str] | None = None, stage: str | None = None
) -> Settings:
    """:func:`resolve`, typed: what ``python -m trainers.text`` runs with."""
    return typed(resolve(settings_json, flags, stage))


_DEFAULTS_FLAT = flatten(DEFAULTS)
