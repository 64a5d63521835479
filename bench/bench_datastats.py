"""Benchmark: `expctl data stats` vs pandas on the same 1,000,000-line TSV, in one run.

    python bench/bench_datastats.py            # 1,000,000 rows, 3 repeats
    python bench/bench_datastats.py --rows 200000 --repeats 1

Generates the file with ``expctl.demodata`` (seed 0, header ``text<TAB>label``) in a
temporary folder, then times, each in its own subprocess (wall time and peak RSS from
``os.wait4``):

- ``expctl data stats FILE --format json``: the whole CLI, start-up included, doing
  everything the command does (lengths in characters and estimated tokens with percentiles,
  labels, ordering, duplicates and conflicting labels);
- pandas, the usual notebook way: ``read_csv`` + ``text.str.len().describe()`` with the
  same percentiles + ``label.value_counts()``;
- pandas doing comparable work: the above plus word counts, ``text.duplicated()`` and a
  ``groupby(text).label.nunique()`` for conflicts.

Prints a markdown table (paste it into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PANDAS_MINIMAL = """
import sys, pandas as pd, csv
df = pd.read_csv(sys.argv[1], sep="\\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
d = df["text"].str.len().describe(percentiles=[.5, .9, .95, .99])
v = df["label"].value_counts()
print(len(df), d["50%"], v.iloc[0] / len(df))
"""

PANDAS_FULL = (
    PANDAS_MINIMAL
    + """
w = (df["text"].str.split().str.len() + 2).describe(percentiles=[.5, .9, .95, .99])
key = df["text"].str.split().str.join(" ").str.casefold()
dups = int(key.duplicated().sum())
conflicts = int((df.groupby(key)["label"].nunique() > 1).sum())
print(dups, conflicts)
"""
)


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout tail) of one subprocess."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    rss_mib = usage.ru_maxrss / 1024  # Linux: KiB
    return wall, rss_mib, out.decode(errors="replace")[-200:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", metavar="DIR", help="write the TSV here and keep it")
    args = ap.parse_args()

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-datastats-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "train.tsv"
    t0 = time.perf_counter()
    # in a child process: this process stays small, so the children's peak RSS (which
    # includes the memory of the process they were forked from) measures only themselves
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from expctl.demodata import write_classification; "
            "write_classification(sys.argv[1], int(sys.argv[2]), lang='en', seed=0)",
            str(path),
            str(args.rows),
        ],
        check=True,
        cwd=ROOT,
    )
    gen_s = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6

    expctl = shutil.which("expctl")
    expctl_cmd = [expctl] if expctl else [sys.executable, "-m", "expctl.cli"]
    cases = {
        "expctl data stats (all checks)": [*expctl_cmd, "data", "stats", str(path), "--format", "json"],
        "pandas read_csv + describe + value_counts": [sys.executable, "-c", PANDAS_MINIMAL, str(path)],
        "pandas, same checks as expctl (+ words, duplicates, conflicts)": [
            sys.executable,
            "-c",
            PANDAS_FULL,
            str(path),
        ],
    }
    try:
        import pandas

        pandas_version = pandas.__version__
    except ImportError:
        pandas_version = None
        for k in list(cases):
            if k.startswith("pandas"):
                del cases[k]

    results = {}
    for name, cmd in cases.items():
        runs = [run_measured(cmd) for _ in range(args.repeats)]
        results[name] = runs
        print(f"{name}: " + ", ".join(f"{w:.2f}s" for w, _, _ in runs), file=sys.stderr)

    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU(s) ({_cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
        + (f", pandas {pandas_version}" if pandas_version else ", pandas not installed")
    )
    print(
        f"- file: {args.rows:,} rows + header, {size_mb:.1f} MB, generated in {gen_s:.1f} s (expctl.demodata, seed 0)"
    )
    print(f"- {args.repeats} run(s) each, each in a fresh process (start-up included)\n")
    print("| what | best wall s | median wall s | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    for name, runs in results.items():
        walls = [w for w, _, _ in runs]
        print(f"| {name} | {min(walls):.2f} | {statistics.median(walls):.2f} | {max(r for _, r, _ in runs):.0f} |")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
