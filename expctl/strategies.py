"""Strategies on git: main-line tags, exploration branches, and which runs belong to them.

- A **main-line strategy** is an annotated tag made by ``expctl tag``; its message carries
  the run id, stage, headline metrics and settings in ``key: value`` lines.
- An **exploration** is a branch ``explore/NAME``; its metadata (base, main-line branch,
  status open / promoted / abandoned, verdict) lives in ``refs/expctl/strategies/NAME``
  (a small commit chain, pushed and pulled with the records).

Which runs belong to a strategy is decided in one place, expctl.membership: a tag's runs
ran its code, settings and data (its own run is the reference); an exploration's ran on
its branch. This survives rebases and squash-merges because it never depends on the
branch's history.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from expctl.errors import GitError, NotFoundError, RefusedError, UsageError
from expctl.fingerprint import settings_key
from expctl.gitlayer import check_ref_name
from expctl.record import Record
from expctl.refs import resolve_run
from expctl.stats import mean_std

EXPLORE_PREFIX = "explore/"
TAG_RUN_KEY = "expctl-run"
STRATEGY_REF = "refs/expctl/strategies/"


# ------------------------------------------------------------------------- tags
def list_tags(repo) -> list[dict[str, Any]]:
    """Every annotated tag made by expctl, oldest first, parsed from one for-each-ref call."""
    fmt = "%(refname:strip=2)%1f%(objecttype)%1f%(*objectname)%1f%(*tree)%1f%(taggerdate:unix)%1f%(contents)%1e"
    out = repo.format_refs("refs/tags", fmt)
    tags = []
    for item in out.split("\x1e"):
        item = item.lstrip("\n")
        if not item:
            continue
        parts = item.split("\x1f")
        if len(parts) != 6 or parts[1] != "tag":
            continue
        fields = parse_tag_message(parts[5])
        if TAG_RUN_KEY not in fields:
            continue
        tags.append(
            {
                "name": parts[0],
                "commit": parts[2],
                "tree": parts[3],
                "date": int(parts[4]) if parts[4].strip().isdigit() else 0,
                "fields": fields,
                "run": fields.get(TAG_RUN_KEY),
            }
        )
    tags.sort(key=lambda t: (t["date"], t["name"]))
    return tags


def parse_tag_message(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        if line.startswith("expctl-") and ":" in line:
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def check_refusal(record: dict[str, Any]) -> str | None:
    """Why a run may not define a strategy without --force: its stage check failed."""
    check = record.get("check") or {}
    if check and not check.get("passed"):
        return (
            f"its {check.get('check')} check failed ({'; '.join(check.get('reasons') or []) or 'no reason recorded'})"
        )
    return None


def tag_message(name: str, record: dict[str, Any], note: str = "", forced: str | None = None) -> str:
    from expctl.settings import flatten

    final = Record(record).final
    pm = record.get("primary_metric")
    headline = {k: v for k, v in final.items() if k == pm or k.startswith("eval_")} or dict(final)
    settings = {k: v for k, v in flatten(Record(record).settings).items() if not isinstance(v, dict)}
    lines = [f"Strategy {name}", ""]
    if note:
        lines += [note, ""]
    lines += [
        f"{TAG_RUN_KEY}: {record['id']}",
        f"expctl-stage: {record.get('stage') or ''}",
        f"expctl-primary: {pm}={final.get(pm)}" if pm else "expctl-primary:",
        "expctl-metrics: " + json.dumps(headline, sort_keys=True, ensure_ascii=False),
        "expctl-settings: " + json.dumps(settings, sort_keys=True, ensure_ascii=False),
        f"expctl-code: {Record(record).commit}",
    ]
    if forced:
        lines.append(f"expctl-forced: {forced}")
    return "\n".join(lines) + "\n"


def tag_run_id(repo, tag: str) -> str | None:
    for t in list_tags(repo):
        if t["name"] == tag:
            return t["run"]
    return None


# ----------------------------------------------------------------- explorations
def load_explorations(repo) -> dict[str, dict[str, Any]]:
    refs = repo.refs(STRATEGY_REF)
    names = sorted(refs)
    blobs = repo.cat_blobs([f"{refs[n]}:strategy.json" for n in names])
    out = {}
    for _ref, blob in zip(names, blobs):
        if blob is None:
            continue
        try:
            meta = json.loads(blob)
        except ValueError:
            continue
        if isinstance(meta, dict) and meta.get("name"):
            out[meta["name"]] = meta
    return out


def save_exploration(repo, meta: dict[str, Any]) -> None:
    ref = STRATEGY_REF + meta["name"]
    previous = repo.rev_parse(ref)
    tree = repo.write_tree(
        {"strategy.json": json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"}
    )
    commit = repo.write_commit(tree, [previous], f"expctl strategy {meta['name']}: {meta['status']}\n")
    repo.update_ref(ref, commit, previous or "0" * len(commit), reason=f"expctl strategy {meta['status']}")


# ------------------------------------------------------------------- membership
@dataclass
class Strategy:
    name: str
    kind: str  # "tag" | "explore"
    status: str  # "main" | "open" | "promoted" | "abandoned"
    commit: str | None = None
    tree: str | None = None
    date: float = 0.0
    run: str | None = None  # the run a tag names
    meta: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)


def collect(store, cfg=None, records: list[dict[str, Any]] | None = None) -> list[Strategy]:
    """Main-line tags (oldest first), then explorations (oldest first), with their runs
    (by the one membership rule of expctl.membership) among ``records`` (default: all)."""
    from expctl import membership

    repo = store.repo
    if cfg is None:
        cfg = _config_of(store)
    index = membership.Index(store.all() if records is None else records, membership.StageValues.from_config(cfg))
    out = []
    for t in list_tags(repo):
        out.append(
            Strategy(
                t["name"], "tag", "main", t["commit"], t["tree"], t["date"], t["run"], t["fields"], index.tag_members(t)
            )
        )
    explorations = load_explorations(repo)
    for name, meta in sorted(explorations.items(), key=lambda kv: kv[1].get("created", 0)):
        branch = meta.get("branch", EXPLORE_PREFIX + name)
        commit = repo.rev_parse(f"refs/heads/{branch}")
        out.append(
            Strategy(
                name,
                "explore",
                meta.get("status", "open"),
                commit,
                None,
                meta.get("created", 0),
                None,
                meta,
                index.branch_members(branch),
            )
        )
    return out


def _config_of(store):
    """The project's configuration (for the stage values membership sets aside), or None."""
    from expctl import config as config_mod
    from expctl.errors import ExpctlError

    try:
        return config_mod.load(store.root)
    except ExpctlError:
        return None


def find(store, name: str, records: list[dict[str, Any]] | None = None) -> Strategy | None:
    for s in collect(store, records=records):
        if s.name == name or (s.kind == "explore" and EXPLORE_PREFIX + s.name == name):
            return s
    return None


# ----------------------------------------------------------------- aggregation
def primary_value(record: dict[str, Any], metric: str | None = None) -> float | None:
    metric = metric or record.get("primary_metric")
    if not metric:
        return None
    if "_pmv" in record and metric == record.get("primary_metric"):
        value = record["_pmv"]  # a light record (expctl.recordindex.light_listing): only this final value
    else:
        value = Record(record).final.get(metric)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class Group:
    """Runs of one strategy with the same stage and settings, differing only by seed.

    The statistics count distinct seeds only: the first run of each seed is in them; a later
    run with a seed already seen (``reproduce``, or any rerun) is a reproduction, listed
    beside them. ``metric_means`` aggregates every final metric over the same runs."""

    runs: list[dict[str, Any]]
    mean: float | None
    std: float | None
    n: int
    reproductions: list[dict[str, Any]] = field(default_factory=list)
    metric_means: dict[str, float] = field(default_factory=dict)

    @property
    def representative(self) -> dict[str, Any]:
        return self.runs[0]


def run_seed(record: dict[str, Any]) -> Any:
    """The run's seed (the ``seed`` setting), or None when it has none."""
    settings = record.get("settings") or {}
    return settings.get("seed") if isinstance(settings, dict) else None


def seed_split(members: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one run per distinct seed, the reproductions), oldest run of a seed first."""
    distinct, repro, seen = [], [], set()
    for r in sorted(members, key=lambda r: (r.get("started", ""), r.get("started_unix") or 0, r["id"])):
        seed = run_seed(r)
        key = _seed_text(seed) if seed is not None else None
        if key is not None and key in seen:
            repro.append(r)
            continue
        if key is not None:
            seen.add(key)
        distinct.append(r)
    return distinct, repro


def _seed_text(seed: Any) -> str:
    """The seed as JSON (how seeds are told apart), memoised for the usual plain seeds."""
    if type(seed) not in (int, str):
        return json.dumps(seed, sort_keys=True, default=str)
    memo = (type(seed), seed)
    text = _SEED_TEXT.get(memo)
    if text is None:
        text = _SEED_TEXT[memo] = json.dumps(seed, sort_keys=True, default=str)
    return text


_SEED_TEXT: dict[tuple, str] = {}


def make_group(members: list[dict[str, Any]], metric: str | None) -> Group:
    members = sorted(members, key=lambda r: r.get("started", ""), reverse=True)
    distinct, repro = seed_split(members)
    values = [v for v in (primary_value(r, metric) for r in distinct) if v is not None]
    mean, std = mean_std(values)
    sums: dict[str, list[float]] = {}
    for r in distinct:
        for k, v in Record(r).final.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                sums.setdefault(k, []).append(float(v))
    means = {k: sum(vs) / len(vs) for k, vs in sums.items()}
    return Group(members, mean, std, len(values), repro, means)


def make_groups(runs: Iterable[dict[str, Any]], metric: str | None) -> list[Group]:
    buckets: dict[tuple, list] = {}
    for r in runs:
        buckets.setdefault((r.get("stage") or "", settings_key(r)), []).append(r)
    return [make_group(members, metric) for members in buckets.values()]


def stage_rank(stage: str | None, order: list[str]) -> int:
    return order.index(stage) if stage in order else -1


def best_group(
    runs: list[dict[str, Any]],
    metric: str | None,
    direction: str,
    stage_order: list[str] | None = None,
    stage: str | None = None,
    whole: Callable[[list[dict[str, Any]], list[dict[str, Any]]], Group] | None = None,
) -> Group | None:
    """The best seed group: among succeeded runs, at ``stage`` or else the furthest stage reached.

    ``whole(members, needed)``: the runs are light records (expctl.recordindex.light_listing);
    it makes the chosen group of ``members`` once the ``needed`` ones (its representative and
    distinct seeds: what its table row reads) are read whole."""
    if whole is not None and runs and all("_combo" in r for r in runs):
        return _best_light_group(runs, metric, direction, stage_order, stage, whole)
    ok = [r for r in runs if r.get("status") == "succeeded"]
    if stage:
        ok = [r for r in ok if r.get("stage") == stage]
    if not ok:
        return None
    if stage_order and not stage:
        top = max(stage_rank(r.get("stage"), stage_order) for r in ok)
        ok = [r for r in ok if stage_rank(r.get("stage"), stage_order) == top]
    groups = make_groups(ok, metric)
    scored = [g for g in groups if g.mean is not None]
    if not scored:
        return groups[0]
    sign = -1 if direction == "min" else 1
    return max(scored, key=lambda g: (sign * g.mean, g.n))


def _oldest_key(r: dict[str, Any]) -> tuple:
    return (r.get("started", ""), r.get("started_unix") or 0, r["id"])


def _best_light_group(
    runs: list[dict[str, Any]],
    metric: str | None,
    direction: str,
    stage_order: list[str] | None,
    stage: str | None,
    whole: Callable[[list[dict[str, Any]], list[dict[str, Any]]], Group],
) -> Group | None:
    """best_group of light records, decided per combination (``_combo``: the records of one
    share status, stage, settings and seed): the same choice, without grouping every record."""
    combos: dict[int, list[dict[str, Any]]] = {}
    for r in runs:
        combos.setdefault(r["_combo"], []).append(r)
    ok = [m for m in combos.values() if m[0].get("status") == "succeeded"]
    if stage:
        ok = [m for m in ok if m[0].get("stage") == stage]
    if not ok:
        return None
    if stage_order and not stage:
        top = max(stage_rank(m[0].get("stage"), stage_order) for m in ok)
        ok = [m for m in ok if stage_rank(m[0].get("stage"), stage_order) == top]
    buckets: dict[tuple, list[list[dict[str, Any]]]] = {}
    for m in ok:  # in the order of each combination's first run: the order make_groups meets them
        buckets.setdefault((m[0].get("stage") or "", settings_key(m[0])), []).append(m)

    def members(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        wanted = {m[0]["_combo"] for m in parts}
        return [r for r in runs if r["_combo"] in wanted]

    scores = []  # (mean, n) per bucket, as make_group computes them
    seeds: list[list[dict[str, Any]]] = []  # the distinct seeds' runs of each bucket
    for parts in buckets.values():
        if any(run_seed(m[0]) is None for m in parts):  # every run is a seed of its own
            g = make_group(members(parts), metric)
            scores.append((g.mean, g.n))
            seeds.append(g.runs)
            continue
        first: dict[str, dict[str, Any]] = {}  # seed -> its oldest run
        for m in parts:
            oldest = min(m, key=_oldest_key)
            seed = _seed_text(run_seed(m[0]))
            if seed not in first or _oldest_key(oldest) < _oldest_key(first[seed]):
                first[seed] = oldest
        distinct = sorted(first.values(), key=_oldest_key)
        values = [v for v in (primary_value(r, metric) for r in distinct) if v is not None]
        mean, _ = mean_std(values)
        scores.append((mean, len(values)))
        seeds.append(distinct)
    chosen = 0
    scored = [(s, i) for i, s in enumerate(scores) if s[0] is not None]
    if scored:
        sign = -1 if direction == "min" else 1
        chosen = max(scored, key=lambda si: (sign * si[0][0], si[0][1]))[1]
    runs_of = members(list(buckets.values())[chosen])
    newest = sorted(runs_of, key=lambda r: r.get("started", ""), reverse=True)[0]  # make_group's representative
    return whole(runs_of, [newest, *seeds[chosen]])


def best_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not runs:
        return None
    metric = runs[0].get("primary_metric")
    direction = runs[0].get("direction") or "max"
    group = best_group(runs, metric, direction)
    if group is None:
        return None
    sign = -1 if direction == "min" else 1
    scored = [r for r in group.runs if primary_value(r, metric) is not None]
    return max(scored, key=lambda r: sign * primary_value(r, metric)) if scored else group.representative


def within_noise(a: Group, b: Group) -> bool | None:
    """Is the difference of two groups' means within seed noise (2 standard errors)?
    None when neither side has two seeds (noise unknown)."""
    if a.mean is None or b.mean is None:
        return None
    if a.n < 2 and b.n < 2:
        return None
    sa = a.std if a.std is not None else b.std
    sb = b.std if b.std is not None else a.std
    se = math.sqrt(sa**2 / max(a.n, 1) + sb**2 / max(b.n, 1))
    return abs(a.mean - b.mean) <= 2 * se


# ---------------------------------------------------------------- operations
def ensure_clean(repo, action: str) -> None:
    if repo.has_tracked_changes():
        raise RefusedError(
            f"cannot {action}: the work tree has uncommitted changes to tracked files; commit or stash them first"
        )


def _ident_env(repo) -> dict[str, str] | None:
    """Fallback identity for tags and merges when git has none configured."""
    if repo.has_committer_identity():
        return None
    return {
        "GIT_COMMITTER_NAME": "expctl",
        "GIT_COMMITTER_EMAIL": "expctl@localhost",
        "GIT_AUTHOR_NAME": "expctl",
        "GIT_AUTHOR_EMAIL": "expctl@localhost",
    }


def create_tag(
    store, name: str, run_ref: str | None, force: bool = False, note: str = "", allow_explore: bool = False
) -> tuple[dict[str, Any], str]:
    """Tag a main-line strategy at the exact code of a run; returns (record, commit)."""
    repo = store.repo
    check_ref_name("tag", name)
    branch = repo.branch()
    if branch and branch.startswith(EXPLORE_PREFIX) and not allow_explore:
        raise RefusedError(
            f"on exploration branch {branch}: main-line tags are made by "
            f"`expctl promote {branch[len(EXPLORE_PREFIX) :]}` (it merges, then tags)"
        )
    if run_ref:
        record = resolve_run(store, run_ref)
    else:
        head = repo.head()
        record = next(
            (r for r in store.all() if r.get("status") == "succeeded" and Record(r).head == head),
            None,
        )
        if record is None:
            raise NotFoundError("no succeeded run on the current HEAD to tag; run one first or name a RUN")
    if record.get("status") != "succeeded":
        raise RefusedError(f"run {record['id']} is {record.get('status')}; only succeeded runs can be tagged")
    forced = check_refusal(record)
    if forced and not force:
        raise RefusedError(
            f"run {record['id']} cannot define strategy {name!r}: {forced}; "
            f"fix it, or tag anyway with --force (recorded in the tag)"
        )
    commit = Record(record).commit
    if not commit:
        raise RefusedError(f"run {record['id']} has no recorded code commit")
    exists = repo.rev_parse(f"refs/tags/{name}") is not None
    if exists and not force:
        raise RefusedError(f"tag {name!r} exists; use --force to move it")
    repo.create_tag(name, commit, tag_message(name, record, note, forced), force=force, identity=_ident_env(repo))
    store.invalidate()
    return record, commit


def explore(store, name: str, base: str | None = None) -> dict[str, Any]:
    repo = store.repo
    if not name or name.startswith("-"):
        raise UsageError(f"invalid exploration name {name!r}: it may not start with '-'")
    branch = EXPLORE_PREFIX + name
    check_ref_name("branch", branch)
    if repo.rev_parse(f"refs/heads/{branch}") is not None:
        raise RefusedError(f"exploration {name!r} exists (branch {branch}); `git switch {branch}` to continue it")
    current = repo.branch()
    if current and current.startswith(EXPLORE_PREFIX):
        main_branch = (load_explorations(repo).get(current[len(EXPLORE_PREFIX) :]) or {}).get("base_branch", current)
    else:
        main_branch = current
    if base:
        if repo.rev_parse(f"refs/tags/{base}") is not None:
            start = repo.rev_parse(f"refs/tags/{base}^{{commit}}")
        elif repo.rev_parse(f"refs/heads/{base}") is not None:
            start = repo.rev_parse(f"refs/heads/{base}")
        else:
            start = Record(resolve_run(store, base)).commit
        base_name = base
    else:
        start = repo.head()
        tags = [t for t in list_tags(repo) if t["commit"] == start]
        base_name = tags[-1]["name"] if tags else (current or "HEAD")
    if not start:
        raise NotFoundError("nothing to branch from: the repository has no commits yet")
    if start != repo.head():
        ensure_clean(repo, f"switch to a new branch at {base}")
    try:
        repo.switch(branch, create_at=start)
    except GitError as exc:
        if repo.rev_parse(f"refs/heads/{branch}") is not None and repo.branch() != branch:
            repo.delete_branch(branch)
        raise GitError(f"cannot switch to the new branch: {exc}") from None
    meta = {
        "name": name,
        "branch": branch,
        "base": base_name,
        "base_commit": start,
        "base_branch": main_branch,
        "status": "open",
        "created": time.time(),
        "why": None,
        "promoted_tag": None,
    }
    save_exploration(repo, meta)
    return meta


def _exploration(repo, name: str) -> dict[str, Any]:
    name = name.removeprefix(EXPLORE_PREFIX)
    meta = load_explorations(repo).get(name)
    if meta is None:
        raise NotFoundError(f"no exploration {name!r} (see `expctl strategies`)")
    return meta


def promote(
    store, name: str, tag: str | None = None, run_ref: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Merge explore/NAME into its main-line branch and tag the merge with the best run.

    The merge is computed first with ``git merge-tree`` (objects only): on a conflict
    nothing at all changes — HEAD, index, work tree and refs stay exactly as they were.
    """
    repo = store.repo
    meta = _exploration(repo, name)
    if meta.get("status") == "promoted":
        raise RefusedError(f"exploration {meta['name']} is already promoted (tag {meta.get('promoted_tag')})")
    if meta.get("status") == "abandoned" and not force:
        raise RefusedError(
            f"exploration {meta['name']} was abandoned ({meta.get('why')}); "
            f"promote it anyway with --force (the verdict is kept)"
        )
    tag = tag or meta["name"]
    check_ref_name("tag", tag)
    if repo.rev_parse(f"refs/tags/{tag}") is not None and not force:
        raise RefusedError(f"tag {tag!r} exists; choose another with --tag or use --force")
    target = meta.get("base_branch")
    if not target or repo.rev_parse(f"refs/heads/{target}") is None:
        raise NotFoundError(f"main-line branch {target!r} of exploration {meta['name']} does not exist")
    branch = meta["branch"]
    strategy = find(store, meta["name"])
    runs = strategy.runs if strategy else []
    record = resolve_run(store, run_ref) if run_ref else best_run([r for r in runs if not check_refusal(r)] or runs)
    if record is None or record.get("status") != "succeeded":
        raise RefusedError(f"exploration {meta['name']} has no succeeded run to promote; run it first")
    forced = check_refusal(record)
    if forced and not force:
        raise RefusedError(
            f"run {record['id']} cannot define strategy {tag!r}: {forced}; "
            f"choose another with --run, or --force (recorded in the tag)"
        )
    if meta.get("status") == "abandoned":
        forced = "; ".join(x for x in (forced, f"exploration was abandoned: {meta.get('why')}") if x)
    ensure_clean(repo, "promote")
    files = repo.merge_preview(target, branch)
    if files is not None:
        raise GitError(
            f"promoting {meta['name']} into {target} conflicts in {', '.join(files) or 'some files'}; "
            f"nothing was changed. Merge {target} into {branch} and resolve, then promote again"
        )
    original = repo.branch()
    if original != target:
        try:
            repo.switch(target)
        except GitError as exc:
            raise GitError(f"cannot switch to {target}: {exc}") from None
    try:
        repo.merge_no_ff(branch, f"Promote exploration {meta['name']} (expctl)", identity=_ident_env(repo))
    except GitError as exc:
        if original and original != target:
            try:
                repo.switch(original)
            except GitError:
                pass
        raise GitError(f"merge failed: {exc}") from None
    merged = repo.head()
    message = tag_message(tag, record, f"Promoted from exploration {meta['name']} (branch {branch}).", forced)
    repo.create_tag(tag, merged, message, force=force, identity=_ident_env(repo))
    if meta.get("status") == "abandoned":  # promoted with --force: the verdict stays on record
        meta["abandoned_why"] = meta.get("why")
    meta.update(
        {
            "status": "promoted",
            "promoted_tag": tag,
            "promoted": time.time(),
            "promoted_run": record["id"],
            "merge_commit": merged,
        }
    )
    save_exploration(repo, meta)
    store.invalidate()
    return {"meta": meta, "record": record, "merge": merged, "tag": tag}


def abandon(store, name: str, why: str) -> dict[str, Any]:
    repo = store.repo
    if not why.strip():
        raise UsageError("say why (--why TEXT): the verdict is the point of abandoning")
    meta = _exploration(repo, name)
    meta.update({"status": "abandoned", "why": why.strip(), "abandoned": time.time()})
    save_exploration(repo, meta)
    switched = None
    if repo.branch() == meta["branch"] and meta.get("base_branch"):
        if not repo.has_tracked_changes():
            try:
                repo.switch(meta["base_branch"])
                switched = meta["base_branch"]
            except GitError:
                pass
    return {"meta": meta, "switched": switched}
