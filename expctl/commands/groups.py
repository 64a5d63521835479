"""sweep, kfold, ensemble: run groups (a one-factor sweep, K grouped fold runs with mean ± std) and
recorded ensembles of runs."""

from __future__ import annotations

import json

import click

from expctl.commands.cluster import on_options
from expctl.errors import ExitCode, UsageError
from expctl.output import echo, fmt_value, format_option, message, pick_format, render, stdout_to_stderr


@click.command("kfold")
@click.option("--k", "k", type=int, default=5, show_default=True, help="Number of folds.")
@click.option("--stage", "-S", default=None, help="Stage of every fold run.")
@click.option(
    "-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Setting for every fold. Repeatable."
)
@click.option(
    "--show", default=None, metavar="GROUP_ID", help="Only show a recorded k-fold group ('last' for the newest)."
)
@click.option("--dry-run", is_flag=True, help="Print the fold commands, run nothing.")
@on_options
@format_option()
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def kfold_cmd(k, stage, assignments, show, dry_run, on, cluster_overrides, fmt, as_json, extra):
    """Train K stratified folds of one configuration as grouped runs; report mean ± std.

    Every fold is an ordinary recorded run with num_folds=K, fold=i and the record field
    group: {kind: kfold, id, fold, k}; the program picks the fold's train/eval split from its
    training file (the bundled trainer: label-stratified, seeded by fold_seed).
    """
    from expctl import kfold, rungroups
    from expctl.project import Project

    project = Project.open()

    cfg, store = project.config, project.store
    fmt = pick_format(fmt, as_json)
    group_id = None
    if not show:
        plan = kfold.kfold_plan(cfg, k, stage, assignments, list(extra))
        group_id = plan.id
        message(f"expctl: kfold {group_id}: {k} folds" + (f" at stage {stage}" if stage else ""))
        if dry_run:
            for i in range(plan.size):
                echo("expctl " + " ".join(plan.run_args(i)) + "\n")
            return
        if on == "slurm":  # one job array of K folds; returns at once
            from expctl.commands.cluster import report_submitted

            executor = rungroups.SlurmExecutor(cfg, store, cluster_overrides, what=f"kfold {group_id}", verb="kfold")
            report_submitted(executor.run(plan), group=group_id)
            return
        codes = rungroups.SubprocessExecutor(store.root, echo=message).run(plan)
        failed = sum(1 for c in codes if c not in (0, int(ExitCode.CHECK_FAILED)))
        if failed:
            message(f"expctl: warning: {failed} of {len(codes)} fold runs failed")
        store.invalidate()
    elif show != "last":
        group_id = show
    group_id, runs = kfold.group_runs(store.all(), group_id)
    summary = kfold.kfold_summary(runs, cfg.primary_metric)
    if fmt == "json":
        echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    rows, cols = kfold.kfold_rows(summary)
    if fmt == "table":
        echo(f"kfold {group_id}: {summary['k']} folds, metric {summary['metric'] or '-'}\n")
    echo(render(rows, cols, fmt))


@click.command("ensemble")
@click.argument("refs", nargs=-1, required=True)
@click.option("--eval-file", default=None, help="File to evaluate on (default: the members' own dev predictions).")
@click.option("--weights", default=None, metavar="W1,W2,...", help="One weight per run (normalised to sum 1).")
@click.option(
    "--mode",
    type=click.Choice(["logits", "probs"]),
    default="logits",
    show_default=True,
    help="Average logits (then softmax; a sigmoid per label for multilabel) or probabilities.",
)
@click.option("--name", default=None, help="A name for the ensemble run.")
@format_option()
def ensemble_cmd(refs, eval_file, weights, mode, name, fmt, as_json):
    """Average the logits (or probabilities) of RUN RUN... and record the ensemble as a run.

    A run group's id (a kfold, sweep or seed group) stands for all its runs.

    Members may be different models but must be runs of one task with the same label (or
    tag) names: classification or pair (argmax), multilabel (every label with probability
    >= 0.5) or ner (per word, from its first sub-token's scores; argmax). Predictions come
    from each run's predictions.jsonl, or, for an --eval-file a run did not predict, from its
    checkpoints/best. Metrics: the trainer's own (eval_accuracy, eval_f1_micro, eval_entity_f1).
    """
    from expctl import ensemble
    from expctl.project import Project

    parsed = None
    if weights:
        try:
            parsed = [float(w) for w in weights.split(",")]
        except ValueError:
            raise UsageError(f"--weights {weights!r}: expected numbers separated by commas") from None
    project = Project.open()
    cfg, store = project.config, project.store
    record = ensemble.ensemble(cfg, store, list(refs), eval_file=eval_file, weights=parsed, mode=mode, name=name)
    final = record["metrics"]["final"]
    if pick_format(fmt, as_json) == "json":
        echo(
            json.dumps(
                {"run": record["id"], "ensemble": record["ensemble"], "metrics": final}, indent=2, ensure_ascii=False
            )
            + "\n"
        )
        return
    spec = record["ensemble"]
    metric = spec.get("metric", "eval_accuracy")  # multilabel / ner: the task's primary metric
    scores = spec.get("member_metric") or spec["member_accuracy"]
    col = metric[len("eval_") :]
    rows = [{"run": rid, "role": "member", col: scores[rid]} for rid in spec["members"]]
    rows.append({"run": record["id"], "role": f"ensemble ({mode})", col: final.get(metric)})
    echo(render(rows, ["run", "role", col], fmt))
    message(
        f"expctl: ensemble run {record['id']}: {metric} {fmt_value(final.get(metric))} "
        f"(`expctl compare --runs {' '.join(spec['members'])} {record['id']}`)"
    )


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
    from expctl import rungroups, sweep
    from expctl.project import Project

    project = Project.open()

    cfg, store = project.config, project.store
    fmt = pick_format(fmt, as_json)
    if not show:
        p, fixed = sweep.plan(cfg, stage, specs, seeds=seeds, grid=grid)
        one_factor = 1 + sum(len([v for v in vals if v != p.base[k]]) for k, vals in p.knobs.items())
        if grid:
            message(
                f"expctl: warning: --grid runs {len(p.configs)} configurations x {len(p.seeds)} seeds = {p.n_runs} runs "
                f"(one factor at a time would be {one_factor}); a grid spends runs on combinations"
                " - vary one knob at a time first, then combine the winners"
            )
        message(
            f"expctl: sweep {p.sweep_id}: {len(p.configs)} configurations x {len(p.seeds)} seed(s) = {p.n_runs} runs"
            + (f" at stage {stage}" if stage else "")
        )
        group = sweep.group_plan(p, stage, fixed, list(extra))
        if dry_run:
            for args in (group.run_args(i) for i in range(group.size)):
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
            from expctl.commands.cluster import report_submitted

            executor = rungroups.SlurmExecutor(
                cfg, store, cluster_overrides, force=force, what=f"sweep {p.sweep_id}", verb="sweep"
            )
            report_submitted(executor.run(group), group=p.sweep_id)
            return
        devs = [d.strip() for d in devices.split(",")] if devices else None
        if devs and parallel < len(devs):
            parallel = len(devs)
        with stdout_to_stderr(fmt != "table"):  # the programs' output never mixes with machine output
            codes = rungroups.SubprocessExecutor(
                store.root, parallel=parallel, devices=devs, echo=lambda m: message(m)
            ).run(group)
        failed = sum(1 for c in codes if c not in (0, int(ExitCode.CHECK_FAILED)))
        if failed:
            message(f"expctl: warning: {failed} of {len(codes)} sweep runs failed")
        store.invalidate()
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
