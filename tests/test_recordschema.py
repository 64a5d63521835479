"""expctl.recordschema: which fields of a record readers could not use."""

from __future__ import annotations

import json

from expctl.recordschema import MAX_DEPTH, problems, quick_problems

GOOD = {
    "id": "20260101-000000-abc123",
    "stage": "smoke",
    "status": "succeeded",
    "duration_s": 1.5,
    "exit_code": 0,
    "settings": {"lr": 0.1},
    "command": ["python3", "train.py"],
    "code": {"commit": "a" * 40, "dirty": False, "changed": [], "excluded": [{"path": "big.bin", "size": 10}]},
    "metrics": {"final": {"eval_accuracy": 0.8, "loss": "nan"}, "best": {}, "events": 3},
    "check": {"check": "smoke", "passed": True, "reasons": []},
    "data": {"train": {"sha256": "x"}},
    "name": None,
}


def test_a_well_formed_record_has_no_problems_with_or_without_its_raw_text():
    assert problems(GOOD) == []
    assert problems(GOOD, json.dumps(GOOD).encode()) == []
    assert quick_problems(GOOD) == []


def test_not_an_object():
    assert problems(["a", "list"]) == ["the record is not a JSON object"]


def test_wrong_types_are_named_by_their_dotted_path():
    bad = {
        **GOOD,
        "exit_code": True,  # a bool is not an int
        "duration_s": "fast",
        "command": ["python3", 3],
        "code": {**GOOD["code"], "dirty": "no"},
        "metrics": {"final": {"acc": "high"}},
    }
    assert sorted(problems(bad)) == ["code.dirty", "command", "duration_s", "exit_code", "metrics.final"]


def test_non_finite_strings_count_as_numbers_but_other_strings_do_not():
    assert problems({"duration_s": "inf"}) == []
    assert problems({"duration_s": "-Infinity"}) == []
    assert problems({"duration_s": "1.5"}) == ["duration_s"]


def test_a_check_without_its_required_keys_is_a_problem():
    assert problems({"check": {"check": "smoke", "passed": True}}) == ["check"]


def test_file_lists_need_path_and_size_and_data_entries_need_objects():
    assert problems({"code": {"untracked": [{"path": "a"}]}}) == ["code.untracked"]
    assert problems({"code": {"excluded": ["a"]}}) == ["code.excluded"]
    assert problems({"data": {"train": "path"}}) == ["data"]


def test_nesting_deeper_than_the_limit_is_refused_as_a_whole():
    deep: dict = {}
    node = deep
    for _ in range(MAX_DEPTH + 1):
        node["x"] = {}
        node = node["x"]
    record = {"id": "r", "settings": deep}
    assert problems(record) == [f"nesting deeper than {MAX_DEPTH} levels"]
    shallow = {"id": "r", "settings": {"a": {"b": 1}}}
    assert problems(shallow) == []


def test_a_lone_surrogate_is_refused_even_when_raw_text_is_given():
    raw = b'{"id": "\\ud800"}'
    assert problems(json.loads(raw), raw) == ["text that is not valid Unicode (a lone surrogate)"]


def test_quick_problems_checks_top_level_types_only():
    assert quick_problems({"id": 3, "settings": [], "code": {"dirty": "no"}}) == ["id", "settings"]
