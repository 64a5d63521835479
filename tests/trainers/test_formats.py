"""trainers.data.formats: TSV/CSV/JSONL/CoNLL readers, BOM, errors with file and line, skip mode."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from trainers.data.formats import FormatError, ReadReport, detect_format, iter_examples


def ex_list(path, task="classification", **kw):
    return list(iter_examples(path, task, **kw))


def test_tsv_with_header_named_columns(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text('id\treview\tlabel\n1\tsaid "hi" there\tpos\n\n2\tbad one\tneg\n', encoding="utf-8")
    got = ex_list(p, text_column="review")
    assert [(e.line, e.text, e.label) for e in got] == [(2, 'said "hi" there', "pos"), (4, "bad one", "neg")]


def test_tsv_headerless_label_first_by_index_and_by_guess(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("pos\ta rather long happy sentence\nneg\tanother long and sad sentence\n", encoding="utf-8")
    by_index = ex_list(p, text_column=1, label_column=0, has_header=False)
    guessed = ex_list(p)  # default names, no header: label column guessed (shorter values)
    for got in (by_index, guessed):
        assert [(e.text, e.label) for e in got] == [
            ("a rather long happy sentence", "pos"),
            ("another long and sad sentence", "neg"),
        ]


def test_csv_quoted_fields_spanning_lines_keep_line_numbers(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('text,label\n"hello, world",pos\n"line one\nline two",neg\n"say ""hi""",pos\n', encoding="utf-8")
    got = ex_list(p)
    assert [(e.line, e.text, e.label) for e in got] == [
        (2, "hello, world", "pos"),
        (3, "line one\nline two", "neg"),
        (5, 'say "hi"', "pos"),
    ]


def test_bom_is_ignored(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_bytes("\ufefftext\tlabel\nhi\tpos\n".encode("utf-8"))
    assert [(e.text, e.label) for e in ex_list(p)] == [("hi", "pos")]
    j = tmp_path / "a.jsonl"
    j.write_bytes('\ufeff{"text": "x", "label": 1}\n'.encode("utf-8"))
    assert ex_list(j)[0].label == "1"


def test_pair_and_multilabel(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_text("text\ttext_pair\tlabel\na\tb\tsame\n", encoding="utf-8")
    e = ex_list(p, "pair")[0]
    assert (e.text, e.text_pair, e.label) == ("a", "b", "same")
    m = tmp_path / "m.tsv"
    m.write_text("text\tlabel\nx\tsports| tech\ny\t\n", encoding="utf-8")
    got = ex_list(m, "multilabel", label_separator="|", skip_malformed=True)
    assert got[0].labels == ["sports", "tech"]
    mj = tmp_path / "m.jsonl"
    mj.write_text('{"body": "x", "tags": ["a", "b"]}\n{"body": "y", "tags": "a,c"}\n', encoding="utf-8")
    got = ex_list(mj, "multilabel", text_column="body", label_column="tags")
    assert [e.labels for e in got] == [["a", "b"], ["a", "c"]]


def test_conll_and_tokens_tags(tmp_path):
    c = tmp_path / "a.conll"
    c.write_text("-DOCSTART- O\n\nJohn NNP B-PER\nlives VBZ O\n\nParis\tB-LOC\n", encoding="utf-8")
    got = ex_list(c, "ner")
    assert [(e.line, e.tokens, e.tags) for e in got] == [
        (3, ["John", "lives"], ["B-PER", "O"]),
        (6, ["Paris"], ["B-LOC"]),
    ]
    t = tmp_path / "a.txt"
    t.write_text("John lives in Paris\tB-PER O O B-LOC\n张三在北京\tB-PER I-PER O B-LOC I-LOC\n", encoding="utf-8")
    assert detect_format(t, "ner") == "tsv"
    got = ex_list(t, "ner")
    assert got[0].tokens == ["John", "lives", "in", "Paris"]
    assert got[1].tokens == ["张", "三", "在", "北", "京"]
    j = tmp_path / "a.jsonl"
    j.write_text('{"tokens": ["a", "b"], "tags": ["B-X", "I-X"]}\n', encoding="utf-8")
    assert ex_list(j, "ner")[0].tags == ["B-X", "I-X"]


@pytest.mark.parametrize(
    "content,task,fname,line,msg",
    [
        ("text\tlabel\nok\tpos\nonly-one-field\n", "classification", "a.tsv", 3, "expected at least 2 fields"),
        ('{"text": "x", "label": "a"}\n{"text": "x"\n', "classification", "a.jsonl", 2, "invalid JSON"),
        ('{"text": "x"}\n', "classification", "a.jsonl", 1, "missing field 'label'"),
        ("a b\tB-X\n", "ner", "a.txt", 1, "2 tokens but 1 tags"),
        ("tok X-PER\n", "ner", "a.conll", 1, "not BIO"),
    ],
)
def test_errors_name_file_and_line(tmp_path, content, task, fname, line, msg):
    p = tmp_path / fname
    p.write_text(content, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        ex_list(p, task)
    assert err.value.line == line and msg in str(err.value) and str(p) in str(err.value)
    assert str(err.value).startswith(f"{p}:{line}:")


def test_skip_and_count(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("text\tlabel\nok\tpos\nbroken\n\tneg\nfine\tneg\n", encoding="utf-8")
    rep = ReadReport()
    got = ex_list(p, skip_malformed=True, report=rep)
    assert [e.text for e in got] == ["ok", "fine"]
    assert rep.examples == 2 and rep.skipped == 2 and [ln for ln, _ in rep.skipped_lines] == [3, 4]


def test_missing_header_column_is_an_error(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("phrase\tlabel\nx\ty\n", encoding="utf-8")  # no configured nor conventional text name
    with pytest.raises(FormatError, match="text"):
        ex_list(p, has_header=True)
    p.write_text("sentence\tlabel\nx\ty\n", encoding="utf-8")  # a conventional one: read
    assert [(e.text, e.label) for e in ex_list(p, has_header=True)] == [("x", "y")]
    with pytest.raises(FormatError, match="review"):  # a configured name is never replaced
        ex_list(p, has_header=True, text_column="review")


def test_reader_streams(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("text\tlabel\n" + "".join(f"t{i}\tl\n" for i in range(1000)) + "bad\n", encoding="utf-8")
    it = iter_examples(p, "classification")
    assert next(it).text == "t0"  # yields before reading the whole file (the bad last line is not reached)


_chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n")
_text = st.text(_chars, min_size=1, max_size=30).filter(lambda t: t.strip())
_label = st.sampled_from(["pos", "neg", "中性", "a b"])


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_text, _label), min_size=1, max_size=8))
def test_csv_and_jsonl_round_trip(tmp_path, rows):
    import csv
    import json

    c = tmp_path / "r.csv"
    with open(c, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    assert [(e.text, e.label) for e in ex_list(c)] == [(t, lab) for t, lab in rows]
    j = tmp_path / "r.jsonl"
    j.write_text(
        "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n" for t, lab in rows), encoding="utf-8"
    )
    assert [(e.text, e.label) for e in ex_list(j)] == [(t, lab) for t, lab in rows]


def test_not_utf8_and_folder_are_format_errors(tmp_path):
    p = tmp_path / "latin1.tsv"
    p.write_bytes("text\tlabel\nok\tpos\ncaf\xe9\tneg\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not valid UTF-8"):
        ex_list(p)
    with pytest.raises(FormatError, match="is a folder"):
        ex_list(tmp_path)
