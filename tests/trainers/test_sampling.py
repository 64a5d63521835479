"""Stage subsets: seeded, label-stratified, streamed; never the first N lines."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from trainers.data import sampling
from trainers.data.formats import iter_examples


def _sorted_file(tmp_path, counts):
    p = tmp_path / "sorted.tsv"
    with open(p, "w") as fh:
        fh.write("text\tlabel\n")
        for lab, n in counts.items():  # sorted by label, as real files often are
            for i in range(n):
                fh.write(f"{lab} text {i}\t{lab}\n")
    return p


def test_stratified_sample_of_sorted_file(tmp_path):
    p = _sorted_file(tmp_path, {"a": 600, "b": 300, "c": 100})
    make = lambda: iter_examples(p, "classification")  # noqa: E731
    items, how, counts = sampling.sample(make, 100, seed=1, label_of=lambda e: e.label)
    assert counts == Counter({"a": 60, "b": 30, "c": 10})
    assert "stratified" in how and "seed 1" in how and "100 of 1000" in how
    lines = [e.line for e in items]
    assert lines == sorted(lines)  # file order
    assert max(lines) > 900  # not the first N lines
    a_idx = [int(e.text.split()[-1]) for e in items if e.label == "a"]
    assert max(a_idx) > 300  # spread through the label's rows
    again, _, _ = sampling.sample(make, 100, seed=1, label_of=lambda e: e.label)
    other, _, _ = sampling.sample(make, 100, seed=2, label_of=lambda e: e.label)
    assert [e.line for e in again] == lines and [e.line for e in other] != lines


def test_every_label_represented_when_possible():
    q = sampling.stratified_quotas({"big": 9990, "rare1": 5, "rare2": 5}, 10)
    assert q["rare1"] >= 1 and q["rare2"] >= 1 and sum(q.values()) == 10


def test_reservoir_for_unlabelled_tasks():
    items, how, _ = sampling.sample(lambda: iter(range(10000)), 50, seed=3)
    assert len(items) == 50 and items == sorted(items) and max(items) > 5000 and "reservoir" in how


def test_limit_zero_or_larger_than_file_takes_all():
    items, how, _ = sampling.sample(lambda: iter(["x", "y"]), 0, seed=0, label_of=lambda e: e)
    assert items == ["x", "y"]
    items, how, _ = sampling.sample(lambda: iter(["x", "y"]), 10, seed=0, label_of=lambda e: e)
    assert items == ["x", "y"] and "all 2" in how


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 200), min_size=1), st.integers(1, 400))
def test_quotas_sum_and_bounds(counts, n):
    q = sampling.stratified_quotas(counts, n)
    assert sum(q.values()) == min(n, sum(counts.values()))
    assert all(0 <= q[k] <= counts[k] for k in counts)
    if n >= len(counts) and n < sum(counts.values()):
        assert all(q[k] >= 1 for k in counts)


def test_random_subset_is_seeded_ordered_and_whole_when_not_limited():
    from trainers.data.sampling import random_subset

    items = list(range(100))
    a = random_subset(items, 10, seed=3)
    assert len(a) == 10 and a == sorted(a) and a == random_subset(items, 10, seed=3)
    assert a != random_subset(items, 10, seed=4)
    assert random_subset(items, 0, seed=3) == items and random_subset(items, 100, seed=3) == items
