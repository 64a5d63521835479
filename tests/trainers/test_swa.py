"""trainers/tricks/swa.py: the averaged weights and the SWA learning-rate schedules."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from trainer_helpers import tiny  # noqa: E402

from trainers.tricks import build_tricks  # noqa: E402


def test_swa_weights_are_the_mean_of_the_averaged_snapshots():
    model = tiny()
    ts = build_tricks({"tricks": {"swa": {"start": 3, "every": 2}}}, "classification", 3)
    snapshots = []
    for step in range(1, 10):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        if step >= 3 and (step - 3) % 2 == 0:  # steps 3, 5, 7, 9
            snapshots.append({n: p.detach().clone() for n, p in model.named_parameters()})
        ts.after_optimizer_step(model, step)
    assert ts.swa.n_averaged == 4 == len(snapshots)
    model = ts.finalize(model)
    for n, p in model.named_parameters():
        mean = torch.stack([s[n] for s in snapshots]).mean(0)
        assert torch.allclose(p, mean, atol=1e-5), n


def test_swa_sets_constant_and_cyclic_learning_rates():
    model = tiny()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    ts = build_tricks(
        {"tricks": {"swa": {"start": 2, "lr": 0.05, "anneal_steps": 1}}}, "classification", 3, {"optimizer": opt}
    )
    for step in range(1, 6):
        opt.step()
        ts.after_optimizer_step(model, step)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)

    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    ts = build_tricks(
        {"tricks": {"swa": {"start": 1, "every": 3, "lr": 0.1, "lr_min": 0.01, "strategy": "cyclic"}}},
        "classification",
        3,
    )
    ts.bind_optimizer(opt)
    lrs = []
    for step in range(1, 7):
        opt.step()
        ts.after_optimizer_step(model, step)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.055, 0.01, 0.1, 0.055, 0.01, 0.1])
    assert ts.swa.n_averaged == 2  # one snapshot per cycle, at its low-lr end
