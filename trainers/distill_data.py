"""Data distillation (a fast student learns from a teacher's labels): a fine-tuned teacher labels augmented / unlabeled text.

::

    python -m trainers.distill_data --teacher RUN_OR_FOLDER --in data/train.tsv --out data/distilled.tsv \\
        [--n_aug 4] [--p_unk 0.1] [--p_replace 0.1] [--unlabeled data/unlabeled.txt] [--seed 0]
    python -m trainers.distill_data --compare teacher=FOLDER student=FOLDER baseline=FOLDER --eval_file data/dev.tsv

Step 2 of the seed's three (fine-tune the teacher; label augmented data with it; train a
small student on original + teacher-labeled data). Each input example yields ``n_aug``
augmented texts, each made by one of three strategies in turn:

* ``unk`` - every word becomes ``[UNK]`` with probability ``p_unk`` (noise);
* ``replace`` - every word is replaced, with probability ``p_replace``, by a random word of
  the same *class*: the vocabulary of the training examples that carry the same label
  (the seed replaces words of the same part of speech; without a tagger the label class
  is the data's own notion of "same kind of word");
* ``span`` - n-sampling: a random contiguous span of length m in [1, len] words.

The teacher (``checkpoints/best`` of a run, a tag, or any HF classification folder) labels
every augmented text (hard labels, as in the seed) and the optional ``--unlabeled`` texts
(one per line, or the first column of a tsv). The output tsv (``text<TAB>label``, a header)
holds the original examples with their gold labels (``--original gold``; ``teacher``
relabels them, ``none`` drops them) followed by the teacher-labeled ones, so the student
trains with ``train_file=<out>``. Through expctl: ``expctl run -s distill_data.teacher=RUN -s distill_data.out=data/distilled.tsv``
(``python -m trainers.text`` with ``distill_data.teacher`` set runs this step instead of
training; ``train_file`` is the input), then ``expctl run -s train_file=data/distilled.tsv
...`` for the student: the file is a fingerprinted data version of the student's runs. Under expctl it also writes
``metrics.json`` (counts, teacher agreement with the gold labels on the originals).

``--compare`` evaluates several model folders on one file: accuracy and samples/s each,
and the speed ratio of every model to the first (``teacher=``) one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainers.settings import Settings

UNK = "[UNK]"
STRATEGIES = ("unk", "replace", "span")


def augment(
    examples: list[tuple[str, str]], n_aug: int, p_unk: float, p_replace: float, seed: int, strategies=STRATEGIES
) -> list[tuple[str, str, str]]:
    """(augmented text, strategy, source label) for every example, ``n_aug`` each, seeded."""
    rng = random.Random(f"distill-{seed}")
    vocab: dict[str, list[str]] = {}
    for text, label in examples:
        vocab.setdefault(label, [])
        vocab[label].extend(text.split())
    vocab = {lab: sorted(set(ws)) for lab, ws in vocab.items()}
    out = []
    for i, (text, label) in enumerate(examples):
        words = text.split()
        if not words:
            continue
        for j in range(n_aug):
            how = strategies[(i + j) % len(strategies)]
            if how == "unk":
                new = [UNK if rng.random() < p_unk else w for w in words]
            elif how == "replace":
                pool = vocab.get(label) or words
                new = [rng.choice(pool) if rng.random() < p_replace else w for w in words]
            else:
                m = rng.randint(1, len(words))
                start = rng.randint(0, len(words) - m)
                new = words[start : start + m]
            out.append((" ".join(new), how, label))
    return out


def resolve_teacher(ref: str) -> str:
    from trainers.loop import resolve_init_from

    return resolve_init_from(ref)


def load_model(folder: str):
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    from trainers.nets import register

    register()  # a bow / cnn / bilstm teacher loads too
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    return model, tok


def predict(model, tok, texts: list[str], batch_size: int = 64, max_length: int = 128) -> tuple[list[str], float]:
    """Hard labels for ``texts`` and the samples/s of the prediction."""
    import torch

    id2label = {int(k): v for k, v in model.config.id2label.items()}
    out: list[str] = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            enc = tok(
                texts[s : s + batch_size], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            out.extend(id2label[i] for i in model(**enc).logits.argmax(-1).tolist())
    dt = time.perf_counter() - t0
    return out, (len(texts) / dt if dt > 0 else 0.0)


def read_labeled(path: str, args) -> list[tuple[str, str]]:
    from trainers.data.formats import iter_examples

    return [
        (ex.text, ex.label)
        for ex in iter_examples(path, "classification", text_column=args.text_column, label_column=args.label_column)
    ]


def read_unlabeled(path: str) -> list[str]:
    texts = []
    with open(path, encoding="utf-8-sig") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.strip():
                texts.append(line.split("\t")[0])
    return texts


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def distill(args) -> dict:
    teacher = resolve_teacher(args.teacher)
    model, tok = load_model(teacher)
    original = read_labeled(_path(args.inp), args)
    if not original:
        raise ValueError(f"{args.inp}: no examples")
    aug = augment(original, args.n_aug, args.p_unk, args.p_replace, args.seed)
    extra = read_unlabeled(_path(args.unlabeled)) if args.unlabeled else []
    texts = [t for t, _, _ in aug] + extra
    labels, sps = predict(model, tok, texts, max_length=args.max_length)
    orig_pred, _ = predict(model, tok, [t for t, _ in original], max_length=args.max_length)
    agree = sum(a == b for a, (_, b) in zip(orig_pred, original)) / len(original)
    rows: list[tuple[str, str]] = []
    if args.original == "gold":
        rows += original
    elif args.original == "teacher":
        rows += [(t, p) for (t, _), p in zip(original, orig_pred)]
    rows += list(zip(texts, labels))
    out = _path(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "w", encoding="utf-8") as fh:
        fh.write("text\tlabel\n")
        for text, lab in rows:
            fh.write(f"{_clean(text)}\t{lab}\n")
    os.replace(out + ".tmp", out)
    changed = sum(lab != src for lab, (_, _, src) in zip(labels, aug))
    stats = {
        "distill_original": len(original) if args.original != "none" else 0,
        "distill_augmented": len(aug),
        "distill_unlabeled": len(extra),
        "distill_rows": len(rows),
        "teacher_agreement_on_original": agree,
        "teacher_relabelled_fraction": changed / max(1, len(aug)),
        "teacher_samples_per_s": sps,
    }
    for how in STRATEGIES:
        stats[f"distill_{how}"] = sum(1 for _, h, _ in aug if h == how)
    print(
        f"[distill] teacher {teacher}: labeled {len(texts)} texts ({len(aug)} augmented, {len(extra)} unlabeled); "
        f"wrote {len(rows)} rows to {out}; teacher agrees with gold on {agree:.1%} of the originals",
        flush=True,
    )
    _write_outputs(stats)
    return stats


def compare(specs: list[str], eval_file: str, args) -> dict:
    """Accuracy and samples/s of each ``name=folder`` on ``eval_file``; speed ratios to the first."""
    gold = read_labeled(_path(eval_file), args)
    texts = [t for t, _ in gold]
    res: dict[str, float] = {}
    first = None
    for spec in specs:
        name, _, ref = spec.partition("=")
        if not ref:
            raise ValueError(f"--compare {spec!r}: expected name=folder")
        model, tok = load_model(resolve_teacher(ref))
        predict(model, tok, texts[:8], max_length=args.max_length)  # warm-up
        pred, sps = predict(model, tok, texts, max_length=args.max_length)
        res[f"{name}_accuracy"] = sum(p == g for p, (_, g) in zip(pred, gold)) / max(1, len(gold))
        res[f"{name}_samples_per_s"] = sps
        res[f"{name}_parameters"] = float(sum(p.numel() for p in model.parameters()))
        if first is None:
            first = name
        res[f"{name}_speedup_vs_{first}"] = sps / res[f"{first}_samples_per_s"] if res[f"{first}_samples_per_s"] else 0
        print(
            f"[distill] {name}: accuracy {res[f'{name}_accuracy']:.4f}, {sps:.0f} samples/s, "
            f"{res[f'{name}_speedup_vs_{first}']:.2f}x the speed of {first}",
            flush=True,
        )
    _write_outputs(res)
    return res


def _path(p: str) -> str:
    root = os.environ.get("EXPCTL_PROJECT_ROOT") or os.getcwd()
    return p if os.path.isabs(p) else os.path.join(root, p)


def _write_outputs(stats: dict) -> None:
    run_dir = os.environ.get("EXPCTL_RUN_DIR")
    if not run_dir:
        return
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as fh:
        json.dump(stats, fh, indent=2)
    metrics = os.environ.get("EXPCTL_METRICS")
    if metrics:
        with open(metrics, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(stats) + "\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainers.distill_data", description=__doc__.split("\n")[0])
    p.add_argument("--teacher", help="teacher: run id, tag, or HF classification folder")
    p.add_argument("--in", dest="inp", help="labeled input (the teacher's training data)")
    p.add_argument("--out", help="output tsv: originals + teacher-labeled texts")
    p.add_argument("--unlabeled", default="", help="extra unlabeled texts (one per line / first tsv column)")
    p.add_argument("--n_aug", type=int, default=4, help="augmented texts per input example")
    p.add_argument("--p_unk", type=float, default=0.1, help="probability of a word becoming [UNK]")
    p.add_argument("--p_replace", type=float, default=0.1, help="probability of a same-class word replacement")
    p.add_argument(
        "--original",
        choices=("gold", "teacher", "none"),
        default="gold",
        help="originals in the output: gold labels, teacher labels, or left out",
    )
    p.add_argument("--text_column", default="text")
    p.add_argument("--label_column", default="label")
    p.add_argument("--max_length", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--compare",
        nargs="+",
        default=None,
        metavar="NAME=FOLDER",
        help="instead: compare model folders on --eval_file (accuracy, samples/s, speed ratio)",
    )
    p.add_argument("--eval_file", default="")
    return p


def args_from_settings(settings: Settings) -> argparse.Namespace:
    """The arguments of :func:`distill` from trainer settings (``distill_data.*`` + ``train_file``)."""
    d = settings.distill_data
    return parser().parse_args(
        [
            "--teacher",
            str(d.teacher),
            "--in",
            str(settings.train_file),
            "--out",
            str(d.out),
            "--n_aug",
            str(d.n_aug),
            "--p_unk",
            str(d.p_unk),
            "--p_replace",
            str(d.p_replace),
            "--original",
            str(d.original),
            "--text_column",
            str(settings.text_column),
            "--label_column",
            str(settings.label_column),
            "--max_length",
            str(settings.max_seq_length),
            "--seed",
            str(settings.seed),
            *(["--unlabeled", str(d.unlabeled)] if d.unlabeled else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = parser().parse_args(argv)
    from trainers.data.formats import FormatError
    from trainers.loop import TrainerError

    try:
        if args.compare:
            if not args.eval_file:
                raise ValueError("--compare needs --eval_file")
            compare(args.compare, args.eval_file, args)
        else:
            if not (args.teacher and args.inp and args.out):
                raise ValueError("--teacher, --in and --out are required")
            distill(args)
    except (FormatError, TrainerError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
