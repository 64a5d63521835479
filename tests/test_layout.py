"""Tests mirror modules: every module of expctl/ and trainers/ has a test file named after it
(``expctl/compare.py`` and ``expctl/commands/compare.py`` -> a ``test_compare.py`` under tests/),
so a reader finds a module's tests by its name and a new module comes with its own file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _unmirrored(root: Path) -> list[str]:
    tests = {p.stem.removeprefix("test_") for p in (root / "tests").rglob("test_*.py")}
    return sorted(
        p.relative_to(root).as_posix()
        for pkg in ("expctl", "trainers")
        for p in (root / pkg).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and p.stem not in tests
    )


def test_every_module_has_a_test_file_named_after_it():
    assert _unmirrored(ROOT) == []


def test_the_check_sees_a_module_without_tests(tmp_path):
    (tmp_path / "expctl" / "commands").mkdir(parents=True)
    (tmp_path / "trainers").mkdir()
    (tmp_path / "tests" / "core").mkdir(parents=True)
    for name in ("expctl/records.py", "expctl/commands/records.py", "expctl/__init__.py", "trainers/fit.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "tests" / "core" / "test_records.py").write_text("")
    assert _unmirrored(tmp_path) == ["trainers/fit.py"]
