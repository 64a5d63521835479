"""The Examples section of every command's --help (and so of docs/cli.md), in one table.

A command whose docstring already has an ``Examples:`` block keeps its own.
"""

from __future__ import annotations

import click

EXAMPLES: dict[str, list[str]] = {
    "init": [
        'expctl init --command "python3 train.py"   # reads its argparse defaults',
        "expctl init --trainer builtin --task ner",
    ],
    "run": [
        "expctl run                          # the default stage (smoke unless set) and its check",
        "expctl run --stage small -s lr=3e-4 -s dropout=0.1",
        "expctl run --stage full --name final -- --extra-arg value",
        "expctl run --seeds 3 --stage small",
        "expctl run --resume k6z230",
    ],
    "runs": [
        "expctl runs -n 10",
        "expctl runs --stage small --where 'lr<1e-3' --sort -eval_accuracy",
        "expctl runs --columns id,metric,started --json",
    ],
    "show": [
        "expctl show                        # the newest run on HEAD",
        "expctl show k6z230                 # by the id's random suffix",
        "expctl show base --json",
    ],
    "gc": [
        "expctl gc",
        "expctl gc --checkpoints             # what deleting would free",
        "expctl gc --checkpoints --yes",
    ],
    "tag": [
        "expctl tag base                     # the newest succeeded run on HEAD",
        "expctl tag rdrop k6z230 -m 'R-Drop 0.5'",
    ],
    "explore": ["expctl explore rdrop --from base"],
    "promote": ["expctl promote rdrop", "expctl promote rdrop --tag v2 --run k6z230"],
    "abandon": ["expctl abandon rdrop --why 'no gain over seed noise'"],
    "strategies": ["expctl strategies", "expctl strategies --json"],
    "compare": [
        "expctl compare",
        "expctl compare base rdrop --stage small",
        "expctl compare --runs --where stage=small --only-changed --drop commit,date",
        "expctl compare --notes --write RESULTS.md",
    ],
    "diff": ["expctl diff base rdrop", "expctl diff k6z230 x81kq2 --patch"],
    "push": ["expctl push", "expctl push origin --dry-run"],
    "pull": ["expctl pull", "expctl pull upstream"],
    "data": [
        "expctl data stats data/train.jsonl data/dev.jsonl",
        "expctl data split data/all.jsonl --dev 0.1 --test 0.1",
    ],
    "data stats": ["expctl data stats data/train.jsonl data/dev.jsonl"],
    "data split": ["expctl data split data/all.jsonl --dev 0.1 --test 0.1"],
    "cases": ["expctl cases k6z230", "expctl cases base --format markdown"],
    "plot": [
        "expctl plot k6z230",
        "expctl plot base rdrop --png curves.png",
        "expctl plot HEAD -m train_loss -m eval_loss",
    ],
    "sweep": [
        "expctl sweep -s lr=1e-5,3e-5,1e-4 -s dropout=0.1,0.3 --stage small",
        "expctl sweep -s lr=1e-5,3e-5 --seeds 3 --dry-run",
        "expctl sweep --show last",
    ],
    "reproduce": ["expctl reproduce base", "expctl reproduce k6z230 --tolerance 1e-4 --json"],
    "kfold": ["expctl kfold --k 5 --stage small"],
    "ensemble": ["expctl ensemble k6z230 x81kq2 m3p0aa"],
    "demo": ["expctl demo", "expctl demo /tmp/expctl-demo"],
    "report": ["expctl report -o report.html", "expctl report base rdrop --stage small -o report.html"],
    "export": ["expctl export csv base rdrop -o curves.csv", "expctl export tensorboard HEAD -o tb/"],
    "cancel": ["expctl cancel k6z230", "expctl cancel last"],
    "wait": ["expctl wait k6z230", "expctl wait last --timeout 3600"],
}


def _epilog(lines: list[str]) -> str:
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def add_examples(name: str, cmd: click.Command) -> click.Command:
    """Give ``cmd`` (and a group's subcommands) the Examples of EXAMPLES, once."""
    if name in EXAMPLES and "Examples:" not in (cmd.help or "") and not cmd.epilog:
        cmd.epilog = _epilog(EXAMPLES[name])
    if isinstance(cmd, click.Group):
        for sub_name, sub in cmd.commands.items():
            add_examples(f"{name} {sub_name}", sub)
    return cmd
