"""expctl.fsutil: atomic writes, stable JSON, tolerant JSON-lines reading, crash points."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys

import pytest

from expctl import fsutil


def test_atomic_write_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    fsutil.atomic_write(path, "new ✓", mode=0o600)
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_write_that_fails_keeps_the_old_file_and_removes_its_temp(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")

    with pytest.raises(TypeError):
        fsutil.atomic_write(path, 12345)  # not bytes/str: the write fails after the temp file exists
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_writer_killed_at_object_temp_leaves_a_temp_file_named_by_tmp_prefix(tmp_path):
    code = (
        f"from expctl.fsutil import atomic_write\natomic_write({str(tmp_path / 'obj')!r}, b'x', tmp_prefix='tmp_obj_')"
    )
    env = {**os.environ, fsutil.CRASH_ENV: "object-temp"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 137
    (left,) = tmp_path.iterdir()
    assert left.name.startswith("tmp_obj_") and left.read_bytes() == b"x"


def test_dumps_is_sorted_readable_and_turns_non_finite_floats_into_strings():
    text = fsutil.dumps({"b": [math.nan, 1.5], "a": {"x": math.inf, 2: -math.inf}, "é": "ü"})
    assert text.endswith("\n")
    assert text.index('"a"') < text.index('"b"')
    assert "é" in text and "\\u" not in text
    assert json.loads(text) == {"a": {"2": "-inf", "x": "inf"}, "b": ["nan", 1.5], "é": "ü"}


def test_write_json_and_read_json_round_trip(tmp_path):
    path = tmp_path / "r.json"
    fsutil.write_json(path, {"k": (1, 2), "v": None})
    assert fsutil.read_json(path) == {"k": [1, 2], "v": None}


def test_iter_jsonl_numbers_lines_and_marks_bad_ones_none():
    data = b'{"a": 1}\n\n[1, 2]\nnot json\n  {"b": NaN}  \n{"partial": '
    out = list(fsutil.iter_jsonl(data))
    assert [n for n, _ in out] == [1, 3, 4, 5, 6]
    assert out[0][1] == {"a": 1}
    assert out[1][1] is None and out[2][1] is None and out[4][1] is None
    assert math.isnan(out[3][1]["b"])


def test_iter_jsonl_tolerates_invalid_utf8():
    out = list(fsutil.iter_jsonl(b'{"a": "\xff"}\n'))
    assert out == [(1, {"a": "\ufffd"})]


def test_crash_point_exits_137_only_at_the_named_point(tmp_path):
    code = (
        "from expctl.fsutil import crash_point\ncrash_point('other')\nprint('past')\ncrash_point('here')\nprint('no')"
    )
    env = {**os.environ, fsutil.CRASH_ENV: "here"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 137
    assert proc.stdout == "past\n"
