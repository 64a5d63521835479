"""kfold and ensemble: K grouped fold runs (mean ± std) and recorded ensembles of runs."""

from __future__ import annotations

import json

import click

from expctl.commands.cluster import on_options
from expctl.errors import ExitCode, UsageError
from expctl.output import echo, fmt_value, format_option, message, pick_format, render


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
    from expctl import ensemble as breadth
    from expctl.records import open_store

    cfg, store = open_store()
    fmt = pick_format(fmt, as_json)
    group_id = None
    if not show:
        group_id, cmds = breadth.kfold_commands(cfg, k, stage, assignments, list(extra))
        message(f"expctl: kfold {group_id}: {k} folds" + (f" at stage {stage}" if stage else ""))
        if dry_run:
            for args, _ in cmds:
                echo("expctl " + " ".join(args) + "\n")
            return
        if on == "slurm":  # one job array of K folds; returns at once
            from expctl.cluster import spec_from_run_args
            from expctl.commands.cluster import submit_and_report

            submit_and_report(
                cfg,
                store,
                [spec_from_run_args(args) for args, _ in cmds],
                cluster_overrides,
                what=f"kfold {group_id}",
                verb="kfold",
                group=group_id,
            )
            return
        codes = breadth.kfold_execute(store.root, cmds, echo=message)
        failed = sum(1 for c in codes if c not in (0, int(ExitCode.CHECK_FAILED)))
        if failed:
            message(f"expctl: warning: {failed} of {len(codes)} fold runs failed")
        store._cache = None
    elif show != "last":
        group_id = show
    group_id, runs = breadth.group_runs(store.all(), group_id)
    summary = breadth.kfold_summary(runs, cfg.primary_metric)
    if fmt == "json":
        echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    rows, cols = breadth.kfold_rows(summary)
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

    Members may be different models but must be runs of one task with the same label (or
    tag) names: classification or pair (argmax), multilabel (every label with probability
    >= 0.5) or ner (per word, from its first sub-token's scores; argmax). Predictions come
    from each run's predictions.jsonl, or, for an --eval-file a run did not predict, from its
    checkpoints/best. Metrics: the trainer's own (eval_accuracy, eval_f1_micro, eval_entity_f1).
    """
    from expctl import ensemble as breadth
    from expctl.records import open_store

    parsed = None
    if weights:
        try:
            parsed = [float(w) for w in weights.split(",")]
        except ValueError:
            raise UsageError(f"--weights {weights!r}: expected numbers separated by commas") from None
    cfg, store = open_store()
    record = breadth.ensemble(cfg, store, list(refs), eval_file=eval_file, weights=parsed, mode=mode, name=name)
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
