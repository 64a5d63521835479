"""Run every benchmark of the project, one after the other, and collect their JSON results.

    python bench/run_all.py [--quick] [--out bench/out]

Each benchmark is also runnable on its own (see its docstring); docs/benchmarks.md reports
the figures with machine and date. Benchmarks compare against an anchor measured in the
same run (ratios), never against a fixed time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name, script, arguments for --quick, whether it takes --json PATH
BENCHES = [
    ("run_overhead", "bench_run_overhead.py", ["--n", "5", "--gb", "0.2"], True),
    ("records", "bench_records.py", ["--sizes", "1000"], True),
    ("datastats", "bench_datastats.py", ["--rows", "200000", "--repeats", "1"], False),
    ("trainer", "bench_trainer.py", ["--samples", "1000", "--repeats", "2"], True),
    ("tricks", "bench_tricks.py", ["--quick"], True),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (minutes instead of ~20 minutes)")
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--only", default=None, help="comma-separated subset: " + ",".join(b[0] for b in BENCHES))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    failed = []
    for name, script, quick_args, takes_json in BENCHES:
        if args.only and name not in args.only.split(","):
            continue
        cmd = [sys.executable, str(HERE / script), *(quick_args if args.quick else [])]
        if takes_json:
            cmd += ["--json", str(out / f"{name}.json")]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.time()
        rc = subprocess.run(cmd, env=env).returncode
        print(f"== {name}: exit {rc} in {time.time() - t:.0f}s", flush=True)
        if rc:
            failed.append(name)
    print("failed: " + ", ".join(failed) if failed else f"all benchmarks ran; results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
