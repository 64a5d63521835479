"""docs/workflow.md run literally: its two files, then every ```bash block in order (sections
appended later run too), in a fresh folder; the final table is checked against the runs'
own metrics.json files."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys

from expctl.output import fmt_value
from tests.conftest import ROOT, run_expctl

DOC = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")


def block(lang: str, first_line: str) -> str:
    return next(b for b in re.findall(rf"```{lang}\n(.*?)```", DOC, re.S) if b.startswith(first_line + "\n"))


def parse_plain_table(text: str) -> list[dict[str, str]]:
    """Rows of the last plain table in ``text``: column bounds come from the dashed line under its header."""
    lines = [line for line in text.splitlines() if line.strip()]
    i = max(k for k, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    bounds = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[i])]
    head = [lines[i - 1][a : b + 2 if n < len(bounds) - 1 else None].strip() for n, (a, b) in enumerate(bounds)]
    rows = []
    for line in lines[i + 1 :]:
        cells = []
        for n, (a, _) in enumerate(bounds):
            end = bounds[n + 1][0] if n + 1 < len(bounds) else None
            cells.append(line[a:end].strip())
        rows.append(dict(zip(head, cells)))
    return rows


def test_workflow_doc_literally(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(block("python", "# train.py"), encoding="utf-8")
    (project / "expctl.toml").write_text(block("toml", "# expctl.toml"), encoding="utf-8")
    bindirs = [os.path.dirname(shutil.which("expctl") or sys.executable), os.path.dirname(sys.executable)]
    env = {**os.environ, "PATH": os.pathsep.join([*bindirs, os.environ.get("PATH", "")])}
    outputs = []
    for text in re.findall(r"```bash\n(.*?)```", DOC, re.S):
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", text],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"block failed ({proc.returncode}):\n{text}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
        outputs.append((text, proc))

    # the walk-through ends (before any later section) with the table of a fresh clone
    final = next(proc for text, proc in outputs if "expctl pull" in text)
    table = parse_plain_table(final.stdout)
    rows = {r["strategy"]: r for r in table}
    assert set(rows) == {"baseline", "best-averaged", "averaged", "bigrams"}
    assert {r["stage"] for r in table} == {"small"}
    details = {r["strategy"]: r for r in json.loads(run_expctl(project, "compare", "--json", check=True).stdout)}
    metric = "eval_accuracy"
    for name, row in rows.items():
        d = details[name]
        distinct = [rid for rid in d["runs"] if rid not in d["reproductions"]]
        values = [json.loads((project / "runs" / rid / "metrics.json").read_text())[metric] for rid in distinct]
        seeds = [json.loads((project / "runs" / rid / "settings.json").read_text())["seed"] for rid in distinct]
        assert sorted(seeds) == [1, 2, 3], name  # three distinct seeds, reproductions beside them
        cell = row[metric].rstrip(" *")
        expected = f"{fmt_value(statistics.mean(values))} ± {fmt_value(statistics.stdev(values))} (n=3)"
        assert cell.startswith(expected), (name, cell, expected)
        if d["reproductions"]:
            k = len(d["reproductions"])
            assert cell.endswith(f"[+{k} reproduction{'s' if k > 1 else ''}]"), (name, cell)
    assert len(details["baseline"]["reproductions"]) >= 2  # the sweep's and step 2's runs of seeds 1 and 2
    assert len(details["best-averaged"]["reproductions"]) == 1  # `expctl reproduce`
    # the exploration's runs are not baseline's (same code, other settings)
    assert not set(details["averaged"]["runs"]) & set(details["baseline"]["runs"])
    assert set(details["averaged"]["runs"]) <= set(details["best-averaged"]["runs"])
    assert rows["bigrams"]["status"] == "abandoned" and rows["averaged"]["status"] == "promoted"
    base = statistics.mean(
        json.loads((project / "runs" / rid / "metrics.json").read_text())[metric]
        for rid in details["baseline"]["runs"]
        if rid not in details["baseline"]["reproductions"]
    )
    assert abs(details["best-averaged"]["delta"] - (details["best-averaged"]["value"] - base)) < 1e-12
