"""trainers/tasks/seq2seq.py: task=seq2seq overfits a tiny reverse task; the saved folder evaluates alone."""

from __future__ import annotations

from trainer_helpers import WIDE, read_jsonl, tiny_flags

from trainers import synth


def test_seq2seq_overfits_reverse_task(tmp_path, train):
    rows = synth.seq2seq(50, seed=0, kind="reverse")
    path = tmp_path / "pairs.tsv"
    path.write_text("text\ttarget\n" + "".join(f"{r['text']}\t{r['target']}\n" for r in rows))
    flags = tiny_flags(
        **WIDE,
        task="seq2seq",
        train_file=str(path),
        eval_file=str(path),
        batch_size=10,
        max_seq_length=32,
        max_target_length=12,
        num_beams=2,
        lr=3e-3,
        epochs=60,
        log_steps=50,
    )
    m = train(tmp_path / "out", stage="converge", **flags)
    assert m["eval_bleu"] > 0.9 and m["eval_rouge_l"] > 0.9 and "eval_bleu_beam" in m
    preds = read_jsonl(tmp_path / "out" / "predictions.jsonl")
    assert len(preds) == 50 and {"text", "target", "pred", "pred_beam"} <= set(preds[0])
    assert sum(p["pred"] == p["target"] for p in preds) >= 45
    # the saved folder evaluates alone (model=<folder> path, targets encoded as in training)
    ev = train(
        tmp_path / "ev",
        task="seq2seq",
        do_train=False,
        init_from=str(tmp_path / "out" / "checkpoints" / "best"),
        eval_file=str(path),
        max_target_length=12,
        num_beams=1,
        eval_batch_size=32,
    )
    assert ev["eval_bleu"] == m["eval_bleu"] and abs(ev["eval_loss"] - m["eval_loss"]) < 1e-4
