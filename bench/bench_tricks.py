"""Benchmark of the trainer's tricks on CPU: step-time overhead and int8 export.

    python bench/bench_tricks.py --json bench-tricks.json

1. Step time of R-Drop, FGM and PGD (K=3) relative to plain training, measured in the same
   process, interleaved step by step (one step of each variant per round, order rotated, so
   background load hits every variant alike). On a shared machine other processes only
   ever add time, so the verdict uses the ratio of the per-variant MINIMUM step times (the
   least-disturbed measurement); the ratio of medians is printed too, with the load average:
   a randomly initialised BERT (4 layers, hidden 256, BERT vocabulary 30,522) at batch
   16 x 128 tokens, through ``TrickSet.train_step`` with ``accelerate.Accelerator(cpu=True)``
   and AdamW. The timed step is the training loop's (trainers/loop.py): accelerate's
   ``accumulate``, ``train_step``, clipping at 1.0, AdamW, ``zero_grad`` and the LR scheduler
   (``--bare-step``: without clipping and scheduler, as in the first runs). ``--config`` picks
   the model/batch preset (bench: the above; tiny: the bundled trainer's default model at
   32 x 16; minilm: 6 layers, hidden 384, 32 x 128); ``--variants`` adds ``rdrop_2pass``, a
   prototype of R-Drop as two forwards over the original batch, and ``plain_2x``, plain
   training on the doubled batch (R-Drop's arithmetic without its KL: the floor of any R-Drop); ``--parts costs`` times the
   parts of a plain step (forward/backward, clipping, AdamW, zero_grad, scheduler, R-Drop's
   duplication and KL). Targets: R-Drop <= 1.9x, FGM <= 2.2x, PGD(K=3) <= 4.5x.
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
    # not a trainer setting: a prototype of R-Drop with two forwards over the original batch
    # (instead of one over the doubled batch), timed for comparison -- see rdrop_two_pass_step
    "rdrop_2pass": {},
    # not a trick: plain training on the batch concatenated with itself -- the same arithmetic as
    # R-Drop's doubled forward/backward, without the KL. R-Drop / plain_2x is R-Drop's cost over
    # the arithmetic floor of any R-Drop implementation (two forward/backward passes per sample)
    "plain_2x": {},
}
TARGETS = {"rdrop": 1.9, "fgm": 2.2, "pgd": 4.5, "rdrop_2pass": 1.9}


def rdrop_two_pass_step(model, batch, accelerator, alpha=4.0):
    """R-Drop as two forwards over the ORIGINAL batch (different dropout masks), one backward.

    Same loss as ``trainers.tricks`` (1/2 [CE(z1) + CE(z2)] + alpha * symmetric KL, batchmean),
    same arithmetic as one pass over the doubled batch, but every matmul keeps the plain
    step's shapes. A prototype for the benchmark only; the trainer does not use it.
    """
    import torch.nn.functional as F

    from trainers.tricks import model_inputs
    from trainers.tricks.rdrop import rdrop_kl

    inputs, labels = model_inputs(batch), batch["labels"]
    z1 = model(**inputs).logits.float()
    z2 = model(**inputs).logits.float()
    loss = 0.5 * (F.cross_entropy(z1, labels) + F.cross_entropy(z2, labels)) + alpha * rdrop_kl(
        z1, z2, "classification"
    )
    accelerator.backward(loss)
    return {"loss": loss.detach()}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def bert(hidden, layers, heads, ffn, vocab=30522, num_labels=2, dropout=0.1, seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(cfg)


# --------------------------------------------------------------------------- 1. step time

#: model / batch presets for the step-time benchmark (see docs/benchmarks.md):
#: ``bench``  the historical configuration (4 layers, hidden 256, BERT vocabulary, 16 x 128);
#: ``tiny``   what the bundled trainer really runs on a CPU: its default tiny BERT (2 layers, hidden 64,
#:            vocabulary 8,000) at its default batch 32, padded to 16 tokens (the demo data's
#:            sentences are ~8.5 words, ~12 tokens; batches are padded to their longest);
#: ``minilm`` a MiniLM-L6-H384-sized model (6 layers, hidden 384, 12 heads, FFN 1536, vocabulary
#:            30,522) at batch 32 x 128: a realistic small pretrained fine-tune.
STEP_CONFIGS = {
    "bench": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "vocab": 30522, "batch_size": 16, "seq_len": 128},
    "tiny": {"hidden": 64, "layers": 2, "heads": 2, "ffn": 128, "vocab": 8000, "batch_size": 32, "seq_len": 16},
    "minilm": {"hidden": 384, "layers": 6, "heads": 12, "ffn": 1536, "vocab": 30522, "batch_size": 32, "seq_len": 128},
}


def bench_steps(
    batch_size=16,
    seq_len=128,
    rounds=12,
    hidden=256,
    layers=4,
    heads=None,
    ffn=None,
    vocab=30522,
    variants=None,
    loop_step=True,
    total_steps=1000,
) -> dict:
    """Interleaved step times of the trick variants.

    ``loop_step=True`` (default) times the step the trainer's loop really performs
    (trainers/loop.py): ``accelerator.accumulate``, ``TrickSet.train_step``, gradient clipping
    at 1.0 (the default ``max_grad_norm``), AdamW step, ``zero_grad(set_to_none=True)`` and the
    linear warm-up/decay scheduler step. ``loop_step=False`` is the older bare step (train_step,
    AdamW step, zero_grad), kept to compare with earlier figures.
    """
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    acc = Accelerator(cpu=True)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000 if vocab > 2000 else 5, vocab, (batch_size, seq_len), generator=gen)
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "token_type_ids": torch.zeros_like(ids),
        "labels": torch.randint(0, 2, (batch_size,), generator=gen),
    }
    batch_2x = {k: torch.cat([v, v]) for k, v in batch.items()}
    heads = heads or max(1, hidden // 64)
    ffn = ffn or 4 * hidden
    setups = {}
    for name in variants or VARIANTS:
        tricks = VARIANTS[name]
        model = bert(hidden, layers, heads, ffn, vocab=vocab)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        sched = get_linear_schedule_with_warmup(opt, int(0.06 * total_steps), total_steps)
        model, opt, sched = acc.prepare(model, opt, sched)
        setups[name] = (model, opt, sched, build_tricks({"tricks": tricks}, "classification", 2, {"accelerator": acc}))

    def one_step(name):
        model, opt, sched, ts = setups[name]
        model.train()
        t0 = time.perf_counter()
        train_step = (lambda m, b, a: rdrop_two_pass_step(m, b, a)) if name == "rdrop_2pass" else ts.train_step
        inputs = batch_2x if name == "plain_2x" else batch
        if loop_step:
            with acc.accumulate(model):
                train_step(model, inputs, acc)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
            sched.step()
        else:
            train_step(model, inputs, acc)
            opt.step()
            opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    names = list(setups)
    for name in names:  # warm-up (allocations, optimizer state)
        one_step(name)
    times = {name: [] for name in names}
    for r in range(rounds):  # one step of every variant per round, order rotated
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(one_step(name))
    med = {name: statistics.median(v) for name, v in times.items()}
    low = {name: min(v) for name, v in times.items()}
    n_params = sum(p.numel() for p in setups[names[0]][0].parameters())
    out = {
        "batch_size": batch_size,
        "seq_len": seq_len,
        "rounds": rounds,
        "loop_step": loop_step,
        "params": n_params,
        "model": f"BERT {layers} layers, hidden {hidden}, {heads} heads, FFN {ffn}, vocab {vocab}, random init "
        f"({n_params / 1e6:.1f} M parameters)",
        "variants": {},
    }
    if "plain_2x" in low and "rdrop" in low:
        out["rdrop_over_plain_2x_min"] = low["rdrop"] / low["plain_2x"]
        out["rdrop_over_plain_2x_median"] = med["rdrop"] / med["plain_2x"]
    for name in names:
        out["variants"][name] = {
            "step_s": med[name],
            "min_step_s": low[name],
            "steps_s": times[name],
            "ratio": med[name] / med["plain"],
            "ratio_min": low[name] / low["plain"],
            "passes_per_sample": 2.0 if name in ("rdrop_2pass", "plain_2x") else setups[name][3].passes_per_sample,
            "target": TARGETS.get(name),
        }
    return out


def bench_fixed_costs(
    batch_size=16, seq_len=128, hidden=256, layers=4, heads=None, ffn=None, vocab=30522, repeats=8
) -> dict:
    """Where a plain step's time goes: forward+backward, clipping, AdamW step, zero_grad, scheduler.

    The parts that R-Drop does NOT double (everything but forward+backward) bound its ratio:
    ratio = (2 F + O) / (F + O) with F the forward+backward and O the rest.
    Also times R-Drop's own additions (batch duplication, symmetric KL) in isolation.
    """
    from transformers import get_linear_schedule_with_warmup

    from trainers.tricks.rdrop import duplicate_batch, rdrop_kl

    heads = heads or max(1, hidden // 64)
    ffn = ffn or 4 * hidden
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (batch_size, seq_len), generator=gen)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    labels = torch.randint(0, 2, (batch_size,), generator=gen)
    model = bert(hidden, layers, heads, ffn, vocab=vocab).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sched = get_linear_schedule_with_warmup(opt, 60, 1000)
    parts = {
        k: []
        for k in (
            "forward_backward",
            "forward_backward_doubled",
            "forward_backward_two_passes",
            "clip",
            "adamw",
            "zero_grad",
            "scheduler",
            "duplicate_batch",
            "rdrop_kl",
        )
    }
    for i in range(repeats + 1):
        t = time.perf_counter()
        torch.nn.functional.cross_entropy(model(**inputs).logits, labels).backward()
        t1 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        sched.step()
        t5 = time.perf_counter()
        d = duplicate_batch(inputs)
        t6 = time.perf_counter()
        logits = model(**d).logits
        z1, z2 = logits[:batch_size].detach().requires_grad_(), logits[batch_size:].detach().requires_grad_()
        t7 = time.perf_counter()
        rdrop_kl(z1, z2, "classification").backward()
        t8 = time.perf_counter()
        torch.nn.functional.cross_entropy(logits, torch.cat([labels, labels])).backward()
        t9 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t10 = time.perf_counter()
        za, zb = model(**inputs).logits, model(**inputs).logits
        (torch.nn.functional.cross_entropy(za, labels) + torch.nn.functional.cross_entropy(zb, labels)).backward()
        t11 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        parts["forward_backward_two_passes"].append(t11 - t10)
        if i == 0:
            parts["forward_backward_two_passes"].pop()
            continue  # warm-up
        for k, v in (
            ("forward_backward", t1 - t),
            ("clip", t2 - t1),
            ("adamw", t3 - t2),
            ("zero_grad", t4 - t3),
            ("scheduler", t5 - t4),
            ("duplicate_batch", t6 - t5),
            ("rdrop_kl", t8 - t7),
            ("forward_backward_doubled", (t6 - t5) + (t9 - t6) - (t8 - t7)),
        ):
            parts[k].append(v)
    out = {k: min(v) for k, v in parts.items()}
    other = out["clip"] + out["adamw"] + out["zero_grad"] + out["scheduler"]
    out["not_doubled_share"] = other / (out["forward_backward"] + other)
    out["predicted_rdrop_ratio"] = (out["forward_backward_doubled"] + other + out["rdrop_kl"]) / (
        out["forward_backward"] + other
    )
    out["doubled_over_single_forward_backward"] = out["forward_backward_doubled"] / out["forward_backward"]
    out["two_passes_over_single_forward_backward"] = out["forward_backward_two_passes"] / out["forward_backward"]
    return out


# --------------------------------------------------------------------------- 2. quantization


def bench_quant(layers=4, seq_len=128, repeats=20) -> dict:
    fp32 = bert(768, layers, 12, 3072, dropout=0.0).eval()
    int8 = export.quantize_int8(fp32)
    out = {
        "model": f"BERT-base sized (hidden 768, 12 heads, FFN 3072), {layers} layers, random init",
        "seq_len": seq_len,
        "state_mb_fp32": export.state_bytes(fp32) / 1e6,
        "state_mb_int8": export.state_bytes(int8) / 1e6,
        "linear_mb_fp32": export.linear_bytes(fp32) / 1e6,
        "linear_mb_int8": export.linear_bytes(int8) / 1e6,
    }
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
    ids = torch.where(
        low,
        torch.randint(5, vocab // 2, (n, seq_len), generator=gen),
        torch.randint(vocab // 2, vocab, (n, seq_len), generator=gen),
    )
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
    return {
        "task": f"synthetic majority task, 2-layer BERT hidden 128 trained {train_steps} steps x 32",
        "eval_rows": 2000,
        "accuracy_fp32": acc32,
        "accuracy_int8": acc8,
        "accuracy_drop": acc32 - acc8,
        "agreement": float((p32 == p8).float().mean()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts",
        default="steps,quant,accuracy",
        help="comma list of steps, costs (parts of a plain step), quant, accuracy",
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps / repeats (about a minute)")
    parser.add_argument(
        "--rounds", type=int, default=12, help="timed steps per variant, interleaved one step of each per round (12)"
    )
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument(
        "--config",
        default="bench",
        choices=sorted(STEP_CONFIGS),
        help="step-time model/batch preset: bench (4 layers, hidden 256, 16 x 128; default), "
        "tiny (the bundled trainer's default model at batch 32 x 16), minilm (6 layers, "
        "hidden 384, 32 x 128)",
    )
    parser.add_argument(
        "--variants",
        default="plain,rdrop,plain_2x,fgm,pgd",
        help="step-time variants: plain, rdrop, fgm, pgd, rdrop_2pass (a prototype: R-Drop as two "
        "forwards over the original batch), plain_2x (plain training on the doubled batch: "
        "R-Drop's arithmetic without the KL); plain is always included",
    )
    parser.add_argument("--cost-repeats", type=int, default=8, help="repeats of the `costs` part (8; min kept)")
    parser.add_argument(
        "--bare-step",
        action="store_true",
        help="time the older bare step (train_step + AdamW + zero_grad) instead of the loop's step "
        "(with accumulate, clipping at 1.0 and the LR scheduler)",
    )
    parser.add_argument("--json", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = set(args.parts.split(","))
    result = {"machine": machine()}
    result["machine"]["loadavg_start"] = os.getloadavg()[0]
    print(
        f"# {result['machine']['cpu']} | {result['machine']['cores']} cores | "
        f"{result['machine']['torch_threads']} torch threads | torch {result['machine']['torch']} | "
        f"{result['machine']['date']}"
    )
    if "steps" in parts:
        cfg = dict(STEP_CONFIGS[args.config])
        if args.quick:
            cfg["batch_size"] = max(1, cfg["batch_size"] // 2)
        variants = [v for v in args.variants.split(",") if v]
        if "plain" not in variants:
            variants.insert(0, "plain")
        r = bench_steps(rounds=4 if args.quick else args.rounds, variants=variants, loop_step=not args.bare_step, **cfg)
        r["config"] = args.config
        result["steps"] = r
        step_kind = "bare step" if args.bare_step else "loop step: accumulate, clip 1.0, AdamW, zero_grad, scheduler"
        print(
            f"\n## step time, config {args.config} ({r['model']}, batch {r['batch_size']} x {r['seq_len']}; "
            f"{step_kind})"
        )
        print(
            f"{'variant':8} {'median s':>9} {'ratio':>6} {'min s':>7} {'ratio':>6} {'passes':>6} {'target':>7}  verdict (min)"
        )
        for name, v in r["variants"].items():
            verdict = "" if v["target"] is None else ("ok" if v["ratio_min"] <= v["target"] else "OVER")
            target = "" if v["target"] is None else f"<={v['target']}"
            print(
                f"{name:8} {v['step_s']:9.3f} {v['ratio']:6.2f} {v['min_step_s']:7.3f} {v['ratio_min']:6.2f}"
                f" {v['passes_per_sample']:6.0f} {target:>7}  {verdict}"
            )
        if "rdrop_over_plain_2x_min" in r:
            print(
                f"R-Drop over the same arithmetic without KL (plain_2x): {r['rdrop_over_plain_2x_min']:.3f}x (min), "
                f"{r['rdrop_over_plain_2x_median']:.3f}x (median)"
            )
    if "costs" in parts:
        cfg = dict(STEP_CONFIGS[args.config])
        c = bench_fixed_costs(repeats=3 if args.quick else args.cost_repeats, **cfg)
        result["costs"] = dict(c, config=args.config)
        print(f"\n## parts of a plain step, config {args.config} (min of the repeats, ms)")
        for k in (
            "forward_backward",
            "forward_backward_doubled",
            "forward_backward_two_passes",
            "clip",
            "adamw",
            "zero_grad",
            "scheduler",
            "duplicate_batch",
            "rdrop_kl",
        ):
            print(f"{k:26} {c[k] * 1000:9.2f}")
        print(
            f"not-doubled share of the plain step {c['not_doubled_share'] * 100:.1f} %; doubled/single "
            f"forward+backward {c['doubled_over_single_forward_backward']:.2f}x; "
            f"predicted R-Drop ratio {c['predicted_rdrop_ratio']:.2f}x"
        )
    if "quant" in parts:
        q = bench_quant(layers=2 if args.quick else 4, repeats=6 if args.quick else 20)
        result["quant"] = q
        print(f"\n## dynamic int8 ({q['model']}, {q['seq_len']} tokens)")
        print(
            f"linear weights {q['linear_mb_fp32']:.1f} MB -> {q['linear_mb_int8']:.1f} MB "
            f"({q['linear_ratio']:.2f}x smaller; target >= 3.5)"
        )
        print(f"state dict     {q['state_mb_fp32']:.1f} MB -> {q['state_mb_int8']:.1f} MB ({q['state_ratio']:.2f}x)")
        for bs in (1, 32):
            print(
                f"latency b={bs:<3} {q[f'latency_ms_b{bs}_fp32']:8.1f} ms -> {q[f'latency_ms_b{bs}_int8']:8.1f} ms "
                f"({q[f'speedup_b{bs}']:.2f}x faster{'; target >= 1.5' if bs == 1 else ''})"
            )
    if "accuracy" in parts:
        a = bench_accuracy(train_steps=100 if args.quick else 300)
        result["accuracy"] = a
        print(f"\n## accuracy before/after int8 ({a['task']}, {a['eval_rows']} rows)")
        print(
            f"accuracy {a['accuracy_fp32']:.4f} -> {a['accuracy_int8']:.4f} (drop {a['accuracy_drop']:+.4f}, "
            f"agreement {a['agreement']:.4f})"
        )
    result["machine"]["loadavg_end"] = os.getloadavg()[0]
    print(
        f"\nload average (1 min): {result['machine']['loadavg_start']:.2f} at start, "
        f"{result['machine']['loadavg_end']:.2f} at end"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
