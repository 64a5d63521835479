"""Header detection in tsv/csv files (issue 20, point 1): by configured names, by
conventional names, by label statistics; the layout and why reach the ReadReport."""

from __future__ import annotations

import random

from trainers.data.formats import ReadReport, iter_examples


def reviews(n=200, seed=0):
    rng = random.Random(seed)
    words = ["good", "bad", "fine", "awful", "great", "meh", "service", "food", "price", "room"]
    return [(rng.choice("10"), " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))) for _ in range(n)]


def test_csv_header_label_review_is_a_header_not_a_class(tmp_path):
    # the reported file: `label,review` with the default text_column = "text"
    rows = reviews()
    p = tmp_path / "reviews.csv"
    p.write_text("label,review\n" + "".join(f"{lab},{text}\n" for lab, text in rows), encoding="utf-8")
    rep = ReadReport()
    got = list(iter_examples(p, "classification", report=rep))
    assert len(got) == len(rows)
    assert {e.label for e in got} == {"0", "1"}  # no class "label"
    assert [(e.label, e.text) for e in got] == rows
    assert got[0].line == 2
    assert rep.layout.header == ["label", "review"]
    assert "text = column 'review'" in rep.layout.describe() and "conventional" in rep.layout.describe()


def test_unknown_header_names_found_by_label_statistics(tmp_path):
    rows = reviews(50, seed=1)
    p = tmp_path / "r.tsv"
    p.write_text("polarity_code\tthe words\n" + "".join(f"{lab}\t{text}\n" for lab, text in rows), encoding="utf-8")
    rep = ReadReport()
    got = list(iter_examples(p, "classification", report=rep))
    assert {e.label for e in got} == {"0", "1"} and len(got) == 50
    assert "label occurs nowhere else" in rep.layout.why


def test_headerless_file_stays_headerless(tmp_path):
    rows = reviews(50, seed=2)
    p = tmp_path / "r.tsv"
    p.write_text("".join(f"{text}\t{lab}\n" for lab, text in rows), encoding="utf-8")
    rep = ReadReport()
    got = list(iter_examples(p, "classification", report=rep))
    assert [(e.label, e.text) for e in got] == rows
    assert rep.layout.header is None and rep.layout.why.startswith("no header")


def test_configured_names_win_over_conventional_ones(tmp_path):
    p = tmp_path / "r.tsv"
    p.write_text("text\tsummary\tlabel\nlong text one\tshort\tpos\nlong text two\tbrief\tneg\n", encoding="utf-8")
    got = list(iter_examples(p, "classification", text_column="summary"))
    assert [(e.text, e.label) for e in got] == [("short", "pos"), ("brief", "neg")]


def test_a_rare_class_in_the_first_row_is_not_taken_for_a_header(tmp_path):
    # intent data: many classes, the first row's class occurs once in the file; its text is
    # as long as any other, so it is an example, not a row of column names
    rows = [("please book me a table for two tonight", "book_restaurant")]
    rows += [(f"what is the weather like in city number {i}", "weather" if i % 2 else "time") for i in range(40)]
    p = tmp_path / "intents.tsv"
    p.write_text("".join(f"{t}\t{lab}\n" for t, lab in rows), encoding="utf-8")
    rep = ReadReport()
    got = list(iter_examples(p, "classification", report=rep))
    assert len(got) == 41 and got[0].label == "book_restaurant" and rep.layout.header is None
