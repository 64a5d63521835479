"""`expctl report`: a real project rendered and opened in a real headless Chromium.

The browser is the system's Chromium (Debian: `apt-get install chromium`; `.ci/run`
installs it), driven through the DevTools protocol over a pipe (tests/report/cdp.py). In CI
(CI=true) a missing Chromium fails the test instead of skipping it.
"""

from __future__ import annotations

import math
import os
import re

import pytest

from tests.conftest import git, run_expctl
from tests.report.cdp import Browser, find_chromium

STRATEGIES = ["baseline", "best-lr", "overfit"]


@pytest.fixture
def browser(tmp_path):
    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Chromium is missing in CI: .ci/run must install it (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    b = Browser(exe, tmp_path / "chromium-profile")
    yield b
    b.close()


def test_report_opens_offline_in_a_real_browser(pictures, tmp_path, browser):
    out = tmp_path / "report.html"
    proc = run_expctl(pictures, "report", "-o", str(out), check=True)
    assert re.fullmatch(rf"expctl: wrote {re.escape(str(out))} \(3 rows, 3 charts, \d+ KB\)\n", proc.stderr)
    html = out.read_text(encoding="utf-8")
    # nothing that could fetch: no URL of any scheme but the SVG namespace, no src / href to files
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?!#|data:)", html)
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg class")

    url = out.as_uri()
    browser.open(url)
    shot = browser.screenshot(tmp_path / "report.png")  # kept under the test's tmp folder
    assert shot.stat().st_size > 10_000
    assert browser.console_errors() == []
    assert set(browser.requests()) <= {url}  # the page itself and nothing else
    assert browser.eval("window.expctlReport.ready") is True

    # header
    header = browser.eval("document.querySelector('header').innerText")
    assert "Report: pictures" in header and "stage small" in header and "eval_accuracy" in header
    commits = [git(pictures, "rev-parse", f"refs/tags/{t}^{{commit}}").stdout[:8] for t in ("baseline", "best-lr")]
    assert all(c in header for c in commits)

    # the results table: one row per strategy, mean ± std, within-noise marking
    def table():
        return browser.eval("""Array.from(document.querySelectorAll('#results-table tbody tr')).map(tr => {
            const cells = {};
            Array.from(tr.cells).forEach((td, i) => {
                cells[document.querySelectorAll('#results-table thead th')[i].dataset.col] = td.innerText.trim(); });
            return cells; })""")

    rows = table()
    assert [r["strategy"] for r in rows] == STRATEGIES
    assert rows[0]["Δ"] == "baseline" and rows[0]["eval_accuracy"] == "0.802 ± 0.0028 (n=2)"
    assert rows[1]["eval_accuracy"] == "0.844 ± 0.004 (n=3)"
    assert rows[2]["Δ"] == "+0.0020~noise" and rows[2]["overfit"] == "150"
    assert browser.eval("document.querySelector('#results-table tbody tr.best').dataset.run") == browser.eval(
        "document.querySelectorAll('#results-table tbody tr')[1].dataset.run"
    )
    # sortable: ascending, then descending by the metric
    browser.eval("document.querySelector('#results-table th[data-col=eval_accuracy]').click()")
    assert [r["strategy"] for r in table()] == ["baseline", "overfit", "best-lr"]
    browser.eval("document.querySelector('#results-table th[data-col=eval_accuracy]').click()")
    assert [r["strategy"] for r in table()] == ["best-lr", "overfit", "baseline"]

    # every chart drew every series it declares: a polyline with a real length on screen
    charts = browser.eval("""Array.from(document.querySelectorAll('svg.chart')).map(svg => ({
        metric: svg.dataset.metric, declared: Number(svg.dataset.series),
        drawn: Array.from(svg.querySelectorAll('g.series polyline')).filter(p =>
            p.getTotalLength() > 0 && p.getBoundingClientRect().width > 0).length,
        labels: Array.from(svg.querySelectorAll('g.series')).map(g => g.dataset.label),
        bands: svg.querySelectorAll('g.series path.band').length,
        points: svg.querySelectorAll('g.series circle').length,
        marks: Array.from(svg.querySelectorAll('g.diagnosis')).map(g => Number(g.dataset.step)),
        epochs: Array.from(svg.querySelectorAll('.epoch-label')).map(t => t.textContent),
        looks: Array.from(svg.querySelectorAll('g.series polyline')).map(p =>
            [p.getAttribute('stroke'), getComputedStyle(p).strokeWidth]) }))""")
    overlaid = [c for c in charts if "—" not in c["metric"]]
    assert [c["metric"] for c in overlaid] == ["train_loss", "eval_accuracy", "eval_loss"]
    for c in charts:
        assert c["drawn"] == c["declared"] > 0, c
    for c in overlaid:
        assert c["labels"] == STRATEGIES and c["bands"] == 2  # baseline and best-lr have seeds
        assert c["marks"] == [150]  # the exploration overfits from step 150
        # best-lr and overfit share their train_loss curve: colours and widths keep both visible
        assert len({stroke for stroke, _ in c["looks"]}) == 3 and len({w for _, w in c["looks"]}) == 3
    assert overlaid[0]["points"] == 0 and overlaid[1]["points"] == 3 * 6  # markers on sparse eval points
    assert overlaid[0]["epochs"] == ["ep 1", "ep 2", "ep 3"]  # the epoch axis, from the logged epochs
    assert len(charts) == 3 + 3 * 2  # and each strategy's own train_loss + eval_accuracy

    # per strategy: diagnosis, diff against the baseline, confusion matrix, wrong predictions
    sections = browser.eval("""Array.from(document.querySelectorAll('section.strategy')).map(s => ({
        label: s.dataset.label, diagnosis: s.querySelector('.diagnosis-text').innerText,
        diff: Array.from(s.querySelectorAll('table.diff tbody tr')).map(tr => tr.innerText.split('\\t')),
        code: (s.querySelector('pre.stat') || {}).innerText || '',
        confusion: Array.from(s.querySelectorAll('table.confusion tbody tr')).map(tr =>
            Array.from(tr.cells).slice(1).map(td => Number(td.innerText))),
        cases: s.querySelectorAll('table.cases tbody tr').length,
        bold: s.querySelectorAll('table.cases b').length,
        firstText: (s.querySelector('table.cases td.text') || {}).innerText }))""")
    assert [s["label"] for s in sections] == STRATEGIES
    assert sections[2]["diagnosis"].startswith("Diagnosis: overfitting at step 150")
    assert sections[0]["diff"] == []
    assert sorted(sections[1]["diff"]) == [["acc", "0.8", "0.84"], ["lr", "0.01", "0.02"]]  # the seed is no change
    assert "schedule.py" in sections[1]["code"] and "model.py" in sections[2]["code"]
    for s in sections:
        assert s["confusion"] == [[7, 3, 0], [0, 7, 3], [2, 0, 8]]
        assert s["cases"] == 8
        assert s["bold"] == 0 and s["firstText"] == "sample <b>4</b> text"  # data is text, never markup


def test_report_from_a_fresh_clone_after_pull(pictures, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(pictures, "remote", "add", "origin", str(remote))
    git(pictures, "checkout", "-q", "main")
    run_expctl(pictures, "push", check=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    run_expctl(clone, "pull", check=True)
    assert not (clone / "runs").exists()
    here, there = tmp_path / "here.html", tmp_path / "there.html"
    run_expctl(pictures, "report", "-o", str(here), check=True)
    run_expctl(clone, "report", "-o", str(there), check=True)

    def body(path):  # everything below the header (generation time and local branch differ)
        return path.read_text(encoding="utf-8").split("</header>", 1)[1]

    assert body(here) == body(there)
    assert body(there).count('<section class="strategy"') == 3 and body(there).count('class="confusion"') == 3


def test_report_refusals(pictures, repo, tmp_path):
    proc = run_expctl(pictures, "report", "nosuch", "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 4 and proc.stderr == "expctl: error: no run, tag or branch named 'nosuch'\n"
    proc = run_expctl(pictures, "report", "-o", str(tmp_path / "missing" / "r.html"))
    assert (
        proc.returncode == 2 and proc.stderr.startswith("expctl: error: cannot write ") and proc.stderr.count("\n") == 1
    )
    proc = run_expctl(pictures, "report", "-m", "eval_bleu", "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 2 and "no metric eval_bleu in the runs" in proc.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "missing").exists()


def test_report_of_runs_labels_by_settings(pictures, tmp_path):
    out = tmp_path / "runs.html"
    run_expctl(pictures, "report", "--runs", "-o", str(out), check=True)
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="strategy"') == 6
    first_chart = html.split('<svg class="chart"', 2)[1]
    labels = re.findall(r'<g class="series" data-label="([^"]+)"', first_chart)
    assert len(labels) == 6 and all(label.startswith("acc=") for label in labels), labels
    assert "acc=0.804, lr=0.02, overfit=150" in labels  # the one run of its settings: no id needed


def test_report_size_20_strategies_1000_points():
    """The figure in docs/report.md: 20 strategies x 3 seeds x 1,000 logged points of
    train_loss and eval_loss (and 100 eval_accuracy points)."""
    import random

    from expctl import report
    from expctl.analysis.curvegroups import CurveGroup
    from expctl.analysis.plot import Curves, diagnose

    rng = random.Random(0)
    sections = []
    for k in range(20):
        members = []
        for seed in range(3):
            c = Curves(f"run-{k}-{seed}")
            c.series["train_loss"] = [(s, 2 * math.exp(-s / (300 + 20 * k)) + rng.gauss(0, 0.02)) for s in range(1000)]
            c.series["eval_loss"] = [(s, math.exp(-s / (300 + 20 * k)) + 0.3 + rng.gauss(0, 0.02)) for s in range(1000)]
            c.series["eval_accuracy"] = [
                (s, 0.9 - 0.4 * math.exp(-s / 200) + rng.gauss(0, 0.01)) for s in range(0, 1000, 10)
            ]
            members.append(c)
        group = CurveGroup(f"strategy-{k}", members, [m.name for m in members])
        sections.append(report.Section(group.label, "tag", k, group.run_ids, group, diagnose(group.mean_curves())))
    cols = ["strategy", "eval_accuracy"]
    data = report.Report(
        "big",
        "2026-12-01 00:00 UTC",
        "0" * 40,
        "main",
        "eval_accuracy",
        "max",
        ["small"],
        cols,
        [{"strategy": s.label, "eval_accuracy": "0.9"} for s in sections],
        [
            {
                "strategy": s.label,
                "kind": "tag",
                "run": s.run_ids[0],
                "commit": "0" * 40,
                "value": 0.9,
                "delta": None,
                "within_noise": None,
                "best": False,
                "baseline": False,
            }
            for s in sections
        ],
        ["train_loss", "eval_accuracy", "eval_loss"],
        sections=sections,
        baseline="strategy-0",
    )
    report.draw_charts(data)
    size = len(report.render(data).encode())
    assert size < 500_000, size  # docs/report.md records the figure
    print(f"\n20 strategies x 1,000 points: {size / 1024:.0f} KB")
