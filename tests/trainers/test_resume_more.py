"""Resume beyond the classification loop: seq2seq and span (trainers/tasks/seq2seq.py, span.py) crash after a
state checkpoint and continue with resume=auto; a new run resumes another run's newest
complete checkpoint (its folder, or its run id through a real expctl project); the errors
for a ref that names nothing resumable are one line."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from trainer_helpers import as_argv, read_jsonl, tiny_flags, train_cli

from trainers import synth

CRASH = 3  # the exit code of debug_stop_after_step


def _seq2seq_flags(tmp) -> dict:
    # 40 pairs / batch 8 -> 5 updates per epoch, 30 in all; state saved at 4, 8, 12, ...
    tmp.mkdir(parents=True, exist_ok=True)
    rows = synth.seq2seq(40, seed=0, kind="copy", max_len=4)
    path = tmp / "pairs.tsv"
    path.write_text("text\ttarget\n" + "".join(f"{r['text']}\t{r['target']}\n" for r in rows))
    return tiny_flags(
        task="seq2seq",
        train_file=str(path),
        eval_file=str(path),
        max_eval_samples=12,
        batch_size=8,
        max_seq_length=16,
        max_target_length=8,
        num_beams=2,
        epochs=6,
        lr=1e-2,
        dropout=0.1,
        save_steps=4,
        keep_last=10,
        eval_steps=5,
        log_steps=1,
        metric_for_best="exact_match",
        cache_dir=str(tmp / "cache"),
    )


def _run(flags: dict, out, env_dir, **extra):
    return train_cli(
        *as_argv({**flags, "output_dir": str(out), **extra}), env={"XDG_CACHE_HOME": str(env_dir / "xdg")}, cwd=env_dir
    )


def _assert_continues_like(full, resumed, resume_step: int, total: int, keys: list[str]) -> None:
    """``resumed`` (after its last resumed_from_step line) has the losses and evals of the
    uninterrupted ``full`` run, and the same final metrics."""
    lines = read_jsonl(resumed / "metrics.jsonl")
    at = max(i for i, ln in enumerate(lines) if "resumed_from_step" in ln)
    assert lines[at]["step"] == resume_step == lines[at]["resumed_from_step"]
    after = lines[at + 1 :]
    ref = read_jsonl(full / "metrics.jsonl")
    ref_loss = {ln["step"]: ln["train_loss"] for ln in ref if "train_loss" in ln}
    steps = [ln["step"] for ln in after if "train_loss" in ln]
    assert steps == list(range(resume_step + 1, total + 1))
    for ln in after:
        if "train_loss" in ln:
            assert ln["train_loss"] == pytest.approx(ref_loss[ln["step"]], rel=1e-4, abs=1e-5), ln["step"]
    ref_eval = {ln["step"]: ln for ln in ref if "eval_loss" in ln}
    evals = [ln for ln in after if "eval_loss" in ln]
    assert evals and [ln["step"] for ln in evals] == [s for s in sorted(ref_eval) if s > resume_step]
    for ln in evals:
        assert ln["eval_loss"] == pytest.approx(ref_eval[ln["step"]]["eval_loss"], rel=1e-4)
    m_full = json.loads((full / "metrics.json").read_text())
    m_res = json.loads((resumed / "metrics.json").read_text())
    assert m_res["train_steps"] == m_full["train_steps"] == total
    for k in keys + ["eval_loss", "train_loss"]:
        assert m_res[k] == pytest.approx(m_full[k], rel=1e-4, abs=1e-6), k
    assert (m_res.get("best_step"), m_res.get("best_" + keys[0])) == (
        m_full.get("best_step"),
        pytest.approx(m_full.get("best_" + keys[0])),
    )


@pytest.fixture(scope="module")
def seq2seq_runs(tmp_path_factory):
    """An uninterrupted seq2seq run and a pristine copy of one that crashed at step 14 (newest
    complete checkpoint: step 12, mid-epoch 2): shared by the two tests below."""
    tmp = tmp_path_factory.mktemp("seq2seq")
    flags = _seq2seq_flags(tmp)
    full, crash = tmp / "full", tmp / "crash"
    ref = _run(flags, full, tmp)
    assert ref.returncode == 0, ref.stderr[-3000:]
    first = _run(flags, crash, tmp, debug_stop_after_step=14)
    assert first.returncode == CRASH, first.stderr[-3000:]
    assert not (crash / "metrics.json").exists()
    manifest = json.loads((crash / "checkpoints.json").read_text())
    assert manifest["resume_from"] == "checkpoints/step-12"
    assert manifest["all"] == ["checkpoints/step-4", "checkpoints/step-8", "checkpoints/step-12"]
    return flags, full, crash


def test_seq2seq_kill_then_resume_auto(seq2seq_runs, tmp_path):
    flags, full, pristine = seq2seq_runs
    crash = tmp_path / "crash"
    shutil.copytree(pristine, crash)
    again = _run(flags, crash, tmp_path, resume="auto")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed from checkpoints/step-12 at step 12 (epoch 2, skipping 2 batch(es) of it)" in again.stdout
    _assert_continues_like(full, crash, 12, 30, ["eval_exact_match", "eval_rouge_l", "eval_bleu", "eval_rouge_l_beam"])
    assert read_jsonl(crash / "predictions.jsonl") == read_jsonl(full / "predictions.jsonl")
    manifest = json.loads((crash / "checkpoints.json").read_text())
    assert manifest["resume_from"] == "checkpoints/step-30" and manifest["last"] == "checkpoints/last"
    assert manifest["resumed_from"] == str(crash / "checkpoints" / "step-12")
    assert manifest["best_step"] == json.loads((full / "checkpoints.json").read_text())["best_step"]


def test_resume_from_another_run_folder(seq2seq_runs, tmp_path):
    """Run B, in its own folder, continues crashed run A (resume = A's run folder); A is untouched."""
    flags, full, run_a = seq2seq_runs
    before = sorted(p.name for p in (run_a / "checkpoints").iterdir())
    run_b = tmp_path / "b"
    again = _run(flags, run_b, tmp_path, resume=str(run_a))
    assert again.returncode == 0, again.stderr[-3000:]
    src = run_a / "checkpoints" / "step-12"
    assert f"resumed from {src} at step 12 (epoch 2, skipping 2 batch(es) of it)" in again.stdout
    assert "WARNING: resume" not in again.stdout  # the same plan as A's
    _assert_continues_like(full, run_b, 12, 30, ["eval_exact_match", "eval_rouge_l", "eval_bleu"])
    assert sorted(p.name for p in (run_a / "checkpoints").iterdir()) == before
    assert not (run_a / "metrics.json").exists()
    manifest = json.loads((run_b / "checkpoints.json").read_text())
    assert manifest["resumed_from"] == str(src)
    assert manifest["all"] == [
        "checkpoints/step-16",
        "checkpoints/step-20",
        "checkpoints/step-24",
        "checkpoints/step-28",
        "checkpoints/step-30",
    ]
    # the best model so far (exact match stays 0 in 30 updates: the first eval, step 5) is A's: B copies it
    assert json.loads((full / "metrics.json").read_text())["best_step"] == 5
    assert f"copied {run_a / 'checkpoints' / 'best'} (best eval_exact_match 0.0000 at step 5)" in again.stdout
    assert manifest["best"] == "checkpoints/best" and manifest["best_step"] == 5
    assert (run_b / "checkpoints" / "best" / "config.json").is_file()
    # the run folder, its checkpoints/ folder and the checkpoint folder itself name the same state
    from trainers.checkpoints import find_resume

    for ref in (run_a, run_a / "checkpoints", src):
        assert find_resume(str(ref), str(run_b / "checkpoints"), _Log()) == str(src)


def test_resume_with_another_batch_plan_warns(seq2seq_runs, tmp_path):
    """What the continuation depends on is stored with each state checkpoint: a resume under a
    different batch size or seed says so (once per differing key) and still runs."""
    flags, _, run_a = seq2seq_runs
    again = _run({**flags, "batch_size": 4, "seed": 7, "max_steps": 13}, tmp_path / "c", tmp_path, resume=str(run_a))
    assert again.returncode == 0, again.stderr[-3000:]
    warnings = [ln for ln in again.stdout.splitlines() if "WARNING: resume:" in ln]
    assert any("batch_size was 8 in the checkpoint's run and is 4 now" in w for w in warnings)
    assert any("seed was 42 in the checkpoint's run and is 7 now" in w for w in warnings)
    assert any("steps_per_epoch was 5" in w for w in warnings) and any("total_steps was 30" in w for w in warnings)
    assert not any("train_file" in w or "task" in w for w in warnings)


def test_span_kill_then_resume_auto(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(synth.span_squad(24, seed=0, context_words=(15, 40))))
    # 24 questions, several windows each (batch 8: read back from the log below); state at 5, 10; crash at 12
    flags = tiny_flags(
        task="span",
        train_file=str(path),
        eval_file=str(path),
        max_eval_samples=12,
        max_seq_length=32,
        doc_stride=8,
        batch_size=8,
        epochs=3,
        lr=3e-3,
        dropout=0.1,
        save_steps=5,
        keep_last=10,
        eval_steps=4,
        log_steps=1,
        cache_dir=str(tmp_path / "cache"),
    )
    full, crash = tmp_path / "full", tmp_path / "crash"
    ref = _run(flags, full, tmp_path)
    assert ref.returncode == 0, ref.stderr[-3000:]
    per_epoch = int(ref.stdout.split(" updates/epoch")[0].rsplit(" ", 1)[1])
    total = json.loads((full / "metrics.json").read_text())["train_steps"]
    assert total == 3 * per_epoch and per_epoch > 5, ref.stdout
    first = _run(flags, crash, tmp_path, debug_stop_after_step=12)
    assert first.returncode == CRASH, first.stderr[-3000:]
    assert json.loads((crash / "checkpoints.json").read_text())["resume_from"] == "checkpoints/step-10"
    again = _run(flags, crash, tmp_path, resume="auto")
    assert again.returncode == 0, again.stderr[-3000:]
    epoch, skip = divmod(10, per_epoch)
    assert (
        f"resumed from checkpoints/step-10 at step 10 (epoch {epoch}, skipping {skip} batch(es) of it)" in again.stdout
    )
    _assert_continues_like(full, crash, 10, total, ["eval_f1", "eval_exact_match"])
    assert [p["pred"] for p in read_jsonl(crash / "predictions.jsonl")] == [
        p["pred"] for p in read_jsonl(full / "predictions.jsonl")
    ]


class _Log:
    def __init__(self):
        self.lines: list[str] = []

    def log(self, msg: str) -> None:
        self.lines.append(msg)


def _one_line_error(proc, *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: resume="), proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_resume_errors_are_one_line(tmp_path, data):
    train_path, eval_path = data("classification", n_train=48, n_eval=11)
    flags = tiny_flags(
        train_file=str(train_path), eval_file=str(eval_path), epochs=1, cache_dir=str(tmp_path / "cache")
    )
    env = {"EXPCTL_PROJECT_ROOT": str(tmp_path)}  # not an expctl project: `expctl show` fails
    # a ref that is neither a folder nor a run
    bad = train_cli(
        *as_argv({**flags, "output_dir": str(tmp_path / "x"), "resume": "no-such-run-7f3a"}), env=env, cwd=tmp_path
    )
    _one_line_error(bad, "no-such-run-7f3a", "not a folder", "expctl show")
    assert not (tmp_path / "x" / "metrics.json").exists()
    # a run that crashed before its first state checkpoint (and a torn one: no COMPLETE marker)
    crashed = tmp_path / "crashed"
    first = train_cli(
        *as_argv({**flags, "output_dir": str(crashed), "debug_stop_after_step": 2}), env=env, cwd=tmp_path
    )
    assert first.returncode == CRASH, first.stderr[-3000:]
    torn = crashed / "checkpoints" / "step-2"
    torn.mkdir(parents=True)
    (torn / "model.safetensors").write_bytes(b"half")
    bad = train_cli(
        *as_argv({**flags, "output_dir": str(tmp_path / "y"), "resume": str(crashed)}), env=env, cwd=tmp_path
    )
    _one_line_error(bad, str(crashed), "no complete checkpoint")
    from trainers.checkpoints import find_resume
    from trainers.loop import TrainerError

    with pytest.raises(TrainerError, match="not a complete checkpoint folder"):
        find_resume(str(torn), str(tmp_path / "z" / "checkpoints"), _Log())
    log = _Log()
    assert find_resume("auto", str(crashed / "checkpoints"), log) is None  # auto: a fresh start, said so
    assert "no complete checkpoint" in log.lines[0]


def test_resume_by_run_id_through_real_expctl(builtin_project, expctl):
    """`expctl run -s resume=<id of a crashed run>`: the new run continues from that run's newest
    complete checkpoint, writing into its own folder."""
    repo = builtin_project
    # 120 / 16 -> 8 updates per epoch, 16 in all; state at 5 and 10; crash at 12
    common = [
        "--stage",
        "smoke",
        "-s",
        "tiny.hidden_size=32",
        "-s",
        "tiny.intermediate_size=64",
        "-s",
        "batch_size=16",
        "-s",
        "epochs=2",
        "-s",
        "save_steps=5",
        "-s",
        "log_steps=1",
        "-s",
        "eval_steps=0",
        "-s",
        "dropout=0.1",
    ]
    first = expctl(repo, "run", *common, "-s", "debug_stop_after_step=12")
    assert first.returncode != 0
    run_a = json.loads(expctl(repo, "runs", "--json", check=True).stdout)[0]["id"]
    assert f"continue with `expctl run --resume {run_a}`" in first.stderr  # it left state checkpoints
    shown = json.loads(expctl(repo, "show", run_a, "--json", check=True).stdout)
    dir_a = shown["run_dir"]
    assert shown["checkpoints"]["resume_from"] == "checkpoints/step-10"

    second = expctl(repo, "run", *common, "-s", f"resume={run_a}", check=True)
    run_b = json.loads(expctl(repo, "runs", "--json", check=True).stdout)[0]["id"]
    assert run_b != run_a
    dir_b = json.loads(expctl(repo, "show", run_b, "--json", check=True).stdout)["run_dir"]
    src = os.path.join(dir_a, "checkpoints", "step-10")
    log = second.stdout + second.stderr + open(os.path.join(dir_b, "train.log")).read()
    assert f"resumed from {src} at step 10 (epoch 1, skipping 2 batch(es) of it)" in log
    lines_b = read_jsonl(os.path.join(dir_b, "metrics.jsonl"))
    assert [ln for ln in lines_b if "resumed_from_step" in ln] == [{"step": 10, "resumed_from_step": 10}]
    # A ran on to step 12 before it crashed: B's steps 11 and 12 are A's
    loss_a = {
        ln["step"]: ln["train_loss"] for ln in read_jsonl(os.path.join(dir_a, "metrics.jsonl")) if "train_loss" in ln
    }
    loss_b = {ln["step"]: ln["train_loss"] for ln in lines_b if "train_loss" in ln}
    assert sorted(loss_b) == list(range(11, 17))
    for s in (11, 12):
        assert loss_b[s] == pytest.approx(loss_a[s], rel=1e-4, abs=1e-5)
    assert json.loads(open(os.path.join(dir_b, "metrics.json")).read())["train_steps"] == 16
    manifest = json.loads(open(os.path.join(dir_b, "checkpoints.json")).read())
    assert manifest["resumed_from"] == src and manifest["resume_from"] == "checkpoints/step-16"
    assert sorted(os.listdir(os.path.join(dir_a, "checkpoints"))) == ["step-10", "step-5"]  # A untouched
    # the same through `expctl run --resume A`: A's stage and settings (its crash switched off with -s)
    third = expctl(repo, "run", "--resume", run_a, "-s", "debug_stop_after_step=0", check=True)
    run_c = json.loads(expctl(repo, "runs", "--json", check=True).stdout)[0]
    assert run_c["resumes"] == run_a and run_c["stage"] == "smoke" and run_c["settings"]["resume"] == run_a
    assert run_c["settings"]["save_steps"] == 5 and run_c["settings"]["tiny"]["hidden_size"] == 32
    assert f"resumed from {src} at step 10" in third.stdout + third.stderr
    lines_c = read_jsonl(os.path.join(repo, "runs", run_c["id"], "metrics.jsonl"))
    loss_c = {ln["step"]: ln["train_loss"] for ln in lines_c if "train_loss" in ln}
    assert loss_c == pytest.approx(loss_b, rel=1e-5, abs=1e-6)  # B and C: the same continuation
    # the trainer alone in the project: a ref expctl does not know is one line
    bad = train_cli(
        "--resume",
        "no-such-run",
        "--train_file",
        "data/train.tsv",
        "--eval_file",
        "data/dev.tsv",
        "--output_dir",
        str(repo / "out"),
        cwd=repo,
    )
    _one_line_error(bad, "no-such-run")
