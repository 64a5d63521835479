"""task=seq2seq: text generation with an encoder-decoder.

Model: ``model=tiny`` builds a small BART (:func:`trainers.modeling.build_tiny_bart`) over a
WordPiece vocabulary built from the sources *and* targets (``[CLS]`` starts the decoder,
``[SEP]`` ends a target); a local HF folder loads with ``AutoModelForSeq2SeqLM`` (BART, T5,
mBART, ...), targets tokenized with ``text_target=``. Training is teacher forcing (the model
shifts the labels right); evaluation generates greedily on each process's shard
(``eval_bleu``, ``eval_rouge_l``, ``eval_exact_match``) and, at the final evaluation with
``num_beams > 1``, with beam search too (``eval_*_beam``; the beam outputs go to
predictions.jsonl). BLEU and ROUGE-L are computed by :mod:`trainers.metrics` on word tokens
(lowercased when the model lowercases).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trainers.data.pairs import PairDataset, make_collate, read_pairs
from trainers.data.pipeline import EpochShuffle
from trainers.metrics import generation_metrics
from trainers.runtime import TrainerError, data_path, model_folder
from trainers.tasks.base import TaskAdapter


class Seq2SeqTask(TaskAdapter):
    def __init__(self, settings, accelerator, out):
        super().__init__(settings, accelerator, out)
        s = settings
        self.train = read_pairs(data_path(s.train_file), s, s.max_train_samples, s.seed) if s.do_train else []
        self.dev = read_pairs(data_path(s.eval_file), s, s.max_eval_samples, s.seed + 1)
        self.n_eval = len(self.dev)
        out.log(f"seq2seq data: train {len(self.train)} pairs, eval {len(self.dev)} pairs")
        self._build_model(model_folder(s))
        tok = self.tokenizer
        src = tok([x for x, _ in self.train + self.dev], truncation=True, max_length=s.max_seq_length)["input_ids"]
        tgt = self.encode_targets([t for _, t in self.train + self.dev])
        n = len(self.train)
        self.train_ds = PairDataset(src[:n], tgt[:n]) if self.train else None
        self.eval_ds = PairDataset(src[n:], tgt[n:])
        self.train_collate = make_collate(tok.pad_token_id)
        self.eval_collate = make_collate(tok.pad_token_id, with_index=True)

    def _build_model(self, folder: str) -> None:
        s = self.settings
        if folder:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            self.tokenizer = tok = AutoTokenizer.from_pretrained(folder)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(folder)
            self.lowercase = bool(getattr(tok, "do_lower_case", False)) or s.model == "tiny"
            cls = tok.cls_token_id if tok.cls_token is not None else None
            # a tiny run's folder: targets are "... [SEP]", [CLS] starts the decoder
            self.sep_terminated = cls is not None and getattr(self.model.config, "decoder_start_token_id", None) == cls
            self.out.log(f"seq2seq model {folder} ({type(self.model).__name__})")
            return
        if s.model != "tiny":
            raise TrainerError(f"model={s.model} is for the label tasks; task=seq2seq takes tiny or a folder")
        if not self.train:
            raise TrainerError("model=tiny builds its vocabulary from the training data: set do_train or init_from")
        from trainers.modeling import build_tiny_bart, build_tiny_tokenizer

        tiny = s.tiny
        self.lowercase = tiny.lowercase
        self.tokenizer = build_tiny_tokenizer([t for p in self.train for t in p], tiny.vocab_size, self.lowercase)
        self.model = build_tiny_bart(self.tokenizer, tiny, s.max_seq_length, s.dropout)
        self.sep_terminated = True
        self.out.log(
            f"seq2seq model tiny BART ({tiny.num_layers}+{tiny.num_layers} layers x "
            f"{tiny.hidden_size}, {sum(p.numel() for p in self.model.parameters()):,} parameters; "
            f"vocabulary {len(self.tokenizer)})"
        )

    def encode_targets(self, texts: list[str]) -> list[list[int]]:
        tok, max_tgt = self.tokenizer, self.settings.max_target_length
        if self.sep_terminated:
            ids = tok(texts, add_special_tokens=False, truncation=True, max_length=max_tgt - 1)["input_ids"]
            return [x + [tok.sep_token_id] for x in ids]
        return tok(text_target=texts, truncation=True, max_length=max_tgt)["input_ids"]

    def train_sampler(self, batch_size: int):
        return EpochShuffle(len(self.train_ds), self.settings.seed)

    def make_tricks(self, model, optimizer, total_steps: int, run_dir: str):
        if not self.settings.tricks:
            return None
        from trainers.tricks import build_tricks

        vocab = int(getattr(self.accelerator.unwrap_model(model).config, "vocab_size", 0) or 0)
        tricks = build_tricks(
            self.settings,
            task="seq2seq",
            num_labels=vocab,
            context={
                "accelerator": self.accelerator,
                "optimizer": optimizer,
                "total_steps": total_steps,
                "run_dir": run_dir,
            },
        )
        tricks.bind_optimizer(optimizer)
        return tricks

    def train_step(self, model, batch, tricks) -> dict:
        if tricks is not None:
            batch = with_decoder_inputs(self.accelerator, model, batch)
        return super().train_step(model, batch, tricks)

    # ------------------------------------------------------------------ evaluation

    def eval_rows(self, model, batch, final: bool):
        pad = self.tokenizer.pad_token_id
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
        logits = model(**inputs).logits.float()
        labels = batch["labels"]
        tok = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none", ignore_index=-100)
        per = tok.sum(1) / (labels != -100).sum(1).clamp(min=1)
        rows = [(batch["index"], None), (per, None), (self._generate(model, batch, 1), pad)]
        if final and self.settings.num_beams > 1:
            rows.append((self._generate(model, batch, self.settings.num_beams), pad))
        return rows

    def _generate(self, model, batch, num_beams: int) -> torch.Tensor:
        m = self.accelerator.unwrap_model(model)
        return m.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            max_new_tokens=self.settings.max_target_length,
            num_beams=num_beams,
            do_sample=False,
            early_stopping=num_beams > 1,
        )

    def _decode(self, ids: torch.Tensor) -> list[str]:
        return [" ".join(o.split()) for o in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def score(self, present, cols, final):
        dev = [self.dev[i] for i in present]
        refs = [t for _, t in dev]
        greedy = self._decode(cols[1])
        metrics = {f"eval_{k}": v for k, v in generation_metrics(greedy, refs, self.lowercase).items()}
        metrics["eval_loss"] = float(cols[0].mean())
        shown = greedy
        if len(cols) > 2:
            shown = self._decode(cols[2])
            bm = generation_metrics(shown, refs, self.lowercase)
            metrics.update(
                {
                    "eval_bleu_beam": bm["bleu"],
                    "eval_rouge_l_beam": bm["rouge_l"],
                    "eval_exact_match_beam": bm["exact_match"],
                }
            )
        if not final:
            return metrics, None
        preds = [
            {"index": i, "text": s, "target": t, "pred": g, **({"pred_beam": b} if shown is not greedy else {})}
            for i, ((s, t), g, b) in enumerate(zip(dev, greedy, shown))
        ]
        return metrics, preds


def with_decoder_inputs(accelerator, model, batch: dict) -> dict:
    """The tricks call the model without ``labels`` (they compute the loss from the logits),
    so the decoder inputs the model would derive from the labels are made here, the same way."""
    if "decoder_input_ids" in batch or "labels" not in batch:
        return batch
    inner = accelerator.unwrap_model(model)
    if not hasattr(inner, "prepare_decoder_input_ids_from_labels"):
        raise TrainerError(
            f"tricks need {type(inner).__name__}.prepare_decoder_input_ids_from_labels (BART, T5, mBART have it)"
        )
    return {**batch, "decoder_input_ids": inner.prepare_decoder_input_ids_from_labels(labels=batch["labels"])}
