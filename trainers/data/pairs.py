"""task=seq2seq data: (source, target) text pairs and their batches.

tsv/csv (``text`` and ``target`` columns by header name, or the first two columns of a
headerless file) or jsonl (``text_column`` / ``target_column`` fields).
"""

from __future__ import annotations

import csv
import json
import os

import torch

from trainers.data.sampling import random_subset
from trainers.settings import Settings


def read_pairs(path: str, settings: Settings, limit: int, seed: int) -> list[tuple[str, str]]:
    src_col, tgt_col = str(settings.text_column), str(settings.target_column)
    fmt = settings.format
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
        delim = settings.delimiter or ("," if fmt == "csv" or ext == ".csv" else "\t")
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = (
                list(csv.reader(fh, delimiter=delim)) if delim == "," else [ln.rstrip("\r\n").split(delim) for ln in fh]
            )
        rows = [r for r in rows if any(x.strip() for x in r)]
        header = settings.has_header
        first = rows[0] if rows else []
        is_header = header is True or header == "true" or (header == "auto" and src_col in first and tgt_col in first)
        si, ti = (
            (first.index(src_col), first.index(tgt_col))
            if is_header and src_col in first and tgt_col in first
            else (0, 1)
        )
        pairs = []
        for n, r in enumerate(rows[1:] if is_header else rows, 2 if is_header else 1):
            if len(r) <= max(si, ti):
                raise ValueError(f"{path}:{n}: expected a source and a target column")
            pairs.append((r[si], r[ti]))
    if not pairs:
        raise ValueError(f"{path}: no examples")
    return random_subset(pairs, limit, seed)


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, sources: list[list[int]], targets: list[list[int]]):
        self.sources, self.targets = sources, targets

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, i):
        return {"index": i, "input_ids": self.sources[i], "labels": self.targets[i]}


def make_collate(pad_id: int, with_index: bool = False):
    """Pad sources with ``pad_id`` and targets with -100; ``with_index`` adds the rows' ``index``."""

    def collate(items):
        n = len(items)
        w = max(len(it["input_ids"]) for it in items)
        tw = max(len(it["labels"]) for it in items)
        ids = torch.full((n, w), pad_id, dtype=torch.long)
        mask = torch.zeros((n, w), dtype=torch.long)
        labels = torch.full((n, tw), -100, dtype=torch.long)
        for r, it in enumerate(items):
            ids[r, : len(it["input_ids"])] = torch.tensor(it["input_ids"])
            mask[r, : len(it["input_ids"])] = 1
            labels[r, : len(it["labels"])] = torch.tensor(it["labels"])
        batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        if with_index:
            batch["index"] = torch.tensor([it["index"] for it in items])
        return batch

    return collate
