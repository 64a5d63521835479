"""trainers/tricks/registry.py: tricks are declared by their modules and composed generically.

A trick defined here, in the test, is registered at run time and works through TrickSet and a
real (in-process) training run without any edit of trainers/tricks/__init__.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from trainer_helpers import ROOT, read_jsonl, tiny_flags

from trainers.tricks import (
    TrickConfigError,
    TrickSpec,
    build_tricks,
    check_settings,
    parse_tricks,
    register,
    registry,
    unregister,
)


class Probe:
    """A trick that changes nothing: it counts the hooks it sees and logs one term."""

    def __init__(self, weight: float, task: str):
        self.weight, self.task = weight, task
        self.steps: list[int] = []
        self.begun = self.parts_seen = self.finalized = 0

    def begin_step(self, model, batch, state):
        self.begun += 1
        state["probe"] = self.begun

    def add_terms(self, loss, ce, parts, state):
        self.parts_seen = len(parts)
        return loss, {"probe": (self.weight * ce).detach()}

    def after_optimizer_step(self, model, step):
        self.steps.append(step)

    def finalize(self, model):
        self.finalized += 1
        return model


BUILT: list[Probe] = []


def _build(values, tricks):
    BUILT.append(Probe(values["weight"], tricks.task))
    return BUILT[-1]


def _check(values, task, on, settings):
    if "fgm" in on:
        raise TrickConfigError("tricks.probe does not go with tricks.fgm (a test's own check)")


SPEC = TrickSpec(
    "probe",
    {"weight": 1.0, "label": "x"},
    choices={"label": ("x", "y")},
    nonnegative=("weight",),
    tasks=("classification", "pair"),
    why_not="tricks.probe is for classification and pair, not {task}",
    check=_check,
    order=45,  # after R-Drop: it sees both halves
    build=_build,
)


@pytest.fixture
def probe():
    register(SPEC)
    BUILT.clear()
    yield
    unregister("probe")


def test_every_listed_module_declares_its_tricks_torch_free():
    code = (
        "import sys\n"
        "from trainers.tricks import registry\n"
        "names = list(registry.specs())\n"
        "assert 'torch' not in sys.modules, 'a trick module imports torch at module level'\n"
        "print(' '.join(names))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        "rdrop",
        "fgm",
        "pgd",
        "focal",
        "label_smoothing",
        "mixup",
        "distill",
        "swa",
        "long_text",
        "eda",
    ]
    for spec in registry.specs().values():
        assert spec.refuse or spec.settings, spec.name


def test_a_registered_trick_is_parsed_and_checked(probe):
    assert parse_tricks({"tricks": {"probe": "2"}}) == {"probe": {"weight": 2.0, "label": "x"}}
    assert parse_tricks({"tricks": {"probe": 0}}) == {}  # a main value of 0 is off
    with pytest.raises(TrickConfigError, match="tricks.probe.weight must be >= 0"):
        parse_tricks({"tricks": {"probe": -1}})
    with pytest.raises(TrickConfigError, match="must be one of x, y"):
        parse_tricks({"tricks": {"probe": {"label": "z"}}})
    with pytest.raises(TrickConfigError, match="did you mean 'weight'"):
        parse_tricks({"tricks": {"probe": {"wieght": 1}}})
    with pytest.raises(TrickConfigError, match="not ner"):
        check_settings({"task": "ner", "tricks": {"probe": 1}})
    with pytest.raises(TrickConfigError, match="a test's own check"):
        build_tricks({"tricks": {"probe": 1, "fgm": 1}}, "classification", 3)
    with pytest.raises(ValueError, match="registered already"):
        register(SPEC)


def test_unregistered_it_is_unknown_again():
    with pytest.raises(TrickConfigError, match="unknown trick 'probe'"):
        parse_tricks({"tricks": {"probe": 1}})


def test_a_registered_trick_composes_with_the_others(probe):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    class Acc:
        backward = staticmethod(lambda loss: loss.backward())

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=60, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=3
    )
    model = transformers.BertForSequenceClassification(config)
    ids = torch.randint(5, 60, (4, 10), generator=torch.Generator().manual_seed(1))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.tensor([0, 1, 2, 1])}
    ts = build_tricks({"tricks": {"probe": {"weight": 0.5}, "rdrop": 4}}, "classification", 3)
    assert ts.enabled == ["probe", "rdrop"] and list(ts.hooks) == ["rdrop", "probe"]  # step order
    assert ts.passes_per_sample == 2.0
    assert ts.describe() == "probe(weight=0.5, label=x), rdrop(alpha=4.0)"
    terms = ts.train_step(model, batch, Acc)
    probe_trick = ts.hook("probe")
    assert probe_trick is BUILT[-1] and probe_trick.begun == 1 and probe_trick.parts_seen == 2
    assert set(terms) == {"kl", "probe", "ce", "loss"}
    assert torch.allclose(terms["probe"], 0.5 * terms["ce"])
    assert torch.allclose(terms["loss"], terms["ce"] + 4 * terms["kl"])  # the probe adds nothing
    ts.after_optimizer_step(model, 1)
    assert ts.finalize(model) is model and probe_trick.steps == [1] and probe_trick.finalized == 1


def test_a_registered_trick_trains_end_to_end(probe, data, train, tmp_path):
    """Through ``python -m trainers.text``'s main (in this process): check, build, train, finalize."""
    pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    train_file, dev_file = data("classification", 64, 32)
    flags = tiny_flags(train_file=str(train_file), eval_file=str(dev_file), max_steps=4, log_steps=2, batch_size=8)
    final = train(tmp_path / "run", **flags, **{"tricks.probe.weight": 2})
    assert "eval_accuracy" in final and final["train_steps"] == 4
    (trick,) = BUILT
    assert trick.steps == [1, 2, 3, 4] and trick.finalized == 1
    logged = [row for row in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "train_probe" in row]
    assert [row["step"] for row in logged] == [2, 4]
    assert all(row["train_probe"] == pytest.approx(2 * row["train_ce"]) for row in logged)
