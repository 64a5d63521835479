"""`expctl runs` and `expctl compare` over 1,000 and 10,000 run records (issue 4 targets:
< 0.3 s at 1,000 and < 1 s at 10,000 on 2 cores), each call a fresh process.

For each size it measures:
- first: the first call after the records were created through expctl's own write path;
- warm: the median of 5 further calls;
- cold-loose: the records cache deleted and every object loose (worst case);
- cold-packed: the cache deleted after `git gc` (what a clone + `expctl pull` starts from).
The anchor is a Python process that reads the same number of small JSON files and renders a
table (what the issue quotes as ~0.7 s for 10,000).

    python bench/bench_records.py [--sizes 1000,10000]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sh(args, cwd, env, **kw):
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw)


def timed(args, cwd, env) -> float:
    t = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def make_repo(root: Path, n: int, env: dict) -> Path:
    from expctl.gitlayer import Repo
    from expctl.records import Store, iso

    repo_dir = root / f"repo{n}"
    repo_dir.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo_dir, env)
    (repo_dir / "train.py").write_text("print('x')\n")
    sh(["expctl", "init", "--command", "python3 train.py"], repo_dir, env)
    sh(["git", "add", "-A"], repo_dir, env)
    sh(["git", "commit", "-qm", "init"], repo_dir, env)
    rng = random.Random(0)
    commits = []
    for k in range(10):  # ten strategies on the main line, each tagged by expctl below
        (repo_dir / "train.py").write_text(f"print('strategy {k}')\n")
        sh(["git", "commit", "-qam", f"strategy {k}"], repo_dir, env)
        commits.append(sh(["git", "rev-parse", "HEAD"], repo_dir, env).stdout.strip())
    repo = Repo.open(repo_dir)
    store = Store(repo)
    items = []
    t0 = time.time() - n * 60
    for i in range(n):
        k = i % 10
        commit = commits[k]
        rid = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t0 + i * 60)) + f"-{i:06d}"[-6:]
        acc = 0.70 + 0.01 * k + rng.gauss(0, 0.01)
        items.append(({
            "schema": 1, "id": rid, "name": None, "stage": rng.choice(["smoke", "small", "small"]),
            "status": "succeeded", "started": iso(t0 + i * 60), "ended": iso(t0 + i * 60 + 30), "duration_s": 30.0,
            "exit_code": 0, "command": ["python3", "train.py"],
            "settings": {"lr": rng.choice([1e-5, 3e-5, 1e-4]), "seed": rng.randrange(3), "epochs": 3, "batch_size": 32,
                         "max_train_samples": 20000, "model": {"hidden": 128, "layers": 2}},
            "code": {"commit": commit, "tree": None, "head": commit, "branch": "main", "dirty": False, "snapshot": False},
            "data": {"data/train.tsv": {"kind": "file", "size": 123456, "fingerprint": "blake2b:" + "0" * 32}},
            "env": {"host": "bench", "python": "3.11", "packages": {"torch": "2.13.0"}, "gpus": [], "world_size": 1},
            "metrics": {"final": {"eval_accuracy": acc, "eval_f1_macro": acc - 0.02, "eval_loss": 1 - acc, "train_loss": 0.1},
                        "best": {"eval_accuracy": acc}, "events": 40},
            "primary_metric": "eval_accuracy", "direction": "max",
            "check": {"check": "metrics", "passed": True, "reasons": []}, "checkpoints": None,
            "process": {"host": "bench", "pid": 1, "start": None},
        }, commit))
    store.save_many(items)
    for k, commit in enumerate(commits):
        rid = items[k][0]["id"]
        msg = f"Strategy s{k}\n\nexpctl-run: {rid}\nexpctl-stage: small\n"
        sh(["git", "tag", "-a", f"s{k}", commit, "-F", "-"], repo_dir, env, input=msg)
    return repo_dir


def anchor(root: Path, n: int) -> float:
    folder = root / f"json{n}"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.json").write_text(json.dumps({"id": i, "acc": random.random(), "lr": 3e-5, "stage": "small"}))
    code = ("import json,os,sys; from tabulate import tabulate; d=sys.argv[1]; "
            "rows=[json.load(open(os.path.join(d,f))) for f in os.listdir(d)]; "
            "print(tabulate([[r['id'],r['stage'],r['lr'],r['acc']] for r in rows]))")
    return statistics.median(timed([sys.executable, "-c", code, str(folder)], root, os.environ) for _ in range(3))


def measure(repo: Path, env: dict, args: list[str]) -> dict:
    cache = repo / ".git" / "expctl" / "records-cache.jsonl"
    first = timed(["expctl", *args], repo, env)
    warm = statistics.median(timed(["expctl", *args], repo, env) for _ in range(5))
    saved = cache.read_bytes()
    cache.unlink()
    cold = timed(["expctl", *args], repo, env)
    cache.write_bytes(saved)
    return {"first": first, "warm": warm, "cold_loose": cold}


def main() -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="expctl-bench-records-"))
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp), GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b", NO_COLOR="1")
    results = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            repo = make_repo(tmp, n, env)
            row = {"records": n, "anchor_json_files_s": anchor(tmp, n)}
            for name, cmd in (("runs", ["runs"]), ("compare", ["compare"])):
                m = measure(repo, env, cmd)
                row.update({f"{name}_{k}_s": v for k, v in m.items()})
            sh(["git", "gc", "-q"], repo, env)
            cache = repo / ".git" / "expctl" / "records-cache.jsonl"
            cache.unlink()
            row["runs_cold_packed_s"] = timed(["expctl", "runs"], repo, env)
            row["compare_warm_after_gc_s"] = timed(["expctl", "compare"], repo, env)
            out = sh(["expctl", "compare", "--format", "json"], repo, env).stdout
            assert len(json.loads(out)) == 10
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
