"""sweep and reproduce: the scientific loop's sensitivity analysis and reruns."""

from __future__ import annotations

import json
import sys

import click

from expctl.commands.cluster import on_options
from expctl.errors import ExitCode
from expctl.output import echo, fmt_value, format_option, message, pick_format, render, stdout_to_stderr


@click.command("sweep")
@click.option(
    "-s",
    "--set",
    "specs",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="A knob and its values (one value: a fixed override for every run). Repeatable.",
)
@click.option("--stage", "-S", default=None, help="Stage of every run (small is the usual one).")
@click.option(
    "--seeds",
    type=int,
    default=0,
    help="Repeat each configuration with N seeds (seed, seed+1, ...); with no knob, the one configuration N times.",
)
@click.option("--grid", is_flag=True, help="Every combination instead of one factor at a time (warns about the count).")
@click.option("--parallel", type=int, default=1, show_default=True, help="Runs at a time.")
@click.option("--devices", default=None, help="GPUs to pin parallel runs to, e.g. 0,1 (CUDA_VISIBLE_DEVICES).")
@click.option("--dry-run", is_flag=True, help="Print the plan, run nothing.")
@click.option(
    "--show",
    "show",
    default=None,
    metavar="SWEEP_ID",
    help="Only show the sensitivity table of a recorded sweep ('last' for the newest).",
)
@on_options
@click.option("--force", is_flag=True, help="With --on slurm: submit a gated stage (full) without a passing smoke run.")
@format_option()
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def sweep_cmd(
    specs, stage, seeds, grid, parallel, devices, dry_run, show, on, cluster_overrides, force, fmt, as_json, extra
):
    """One-factor-at-a-time sensitivity: -s lr=1e-5,3e-5,1e-4 -s dropout=0.1,0.3.

    The base configuration runs once; each knob's other values run with every other knob
    at its base value (2 knobs x 3 values = 5 configurations, not 9). Then a table ranks
    the knobs by the range of the primary metric they cause, beside the seed spread.
    """
    from expctl import sweep
    from expctl.records import open_store

    cfg, store = open_store()
    fmt = pick_format(fmt, as_json)
    if not show:
        p, fixed = sweep.plan(cfg, stage, specs, seeds=seeds, grid=grid)
        one_factor = 1 + sum(len([v for v in vals if v != p.base[k]]) for k, vals in p.knobs.items())
        if grid:
            message(
                f"expctl: warning: --grid runs {len(p.configs)} configurations x {len(p.seeds)} seeds = {p.n_runs} runs "
                f"(one factor at a time would be {one_factor}); seed 002 advises against grid search"
            )
        message(
            f"expctl: sweep {p.sweep_id}: {len(p.configs)} configurations x {len(p.seeds)} seed(s) = {p.n_runs} runs"
            + (f" at stage {stage}" if stage else "")
        )
        if dry_run:
            for args, _meta in sweep.commands(p, stage, fixed, list(extra)):
                echo(
                    "expctl "
                    + " ".join(
                        a
                        if a.replace("=", "").replace("-", "").replace(".", "").replace(",", "").isalnum()
                        else repr(a)
                        for a in args[:-2]
                        if a != "--meta"
                    )
                    + "\n"
                )
            return
        if on == "slurm":  # one job array, at most [cluster] array_parallelism at once; returns at once
            from expctl.cluster import spec_from_run_args
            from expctl.commands.cluster import submit_and_report

            specs_ = [spec_from_run_args(args) for args, _ in sweep.commands(p, stage, fixed, list(extra))]
            submit_and_report(
                cfg,
                store,
                specs_,
                cluster_overrides,
                force=force,
                what=f"sweep {p.sweep_id}",
                verb="sweep",
                group=p.sweep_id,
            )
            return
        devs = [d.strip() for d in devices.split(",")] if devices else None
        if devs and parallel < len(devs):
            parallel = len(devs)
        with stdout_to_stderr(fmt != "table"):  # the programs' output never mixes with machine output
            codes = sweep.execute(
                store.root, p, stage, fixed, list(extra), parallel=parallel, devices=devs, echo=lambda m: message(m)
            )
        failed = sum(1 for c in codes if c not in (0, int(ExitCode.CHECK_FAILED)))
        if failed:
            message(f"expctl: warning: {failed} of {len(codes)} sweep runs failed")
        store._cache = None
        sweep_id = p.sweep_id
    else:
        sweep_id = None if show == "last" else show
    sweep_id, runs = sweep.sweep_runs(store.all(), sweep_id)
    result = sweep.sensitivity(runs, cfg.primary_metric or "", cfg.direction)
    if fmt == "json":
        echo(json.dumps({"sweep": sweep_id, **result}, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    rows = sweep.table_rows(result)
    cols = ["rank", "knob", "range", "seed spread", "verdict", "best", "values (metric mean)"]
    title = f"sweep {sweep_id}: {result['runs']} runs, {result['configs']} configurations, metric {result['metric']}"
    if fmt == "table":
        echo(title + "\n")
    echo(render(rows, cols, fmt))


@click.command("reproduce")
@click.argument("ref")
@click.option(
    "--tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    help="Largest absolute metric difference that counts as reproduced.",
)
@click.option("--keep", is_flag=True, help="Keep the worktree the rerun used.")
@format_option()
def reproduce_cmd(ref, tolerance, keep, fmt, as_json):
    """Rerun RUN (or the run behind a TAG) from its exact code in a separate git worktree,
    with identical settings, and report the metric deltas."""
    from expctl import reproduce
    from expctl.records import open_store

    cfg, store = open_store()
    with stdout_to_stderr(pick_format(fmt, as_json) != "table"):  # the rerun's output goes to stderr
        out = reproduce.reproduce(cfg, store, ref, tolerance=tolerance, keep=keep)
    if pick_format(fmt, as_json) == "json":
        echo(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        rows = [
            {
                "metric": k,
                "original": m["original"],
                "reproduced": m["reproduced"],
                "delta": f"{m['delta']:+.3g}" if m["delta"] is not None else "",
                "ok": "yes" if m["within_tolerance"] else "NO",
            }
            for k, m in out["metrics"].items()
        ]
        echo(render(rows, ["metric", "original", "reproduced", "delta", "ok"], "table" if fmt == "table" else fmt))
        verdict = "reproduced" if out["reproduced"] else "NOT reproduced"
        message(f"expctl: run {out['run']} {verdict} run {out['original']} within {fmt_value(tolerance)}")
        for path in out["data_changed"]:
            message(f"expctl: data file {path} changed since the original run: the likely cause of any difference")
    if not out["reproduced"]:
        sys.exit(int(ExitCode.CHECK_FAILED))
