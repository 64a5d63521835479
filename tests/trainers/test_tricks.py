"""trainers/tricks/__init__.py: the composition of the tricks (TrickSet, parse_tricks, check_settings).

Each trick's own formula is proved in its module's test file (test_rdrop.py, test_adversarial.py,
test_losses.py, test_mixup.py, test_swa.py, test_distill.py); here: plain training, the settings,
the impossible combinations and tricks trained together through accelerate.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
accelerate = pytest.importorskip("accelerate")

from trainer_helpers import Acc, fresh_accelerator, make_batch, tiny  # noqa: E402

from trainers.tricks import TrickConfigError, base_loss, build_tricks, model_inputs, parse_tricks  # noqa: E402

# --------------------------------------------------------------------------- settings


def test_no_trick_is_plain_training():
    model, batch = tiny(), make_batch()
    ts = build_tricks({}, "classification", 3)
    assert ts.enabled == [] and ts.passes_per_sample == 1.0
    terms = ts.train_step(model, batch, Acc)
    expected = base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification")
    assert torch.allclose(terms["loss"], expected)
    assert set(terms) == {"loss"}


@pytest.mark.parametrize(
    "tricks, task, message",
    [
        ({"mixup": {"alpha": 0.4}}, "ner", "mixup"),
        ({"label_smoothing": {"epsilon": 0.1}}, "multilabel", "label_smoothing"),
        ({"fgm": {"epsilon": 1}, "pgd": {"epsilon": 1}}, "classification", "at most one"),
        ({"focal": {"gamma": 2}, "label_smoothing": 0.1}, "classification", "base loss"),
        ({"rdorp": {"alpha": 4}}, "classification", "did you mean 'rdrop'"),
        ({"rdrop": {"alpah": 4}}, "classification", "did you mean 'alpha'"),
        ({"rdrop": {"alpha": "x"}}, "classification", "must be a number"),
        ({"eda": {"alpha": 0.1}}, "classification", "offline"),
        ({"distill": {"alpha": 0.5}}, "classification", "teacher"),
        ({"swa": {"enabled": True}}, "classification", "swa.start"),
        ({"swa": {"start": 0.5}}, "classification", "total_steps"),
        ({"focal": {"alpha": [1.0, 2.0]}}, "classification", "2 weights for 3 classes"),
        ({"distill": {"teacher": "/nonexistent/teacher-folder"}}, "classification", "teacher"),
    ],
)
def test_impossible_combinations_are_rejected(tricks, task, message, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no `expctl` to resolve a run id with
    with pytest.raises(TrickConfigError, match=message):
        build_tricks({"tricks": tricks}, task, 3)


def test_settings_forms_and_off_switches():
    assert parse_tricks({"tricks": {"rdrop": 4}}) == {"rdrop": {"alpha": 4.0}}
    assert parse_tricks({"tricks": {"rdrop": {"alpha": "2.5"}}})["rdrop"]["alpha"] == 2.5
    assert parse_tricks({"tricks": {"rdrop": {"alpha": 0}}}) == {}
    assert parse_tricks({"tricks": {"fgm": {"epsilon": 1, "enabled": "false"}}}) == {}
    assert parse_tricks({"tricks": {"pgd": {"enabled": True}}})["pgd"] == {"epsilon": 1.0, "alpha": 0.3, "steps": 3}
    ts = build_tricks({"tricks": {"rdrop": 1, "pgd": {"steps": 2}}}, "classification", 3)
    assert ts.passes_per_sample == 2 * 3


def test_options_that_cannot_be_used_are_refused(tmp_path, monkeypatch):
    """long_text.strategy=windows (not trained or predicted on) and a distill.logits_file that
    nothing would write are refused by the torch-free check, not ignored. (That a logits file
    with a teacher is written and then reused: test_skew.py.)"""
    from trainers.tricks import check_settings

    with pytest.raises(TrickConfigError, match="strategy=windows is not supported"):
        check_settings({"task": "classification", "tricks": {"long_text": {"strategy": "windows"}}})
    distill = {"task": "classification", "tricks": {"distill": {"logits_file": "cache/teacher.pt"}}}
    monkeypatch.delenv("EXPCTL_PROJECT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TrickConfigError, match="does not exist: set tricks.distill.teacher too"):
        check_settings(distill)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "teacher.pt").write_bytes(b"")
    check_settings(distill)
    monkeypatch.setenv("EXPCTL_PROJECT_ROOT", str(tmp_path))  # relative to the project root, as the run reads it
    monkeypatch.chdir(tmp_path / "cache")
    check_settings(distill)


# --------------------------------------------------------------------------- with accelerate


@pytest.mark.parametrize("task", ["classification", "ner"])
def test_rdrop_and_fgm_train_together_through_accelerate(task):
    acc = fresh_accelerator()
    model = tiny(task, dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    ts = build_tricks(
        {"tricks": {"rdrop": {"alpha": 4}, "fgm": {"epsilon": 1.0}, "swa": {"start": 2}}}, task, 3, {"accelerator": acc}
    )
    assert ts.passes_per_sample == 4
    batch = make_batch(task)
    first = None
    for step in range(1, 7):
        with acc.accumulate(model):
            terms = ts.train_step(model, batch, acc)
            opt.step()
            opt.zero_grad()
        ts.after_optimizer_step(model, step)
        assert set(terms) >= {"loss", "ce", "kl", "adv", "clean"}
        assert all(torch.isfinite(v) for v in terms.values())
        first = first if first is not None else terms["ce"].item()
    assert terms["ce"].item() < first  # it learns the (memorisable) batch
    model = ts.finalize(model)
    assert ts.swa.n_averaged == 5


def test_train_step_runs_under_bf16_autocast_on_cpu():
    acc = fresh_accelerator(mixed_precision="bf16")
    model = tiny(dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    ts = build_tricks({"tricks": {"rdrop": 1, "pgd": {"steps": 2}}}, "classification", 3)
    terms = ts.train_step(model, make_batch(), acc)
    assert torch.isfinite(terms["loss"]) and terms["loss"].dtype == torch.float32
    assert model.get_input_embeddings().weight.grad is not None
    opt.step()
    fresh_accelerator()  # leave a plain state behind for other tests


def test_every_compatible_trick_at_once(tmp_path):
    """mixup (pooled) + R-Drop + focal + distillation + PGD + SWA on a pair task, through accelerate."""
    acc = fresh_accelerator()
    tiny(seed=5).save_pretrained(tmp_path / "teacher")
    model = tiny(dropout=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    settings = {
        "tricks": {
            "mixup": {"alpha": 0.4, "mode": "pooled", "seed": 0},
            "rdrop": 2,
            "focal": 2,
            "distill": {"teacher": str(tmp_path / "teacher"), "alpha": 0.5},
            "pgd": {"steps": 2},
            "swa": {"start": 0.5, "lr": 1e-4},
        }
    }
    ts = build_tricks(settings, "pair", 3, {"accelerator": acc, "optimizer": opt, "total_steps": 4})
    assert ts.passes_per_sample == 2 * 3 and ts.teacher_forwards_per_sample == 1
    batch = make_batch("pair")
    batch["token_type_ids"][:, 5:] = 1
    for step in range(1, 5):
        with acc.accumulate(model):
            terms = ts.train_step(model, batch, acc)
            opt.step()
            opt.zero_grad()
        ts.after_optimizer_step(model, step)
        assert {"loss", "ce", "kl", "kd", "adv", "clean", "mixup_lambda"} <= set(terms)
        assert all(torch.isfinite(v) for v in terms.values())
    assert ts.swa.n_averaged == 3 and opt.param_groups[0]["lr"] == pytest.approx(1e-4)
    ts.finalize(model)
