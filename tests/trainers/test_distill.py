"""trainers/tricks/distill.py: the frozen teacher, the distillation loss, teacher ids and precomputed logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import torch.nn.functional as F  # noqa: E402
from trainer_helpers import Acc, make_batch, tiny  # noqa: E402

from trainers.tricks import base_loss, build_tricks, model_inputs  # noqa: E402


def test_distillation_freezes_teacher_and_alpha_zero_is_ce(tmp_path):
    teacher = tiny(seed=5)
    teacher.save_pretrained(tmp_path / "teacher")
    model, batch = tiny(), make_batch()
    ts = build_tricks(
        {"tricks": {"distill": {"teacher": str(tmp_path / "teacher"), "alpha": 0.0}}}, "classification", 3
    )
    t = ts.distiller.teacher
    assert not t.training and not any(p.requires_grad for p in t.parameters())
    terms = ts.train_step(model, batch, Acc)
    assert all(p.grad is None for p in t.parameters())
    plain = base_loss(model(**model_inputs(batch)).logits, batch["labels"], "classification")
    assert torch.allclose(terms["loss"], plain, atol=1e-6)
    assert terms["kd"].item() > 0


def test_distillation_loss_matches_formula(tmp_path):
    teacher = tiny(seed=5)
    model, batch = tiny(), make_batch()
    # the path form, loaded through the loop's context["load_model"]
    teacher.save_pretrained(tmp_path / "t")
    ts = build_tricks(
        {"tricks": {"distill": {"teacher": str(tmp_path / "t"), "alpha": 0.7, "temperature": 3.0}}},
        "classification",
        3,
        {"load_model": lambda path: teacher},
    )
    assert ts.distiller.teacher is teacher
    loss, _ = ts.compute_loss(model, batch)
    zs = model(**model_inputs(batch)).logits
    with torch.no_grad():
        zt = teacher(**model_inputs(batch)).logits
    kd = F.kl_div(F.log_softmax(zs / 3, -1), F.softmax(zt / 3, -1), reduction="batchmean") * 9
    hand = 0.3 * F.cross_entropy(zs, batch["labels"]) + 0.7 * kd
    assert torch.allclose(loss, hand, atol=1e-5)


def test_teacher_run_id_is_resolved_through_expctl_show(repo, monkeypatch):
    """A teacher given as a run id or tag: its best checkpoint from the real record (`expctl show`)."""
    from tests.conftest import commit_project, run_expctl
    from trainers.tricks import distill

    program = (
        "import json, os\n"
        "from expctl import track\n"
        "best = os.path.join(track.run_dir(), 'checkpoints', 'best')\n"
        "os.makedirs(best)\n"
        "json.dump({'best': best}, open(os.path.join(track.run_dir(), 'checkpoints.json'), 'w'))\n"
        "track.log_final(acc=0.9)\n"
    )
    commit_project(repo, program, '[project]\nname = "teacher"\ncommand = "python3 train.py"\nprimary_metric = "acc"\n')
    run_expctl(repo, "run", check=True)
    run_expctl(repo, "tag", "teacher", check=True)
    run_id = run_expctl(repo, "show", "teacher", "--json", check=True)
    record = json.loads(run_id.stdout)
    monkeypatch.chdir(repo)
    for ref in (record["id"], "teacher"):
        found = distill.resolve_teacher_path(ref)
        assert found == Path(record["checkpoints"]["best"]) and found.is_dir() and found.name == "best"
    with pytest.raises(distill.TeacherError, match="expctl show"):
        distill.resolve_teacher_path("no-such-run")


def test_precomputed_teacher_logits_are_used(tmp_path):
    from trainers.tricks.distill import precompute_teacher_logits

    teacher, model = tiny(seed=5), tiny()
    batch = make_batch()
    batch["index"] = torch.tensor([3, 0, 2, 1])
    precompute_teacher_logits(teacher, [batch], tmp_path / "logits.pt")
    ts = build_tricks(
        {"tricks": {"distill": {"logits_file": str(tmp_path / "logits.pt"), "alpha": 1.0}}}, "classification", 3
    )
    assert ts.teacher_forwards_per_sample == 0
    loss, _ = ts.compute_loss(model, batch)
    zs = model(**model_inputs(batch)).logits
    with torch.no_grad():
        zt = teacher(**model_inputs(batch)).logits
    kd = F.kl_div(F.log_softmax(zs / 2, -1), F.softmax(zt / 2, -1), reduction="batchmean") * 4
    assert torch.allclose(loss, kd, atol=1e-5)
