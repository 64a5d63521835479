"""expctl.slurm directly: the [cluster] table and `--cluster` overrides, the #SBATCH options,
and how the answers of the Slurm commands are read (stand-in sbatch/squeue/sacct scripts on
PATH, real subprocesses). Submission to a real Slurm is in tests/cluster/test_cluster.py."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from expctl import slurm
from expctl.errors import ConfigError, ExpctlError, NotFoundError, UsageError


def test_parse_cluster_values_and_options():
    cs = slurm.parse_cluster(
        {
            "partition": "gpu",
            "time": "1-02:00:00",
            "gres": "gpu:a100:2",
            "cpus_per_task": "8",
            "mem": 16000,
            "nodes": 2,
            "sbatch": "--account=nlp",
            "setup": ["module load cuda"],
        }
    )
    assert cs.cpus_per_task == 8 and cs.mem == "16000" and cs.sbatch == ["--account=nlp"] and cs.tasks == 2
    assert cs.options() == [
        "--partition=gpu",
        "--time=1-02:00:00",
        "--gres=gpu:a100:2",
        "--cpus-per-task=8",
        "--mem=16000",
        "--nodes=2",
        "--ntasks-per-node=1",
        "--account=nlp",
    ]
    assert slurm.ClusterSettings().options() == ["--nodes=1"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"partiton": "gpu"}, "unknown key 'partiton' in [cluster] (did you mean 'partition'?)"),
        ({"nodes": 0}, "[cluster] nodes must be a positive integer"),
        ({"nodes": True}, "must be a positive integer"),
        ({"time": "soon"}, "is not a Slurm time"),
        ({"mem": "4GB"}, "is not a Slurm memory size"),
        ({"gres": "gpu:1;rm -rf ~"}, "only letters"),
        ({"sbatch": ["account=x"]}, "is not an sbatch option"),
        ({"setup": ["a\nb"]}, "one shell line per list item"),
        ({"partition": ""}, "must be a non-empty string"),
        ({"python": "/a\n/b"}, "must be one path"),
    ],
)
def test_parse_cluster_refusals(table, message):
    with pytest.raises(ConfigError) as err:
        slurm.parse_cluster(table)
    assert message in str(err.value)


def test_overrides_add_to_lists_and_leave_the_base_alone():
    base = slurm.parse_cluster({"time": "10", "sbatch": ["--account=a"]})
    cs = slurm.with_overrides(base, ["time=00:30:00", "sbatch=--qos=low", "nodes=2", "python=/opt/py/bin/python"])
    assert cs.time == "00:30:00" and cs.sbatch == ["--account=a", "--qos=low"] and cs.nodes == 2
    assert slurm.python_for_jobs(cs) == "/opt/py/bin/python" and slurm.python_for_jobs(base) == sys.executable
    assert base.time == "10" and base.sbatch == ["--account=a"]
    for item, message in (("partition", "expected KEY=VALUE"), ("memory=4G", "did you mean 'mem'"), ("nodes=x", "")):
        with pytest.raises(UsageError) as err:
            slurm.with_overrides(base, [item])
        assert message in str(err.value) and not str(err.value).startswith("expctl.toml")


def test_small_helpers():
    assert slurm.gpus_per_node("gpu:4") == 4 and slurm.gpus_per_node("gpu:a100:2,mps:1") == 2
    assert slurm.gpus_per_node(None) == 1 and slurm.gpus_per_node("gpu:0") == 1 and slurm.gpus_per_node("gpu") == 1
    assert slurm.launch_argv(["python3", "-m", "trainers.text"]) == ["-m", "trainers.text"]
    assert slurm.launch_argv(["bash", "run.sh"]) == ["bash", "run.sh"]
    assert slurm.safe_for_directive("runs/%A_%a/slurm.out") and not slurm.safe_for_directive("my runs/x")
    assert "#SBATCH" in slurm.template_source()


def _stand_ins(tmp_path, **scripts: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
        path.chmod(0o755)
    return f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"


def test_answers_of_the_slurm_commands(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "PATH",
        _stand_ins(
            tmp_path,
            sbatch='echo "$@" > "$(dirname "$0")/argv"; echo "4242;cluster"\n',
            squeue='printf "12_0|RUNNING|None\\n12_1|PENDING|Priority\\nbad line\\n"\n',
            sacct='[ "$1" = "-c" ] && exit 0; echo "accounting storage is disabled" >&2; exit 1\n',
        ),
    )
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n")
    assert slurm.sbatch(script, ["--hold"], tmp_path) == "4242"
    assert (tmp_path / "bin" / "argv").read_text().split() == ["--parsable", "--hold", str(script)]
    assert slurm.queue() == {"12_0": ("RUNNING", "None"), "12_1": ("PENDING", "Priority")}
    assert slurm.ended({"12_0"}) == {} and slurm.ended(set()) == {}
    monkeypatch.setenv(
        "PATH",
        _stand_ins(
            tmp_path,
            sbatch='echo "Submitted batch job"\n',
            sacct='printf "12_0|CANCELLED by 1000|0:15\\n99|COMPLETED|0:0\\n"\n',
            scancel='echo "scancel: error: Invalid job id" >&2; exit 1\n',
        ),
    )
    with pytest.raises(ExpctlError, match="sbatch printed no job id"):
        slurm.sbatch(script, [], tmp_path)
    assert slurm.ended({"12_0"}) == {"12_0": ("CANCELLED", "0:15")}
    with pytest.raises(ExpctlError, match="could not cancel: scancel failed: scancel: error: Invalid job id"):
        slurm.scancel(["7"])
    slurm.scancel([])  # nothing to cancel: no call


def test_without_slurm_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert slurm.queue() is None and slurm.ended({"1"}) == {}
    with pytest.raises(NotFoundError, match="sbatch not found"):
        slurm.sbatch(tmp_path / "x.sh", [], tmp_path)
