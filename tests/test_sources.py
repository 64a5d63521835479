"""expctl.analysis.sources directly: a run's file from a path, a run folder or a run reference
(real project, real runs), and JSON lines with the malformed ones counted."""

from __future__ import annotations

import json

import pytest

from expctl.analysis.sources import parse_jsonl, read_source
from expctl.errors import NotFoundError
from tests.small_project import make_project, new_run


def test_parse_jsonl_counts_what_it_skips():
    data = b'{"a": 1}\n\n  \n[1, 2]\nnot json\n{"b": 2}\n\xff\xfe\n{"c": 3'
    objs, bad = parse_jsonl(data)
    assert objs == [{"a": 1}, {"b": 2}] and bad == 4
    assert parse_jsonl(b"") == ([], 0)


def test_read_source_from_a_file_a_folder_and_a_run(repo, monkeypatch, tmp_path):
    make_project(repo)
    run = new_run(repo, "-s", "acc=0.8")
    folder = repo / "runs" / run["id"]
    data, where = read_source(str(folder / "metrics.jsonl"), "ignored.jsonl")
    assert where == str(folder / "metrics.jsonl") and parse_jsonl(data)[0][-1]["eval_accuracy"] == 0.8
    data, where = read_source(str(folder), "record.json")
    assert where == str(folder / "record.json") and json.loads(data)["id"] == run["id"]
    with pytest.raises(NotFoundError, match="is a folder without predictions.jsonl"):
        read_source(str(folder), "predictions.jsonl")
    monkeypatch.chdir(repo)
    data, where = read_source(run["id"][-6:], "record.json")  # a run reference, inside the project
    assert where == f"{run['id'][-6:]}:record.json" and json.loads(data)["id"] == run["id"]
    with pytest.raises(NotFoundError, match="has no predictions.jsonl"):
        read_source(run["id"], "predictions.jsonl")
    with pytest.raises(NotFoundError, match="nope"):
        read_source("nope", "record.json")
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with pytest.raises(NotFoundError) as err:
        read_source("missing-file.jsonl", "record.json")
    assert "missing-file.jsonl: no such file or folder, and not a run" in str(err.value)
