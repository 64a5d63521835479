"""trainers/tasks/base.py: the one evaluation gather (gather_rows) and the adapter's plain train step.

gather_rows puts the rows of a sharded eval loader back in dataset order: ragged tensors padded
to one width, the duplicates that even shards add dropped, each example counted once; it says so
when rows are missing or repeated. One process here with a real Accelerator, and two processes
under ``accelerate launch`` (gloo on the CPU) where the last shard is padded with a duplicate.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from trainer_helpers import ROOT, fresh_accelerator  # noqa: E402

from trainers.tasks.base import TaskAdapter, gather_rows  # noqa: E402


class Log:
    """The run output's ``log``, recorded."""

    def __init__(self):
        self.lines: list[str] = []

    def log(self, line: str) -> None:
        self.lines.append(line)


def _rows(model, batch):
    return [(batch["index"], None), (batch["x"], -1), (batch["y"], None)]


def _batch(indexes, width):
    x = torch.tensor([[i + 1] * width for i in indexes])
    return {"index": torch.tensor(indexes), "x": x, "y": torch.tensor(indexes, dtype=torch.float) * 10}


def test_rows_come_back_in_dataset_order_with_ragged_columns_padded():
    acc, log = fresh_accelerator(), Log()
    model = torch.nn.Linear(1, 1)
    batches = [_batch([2, 0], 3), _batch([3], 1), _batch([1], 2)]
    present, (x, y) = gather_rows(acc, model, batches, _rows, 4, log)
    assert present == [0, 1, 2, 3]
    assert x.tolist() == [[1, 1, 1], [2, 2, -1], [3, 3, 3], [4, -1, -1]]  # padded with the column's pad value
    assert y.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert log.lines == []
    assert model.training  # back in training mode after the evaluation


def test_the_model_is_evaluated_in_eval_mode_without_gradients():
    acc, log = fresh_accelerator(), Log()
    model = torch.nn.Dropout(0.5)
    seen = []

    def rows(m, batch):
        seen.append((m.training, torch.is_grad_enabled()))
        return [(batch["index"], None), (m(torch.ones(len(batch["index"]), 8)), None)]

    _, (out,) = gather_rows(acc, model, [_batch([0, 1], 1)], rows, 2, log)
    assert seen == [(False, False)]
    assert torch.equal(out, torch.ones(2, 8))  # dropout off in eval mode


def test_a_repeated_row_counts_once_and_is_reported():
    acc, log = fresh_accelerator(), Log()
    batches = [_batch([0, 1], 1), _batch([2, 0], 1)]  # example 0 twice (e.g. a padded shard)
    present, (x, y) = gather_rows(acc, torch.nn.Linear(1, 1), batches, _rows, 3, log)
    assert present == [0, 1, 2] and x.tolist() == [[1], [2], [3]] and y.tolist() == [0.0, 10.0, 20.0]
    assert log.lines == ["WARNING: eval gathered 4 rows for 3 distinct of 3 samples"]


def test_missing_rows_are_left_out_and_reported():
    acc, log = fresh_accelerator(), Log()
    present, (x, _) = gather_rows(acc, torch.nn.Linear(1, 1), [_batch([3, 1], 2)], _rows, 4, log)
    assert present == [1, 3] and x.tolist() == [[2, 2], [4, 4]]
    assert log.lines == ["WARNING: eval gathered 2 rows for 2 distinct of 4 samples"]


def test_the_plain_train_step_backpropagates_the_models_loss():
    acc = fresh_accelerator()

    class Out:
        loss = None

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor(2.0))

        def forward(self, x):
            out = Out()
            out.loss = (self.w * x).sum()
            return out

    model = Model()
    terms = TaskAdapter({}, acc, Log()).train_step(model, {"x": torch.tensor([1.0, 3.0])}, None)
    assert set(terms) == {"loss"} and terms["loss"].item() == 8.0 and not terms["loss"].requires_grad
    assert model.w.grad.item() == 4.0


SCRIPT = r"""
import json, sys
import torch
from accelerate import Accelerator
from trainers.tasks.base import gather_rows

class Log:
    lines = []
    def log(self, line):
        self.lines.append(line)

def collate(items):
    width = max(1 + i % 3 for i in items)
    x = torch.full((len(items), width), -1)
    for r, i in enumerate(items):
        x[r, : 1 + i % 3] = i + 1
    return {"index": torch.tensor(items), "x": x}

acc = Accelerator(cpu=True)
dl = acc.prepare(torch.utils.data.DataLoader(list(range(5)), batch_size=2, collate_fn=collate))
seen = acc.gather(torch.tensor([sum(len(b["index"]) for b in dl)])).tolist()
rows = lambda m, b: [(b["index"], None), (b["x"], -1)]
present, (x,) = gather_rows(acc, torch.nn.Linear(1, 1), dl, rows, 5, Log())
if acc.is_main_process:
    print("RESULT " + json.dumps({"n": acc.num_processes, "seen": seen, "present": present, "x": x.tolist(),
                                  "log": Log.lines}))
acc.end_training()  # destroy the process group: a gloo group torn down at interpreter exit can abort ("terminate called")
"""


def test_two_shards_are_gathered_once_each_and_in_order(tmp_path):
    accelerate = shutil.which("accelerate")
    assert accelerate, "the accelerate CLI comes with the package's dependencies"
    script = tmp_path / "gather.py"
    script.write_text(SCRIPT)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    cmd += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port), str(script)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    got = json.loads(line[len("RESULT ") :])
    assert got["n"] == 2
    assert sum(got["seen"]) > 5  # 5 examples in batches of 2 over 2 processes: the shards were evened with duplicates
    assert got["present"] == [0, 1, 2, 3, 4] and got["log"] == []  # gather_for_metrics dropped it
    assert got["x"] == [[1, -1, -1], [2, 2, -1], [3, 3, 3], [4, -1, -1], [5, 5, -1]]
