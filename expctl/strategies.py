"""Strategies on git: main-line tags, exploration branches, and which runs belong to them."""

from __future__ import annotations

from typing import Any

EXPLORE_PREFIX = "explore/"
TAG_RUN_KEY = "expctl-run"


def tag_run_id(repo, tag: str) -> str | None:
    """The run id recorded in an expctl tag's message (``expctl-run: <id>``)."""
    proc = repo.git_proc("cat-file", "-p", f"refs/tags/{tag}")
    if proc.returncode != 0:
        return None
    text = proc.stdout.decode("utf-8", "replace")
    if not text.startswith("object "):
        return None  # lightweight tag: no message
    for line in text.split("\n\n", 1)[-1].splitlines():
        key, _, value = line.partition(":")
        if key.strip() == TAG_RUN_KEY:
            return value.strip()
    return None


def resolve_ref(store, ref: str) -> dict[str, Any] | None:
    """A run from a tag (its recorded run, else the newest run of its commit), a branch
    (its newest run), or HEAD (the newest run of the current code)."""
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
    if repo.rev_parse(f"refs/tags/{ref}") is not None:
        run_id = tag_run_id(repo, ref)
        if run_id:
            for r in records:
                if r["id"] == run_id:
                    return r
        commit = repo.rev_parse(f"refs/tags/{ref}^{{commit}}")
        for r in records:
            if (r.get("code") or {}).get("commit") == commit:
                return r
        return None
    for branch in (ref, EXPLORE_PREFIX + ref):
        if repo.rev_parse(f"refs/heads/{branch}") is not None:
            for r in records:
                if (r.get("code") or {}).get("branch") == branch:
                    return r
    return None
