"""task=seq2seq: text generation with an encoder-decoder.

Data: tsv/csv (``text`` and ``target`` columns by header name, or the first two columns of a
headerless file) or jsonl (``text_column`` / ``target_column`` fields).

Model: ``model=tiny`` builds a small ``BartForConditionalGeneration`` (encoder and decoder
``tiny.num_layers`` each, width ``tiny.hidden_size``) over a WordPiece vocabulary built from
the sources *and* targets (``[CLS]`` starts the decoder, ``[SEP]`` ends a target); a local
HF folder loads with ``AutoModelForSeq2SeqLM`` (BART, T5, mBART, ...), targets tokenized
with ``text_target=``. Training is teacher forcing (the model shifts the labels right);
evaluation generates greedily (``eval_bleu``, ``eval_rouge_l``, ``eval_exact_match``) and,
at the final evaluation with ``num_beams > 1``, with beam search too (``eval_bleu_beam``,
``eval_rouge_l_beam``; the beam outputs go to predictions.jsonl). BLEU and ROUGE-L are
computed by :mod:`trainers.metrics` on word tokens (lowercased when the model lowercases).
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any

import torch

from trainers.data.sampling import random_subset


def read_pairs(path: str, settings: dict[str, Any], limit: int, seed: int) -> list[tuple[str, str]]:
    src_col, tgt_col = str(settings["text_column"]), str(settings["target_column"])
    fmt = settings["format"]
    ext = os.path.splitext(path)[1].lower()
    if fmt == "jsonl" or (fmt == "auto" and ext in (".jsonl", ".json", ".ndjson")):
        pairs = []
        with open(path, encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    obj = json.loads(line)
                    if src_col not in obj or tgt_col not in obj:
                        raise ValueError(f"{path}:{n}: needs the fields {src_col!r} and {tgt_col!r}")
                    pairs.append((str(obj[src_col]), str(obj[tgt_col])))
    else:
        delim = settings["delimiter"] or ("," if fmt == "csv" or ext == ".csv" else "\t")
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh, delimiter=delim)) if delim == "," else [ln.rstrip("\r\n").split(delim) for ln in fh]
        rows = [r for r in rows if any(x.strip() for x in r)]
        header = settings["has_header"]
        first = rows[0] if rows else []
        is_header = header is True or header == "true" or (header == "auto" and src_col in first and tgt_col in first)
        si, ti = (first.index(src_col), first.index(tgt_col)) if is_header and src_col in first and tgt_col in first else (0, 1)
        pairs = []
        for n, r in enumerate(rows[1:] if is_header else rows, 2 if is_header else 1):
            if len(r) <= max(si, ti):
                raise ValueError(f"{path}:{n}: expected a source and a target column")
            pairs.append((r[si], r[ti]))
    if not pairs:
        raise ValueError(f"{path}: no examples")
    return random_subset(pairs, limit, seed)


def build_tiny(tokenizer, tiny: dict, max_len: int, dropout):
    from transformers import BartConfig, BartForConditionalGeneration

    from trainers.modeling import _apply_dropout

    h = tiny["hidden_size"]
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    config = BartConfig(
        vocab_size=len(tokenizer), d_model=h, encoder_layers=tiny["num_layers"], decoder_layers=tiny["num_layers"],
        encoder_attention_heads=tiny["num_heads"], decoder_attention_heads=tiny["num_heads"],
        encoder_ffn_dim=tiny["intermediate_size"], decoder_ffn_dim=tiny["intermediate_size"],
        max_position_embeddings=max(tiny["max_position"], max_len), pad_token_id=pad, bos_token_id=cls,
        eos_token_id=sep, decoder_start_token_id=cls, forced_eos_token_id=None, forced_bos_token_id=None,
        scale_embedding=True, dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
    )
    _apply_dropout(config, dropout)
    model = BartForConditionalGeneration(config)
    gc = model.generation_config
    gc.decoder_start_token_id, gc.bos_token_id, gc.eos_token_id, gc.pad_token_id = cls, cls, sep, pad
    gc.forced_bos_token_id = gc.forced_eos_token_id = None
    gc.no_repeat_ngram_size = 0
    return model


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, sources: list[list[int]], targets: list[list[int]]):
        self.sources, self.targets = sources, targets

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, i):
        return {"index": i, "input_ids": self.sources[i], "labels": self.targets[i]}


def make_collate(pad_id: int):
    def collate(items):
        n = len(items)
        w = max(len(it["input_ids"]) for it in items)
        tw = max(len(it["labels"]) for it in items)
        ids = torch.full((n, w), pad_id, dtype=torch.long)
        mask = torch.zeros((n, w), dtype=torch.long)
        labels = torch.full((n, tw), -100, dtype=torch.long)
        for r, it in enumerate(items):
            ids[r, :len(it["input_ids"])] = torch.tensor(it["input_ids"])
            mask[r, :len(it["input_ids"])] = 1
            labels[r, :len(it["labels"])] = torch.tensor(it["labels"])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    return collate


def run(settings: dict[str, Any], run_dir: str, metrics_path: str, accelerator, out, batch_size_fn,
        resume_from: str | None = None) -> dict:
    from trainers import genloop
    from trainers.loop import TrainerError, _data_path, resolve_init_from
    from trainers.metrics import generation_metrics
    from trainers.modeling import build_tiny_tokenizer

    seed = int(settings["seed"])
    train = read_pairs(_data_path(settings["train_file"]), settings, int(settings["max_train_samples"]), seed) \
        if settings["do_train"] else []
    dev = read_pairs(_data_path(settings["eval_file"]), settings, int(settings["max_eval_samples"]), seed + 1)
    out.log(f"seq2seq data: train {len(train)} pairs, eval {len(dev)} pairs")
    max_len, max_tgt = int(settings["max_seq_length"]), int(settings["max_target_length"])
    source = settings["init_from"] or (settings["model"] if settings["model"] != "tiny" else "")
    lowercase = True
    if source:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        folder = resolve_init_from(source) if settings["init_from"] else _data_path(source)
        if not os.path.isdir(folder):
            raise TrainerError(f"model {source!r}: no such folder")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForSeq2SeqLM.from_pretrained(folder)
        lowercase = bool(getattr(tokenizer, "do_lower_case", False)) or settings["model"] == "tiny"

        cls = tokenizer.cls_token_id if tokenizer.cls_token is not None else None
        if cls is not None and getattr(model.config, "decoder_start_token_id", None) == cls:
            sep = tokenizer.sep_token_id  # a tiny run's folder: targets are "... [SEP]", [CLS] starts the decoder

            def enc_target(texts):
                ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_tgt - 1)["input_ids"]
                return [x + [sep] for x in ids]
        else:
            def enc_target(texts):
                return tokenizer(text_target=texts, truncation=True, max_length=max_tgt)["input_ids"]
        out.log(f"seq2seq model {folder} ({type(model).__name__})")
    else:
        if not train:
            raise TrainerError("model=tiny builds its vocabulary from the training data: set do_train or init_from")
        tiny = settings["tiny"]
        lowercase = bool(tiny.get("lowercase", True))
        tokenizer = build_tiny_tokenizer([t for p in train for t in p], tiny["vocab_size"], lowercase)
        model = build_tiny(tokenizer, tiny, max_len, settings["dropout"])
        sep = tokenizer.sep_token_id

        def enc_target(texts):
            ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_tgt - 1)["input_ids"]
            return [x + [sep] for x in ids]
        out.log(f"seq2seq model tiny BART ({tiny['num_layers']}+{tiny['num_layers']} layers x {tiny['hidden_size']}, "
                f"{sum(p.numel() for p in model.parameters()):,} parameters; vocabulary {len(tokenizer)})")

    def encode(pairs):
        src = tokenizer([s for s, _ in pairs], truncation=True, max_length=max_len)["input_ids"]
        return PairDataset(src, enc_target([t for _, t in pairs]))

    train_ds = encode(train) if train else None
    eval_ds = encode(dev)
    collate = make_collate(tokenizer.pad_token_id)
    ebs = int(settings["eval_batch_size"])
    beams = int(settings["num_beams"])

    def generate(mdl, num_beams: int) -> list[str]:
        m = accelerator.unwrap_model(mdl)
        m.eval()
        outs: list[str] = []
        with torch.no_grad():
            for s in range(0, len(eval_ds), ebs):
                b = collate([eval_ds[i] for i in range(s, min(len(eval_ds), s + ebs))])
                gen = m.generate(input_ids=b["input_ids"].to(accelerator.device),
                                 attention_mask=b["attention_mask"].to(accelerator.device),
                                 max_new_tokens=max_tgt, num_beams=num_beams, do_sample=False,
                                 early_stopping=num_beams > 1)
                outs.extend(tokenizer.batch_decode(gen, skip_special_tokens=True))
        return [" ".join(o.split()) for o in outs]

    def evaluate(mdl, final: bool):
        m = accelerator.unwrap_model(mdl)
        m.eval()
        losses = []
        with torch.no_grad():
            for s in range(0, len(eval_ds), ebs):
                b = collate([eval_ds[i] for i in range(s, min(len(eval_ds), s + ebs))])
                b = {k: v.to(accelerator.device) for k, v in b.items()}
                losses.append(float(m(**b).loss) * b["input_ids"].shape[0])
        refs = [t for _, t in dev]
        greedy = generate(mdl, 1)
        metrics = {f"eval_{k}": v for k, v in generation_metrics(greedy, refs, lowercase).items()}
        metrics["eval_loss"] = sum(losses) / len(dev)
        shown = greedy
        if final and beams > 1:
            beam = generate(mdl, beams)
            bm = generation_metrics(beam, refs, lowercase)
            metrics.update({"eval_bleu_beam": bm["bleu"], "eval_rouge_l_beam": bm["rouge_l"],
                            "eval_exact_match_beam": bm["exact_match"]})
            shown = beam
        preds = None
        if final:
            preds = [{"index": i, "text": s, "target": t, "pred": g, **({"pred_beam": b} if shown is not greedy else {})}
                     for i, ((s, t), g, b) in enumerate(zip(dev, greedy, shown))]
        mdl.train()
        return metrics, preds

    return genloop.run_task(settings, accelerator, out, model, tokenizer, lambda: train_ds, collate, evaluate,
                            "eval_bleu", run_dir, batch_size_fn, resume_from)
