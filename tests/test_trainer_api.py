"""trainers/api.py is the one door between expctl and the bundled trainer: torch-free, and the
only trainers module expctl imports (expctl otherwise talks to the trainer through files)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "accelerate", "pandas", "matplotlib")


def _trainer_imports(source: str) -> list[str]:
    """Every ``trainers...`` module a source imports (module level or lazily), as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "trainers"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "trainers":
            if node.module == "trainers":
                found += [f"trainers.{a.name}" for a in node.names]
            else:
                found.append(node.module)
    return found


def _crossings() -> dict[str, list[str]]:
    out = {}
    for path in sorted((ROOT / "expctl").rglob("*.py")):
        bad = [m for m in _trainer_imports(path.read_text(encoding="utf-8")) if m != "trainers.api"]
        if bad:
            out[str(path.relative_to(ROOT))] = bad
    return out


def test_expctl_imports_trainers_only_through_the_api():
    assert _crossings() == {}


@pytest.mark.parametrize(
    "source, caught",
    [
        ("from trainers.metrics import ner_metrics", ["trainers.metrics"]),
        ("def f():\n    from trainers import settings\n", ["trainers.settings"]),
        ("import trainers.data.formats as f", ["trainers.data.formats"]),
        ("from trainers import api\nfrom trainers.api import sample", ["trainers.api", "trainers.api"]),
    ],
)
def test_the_scan_sees_every_form_of_import(source, caught):
    assert _trainer_imports(source) == caught


def test_api_is_torch_free_and_complete():
    code = (
        "import sys, trainers.api as a; "
        "missing = [n for n in a.__all__ if not hasattr(a, n)]; "
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}); "
        "print(missing, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[] []"


def test_trainers_never_import_expctl():
    offenders = []
    for path in sorted((ROOT / "trainers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "expctl" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
