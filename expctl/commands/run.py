"""run and reproduce: run the program at a stage and record it; rerun a run from its exact code."""

from __future__ import annotations

import json
import sys

import click

from expctl.commands.cluster import on_options
from expctl.errors import ExitCode, ExpctlError
from expctl.output import echo, fmt_value, format_option, message, pick_format, render, stdout_to_stderr


@click.command("run", context_settings={"ignore_unknown_options": False})
@click.option("--stage", "-S", default=None, help="smoke | converge | small | full (or one of your own).")
@click.option(
    "-s",
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a setting (typed; dotted keys for nesting). Repeatable.",
)
@click.option("--name", default=None, help="A name for this run.")
@click.option("--force", is_flag=True, help="Run `full` without a passing smoke run of this code.")
@click.option("--quiet", "-q", is_flag=True, help="No expctl messages (the program's output still streams).")
@click.option(
    "--resume",
    "resume_ref",
    default=None,
    metavar="RUN",
    help="Continue RUN (interrupted or failed) as a new linked run: its stage, settings and "
    "arguments, plus resume=RUN; -s still overrides.",
)
@click.option(
    "--seeds",
    type=int,
    default=None,
    metavar="N",
    help="Run this configuration N times with distinct seeds (seed, seed+1, ...), as one group.",
)
@click.option(
    "--meta", default=None, hidden=True, help="JSON object merged into the record (run groups: sweep, kfold)."
)
@on_options
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def run_cmd(stage, assignments, name, force, quiet, resume_ref, seeds, meta, on, cluster_overrides, extra):
    """Run the program at a stage and record everything about the run.

    Settings resolve as expctl.toml defaults < stage overrides < -s. Without --stage the
    run gets default_stage (smoke unless set in expctl.toml) and its check. Arguments after --
    are passed to the program. Exit status: 0 succeeded (check passed), 1 the program
    failed, 6 the stage check failed, 130 interrupted.

    --resume RUN continues RUN from its newest complete checkpoint (the bundled trainer; any
    program gets the old run's folder in $EXPCTL_RESUME_DIR).
    """
    from expctl import runner
    from expctl.project import Project

    extra_record = None
    if meta:
        try:
            extra_record = json.loads(meta)
        except ValueError as exc:
            raise ExpctlError(f"--meta is not valid JSON: {exc}") from exc
        if not isinstance(extra_record, dict) or set(extra_record) & {"id", "status", "settings", "code", "metrics"}:
            raise ExpctlError("--meta must be a JSON object that does not replace record fields")
    project = Project.open()
    cfg, store = project.config, project.store
    if name and not resume_ref:
        from expctl.hints import check_name_free

        check_name_free(store.all(), name)
    extra_args, extra_env = runner.parse_extra(extra), None
    assignments = list(assignments)
    if stage is None and not resume_ref:
        stage = cfg.default_stage  # no --stage: the documented default stage (smoke unless set), and its check
    if resume_ref:
        from expctl import resume

        p = resume.plan(project, resume_ref, stage, assignments, list(extra_args))
        stage, assignments, extra_args, extra_env = p.stage, p.assignments, p.extra_args, p.extra_env
        extra_record = {**(extra_record or {}), **p.extra_record}
        name = name or f"resume {p.original['id']}"
        if not quiet:
            for note in p.notes:
                message(f"expctl: note: {note}")
            message(f"expctl: resuming run {p.original['id']} (stage {stage or '-'}) as a new run")
    if seeds is not None:
        if resume_ref:
            raise ExpctlError("--seeds and --resume do not go together: resume continues one run")
        from expctl import rungroups
        from expctl import seeds as seeds_mod

        plan = seeds_mod.group_plan(
            cfg, stage, assignments, seeds, name=name, extra_args=list(extra_args), extra_record=extra_record
        )
        if on == "slurm":
            from expctl.commands.cluster import report_submitted

            report_submitted(rungroups.SlurmExecutor(cfg, store, cluster_overrides, force=force).run(plan))
            return
        codes = rungroups.InProcessExecutor(project, force=force, quiet=quiet, echo=message).run(plan)
        worst = next(
            (
                c
                for c in (int(ExitCode.INTERRUPTED), int(ExitCode.RUN_FAILED), int(ExitCode.CHECK_FAILED))
                if c in codes
            ),
            0,
        )
        if worst:
            sys.exit(worst)
        return
    if on == "slurm":
        from expctl.cluster import RunSpec
        from expctl.commands.cluster import submit_and_report

        submit_and_report(
            cfg,
            store,
            [RunSpec(stage, assignments, name, list(extra_args), extra_record or {}, dict(extra_env or {}))],
            cluster_overrides,
            force=force,
        )
        return
    record = runner.execute(
        project,
        stage=stage,
        assignments=assignments,
        name=name,
        extra_args=extra_args,
        force=force,
        quiet=quiet,
        extra_record=extra_record,
        extra_env=extra_env,
    )
    code = runner.exit_code_for(record)
    if code:
        sys.exit(code)


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
    from expctl.project import Project

    project = Project.open()
    with stdout_to_stderr(pick_format(fmt, as_json) != "table"):  # the rerun's output goes to stderr
        out = reproduce.reproduce(project, ref, tolerance=tolerance, keep=keep)
    if pick_format(fmt, as_json) == "json":
        echo(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        from expctl import views

        echo(render(views.reproduce_rows(out), views.REPRODUCE_COLUMNS, pick_format(fmt, as_json)))
        verdict = "reproduced" if out["reproduced"] else "NOT reproduced"
        message(f"expctl: run {out['run']} {verdict} run {out['original']} within {fmt_value(tolerance)}")
        for path in out["data_changed"]:
            message(f"expctl: data file {path} changed since the original run: the likely cause of any difference")
    if not out["reproduced"]:
        sys.exit(int(ExitCode.CHECK_FAILED))
