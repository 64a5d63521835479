"""task=span data: SQuAD-style questions, their context windows and the best answer span.

SQuAD JSON (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}``) or jsonl with one ``{"id", "question",
"context", "answers": [{"text", "answer_start"}]}`` per line (``answers`` may also be
SQuAD-v1-style ``{"text": [...], "answer_start": [...]}``). An answer whose ``answer_start``
does not point at its text is looked up in the context. Windows: ``[CLS] question [SEP]
context window [SEP]`` of ``max_seq_length`` tokens overlapping by ``doc_stride``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from trainers.data.sampling import random_subset


@dataclass
class QA:
    id: str
    question: str
    context: str
    answers: list[str]
    starts: list[int]


def _answers(raw, context: str) -> tuple[list[str], list[int]]:
    if isinstance(raw, dict):  # {"text": [...], "answer_start": [...]}
        texts, starts = list(raw.get("text") or []), list(raw.get("answer_start") or [])
    else:
        texts = [a["text"] for a in raw or []]
        starts = [a.get("answer_start", -1) for a in raw or []]
    out_t, out_s = [], []
    for t, s in zip(texts, starts + [-1] * (len(texts) - len(starts))):
        s = int(s) if s is not None else -1
        if s < 0 or context[s : s + len(t)] != t:
            s = context.find(t)
        out_t.append(t)
        out_s.append(s)
    return out_t, out_s


def read_squad(path: str, limit: int = 0, seed: int = 0) -> list[QA]:
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    items: list[QA] = []
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and "data" in doc:
        for art in doc["data"]:
            for para in art.get("paragraphs", []):
                ctx = para["context"]
                for qa in para.get("qas", []):
                    ans, starts = _answers(qa.get("answers"), ctx)
                    items.append(QA(str(qa.get("id", len(items))), qa["question"], ctx, ans, starts))
        text = ""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: not SQuAD JSON nor JSON lines ({exc})") from None
        ctx = obj["context"]
        ans, starts = _answers(obj.get("answers"), ctx)
        items.append(QA(str(obj.get("id", n)), obj["question"], ctx, ans, starts))
    if not items:
        raise ValueError(f"{path}: no questions")
    return random_subset(items, limit, seed)


def windows(items: list[QA], tokenizer, max_len: int, stride: int, train: bool) -> dict[str, Any]:
    enc = tokenizer(
        [q.question for q in items],
        [q.context for q in items],
        truncation="only_second",
        max_length=max_len,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    feats: dict[str, list] = {
        "input_ids": [],
        "token_type_ids": [],
        "start_positions": [],
        "end_positions": [],
        "example": [],
        "offsets": [],
    }
    for w in range(len(enc["input_ids"])):
        ex = int(enc["overflow_to_sample_mapping"][w])
        seq = enc.sequence_ids(w)
        offsets = [o if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][w])]
        ctx_idx = [k for k, s in enumerate(seq) if s == 1]
        sp = ep = 0
        q = items[ex]
        if q.answers and q.starts[0] >= 0 and ctx_idx:
            a0, a1 = q.starts[0], q.starts[0] + len(q.answers[0])
            if offsets[ctx_idx[0]][0] <= a0 and offsets[ctx_idx[-1]][1] >= a1:
                sp = next(k for k in ctx_idx if offsets[k][1] > a0)
                ep = next(k for k in reversed(ctx_idx) if offsets[k][0] < a1)
        feats["input_ids"].append(enc["input_ids"][w])
        feats["token_type_ids"].append(enc["token_type_ids"][w] if "token_type_ids" in enc else [0] * len(seq))
        feats["start_positions"].append(sp)
        feats["end_positions"].append(ep)
        feats["example"].append(ex)
        feats["offsets"].append(offsets)
    return feats


class WindowDataset(torch.utils.data.Dataset):
    def __init__(self, feats: dict[str, list]):
        self.f = feats

    def __len__(self):
        return len(self.f["input_ids"])

    def __getitem__(self, i):
        return {
            "index": i,
            "input_ids": self.f["input_ids"][i],
            "token_type_ids": self.f["token_type_ids"][i],
            "start_positions": self.f["start_positions"][i],
            "end_positions": self.f["end_positions"][i],
        }


def make_collate(pad_id: int, with_index: bool = False):
    def collate(items):
        n, w = len(items), max(len(it["input_ids"]) for it in items)
        ids = torch.full((n, w), pad_id, dtype=torch.long)
        tt = torch.zeros((n, w), dtype=torch.long)
        mask = torch.zeros((n, w), dtype=torch.long)
        for r, it in enumerate(items):
            k = len(it["input_ids"])
            ids[r, :k] = torch.tensor(it["input_ids"])
            tt[r, :k] = torch.tensor(it["token_type_ids"])
            mask[r, :k] = 1
        b = {
            "input_ids": ids,
            "token_type_ids": tt,
            "attention_mask": mask,
            "start_positions": torch.tensor([it["start_positions"] for it in items]),
            "end_positions": torch.tensor([it["end_positions"] for it in items]),
        }
        if with_index:
            b["index"] = torch.tensor([it["index"] for it in items])
        return b

    return collate


def best_spans(
    items: list[QA], feats: dict[str, list], starts: torch.Tensor, ends: torch.Tensor, max_answer: int
) -> list[tuple[str, float]]:
    """The best answer text (and its score) of every example over all its windows."""
    best: list[tuple[str, float]] = [("", float("-inf")) for _ in items]
    for w in range(len(feats["input_ids"])):
        ex = feats["example"][w]
        offsets = feats["offsets"][w]
        n = len(feats["input_ids"][w])
        s_log, e_log = starts[w, :n], ends[w, :n]
        valid = torch.tensor([o is not None for o in offsets])
        if not valid.any():
            continue
        s_masked = torch.where(valid, s_log, torch.full_like(s_log, float("-inf")))
        e_masked = torch.where(valid, e_log, torch.full_like(e_log, float("-inf")))
        score = s_masked[:, None] + e_masked[None, :]
        i = torch.arange(n)
        ok = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < max_answer)
        score = torch.where(ok, score, torch.full_like(score, float("-inf")))
        flat = int(score.argmax())
        si, ei = divmod(flat, n)
        val = float(score[si, ei])
        if val > best[ex][1]:
            ctx = items[ex].context
            best[ex] = (ctx[offsets[si][0] : offsets[ei][1]], val)
    return best
