"""Long text (Sun et al. 2019, "How to fine-tune BERT for text classification"):

* head + tail truncation: keep the first ``head`` and the last ``tail`` content tokens,
  ``[CLS] head tail [SEP]`` (128 + 382 for a 512-token model). Built from ``cls_token_id`` /
  ``sep_token_id`` because fast tokenizers in transformers 5 lack
  ``build_inputs_with_special_tokens``.
* sliding windows: windows of ``max_length`` tokens overlapping by ``stride`` tokens
  (``return_overflowing_tokens``), each classified, and the per-window logits pooled per
  text (mean or max) at prediction time.

Data-layer functions (no model involved); settings ``tricks.long_text.strategy``
(``head_tail`` | ``windows``), ``head``, ``tail``, ``max_length``, ``stride``, ``pool``.
Cost: head+tail none; windows multiply prediction cost by the number of windows per text.
"""

from __future__ import annotations

from collections.abc import Sequence

from .specs import TrickSpec, fail


def _check_long_text(values, task, on, settings):
    if values["strategy"] == "windows":
        fail("tricks.long_text.strategy=windows is not supported by the bundled trainer; use head_tail, head or tail")


#: data-level (no step hooks): the data pipeline reads it through ``long_text_settings()``
SPEC = TrickSpec(
    "long_text",
    {"strategy": "head_tail", "head": 128, "tail": 382, "max_length": 512, "stride": 128, "pool": "mean"},
    choices={"strategy": ("head_tail", "windows", "head", "tail"), "pool": ("mean", "max")},
    nonnegative=("head", "tail", "stride"),
    tasks=("classification", "multilabel"),
    why_not="tricks.long_text is for single-text tasks (classification, multilabel), not {task}",
    check=_check_long_text,
)


def head_tail_ids(content_ids: Sequence[int], head: int, tail: int, cls_id: int, sep_id: int) -> list[int]:
    """[CLS] + first ``head`` + last ``tail`` content ids + [SEP]; short inputs are kept whole."""
    ids = list(content_ids)
    if len(ids) > head + tail:
        ids = ids[:head] + (ids[len(ids) - tail :] if tail else [])
    return [cls_id, *ids, sep_id]


def head_tail_encode(tokenizer, texts: Sequence[str], head: int = 128, tail: int = 382) -> dict:
    """Tokenize ``texts`` with head+tail truncation; returns padded python lists.

    Keys: ``input_ids``, ``attention_mask``, ``token_type_ids`` (all zeros: single text).
    """
    content = tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
    rows = [head_tail_ids(ids, head, tail, tokenizer.cls_token_id, tokenizer.sep_token_id) for ids in content]
    width = max(len(r) for r in rows) if rows else 0
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return {
        "input_ids": [r + [pad] * (width - len(r)) for r in rows],
        "attention_mask": [[1] * len(r) + [0] * (width - len(r)) for r in rows],
        "token_type_ids": [[0] * width for _ in rows],
    }


def sliding_windows(tokenizer, texts: Sequence[str], max_length: int = 512, stride: int = 128, **kwargs):
    """Encode each text as overlapping windows; ``overflow_to_sample_mapping`` maps windows to texts.

    ``stride`` is the number of tokens shared by consecutive windows (the tokenizer's
    convention). Returns the tokenizer's BatchEncoding (padded to the longest window).
    """
    return tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        padding=True,
        **kwargs,
    )


def pool_window_logits(logits, sample_mapping, how: str = "mean", num_samples: int | None = None):
    """Pool per-window logits [W, C] into per-text logits [N, C] (mean or max over windows)."""
    import torch

    logits = torch.as_tensor(logits)
    mapping = torch.as_tensor(sample_mapping, dtype=torch.long, device=logits.device)
    n = int(num_samples if num_samples is not None else int(mapping.max()) + 1)
    index = mapping.unsqueeze(-1).expand_as(logits)
    if how == "mean":
        total = torch.zeros((n, logits.size(-1)), dtype=logits.dtype, device=logits.device).scatter_add_(
            0, index, logits
        )
        count = torch.bincount(mapping, minlength=n).clamp_min(1).to(logits.dtype).unsqueeze(-1)
        return total / count
    if how == "max":
        out = torch.full((n, logits.size(-1)), float("-inf"), dtype=logits.dtype, device=logits.device)
        return out.scatter_reduce_(0, index, logits, reduce="amax", include_self=True)
    raise ValueError(f"unknown pooling {how!r}; expected 'mean' or 'max'")
