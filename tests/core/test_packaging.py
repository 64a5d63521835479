"""A wheel built from the checkout, installed in a fresh venv, runs `expctl init` and renders run.sh."""

from __future__ import annotations

import os
import subprocess
import sys
import venv

from tests.conftest import ROOT


def test_wheel_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("expctl-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "expctl/templates/run.sh.j2" in names and "trainers/__init__.py" in names
    assert "expctl/templates/sbatch.sh.j2" in names  # `--on slurm` renders it from the wheel
    # the report's template, style sheet and script ship inside the package (nothing fetched)
    assert {f"expctl/report_assets/{n}" for n in ("report.html.j2", "report.css", "report.js")} <= set(names)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    subprocess.run(
        [str(pip), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    project = tmp_path / "proj"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run(
        [str(env_dir / "bin" / "expctl"), "init", "--command", "python3 train.py --x 'a b'"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_sh = (project / "run.sh").read_text()
    assert "DEFAULT_COMMAND=(python3 train.py --x 'a b')" in run_sh
    assert "expctl 0.1.0" in run_sh
    # the installed package (not this checkout) served the template
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import expctl; print(expctl.__file__)"],
        capture_output=True,
        text=True,
        cwd=project,
    ).stdout
    assert str(env_dir) in where
