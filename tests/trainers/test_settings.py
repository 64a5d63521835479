"""trainers.settings: defaults, stages, precedence, strict keys; importable without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from trainer_helpers import ROOT

from trainers import settings as S


def test_settings_and_formats_import_without_torch():
    code = (
        "import sys, trainers.settings, trainers.data.formats, trainers.data.sampling, trainers.metrics, "
        "trainers.synth; bad = [m for m in ('torch', 'transformers', 'accelerate', 'pandas') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_defaults_cover_the_documented_names():
    names = set(S.flatten(S.DEFAULTS))
    for key in [
        "task",
        "train_file",
        "eval_file",
        "format",
        "text_column",
        "text_pair_column",
        "label_column",
        "has_header",
        "delimiter",
        "label_separator",
        "skip_malformed",
        "model",
        "max_seq_length",
        "batch_size",
        "eval_batch_size",
        "lr",
        "weight_decay",
        "warmup_ratio",
        "epochs",
        "max_steps",
        "grad_accum_steps",
        "max_grad_norm",
        "seed",
        "log_steps",
        "eval_steps",
        "save_steps",
        "keep_last",
        "max_train_samples",
        "max_eval_samples",
        "group_by_length",
        "mixed_precision",
        "resume",
        "init_from",
        "output_dir",
        "tiny.hidden_size",
        "tiny.num_layers",
    ]:
        assert key in names, key
    assert (S.DEFAULTS["log_steps"], S.DEFAULTS["eval_steps"], S.DEFAULTS["save_steps"]) == (10, 100, 1000)
    assert S.PRIMARY_METRIC == "eval_accuracy"
    assert S.DEFAULTS["tricks"] == {}


def test_stages_limits_grow():
    assert list(S.STAGES) == ["smoke", "converge", "small", "full"]
    limits = [S.STAGES[s]["max_train_samples"] for s in ("smoke", "converge", "small")]
    assert limits == sorted(limits) and limits[0] <= 500 and S.STAGES["full"]["max_train_samples"] == 0
    assert S.STAGES["converge"]["dropout"] == 0.0 and S.STAGES["converge"]["epochs"] >= 10
    for stage in S.STAGES.values():  # every override names a real setting
        S.merge(S.DEFAULTS, stage)


def test_precedence_defaults_json_flags():
    got = S.resolve({"lr": 0.01, "epochs": 5, "tiny": {"hidden_size": 32}}, ["--epochs", "7", "--tiny.num_heads=4"])
    assert got["lr"] == 0.01 and got["epochs"] == 7
    assert got["tiny"]["hidden_size"] == 32 and got["tiny"]["num_heads"] == 4 and got["tiny"]["num_layers"] == 2


def test_types_are_coerced_and_checked():
    got = S.resolve(
        None,
        [
            "--group_by_length",
            "false",
            "--max_grad_norm",
            "2",
            "--text_column",
            "0",
            "--resume",
            "no",
            "--mixed_precision",
            "no",
        ],
    )
    assert got["group_by_length"] is False and got["max_grad_norm"] == 2.0 and got["text_column"] == 0
    assert got["resume"] == "no" and got["mixed_precision"] == "no"
    with pytest.raises(S.SettingsError, match="integer"):
        S.resolve(None, ["--epochs", "many"])


def test_unknown_key_rejected_with_suggestion():
    with pytest.raises(S.SettingsError, match="did you mean batch_size"):
        S.resolve({"bacth_size": 3})
    with pytest.raises(S.SettingsError, match="task"):
        S.resolve(None, ["--task", "regression"])


def test_tricks_are_free_form():
    got = S.resolve({"tricks": {"rdrop": {"alpha": 4}}}, ["--tricks.fgm.epsilon", "1"])
    assert got["tricks"] == {"rdrop": {"alpha": 4}, "fgm": {"epsilon": 1}}


def test_primary_metric_per_task():
    assert S.primary_metric({"task": "ner"}) == "eval_entity_f1"
    assert S.primary_metric({"task": "multilabel"}) == "eval_f1_micro"
    assert S.primary_metric({"task": "pair", "metric_for_best": "f1_macro"}) == "eval_f1_macro"


def test_stage_for_runs_by_hand():
    got = S.resolve({"epochs": 2}, ["--max_train_samples", "50"], stage="converge")
    assert got["dropout"] == 0.0 and got["epochs"] == 2 and got["max_train_samples"] == 50
    with pytest.raises(S.SettingsError, match="unknown stage"):
        S.resolve(None, None, stage="huge")


# --------------------------------------------------------------------------- the typed settings


def _field_names(cls, prefix=""):
    import dataclasses

    names = set()
    for f in dataclasses.fields(cls):
        if f.name == "source":
            continue
        sub = {"tiny": S.TinySettings, "net": S.NetSettings, "distill_data": S.DistillDataSettings}.get(f.name)
        names |= _field_names(sub, f"{f.name}.") if sub and not prefix else {prefix + f.name}
    return names


def test_typed_settings_have_one_field_per_default():
    assert _field_names(S.Settings) == set(S.flatten(S.DEFAULTS))  # tricks: {} flattens to "tricks"


def test_typed_settings_are_parsed_once_with_their_types():
    s = S.load({"lr": "2e-3", "dropout": 0.2, "net": {"kernel_sizes": "3, 5"}}, ["--epochs", "7", "--tiny.num_heads=4"])
    assert s.epochs == 7 and s.tiny.num_heads == 4 and s.tiny.num_layers == 2
    assert s.lr == 0.002 and s.peak_lr == 0.002 and s.dropout == 0.2 and s.net.kernel_sizes == (3, 5)
    assert s.primary_metric == "eval_accuracy" and s.batch_size == 32
    d = S.load()
    assert d.dropout is None and d.lr == "auto" and d.peak_lr == 1e-3 and d.net.kernel_sizes == (2, 3, 4)
    assert S.load({"model": "bow", "task": "pair"}).peak_lr == 2e-2
    assert S.load({"task": "ner", "batch_size": "auto"}).primary_metric == "eval_entity_f1"
    assert S.load({"task": "ner", "batch_size": "auto"}).batch_size == "auto"
    assert d.as_dict() == S.resolve() and S.typed(d) is d
    assert S.typed({"epochs": 2}).epochs == 2  # a partial dict: over DEFAULTS


def test_typed_settings_are_frozen():
    import dataclasses

    s = S.load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.epochs = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.tiny.hidden_size = 8


@pytest.mark.parametrize(
    "given,message",
    [
        ({"epochs": "many"}, "setting epochs: expected an integer"),
        ({"tiny": {"num_layers": 1.5}}, "setting tiny.num_layers: expected an integer"),
        ({"weight_decay": "lots"}, "setting weight_decay: expected a number"),
        ({"dropout": "x"}, "dropout 'x'"),
        ({"lr": "fast"}, "lr 'fast'"),
        ({"net": {"kernel_sizes": "a,b"}}, "net.kernel_sizes 'a,b'"),
        ({"batch_size": "big"}, "setting batch_size: expected an integer"),
    ],
)
def test_a_bad_value_names_its_key(given, message):
    with pytest.raises(S.SettingsError, match=message):
        S.typed(given)
