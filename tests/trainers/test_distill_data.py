"""Data distillation: augmentations, a teacher-labeled training file, a student trained on it."""

from __future__ import annotations

import json

from trainer_helpers import tiny_flags

from trainers import distill_data


def test_augmentations_seeded_and_shaped():
    ex = [("the movie was great fun", "pos"), ("the film was awful", "neg"), ("a bad bad show", "neg")]
    a = distill_data.augment(ex, 3, p_unk=0.5, p_replace=0.5, seed=1)
    assert a == distill_data.augment(ex, 3, p_unk=0.5, p_replace=0.5, seed=1)
    assert len(a) == 9 and {h for _, h, _ in a} == {"unk", "replace", "span"}
    neg_vocab = {"the", "film", "was", "awful", "a", "bad", "show"}
    for text, how, src in a:
        words = text.split()
        source = next(t for t, lab in ex if lab == src and (how != "span" or text in t))
        if how == "span":
            assert words and text in source  # a contiguous span of a source text
        elif how == "replace" and src == "neg":
            assert set(words) <= neg_vocab  # same-class vocabulary only
        elif how == "unk":
            assert any(
                all(w == distill_data.UNK or w == o for w, o in zip(words, t.split()))
                for t, _ in ex
                if len(t.split()) == len(words)
            )


def test_distill_teacher_labels_student(tmp_path, data, train):
    tr, dev = data("classification", 120, 60)
    teacher = tmp_path / "teacher"
    tm = train(teacher, **tiny_flags(train_file=str(tr), eval_file=str(dev), epochs=6))
    out = tmp_path / "distilled.tsv"
    assert (
        distill_data.main(
            [
                "--teacher",
                str(teacher / "checkpoints" / "best"),
                "--in",
                str(tr),
                "--out",
                str(out),
                "--n_aug",
                "2",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    # the same step through the trainer's entry point (how `expctl run -s distill_data.teacher=RUN` runs it)
    from trainer_helpers import as_argv

    from trainers.text import main

    out2 = tmp_path / "distilled2.tsv"
    assert (
        main(
            as_argv(
                {
                    "train_file": str(tr),
                    "seed": 3,
                    "distill_data.teacher": str(teacher / "checkpoints" / "best"),
                    "distill_data.out": str(out2),
                    "distill_data.n_aug": 2,
                }
            )
        )
        == 0
    )
    assert out2.read_text() == out.read_text()
    lines = out.read_text().splitlines()
    assert lines[0] == "text\tlabel" and len(lines) == 1 + 120 + 240
    rows = [ln.split("\t") for ln in lines[1:]]
    # the augmented rows carry the teacher's labels, exactly
    model, tok = distill_data.load_model(str(teacher / "checkpoints" / "best"))
    labels, _ = distill_data.predict(model, tok, [t for t, _ in rows[120:]])
    assert [lab for _, lab in rows[120:]] == labels
    gold = [ln.split("\t") for ln in tr.read_text().splitlines()[1:]]
    assert [lab for _, lab in rows[:120]] == [lab for _, lab in gold]

    small = tiny_flags(
        **{"tiny.hidden_size": 16, "tiny.intermediate_size": 32, "tiny.num_layers": 1, "tiny.num_heads": 1}
    )
    sm = train(tmp_path / "student", **{**small, "train_file": str(out), "eval_file": str(dev), "epochs": 3})
    bm = train(tmp_path / "baseline", **{**small, "train_file": str(tr), "eval_file": str(dev), "epochs": 3})
    res = distill_data.compare(
        [
            f"teacher={teacher / 'checkpoints' / 'best'}",
            f"student={tmp_path / 'student' / 'checkpoints' / 'best'}",
            f"baseline={tmp_path / 'baseline' / 'checkpoints' / 'best'}",
        ],
        str(dev),
        distill_data.parser().parse_args([]),
    )
    assert abs(res["teacher_accuracy"] - tm["eval_accuracy"]) < 1e-9
    assert abs(res["student_accuracy"] - sm["eval_accuracy"]) < 1e-9
    assert abs(res["baseline_accuracy"] - bm["eval_accuracy"]) < 1e-9
    assert res["student_parameters"] < res["teacher_parameters"] and res["student_speedup_vs_teacher"] > 0
    print(json.dumps(res))
