"""push / pull: branches, tags, run records and strategies through any git remote.

Records (``refs/expctl/runs/*``) and exploration metadata (``refs/expctl/strategies/*``)
only ever move forward (each update's parents include the previous version), so they
are pushed and fetched without force: a record can never be overwritten by an older one.
"""

from __future__ import annotations

from expctl.errors import GitError


def _remote_exists(repo, remote: str) -> None:
    if remote in repo.git("remote").split():
        return
    if "/" in remote or ":" in remote:  # a path or URL
        return
    raise GitError(f"no git remote {remote!r} (add one: git remote add {remote} URL)")


def push(repo, remote: str, all_branches: bool = True) -> str:
    _remote_exists(repo, remote)
    if all_branches:
        specs = ["refs/heads/*:refs/heads/*"]
    else:
        branch = repo.branch()
        specs = [f"refs/heads/{branch}:refs/heads/{branch}"] if branch else []
    specs += ["refs/tags/*:refs/tags/*", "refs/expctl/*:refs/expctl/*"]
    proc = repo.git_proc("push", "--porcelain", remote, *specs)
    out = proc.stdout.decode("utf-8", "replace")
    lines = [line for line in out.splitlines() if line[:1] in ("*", "+", "-", " ", "!", "=") and "\t" in line]
    rejected = [line.split("\t")[1] for line in lines if line.startswith("!")]
    if proc.returncode != 0 and not lines:
        raise GitError("git push failed: " + proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1])
    updated = sum(1 for line in lines if line[:1] in ("*", "+", "-", " "))
    summary = f"{updated} refs updated, {sum(1 for l in lines if l.startswith('='))} up to date"
    if rejected and "shallow update not allowed" in out and repo.is_shallow():
        raise GitError(f"git push rejected {len(rejected)} refs: this clone is shallow and {remote} lacks the "
                       f"history they build on; run `git fetch --unshallow` and push again")
    if rejected:
        raise GitError(f"git push rejected {len(rejected)} refs ({', '.join(r.split(':')[0] for r in rejected[:3])}); "
                       f"pull first (expctl pull {remote}) and push again")
    return summary


def pull(store, remote: str) -> str:
    repo = store.repo
    _remote_exists(repo, remote)
    name = remote if "/" not in remote and ":" not in remote else "expctl-pull"
    specs = [f"+refs/heads/*:refs/remotes/{name}/*", "refs/tags/*:refs/tags/*", "refs/expctl/*:refs/expctl/*"]
    before = set(repo.refs("refs/expctl/runs/"))
    proc = repo.git_proc("fetch", "--no-write-fetch-head", remote, *specs)
    err = proc.stderr.decode("utf-8", "replace")
    rejected = [line for line in err.splitlines() if "[rejected]" in line]
    if proc.returncode != 0 and not rejected:
        raise GitError("git fetch failed: " + (err.strip().splitlines() or ["?"])[-1])
    store._cache = None
    records = store.all()  # warms the records cache
    new = len(set(repo.refs("refs/expctl/runs/")) - before)
    summary = f"{new} new run records, {len(records)} in all"
    if rejected:
        summary += f"; {len(rejected)} refs kept locally because they are newer or diverged"
    return summary
