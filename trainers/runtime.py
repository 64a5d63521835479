"""What every task's run shares besides the loop: the user-facing error, the run's output
files (:class:`Outputs`), paths relative to the project root, model folders
(``init_from``, ``save_hf``) and the final metrics / predictions files.

Torch-free at import (the accelerator and models are only passed in).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from typing import Any

from trainers.checkpoints import expctl_show
from trainers.settings import BUILTIN_MODELS, Settings


class TrainerError(RuntimeError):
    """A user-facing failure (bad path, unresolvable init_from, ...): one line, exit 2."""


class Outputs:
    """Files of the run; every write is a no-op off the main process."""

    def __init__(self, run_dir: str, metrics_path: str, is_main: bool):
        self.run_dir = run_dir
        self.metrics_path = metrics_path
        self.is_main = is_main
        self.final_extra: dict[str, float] = {}
        self.tracker = None  # the Accelerator when TensorBoard tracking is on (trainers/tracking.py)
        if is_main:
            os.makedirs(run_dir, exist_ok=True)
            os.makedirs(os.path.dirname(os.path.abspath(metrics_path)), exist_ok=True)

    def log(self, msg: str) -> None:
        if self.is_main:
            print(f"[trainer] {msg}", flush=True)

    def resolved(self, **values: Any) -> None:
        """Record settings decided at run time (``auto`` values) in settings_resolved.json,
        merged with what is there; expctl puts them in the run's recorded settings."""
        if not self.is_main:
            return
        try:
            with open(os.path.join(self.run_dir, "settings_resolved.json"), encoding="utf-8") as fh:
                current = json.load(fh)
        except (OSError, ValueError):
            current = {}
        self.write_json("settings_resolved.json", {**(current if isinstance(current, dict) else {}), **values})

    def metrics(self, step: int | None, epoch: float | None = None, **values: float) -> None:
        if not self.is_main:
            return
        rec: dict[str, Any] = {}
        if step is not None:
            rec["step"] = int(step)
        if epoch is not None:
            rec["epoch"] = round(float(epoch), 4)
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                rec[k] = v
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        if self.tracker is not None:  # opt-in TensorBoard (settings: tensorboard = true)
            scalars = {k: v for k, v in rec.items() if k != "step"}
            if scalars:
                self.tracker.log(scalars, step=rec.get("step"))

    def write_json(self, name: str, obj: Any) -> None:
        if not self.is_main:
            return
        path = os.path.join(self.run_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)

    def write_final(
        self, metrics: dict, preds: list[dict] | None, extra: dict, metric_name: str, best: tuple | None = None
    ) -> None:
        """metrics.json (final eval + run figures, flat) and predictions.jsonl (dev predictions)."""
        final = {**metrics, **self.final_extra, **extra}
        if best and best[0] is not None:
            final[f"best_{metric_name}"] = best[0]
            final["best_step"] = best[1]
        self.write_json("metrics.json", {k: v for k, v in final.items() if isinstance(v, (int, float))})
        if self.is_main and preds is not None:
            path = os.path.join(self.run_dir, "predictions.jsonl")
            with open(path + ".tmp", "w", encoding="utf-8") as fh:
                for p in preds:
                    fh.write(json.dumps(p, ensure_ascii=False) + "\n")
            os.replace(path + ".tmp", path)
        self.log(f"wrote metrics.json, predictions.jsonl ({len(preds or [])} dev predictions) to {self.run_dir}")


def project_root() -> str:
    return os.environ.get("EXPCTL_PROJECT_ROOT") or os.getcwd()


def data_path(p: str) -> str:
    """A path from the settings: absolute as is, otherwise relative to the project root."""
    return p if os.path.isabs(p) else os.path.join(project_root(), p)


def cache_dir(settings: Settings) -> str:
    if settings.cache_dir:
        return data_path(settings.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "expctl", "trainer")


def resolve_init_from(ref: str) -> str:
    """A folder path is used as is; otherwise ``expctl show REF --json`` -> checkpoints.best."""
    cand = data_path(ref)
    if os.path.isdir(cand):
        return cand
    best = (expctl_show(ref, "init_from").get("checkpoints") or {}).get("best")
    if not best or not os.path.isdir(best):
        raise TrainerError(f"init_from={ref!r}: run has no best checkpoint on this machine ({best!r})")
    return best


def model_folder(settings: Settings) -> str:
    """The HF folder the run starts from (``init_from`` wins over a folder ``model``), or "" for
    a model built from scratch (``tiny``, ``bow``, ``cnn``, ``bilstm``)."""
    if settings.init_from:
        return resolve_init_from(settings.init_from)
    if settings.model in BUILTIN_MODELS:
        return ""
    folder = data_path(settings.model)
    if not os.path.isdir(folder):
        raise TrainerError(
            f"model {settings.model!r}: no such folder (model must be one of "
            f"{', '.join(BUILTIN_MODELS)} or a local HF model folder)"
        )
    return folder


def save_hf(accelerator, model, tokenizer, dest: str) -> None:
    """save_pretrained model + tokenizer into ``dest`` atomically (main process writes)."""
    state_dict = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        accelerator.unwrap_model(model).save_pretrained(tmp, state_dict=state_dict, save_function=accelerator.save)
        tokenizer.save_pretrained(tmp)
        old = dest + ".old"
        shutil.rmtree(old, ignore_errors=True)
        if os.path.exists(dest):
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def fmt_metrics(metrics: dict[str, float]) -> str:
    names = (
        "eval_loss",
        "eval_accuracy",
        "eval_f1_macro",
        "eval_f1_micro",
        "eval_entity_f1",
        "eval_bleu",
        "eval_rouge_l",
        "eval_exact_match",
        "eval_f1",
    )
    keys = [k for k in dict.fromkeys(names) if k in metrics]
    return " | ".join(f"{k[5:]} {metrics[k]:.4f}" for k in keys)


class Progress:
    """A rich progress bar on a terminal; nothing otherwise (log lines carry the information)."""

    def __init__(self, total: int, start: int, enabled: bool):
        self.bar = None
        if enabled:
            try:
                from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
                from rich.progress import Progress as Bar

                self.bar = Bar(
                    "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
                )
                self.bar.start()
                self.task = self.bar.add_task("training", total=total, completed=start)
            except Exception:  # noqa: BLE001 - a cosmetic feature never breaks training
                self.bar = None

    def update(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=step)

    def write(self, msg: str, out: Outputs) -> None:
        if self.bar is not None:
            self.bar.console.print(f"[trainer] {msg}", markup=False, highlight=False)
        else:
            out.log(msg)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
