"""What to say when there is nothing to show, and names a run may not take twice."""

from __future__ import annotations

from typing import Any

from expctl.errors import RefusedError


def no_runs_hint(store) -> str:
    """The line for an empty listing: how to make the first run, or, in a clone whose
    remote may hold records, how to fetch them."""
    remotes = store.repo.remote_names()
    if remotes:
        return (
            f"expctl: no runs here yet: `expctl pull {remotes[0]}` fetches the records pushed there, "
            "or `expctl run --stage smoke` makes one"
        )
    return "expctl: no runs yet: expctl run --stage smoke"


def check_name_free(records: list[dict[str, Any]], name: str | None) -> None:
    """Refuse a --name another run has: `show NAME` must mean one run."""
    if not name:
        return
    taken = [r["id"] for r in records if r.get("name") == name]
    if taken:
        raise RefusedError(
            f"a run named {name!r} exists already ({taken[0]}); choose another --name "
            "(runs of one --seeds group share theirs)"
        )
