"""How strong is FGM's / PGD's epsilon on the bundled tiny model? (docs/tricks.md, adv_rel)

    python bench/adv_strength.py --dir /tmp/adv-strength --out bench/out/adv_strength.md

Sets up the same project and data as ``bench/tricks_study.py`` (its ``setup``: demo data,
4,000 training rows, 2,000 dev rows, stage ``small`` with 3 epochs, evaluation at the end),
then runs two ``expctl sweep``s one after the other, every value with seeds 42, 43, 44::

    expctl sweep --stage small --seeds 3 <the study's fixed settings> \\
        -s tricks.fgm.epsilon=0,0.01,0.03,0.1,0.3,1
    expctl sweep --stage small --seeds 3 <the study's fixed settings> \\
        -s tricks.pgd.epsilon=0,0.1,0.3 -s tricks.pgd.alpha=0.1

and writes one row per (trick, epsilon): the median over the run's logged windows of
``train_adv_rel`` (||r|| over the norm of the embedding rows the batch touches), accuracy
per seed, and the paired difference to the baseline of the same seed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import tricks_study  # noqa: E402

FIXED = [
    "-s",
    "max_train_samples=0",
    "-s",
    "max_eval_samples=0",
    "-s",
    "eval_steps=0",
    "-s",
    "epochs=3",
    "-s",
    "train_file=data/train.tsv",
]
SWEEPS = {
    "fgm": ["-s", "tricks.fgm.epsilon=0,0.01,0.03,0.1,0.3,1"],
    "pgd": ["-s", "tricks.pgd.epsilon=0,0.1,0.3", "-s", "tricks.pgd.alpha=0.1"],
}


def runs(project: Path) -> list[dict]:
    out = []
    for d in sorted((project / "runs").iterdir()):
        try:
            settings = json.loads((d / "settings.json").read_text())
            metrics = json.loads((d / "metrics.json").read_text())
            curve = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
        except (OSError, ValueError):
            continue
        if settings.get("epochs") != 3 or settings.get("stage", "small") != "small":
            continue  # not one of the sweeps' runs
        tricks = settings.get("tricks") or {}
        kind = next((k for k in ("fgm", "pgd") if float((tricks.get(k) or {}).get("epsilon") or 0) > 0), None)
        eps = float((tricks.get(kind) or {}).get("epsilon") or 0) if kind else 0.0
        rel = [c["train_adv_rel"] for c in curve if "train_adv_rel" in c]
        out.append(
            {
                "kind": kind,
                "epsilon": eps,
                "seed": settings.get("seed"),
                "acc": metrics.get("eval_accuracy"),
                "adv_rel": statistics.median(rel) if rel else None,
                "run": d.name,
            }
        )
    return out


def table(rows: list[dict]) -> str:
    base = {r["seed"]: r["acc"] for r in rows if r["kind"] is None}
    seeds = sorted(base)
    lines = [
        "| trick | ε | adv_rel (median) | accuracy per seed (" + " / ".join(map(str, seeds)) + ") "
        "| Δ vs baseline per seed (points) | mean Δ |",
        "|---|---|---|---|---|---|",
    ]
    lines.append("| baseline | — | — | " + " / ".join(f"{100 * base[s]:.1f}" for s in seeds) + " | — | — |")
    groups: dict[tuple, dict] = {}
    for r in rows:
        if r["kind"] is not None:
            groups.setdefault((r["kind"], r["epsilon"]), {})[r["seed"]] = r
    for (kind, eps), by_seed in sorted(groups.items()):
        got = [s for s in seeds if s in by_seed]
        deltas = [100 * (by_seed[s]["acc"] - base[s]) for s in got]
        rel = statistics.median(by_seed[s]["adv_rel"] for s in got if by_seed[s]["adv_rel"] is not None)
        lines.append(
            f"| {kind.upper()} | {eps:g} | {rel:.3f} | "
            + " / ".join(f"{100 * by_seed[s]['acc']:.1f}" for s in got)
            + " | "
            + " / ".join(f"{d:+.1f}" for d in deltas)
            + f" | {statistics.mean(deltas):+.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="/tmp/adv-strength", help="project folder to create (/tmp/adv-strength)")
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "adv_strength.md"), help="markdown report")
    p.add_argument("--reuse", action="store_true", help="reuse an existing project folder")
    p.add_argument("--report-only", action="store_true", help="only rebuild the table from the recorded runs")
    args = p.parse_args(argv)
    project = Path(args.dir).resolve()
    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not args.report_only:
        tricks_study.setup(project, 4000, 2000, args.reuse)
        for name, knobs in SWEEPS.items():
            cmd = ["expctl", "sweep", "--stage", "small", "--seeds", "3", *FIXED, *knobs]
            print("$ " + " ".join(cmd), flush=True)
            with (project / f"sweep-{name}.log").open("w") as log:
                subprocess.run(cmd, cwd=project, stdout=log, stderr=subprocess.STDOUT, check=False)
    md = table(runs(project))
    finished = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = f"{started} – {finished}, project {project}\n\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(head + md)
    print(head + md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
