"""docs/data.md followed literally: the "You have one data file" block runs in sequence
(with a smaller generated file) and ends at a tagged baseline that records its split."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, git, run_expctl

DOC = (ROOT / "docs" / "data.md").read_text()


def first_block() -> str:
    part = DOC[DOC.index("## You have one data file") :]
    return re.search(r"```bash\n(.*?)```", part, re.S).group(1)


def test_one_data_file_to_a_tagged_baseline(tmp_path):
    project = tmp_path / "reviews"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    script = first_block().replace("g(3000)", "g(600)")  # the same commands on a smaller file
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.run(
        ["bash", "-e", "-x", "-c", script], cwd=project, capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "text = column 'review', label = column 'label' (header detected" in proc.stdout + proc.stderr
    assert "ordered by label" in proc.stdout  # the stand-in file is sorted, and data stats says so
    version = json.loads((project / "data" / "split.json").read_text())["version"]
    shown = json.loads(run_expctl(project, "show", "baseline", "--json", check=True).stdout)
    assert shown["stage"] == "small" and shown["status"] == "succeeded"
    assert shown["data"]["data/train.tsv"]["split"] == f"{version} (train)"
    assert f"{version} (train)" in proc.stdout
