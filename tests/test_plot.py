"""`expctl plot`: tolerant parsing, each diagnosis on synthetic curves, charts, the CLI."""

from __future__ import annotations

import json
import math
import random

from click.testing import CliRunner

from expctl.analysis.plot import (
    Curves,
    default_metrics,
    diagnose,
    parse_metrics,
    primary_eval_metric,
    render_chart,
)
from expctl.commands.plot import plot_cmd
from tests.conftest import commit_project, run_expctl


def lines(events) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def curves_from(train=None, evals=None, name="run") -> Curves:
    """train: step -> loss; evals: step -> dict of eval metrics."""
    events = [{"step": s, "train_loss": v} for s, v in (train or {}).items()]
    events += [{"step": s, **m} for s, m in (evals or {}).items()]
    events.sort(key=lambda e: e["step"])
    return parse_metrics(lines(events), name=name)


STEPS = range(0, 2001, 20)
EVAL_STEPS = range(0, 2001, 200)


def noisy(rng, v, sd=0.01):
    return v + rng.gauss(0, sd)


def test_still_improving():
    rng = random.Random(0)
    c = curves_from(
        {s: noisy(rng, 2.0 * math.exp(-s / 3000)) for s in STEPS},
        {
            s: {"eval_accuracy": 0.5 + 0.4 * (1 - math.exp(-s / 3000)), "eval_loss": 1.5 * math.exp(-s / 3000)}
            for s in EVAL_STEPS
        },
    )
    d = diagnose(c)
    assert d.verdict == "still improving", d.text
    # without eval metrics the train loss decides
    d = diagnose(curves_from({s: noisy(rng, 2.0 * math.exp(-s / 1500)) for s in STEPS}))
    assert d.verdict == "still improving", d.text


def test_overfitting_from_eval_loss():
    rng = random.Random(1)
    c = curves_from(
        {s: noisy(rng, 1.5 * math.exp(-s / 300) + 0.01, 0.005) for s in STEPS},
        {s: {"eval_loss": 0.4 + ((s - 600) / 1000) ** 2, "eval_accuracy": 0.85} for s in EVAL_STEPS},
    )
    d = diagnose(c)
    assert (d.verdict, d.step) == ("overfitting", 600), d.text
    assert d.text.startswith("overfitting since step 600: eval_loss lowest 0.4 at step 600")


def test_overfitting_from_eval_metric_falling():
    rng = random.Random(2)
    acc = {
        200: 0.70,
        400: 0.80,
        600: 0.86,
        800: 0.88,
        1000: 0.87,
        1200: 0.85,
        1400: 0.84,
        1600: 0.83,
        1800: 0.83,
        2000: 0.82,
    }
    c = curves_from(
        {s: noisy(rng, 1.5 * math.exp(-s / 400), 0.005) for s in STEPS},
        {s: {"eval_accuracy": v} for s, v in acc.items()},
    )
    d = diagnose(c)
    assert (d.verdict, d.step) == ("overfitting", 800), d.text
    # a dip within the margin is not overfitting
    acc_flat = {s: (0.88 if s >= 800 else acc[s]) - (0.004 if s == 2000 else 0.0) for s in acc}
    c = curves_from(
        {s: noisy(rng, 1.5 * math.exp(-s / 400), 0.005) for s in STEPS},
        {s: {"eval_accuracy": v} for s, v in acc_flat.items()},
    )
    assert diagnose(c).verdict == "converged"


def test_not_learning():
    rng = random.Random(3)
    c = curves_from(
        {s: noisy(rng, 1.0986, 0.05) for s in STEPS}, {s: {"eval_accuracy": noisy(rng, 0.34, 0.01)} for s in EVAL_STEPS}
    )
    d = diagnose(c)
    assert d.verdict == "not learning", d.text
    rising = curves_from({s: 0.5 + s / 1000 for s in STEPS})
    assert diagnose(rising).verdict == "not learning"


def test_converged():
    rng = random.Random(4)
    c = curves_from(
        {s: noisy(rng, 1.5 * math.exp(-s / 100) + 0.2, 0.01) for s in STEPS},
        {s: {"eval_accuracy": 0.9 - 0.3 * math.exp(-s / 100) + rng.gauss(0, 0.001)} for s in EVAL_STEPS},
    )
    assert diagnose(c).verdict == "converged"
    # train loss only, flat tail
    c = curves_from({s: noisy(rng, 1.5 * math.exp(-s / 100) + 0.2, 0.01) for s in STEPS})
    assert diagnose(c).verdict == "converged"


def test_diverged_and_too_few():
    text = (
        lines([{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.5}])
        + '{"step": 3, "train_loss": NaN}\n{"step": 4, "train_loss": Infinity}\n'
    )
    c = parse_metrics(text)
    assert c.bad_values == 2
    d = diagnose(c)
    assert (d.verdict, d.step) == ("diverged", 3)
    assert d.text == "diverged at step 3: train_loss became NaN or Inf"
    assert diagnose(parse_metrics(lines([{"step": 1, "train_loss": 2.0}]))).verdict == "too few points"


def test_malformed_lines_never_crash():
    text = (
        '{"step": 10, "train_loss": 1.0, "lr": 2e-5}\n'
        "\n"
        "garbage\n"
        "[1, 2, 3]\n"
        '{"step": 20, "train_loss": "1.2", "eval_accuracy": 0.5, "note": "hello"}\n'
        '{"step": "x", "train_loss": -Infinity}\n'
        '{"train_loss": 0.9, "eval_accuracy": [1]}\n'
        '{"step": 40, "train_loss": 0.8, "eval_accuracy": true}\n'
        '{"step": 50, "train_loss": 0.7, "epo'  # partial last line
    )
    c = parse_metrics(text.encode())
    assert c.bad_lines == 3  # garbage, a list, the partial line
    assert c.bad_values == 5  # "1.2", "hello", -Infinity, [1], true
    # the step-less line takes the last step seen (20: "x" is not a step)
    assert c.series["train_loss"] == [(10.0, 1.0), (20.0, 0.9), (40.0, 0.8)]
    assert c.series["eval_accuracy"] == [(20.0, 0.5)]
    assert c.series["lr"] == [(10.0, 2e-5)]
    assert c.nonfinite == {"train_loss": 20.0}
    diagnose(c)  # no exception
    render_chart("train_loss", [("r", c.series["train_loss"])])


def test_missing_step_uses_previous_or_event_number():
    c = parse_metrics(
        lines([{"train_loss": 3.0}, {"train_loss": 2.0}, {"step": 100, "train_loss": 1.0}, {"eval_loss": 0.5}])
    )
    assert c.series["train_loss"] == [(0.0, 3.0), (1.0, 2.0), (100.0, 1.0)]
    assert c.series["eval_loss"] == [(100.0, 0.5)]


def test_metric_choice():
    assert primary_eval_metric(["eval_loss", "eval_accuracy", "eval_f1_macro"]) == "eval_f1_macro"
    assert primary_eval_metric(["eval_loss", "eval_accuracy"], primary="accuracy") == "eval_accuracy"
    assert primary_eval_metric(["eval_loss", "eval_bleu"]) == "eval_bleu"
    assert primary_eval_metric(["eval_loss"]) == "eval_loss"
    assert primary_eval_metric(["train_loss"]) is None
    c = curves_from({0: 1.0, 10: 0.5}, {10: {"eval_accuracy": 0.7, "eval_loss": 0.6}})
    assert default_metrics([c]) == ["train_loss", "eval_accuracy"]


def test_chart_single_run_braille_and_axes():
    text = render_chart("train_loss", [("a", [(0, 2.0), (50, 1.0), (100, 0.5)])], width=20, height=5)
    assert text.splitlines() == [
        "train_loss",
        "   2 ┤⠑⠢⣀                 ",
        "     │   ⠑⠢⣀              ",
        "1.25 ┤      ⠉⠢⢄           ",
        "     │         ⠉⠒⠤⢄⣀      ",
        " 0.5 ┤              ⠉⠉⠒⠢⠤⣀",
        "     └────────────────────",
        "      0                100  step",
    ]


def test_chart_several_runs_distinct_marks():
    text = render_chart(
        "eval_accuracy", [("a", [(0, 0.5), (10, 0.9)]), ("b", [(0, 0.9), (10, 0.5)])], width=11, height=5
    )
    assert text.splitlines() == [
        "eval_accuracy",
        "0.9 ┤××       ••",
        "    │  ××   ••  ",
        "0.7 ┤    ×××    ",
        "    │  ••   ××  ",
        "0.5 ┤••       ××",
        "    └───────────",
        "     0        10  step",
        "     • a   × b",
    ]
    flat = render_chart("x", [("a", [(5, 1.0), (5, 1.0)])], width=10, height=3)
    assert "1.05 ┤" in flat and "0.95 ┤" in flat
    assert render_chart("x", [("a", [])]) == "x: no values"


def write_run(folder, events, tail=""):
    folder.mkdir(parents=True)
    (folder / "metrics.jsonl").write_text(lines(events) + tail)
    return folder


def test_cli(tmp_path):
    rng = random.Random(5)
    a = write_run(
        tmp_path / "run-a",
        [{"step": s, "train_loss": 1.5 * math.exp(-s / 100) + 0.2 + rng.gauss(0, 0.01)} for s in STEPS],
        tail='{"step": 2020, "train_',
    )
    b = write_run(tmp_path / "run-b", [{"step": s, "train_loss": 1.1 + rng.gauss(0, 0.02)} for s in STEPS])
    runner = CliRunner()
    result = runner.invoke(plot_cmd, [str(a), str(b / "metrics.jsonl"), "--width", "40", "--height", "6"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert result.stderr == "expctl: run-a: skipped 1 malformed line(s) and 0 non-numeric value(s)\n"
    assert out.startswith("train_loss\n")
    assert "• run-a   × run-b" in out
    assert "\nrun-b  not learning: train_loss went from 1.1" in out
    assert "\nrun-a  converged: train_loss flat at 0.1994\n" in out
    data = json.loads(runner.invoke(plot_cmd, [str(a), str(b), "--format", "json"]).stdout)
    assert [r["verdict"] for r in data["runs"]] == ["converged", "not learning"]
    assert data["runs"][0]["skipped_lines"] == 1
    csv_out = runner.invoke(plot_cmd, [str(a), "--format", "csv"]).stdout.splitlines()
    assert csv_out[0] == "run,verdict,since_step,diagnosis,skipped_lines,skipped_values,train_loss_last,train_loss_best"
    only = runner.invoke(plot_cmd, [str(a), "--no-chart"]).stdout
    assert only.splitlines()[0] == "Diagnosis" and "┤" not in only


def test_cli_errors(tmp_path, expctl):
    a = write_run(tmp_path / "r", [{"step": 1, "train_loss": 1.0}])
    proc = expctl(tmp_path, "plot", str(a), "--metric", "eval_bleu")
    assert proc.returncode == 2
    assert proc.stderr == "expctl: error: no metric eval_bleu in the runs (available: train_loss)\n"
    proc = expctl(tmp_path, "plot", str(tmp_path / "missing"))
    assert proc.returncode == 4 and proc.stderr.count("\n") == 1


def test_png_without_or_with_matplotlib(tmp_path, expctl):
    a = write_run(tmp_path / "r", [{"step": s, "train_loss": 1.0 / (1 + s)} for s in range(10)])
    proc = expctl(tmp_path, "plot", str(a), "--png", str(tmp_path / "c.png"))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert proc.returncode == 2
        assert proc.stderr == (
            "expctl: error: --png needs matplotlib, which is not installed: pip install 'expctl[plot]'\n"
        )
    else:
        assert proc.returncode == 0 and (tmp_path / "c.png").stat().st_size > 0


def test_run_ref_goes_through_records(repo, monkeypatch):
    """A run reference (here an exploration) is looked up in a real project's records; the
    curve comes from git once the run folder is gone."""
    import shutil

    from expctl.analysis.plot import load_curves
    from expctl.project import Project

    events = [{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.0}]
    program = f"import os\nwith open(os.environ['EXPCTL_METRICS'], 'a') as fh:\n    fh.write({lines(events)!r})\n"
    commit_project(repo, program, '[project]\nname = "p"\ncommand = "python3 train.py"\n')
    run_expctl(repo, "explore", "rdrop", check=True)
    run_expctl(repo, "run", check=True)
    run_id = json.loads(run_expctl(repo, "show", "--json", check=True).stdout)["id"]
    shutil.rmtree(repo / "runs")
    monkeypatch.chdir(repo)
    assert Project.open().resolve("explore/rdrop")["id"] == run_id
    c = load_curves("explore/rdrop")
    assert c.name == "explore/rdrop" and c.series["train_loss"] == [(1.0, 2.0), (2.0, 1.0)]


def test_analysis_modules_import_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, expctl.commands.cases, expctl.commands.plot, expctl.commands.data, expctl.demodata, "
        "expctl.analysis.cases, expctl.analysis.plot, expctl.analysis.datastats; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'transformers', 'accelerate', 'pandas', 'matplotlib', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
