"""The label tasks: classification, pair, multilabel (one logit vector per text) and ner (one
per word's first sub-token, -100 elsewhere). Data through :mod:`trainers.data.splits` and
:mod:`trainers.data.pipeline`; models from :mod:`trainers.modeling` (the tiny BERT, the
preset networks of :mod:`trainers.nets`, or a local HF folder)."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from trainers.data.pipeline import EpochSampler, LengthSortedSampler, encode, head_tail_sizes, label_space, make_collate
from trainers.data.splits import read_split
from trainers.metrics import classification_metrics, multilabel_metrics, ner_metrics
from trainers.runtime import TrainerError, cache_dir, data_path, model_folder
from trainers.tasks.base import TaskAdapter


class LabelTask(TaskAdapter):
    def __init__(self, settings, accelerator, out):
        super().__init__(settings, accelerator, out)
        self.task = task = settings.task
        self.train_ex = read_split(settings, "train", out) if settings.do_train else []
        self.eval_ex = read_split(settings, "eval", out)
        self.n_eval = len(self.eval_ex)
        if task in ("classification", "pair") and self.train_ex:
            from trainers.data.skew import distribution_report

            for line in distribution_report([ex.label for ex in self.train_ex], [ex.label for ex in self.eval_ex]):
                out.log(line)
        self.cache_dir = cache_dir(settings)
        self.source = model_folder(settings)
        self._build_model()
        label2id = {lab: i for i, lab in enumerate(self.labels)}
        for ex in self.train_ex + self.eval_ex:
            names = ex.labels if task == "multilabel" else ex.tags if task == "ner" else [ex.label]
            for n in names:
                if n not in label2id:
                    raise TrainerError(f"label {n!r} (line {ex.line}) is not in the label set {self.labels}")
        self._encode(label2id)
        self.train_collate = self.eval_collate = make_collate(self.tokenizer.pad_token_id, task)

    def _build_model(self) -> None:
        from trainers.modeling import build_model

        s, acc = self.settings, self.accelerator
        self.labels = label_space(self.task, self.train_ex, self.eval_ex, fixed=s.labels)
        if not self.source and not self.train_ex:
            raise TrainerError(
                f"model={s.model} builds its vocabulary from the training data: set do_train or init_from"
            )
        self.model, self.tokenizer, self.labels, what = build_model(
            s,
            self.task,
            self.labels,
            self.source,
            self.train_ex,
            self.cache_dir,
            acc.is_main_process,
            acc.wait_for_everyone,
        )
        self.out.log(what)

    def _encode(self, label2id: dict[str, int]) -> None:
        from trainers.tricks import long_text_settings

        s, acc = self.settings, self.accelerator
        max_len = s.max_seq_length
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions and max_len > positions:
            self.out.log(f"max_seq_length {max_len} > the model's {positions} positions: using {positions}")
            max_len = positions
        long_text = long_text_settings(s)
        if long_text is not None:
            h, t = head_tail_sizes(long_text, max_len)
            self.out.log(f"long text: keeping the first {h} and last {t} tokens of longer inputs (tricks.long_text)")
        with acc.main_process_first():
            t0 = time.perf_counter()
            kw = {"write_cache": acc.is_main_process, "long_text": long_text}
            self.train_ds, how_tr = (
                encode(self.train_ex, self.tokenizer, self.task, label2id, max_len, self.cache_dir, **kw)
                if self.train_ex
                else (None, "-")
            )
            self.eval_ds, how_ev = encode(
                self.eval_ex, self.tokenizer, self.task, label2id, max_len, self.cache_dir, **kw
            )
        self.out.log(f"data: train {how_tr}, eval {how_ev} ({time.perf_counter() - t0:.1f}s; cache {self.cache_dir})")

    def train_sampler(self, batch_size: int):
        s = self.settings
        return EpochSampler(self.train_ds.lengths, batch_size, s.seed, s.group_by_length)

    def eval_sampler(self):
        return LengthSortedSampler(self.eval_ds.lengths)

    def make_tricks(self, model, optimizer, total_steps: int, run_dir: str):
        from trainers.modeling import unwrap
        from trainers.tricks import build_tricks

        settings = self.settings.as_dict()  # the tricks read (and type) their own section
        distill = settings["tricks"].get("distill")
        if isinstance(distill, dict) and distill.get("logits_file"):  # relative to the project root
            settings["tricks"]["distill"] = {**distill, "logits_file": data_path(distill["logits_file"])}
        tricks = build_tricks(
            settings,
            task=self.task,
            num_labels=len(self.labels),
            context={
                "accelerator": self.accelerator,
                "optimizer": optimizer,
                "total_steps": total_steps,
                "tokenizer": self.tokenizer,
                "label_names": self.labels,
                "run_dir": run_dir,
                "model_source": self.source or self.settings.model,
                "class_weights": self.class_weights(),
                "teacher_batches": self._ordered_train_batches,
                "crf": getattr(unwrap(model), "crf", None),
            },
        )
        tricks.bind_optimizer(optimizer)
        return tricks

    def _ordered_train_batches(self):
        """The training set in dataset order (a teacher's logits, row i = example i)."""
        return torch.utils.data.DataLoader(
            self.train_ds, batch_size=self.settings.eval_batch_size, collate_fn=self.train_collate
        )

    def class_weights(self) -> list[float] | None:
        """``class_weights = "balanced"``: n / (k · n_c) per class of the training set (sklearn's rule)."""
        if self.settings.class_weights != "balanced" or self.task not in ("classification", "pair"):
            return None
        from collections import Counter

        counts = Counter(ex.label for ex in self.train_ex)
        n, k = sum(counts.values()), len(self.labels)
        return [n / (k * counts[lab]) if counts[lab] else 0.0 for lab in self.labels]

    # ------------------------------------------------------------------ evaluation

    def eval_rows(self, model, batch, final: bool):
        from trainers.tricks import model_inputs

        labels_t = batch["labels"]
        if self.task == "ner":
            return self._ner_rows(model, batch)
        logits = model(**model_inputs(batch)).logits.float()
        if self.task == "multilabel":
            per = F.binary_cross_entropy_with_logits(logits, labels_t.float(), reduction="none").mean(-1)
            return [(batch["index"], None), (per, None), (torch.sigmoid(logits), None), (logits, None)]
        per = F.cross_entropy(logits, labels_t, reduction="none")
        return [(batch["index"], None), (per, None), (logits, None)]

    def _ner_rows(self, model, batch):
        from trainers.modeling import unwrap
        from trainers.tricks import model_inputs

        labels_t = batch["labels"]
        valid = labels_t != -100
        logits = model(**model_inputs(batch)).logits.float()
        crf = getattr(unwrap(model), "crf", None)
        if crf is not None:  # the CRF's -log p(gold path) per sentence; Viterbi decoding
            per, decoded = crf.nll(logits, labels_t, reduction="none"), crf.decode(logits, valid)
        else:
            tok = F.cross_entropy(logits.transpose(1, 2), labels_t, reduction="none", ignore_index=-100)
            per, decoded = tok.sum(1) / valid.sum(1).clamp(min=1), logits.argmax(-1)
        preds = torch.where(valid, decoded, torch.full_like(labels_t, -100))
        # the raw scores too: a word's first sub-token's logits go into its prediction row
        return [(batch["index"], None), (per, None), (preds, -100), (logits, 0)]

    def score(self, present, cols, final):
        exs = [self.eval_ex[i] for i in present]
        if self.task in ("classification", "pair"):
            m, preds = self._score_classes(exs, *cols)
        elif self.task == "multilabel":
            m, preds = self._score_multilabel(exs, *cols)
        else:
            m, preds = self._score_ner(exs, *cols)
        losses = cols[0]
        m["loss"] = float(losses.mean()) if len(losses) else float("nan")
        return {f"eval_{k}": (v if isinstance(v, int) else float(v)) for k, v in m.items()}, preds

    def _score_classes(self, exs, losses, logits):
        labels = self.labels
        probs_t = torch.softmax(logits, -1)
        y_pred = [labels[p] for p in probs_t.argmax(-1).tolist()]
        m = classification_metrics([ex.label for ex in exs], y_pred, labels)
        preds = []
        for k, (ex, p) in enumerate(zip(exs, y_pred)):
            probs = probs_t[k].tolist()
            # raw logits (in label order) let `expctl ensemble` average runs without reloading models
            preds.append(
                {
                    "index": k,
                    "text": ex.text,
                    "text_pair": ex.text_pair,
                    "label": ex.label,
                    "pred": p,
                    "confidence": round(max(probs), 6),
                    "probs": {lab: round(v, 6) for lab, v in zip(labels, probs)},
                    "logits": [float(v) for v in logits[k].tolist()],
                }
            )
        return m, preds

    def _score_multilabel(self, exs, losses, probs_t, logits):
        labels = self.labels
        pred_sets = [[labels[j] for j, v in enumerate(row) if v >= 0.5] for row in probs_t.tolist()]
        m = multilabel_metrics([ex.labels for ex in exs], pred_sets, labels)
        # raw logits in label order (sigmoid >= 0.5 predicts a label): for `expctl ensemble`
        preds = [
            {
                "index": k,
                "text": ex.text,
                "labels": ex.labels,
                "pred_labels": ps,
                "probs": {lab: round(v, 6) for lab, v in zip(labels, probs_t[k].tolist())},
                "logits": [float(v) for v in logits[k].tolist()],
            }
            for k, (ex, ps) in enumerate(zip(exs, pred_sets))
        ]
        return m, preds

    def _score_ner(self, exs, losses, outs, scores):
        y_true, y_pred, preds = [], [], []
        for k, ex in enumerate(exs):
            row = outs[k]
            word_preds = [self.labels[int(v)] for v in row[row != -100].tolist()]
            word_preds = (word_preds + ["O"] * len(ex.tags))[: len(ex.tags)]  # truncated words: O
            y_true.append(ex.tags)
            y_pred.append(word_preds)
            # per word: the logits of its first sub-token in tag_names order (null: a word cut off by
            # max_seq_length, predicted O) - what `expctl ensemble` averages
            word_logits = [[round(v, 6) for v in w] for w in scores[k][row != -100].tolist()]
            word_logits = (word_logits + [None] * len(ex.tags))[: len(ex.tags)]
            preds.append(
                {
                    "index": k,
                    "tokens": ex.tokens,
                    "tags": ex.tags,
                    "pred_tags": word_preds,
                    "tag_names": list(self.labels),
                    "word_logits": word_logits,
                }
            )
        return ner_metrics(y_true, y_pred), preds

    def report(self, metrics, preds) -> None:
        """Flag a classifier that predicts one class for >= 95% of the dev set."""
        from trainers.data.skew import one_class_warning

        if self.task in ("classification", "pair") and preds:
            warning = one_class_warning([p["pred"] for p in preds], [p["label"] for p in preds])
            if warning:
                self.out.log(warning)
