"""push / pull: run records, tags, explorations and the current branch through any git remote.

What ``push`` sends (docs/reliability.md, "What a push sends"): every run record and
exploration record (``refs/expctl/*``), every tag, the current branch, and the branches of
explorations (``explore/*`` with a record). Other local branches stay local unless
``--all-branches`` asks for them. :func:`plan` compares the local refs with the remote's
(one ``git ls-remote``) so the command can say, before sending, what the remote lacks;
``--dry-run`` stops there.

Records (``refs/expctl/runs/*``) and exploration metadata (``refs/expctl/strategies/*``)
only ever move forward (each update's parents include the previous version), so they
are pushed and fetched without force: a record can never be overwritten by an older one.
When two clones finished the same record differently (a run's own final record, and an
``interrupted`` inferred elsewhere), :func:`reconcile_record` keeps the real one, in a
commit that has both versions as parents, so both sides fast-forward to it.

Concurrent pushes to one remote race for its ref locks; a ref the remote refused while
another push held its lock is retried, and a ref the remote already holds at our value is
up to date, never a reason to "pull first".
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

from expctl.errors import GitError

RUNS = "refs/expctl/runs/"
INCOMING = "refs/expctl-incoming/"
RETRIES = 8


def _remote_exists(repo, remote: str) -> None:
    if remote in repo.remote_names():
        return
    if "/" in remote or ":" in remote:  # a path or URL
        return
    raise GitError(f"no git remote {remote!r} (add one: git remote add {remote} URL)")


@dataclass
class Plan:
    local: dict[str, str]  # ref -> oid that push sends
    remote: dict[str, str]  # ref -> oid the remote has
    missing: dict[str, str] = field(default_factory=dict)  # what the remote lacks (or has older)
    left_out: list[str] = field(default_factory=list)  # local branches not sent


def _branches_to_send(repo, all_branches: bool) -> tuple[list[str], list[str]]:
    heads = sorted(repo.refs("refs/heads/"))
    if all_branches:
        return heads, []
    from expctl.strategies import load_explorations

    wanted = set()
    current = repo.branch()
    if current:
        wanted.add(f"refs/heads/{current}")
    for meta in load_explorations(repo).values():
        if isinstance(meta.get("branch"), str):
            wanted.add(f"refs/heads/{meta['branch']}")
    return [h for h in heads if h in wanted], [h for h in heads if h not in wanted]


def ls_remote(repo, remote: str) -> dict[str, str]:
    return repo.ls_remote(remote)


def plan(repo, remote: str, all_branches: bool = False) -> Plan:
    """What a push would send, and what of it the remote lacks."""
    _remote_exists(repo, remote)
    branches, left_out = _branches_to_send(repo, all_branches)
    local: dict[str, str] = {}
    heads = repo.refs("refs/heads/")
    for ref in branches:
        local[ref] = heads[ref]
    local.update(repo.refs("refs/tags/"))
    local.update(repo.refs("refs/expctl/"))
    remote_refs = ls_remote(repo, remote)
    missing = {ref: oid for ref, oid in local.items() if remote_refs.get(ref) != oid}
    return Plan(local, remote_refs, missing, left_out)


def describe(p: Plan) -> str:
    """One line: what the remote lacks, by kind."""
    runs = [r for r in p.missing if r.startswith(RUNS)]
    strategies = [r for r in p.missing if r.startswith("refs/expctl/strategies/")]
    tags = [r[len("refs/tags/") :] for r in p.missing if r.startswith("refs/tags/")]
    branches = [r[len("refs/heads/") :] for r in p.missing if r.startswith("refs/heads/")]
    other = [r for r in p.missing if r.startswith("refs/expctl/") and r not in runs and r not in strategies]
    parts = []
    if runs:
        parts.append(f"{len(runs)} run record{'s' if len(runs) != 1 else ''}")
    if strategies:
        parts.append(f"{len(strategies)} exploration record{'s' if len(strategies) != 1 else ''}")
    if tags:
        parts.append(f"tag{'s' if len(tags) != 1 else ''} {_short(tags)}")
    if branches:
        parts.append(f"branch{'es' if len(branches) != 1 else ''} {_short(branches)}")
    if other:
        parts.append(f"{len(other)} other expctl refs")
    text = ", ".join(parts) if parts else "nothing (the remote is up to date)"
    if p.left_out:
        names = [b[len("refs/heads/") :] for b in p.left_out]
        text += f"; not sending branch{'es' if len(names) != 1 else ''} {_short(names)} (--all-branches sends them)"
    return text


def _short(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _push_once(repo, remote: str, specs: list[str]) -> tuple[int, list[tuple[str, str, str]], str]:
    returncode, out, err = repo.push(remote, specs)
    lines = []
    for line in out.splitlines():
        if line[:1] in ("*", "+", "-", " ", "!", "=") and "\t" in line:
            parts = line.split("\t")
            if len(parts) >= 3:
                lines.append((parts[0], parts[1].split(":")[-1], parts[2]))
    return returncode, lines, out + err


def push(store_or_repo, remote: str, all_branches: bool = False, the_plan: Plan | None = None) -> str:
    """Push what :func:`plan` lists; returns a one-line summary."""
    store = store_or_repo if hasattr(store_or_repo, "repo") else None
    repo = store.repo if store is not None else store_or_repo
    p = the_plan or plan(repo, remote, all_branches)
    from expctl.removal import push_specs

    deletions = push_specs(repo, p.remote)  # records `expctl rm` deleted here go on the remote too
    if not p.missing and not deletions:
        return f"0 refs updated, {len(p.local)} up to date"
    branches = [r for r in p.local if r.startswith("refs/heads/")]
    specs = [f"{r}:{r}" for r in branches] + ["refs/tags/*:refs/tags/*", "refs/expctl/*:refs/expctl/*", *deletions]
    updated: set[str] = set()
    reconciled = 0
    for attempt in range(RETRIES):
        rc, lines, raw = _push_once(repo, remote, specs)
        if rc != 0 and not lines:
            tail = raw.strip().splitlines()
            raise GitError("git push failed: " + (tail[-1] if tail else "?"))
        updated |= {dst for flag, dst, _ in lines if flag in ("*", "+", "-", " ")}
        rejected = [(dst, summary) for flag, dst, summary in lines if flag == "!"]
        if not rejected:
            break
        if "shallow update not allowed" in raw and repo.is_shallow():
            raise GitError(
                f"git push rejected {len(rejected)} refs: this clone is shallow and {remote} lacks the "
                f"history they build on; run `git fetch --unshallow` and push again"
            )
        now = ls_remote(repo, remote)
        local_now = {**repo.refs("refs/tags/"), **repo.refs("refs/expctl/"), **repo.refs("refs/heads/")}
        pending = [(dst, s) for dst, s in rejected if now.get(dst) != local_now.get(dst)]
        if not pending:  # another push sent the same values meanwhile: up to date
            break
        diverged = [dst for dst, s in pending if "remote rejected" not in s and dst.startswith(RUNS)]
        if diverged and store is not None:
            for dst in diverged:
                if reconcile_record(store, remote, dst):
                    reconciled += 1
        hard = [dst for dst, s in pending if "remote rejected" not in s and not dst.startswith(RUNS)]
        if hard or (diverged and store is None) or attempt == RETRIES - 1:
            names = hard or [dst for dst, _ in pending]
            raise GitError(
                f"git push rejected {len(names)} refs ({', '.join(names[:3])}): {remote} has other "
                f"versions of them; pull first (expctl pull {remote}) and push again"
            )
        time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # another push holds the remote's locks
    summary = f"{len(updated)} refs updated, {len(p.local) - len(updated)} up to date"
    if reconciled:
        summary += f", {reconciled} run records reconciled with the remote's"
    return summary


# ------------------------------------------------------------ record reconciliation
def _rank(record: dict | None) -> int:
    """running < finished by inference (another process saw it dead) < its own final record."""
    if not isinstance(record, dict):
        return -1
    if record.get("status") == "running":
        return 0
    return 1 if record.get("inferred") else 2


def _record_at(repo, oid: str) -> dict | None:
    blob = repo.cat_blob(f"{oid}:record.json")
    try:
        value = json.loads(blob) if blob else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def reconcile_record(store, remote: str, ref: str, remote_oid: str | None = None) -> bool:
    """Two versions of one run's record (local and the remote's): keep the better one (a
    run's own final record beats an inferred ``interrupted``; a tie keeps the local one) in
    a commit whose parents include both, so that both fast-forward. Returns True when the
    local ref moved."""
    repo = store.repo
    incoming = INCOMING + ref[len("refs/expctl/") :]
    if remote_oid is None:
        returncode, _ = repo.fetch(remote, [f"+{ref}:{incoming}"], quiet=True)
        if returncode != 0:
            return False
        remote_oid = repo.rev_parse(incoming)
    try:
        local_oid = repo.rev_parse(ref)
        if remote_oid is None or local_oid == remote_oid:
            return False
        if local_oid is None or repo.is_ancestor(local_oid, remote_oid):
            repo.update_ref(ref, remote_oid, local_oid or "0" * len(remote_oid), reason="expctl pull")
            return True
        if repo.is_ancestor(remote_oid, local_oid):
            return False  # the remote's is older: a plain push fast-forwards it
        mine, theirs = _record_at(repo, local_oid), _record_at(repo, remote_oid)
        winner_oid = remote_oid if _rank(theirs) > _rank(mine) else local_oid
        winner = theirs if winner_oid == remote_oid else mine
        parents = repo.commit_parents(winner_oid)
        code = parents[0] if parents else None
        tree = repo.tree_of(winner_oid)
        status = (winner or {}).get("status")
        merged = repo.write_commit(
            tree, [code, local_oid, remote_oid], f"expctl run {ref[len(RUNS) :]}: {status} (reconciled)\n"
        )
        repo.update_ref(ref, merged, local_oid, reason="expctl reconcile")
        store.invalidate()
        return True
    finally:
        if incoming and repo.rev_parse(incoming):
            repo.delete_ref(incoming, check=False)


def pull(store, remote: str) -> str:
    repo = store.repo
    _remote_exists(repo, remote)
    name = remote if "/" not in remote and ":" not in remote else "expctl-pull"
    specs = [f"+refs/heads/*:refs/remotes/{name}/*", "refs/tags/*:refs/tags/*", "refs/expctl/*:refs/expctl/*"]
    before = set(repo.refs(RUNS))
    returncode, err = repo.fetch(remote, specs)
    rejected = [line for line in err.splitlines() if "[rejected]" in line]
    if returncode != 0 and not rejected:
        raise GitError("git fetch failed: " + (err.strip().splitlines() or ["?"])[-1])
    kept = 0
    reconciled = 0
    for line in rejected:
        dst = line.split("->")[-1].split()[0] if "->" in line else ""
        if dst.startswith(RUNS) and reconcile_record(store, remote, dst):
            reconciled += 1
        else:
            kept += 1
    from expctl.removal import apply_tombstones

    apply_tombstones(store)  # a record deleted (here or in another clone) never comes back
    store.invalidate()
    from expctl import recordindex

    records = recordindex.summaries(store)  # brings the local records index up to date (only the new records are read)
    new = len(set(repo.refs(RUNS)) - before)
    summary = f"{new} new run records, {len(records)} in all"
    if reconciled:
        summary += f"; {reconciled} run records reconciled (a run's own final record wins)"
    if kept:
        summary += f"; {kept} refs kept locally because they are newer or diverged"
    return summary
