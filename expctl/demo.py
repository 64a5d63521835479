"""`expctl demo`: the whole workflow on generated data, offline, on a CPU.

Every step runs the real command-line tool in a fresh project and prints the command a
user would type, so the demo doubles as a tutorial:

    data stats → smoke → converge → small → tag baseline → explore rdrop →
    run with R-Drop → promote (if it wins) or abandon → compare
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from expctl.errors import ExpctlError, RefusedError
from expctl.record import Record


@dataclass
class Sizes:
    n_train: int
    n_dev: int
    converge: list[str]
    small: list[str]


FULL = Sizes(20000, 2000, [], ["-s", "max_train_samples=12000", "-s", "max_eval_samples=2000", "-s", "epochs=2"])
FAST = Sizes(
    3000,
    400,
    ["-s", "max_train_samples=300", "-s", "max_eval_samples=200", "-s", "epochs=40"],
    ["-s", "max_train_samples=2000", "-s", "max_eval_samples=400", "-s", "epochs=2"],
)


class Demo:
    def __init__(self, directory: Path, sizes: Sizes, lang: str, say: Callable[[str], None], quiet_runs: bool):
        self.dir = directory
        self.sizes = sizes
        self.lang = lang
        self.say = say
        self.quiet_runs = quiet_runs
        self.t0 = time.time()
        self.env = dict(os.environ)
        self.env.setdefault("HF_HUB_OFFLINE", "1")
        self.env.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.env["NO_COLOR"] = self.env.get("NO_COLOR", "")
        # a demo project must commit even on a machine with no git identity
        for var, value in (
            ("GIT_AUTHOR_NAME", "expctl demo"),
            ("GIT_AUTHOR_EMAIL", "demo@expctl.local"),
            ("GIT_COMMITTER_NAME", "expctl demo"),
            ("GIT_COMMITTER_EMAIL", "demo@expctl.local"),
        ):
            self.env.setdefault(var, value)

    def step(self, title: str) -> None:
        self.say(f"\n=== [{time.time() - self.t0:5.0f}s] {title}")

    def sh(self, *args: str, check: bool = True, show_output: bool = True) -> subprocess.CompletedProcess:
        self.say("$ " + shlex.join(args))
        if args[0] == "expctl":
            args = (sys.executable, "-m", "expctl.cli", *args[1:])
        out = None if show_output else subprocess.DEVNULL
        proc = subprocess.run(
            args, cwd=self.dir, env=self.env, stdout=out, stderr=None if show_output else subprocess.PIPE, text=True
        )
        if check and proc.returncode not in (0,):
            raise ExpctlError(f"demo step failed ({proc.returncode}): {shlex.join(args)}")
        return proc

    def commit(self, message: str, add_untracked: bool) -> None:
        """Commit the project as a user would (the commands are shown), through expctl's git layer."""
        from expctl.gitlayer import commit_work_tree

        if add_untracked:
            self.say("$ git add -A")
        self.say(f"$ git commit {'-qm' if add_untracked else '-qam'} {shlex.quote(message)}")
        identity = {k: v for k, v in self.env.items() if k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
        commit_work_tree(self.dir, message, add_untracked=add_untracked, identity=identity)

    def capture(self, *args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "expctl.cli", *args],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout

    def run(self) -> dict:
        import json

        from expctl.demodata import make_demo_files
        from expctl.gitlayer import init_repo

        s = self.sizes
        self.step(f"A fresh project in {self.dir}")
        self.say("$ git init -q -b main")
        init_repo(self.dir)
        files = make_demo_files(self.dir / "data", s.n_train, s.n_dev, self.lang, 0)
        self.say(
            f"  generated {s.n_train:,} training and {s.n_dev:,} dev rows ({self.lang}, 3 labels, 6% label noise): "
            f"{files.train.relative_to(self.dir)}, {files.dev.relative_to(self.dir)}"
        )
        self.sh("expctl", "init", "--trainer", "builtin")
        self.commit("Set up the experiment with expctl", add_untracked=True)

        self.step("1. Look at the data before training (lengths, labels, leakage)")
        self.sh("expctl", "data", "stats", "data/train.tsv", "--dev", "data/dev.tsv")

        q = ["-q"] if self.quiet_runs else []
        self.step("2. Smoke: a few hundred samples, does it run end to end?")
        self.sh("expctl", "run", *q, "--stage", "smoke")
        self.step("3. Converge: can the model drive the training loss to ~0 on a small set?")
        self.sh("expctl", "run", *q, "--stage", "converge", *s.converge)
        self.step("4. Small: the baseline on tens of thousands of samples")
        self.sh("expctl", "run", *q, "--stage", "small", *s.small)
        self.sh("expctl", "runs")

        self.step("5. Tag the main-line strategy")
        self.sh("expctl", "tag", "baseline")

        self.step("6. Explore a risky idea on a branch: R-Drop (alpha 4)")
        self.sh("expctl", "explore", "rdrop")
        toml = (self.dir / "expctl.toml").read_text(encoding="utf-8")
        toml = (
            toml.replace("[settings.tricks]\n", "[settings.tricks]\nrdrop = { alpha = 4.0 }\n", 1)
            if "[settings.tricks]" in toml
            else toml.replace("tricks = {}", "tricks = { rdrop = { alpha = 4.0 } }", 1)
        )
        (self.dir / "expctl.toml").write_text(toml, encoding="utf-8")
        self.say("  (edited expctl.toml: tricks.rdrop.alpha = 4.0 by default on this branch)")
        self.commit("Try R-Drop (alpha 4)", add_untracked=False)
        self.sh("expctl", "run", *q, "--stage", "small", *s.small)

        records = json.loads(self.capture("runs", "--json"))
        small = [r for r in records if r.get("stage") == "small" and r.get("status") == "succeeded"]
        by_branch = {Record(r).branch: r for r in reversed(small)}
        base = by_branch.get("main")
        rdrop = by_branch.get("explore/rdrop")
        if base is None or rdrop is None:
            raise RefusedError("the demo's small runs did not both succeed; see the logs above")
        metric = rdrop.get("primary_metric")
        a = base["metrics"]["final"].get(metric)
        b = rdrop["metrics"]["final"].get(metric)
        self.step(f"7. Verdict: baseline {metric}={a:.4f}, R-Drop {metric}={b:.4f}")
        if b > a:
            self.sh("expctl", "promote", "rdrop", "--tag", "best-rdrop")
            verdict = "promoted"
        else:
            self.sh("expctl", "abandon", "rdrop", "--why", f"{metric} {b:.4f} <= baseline {a:.4f} at stage small")
            verdict = "abandoned"

        self.step("8. The results table (one seed each: deltas this small need --seeds to be trusted)")
        self.sh("expctl", "strategies")
        self.sh("expctl", "compare")
        self.say(
            f"\nDone in {time.time() - self.t0:.0f}s. The project is in {self.dir}: cd there and try "
            f"`expctl show baseline`, `expctl cases baseline`, `expctl plot baseline`, `expctl diff baseline rdrop`."
        )
        return {"dir": str(self.dir), "verdict": verdict, "baseline": a, "rdrop": b, "metric": metric}


def run_demo(
    directory: str | None, fast: bool, lang: str, say: Callable[[str], None], quiet_runs: bool = False
) -> dict:
    if directory:
        path = Path(directory).resolve()
        if path.exists() and any(path.iterdir()):
            raise RefusedError(f"{path} is not empty; give a new or empty folder")
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="expctl-demo-"))
    return Demo(path, FAST if fast else FULL, lang, say, quiet_runs).run()
