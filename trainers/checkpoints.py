"""Resumable state checkpoints of the training flow (``trainers.fit``), for every task.

Layout: ``<run_dir>/checkpoints/step-N/`` holds accelerate ``save_state`` (model, optimizer,
the registered scheduler and :class:`LoopState`, RNG states) plus a ``COMPLETE`` marker written
last, so a torn save is never resumed; the newest ``keep_last`` are kept. ``checkpoints.json``
lists them (``resume_from`` = the newest) next to ``best`` / ``last`` (Hugging Face folders
that the loops write themselves) and, after a resume, ``resumed_from`` (the source, absolute).

``resume`` (:func:`find_resume`), in this order:

- ``no`` (or empty): start fresh;
- ``auto``: the newest complete checkpoint under this run's ``checkpoints/`` (none: start fresh);
- an existing folder (relative paths from the project root): a checkpoint folder with the
  marker; or a folder holding ``checkpoints/`` or ``step-N`` folders (a run folder, its
  ``checkpoints`` folder): the newest complete one;
- anything else is a run id or tag: ``expctl show REF --json`` gives the run's ``run_dir``,
  and its newest complete checkpoint is loaded while this run writes into its own folder.

The trainer never imports expctl: it only calls its CLI (like ``init_from``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

STATE_MARKER = "COMPLETE"


class LoopState:
    """Everything about the loop that resume needs besides model/optimizer/scheduler/RNG."""

    def __init__(self):
        self.global_step = 0
        self.best_metric: float | None = None
        self.best_step: int | None = None
        self.last_train_loss: float | None = None

    def state_dict(self) -> dict:
        return {
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "best_step": self.best_step,
            "last_train_loss": self.last_train_loss,
        }

    def load_state_dict(self, sd: dict) -> None:
        self.global_step = int(sd["global_step"])
        self.best_metric = sd.get("best_metric")
        self.best_step = sd.get("best_step")
        self.last_train_loss = sd.get("last_train_loss")


def complete_checkpoints(ckpt_root: str) -> list[tuple[int, str]]:
    """``(step, path)`` of the ``step-N`` folders under ``ckpt_root`` that have the marker, oldest first."""
    out = []
    if not os.path.isdir(ckpt_root):
        return out
    for name in os.listdir(ckpt_root):
        m = re.fullmatch(r"step-(\d+)", name)
        if m and os.path.exists(os.path.join(ckpt_root, name, STATE_MARKER)):
            out.append((int(m.group(1)), os.path.join(ckpt_root, name)))
    return sorted(out)


def newest_complete(folder: str) -> str | None:
    """``folder`` itself when it is a complete checkpoint, else the newest complete ``step-N``
    under ``folder/checkpoints`` (a run folder) or directly under ``folder``; None if none."""
    if os.path.exists(os.path.join(folder, STATE_MARKER)):
        return folder
    for root in (os.path.join(folder, "checkpoints"), folder):
        found = complete_checkpoints(root)
        if found:
            return found[-1][1]
    return None


def expctl_show(ref: str, setting: str) -> dict[str, Any]:
    """``expctl show REF --json`` from the project root, as a dict; TrainerError (one line) otherwise."""
    from trainers.runtime import TrainerError, project_root

    exe = shutil.which("expctl")
    cmd = [exe] if exe else [sys.executable, "-m", "expctl.cli"]
    try:
        proc = subprocess.run(
            [*cmd, "show", ref, "--json"], capture_output=True, text=True, cwd=project_root(), timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrainerError(f"{setting}={ref!r}: not a folder, and `expctl show` failed: {exc}") from exc
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise TrainerError(
            f"{setting}={ref!r}: not a folder, and `expctl show {ref} --json` failed: "
            f"{msg[-1] if msg else proc.returncode}"
        )
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise TrainerError(f"{setting}={ref!r}: `expctl show --json` did not print JSON")
    return info


def find_resume(resume: str, ckpt_root: str, out) -> str | None:
    """The absolute path of the checkpoint ``resume`` names (see the module docstring), or None
    to start fresh; TrainerError (one line) when it names nothing resumable."""
    from trainers.runtime import TrainerError, data_path

    resume = str(resume or "no").strip()
    if resume in ("no", ""):
        return None
    if resume == "auto":
        found = complete_checkpoints(ckpt_root)
        if not found:
            out.log(f"resume=auto: no complete checkpoint under {ckpt_root}: starting from scratch")
            return None
        return os.path.abspath(found[-1][1])
    folder = data_path(resume)
    if os.path.isdir(folder):
        path = newest_complete(folder)
        if path is None:
            if re.fullmatch(r"step-\d+", os.path.basename(os.path.normpath(folder))):
                raise TrainerError(
                    f"resume={resume!r}: not a complete checkpoint folder (no {STATE_MARKER} "
                    f"marker: the save was cut short)"
                )
            raise TrainerError(
                f"resume={resume!r}: no complete checkpoint (step-N with a {STATE_MARKER} marker) "
                f"in {folder} or its checkpoints/ folder"
            )
        return os.path.abspath(path)
    info = expctl_show(resume, "resume")
    run_id = info.get("id") or resume
    run_dir = info.get("run_dir")
    if not run_dir or not os.path.isdir(run_dir):
        raise TrainerError(f"resume={resume!r}: run {run_id}'s folder {run_dir} is not on this machine")
    path = newest_complete(run_dir)
    if path is None:
        raise TrainerError(
            f"resume={resume!r}: run {run_id} has no complete checkpoint (step-N with a "
            f"{STATE_MARKER} marker) in {os.path.join(run_dir, 'checkpoints')}"
        )
    return os.path.abspath(path)


def epoch_batches(accelerator, train_dl, sampler, epoch: int, skip_batches: int):
    """The loader for ``epoch``, fast-forwarded past ``skip_batches`` batches after a resume.

    accelerate's loaders set the sampler's epoch from their own counter when iterated; a fresh
    skip-loader would restart it at 0, so it is pinned to the real epoch (the batch order is a
    function of seed and epoch: the same batches follow)."""
    dl = accelerator.skip_first_batches(train_dl, skip_batches) if skip_batches else train_dl
    sampler.set_epoch(epoch)
    if hasattr(dl, "set_epoch"):
        dl.set_epoch(epoch)
    return dl


def debug_stop(stop_after: int, step: int, out) -> None:
    """``debug_stop_after_step`` (tests of resume): a hard exit right after that update."""
    if stop_after and step == stop_after:
        out.log(f"debug_stop_after_step={stop_after}: exiting hard (test of resume)")
        sys.stdout.flush()
        os._exit(3)


def _same_content(a: str, b: str, chunk: int = 1 << 20) -> bool:
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x != y:
                return False
            if not x:
                return True


def share_identical(src: str, dest: str) -> int:
    """Hard-link every file of ``dest`` that is byte-identical to the same file of ``src``
    (``last`` and ``best`` when the final model is the best one): one copy on disk, two
    folders that each stay a complete Hugging Face model. Returns the bytes saved (0 when
    nothing is shared or the file system has no hard links). Writers replace folders, never
    files in place (:func:`trainers.runtime.save_hf`), so a later save of one never changes the other."""
    if not (os.path.isdir(src) and os.path.isdir(dest)):
        return 0
    saved = 0
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            d = os.path.join(dirpath, name)
            s = os.path.join(src, os.path.relpath(d, dest))
            try:
                if not os.path.isfile(s) or os.path.samefile(s, d) or not _same_content(s, d):
                    continue
                tmp = d + ".link"
                os.link(s, tmp)
                os.replace(tmp, d)
                saved += os.path.getsize(d)
            except OSError:
                continue
    return saved


def disk_usage(*paths: str) -> int:
    """Bytes on disk under ``paths`` (allocated blocks), each hard-linked file counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for top in paths:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += getattr(st, "st_blocks", 0) * 512 or st.st_size
    return total


def link_last_to_best(root: str, out) -> None:
    """After ``last`` is written: share its files with ``best`` where identical, and say so —
    "the same model" only when every file of ``last`` is now ``best``'s (weights included)."""
    best, last = os.path.join(root, "best"), os.path.join(root, "last")
    saved = share_identical(best, last)
    if not saved:
        return
    if _all_shared(best, last):
        out.log(
            f"checkpoints/last is the same model as checkpoints/best: hard-linked ({saved / 1e6:.1f} MB stored once)"
        )
    else:
        out.log(
            f"checkpoints/last shares its unchanged files with checkpoints/best: hard-linked ({saved / 1e6:.1f} MB stored once)"
        )


def _all_shared(src: str, dest: str) -> bool:
    """Every file under ``dest`` is the same file (hard link) as its counterpart under ``src``."""
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            d = os.path.join(dirpath, name)
            s = os.path.join(src, os.path.relpath(d, dest))
            try:
                if not os.path.samefile(s, d):
                    return False
            except OSError:
                return False
    return True


class Checkpoints:
    """The run's ``checkpoints/``: state saves, pruning, ``checkpoints.json``, resume."""

    def __init__(self, accelerator, out, run_dir: str, state: LoopState, metric_name: str, keep_last: int):
        self.accelerator, self.out, self.run_dir, self.state = accelerator, out, run_dir, state
        self.metric_name = metric_name
        self.keep_last = max(1, int(keep_last))
        self.root = os.path.join(run_dir, "checkpoints")
        self.resumed_from: str | None = None
        #: what the batch order after a resume depends on; saved in every checkpoint's marker and
        #: compared on resume (set by the loop once the step plan is known)
        self.plan: dict[str, Any] = {}

    def register(self, *objects) -> None:
        """Objects with state_dict/load_state_dict saved with every checkpoint (then the LoopState)."""
        for obj in (*objects, self.state):
            self.accelerator.register_for_checkpointing(obj)

    def write_manifest(self) -> None:
        saved = [os.path.relpath(p, self.run_dir) for _, p in complete_checkpoints(self.root)]
        obj: dict[str, Any] = {
            "best": None,
            "last": None,
            "all": saved,
            "best_metric": {},
            "best_step": self.state.best_step,
        }
        if os.path.isdir(os.path.join(self.root, "best")):
            obj["best"] = "checkpoints/best"
            obj["best_metric"] = {self.metric_name: self.state.best_metric}
        if os.path.isdir(os.path.join(self.root, "last")):
            obj["last"] = "checkpoints/last"
        obj["resume_from"] = saved[-1] if saved else None
        if self.resumed_from:
            obj["resumed_from"] = self.resumed_from
        self.out.write_json("checkpoints.json", obj)

    def save(self) -> None:
        """``checkpoints/step-<global_step>``: save_state, then the marker, then prune and list."""
        acc, step = self.accelerator, self.state.global_step
        dest = os.path.join(self.root, f"step-{step}")
        acc.save_state(dest)
        acc.wait_for_everyone()
        if acc.is_main_process:
            with open(os.path.join(dest, STATE_MARKER), "w") as fh:
                fh.write(json.dumps({**self.state.state_dict(), "plan": self.plan}) + "\n")
            for _, old in complete_checkpoints(self.root)[: -self.keep_last]:
                shutil.rmtree(old, ignore_errors=True)
            self.write_manifest()
        acc.wait_for_everyone()
        used = disk_usage(self.root) if acc.is_main_process else 0
        self.out.log(
            f"saved checkpoints/step-{step}; checkpoints/ holds {used / 1e6:.1f} MB on disk "
            f"(keep_last {self.keep_last} resumable state(s), each model + optimizer, plus best and last)"
        )

    def restore(self, path: str | None, steps_per_epoch: int, grad_accum: int) -> tuple[int, int]:
        """Load ``path`` (from :func:`find_resume`; None: nothing) -> (start epoch, batches to skip in it)."""
        if not path:
            return 0, 0
        from trainers.runtime import TrainerError

        try:
            self.accelerator.load_state(path)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TrainerError(
                f"resume: cannot load {path} into this run's model and optimizer (another task or model size?): {first}"
            ) from exc
        self._compare_plan(path)
        step = self.state.global_step
        start_epoch = step // steps_per_epoch
        skip_batches = (step % steps_per_epoch) * grad_accum
        self.resumed_from = os.path.abspath(path)
        run_dir = os.path.abspath(self.run_dir)
        inside = os.path.commonpath([self.resumed_from, run_dir]) == run_dir
        shown = os.path.relpath(self.resumed_from, run_dir) if inside else self.resumed_from
        self.out.log(
            f"resumed from {shown} at step {step} (epoch {start_epoch}, skipping {skip_batches} batch(es) of it)"
        )
        self.out.metrics(step, resumed_from_step=step)
        if not inside:
            self._adopt_best()
        return start_epoch, skip_batches

    def _compare_plan(self, path: str) -> None:
        """Warn (not fail) when what the batch order depends on differs from the checkpoint's run."""
        try:
            with open(os.path.join(path, STATE_MARKER), encoding="utf-8") as fh:
                saved = json.load(fh).get("plan") or {}
        except (OSError, ValueError, AttributeError):
            return
        for key in sorted(set(saved) & set(self.plan)):
            if saved[key] != self.plan[key]:
                self.out.log(
                    f"WARNING: resume: {key} was {saved[key]!r} in the checkpoint's run and is "
                    f"{self.plan[key]!r} now: the continuation is not the one that run would have made"
                )

    def _adopt_best(self) -> None:
        """Resuming another run: copy its ``checkpoints/best`` when it is the best model so far of
        the restored state (same best_step in its checkpoints.json), so this run's ``best`` and
        ``best_*`` metrics agree. A best saved after the restored step is found again by training."""
        src_root = os.path.dirname(self.resumed_from)
        best = os.path.join(src_root, "best")
        if self.state.best_step is None or not os.path.isdir(best):
            return
        try:
            with open(os.path.join(os.path.dirname(src_root), "checkpoints.json"), encoding="utf-8") as fh:
                manifest = json.load(fh)
        except (OSError, ValueError):
            return
        if not isinstance(manifest, dict) or manifest.get("best_step") != self.state.best_step:
            return
        if self.accelerator.is_main_process:
            dest = os.path.join(self.root, "best")
            tmp = dest + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(best, tmp)
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(tmp, dest)
        self.accelerator.wait_for_everyone()
        self.out.log(
            f"copied {best} (best {self.metric_name} {self.state.best_metric:.4f} at step "
            f"{self.state.best_step}) to checkpoints/best"
        )
