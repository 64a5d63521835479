"""expctl/fingerprint.py: file and folder fingerprints, and a record's data and settings keys."""

from __future__ import annotations

import os

from expctl.fingerprint import SMALL_FILE, data_key, fingerprint, flat_items, settings_key


def test_small_file_big_file_folder_and_special_files(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("hello\n")
    fp = fingerprint(small)
    assert fp["kind"] == "file" and fp["size"] == 6 and fp["fingerprint"].startswith("blake2b:")
    assert fingerprint(small) == fp
    small.write_text("hellO\n")
    assert fingerprint(small)["fingerprint"] != fp["fingerprint"]

    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (SMALL_FILE + 1))
    assert fingerprint(big)["fingerprint"].startswith("quick:")

    folder = fingerprint(tmp_path)
    assert folder["kind"] == "dir" and folder["entries"] == 2 and folder["fingerprint"].startswith("listing:")

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert fingerprint(fifo) == {"kind": "special", "fingerprint": None}  # never opened: cannot hang
    assert fingerprint(tmp_path / "missing") is None


def test_keys_of_a_record():
    assert flat_items({"a": {"b": 1, "c": {}}, "d": 2}) == {"a.b": 1, "d": 2}
    one = {"settings": {"lr": 0.1, "seed": 1, "model": {"seed": 3, "size": 2}}}
    other = {"settings": {"lr": 0.1, "seed": 2, "model": {"seed": 4, "size": 2}}}
    assert settings_key(one) == settings_key(other)  # seeds aside
    assert settings_key(one) != settings_key({"settings": {"lr": 0.2, "seed": 1}})
    assert settings_key({"_settings_key": "known", "settings": {}}) == "known"  # listings' summaries carry it
    data = {"data": {"train.jsonl": {"fingerprint": "blake2b:1", "size": 3}}}
    assert data_key(data) == data_key({"data": {"train.jsonl": {"fingerprint": "blake2b:1", "size": 9}}})
    assert data_key(data) != data_key({"data": {}}) and data_key({"_data_key": "k"}) == "k"
