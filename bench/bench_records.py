"""`expctl runs`, `runs -n 20` and `compare` over 1,000 to 100,000 run records, and push/pull
of records, each call a fresh `expctl` process (issue 21; issue 13's targets too).

Records are generated fast: every object through one `git fast-import` stream (a blob, a
tree and a record commit per run, parented on one of ten tagged strategy commits), the refs
packed, then indexed the way `expctl pull` indexes what it fetched (timed: *index build*).
For each size:

- *first*: the first call after that; *warm*: the median of further calls;
- *after a new record*: one record added (as *more_records* adds them, one fast-import),
  then the first call (the index is completed with that one record), for `runs` and
  `compare` in turn (so `compare` finds two records beyond the base index);
- *cold*: the records index deleted (the call rebuilds it from git, packed objects);
- *cold, loose*: index deleted and every object loose (sizes up to --loose-max);
- push of every record to an empty bare remote, then of 100 new ones; pull of every record
  into a fresh clone, then of 100 new ones (sizes up to --sync-max).

The anchor is a Python process that reads the same number of small JSON files and prints a
table. Every process runs with bytecode caching on (PYTHONDONTWRITEBYTECODE unset), as an
installed expctl does. The last output is a markdown table for docs/benchmarks.md.

    python bench/bench_records.py [--sizes 1000,10000,100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sh(args, cwd, env, **kw):
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, **kw)


def timed(args, cwd, env) -> float:
    t = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def make_record(i: int, t0: float, commit: str, k: int, rng: random.Random) -> dict:
    ts = t0 + i * 60
    rid = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ts)) + "-" + f"{i:06d}"[-6:]
    acc = 0.70 + 0.01 * k + rng.gauss(0, 0.01)
    return {
        "schema": 1,
        "id": rid,
        "name": None,
        "stage": "small" if i < 10 else rng.choice(["smoke", "small", "small"]),
        "status": "succeeded",
        "started": iso(ts),
        "started_unix": ts,
        "ended": iso(ts + 30),
        "duration_s": 30.0,
        "exit_code": 0,
        "command": ["python3", "train.py"],
        "settings": {
            "lr": rng.choice([1e-5, 3e-5, 1e-4]),
            "seed": rng.randrange(3),
            "epochs": 3,
            "batch_size": 32,
            "max_train_samples": 20000,
            "model": {"hidden": 128, "layers": 2},
        },
        "code": {"commit": commit, "tree": None, "head": commit, "branch": "main", "dirty": False, "snapshot": False},
        "data": {"data/train.tsv": {"kind": "file", "size": 123456, "fingerprint": "blake2b:" + "0" * 32}},
        "env": {"host": "bench", "python": "3.11", "packages": {"torch": "2.13.0"}, "gpus": [], "world_size": 1},
        "metrics": {
            "final": {"eval_accuracy": acc, "eval_f1_macro": acc - 0.02, "eval_loss": 1 - acc, "train_loss": 0.1},
            "best": {"eval_accuracy": acc},
            "events": 40,
        },
        "primary_metric": "eval_accuracy",
        "direction": "max",
        "check": {"check": "metrics", "passed": True, "reasons": []},
        "checkpoints": None,
        "process": {"host": "bench", "pid": 1, "start": None},
    }


def import_records(repo_dir: Path, env: dict, records: list[tuple[dict, str]]) -> None:
    """Objects and refs of many records through one `git fast-import` stream."""
    out = bytearray()
    for mark, (record, code) in enumerate(records, 1):
        blob = json.dumps(record, indent=2, sort_keys=True).encode() + b"\n"
        msg = f"expctl run {record['id']}: {record['status']}\n".encode()
        when = int(time.time())
        out += b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(blob), blob)
        out += (
            b"commit refs/expctl/runs/%s\nauthor expctl <expctl@localhost> %d +0000\n"
            b"committer expctl <expctl@localhost> %d +0000\ndata %d\n%s\nfrom %s\ndeleteall\n"
            b"M 100644 :%d record.json\n\n"
        ) % (record["id"].encode(), when, when, len(msg), msg, code.encode(), mark)
    sh(["git", "fast-import", "--quiet", "--force"], repo_dir, env, input=bytes(out))
    sh(["git", "pack-refs", "--all"], repo_dir, env)


def make_repo(root: Path, n: int, env: dict, name: str | None = None) -> tuple[Path, list[str]]:
    repo_dir = root / (name or f"repo{n}")
    repo_dir.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo_dir, env)
    (repo_dir / "train.py").write_text("print('x')\n")
    sh(["expctl", "init", "--command", "python3 train.py"], repo_dir, env)
    sh(["git", "add", "-A"], repo_dir, env)
    sh(["git", "commit", "-qm", "init"], repo_dir, env)
    commits = []
    for k in range(10):  # ten strategies on the main line, each tagged below
        (repo_dir / "train.py").write_text(f"print('strategy {k}')\n")
        sh(["git", "commit", "-qam", f"strategy {k}"], repo_dir, env)
        commits.append(sh(["git", "rev-parse", "HEAD"], repo_dir, env).stdout.decode().strip())
    rng = random.Random(n)
    t0 = time.time() - (n + 200) * 60
    items = [(make_record(i, t0, commits[i % 10], i % 10, rng), commits[i % 10]) for i in range(n)]
    import_records(repo_dir, env, items)
    for k, commit in enumerate(commits):
        msg = f"Strategy s{k}\n\nexpctl-run: {items[k][0]['id']}\nexpctl-stage: {items[k][0]['stage']}\n"
        sh(["git", "tag", "-a", f"s{k}", commit, "-F", "-"], repo_dir, env, input=msg.encode())
    return repo_dir, commits


def more_records(repo_dir: Path, env: dict, commits: list[str], start: int, count: int) -> None:
    rng = random.Random(start)
    t0 = time.time() - 100 * 60
    items = [(make_record(start + i, t0, commits[i % 10], i % 10, rng), commits[i % 10]) for i in range(count)]
    import_records(repo_dir, env, items)


def index_file(repo_dir: Path) -> Path:
    return repo_dir / ".git" / "expctl" / "index.v1"


def anchor(root: Path, n: int, env: dict) -> float:
    folder = root / f"json{n}"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.json").write_text(json.dumps({"id": i, "acc": random.random(), "lr": 3e-5, "stage": "small"}))
    code = (
        "import json,os,sys; from tabulate import tabulate; d=sys.argv[1]; "
        "rows=[json.load(open(os.path.join(d,f))) for f in os.listdir(d)]; "
        "print(tabulate([[r['id'],r['stage'],r['lr'],r['acc']] for r in rows]))"
    )
    t = statistics.median(timed([sys.executable, "-c", code, str(folder)], root, env) for _ in range(3))
    shutil.rmtree(folder)
    return t


CALLS = {"runs": ["runs"], "runs_n20": ["runs", "-n", "20"], "compare": ["compare"]}
AFTER_NEW = ("runs", "compare")  # the first call after one new record (issue 21: incremental index)


def measure_size(tmp: Path, n: int, env: dict, warm_calls: int, loose_max: int, sync_max: int) -> dict:
    row: dict = {"records": n}
    t = time.perf_counter()
    repo, commits = make_repo(tmp, n, env)
    row["generate_s"] = time.perf_counter() - t
    row["index_build_s"] = timed(["expctl", "runs", "--status", "running"], repo, env)  # what pull does after a fetch
    row["anchor_json_files_s"] = anchor(tmp, n, env)
    for name, args in CALLS.items():
        row[f"{name}_first_s"] = timed(["expctl", *args], repo, env)
        row[f"{name}_warm_s"] = statistics.median(timed(["expctl", *args], repo, env) for _ in range(warm_calls))
    added = 0
    for name in AFTER_NEW:
        more_records(repo, env, commits, n + 1000 + added, 1)  # ids of their own: a start no other record has
        added += 1
        row[f"{name}_after_new_s"] = timed(["expctl", *CALLS[name]], repo, env)
        row[f"{name}_after_new_next_s"] = timed(["expctl", *CALLS[name]], repo, env)
    for name, args in CALLS.items():
        index_file(repo).unlink(missing_ok=True)
        row[f"{name}_cold_s"] = timed(["expctl", *args], repo, env)
    out = json.loads(sh(["expctl", "compare", "--format", "json"], repo, env).stdout)
    assert len(out) == 10, out
    shown = sh(["expctl", "runs", "-n", "20", "--format", "tsv"], repo, env).stdout.decode().splitlines()
    assert len(shown) == 21, len(shown)
    if n <= loose_max:  # every object loose, no index: the worst case
        packs = repo / ".git" / "objects" / "pack"
        moved = tmp / f"packs{n}"
        shutil.move(str(packs), str(moved))
        packs.mkdir()
        for pack in moved.glob("*.pack"):
            sh(["git", "unpack-objects", "-q"], repo, env, stdin=open(pack, "rb"))
        for name, args in CALLS.items():
            index_file(repo).unlink(missing_ok=True)
            row[f"{name}_cold_loose_s"] = timed(["expctl", *args], repo, env)
        shutil.rmtree(moved)
    if n <= sync_max:
        row.update(measure_sync(tmp, repo, commits, n + added, env))
    shutil.rmtree(repo, ignore_errors=True)
    return row


def measure_sync(tmp: Path, repo: Path, commits: list[str], n: int, env: dict) -> dict:
    row = {}
    bare = tmp / f"remote{n}.git"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(bare)], tmp, env)
    sh(["git", "remote", "add", "bench", str(bare)], repo, env)
    row["push_all_s"] = timed(["expctl", "push", "bench"], repo, env)
    clone = tmp / f"clone{n}"
    sh(["git", "clone", "-q", str(bare), str(clone)], tmp, env)
    row["pull_all_s"] = timed(["expctl", "pull", "origin"], clone, env)
    listed = sh(["expctl", "runs", "--format", "tsv"], clone, env).stdout.decode().splitlines()
    assert len(listed) == n + 1, (len(listed), n)
    more_records(repo, env, commits, n, 100)
    row["push_100_more_s"] = timed(["expctl", "push", "bench"], repo, env)
    row["pull_100_more_s"] = timed(["expctl", "pull", "origin"], clone, env)
    row["pull_nothing_new_s"] = timed(["expctl", "pull", "origin"], clone, env)
    shutil.rmtree(clone, ignore_errors=True)
    shutil.rmtree(bare, ignore_errors=True)
    return row


def markdown(results: list[dict]) -> str:
    def f(row, key):
        v = row.get(key)
        return f"{v:.2f}" if isinstance(v, float) else "-"

    lines = [
        "| records | anchor (JSON files) | `runs` first / warm / cold | `runs -n 20` first / warm / cold "
        "| `compare` first / warm / cold | cold, loose: `runs` / `-n 20` / `compare` | index build |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['records']:,} | {f(r, 'anchor_json_files_s')} | "
            + " | ".join(" / ".join(f(r, f"{c}_{k}_s") for k in ("first", "warm", "cold")) for c in CALLS)
            + " | "
            + " / ".join(f(r, f"{c}_cold_loose_s") for c in CALLS)
            + f" | {f(r, 'index_build_s')} |"
        )
    lines += [
        "",
        "| records | `runs` after a new record: first / next | `compare` after a new record: first / next |",
        "|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['records']:,} | "
            + " | ".join(f"{f(r, f'{c}_after_new_s')} / {f(r, f'{c}_after_new_next_s')}" for c in AFTER_NEW)
            + " |"
        )
    sync = [r for r in results if "push_all_s" in r]
    if sync:
        lines += [
            "",
            "| records | push all (empty remote) | push 100 more | pull all (fresh clone) | pull 100 more "
            "| pull, nothing new |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sync:
            lines.append(
                f"| {r['records']:,} | "
                + " | ".join(
                    f(r, k)
                    for k in ("push_all_s", "push_100_more_s", "pull_all_s", "pull_100_more_s", "pull_nothing_new_s")
                )
                + " |"
            )
    return "\n".join(lines)


def main() -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--warm", type=int, default=3, help="calls in each warm median")
    ap.add_argument("--loose-max", type=int, default=10000, help="largest size measured with loose objects")
    ap.add_argument("--sync-max", type=int, default=10000, help="largest size measured for push / pull")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="expctl-bench-records-"))
    env = dict(
        os.environ,
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp),
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@b",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@b",
        NO_COLOR="1",
    )
    # an installed expctl (and tabulate, for the anchor) has its bytecode: a sandbox's
    # PYTHONDONTWRITEBYTECODE would measure compiling every module on every call instead
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    results = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            row = measure_size(tmp, n, env, args.warm, args.loose_max, args.sync_max)
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        print(markdown(results))
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
