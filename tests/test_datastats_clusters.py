"""`expctl data stats` (issue 20): clustered labels warned by a runs test, the head-of-file
sample's labels beside the whole file's, singleton classes, `label,review` headers."""

from __future__ import annotations

import json
import random
from collections import Counter

from expctl.analysis.datastats import file_stats, runs_test


def clustered_rows(n=4000, mean_run=3, seed=0):
    """Labels in runs of about ``mean_run`` rows (not sorted: every label recurs throughout)."""
    rng = random.Random(seed)
    rows, i = [], 0
    while len(rows) < n:
        lab = rng.choice("ab")
        for _ in range(rng.randint(1, 2 * mean_run - 1)):
            rows.append((f"row {i} says {rng.choice(['x', 'y', 'z'])} {i * 7 % 13}", lab))
            i += 1
    return rows[:n]


def write(path, rows):
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows), encoding="utf-8")
    return path


def test_runs_test_matches_a_shuffle():
    labs = Counter({"a": 30, "b": 20})
    rt = runs_test(labs, 24)
    # expected changes (N-1) - sum n(n-1)/N = 49 - (870 + 380) / 50 = 24
    assert rt["expected"] == 24.0 and abs(rt["z"]) < 1e-9


def test_clustered_file_is_warned_and_a_shuffled_one_is_not(tmp_path):
    rows = clustered_rows()
    s = file_stats(write(tmp_path / "clustered.tsv", rows))
    (w,) = [w for w in s.warnings if "long runs" in w]
    rt = runs_test(s.labels, s.label_changes)
    assert s.label_changes < 0.5 * rt["expected"] and rt["z"] < -4
    assert f"{s.label_changes:,} label changes" in w
    assert not any("ordered by label" in x for x in s.warnings)  # not sorted: a different finding
    random.Random(1).shuffle(rows)
    shuffled = file_stats(write(tmp_path / "shuffled.tsv", rows))
    assert not any("long runs" in x or "ordered by label" in x for x in shuffled.warnings)


def test_head_of_file_labels_beside_the_whole_file(tmp_path, expctl):
    rows = [(f"first kind {i}", "a") for i in range(300)] + [(f"second kind {i}", "b") for i in range(100)]
    p = write(tmp_path / "sorted.tsv", rows)
    out = expctl(tmp_path, "data", "stats", str(p), "--json")
    assert out.returncode == 0, out.stderr
    f = json.loads(out.stdout)["files"][0]
    assert f["labels"] == {"a": 300, "b": 100}
    assert f["head_rows"] == 200 and f["head_labels"] == {"a": 200}
    table = expctl(tmp_path, "data", "stats", str(p)).stdout
    assert "first_200_rows" in table


def test_label_review_csv_in_data_stats(tmp_path, expctl):
    rng = random.Random(0)
    p = tmp_path / "reviews.csv"
    p.write_text(
        "label,review\n" + "".join(f"{rng.choice('01')},review {i} {rng.choice(['ok', 'bad'])}\n" for i in range(199)),
        encoding="utf-8",
    )
    out = expctl(tmp_path, "data", "stats", str(p), "--json")
    assert out.returncode == 0, out.stderr
    f = json.loads(out.stdout)["files"][0]
    assert f["rows"] == 199 and set(f["labels"]) == {"0", "1"}  # no class "label"
    assert "text = column 'review'" in f["columns"] and "header detected" in f["columns"]
    assert not any("single row" in w for w in f["warnings"])


def test_singleton_class_is_warned(tmp_path):
    rows = [(f"text {i}", "a" if i % 2 else "b") for i in range(40)] + [("odd one", "c")]
    s = file_stats(write(tmp_path / "s.tsv", rows))
    assert any("class(es) seen in a single row: 'c'" in w for w in s.warnings)
