"""`--on slurm` against a real Slurm (issue 15): how long `expctl sweep --on slurm` takes
to return for 100 configurations (target < 3 s), and the delay from submission to program
start of an expctl job against a bare `sbatch --wrap` job running the same program, in the
same run (alternating, medians; the difference is what expctl adds inside the job: the
record turning running, the code export, run.sh).

Needs a cluster that answers (`.ci/slurm.sh start`).

    python bench/bench_slurm.py [--configs 100] [--n 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = """\
import json, os, time
t = time.time()
s = json.load(open(os.environ["EXPCTL_SETTINGS"])) if "EXPCTL_SETTINGS" in os.environ else {}
open(os.environ.get("BENCH_STAMP") or s["stamp"], "w").write(repr(t))
"""


def sh(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, **kw)


def expctl(*args, cwd):
    exe = shutil.which("expctl")
    return sh([exe, *args] if exe else [sys.executable, "-m", "expctl.cli", *args], cwd)


def wait_file(path: Path, timeout: float = 120) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            text = path.read_text()
            if text:
                return float(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise TimeoutError(path)


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=100)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        sys.exit("bench_slurm: no Slurm cluster answers (.ci/slurm.sh start)")
    tmp = Path(tempfile.mkdtemp(prefix="expctl-bench-slurm-"))
    repo = tmp / "repo"
    repo.mkdir()
    env_git = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    sh(["git", "init", "-q", "-b", "main"], repo)
    (repo / "prog.py").write_text(PROGRAM)
    (repo / "expctl.toml").write_text(
        f'[project]\ncommand = "python prog.py"\n[settings]\nlr = 0\nstamp = "{tmp / "stamp"}"\n'
    )
    expctl("init", cwd=repo)
    sh(["git", *env_git, "add", "-A"], repo)
    sh(["git", *env_git, "commit", "-qm", "bench"], repo)

    # 1. time to return: a 100-configuration sweep submitted as one held-then-released array
    values = ",".join(str(i) for i in range(args.configs))
    t = time.perf_counter()
    proc = expctl("sweep", "--on", "slurm", "-s", f"lr={values}", cwd=repo)
    returned = time.perf_counter() - t
    submitted = [line for line in proc.stdout.splitlines() if "\t" in line]
    assert len(submitted) == args.configs, proc.stdout
    sweep_id = proc.stderr.split("sweep ")[1].split(":")[0]
    expctl("cancel", sweep_id, cwd=repo)  # the point was the submission; free the cores
    time.sleep(2)
    expctl("runs", cwd=repo)  # settles the cancelled ones

    # 2. submission -> program start: expctl job vs bare sbatch --wrap, alternating
    wrap, ours = [], []
    for i in range(args.n):
        stamp = tmp / f"bare{i}"
        t0 = time.time()
        sh(
            [
                "sbatch",
                "--parsable",
                "-o",
                "/dev/null",
                "--wrap",
                f"BENCH_STAMP={stamp} {sys.executable} {repo / 'prog.py'}",
            ],
            repo,
        )
        wrap.append(wait_file(stamp) - t0)
        stamp = tmp / f"ours{i}"
        t0 = time.time()
        expctl("run", "--on", "slurm", "-s", f"stamp={stamp}", cwd=repo)
        ours.append(wait_file(stamp) - t0)
    time.sleep(3)
    result = {
        "sweep_return_s": round(returned, 3),
        "configs": args.configs,
        "submit_to_program_bare_median_s": round(statistics.median(wrap), 3),
        "submit_to_program_expctl_median_s": round(statistics.median(ours), 3),
        "expctl_adds_median_s": round(statistics.median(ours) - statistics.median(wrap), 3),
        "bare_s": [round(x, 3) for x in wrap],
        "expctl_s": [round(x, 3) for x in ours],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
