"""Character-level Chinese NER at stage small on a CPU: BiLSTM-CRF vs the tiny BERT.

No real Chinese NER corpus is available offline, so the data come from
``trainers.synth.chinese_ner`` (5,000 train / 1,000 dev sentences, PER / LOC / ORG, dev
entities about 80% unseen in train). Each model runs the trainer's ``small`` stage with its
defaults (``lr=auto``); the figure is the final dev entity F1 (conlleval chunking)::

    python bench/bench_ner_zh.py                 # bilstm+crf, bilstm, tiny (a few minutes on 2 cores)
    python bench/bench_ner_zh.py --models bilstm+crf --epochs 3 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_one(model: str, train_path: Path, dev_path: Path, out: Path, epochs: int) -> dict:
    from accelerate.state import AcceleratorState, GradientState

    from trainers.loop import run
    from trainers.settings import resolve

    name, _, extra = model.partition("+")
    flags = [
        "--task",
        "ner",
        "--train_file",
        str(train_path),
        "--eval_file",
        str(dev_path),
        "--model",
        name,
        "--epochs",
        str(epochs),
        "--eval_steps",
        "0",
        "--save_steps",
        "0",
        "--log_steps",
        "50",
        "--output_dir",
        str(out),
        "--cache_dir",
        str(out / "cache"),
    ]
    if extra == "crf":
        flags += ["--crf", "true"]
    settings = resolve(None, flags, stage="small")
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        metrics = run(settings, str(out), str(out / "metrics.jsonl"))
    final = json.loads((out / "metrics.json").read_text())
    return {
        "model": model,
        "entity_f1": round(metrics["eval_entity_f1"], 4),
        "entity_f1_PER": round(metrics.get("eval_entity_f1_PER", 0.0), 4),
        "entity_f1_LOC": round(metrics.get("eval_entity_f1_LOC", 0.0), 4),
        "entity_f1_ORG": round(metrics.get("eval_entity_f1_ORG", 0.0), 4),
        "train_samples_per_s": round(final.get("train_samples_per_s", 0.0), 1),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from trainers import synth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="bilstm+crf,bilstm,tiny")
    ap.add_argument("--epochs", type=int, default=3, help="the small stage's 3 by default")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train, dev = synth.chinese_ner(5000, 1000, seed=0)
        synth.write_conll(train, work / "train.conll")
        synth.write_conll(dev, work / "dev.conll")
        results = [
            run_one(m, work / "train.conll", work / "dev.conll", work / m.replace("+", "_"), args.epochs)
            for m in args.models.split(",")
        ]
    print("| model | entity F1 | PER | LOC | ORG | train samples/s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['model']} | {r['entity_f1']:.4f} | {r['entity_f1_PER']:.4f} | {r['entity_f1_LOC']:.4f} | "
            f"{r['entity_f1_ORG']:.4f} | {r['train_samples_per_s']} | {r['wall_s']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
