"""`expctl data stats` and `expctl data split` (expctl/commands/data.py) through the real CLI:
columns by index, where warnings go per format, the split's messages, refusal to overwrite,
and the leakage warning. The analyses themselves are in tests/test_datastats.py and
tests/test_datasplit.py."""

from __future__ import annotations

import json

from tests.conftest import run_expctl

ROWS = ["good film\tpos", "bad film\tneg", "great\tpos", "awful\tneg", "fine\tpos", "meh\tneg", "nice\tpos"]
ROWS += ["poor\tneg", "good film\tneg", "ok\tpos"]


def test_stats_with_columns_by_index(tmp_path):
    (tmp_path / "all.tsv").write_text("\n".join(ROWS) + "\n")
    out = run_expctl(tmp_path, "data", "stats", "all.tsv", "--text-column", "0", "--label-column", "1", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    (f,) = report["files"]
    assert f["path"] == "all.tsv" and f["rows"] == 10 and f["task"] == "classification"
    assert "expctl: warning: all.tsv: 1 text(s) appear with different labels" in out.stderr  # json: on stderr
    table = run_expctl(tmp_path, "data", "stats", "all.tsv", "--text-column", "0", "--label-column", "1", check=True)
    assert "Columns: text = column 0, label = column 1" in table.stdout
    assert "- all.tsv: 1 text(s) appear with different labels" in table.stdout and "warning" not in table.stderr
    missing = run_expctl(tmp_path, "data", "stats")
    assert missing.returncode == 2 and "FILE" in missing.stderr


def test_split_messages_overwrite_refusal_and_leakage(tmp_path):
    (tmp_path / "all.tsv").write_text("\n".join(ROWS) + "\n")
    args = ("data", "split", "all.tsv", "--dev", "0.2", "--test", "0.2", "--text-column", "0", "--label-column", "1")
    out = run_expctl(tmp_path, *args, "--json", check=True)
    assert "split all.tsv (stratified by label, seed 42) -> split.json (split-" in out.stderr
    assert "expctl: all.tsv: text = column 0, label = column 1" in out.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"all.tsv", "train.tsv", "dev.tsv", "test.tsv", "split.json"}
    rows = sum(len((tmp_path / f"{s}.tsv").read_text().splitlines()) for s in ("train", "dev", "test"))
    assert rows == 10 and json.loads(out.stdout)
    again = run_expctl(tmp_path, *args)
    assert again.returncode != 0 and "train.tsv exists; use --force" in again.stderr
    (tmp_path / "all.tsv").write_text("\n".join(ROWS * 3) + "\n")  # every text three times: some land apart
    forced = run_expctl(tmp_path, *args, "--force", check=True)
    assert "expctl: warning: leakage:" in forced.stderr and "appear in more than one output" in forced.stderr
