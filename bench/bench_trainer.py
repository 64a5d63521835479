"""Training throughput of the bundled trainer against a plain Hugging Face ``Trainer``.

One command (CPU, offline, a few minutes on two cores)::

    HF_HUB_OFFLINE=1 python bench/bench_trainer.py            # prints a markdown table
    python bench/bench_trainer.py --json results.json --repeats 5 --models bow,cnn,bilstm
    python bench/bench_trainer.py --quick                      # seconds: does it run?

Same model (a BERT built from the same config and seed), same pre-tokenized data, same batch
size, ``max_seq_length``, learning rate, number of updates and thread count, in the same
process, alternating which trainer runs first. Two datasets from ``trainers.synth``:

* ``uniform``: short sentences of similar length;
* ``skewed``: 10% of the sentences are ~10x longer (a long tail, as in real corpora).

The HF ``Trainer`` uses its defaults for a plain fine-tuning script: random sampler,
``DataCollatorWithPadding`` (dynamic padding to the batch's longest), fused AdamW, no
evaluation or saving; a third configuration turns on its own length grouping
(``train_sampling_strategy="group_by_length"``) to show where the skewed-data gain comes from.
The bundled trainer uses its defaults too (``group_by_length=true``); a second configuration
of it turns length grouping off (``ours-ungrouped``), so that ``ratio_ungrouped`` compares the
two loops with the same random batches. ``--models bow,cnn,bilstm`` adds the preset networks'
throughput on the uniform data next to the tiny BERT (same data, batch, lr, updates).
``--quick`` (300 samples, 1 repeat, uniform only) checks that the bench runs. Throughput is
training samples per second of training-loop time as each trainer reports it
(``train_runtime`` / ``train_runtime_s``), median of ``--repeats`` runs; the ratio is the
median over back-to-back pairs (robust to a machine shared with other jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _reset_accelerate():
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def make_data(kind: str, n: int, workdir: Path) -> Path:
    from trainers import synth

    long_frac = 0.1 if kind == "skewed" else 0.0
    rows = synth.classification(n, seed=7, long_frac=long_frac, long_len=100, sort_by_label=False)
    path = workdir / f"{kind}.tsv"
    synth.write_tsv(rows, path)
    return path


def settings_for(args, train_path: Path, out: Path, grouped: bool = True, model: str = "tiny") -> dict:
    from trainers.settings import resolve

    return resolve(
        None,
        [
            "--group_by_length",
            str(grouped).lower(),
            "--model",
            model,
            "--train_file",
            str(train_path),
            "--eval_file",
            str(train_path),
            "--max_eval_samples",
            "64",
            "--epochs",
            str(args.epochs),
            "--batch_size",
            str(args.batch_size),
            "--max_seq_length",
            str(args.max_seq_length),
            "--lr",
            "1e-3",
            "--warmup_ratio",
            "0",
            "--log_steps",
            "10",
            "--eval_steps",
            "0",
            "--save_steps",
            "0",
            "--tiny.hidden_size",
            str(args.hidden),
            "--tiny.num_layers",
            str(args.layers),
            "--tiny.num_heads",
            str(max(1, args.hidden // 32)),
            "--tiny.intermediate_size",
            str(4 * args.hidden),
            "--tiny.vocab_size",
            "2000",
            "--cache_dir",
            str(out / "cache"),
            "--output_dir",
            str(out),
        ],
    )


def run_ours(args, train_path: Path, out: Path, grouped: bool = True, model: str = "tiny") -> float:
    import contextlib
    import io

    from trainers.loop import run

    _reset_accelerate()
    settings = settings_for(args, train_path, out, grouped, model)
    with contextlib.redirect_stdout(io.StringIO()):
        run(settings, str(out), str(out / "metrics.jsonl"))
    _reset_accelerate()
    m = json.loads((out / "metrics.json").read_text())
    return args.samples * args.epochs / m["train_runtime_s"]


def run_hf(args, train_path: Path, out: Path, tokenizer_dir: Path, grouped: bool = False) -> float:
    import torch
    from transformers import (
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from trainers.data import formats
    from trainers.modeling import build_tiny_model

    _reset_accelerate()
    settings = settings_for(args, train_path, out)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    exs = list(formats.iter_examples(train_path, "classification"))
    labels = sorted({e.label for e in exs})
    enc = tok([e.text for e in exs], truncation=True, max_length=args.max_seq_length)
    data = [
        {
            "input_ids": enc["input_ids"][i],
            "token_type_ids": enc["token_type_ids"][i],
            "attention_mask": enc["attention_mask"][i],
            "labels": labels.index(e.label),
        }
        for i, e in enumerate(exs)
    ]
    torch.manual_seed(42)
    model = build_tiny_model("classification", labels, tok, settings["tiny"], args.max_seq_length, None)
    targs = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=1e-3,
        weight_decay=0.01,
        warmup_steps=0,
        logging_steps=10,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=42,
        train_sampling_strategy="group_by_length" if grouped else "random",
    )
    trainer = Trainer(model=model, args=targs, train_dataset=data, data_collator=DataCollatorWithPadding(tok))
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # its PrinterCallback prints every log dict
        result = trainer.train()
    _reset_accelerate()
    return args.samples * args.epochs / result.metrics["train_runtime"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads for both trainers (default 1)")
    p.add_argument("--datasets", default="uniform,skewed")
    p.add_argument(
        "--no-hf-grouped",
        dest="hf_grouped",
        action="store_false",
        help="skip the extra HF Trainer run with train_sampling_strategy=group_by_length",
    )
    p.add_argument(
        "--models",
        default="bow,cnn,bilstm",
        help="preset networks timed against the tiny BERT on the uniform data ('' = none)",
    )
    p.add_argument("--quick", action="store_true", help="300 samples, 1 repeat, uniform data: a smoke test")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.repeats, args.datasets = 300, 1, "uniform"

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    results = []
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in args.datasets.split(","):
            train_path = make_data(kind, args.samples, tmp)
            # one warm-up run of ours builds the shared tokenizer (and warms caches for both)
            warm = tmp / f"{kind}-warm"
            run_ours(args, train_path, warm)
            tokenizer_dir = warm / "checkpoints" / "last"
            ours, hf, hfg, ours_u = [], [], [], []
            configs = [("ours", ours), ("hf", hf), ("ours-ungrouped", ours_u)] + (
                [("hf-grouped", hfg)] if args.hf_grouped else []
            )
            for r in range(args.repeats):
                order = configs if r % 2 == 0 else configs[::-1]
                for name, bucket in order:
                    out = tmp / f"{kind}-{name}-{r}"
                    t0 = time.perf_counter()
                    if name.startswith("ours"):
                        sps = run_ours(args, train_path, out, grouped=name == "ours")
                    else:
                        sps = run_hf(args, train_path, out, tokenizer_dir, grouped=name == "hf-grouped")
                    bucket.append(sps)
                    print(
                        f"# {kind} run {r} {name}: {sps:.1f} samples/s ({time.perf_counter() - t0:.1f}s wall)",
                        file=sys.stderr,
                        flush=True,
                    )
            row = {
                "dataset": kind,
                "ours_samples_per_s": statistics.median(ours),
                "hf_trainer_samples_per_s": statistics.median(hf),
                "ours_runs": ours,
                "hf_runs": hf,
            }
            # the machine may be shared: compare each pair of back-to-back runs, take the median
            row["pair_ratios"] = [o / h for o, h in zip(ours, hf)]
            row["ratio"] = statistics.median(row["pair_ratios"])
            # the loops alone: length grouping off on both sides (the same random batches)
            row["ours_ungrouped_samples_per_s"] = statistics.median(ours_u)
            row["ours_ungrouped_runs"] = ours_u
            row["ratio_ungrouped"] = statistics.median([o / h for o, h in zip(ours_u, hf)])
            if hfg:
                row["hf_grouped_samples_per_s"] = statistics.median(hfg)
                row["hf_grouped_runs"] = hfg
                row["ratio_vs_hf_grouped"] = statistics.median([o / h for o, h in zip(ours, hfg)])
            results.append(row)
        nets = time_models(args, tmp) if args.models else []
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "loadavg": load_before,
        "config": {
            k: getattr(args, k)
            for k in ("samples", "epochs", "batch_size", "max_seq_length", "hidden", "layers", "repeats")
        },
    }
    print(
        f"Machine: {meta['cpu']} ({meta['cores']} cores, {args.threads} torch thread(s)), {meta['date']}; "
        f"torch {meta['torch']}, transformers {meta['transformers']}"
    )
    print(
        f"Model: BERT {args.layers} layers x {args.hidden}; {args.samples} samples x {args.epochs} epoch(s), "
        f"batch {args.batch_size}, max_seq_length {args.max_seq_length}; median of {args.repeats} runs; "
        f"load average before: {meta['loadavg']}\n"
    )
    print(
        "| data | expctl trainer (samples/s) | HF Trainer, defaults (samples/s) | ratio (median of pairs) | "
        "pair ratios | expctl, group_by_length off | ratio, both ungrouped | HF Trainer + group_by_length "
        "(samples/s) | ratio to it |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for row in results:
        pairs = ", ".join(f"{r:.2f}" for r in row["pair_ratios"])
        g = (
            f"{row['hf_grouped_samples_per_s']:.0f} | {row['ratio_vs_hf_grouped']:.2f}"
            if "hf_grouped_samples_per_s" in row
            else "- | -"
        )
        print(
            f"| {row['dataset']} | {row['ours_samples_per_s']:.0f} | {row['hf_trainer_samples_per_s']:.0f} | "
            f"{row['ratio']:.2f} | {pairs} | {row['ours_ungrouped_samples_per_s']:.0f} | "
            f"{row['ratio_ungrouped']:.2f} | {g} |"
        )
    if nets:
        print("\n| model (uniform data, expctl trainer) | samples/s | vs tiny BERT |")
        print("|---|---:|---:|")
        base = next(n["samples_per_s"] for n in nets if n["model"] == "tiny")
        for n in nets:
            print(f"| {n['model']} | {n['samples_per_s']:.0f} | {n['samples_per_s'] / base:.1f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results, "models": nets}, indent=2) + "\n")
    return 0


def time_models(args, tmp: Path) -> list[dict]:
    """Samples/s of the preset networks and the tiny BERT on the uniform data (median of repeats)."""
    train_path = make_data("uniform", args.samples, tmp)
    rows = []
    for model in ["tiny", *[m for m in args.models.split(",") if m]]:
        runs = [run_ours(args, train_path, tmp / f"model-{model}-{r}", model=model) for r in range(args.repeats)]
        print(f"# model {model}: {', '.join(f'{x:.1f}' for x in runs)} samples/s", file=sys.stderr, flush=True)
        rows.append({"model": model, "samples_per_s": statistics.median(runs), "runs": runs})
    return rows


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
