"""The core's layers: the run store (expctl.records) and what it stands on never import
upward, not even lazily inside a function (AST of every import statement): their own
imports, lazy ones included, and everything those load when imported."""

from __future__ import annotations

import ast
from pathlib import Path

import expctl

PACKAGE = Path(expctl.__file__).parent
# above the store: they read or write records through it, never the other way round
ABOVE_STORE = {
    "expctl.runner",
    "expctl.strategies",
    "expctl.cluster",
    "expctl.refs",
    "expctl.project",
    "expctl.recordindex",
    "expctl.compare",
    "expctl.sync",
    "expctl.cli",
}
# what expctl.records may import itself
RECORDS_MAY_IMPORT = {
    "expctl.errors",
    "expctl.fsutil",
    "expctl.recordschema",
    "expctl.record",
    "expctl.envinfo",
    "expctl.finalize",
}
# below the store: modules that both the store and the runner import
BELOW_STORE = ("expctl.finalize", "expctl.fingerprint", "expctl.record", "expctl.fsutil", "expctl.recordschema")


def _path(module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for candidate in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(module: str, lazy: bool = True) -> set[str]:
    """Every expctl module ``module`` imports, at module level or (``lazy``) inside
    functions; ``if TYPE_CHECKING:`` imports (annotations only) do not count."""
    path = _path(module)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    if lazy:
        nodes = list(ast.walk(tree))
    else:  # what importing the module runs: top-level statements (and their try/if blocks)
        nodes, todo = [], list(tree.body)
        while todo:
            node = todo.pop()
            nodes.append(node)
            if isinstance(node, (ast.If, ast.Try)):
                todo.extend(ast.iter_child_nodes(node))
    out = set()
    for node in nodes:
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "expctl")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "expctl":
            out.add(node.module)
            for alias in node.names:  # `from expctl import runner`
                if _path(f"{node.module}.{alias.name}") is not None:
                    out.add(f"{node.module}.{alias.name}")
    return out - {"expctl"}


def closure(module: str) -> set[str]:
    """What ``module`` imports (lazily too) and what those load in turn when imported."""
    seen, todo = set(), list(imports_of(module))
    while todo:
        name = todo.pop()
        if name in seen or _path(name) is None:
            continue
        seen.add(name)
        todo.extend(imports_of(name, lazy=False))
    return seen - {module}


def test_records_imports_only_lower_modules():
    assert imports_of("expctl.records") <= RECORDS_MAY_IMPORT, imports_of("expctl.records") - RECORDS_MAY_IMPORT


def test_nothing_below_the_store_reaches_above_it():
    for module in ("expctl.records", *BELOW_STORE):
        reached = closure(module)
        assert not reached & ABOVE_STORE, (module, sorted(reached & ABOVE_STORE))
        assert not any(m.startswith("expctl.commands") for m in reached), module
        if module != "expctl.records":
            assert "expctl.records" not in reached, module


def test_the_runner_and_the_store_share_finalization_and_fingerprints():
    runner = imports_of("expctl.runner")
    assert {"expctl.finalize", "expctl.fingerprint", "expctl.records"} <= runner
    assert "expctl.finalize" in imports_of("expctl.records")
