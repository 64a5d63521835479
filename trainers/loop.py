"""The trainer's entry point: set up accelerate, pick the task's adapter, :func:`trainers.fit.fit`.

``run(settings, run_dir, metrics_path)`` is what ``python -m trainers.text`` calls (and the
bench). The adapters live in ``trainers/tasks/``, the training flow in ``trainers/fit.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from trainers.checkpoints import find_resume
from trainers.data.splits import read_split  # noqa: F401 - the label tasks' reader, also used by tests
from trainers.runtime import Outputs, TrainerError, resolve_init_from  # noqa: F401 - the trainer's public names
from trainers.settings import Settings, typed
from trainers.tracking import tensorboard_config, tensorboard_kwargs


def adapter_class(task: str):
    """The adapter of a task family (classification, pair, multilabel and ner share one)."""
    if task == "seq2seq":
        from trainers.tasks.seq2seq import Seq2SeqTask

        return Seq2SeqTask
    if task == "span":
        from trainers.tasks.span import SpanTask

        return SpanTask
    from trainers.tasks.labels import LabelTask

    return LabelTask


def _accelerator(settings: Settings, tracking: dict[str, Any]):
    from accelerate import Accelerator

    use_cuda = torch.cuda.is_available() and not settings.cpu
    mp, note = settings.mixed_precision, None
    if mp == "fp16" and not use_cuda:
        note = (
            "mixed_precision=fp16 does nothing on a CPU (accelerate ignores it): training in fp32. "
            "Use mixed_precision=bf16 for reduced precision on a CPU."
        )
        mp = "no"
    acc = Accelerator(
        cpu=not use_cuda, mixed_precision=mp, gradient_accumulation_steps=settings.grad_accum_steps, **tracking
    )
    return acc, mp, note


def run(settings: Settings | Mapping[str, Any], run_dir: str, metrics_path: str) -> dict[str, float]:
    """Train and evaluate with these settings (typed once here when given as a dict)."""
    settings = typed(settings)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers
    from accelerate.utils import set_seed

    from trainers.fit import fit
    from trainers.tricks import check_settings

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    check_settings(settings)  # fail fast on an unknown trick or key, before reading any data
    tracking = tensorboard_kwargs(settings, run_dir)
    accelerator, mp, note = _accelerator(settings, tracking)
    out = Outputs(run_dir, metrics_path, accelerator.is_main_process)
    if tracking:
        accelerator.init_trackers("tensorboard", config=tensorboard_config(settings))
        out.tracker = accelerator
    out.log(
        f"task {settings.task}; device {accelerator.device}; processes {accelerator.num_processes}; "
        f"mixed precision {mp}; torch threads {torch.get_num_threads()}"
    )
    if note:
        out.log(note)
    set_seed(settings.seed)
    # resolve `resume` before any data or model work: a bad ref fails fast
    resume_from = find_resume(settings.resume, os.path.join(run_dir, "checkpoints"), out) if settings.do_train else None
    task = adapter_class(settings.task)(settings, accelerator, out)
    metrics = fit(task, run_dir, resume_from)
    accelerator.end_training()
    return metrics
