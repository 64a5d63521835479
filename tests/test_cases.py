"""`expctl cases`: confusion matrix, per-class scores, entity diffs, the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from expctl.analysis.cases import analyse, bio_entities, load_cases, render_report
from expctl.commands.cases import cases_cmd
from expctl.errors import NotFoundError, UsageError
from tests.conftest import commit_project, run_expctl

# gold, pred, confidence; computed by hand below
CLS = [
    ("a", "a", 0.90),
    ("a", "a", 0.80),
    ("a", "b", 0.90),
    ("b", "b", 0.70),
    ("b", "a", 0.60),
    ("c", "c", 0.95),
    ("c", "a", 0.70),
    ("c", "c", 0.85),
    ("a", "a", 0.99),
]


def write_jsonl(path, rows, tail=""):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + tail, encoding="utf-8")
    return path


@pytest.fixture
def cls_file(tmp_path):
    rows = [
        {"index": i, "text": f"text number {i}", "text_pair": None, "label": g, "pred": p, "confidence": c}
        for i, (g, p, c) in enumerate(CLS)
    ]
    return write_jsonl(tmp_path / "predictions.jsonl", rows)


def test_classification_confusion_and_prf(cls_file):
    r = load_cases(str(cls_file))
    assert r.task == "classification"
    assert r.labels == ["a", "b", "c"]
    # rows gold, columns predicted
    assert r.confusion == [[3, 1, 0], [1, 1, 0], [1, 0, 2]]
    by = {row["label"]: row for row in r.per_class}
    # a: tp 3, fp 2 (rows 4, 6), fn 1 (row 2) -> P 3/5, R 3/4, F1 2/3
    assert by["a"]["precision"] == pytest.approx(0.6)
    assert by["a"]["recall"] == pytest.approx(0.75)
    assert by["a"]["f1"] == pytest.approx(2 / 3)
    assert by["a"]["support"] == 4
    # b: tp 1, fp 1, fn 1
    assert (by["b"]["precision"], by["b"]["recall"], by["b"]["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    # c: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8
    assert (by["c"]["precision"], by["c"]["recall"], by["c"]["f1"]) == pytest.approx((1.0, 2 / 3, 0.8))
    assert r.macro["precision"] == pytest.approx((0.6 + 0.5 + 1.0) / 3)
    assert r.macro["recall"] == pytest.approx((0.75 + 0.5 + 2 / 3) / 3)
    assert r.macro["f1"] == pytest.approx((2 / 3 + 0.5 + 0.8) / 3)
    assert r.micro == pytest.approx({"precision": 6 / 9, "recall": 6 / 9, "f1": 6 / 9})
    assert r.summary == pytest.approx({"accuracy": 6 / 9, "wrong": 3})
    # most confident mistakes first
    assert [c["index"] for c in r.cases] == [2, 6, 4]


def test_label_filter_and_limit(cls_file):
    r = load_cases(str(cls_file), label="b")
    assert [c["index"] for c in r.cases] == [2, 4]  # gold or predicted b
    r = load_cases(str(cls_file), limit=1)
    assert [c["index"] for c in r.cases] == [2] and r.total_cases == 3
    with pytest.raises(UsageError, match="label 'zzz' does not occur"):
        load_cases(str(cls_file), label="zzz")


def test_confidence_from_probs_and_unknown_last(tmp_path):
    rows = [
        {"index": 0, "text": "x", "label": "p", "pred": "n"},
        {"index": 1, "text": "y", "label": "p", "pred": "n", "probs": {"p": 0.2, "n": 0.8}},
        {"index": 2, "text": "z", "label": "n", "pred": "p", "confidence": 0.6},
    ]
    r = load_cases(str(write_jsonl(tmp_path / "p.jsonl", rows)))
    assert [(c["index"], c["confidence"]) for c in r.cases] == [(1, 0.8), (2, 0.6), (0, None)]


def test_malformed_lines_skipped_and_run_folder(cls_file):
    with cls_file.open("a") as fh:
        fh.write('not json\n[1, 2]\n{"index": 99, "label": "a", "pred"')
    r = load_cases(str(cls_file.parent))  # the run folder
    assert r.malformed == 3 and r.n == 9


def test_missing_sources(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="without predictions.jsonl"):
        load_cases(str(tmp_path / "empty"))
    (tmp_path / "blank.jsonl").write_text("\n")
    with pytest.raises(UsageError, match="no predictions"):
        load_cases(str(tmp_path / "blank.jsonl"))


def test_run_ref_goes_through_records(repo, monkeypatch, cls_file):
    """A run reference (here a tag) is looked up in a real project's records; the predictions
    come from git once the run folder is gone."""
    import json
    import shutil

    from expctl.project import Project

    (repo / "preds.jsonl").write_bytes(cls_file.read_bytes())
    program = (
        "import os, shutil\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "shutil.copy(os.path.join(here, 'preds.jsonl'), os.path.join(os.environ['EXPCTL_RUN_DIR'], 'predictions.jsonl'))\n"
    )
    commit_project(repo, program, '[project]\nname = "p"\ncommand = "python3 train.py"\n')
    run_expctl(repo, "run", check=True)
    run_id = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)["id"]
    run_expctl(repo, "tag", "best-rdrop", run_id, check=True)
    shutil.rmtree(repo / "runs")
    monkeypatch.chdir(repo)
    assert Project.open().resolve("best-rdrop")["id"] == run_id
    r = load_cases("best-rdrop")
    assert r.source == "best-rdrop:predictions.jsonl" and r.n == 9


def test_bio_entities():
    assert bio_entities(["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-ORG", "B-ORG", "I-PER"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 5),
        ("ORG", 5, 6),
        ("ORG", 6, 7),
        ("PER", 7, 8),
    ]
    assert bio_entities(["S-LOC", "B-PER", "E-PER", "O"]) == [("LOC", 0, 1), ("PER", 1, 3)]
    assert bio_entities([]) == []


NER = [
    {
        "index": 0,
        "tokens": "John Smith lives in New York .".split(),
        "tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"],
        "pred_tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "O"],
    },
    {
        "index": 1,
        "tokens": "Acme Corp hired Mary .".split(),
        "tags": ["B-ORG", "I-ORG", "O", "B-PER", "O"],
        "pred_tags": ["B-LOC", "I-LOC", "O", "O", "O"],
    },
    {
        "index": 2,
        "tokens": "I saw Paris .".split(),
        "tags": ["O", "O", "B-LOC", "O"],
        "pred_tags": ["B-PER", "O", "B-LOC", "O"],
    },
]


def test_ner_entity_diffs():
    r = analyse(NER, source="ner")
    assert r.task == "ner"
    assert [(c["index"], c["kind"], c["gold"], c["pred"], c["gold_text"], c["pred_text"]) for c in r.cases] == [
        (0, "wrong span", "LOC", "LOC", "New York", "New"),
        (1, "wrong type", "ORG", "LOC", "Acme Corp", "Acme Corp"),
        (1, "missed", "PER", "O", "Mary", ""),
        (2, "spurious", "O", "PER", "", "I"),
    ]
    assert r.cases[2]["context"] == "Acme Corp hired [Mary] ."
    by = {row["label"]: row for row in r.per_class}
    # gold PER 2, LOC 2, ORG 1; pred PER 2, LOC 3; exact matches: John Smith, Paris
    assert (by["PER"]["precision"], by["PER"]["recall"], by["PER"]["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (by["LOC"]["precision"], by["LOC"]["recall"], by["LOC"]["f1"]) == pytest.approx((1 / 3, 0.5, 0.4))
    assert (by["ORG"]["precision"], by["ORG"]["recall"], by["ORG"]["f1"]) == (0.0, 0.0, 0.0)
    assert r.micro == pytest.approx({"precision": 0.4, "recall": 0.4, "f1": 0.4})
    assert r.labels == ["LOC", "ORG", "PER", "O"]
    assert r.confusion == [[2, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]]
    assert r.summary["sentence_accuracy"] == 0.0
    assert [c["kind"] for c in analyse(NER, label="PER").cases] == ["missed", "spurious"]


def test_ner_chinese_context():
    toks = list("张伟在北京工作")
    r = analyse(
        [
            {
                "tokens": toks,
                "tags": ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O"],
                "pred_tags": ["B-PER", "I-PER", "O", "O", "O", "O", "O"],
            }
        ]
    )
    assert [(c["kind"], c["gold_text"], c["context"]) for c in r.cases] == [("missed", "北京", "张伟在[北京]工作")]


def test_multilabel():
    rows = [
        {"index": 0, "text": "t0", "labels": ["a", "c"], "pred_labels": ["a"], "probs": {"a": 0.9, "b": 0.1, "c": 0.4}},
        {"index": 1, "text": "t1", "labels": ["b"], "pred_labels": ["b"], "probs": {"a": 0.1, "b": 0.8, "c": 0.1}},
        {
            "index": 2,
            "text": "t2",
            "labels": ["a"],
            "pred_labels": ["a", "b"],
            "probs": {"a": 0.7, "b": 0.95, "c": 0.0},
        },
    ]
    r = analyse(rows)
    assert r.task == "multilabel"
    assert r.summary == pytest.approx({"exact_match": 1 / 3, "wrong": 2})
    by = {row["label"]: row for row in r.per_class}
    assert (by["a"]["precision"], by["a"]["recall"]) == (1.0, 1.0)
    assert (by["b"]["precision"], by["b"]["recall"]) == (0.5, 1.0)
    assert (by["c"]["precision"], by["c"]["recall"], by["c"]["f1"]) == (0.0, 0.0, 0.0)
    # micro: tp 3 (a, a, b), fp 1 (b), fn 1 (c)
    assert r.micro == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75})
    assert [(c["index"], c["missing"], c["extra"]) for c in r.cases] == [(2, [], ["b"]), (0, ["c"], [])]
    assert r.cases[0]["confidence"] == pytest.approx(0.95) and r.cases[1]["confidence"] == pytest.approx(0.6)


EXPECTED_TABLE = """\
{src}: classification, 9 examples, accuracy 0.6667, 3 wrong

Confusion matrix (rows: gold, columns: predicted)
gold \\ pred      a    b    c
-------------  ---  ---  ---
a                3    1    0
b                1    1    0
c                1    0    2

Per class
label        precision    recall      f1    support
---------  -----------  --------  ------  ---------
a               0.6000    0.7500  0.6667          4
b               0.5000    0.5000  0.5000          2
c               1.0000    0.6667  0.8000          3
macro avg       0.7000    0.6389  0.6556          9
micro avg       0.6667    0.6667  0.6667          9

Wrong predictions, most confident first (2 of 3)
  index  gold    pred      confidence  text
-------  ------  ------  ------------  -------------
      2  a       b             0.9000  text number 2
      6  c       a             0.7000  text number 6
"""


def test_cli_table(cls_file):
    result = CliRunner().invoke(cases_cmd, [str(cls_file), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == EXPECTED_TABLE.format(src=cls_file)


def test_cli_csv_json_markdown(cls_file):
    runner = CliRunner()
    out = runner.invoke(cases_cmd, [str(cls_file), "--format", "csv"]).output
    assert out.splitlines() == [
        "index,gold,pred,confidence,text",
        "2,a,b,0.9,text number 2",
        "6,c,a,0.7,text number 6",
        "4,b,a,0.6,text number 4",
    ]
    out = runner.invoke(cases_cmd, [str(cls_file), "--format", "csv", "--show", "confusion"]).output
    assert out.splitlines() == ["gold \\ pred,a,b,c", "a,3,1,0", "b,1,1,0", "c,1,0,2"]
    data = json.loads(runner.invoke(cases_cmd, [str(cls_file), "--format", "json"]).output)
    assert data["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[3, 1, 0], [1, 1, 0], [1, 0, 2]]}
    assert data["accuracy"] == pytest.approx(6 / 9) and len(data["cases"]) == 3
    assert json.loads(runner.invoke(cases_cmd, [str(cls_file), "--json"]).output) == data
    md = runner.invoke(cases_cmd, [str(cls_file), "--format", "markdown", "--show", "classes"]).output
    assert "| a         |      0.6000 |   0.7500 | 0.6667 |         4 |" in md


def test_cli_ner_table(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", NER)
    result = CliRunner().invoke(cases_cmd, [str(path), "--show", "cases"])
    assert result.exit_code == 0, result.output
    assert render_report(analyse(NER, source="x"), view="cases") + "\n" == result.output
    assert (
        result.output
        == """\
Entity errors (4)
  index  kind        gold    pred    context
-------  ----------  ------  ------  --------------------------------
      0  wrong span  LOC     LOC     John Smith lives in [New York] .
      1  wrong type  ORG     LOC     [Acme Corp] hired Mary .
      1  missed      PER     O       Acme Corp hired [Mary] .
      2  spurious    O       PER     [I] saw Paris .
"""
    )


def test_cli_errors_are_one_line(tmp_path, expctl):
    proc = expctl(tmp_path, "cases", str(tmp_path / "nope.jsonl"))
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("expctl: error: ")
    (tmp_path / "p.jsonl").write_text('{"label": "a", "pred": "a"}\n')
    proc = expctl(tmp_path, "cases", str(tmp_path / "p.jsonl"), "--label", "x")
    assert proc.returncode == 2 and "label 'x' does not occur" in proc.stderr
