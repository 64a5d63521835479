"""`expctl run --seeds N`: one configuration, N distinct seeds, one group.

The seeds are ``seed, seed+1, ...`` from the resolved ``seed`` setting (``-s seed=5`` starts
at 5). The runs are one run group (:mod:`expctl.rungroups`, ``group: {kind: seeds, id, index,
size, seed}``) whose id is a sweep's (``sweep --show`` lists them), and ``compare`` aggregates
them like any seed group: statistics over distinct seeds only.
"""

from __future__ import annotations

from typing import Any

from expctl import rungroups
from expctl.errors import ConfigError, UsageError
from expctl.settings import flatten, resolve, split_assignment


def plan(cfg, stage: str | None, assignments: list[str], n: int) -> tuple[list[int], list[str]]:
    """(the N seeds, the assignments without ``seed``); validated before any run starts."""
    if n < 1:
        raise UsageError(f"--seeds takes a number of seeds >= 1, not {n}")
    st = cfg.stage(stage) if stage else None
    settings = flatten(resolve(cfg.settings, st.settings if st else {}, assignments, cfg.free_form))
    if "seed" not in settings:
        raise ConfigError("--seeds needs a `seed` setting in [settings] of expctl.toml (the program must use it)")
    start = settings["seed"]
    if isinstance(start, bool) or not isinstance(start, int):
        raise ConfigError(f"--seeds needs an integer seed setting, not {start!r}")
    rest = [a for a in assignments if split_assignment(a)[0] != "seed"]
    return [start + i for i in range(n)], rest


def group_plan(
    cfg,
    stage: str | None,
    assignments: list[str],
    n: int,
    *,
    name: str | None = None,
    extra_args: list[str] | None = None,
    extra_record: dict[str, Any] | None = None,
) -> rungroups.Plan:
    """The N runs of the seed group (kind ``seeds``; its id is a sweep's, so ``sweep --show`` lists it)."""
    seed_list, rest = plan(cfg, stage, assignments, n)
    members = [
        rungroups.Member(
            stage,
            [*rest, f"seed={seed}"],
            {"seed": seed},
            f"[{i}/{len(seed_list)}] seed={seed}",
            name=name,
            extra_args=list(extra_args or []),
            extra_record=dict(extra_record or {}),
        )
        for i, seed in enumerate(seed_list, 1)
    ]
    return rungroups.Plan("seeds", rungroups.new_id("seeds"), members)
