"""A linear-chain CRF output layer for sequence labeling, in log space.

Score of a tag path y over n positions with emissions E (n x T)::

    s(y) = start[y_0] + sum_t E[t, y_t] + sum_{t>0} trans[y_{t-1}, y_t] + end[y_{n-1}]

The loss is the negative log-likelihood ``log Z - s(gold)``, ``log Z = logsumexp_y s(y)`` by the
forward algorithm; decoding is Viterbi (the argmax path). BIO constraints (``allowed_mask``)
add -10000 to the transitions no BIO sequence has: ``O -> I-X``, ``B-X/I-X -> I-Y`` (Y != X)
and a start at ``I-X``, so decoding never produces a stray ``I-``. Positions labelled -100
(padding, sub-word continuations) are skipped: the chain runs over the labelled positions
only (a word's first sub-token). tests/trainers/test_crf.py checks ``log Z`` and the
Viterbi path against brute-force enumeration of every path on tiny inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NEG = -10000.0


def allowed_mask(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(transition penalties T x T, start penalties T): 0 where BIO allows, NEG elsewhere."""
    n = len(tags)
    trans = torch.zeros(n, n)
    start = torch.zeros(n)
    for j, to in enumerate(tags):
        if not to.startswith("I-"):
            continue
        start[j] = NEG
        for i, frm in enumerate(tags):
            if frm == "O" or frm[2:] != to[2:] or not frm.startswith(("B-", "I-")):
                trans[i, j] = NEG
    return trans, start


def compress(emissions: torch.Tensor, valid: torch.Tensor, labels: torch.Tensor | None = None):
    """Move each row's valid positions to the front: (emissions, labels, mask, gather index)."""
    order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices
    em = emissions.gather(1, order[..., None].expand(-1, -1, emissions.size(-1)))
    counts = valid.sum(1)
    mask = torch.arange(valid.size(1), device=valid.device)[None, :] < counts[:, None]
    lab = labels.gather(1, order).clamp(min=0) if labels is not None else None
    return em, lab, mask, order


class LinearChainCRF(nn.Module):
    def __init__(self, tags: Sequence[str]):
        super().__init__()
        n = len(tags)
        self.transitions = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        trans_pen, start_pen = allowed_mask(tags)
        # saved with the weights (HF loading builds models on the meta device: only saved tensors get values)
        # saved with the weights: HF loading builds the model on the meta device, so a tensor not
        # in the checkpoint would have no value
        self.register_buffer("trans_penalty", trans_pen)
        self.register_buffer("start_penalty", start_pen)

    def _params(self):
        return self.transitions + self.trans_penalty, self.start + self.start_penalty, self.end

    def log_partition(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per row; ``em`` B x W x T with the valid positions first (``mask``)."""
        trans, start, end = self._params()
        alpha = start[None] + em[:, 0]
        for t in range(1, em.size(1)):
            nxt = torch.logsumexp(alpha[:, :, None] + trans[None] + em[:, t, None, :], dim=1)
            alpha = torch.where(mask[:, t, None], nxt, alpha)
        return torch.logsumexp(alpha + end[None], dim=1)

    def path_score(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        trans, start, end = self._params()
        score = start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for t in range(1, em.size(1)):
            step = trans[tags[:, t - 1], tags[:, t]] + em[:, t].gather(1, tags[:, t : t + 1]).squeeze(1)
            score = score + torch.where(mask[:, t], step, torch.zeros_like(step))
        last = tags.gather(1, (mask.sum(1) - 1).clamp(min=0)[:, None]).squeeze(1)
        return score + end[last]

    def nll(self, emissions: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """-log p(gold | x) per sequence over the positions whose label is not -100."""
        valid = labels != -100
        em, lab, mask, _ = compress(emissions.float(), valid, labels)
        per = self.log_partition(em, mask) - self.path_score(em, lab, mask)
        per = torch.where(valid.any(1), per, torch.zeros_like(per))
        return per if reduction == "none" else per.mean()

    def decode(self, emissions: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Viterbi tag ids, B x L (meaningful where ``valid``)."""
        em, _, mask, order = compress(emissions.float(), valid)
        trans, start, end = self._params()
        score = start[None] + em[:, 0]
        back = []
        for t in range(1, em.size(1)):
            best, arg = (score[:, :, None] + trans[None]).max(dim=1)
            nxt = best + em[:, t]
            back.append(torch.where(mask[:, t, None], arg, torch.arange(em.size(2), device=em.device)[None]))
            score = torch.where(mask[:, t, None], nxt, score)
        tag = (score + end[None]).argmax(1)
        path = [tag]
        for arg in reversed(back):
            tag = arg.gather(1, tag[:, None]).squeeze(1)
            path.append(tag)
        packed = torch.stack(path[::-1], dim=1)
        out = torch.zeros_like(packed)
        return out.scatter(1, order, packed)
