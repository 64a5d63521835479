"""Dynamic int8 quantization export of a trained model (CPU inference).

    python -m trainers.export --model runs/<id>/checkpoints/step-300 --out export/int8 \\
        [--eval-file data/dev.jsonl --text-field text --label-field label] [--seq-len 128]

Every ``nn.Linear`` gets int8 weights (per-tensor scale) and activations quantized on the
fly (``torch.ao.quantization.quantize_dynamic``); embeddings and LayerNorm stay fp32.
``save_pretrained`` cannot round-trip a quantized model, so the output folder holds:

* ``config.json`` (+ the tokenizer files found next to the model),
* ``quantized_state_dict.pt``: the quantized model's ``state_dict``,
* ``quantization.json``: how it was made;

``load_quantized(folder)`` rebuilds the architecture from the config, quantizes it the same
way and loads the state dict.

The command reports, on stdout and as JSON (``<out>/export_metrics.json``, one line appended
to ``$EXPCTL_METRICS`` and ``metrics.json`` in ``$EXPCTL_RUN_DIR`` when set, so it runs as an
expctl run): state-dict size and linear-layer weight size before/after, CPU latency at batch
1 and 32, and accuracy before/after on ``--eval-file`` (without one: the agreement of the
two models' predictions on random inputs). ``quantize_dynamic`` is deprecated in favour of
torchao in recent torch releases; it is kept behind ``quantize_int8`` only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

STATE_FILE = "quantized_state_dict.pt"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
)


# --------------------------------------------------------------------------- quantization


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A dynamically quantized (int8 ``nn.Linear``) copy of ``model``, in eval mode."""
    import copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notice pointing to torchao
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear}, dtype=torch.qint8)
    return q.eval()


def _model_class(config):
    import transformers

    for arch in config.architectures or []:
        cls = getattr(transformers, arch, None)
        if cls is not None:
            return cls
    return transformers.AutoModelForSequenceClassification


def load_fp32(model_dir):
    config = _config(model_dir)
    cls = _model_class(config)
    return cls.from_pretrained(str(model_dir)).eval()


def _config(model_dir):
    from transformers import AutoConfig

    from trainers.nets import register

    register()  # folders of the preset networks (bow, cnn, bilstm)
    return AutoConfig.from_pretrained(str(model_dir))


def save_quantized(qmodel, config, out_dir, source_dir=None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not config.architectures:
        config.architectures = [type(qmodel).__name__]
    config.save_pretrained(str(out))
    torch.save(qmodel.state_dict(), out / STATE_FILE)
    (out / "quantization.json").write_text(
        json.dumps(
            {
                "method": "dynamic",
                "dtype": "qint8",
                "modules": ["torch.nn.Linear"],
                "torch": torch.__version__,
                "state_dict": STATE_FILE,
                "load": "trainers.export.load_quantized(folder)",
            },
            indent=2,
        )
        + "\n"
    )
    if source_dir is not None:
        for name in TOKENIZER_FILES:
            if (Path(source_dir) / name).exists():
                shutil.copy2(Path(source_dir) / name, out / name)
    return out / STATE_FILE


def load_quantized(folder) -> torch.nn.Module:
    """Rebuild a model written by ``save_quantized``: architecture, quantize, load state dict."""
    config = _config(folder)
    model = _model_class(config)(config)
    q = quantize_int8(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage notice from the packed int8 params
        state = torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=False)
    q.load_state_dict(state)
    return q.eval()


# --------------------------------------------------------------------------- measurements


def _nbytes(obj) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getbuffer().nbytes


def linear_prefixes(model) -> list[str]:
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    return [name for name, m in model.named_modules() if isinstance(m, (torch.nn.Linear, QLinear))]


def linear_bytes(model) -> int:
    """Serialized size of the linear layers' weights and biases (quantized: packed int8 + scales)."""
    prefixes = tuple(p + "." for p in linear_prefixes(model))
    state = {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}
    return _nbytes(state)


def state_bytes(model) -> int:
    return _nbytes(model.state_dict())


def random_inputs(config, batch: int, seq_len: int, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, config.vocab_size, (batch, seq_len), generator=gen)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}


@torch.inference_mode()
def latency_ms(model, inputs: dict, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of one forward, in milliseconds."""
    for _ in range(warmup):
        model(**inputs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(**inputs)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


@torch.inference_mode()
def predict(model, encodings: dict, batch_size: int = 32) -> torch.Tensor:
    n = encodings["input_ids"].size(0)
    preds = []
    for i in range(0, n, batch_size):
        logits = model(**{k: v[i : i + batch_size] for k, v in encodings.items()}).logits
        preds.append(logits.argmax(-1))
    return torch.cat(preds)


def load_eval_file(path, model_dir, config, text_field="text", label_field="label", max_length=128):
    """Tokenized texts and label ids from a .jsonl / .csv / .tsv file (labels: names or ids)."""
    import csv

    from transformers import AutoTokenizer

    path = Path(path)
    if path.suffix.lower() in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    label2id = {str(k): int(v) for k, v in (config.label2id or {}).items()}
    labels = []
    for row in rows:
        y = row[label_field]
        if str(y) in label2id and not str(y).lstrip("-").isdigit():
            labels.append(label2id[str(y)])
        elif str(y).lstrip("-").isdigit():
            labels.append(int(y))
        else:
            raise SystemExit(
                f"export: label {y!r} in {path} is neither a class id nor one of the model's "
                f"labels ({', '.join(label2id)})"
            )
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    texts = [str(r[text_field]) for r in rows]
    pairs = [str(r["text_pair"]) for r in rows] if rows and "text_pair" in rows[0] else None
    enc = tok(texts, pairs, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return dict(enc), torch.tensor(labels)


def export(
    model_dir,
    out_dir,
    eval_file=None,
    text_field="text",
    label_field="label",
    seq_len=128,
    max_length=128,
    repeats=20,
    batch_sizes=(1, 32),
    model=None,
) -> dict:
    """Quantize, save, measure. ``model`` may be passed in (else loaded from ``model_dir``)."""
    fp32 = model.eval() if model is not None else load_fp32(model_dir)
    config = fp32.config
    int8 = quantize_int8(fp32)
    save_quantized(int8, config, out_dir, model_dir)
    metrics: dict[str, float] = {
        "size_mb_fp32": state_bytes(fp32) / 1e6,
        "size_mb_int8": (Path(out_dir) / STATE_FILE).stat().st_size / 1e6,
        "linear_mb_fp32": linear_bytes(fp32) / 1e6,
        "linear_mb_int8": linear_bytes(int8) / 1e6,
    }
    metrics["size_ratio"] = metrics["size_mb_fp32"] / metrics["size_mb_int8"]
    metrics["linear_ratio"] = metrics["linear_mb_fp32"] / metrics["linear_mb_int8"]
    for bs in batch_sizes:
        inputs = random_inputs(config, bs, seq_len)
        reps = repeats if bs == 1 else max(3, repeats // 4)
        # interleave the two models so that background load hits both alike
        a, b = [], []
        for _ in range(2):
            a.append(latency_ms(fp32, inputs, reps // 2 or 1))
            b.append(latency_ms(int8, inputs, reps // 2 or 1))
        metrics[f"latency_ms_b{bs}_fp32"] = min(a)
        metrics[f"latency_ms_b{bs}_int8"] = min(b)
        metrics[f"speedup_b{bs}"] = min(a) / min(b)
    if eval_file:
        enc, labels = load_eval_file(eval_file, model_dir, config, text_field, label_field, max_length)
        p32, p8 = predict(fp32, enc), predict(int8, enc)
        metrics["eval_accuracy_fp32"] = float((p32 == labels).float().mean())
        metrics["eval_accuracy_int8"] = float((p8 == labels).float().mean())
        metrics["eval_accuracy_drop"] = metrics["eval_accuracy_fp32"] - metrics["eval_accuracy_int8"]
        metrics["eval_agreement"] = float((p32 == p8).float().mean())
        metrics["eval_samples"] = float(labels.numel())
    else:
        enc = random_inputs(config, 256, min(seq_len, 64), seed=1)
        metrics["agreement_random_inputs"] = float((predict(fp32, enc) == predict(int8, enc)).float().mean())
    metrics["torch_threads"] = float(torch.get_num_threads())
    return metrics


def report_lines(m: dict) -> list[str]:
    lines = [
        f"state dict   {m['size_mb_fp32']:9.1f} MB -> {m['size_mb_int8']:9.1f} MB  ({m['size_ratio']:.2f}x smaller)",
        f"linear layers{m['linear_mb_fp32']:9.1f} MB -> {m['linear_mb_int8']:9.1f} MB  ({m['linear_ratio']:.2f}x smaller)",
    ]
    for key in sorted(k for k in m if k.startswith("speedup_b")):
        bs = key[len("speedup_b") :]
        lines.append(
            f"latency b={bs:<3} {m[f'latency_ms_b{bs}_fp32']:8.1f} ms -> {m[f'latency_ms_b{bs}_int8']:8.1f} ms"
            f"  ({m[key]:.2f}x faster, {int(m['torch_threads'])} threads)"
        )
    if "eval_accuracy_fp32" in m:
        lines.append(
            f"accuracy     {m['eval_accuracy_fp32']:.4f} -> {m['eval_accuracy_int8']:.4f}"
            f"  (drop {m['eval_accuracy_drop']:+.4f}, agreement {m['eval_agreement']:.4f},"
            f" n={int(m['eval_samples'])})"
        )
    else:
        lines.append(f"no --eval-file: prediction agreement on random inputs {m['agreement_random_inputs']:.4f}")
    return lines


def write_metrics(metrics: dict, out_dir, metrics_json=None) -> None:
    flat = {f"export_{k}" if not k.startswith("eval_") else k: v for k, v in metrics.items()}
    path = Path(metrics_json) if metrics_json else Path(out_dir) / "export_metrics.json"
    path.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
    if os.environ.get("EXPCTL_METRICS"):
        with open(os.environ["EXPCTL_METRICS"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(flat, sort_keys=True) + "\n")
    if os.environ.get("EXPCTL_RUN_DIR"):
        Path(os.environ["EXPCTL_RUN_DIR"], "metrics.json").write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.export",
        description="Dynamic int8 quantization export with size / latency / accuracy report.",
    )
    parser.add_argument("--model", required=True, help="HF model folder (a checkpoint)")
    parser.add_argument("--out", required=True, help="output folder for the quantized model")
    parser.add_argument("--eval-file", help=".jsonl/.csv/.tsv with text and label, for accuracy before/after")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--max-length", type=int, default=128, help="truncation for --eval-file (128)")
    parser.add_argument("--seq-len", type=int, default=128, help="sequence length of the latency inputs (128)")
    parser.add_argument("--repeats", type=int, default=20, help="timed forwards at batch 1 (20; batch 32: a quarter)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for the latency measurements")
    parser.add_argument("--metrics-json", help="where to write the metrics JSON (default OUT/export_metrics.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not Path(args.model).is_dir():
        print(f"export: --model {args.model} is not a folder", file=sys.stderr)
        return 2
    metrics = export(
        args.model,
        args.out,
        args.eval_file,
        args.text_field,
        args.label_field,
        args.seq_len,
        args.max_length,
        args.repeats,
    )
    for line in report_lines(metrics):
        print(line)
    write_metrics(metrics, args.out, args.metrics_json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
