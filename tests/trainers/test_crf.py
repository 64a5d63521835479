"""The CRF layer against brute force: log Z == logsumexp over every tag path, the gold path's
score is what the formula says, Viterbi == the argmax path, BIO constraints hold, and the
positions labelled -100 (padding, sub-word continuations) are skipped."""

from __future__ import annotations

import itertools

import pytest
import torch

from trainers.crf import NEG, LinearChainCRF, allowed_mask

TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _crf(seed: int) -> LinearChainCRF:
    g = torch.Generator().manual_seed(seed)
    crf = LinearChainCRF(TAGS)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return crf


def _score(crf, em, path):
    trans = crf.transitions + crf.trans_penalty
    start = crf.start + crf.start_penalty
    s = start[path[0]] + em[0, path[0]] + crf.end[path[-1]]
    for t in range(1, len(path)):
        s = s + trans[path[t - 1], path[t]] + em[t, path[t]]
    return s


@pytest.mark.parametrize("n,seed", [(1, 0), (2, 1), (3, 2), (4, 3)])
def test_log_partition_and_viterbi_equal_brute_force(n, seed):
    crf = _crf(seed)
    em = torch.randn(1, n, len(TAGS), generator=torch.Generator().manual_seed(100 + seed))
    paths = list(itertools.product(range(len(TAGS)), repeat=n))
    scores = torch.stack([_score(crf, em[0], p) for p in paths])
    labels = torch.zeros(1, n, dtype=torch.long)
    mask = torch.ones(1, n, dtype=torch.bool)
    assert crf.log_partition(em, mask)[0].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-4)
    best = paths[int(scores.argmax())]
    assert crf.decode(em, mask)[0].tolist() == list(best)
    # the loss of a (BIO-valid) gold path: log Z minus its score
    allowed = [p for p in paths if _score(crf, em[0], p) > NEG / 2]
    gold = allowed[len(allowed) // 2]
    labels[0] = torch.tensor(gold)
    expected = torch.logsumexp(scores, 0) - _score(crf, em[0], gold)
    assert crf.nll(em, labels).item() == pytest.approx(expected.item(), abs=1e-4)


def test_ignored_positions_are_skipped_and_batches_are_independent():
    crf = _crf(7)
    g = torch.Generator().manual_seed(8)
    em = torch.randn(2, 5, len(TAGS), generator=g)
    # row 0: labelled at 0, 2, 3 (1 is a sub-word continuation, 4 padding); row 1: all labelled
    labels = torch.tensor([[1, -100, 2, 0, -100], [0, 3, 4, 0, 1]])
    per = crf.nll(em, labels, reduction="none")
    alone = crf.nll(em[:1, [0, 2, 3]], labels[:1, [0, 2, 3]], reduction="none")
    assert per[0].item() == pytest.approx(alone[0].item(), abs=1e-5)
    assert per[1].item() == pytest.approx(crf.nll(em[1:], labels[1:], reduction="none")[0].item(), abs=1e-5)
    path = crf.decode(em, labels != -100)
    assert path[0, [0, 2, 3]].tolist() == crf.decode(em[:1, [0, 2, 3]], torch.ones(1, 3, dtype=torch.bool))[0].tolist()


def test_bio_constraints_forbid_stray_inside_tags():
    trans, start = allowed_mask(TAGS)
    o, b_loc, i_loc, b_per, i_per = range(5)
    assert start[i_loc] == NEG and start[b_loc] == 0 and start[o] == 0
    assert trans[o, i_loc] == NEG and trans[b_per, i_loc] == NEG and trans[i_per, i_loc] == NEG
    assert trans[b_loc, i_loc] == 0 and trans[i_loc, i_loc] == 0 and trans[i_loc, o] == 0 and trans[o, b_per] == 0
    # emissions that shout I-LOC everywhere still decode to a valid BIO sequence
    crf = LinearChainCRF(TAGS)
    em = torch.zeros(1, 4, len(TAGS))
    em[0, :, i_loc] = 5.0
    em[0, :, b_loc] = 1.0
    assert crf.decode(em, torch.ones(1, 4, dtype=torch.bool))[0].tolist() == [b_loc, i_loc, i_loc, i_loc]
