"""docs/architecture.md and the packages' module maps match the tree: every module they name
exists, and every module is named (a new module is placed in the map in the same change)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("expctl", "trainers")


def _modules() -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }


def _named(text: str) -> set[str]:
    return set(re.findall(r"`((?:expctl|trainers)/[\w/]+\.py)`", text))


def test_architecture_doc_names_every_module_and_only_existing_ones():
    named = _named((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    modules = _modules()
    assert sorted(m for m in named if not (ROOT / m).is_file()) == [], "named in docs/architecture.md, not in the tree"
    assert sorted(modules - named) == [], "in the tree, missing from docs/architecture.md"


def test_the_check_sees_a_missing_and_an_unknown_module():
    assert _named("`expctl/records.py` and `trainers/tricks/rdrop.py`, not expctl/x.py") == {
        "expctl/records.py",
        "trainers/tricks/rdrop.py",
    }


def _package_dirs() -> list[Path]:
    return sorted(p.parent for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py"))


@pytest.mark.parametrize("package", _package_dirs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_package_docstring_maps_its_modules(package: Path):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    members = sorted(
        p.stem if p.is_file() else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p / "__init__.py").is_file()
    )
    missing = [m for m in members if not re.search(rf"\b{re.escape(m)}\b", doc)]
    assert missing == [], f"{package.relative_to(ROOT)}/__init__.py docstring does not mention {missing}"
