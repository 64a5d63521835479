"""The training-tricks study of docs/tricks.md: every trick against the baseline, same seeds.

    python bench/tricks_study.py --dir /tmp/tricks-study --out bench/out/tricks_study.md

What it does, all through expctl so that every number is a recorded run:

1. creates a project for the bundled trainer in ``--dir`` (``git init``, ``expctl init
   --trainer builtin``, one commit; the folder must not exist yet, or pass ``--reuse``);
2. generates the demo data (``expctl.demodata``: English, 3 labels, 6 % label noise):
   ``--train`` rows (4,000) in ``data/train.tsv`` and ``--dev`` rows (2,000) in ``data/dev.tsv``;
   the training file holds exactly the study's training set, so every run (and every seed)
   trains on the same rows and EDA can augment exactly them;
3. EDA (offline): ``python -m trainers.tricks.eda data/train.tsv data/train_eda.tsv --alpha 0.1
   --n-aug 1 --seed 0 --synonyms data/synonyms.txt``: 4,000 original + 4,000 augmented rows.
   Wei & Zou suggest 0.05/8 for ~2,000 rows and 0.1/4 beyond 5,000; ONE augmentation per row is
   less than they suggest and was chosen only to keep the study's time down (``--eda-n-aug 4``
   runs their setting; the EDA run then trains on 5x the rows). The synonym file holds four groups
   built from the generator's own vocabulary (positive adjectives, negative adjectives, mild
   adjectives, intensifiers), i.e. a synonym list that fits the domain;
4. three ``expctl sweep`` runs side by side (on a shared 2-core machine several processes get a
   larger share of the CPU than one), all at stage ``small`` with ``--seeds 3`` (42, 43, 44);
   every trick is a knob whose first value (0 = off) is the baseline, so each trick differs
   from the baseline in exactly one setting and runs with the same three seeds; every sweep
   runs the baseline, so it is recorded several times per seed::

       # A: R-Drop and FGM (C is the same with -s tricks.pgd.epsilon=0,1 and the others at 0)
       expctl sweep --stage small --seeds 3 -s max_train_samples=0 -s max_eval_samples=0 \\
           -s eval_steps=0 -s epochs=3 -s tricks.rdrop.alpha=0,4 -s tricks.fgm.epsilon=0,1 \\
           -s tricks.pgd.epsilon=0 -s tricks.focal.gamma=0 -s tricks.label_smoothing.epsilon=0 \\
           -s tricks.mixup.alpha=0 -s tricks.swa.start=0 -s train_file=data/train.tsv
       # B: the others
       expctl sweep --stage small --seeds 3 -s max_train_samples=0 -s max_eval_samples=0 \\
           -s eval_steps=0 -s epochs=3 -s tricks.rdrop.alpha=0 -s tricks.fgm.epsilon=0 \\
           -s tricks.pgd.epsilon=0 -s tricks.focal.gamma=0,2 -s tricks.label_smoothing.epsilon=0,0.1 \\
           -s tricks.mixup.alpha=0,0.4 -s tricks.swa.start=0,0.75 \\
           -s train_file=data/train.tsv,data/train_eda.tsv

   Sizes: 4,000 training rows, 2,000 dev rows, 3 epochs (375 updates of batch 32), the stage's
   tiny BERT (2 layers, hidden 64, WordPiece vocabulary 8,000 built from the training file,
   lr 1e-3, warm-up 6 %, linear decay, clipping 1.0), evaluation only at the end;
5. reads the runs back (``expctl sweep --show SWEEP --json`` for the run ids, each run's
   ``metrics.json``) and writes the markdown table: mean ± sample std over the seeds of
   ``eval_accuracy`` and ``eval_f1_macro``, the paired Δ vs the baseline (same seed, mean ±
   std of the per-seed differences), whether the Δ is within seed noise, and the relative
   training time per sample.

"Within seed noise" means a paired t-test over the seeds does not reject Δ = 0 at 95 %
(two-sided): |mean Δ| ≤ t(0.975, n−1) · std(Δ)/√n, with t = 4.30 for 3 seeds. With 3 seeds
only large or very consistent differences pass; "within noise" is not "no effect".

Relative step time: ``train_runtime_s / train_steps`` of each run divided by the median over
all baseline runs of the same seed (the baseline runs in every sweep), median over seeds. EDA has (1 + n-aug) × the steps per epoch, so its
per-step cost is about 1 while its run costs about (1 + n-aug) × (shown as the run-time ratio). The machine is shared: these
are whole-run timings under whatever load there was; ``bench/bench_tricks.py`` measures
step-time ratios properly (interleaved).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TRICKS = [  # (label, knob, on-value, settings shown in the table)
    ("R-Drop", "tricks.rdrop.alpha", "4", "α 4"),
    ("FGM", "tricks.fgm.epsilon", "1", "ε 1"),
    ("PGD", "tricks.pgd.epsilon", "1", "ε 1, α 0.3, K 3"),
    ("focal loss", "tricks.focal.gamma", "2", "γ 2"),
    ("label smoothing", "tricks.label_smoothing.epsilon", "0.1", "ε 0.1"),
    ("mixup", "tricks.mixup.alpha", "0.4", "a 0.4, embeddings"),
    ("SWA", "tricks.swa.start", "0.75", "start 0.75, every step, loop's lr"),
    ("EDA (offline)", "train_file", "data/train_eda.tsv", "α 0.1, 1 aug./row (8,000 rows)"),
]
BASE_VALUES = {"train_file": "data/train.tsv"}
EDA_N_AUG = 1  # set from --eda-n-aug
#: two-sided 95 % critical values of Student's t by degrees of freedom (n seeds - 1)
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}


def sh(cmd, cwd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=cwd, check=True, **kw)


def setup(project: Path, n_train: int, n_dev: int, reuse: bool) -> None:
    if project.exists() and not reuse:
        raise SystemExit(f"{project} exists: remove it or pass --reuse")
    project.mkdir(parents=True, exist_ok=True)
    if not (project / "expctl.toml").exists():
        sh(["git", "init", "-q"], project)
        sh(["expctl", "init", "--trainer", "builtin"], project)
        env = dict(
            os.environ,
            GIT_AUTHOR_NAME="study",
            GIT_AUTHOR_EMAIL="study@localhost",
            GIT_COMMITTER_NAME="study",
            GIT_COMMITTER_EMAIL="study@localhost",
        )
        sh(["git", "add", "-A"], project)
        sh(["git", "commit", "-qm", "expctl init"], project, env=env)
    sys.path.insert(0, str(REPO))
    from expctl import demodata

    data = project / "data"
    if not (data / "train.tsv").exists():
        demodata.make_demo_files(data, n_train, n_dev, "en", 0)
    groups = [demodata._EN_POS, demodata._EN_NEG, demodata._EN_MILD, [w for w in demodata._EN_INTENS if w]]
    (data / "synonyms.txt").write_text("".join(" ".join(g) + "\n" for g in groups))
    if not (data / "train_eda.tsv").exists():
        sh(
            [
                sys.executable,
                "-m",
                "trainers.tricks.eda",
                "data/train.tsv",
                "data/train_eda.tsv",
                "--alpha",
                "0.1",
                "--n-aug",
                str(EDA_N_AUG),
                "--seed",
                "0",
                "--synonyms",
                "data/synonyms.txt",
            ],
            project,
        )


FIXED = ["-s", "max_train_samples=0", "-s", "max_eval_samples=0", "-s", "eval_steps=0"]
#: three sweeps run side by side: A R-Drop and FGM, C PGD (the slowest), B the cheap ones.
#: Each runs the baseline (every knob at 0), so the baseline is recorded several times per
#: seed (a determinism check).
SPLIT = {"A": ("R-Drop", "FGM"), "C": ("PGD",), "B": ("focal loss", "label smoothing", "mixup", "SWA", "EDA (offline)")}


def sweep_commands(epochs: int, seeds: int) -> dict[str, list[str]]:
    cmds = {}
    for part, labels in SPLIT.items():
        cmd = ["expctl", "sweep", "--stage", "small", "--seeds", str(seeds), *FIXED, "-s", f"epochs={epochs}"]
        for label, knob, on, _ in TRICKS:
            base = BASE_VALUES.get(knob, "0")
            cmd += ["-s", f"{knob}={base},{on}" if label in labels else f"{knob}={base}"]
        cmds[part] = cmd
    return cmds


def run_sweeps(cmds: dict[str, list[str]], project: Path) -> None:
    procs = {}
    for part, cmd in cmds.items():
        log = project / f"sweep-{part}.log"
        print(f"$ {' '.join(cmd)}   > {log}", flush=True)
        procs[part] = (subprocess.Popen(cmd, cwd=project, stdout=log.open("w"), stderr=subprocess.STDOUT), log)
    failed = []
    for part, (proc, log) in procs.items():
        if proc.wait() != 0:
            failed.append(part)
        print(f"sweep {part}: exit {proc.returncode}; " + log.read_text().strip().splitlines()[0], flush=True)
    if failed:
        print(f"sweep(s) {', '.join(failed)} did not finish cleanly: the table shows what was recorded", flush=True)


def load_runs(project: Path) -> list[dict]:
    """Every finished run of the project: settings and final metrics."""
    rows = []
    for d in sorted((project / "runs").iterdir()):
        try:
            settings = json.loads((d / "settings.json").read_text())
            metrics = json.loads((d / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        rows.append({"run": d.name, "settings": settings, "metrics": metrics})
    return rows


def get(settings: dict, dotted: str):
    if dotted in settings:
        return settings[dotted]
    cur = settings
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def classify(run: dict):
    """Which configuration a run is: 'baseline', a trick label, or None (not a study run)."""
    s = run["settings"]
    s = s.get("settings", s)
    on = []
    for label, knob, _value, _ in TRICKS:
        v = get(s, knob)
        base = BASE_VALUES.get(knob, "0")
        if v is None or str(v) == base or (knob != "train_file" and float(v) == 0):
            continue
        on.append(label)
    if len(on) > 1:
        return None
    return on[0] if on else "baseline"


def mean_std(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def table(runs: list[dict], seeds: list[int]) -> tuple[str, dict]:
    by, dups, allruns = {}, {}, {}
    for r in runs:
        s = r["settings"].get("settings", r["settings"])
        cfg = classify(r)
        if cfg is None or s.get("seed") not in seeds:
            continue
        by.setdefault(cfg, {})[s["seed"]] = r  # the newest run of a (config, seed) wins
        dups.setdefault((cfg, s["seed"]), []).append(r["metrics"]["eval_accuracy"])
        allruns.setdefault((cfg, s["seed"]), []).append(r)
    base = by.get("baseline", {})
    lines = [
        "| trick | settings | eval_accuracy per seed (" + " / ".join(map(str, seeds)) + ") "
        "| eval_accuracy (mean ± std) | Δ acc vs baseline (paired) | within seed noise? "
        "| macro F1 (mean ± std) | Δ F1 | time / step | time / run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = {}

    def step_time(r):
        m = r["metrics"]
        return m["train_runtime_s"] / max(1, m["train_steps"])

    for label, settings in [("baseline", "plain CE")] + [(t[0], t[3]) for t in TRICKS]:
        rs = by.get(label, {})
        common = [sd for sd in seeds if sd in rs and sd in base]
        if not rs:
            lines.append(f"| {label} | {settings} | not run | | | | | | | |")
            continue
        acc = [rs[sd]["metrics"]["eval_accuracy"] for sd in seeds if sd in rs]
        f1 = [rs[sd]["metrics"]["eval_f1_macro"] for sd in seeds if sd in rs]
        (am, asd), (fm, fsd) = mean_std(acc), mean_std(f1)
        row = {
            "n": len(acc),
            "acc_mean": am,
            "acc_std": asd,
            "f1_mean": fm,
            "f1_std": fsd,
            "runs": [rs[sd]["run"] for sd in seeds if sd in rs],
        }
        if label == "baseline" or not common:
            dacc_s = df1_s = noise = "—"
            ts = tr = "1.00×" if label == "baseline" else "—"
        else:
            d = [rs[sd]["metrics"]["eval_accuracy"] - base[sd]["metrics"]["eval_accuracy"] for sd in common]
            df = [rs[sd]["metrics"]["eval_f1_macro"] - base[sd]["metrics"]["eval_f1_macro"] for sd in common]
            dm, dsd = mean_std(d)
            fdm, fdsd = mean_std(df)
            se = dsd / math.sqrt(len(d)) if len(d) > 1 else float("inf")
            thresh = T95.get(len(d) - 1, 2.0) * se  # paired t-test, two-sided 95 %
            within = abs(dm) <= thresh
            noise = "yes" if within else ("no: better" if dm > 0 else "**no: worse**")
            dacc_s = f"{dm * 100:+.2f} ± {dsd * 100:.2f}"
            df1_s = f"{fdm * 100:+.2f} ± {fdsd * 100:.2f}"
            # against the median of every baseline run of the seed (the baseline ran in each sweep)
            b_step = {sd: statistics.median(step_time(b) for b in allruns[("baseline", sd)]) for sd in common}
            b_run = {
                sd: statistics.median(b["metrics"]["train_runtime_s"] for b in allruns[("baseline", sd)])
                for sd in common
            }
            ts = f"{statistics.median(step_time(rs[sd]) / b_step[sd] for sd in common):.2f}×"
            tr = f"{statistics.median(rs[sd]['metrics']['train_runtime_s'] / b_run[sd] for sd in common):.2f}×"
            row.update(
                {
                    "delta_acc": dm,
                    "delta_acc_std": dsd,
                    "delta_f1": fdm,
                    "within_noise": within,
                    "threshold": thresh,
                    "deltas": d,
                }
            )
        row.update({"time_per_step": ts, "time_per_run": tr})
        summary[label] = row
        per_seed = " / ".join(f"{rs[sd]['metrics']['eval_accuracy'] * 100:.1f}" if sd in rs else "–" for sd in seeds)
        lines.append(
            f"| {label} | {settings} | {per_seed} | {am * 100:.2f} ± {asd * 100:.2f} | {dacc_s} | {noise} "
            f"| {fm * 100:.2f} ± {fsd * 100:.2f} | {df1_s} | {ts} | {tr} |"
        )
    repeated = {k: v for k, v in dups.items() if len(v) > 1}
    if repeated:
        spread = max(max(v) - min(v) for v in repeated.values())
        lines.append("")
        lines.append(
            f"Repeated runs of the same configuration and seed ({len(repeated)}: "
            + ", ".join(f"{c} seed {sd}" for c, sd in sorted(repeated))
            + f") differ by at most {spread * 100:.2f} points of accuracy"
            + (" (training is deterministic per seed)." if spread == 0 else ".")
        )
        summary["_repeated_max_spread"] = spread
    return "\n".join(lines), summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="/tmp/tricks-study", help="project folder to create (/tmp/tricks-study)")
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "tricks_study.md"), help="markdown report")
    p.add_argument("--train", type=int, default=4000, help="training rows (4000)")
    p.add_argument("--dev", type=int, default=2000, help="dev rows (2000)")
    p.add_argument("--epochs", type=int, default=3, help="epochs (3, the small stage's)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 42, 43, ... (3)")
    p.add_argument("--eda-n-aug", type=int, default=1, help="EDA augmentations per training row (1)")
    p.add_argument("--reuse", action="store_true", help="reuse an existing project folder")
    p.add_argument("--report-only", action="store_true", help="only rebuild the table from the recorded runs")
    args = p.parse_args(argv)
    project = Path(args.dir).resolve()
    global EDA_N_AUG
    EDA_N_AUG = args.eda_n_aug
    TRICKS[-1] = TRICKS[-1][:3] + (f"α 0.1, {EDA_N_AUG} aug./row ({args.train * (EDA_N_AUG + 1):,} rows)",)
    t0 = time.time()
    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmds = sweep_commands(args.epochs, args.seeds)
    if not args.report_only:
        setup(project, args.train, args.dev, args.reuse)
        run_sweeps(cmds, project)
    seeds = [42 + i for i in range(args.seeds)]
    md, summary = table(load_runs(project), seeds)
    cpu = platform.processor()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    finished = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"Machine: {cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}; "
        f"{started} – {finished}; wall time {time.time() - t0:.0f} s.\n\n"
        f"Sweep commands (in {project}, run side by side):\n\n"
        + "".join(f"    {' '.join(c)}\n" for c in cmds.values())
        + "\n"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(head + md + "\n")
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n" + head + md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
