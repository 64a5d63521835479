"""From examples to batches: label maps, tokenize-once cache, dynamic padding, length grouping.

* :func:`encode` tokenizes a list of examples and caches the result under a fingerprint of
  the examples' content, the tokenizer, the label map and ``max_seq_length`` - a second run
  on the same data loads it instead of tokenizing again.
* :class:`EpochSampler` - a seeded permutation per epoch (same seed and epoch, same order: a
  resumed run sees the same batches). With ``group_by_length`` the permutation is cut into
  mega-batches of ``50 x batch_size`` examples, each sorted by length and chunked into
  batches, and the batch order is shuffled: batches of similar lengths, little padding,
  still random. The partial batch (if any) stays last so that a ``BatchSampler`` of the
  same size re-forms exactly these batches.
* :func:`collate` pads to the longest sequence of the batch (dynamic padding).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from trainers.data.formats import Example

CACHE_VERSION = 2


def label_space(task: str, *example_lists: Sequence[Example], fixed: str | Sequence[str] = "") -> list[str]:
    """The label names (class labels, multi-label names, or BIO tags) in a stable order."""
    if fixed:
        names = [s.strip() for s in fixed.split(",")] if isinstance(fixed, str) else list(fixed)
        names = [n for n in names if n]
        if task == "ner" and "O" not in names:
            names = ["O", *names]
        return names
    seen: set[str] = set()
    for examples in example_lists:
        for ex in examples:
            if task == "multilabel":
                seen.update(ex.labels or [])
            elif task == "ner":
                seen.update(ex.tags or [])
            else:
                seen.add(ex.label)
    if task == "ner":
        types = sorted({t[2:] for t in seen if t != "O"})
        return ["O"] + [f"{p}-{ty}" for ty in types for p in ("B", "I")]
    return sorted(seen)


def tokenizer_fingerprint(tokenizer) -> str:
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str())
        spec.pop("truncation", None)  # call-time state, set by the previous tokenizer(...) call
        spec.pop("padding", None)
        h.update(json.dumps(spec, sort_keys=True).encode())
    else:  # slow tokenizer: vocabulary + class
        h.update(type(tokenizer).__name__.encode())
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    h.update(str(getattr(tokenizer, "model_max_length", "")).encode())
    return h.hexdigest()


def examples_fingerprint(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps(ex.to_dict(), ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


class EncodedDataset(Dataset):
    """Tokenized examples packed into a few flat tensors (cheap to cache, small in memory).

    ``columns``: ``offsets`` (n+1), flat ``input_ids`` / ``token_type_ids`` (int32) indexed
    by the offsets, and ``labels`` - per example (classification, multi-label rows) or flat
    per token (ner). Items are dicts of 1-D tensors plus their ``index``.
    """

    def __init__(self, columns: dict[str, torch.Tensor], token_labels: bool):
        self.columns = columns
        self.token_labels = token_labels
        self.offsets = columns["offsets"]
        self.lengths = (self.offsets[1:] - self.offsets[:-1]).tolist()

    @classmethod
    def pack(cls, features: list[dict[str, Any]], token_labels: bool) -> EncodedDataset:
        lengths = [len(f["input_ids"]) for f in features]
        offsets = torch.zeros(len(features) + 1, dtype=torch.long)
        if lengths:
            offsets[1:] = torch.tensor(lengths, dtype=torch.long).cumsum(0)
        cols: dict[str, torch.Tensor] = {"offsets": offsets}
        for name in ("input_ids", "token_type_ids"):
            if features and name in features[0]:
                cols[name] = torch.tensor([x for f in features for x in f[name]], dtype=torch.int32)
        if token_labels:
            cols["labels"] = torch.tensor([x for f in features for x in f["labels"]], dtype=torch.long)
        elif features and isinstance(features[0]["labels"], list):
            cols["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.float)
        else:
            cols["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return cls(cols, token_labels)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> dict[str, Any]:
        s, e = int(self.offsets[i]), int(self.offsets[i + 1])
        item: dict[str, Any] = {"index": i, "input_ids": self.columns["input_ids"][s:e]}
        if "token_type_ids" in self.columns:
            item["token_type_ids"] = self.columns["token_type_ids"][s:e]
        item["labels"] = self.columns["labels"][s:e] if self.token_labels else self.columns["labels"][i]
        return item


def _encode_uncached(examples, tokenizer, task, label2id, max_len, long_text=None) -> EncodedDataset:
    feats: list[dict[str, Any]] = []
    chunk = 1000
    for start in range(0, len(examples), chunk):
        part = examples[start : start + chunk]
        if long_text is not None:
            from trainers.tricks.longtext import head_tail_ids

            head, tail = head_tail_sizes(long_text, max_len)
            content = tokenizer([ex.text for ex in part], add_special_tokens=False, truncation=False)["input_ids"]
            ids = [head_tail_ids(c, head, tail, tokenizer.cls_token_id, tokenizer.sep_token_id) for c in content]
            enc = {"input_ids": ids, "token_type_ids": [[0] * len(x) for x in ids]}
        elif task == "ner":
            enc = tokenizer([ex.tokens for ex in part], is_split_into_words=True, truncation=True, max_length=max_len)
        elif task == "pair":
            enc = tokenizer(
                [ex.text for ex in part], [ex.text_pair for ex in part], truncation=True, max_length=max_len
            )
        else:
            enc = tokenizer([ex.text for ex in part], truncation=True, max_length=max_len)
        for j, ex in enumerate(part):
            f: dict[str, Any] = {"input_ids": enc["input_ids"][j]}
            if "token_type_ids" in enc:
                f["token_type_ids"] = enc["token_type_ids"][j]
            if task == "ner":
                word_ids = enc.word_ids(j)
                labels, prev = [], None
                for w in word_ids:
                    if w is None or w == prev:
                        labels.append(-100)
                    else:
                        labels.append(label2id[ex.tags[w]])
                    prev = w
                f["labels"] = labels
            elif task == "multilabel":
                vec = [0.0] * len(label2id)
                for lab in ex.labels:
                    vec[label2id[lab]] = 1.0
                f["labels"] = vec
            else:
                f["labels"] = label2id[ex.label]
            feats.append(f)
    return EncodedDataset.pack(feats, token_labels=task == "ner")


def head_tail_sizes(long_text: dict, max_len: int) -> tuple[int, int]:
    """Content tokens kept at the start / end for tricks.long_text (head_tail, head or tail)."""
    strategy = long_text.get("strategy", "head_tail")
    budget = int(long_text.get("max_length") or max_len) - 2
    if strategy == "head":
        return budget, 0
    if strategy == "tail":
        return 0, budget
    return int(long_text.get("head", 128)), int(long_text.get("tail", 382))


def encode(
    examples: Sequence[Example],
    tokenizer,
    task: str,
    label2id: dict[str, int],
    max_len: int,
    cache_dir: str | None = None,
    write_cache: bool = True,
    long_text: dict | None = None,
) -> tuple[EncodedDataset, str]:
    """Tokenize (or load from the cache). Returns the dataset and 'cached' / 'tokenized'.

    ``long_text`` (the resolved ``tricks.long_text`` settings, single-text tasks only) keeps
    the head and tail of long inputs instead of truncating at ``max_len``.
    """
    key = hashlib.sha256(
        json.dumps(
            {
                "v": CACHE_VERSION,
                "task": task,
                "max_len": max_len,
                "labels": label2id,
                "long_text": long_text,
                "tok": tokenizer_fingerprint(tokenizer),
                "data": examples_fingerprint(examples),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:32]
    path = os.path.join(cache_dir, "tokenized", key + ".pt") if cache_dir else None
    if path and os.path.exists(path):
        try:
            cached = torch.load(path, weights_only=True)
            ds = EncodedDataset(cached["columns"], bool(cached["token_labels"]))
            if len(ds) == len(examples):
                return ds, "cached"
        except Exception:  # noqa: BLE001 - a corrupt or old cache entry is rebuilt
            pass
    ds = _encode_uncached(list(examples), tokenizer, task, label2id, max_len, long_text)
    if path and write_cache:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        torch.save({"columns": ds.columns, "token_labels": ds.token_labels}, tmp)
        os.replace(tmp, path)
    return ds, "tokenized"


class EpochSampler(Sampler[int]):
    """Seeded per-epoch order, optionally grouped by length (see the module docstring)."""

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int, group_by_length: bool = True, mega_factor: int = 50
    ):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group_by_length
        self.mega = max(1, mega_factor) * batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.seed * 100003 + self.epoch)
        perm = torch.randperm(len(self.lengths), generator=g).tolist()
        if not self.group:
            return iter(perm)
        batches: list[list[int]] = []
        for s in range(0, len(perm), self.mega):
            mega = sorted(perm[s : s + self.mega], key=lambda i: -self.lengths[i])
            batches.extend(mega[k : k + self.batch_size] for k in range(0, len(mega), self.batch_size))
        tail = batches.pop() if batches and len(batches[-1]) < self.batch_size else None
        order = torch.randperm(len(batches), generator=g).tolist()
        out = [i for b in order for i in batches[b]]
        if tail:
            out.extend(tail)
        return iter(out)


class LengthSortedSampler(Sampler[int]):
    """Evaluation order: longest first (little padding); predictions are re-ordered by index."""

    def __init__(self, lengths: Sequence[int]):
        self.order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self):
        return iter(self.order)


def make_collate(pad_id: int, task: str):
    def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        n = len(items)
        width = max(len(it["input_ids"]) for it in items)
        ids = torch.full((n, width), pad_id, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        has_tt = "token_type_ids" in items[0]
        tt = torch.zeros((n, width), dtype=torch.long) if has_tt else None
        if task == "ner":
            labels = torch.full((n, width), -100, dtype=torch.long)
        for r, it in enumerate(items):
            k = len(it["input_ids"])
            ids[r, :k] = it["input_ids"]
            mask[r, :k] = 1
            if has_tt:
                tt[r, :k] = it["token_type_ids"]
            if task == "ner":
                labels[r, :k] = it["labels"]
        if task != "ner":
            labels = torch.stack([it["labels"] for it in items])
        batch = {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": labels,
            "index": torch.tensor([it["index"] for it in items], dtype=torch.long),
        }
        if has_tt:
            batch["token_type_ids"] = tt
        return batch

    return collate


class EpochShuffle(torch.utils.data.Sampler):
    """Epoch ``e``'s order is the ``(e+1)``-th permutation drawn from one generator seeded with
    ``seed``: one random stream across epochs, like a shuffled loader with a seeded generator,
    but a function of (seed, epoch) (replayed, O(epoch x n)), so a resumed run that starts
    in epoch ``e`` sees the same batches."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.epoch):
            torch.randperm(self.n, generator=g)
        return iter(torch.randperm(self.n, generator=g).tolist())
