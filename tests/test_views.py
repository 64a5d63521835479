"""expctl.views: records and differences as rows for the renderer (the parts that need no
project; `show`, `diff` and `runs` through a real project are in tests/daily/test_formats.py)."""

from __future__ import annotations

from expctl import views


def test_show_rows_flatten_the_payload():
    data = {
        "id": "r1",
        "settings": {"lr": 0.1, "model": {"name": "m"}},
        "metrics": {"final": {"acc": 0.9}, "best": {}},
        "tags": ["a", "b"],
        "gpus": [{"name": "H200"}],
        "_private": "kept by show_rows (show_payload drops it)",
    }
    rows = {r["field"]: r["value"] for r in views.show_rows(data)}
    assert rows["id"] == "r1"
    assert rows["settings.lr"] == 0.1 and rows["settings.model.name"] == "m"
    assert rows["metrics.final.acc"] == 0.9 and rows["metrics.best"] is None
    assert rows["tags"] == ["a", "b"]
    assert rows["gpus"] == '[{"name": "H200"}]'


def test_show_text_writes_an_empty_setting_as_quotes():
    data = {"id": "r1", "run_dir": "/tmp/r1", "settings": {"dropout": "", "lr": 0.1, "model": {"name": "m"}}}
    text = views.format_show(data)
    assert '  dropout = ""\n' in text and "  lr = 0.1\n" in text and "  model.name = m\n" in text


def test_diff_rows():
    d = {
        "a": {"ref": "x", "run": "r1", "stage": "smoke"},
        "b": {"ref": "y", "run": "r2", "stage": "smoke"},
        "settings": {"changed": {"lr": [0.1, 0.2]}, "added": {"wd": 0.01}, "removed": {}},
        "metrics": {"acc": {"a": 0.8, "b": 0.9, "delta": 0.1}},
        "data": {"changed": {}, "added": {}, "removed": {"dev.tsv": "abc"}},
        "env": {"python": ["3.10", "3.11"]},
        "command": None,
        "code": {"a": "c1", "b": "c2", "files": ["train.py"], "stat": "", "patch": None},
    }
    rows = [(r["section"], r["key"], r["a"], r["b"], r.get("delta")) for r in views.diff_rows(d)]
    assert rows == [
        ("run", "ref", "x", "y", None),
        ("run", "id", "r1", "r2", None),
        ("run", "stage", "smoke", "smoke", None),
        ("settings", "lr", 0.1, 0.2, None),
        ("settings", "wd", None, 0.01, None),
        ("metrics", "acc", 0.8, 0.9, 0.1),
        ("data", "dev.tsv", "abc", None, None),
        ("env", "python", "3.10", "3.11", None),
        ("code", "commit", "c1", "c2", None),
        ("code", "files", None, ["train.py"], None),
    ]


def test_clean_and_status_styles():
    assert views.clean({"id": "r", "_cache": 1}) == {"id": "r"}
    assert views.status_styles(["failed", None, "queued"]) == {
        (0, "status"): "red",
        (1, "status"): "",
        (2, "status"): "blue",
    }
