"""task=span: extractive reading comprehension (SQuAD-style start/end prediction).

Long contexts become overlapping windows (:func:`trainers.data.squad.windows`). Training: a
window containing the whole answer points at it; other windows point at ``[CLS]`` (index 0).
Evaluation (sharded like every task: each process scores its windows, the start/end logits
are gathered): over all windows of an example, the highest ``start_logit + end_logit`` with
start <= end, both inside the context, at most ``max_answer_length`` tokens; the answer is
the context's characters between their offsets. Metrics: ``eval_exact_match`` and
``eval_f1`` (SQuAD normalisation, max over gold answers; CJK compared by character). The
tiny model is ``BertForQuestionAnswering`` over a WordPiece vocabulary from the questions
and contexts; a folder loads with ``AutoModelForQuestionAnswering`` (needs a fast tokenizer
for the offsets).
"""

from __future__ import annotations

import torch.nn.functional as F

from trainers.data.pipeline import EpochShuffle
from trainers.data.squad import WindowDataset, best_spans, make_collate, read_squad, windows
from trainers.metrics import span_metrics
from trainers.runtime import TrainerError, data_path, model_folder
from trainers.tasks.base import TaskAdapter


class SpanTask(TaskAdapter):
    def __init__(self, settings, accelerator, out):
        super().__init__(settings, accelerator, out)
        s = settings
        self.train = read_squad(data_path(s.train_file), s.max_train_samples, s.seed) if s.do_train else []
        self.dev = read_squad(data_path(s.eval_file), s.max_eval_samples, s.seed + 1)
        self._build_model(model_folder(s))
        max_len, stride = s.max_seq_length, s.doc_stride
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions and max_len > positions:
            max_len = positions
        if stride >= max_len // 2:
            raise TrainerError(f"doc_stride {stride} must be well below max_seq_length {max_len} (e.g. a quarter)")
        train_feats = windows(self.train, self.tokenizer, max_len, stride, True) if self.train else None
        self.dev_feats = windows(self.dev, self.tokenizer, max_len, stride, False)
        self.train_ds = WindowDataset(train_feats) if train_feats else None
        self.eval_ds = WindowDataset(self.dev_feats)
        self.n_eval = len(self.eval_ds)  # rows are windows
        out.log(
            f"span data: train {len(self.train)} questions in {len(self.train_ds) if self.train_ds else 0} "
            f"windows, eval {len(self.dev)} questions in {len(self.eval_ds)} windows "
            f"(max_seq_length {max_len}, doc_stride {stride}); model {type(self.model).__name__} "
            f"{sum(p.numel() for p in self.model.parameters()):,} parameters"
        )
        self.train_collate = make_collate(self.tokenizer.pad_token_id)
        self.eval_collate = make_collate(self.tokenizer.pad_token_id, with_index=True)

    def _build_model(self, folder: str) -> None:
        s = self.settings
        if folder:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            if not getattr(self.tokenizer, "is_fast", False):
                raise TrainerError("task=span needs a fast tokenizer (character offsets)")
            self.model = AutoModelForQuestionAnswering.from_pretrained(folder)
            return
        if s.model != "tiny":
            raise TrainerError(f"model={s.model} is for the label tasks; task=span takes tiny or a folder")
        if not self.train:
            raise TrainerError("model=tiny builds its vocabulary from the training data: set do_train or init_from")
        from trainers.modeling import build_tiny_qa, build_tiny_tokenizer

        tiny = s.tiny
        texts = [t for q in self.train for t in (q.question, q.context)]
        self.tokenizer = build_tiny_tokenizer(texts, tiny.vocab_size, tiny.lowercase)
        self.model = build_tiny_qa(self.tokenizer, tiny, s.max_seq_length, s.dropout)

    def train_sampler(self, batch_size: int):
        return EpochShuffle(len(self.train_ds), self.settings.seed)

    def eval_rows(self, model, batch, final: bool):
        o = model(
            input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"], attention_mask=batch["attention_mask"]
        )
        # positions past the window's end (batch padding) are masked out, so a window's logits and
        # loss do not depend on how wide its batch was (on one process or several)
        pad = batch["attention_mask"] == 0
        s_log = o.start_logits.float().masked_fill(pad, -1e4)
        e_log = o.end_logits.float().masked_fill(pad, -1e4)
        # per window: mean of the start and end cross-entropies (the model's loss, over real tokens)
        per = (
            F.cross_entropy(s_log, batch["start_positions"], reduction="none")
            + F.cross_entropy(e_log, batch["end_positions"], reduction="none")
        ) / 2
        return [(batch["index"], None), (per, None), (s_log, -1e4), (e_log, -1e4)]

    def score(self, present, cols, final):
        losses, starts, ends = cols
        if len(present) != len(self.eval_ds):
            raise TrainerError(f"span evaluation gathered {len(present)} of {len(self.eval_ds)} windows")
        spans = best_spans(self.dev, self.dev_feats, starts, ends, self.settings.max_answer_length)
        metrics = {
            f"eval_{k}": v for k, v in span_metrics([t for t, _ in spans], [q.answers for q in self.dev]).items()
        }
        metrics["eval_loss"] = float(losses.mean())
        if not final:
            return metrics, None
        preds = [
            {
                "index": i,
                "id": q.id,
                "question": q.question,
                "answers": q.answers,
                "pred": t,
                "score": round(sc, 4) if sc != float("-inf") else None,
            }
            for i, (q, (t, sc)) in enumerate(zip(self.dev, spans))
        ]
        return metrics, preds
