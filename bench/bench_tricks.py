"""Benchmark of the trainer's tricks on CPU: step-time overhead and int8 export.

    python bench/bench_tricks.py --json bench-tricks.json

1. Step time of R-Drop, FGM and PGD (K=3) relative to plain training, measured in the same
   process, interleaved step by step (one step of each variant per round, order rotated, so
   background load hits every variant alike). On a shared machine other processes only
   ever add time, so the verdict uses the ratio of the per-variant MINIMUM step times (the
   least-disturbed measurement); the ratio of medians is printed too, with the load average:
   a randomly initialised BERT (4 layers, hidden 256, BERT vocabulary 30,522) at batch
   16 x 128 tokens, through ``TrickSet.train_step`` with ``accelerate.Accelerator(cpu=True)``
   and AdamW (optimizer step and zero_grad included). Targets: R-Drop <= 1.9x, FGM <= 2.2x,
   PGD(K=3) <= 4.5x.
2. Dynamic int8 quantization (``trainers.export``) of a BERT-base-sized model (hidden 768,
   12 heads, FFN 3072, 4 layers, random init): linear-layer weight bytes (target >= 3.5x
   smaller) and CPU latency at batch 1 and 32 x 128 tokens (target: batch 1 >= 1.5x faster).
3. Accuracy before/after quantization on a model that has learned something: a 2-layer BERT
   trained for a few hundred steps on a synthetic majority task (is most of the sequence
   drawn from the lower half of the vocabulary?), evaluated on 2,000 held-out rows.

Options shrink the run (``--quick``: about a minute) or pick parts (``--parts steps,quant``).
Nothing is downloaded; all models are built from ``BertConfig``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

from trainers import export  # noqa: E402
from trainers.tricks import build_tricks  # noqa: E402

VARIANTS = {
    "plain": {},
    "rdrop": {"rdrop": {"alpha": 4}},
    "fgm": {"fgm": {"epsilon": 1.0}},
    "pgd": {"pgd": {"epsilon": 1.0, "alpha": 0.3, "steps": 3}},
}
TARGETS = {"rdrop": 1.9, "fgm": 2.2, "pgd": 4.5}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def bert(hidden, layers, heads, ffn, vocab=30522, num_labels=2, dropout=0.1, seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=ffn, num_labels=num_labels, hidden_dropout_prob=dropout,
                     attention_probs_dropout_prob=dropout)
    return BertForSequenceClassification(cfg)


# --------------------------------------------------------------------------- 1. step time

def bench_steps(batch_size=16, seq_len=128, rounds=12, hidden=256, layers=4) -> dict:
    from accelerate import Accelerator

    acc = Accelerator(cpu=True)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 30522, (batch_size, seq_len), generator=gen)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids),
             "labels": torch.randint(0, 2, (batch_size,), generator=gen)}
    setups = {}
    for name, tricks in VARIANTS.items():
        model = bert(hidden, layers, max(1, hidden // 64), 4 * hidden)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model, opt = acc.prepare(model, opt)
        setups[name] = (model, opt, build_tricks({"tricks": tricks}, "classification", 2, {"accelerator": acc}))

    def one_step(name):
        model, opt, ts = setups[name]
        model.train()
        t0 = time.perf_counter()
        ts.train_step(model, batch, acc)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    names = list(setups)
    for name in names:  # warm-up (allocations, optimizer state)
        one_step(name)
    times = {name: [] for name in names}
    for r in range(rounds):  # one step of every variant per round, order rotated
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(one_step(name))
    med = {name: statistics.median(v) for name, v in times.items()}
    low = {name: min(v) for name, v in times.items()}
    out = {"batch_size": batch_size, "seq_len": seq_len, "rounds": rounds,
           "model": f"BERT {layers} layers, hidden {hidden}, vocab 30522, random init", "variants": {}}
    for name in names:
        out["variants"][name] = {
            "step_s": med[name], "min_step_s": low[name], "steps_s": times[name],
            "ratio": med[name] / med["plain"], "ratio_min": low[name] / low["plain"],
            "passes_per_sample": setups[name][2].passes_per_sample, "target": TARGETS.get(name),
        }
    return out


# --------------------------------------------------------------------------- 2. quantization

def bench_quant(layers=4, seq_len=128, repeats=20) -> dict:
    fp32 = bert(768, layers, 12, 3072, dropout=0.0).eval()
    int8 = export.quantize_int8(fp32)
    out = {"model": f"BERT-base sized (hidden 768, 12 heads, FFN 3072), {layers} layers, random init",
           "seq_len": seq_len,
           "state_mb_fp32": export.state_bytes(fp32) / 1e6, "state_mb_int8": export.state_bytes(int8) / 1e6,
           "linear_mb_fp32": export.linear_bytes(fp32) / 1e6, "linear_mb_int8": export.linear_bytes(int8) / 1e6}
    out["linear_ratio"] = out["linear_mb_fp32"] / out["linear_mb_int8"]
    out["state_ratio"] = out["state_mb_fp32"] / out["state_mb_int8"]
    for bs, reps in ((1, repeats), (32, max(3, repeats // 5))):
        inputs = export.random_inputs(fp32.config, bs, seq_len)
        a, b = [], []
        for _ in range(3):  # interleaved
            a.append(export.latency_ms(fp32, inputs, reps, warmup=1))
            b.append(export.latency_ms(int8, inputs, reps, warmup=1))
        out[f"latency_ms_b{bs}_fp32"], out[f"latency_ms_b{bs}_int8"] = min(a), min(b)
        out[f"speedup_b{bs}"] = min(a) / min(b)
    return out


# --------------------------------------------------------------------------- 3. accuracy

def majority_data(n, seq_len, vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    share = torch.rand(n, 1, generator=gen)  # per row: probability of a low-half token
    low = torch.rand(n, seq_len, generator=gen) < share
    ids = torch.where(low, torch.randint(5, vocab // 2, (n, seq_len), generator=gen),
                      torch.randint(vocab // 2, vocab, (n, seq_len), generator=gen))
    labels = (low.sum(1) * 2 > seq_len).long()
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}, labels


def bench_accuracy(train_steps=300, seq_len=32, vocab=1000) -> dict:
    torch.manual_seed(0)
    model = bert(128, 2, 2, 512, vocab=vocab, dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = majority_data(train_steps * 32, seq_len, vocab, seed=1)
    model.train()
    for i in range(train_steps):
        sl = slice(i * 32, (i + 1) * 32)
        loss = torch.nn.functional.cross_entropy(model(**{k: v[sl] for k, v in x.items()}).logits, y[sl])
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    xe, ye = majority_data(2000, seq_len, vocab, seed=2)
    int8 = export.quantize_int8(model)
    p32, p8 = export.predict(model, xe), export.predict(int8, xe)
    acc32, acc8 = float((p32 == ye).float().mean()), float((p8 == ye).float().mean())
    return {"task": f"synthetic majority task, 2-layer BERT hidden 128 trained {train_steps} steps x 32",
            "eval_rows": 2000, "accuracy_fp32": acc32, "accuracy_int8": acc8, "accuracy_drop": acc32 - acc8,
            "agreement": float((p32 == p8).float().mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="steps,quant,accuracy", help="comma list of steps, quant, accuracy")
    parser.add_argument("--quick", action="store_true", help="fewer steps / repeats (about a minute)")
    parser.add_argument("--rounds", type=int, default=12,
                        help="timed steps per variant, interleaved one step of each per round (12)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument("--json", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = set(args.parts.split(","))
    result = {"machine": machine()}
    result["machine"]["loadavg_start"] = os.getloadavg()[0]
    print(f"# {result['machine']['cpu']} | {result['machine']['cores']} cores | "
          f"{result['machine']['torch_threads']} torch threads | torch {result['machine']['torch']} | "
          f"{result['machine']['date']}")
    if "steps" in parts:
        r = bench_steps(rounds=4 if args.quick else args.rounds, batch_size=8 if args.quick else 16)
        result["steps"] = r
        print(f"\n## step time ({r['model']}, batch {r['batch_size']} x {r['seq_len']})")
        print(f"{'variant':8} {'median s':>9} {'ratio':>6} {'min s':>7} {'ratio':>6} {'passes':>6} {'target':>7}  verdict (min)")
        for name, v in r["variants"].items():
            verdict = "" if v["target"] is None else ("ok" if v["ratio_min"] <= v["target"] else "OVER")
            target = "" if v["target"] is None else f"<={v['target']}"
            print(f"{name:8} {v['step_s']:9.3f} {v['ratio']:6.2f} {v['min_step_s']:7.3f} {v['ratio_min']:6.2f}"
                  f" {v['passes_per_sample']:6.0f} {target:>7}  {verdict}")
    if "quant" in parts:
        q = bench_quant(layers=2 if args.quick else 4, repeats=6 if args.quick else 20)
        result["quant"] = q
        print(f"\n## dynamic int8 ({q['model']}, {q['seq_len']} tokens)")
        print(f"linear weights {q['linear_mb_fp32']:.1f} MB -> {q['linear_mb_int8']:.1f} MB "
              f"({q['linear_ratio']:.2f}x smaller; target >= 3.5)")
        print(f"state dict     {q['state_mb_fp32']:.1f} MB -> {q['state_mb_int8']:.1f} MB ({q['state_ratio']:.2f}x)")
        for bs in (1, 32):
            print(f"latency b={bs:<3} {q[f'latency_ms_b{bs}_fp32']:8.1f} ms -> {q[f'latency_ms_b{bs}_int8']:8.1f} ms "
                  f"({q[f'speedup_b{bs}']:.2f}x faster{'; target >= 1.5' if bs == 1 else ''})")
    if "accuracy" in parts:
        a = bench_accuracy(train_steps=100 if args.quick else 300)
        result["accuracy"] = a
        print(f"\n## accuracy before/after int8 ({a['task']}, {a['eval_rows']} rows)")
        print(f"accuracy {a['accuracy_fp32']:.4f} -> {a['accuracy_int8']:.4f} (drop {a['accuracy_drop']:+.4f}, "
              f"agreement {a['agreement']:.4f})")
    result["machine"]["loadavg_end"] = os.getloadavg()[0]
    print(f"\nload average (1 min): {result['machine']['loadavg_start']:.2f} at start, "
          f"{result['machine']['loadavg_end']:.2f} at end")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
