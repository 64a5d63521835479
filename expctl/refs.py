"""Run references: what a user may type where a command takes RUN.

:func:`resolve_run` turns a reference into one record: a run id or its unique prefix, a tag
(its recorded run, else the newest run of its code), an exploration or branch (its best
run, else newest), ``HEAD`` (the newest run of the current code), a run name, or the
unique suffix of an id (``show k6z230``: the random part). It sits above the store
(expctl.records) and the strategies (expctl.strategies), which it reads.
"""

from __future__ import annotations

from typing import Any

from expctl.errors import NotFoundError, UsageError
from expctl.record import Record


def resolve_run(store, ref: str) -> dict[str, Any]:
    """A run from an id (or unique prefix), a run name, a tag, a branch, HEAD, or an id's unique suffix."""
    ref = ref.strip()
    if not ref:
        raise UsageError("empty run reference")
    records = store.all()
    exact = [r for r in records if r["id"] == ref]
    if exact:
        return exact[0]
    found = _by_strategy(store, ref)
    if found is not None:
        return found
    prefix = [r for r in records if r["id"].startswith(ref)]
    if len(prefix) == 1:
        return prefix[0]
    if len(prefix) > 1:
        raise UsageError(f"run reference {ref!r} is ambiguous: {', '.join(r['id'] for r in prefix[:5])}")
    named = [r for r in records if r.get("name") == ref]
    if named:
        return named[0]
    suffix = [r for r in records if r["id"].endswith(ref) and len(ref) >= 3]  # `show k6z230`: the random part
    if len(suffix) == 1:
        return suffix[0]
    if len(suffix) > 1:
        raise UsageError(f"run reference {ref!r} is ambiguous: {', '.join(r['id'] for r in suffix[:5])}")
    raise NotFoundError(f"no run, tag or branch named {ref!r}")


def _by_strategy(store, ref: str) -> dict[str, Any] | None:
    """A run from a tag (its recorded run, else the newest run of its code), an exploration
    or branch (its best run, else newest), or HEAD (the newest run of the current code)."""
    from expctl.strategies import best_run, find

    repo = store.repo
    records = store.all()
    if ref == "HEAD":
        head = repo.head()
        tree = repo.tree_of("HEAD") if head else None
        for r in records:
            code = r.get("code") or {}
            if code.get("head") == head or (tree and code.get("tree") == tree):
                return r
        return None
    strategy = find(store, ref)
    if strategy is not None:
        if strategy.run:
            for r in strategy.runs:
                if r["id"] == strategy.run:
                    return r
        best = best_run(strategy.runs)
        return best or (strategy.runs[0] if strategy.runs else None)
    if repo.rev_parse(f"refs/tags/{ref}") is not None:
        commit = repo.rev_parse(f"refs/tags/{ref}^{{commit}}")
        tree = repo.tree_of(commit) if commit else None
        for r in records:
            code = r.get("code") or {}
            if code.get("commit") == commit or (tree and code.get("tree") == tree):
                return r
        return None
    if repo.rev_parse(f"refs/heads/{ref}") is not None:
        mine = [r for r in records if Record(r).branch == ref]
        return best_run(mine) or (mine[0] if mine else None)
    return None
