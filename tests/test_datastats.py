"""`expctl data stats`: lengths, labels, baseline, ordering, duplicates, leakage, the CLI."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from expctl.analysis.datastats import (
    data_stats,
    estimate_tokens,
    file_stats,
    percentile,
    suggest_max_seq_length,
)
from expctl.commands.data import data_group
from expctl.errors import NotFoundError, UsageError


def write_tsv(path, rows, header=True, extra=""):
    lines = (["text\tlabel"] if header else []) + [f"{t}\t{lab}" for t, lab in rows]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return str(path)


def skewed_rows(n_a=900, n_b=100, seed=0):
    rows = [(f"sentence number {i} about a thing", "a") for i in range(n_a)]
    rows += [(f"another text {i} of the rare kind", "b") for i in range(n_b)]
    random.Random(seed).shuffle(rows)
    return rows


def test_percentiles_nearest_rank():
    hist = Counter(range(1, 101))  # 1..100 once each
    assert [percentile(hist, q) for q in (50, 90, 95, 99, 100)] == [50, 90, 95, 99, 100]
    assert percentile(Counter({3: 1}), 99) == 3
    assert percentile(Counter(), 50) == 0
    assert suggest_max_seq_length(Counter({10: 95, 100: 5})) == (32, 0.95)
    assert suggest_max_seq_length(Counter({600: 1})) == (512, 0.0)


def test_estimate_tokens():
    assert estimate_tokens("the battery is great") == 6
    assert estimate_tokens("这家酒店很好") == 8
    assert estimate_tokens("我的iPhone很好 ok") == 8  # 我 的 iPhone 很 好 ok + 2


def test_skew_warns_and_majority_baseline(tmp_path):
    s = file_stats(write_tsv(tmp_path / "t.tsv", skewed_rows()))
    d = s.to_dict()
    assert d["rows"] == 1000
    assert d["labels"] == {"a": 900, "b": 100}
    assert d["majority_label"] == "a" and d["majority_baseline"] == pytest.approx(0.9)
    assert any("imbalanced labels: 'a' is 90.0% of rows, 'b' 10.0% (9:1)" in w for w in s.warnings)
    assert not any("ordered by label" in w for w in s.warnings)
    balanced = file_stats(write_tsv(tmp_path / "b.tsv", skewed_rows(500, 500)))
    assert not any("imbalanced" in w for w in balanced.warnings)


def test_ordered_by_label_warns(tmp_path):
    rows = sorted(skewed_rows(300, 200), key=lambda r: r[1])
    s = file_stats(write_tsv(tmp_path / "sorted.tsv", rows))
    (w,) = [w for w in s.warnings if "ordered by label" in w]
    assert "1 label changes" in w and "the first 300 rows are all 'a'" in w


def test_duplicates_and_conflicts(tmp_path):
    rows = [
        ("good phone", "pos"),
        ("bad phone", "neg"),
        ("Good  phone", "pos"),
        ("ok phone", "neu"),
        ("bad phone", "pos"),
        ("good phone", "pos"),
        ("bad phone", "neg"),
        ("fine", "neu"),
    ]
    s = file_stats(write_tsv(tmp_path / "d.tsv", rows))
    assert s.duplicate_rows == 4  # rows 3, 5, 6, 7 repeat an earlier text (case / spaces ignored)
    assert s.duplicated_texts == 2
    assert s.conflicting_texts == 1
    assert s.conflict_examples == [{"line": 6, "text": "bad phone", "labels": ["neg", "pos"]}]
    assert s.duplicate_examples[0] == {"line": 4, "text": "Good phone"}
    assert any("1 text(s) appear with different labels" in w for w in s.warnings)


def test_leakage_between_train_and_dev(tmp_path):
    train = write_tsv(tmp_path / "train.tsv", [(f"train text {i}", "a" if i % 2 else "b") for i in range(100)])
    dev_rows = [(f"dev text {i}", "a") for i in range(20)]
    dev_rows[3] = ("train text 7", "a")  # same label
    dev_rows[8] = ("TRAIN  text 10", "a")  # case and spaces differ; train says b
    dev_rows[9] = ("never seen", "c")
    dev = write_tsv(tmp_path / "dev.tsv", dev_rows)
    report = data_stats([train, dev])
    (leak,) = report.leaks
    assert leak["rows"] == 2 and leak["same_label"] == 1
    assert leak["share"] == pytest.approx(0.1)
    assert [e["line"] for e in leak["examples"]] == [5, 10]
    assert leak["examples"][1]["train_label"] == "b"
    assert leak["labels_missing_from_train"] == ["c"]
    warnings = report.warnings
    assert any(
        w.startswith("leakage: 2 row(s) of dev.tsv (10.0%) also appear in train.tsv (1 with the same label)")
        for w in warnings
    )
    assert any("labels never seen in train.tsv: 'c'" in w for w in warnings)


def test_empty_and_malformed_lines(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("text\tlabel\nhello world\tpos\n\n   \nno label column here\n\tneg\nbye\tneg\n", encoding="utf-8")
    s = file_stats(str(path))
    assert (s.rows, s.empty_lines, s.malformed) == (2, 2, 2)
    assert [ln for ln, _ in s.malformed_examples] == [5, 6]
    assert s.to_dict()["length_chars"]["max"] == len("hello world")


def test_jsonl_headerless_and_columns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text("".join(json.dumps({"review": t, "y": lab}) + "\n" for t, lab in skewed_rows(30, 10)))
    s = file_stats(str(p), read_opts={"text_column": "review", "label_column": "y"})
    assert s.rows == 40 and s.labels == Counter({"a": 30, "b": 10})
    q = tmp_path / "lf.tsv"
    q.write_text("".join(f"{lab}\t{t}\n" for t, lab in skewed_rows(30, 10)))
    s = file_stats(str(q), read_opts={"has_header": False, "label_column": 0, "text_column": 1})
    assert s.rows == 40 and s.labels == Counter({"a": 30, "b": 10}) and s.empty_lines == 0
    with pytest.raises(UsageError, match="no column 'sentence'"):
        file_stats(
            write_tsv(tmp_path / "h.tsv", [("t", "a")]), read_opts={"text_column": "sentence", "has_header": True}
        )
    with pytest.raises(NotFoundError):
        file_stats(str(tmp_path / "missing.tsv"))


def test_demo_data_is_clean(tmp_path):
    from expctl.demodata import make_demo_files

    files = make_demo_files(tmp_path, n_train=3000, n_dev=500, seed=1)
    report = data_stats([files.train, files.dev])
    train = report.files[0].to_dict()
    assert train["rows"] == 3000 and train["majority_baseline"] < 0.45
    assert train["suggested_max_seq_length"] == 32
    assert not any("imbalanced" in w or "ordered" in w for w in report.warnings)


EXPECTED = """\
{p}: 6 rows, 1 empty line(s), 0 malformed line(s) skipped

Columns: text = column 'text', label = column 'label' (header detected: the first row names the configured columns)

Length
what                 min    p50    p90    p95    p99    max    mean
-----------------  -----  -----  -----  -----  -----  -----  ------
characters             2      9     12     12     12     12     8.8
tokens (estimate)      3      4      4      4      4      4     3.8
Suggested max_seq_length: 32 (100.0% of rows fit untruncated; tokens estimated as words + CJK characters + 2, \
give --tokenizer for exact counts)

Labels
label      rows    share
-------  ------  -------
neg           4   0.6667
pos           2   0.3333
Majority-class baseline: 0.6667 (always predicting 'neg')

Duplicates: 1 row(s) repeat an earlier text (1 distinct); 1 text(s) with conflicting labels
  duplicate at line 7: bad phone
  conflict at line 7: bad phone  (labels neg, pos)

Warnings
- t.tsv: 1 row(s) repeat an earlier text (1 distinct text(s), 16.7% of rows)
- t.tsv: 1 text(s) appear with different labels
"""


def test_cli_table(tmp_path):
    rows = [
        ("bad phone", "neg"),
        ("good phone", "pos"),
        ("ok", "neg"),
        ("awful screen", "neg"),
        ("bad battery", "neg"),
        ("bad phone", "pos"),
    ]
    p = write_tsv(tmp_path / "t.tsv", rows, extra="\n")
    result = CliRunner().invoke(data_group, ["stats", p])
    assert result.exit_code == 0, result.output
    assert result.stdout == EXPECTED.format(p=p)


def test_cli_dev_option_json_csv(tmp_path):
    train = write_tsv(tmp_path / "train.tsv", skewed_rows())
    dev = write_tsv(tmp_path / "dev.tsv", skewed_rows(9, 1, seed=3))
    runner = CliRunner()
    result = runner.invoke(data_group, ["stats", train, "--dev", dev, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [f["rows"] for f in data["files"]] == [1000, 10]
    assert data["leakage"][0]["rows"] == 10  # skewed_rows reuses the same texts
    assert "expctl: warning: leakage: 10 row(s) of dev.tsv (100.0%)" in result.stderr
    second = json.loads(runner.invoke(data_group, ["stats", train, dev, "--format", "json"]).stdout)
    assert second["leakage"] == data["leakage"]
    out = runner.invoke(data_group, ["stats", train, dev, "--format", "csv"]).stdout.splitlines()
    assert out[0].startswith("file,rows,empty_lines,malformed,chars_min,chars_p50")
    assert out[1].split(",")[1] == "1000" and out[2].endswith(",10")
    md = runner.invoke(data_group, ["stats", train, "--format", "markdown"]).stdout
    assert "| a       |    900 |  0.9000 |" in md


def test_cli_errors(tmp_path, expctl):
    proc = expctl(tmp_path, "data", "stats", str(tmp_path / "nope.tsv"))
    assert proc.returncode == 4
    assert proc.stderr == f"expctl: error: no such file: {tmp_path / 'nope.tsv'}\n"
    proc = expctl(tmp_path, "data", "stats", str(tmp_path / "x.tsv"), "--tokenizer", str(tmp_path / "tok"))
    assert proc.returncode == 4 and proc.stderr.count("\n") == 1


def test_tokenizer_counts_exactly(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from transformers import BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "phone", "very"]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(str(tmp_path / "tok"))
    p = write_tsv(tmp_path / "t.tsv", [("good phone", "a"), ("very very bad phone", "b"), ("zzz", "a")])
    s = file_stats(p, tokenizer=str(tmp_path / "tok"))
    assert s.tokens_exact
    assert s.token_hist == Counter({4: 1, 6: 1, 3: 1})  # [CLS] ... [SEP]


def test_ner_conll_files(tmp_path):
    train = tmp_path / "train.conll"
    train.write_text(
        "张\tB-PER\n伟\tI-PER\n在\tO\n北\tB-LOC\n京\tI-LOC\n\n"
        "王\tB-PER\n芳\tI-PER\n\n"
        "张\tB-PER\n伟\tI-PER\n在\tO\n北\tB-LOC\n京\tI-LOC\n\n",
        encoding="utf-8",
    )
    dev = tmp_path / "dev.conll"
    dev.write_text("王\tB-PER\n芳\tO\n\nJohn\tB-PER\nis\tO\nhere\tO\n\n", encoding="utf-8")
    report = data_stats([str(train), str(dev)], task="ner")
    t = report.files[0]
    assert t.rows == 3 and t.labels == Counter({"PER": 3, "LOC": 2})
    assert t.char_hist == Counter({5: 2, 2: 1})  # characters joined without spaces
    assert t.token_hist == Counter({7: 2, 4: 1})  # words + [CLS] + [SEP]
    assert t.duplicate_rows == 1 and t.conflicting_texts == 0
    assert report.files[0].to_dict()["majority_baseline"] is None
    (leak,) = report.leaks
    assert leak["rows"] == 1 and leak["same_label"] == 0  # same sentence, different tags
    assert any("(0 with the same tags)" in w for w in report.warnings)


def test_multilabel_counts_each_label(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text(
        "".join(
            json.dumps({"text": f"t{i}", "label": labs}) + "\n"
            for i, labs in enumerate([["a", "b"], ["a"], [], ["b", "a"], ["c"]])
        )
    )
    s = file_stats(str(p), task="multilabel")
    assert s.labels == Counter({"a": 3, "b": 2, "c": 1, "(none)": 1})
    assert s.to_dict()["majority_baseline"] is None
