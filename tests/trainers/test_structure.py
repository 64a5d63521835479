"""The shape of trainers/ stays readable: no function of 80 lines or more, no ``__import__``,
no import of another module's private (``_name``) names. Checked with ``ast`` on every file."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "trainers"
FILES = sorted(ROOT.rglob("*.py"))


def _trees():
    for path in FILES:
        yield path.relative_to(ROOT.parent), ast.parse(path.read_text(encoding="utf-8"))


def test_the_package_is_there():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {
        "fit.py",
        "tasks/labels.py",
        "tasks/seq2seq.py",
        "tasks/span.py",
        "modeling.py",
        "nets.py",
        "crf.py",
        "data/squad.py",
        "data/pairs.py",
        "data/splits.py",
    } <= names


def test_no_function_reaches_80_lines():
    long = [
        (str(p), n.name, n.end_lineno - n.lineno + 1)
        for p, tree in _trees()
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 >= 80
    ]
    assert long == []


def test_no_dunder_import():
    calls = [
        (str(p), n.lineno)
        for p, tree in _trees()
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "__import__"
    ]
    assert calls == []


def test_no_private_names_imported_across_modules():
    found = []
    for p, tree in _trees():
        for n in ast.walk(tree):
            if (
                isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("trainers")
                or (isinstance(n, ast.ImportFrom) and n.level > 0)
            ):
                found += [(str(p), n.lineno, a.name) for a in n.names if a.name.startswith("_")]
    assert found == []
