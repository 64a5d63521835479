"""Settings checked before a run exists: `init --trainer builtin` sets project.check to the
trainer's torch-free validation, and `expctl run` runs it before any snapshot or record."""

from __future__ import annotations

import subprocess
import time

import pytest


def _refs(repo) -> list[str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/expctl/"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_init_builtin_declares_the_check(builtin_project):
    text = (builtin_project / "expctl.toml").read_text()
    assert 'check = "python3 -m trainers.text --check"' in text


@pytest.mark.parametrize(
    "assignment,message",
    [
        ("lr=abc", "lr 'abc': expected a number or 'auto'"),
        ("crf=true", "crf=true is a sequence-labeling output layer"),
        ("tricks.mixup.alpha=abc", "tricks.mixup.alpha must be a number"),
        ("tricks.long_text.strategy=windows", "strategy=windows is not supported"),
        ("train_file=data/trian.tsv", "train_file data/trian.tsv: file not found (relative to the project root"),
        ("eval_file=data", "eval_file data: is a folder, not a data file"),
        ("eval_file=", "eval_file is not set"),
    ],
)
def test_bad_setting_is_one_line_and_leaves_no_record(builtin_project, expctl, assignment, message):
    t0 = time.perf_counter()
    proc = expctl(builtin_project, "run", "-s", assignment)
    took = time.perf_counter() - t0
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert "no run was recorded" in lines[0]
    assert _refs(builtin_project) == []  # no run record, no snapshot ref
    runs = builtin_project / "runs"
    assert not runs.exists() or not any(runs.iterdir())
    assert took < 30  # a pre-flight: no torch import, no data read (generous for a loaded machine)


def test_good_settings_pass_the_check_and_run(builtin_project, expctl):
    proc = expctl(
        builtin_project,
        "run",
        "--stage",
        "smoke",
        "-s",
        "max_train_samples=40",
        "-s",
        "max_eval_samples=20",
        "-s",
        "tiny.hidden_size=16",
        "-s",
        "tiny.intermediate_size=32",
        "-s",
        "tiny.num_heads=2",
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len([r for r in _refs(builtin_project) if r.startswith("refs/expctl/runs/")]) == 1


def test_the_trainer_check_imports_no_torch(tmp_path):
    import sys

    code = (
        "import sys; from trainers.text import main; rc = main(['--check', '--task', 'ner', '--model', 'bilstm', "
        "'--crf', 'true', '--tricks.rdrop.alpha', '1']); "
        "heavy = [m for m in ('torch', 'transformers', 'accelerate') if m in sys.modules]; "
        "print(rc, heavy); sys.exit(rc or bool(heavy))"
    )
    (tmp_path / "data").mkdir()
    for name in ("train.tsv", "dev.tsv"):  # the check looks for the data files (it does not read them)
        (tmp_path / "data" / name).write_text("")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "0 []", proc.stdout + proc.stderr
