"""[cluster] and `--cluster` are validated before anything exists; no cluster needed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.cluster.conftest import CONFIG, PROGRAM
from tests.conftest import commit_project, run_expctl


def no_records(repo: Path) -> bool:
    listing = run_expctl(repo, "runs", "--json", env={"PATH": _path_without_slurm(repo)}, check=True).stdout
    return listing.strip() == "[]" and not any((repo / "runs").glob("2*"))


def _path_without_slurm(repo: Path) -> str:
    bin_dir = repo.parent / "bin-no-slurm"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("git", "tar", "bash"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return f"{bin_dir}:{Path(sys.executable).parent}"


def test_bad_cluster_settings_are_refused_before_any_record(repo, tmp_path):
    commit_project(repo, PROGRAM, CONFIG.format(spans=tmp_path / "s"))
    (repo / "expctl.toml").write_text(CONFIG.format(spans=tmp_path / "s") + 'partiton = "gpu"\n')
    bad = run_expctl(repo, "run", "--on", "slurm")
    assert bad.returncode == 3 and "unknown key 'partiton' in [cluster] (did you mean 'partition'?)" in bad.stderr
    (repo / "expctl.toml").write_text(CONFIG.format(spans=tmp_path / "s") + "nodes = 0\n")
    bad = run_expctl(repo, "run", "--on", "slurm")
    assert bad.returncode == 3 and "[cluster] nodes must be a positive integer" in bad.stderr
    (repo / "expctl.toml").write_text(CONFIG.format(spans=tmp_path / "s"))
    for override, message in (
        ("time=soon", "not a Slurm time"),
        ("gres=gpu:1;rm -rf ~", "only letters"),
        ("memory=4G", "did you mean 'mem'"),
        ("sbatch=account=x", "not an sbatch option"),
        ("partition", "expected KEY=VALUE"),
    ):
        bad = run_expctl(repo, "run", "--on", "slurm", "--cluster", override)
        assert bad.returncode == 2 and message in bad.stderr, (override, bad.stderr)
        assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert no_records(repo)


def test_without_sbatch_one_clear_line_and_no_record(repo, tmp_path):
    commit_project(repo, PROGRAM, CONFIG.format(spans=tmp_path / "s"))
    bad = run_expctl(repo, "sweep", "--on", "slurm", "-s", "lr=0.1,0.2", env={"PATH": _path_without_slurm(repo)})
    assert bad.returncode == 4 and "sbatch not found" in bad.stderr and "Traceback" not in bad.stderr
    assert no_records(repo)
