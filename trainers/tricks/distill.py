"""Knowledge distillation (Hinton et al. 2015) from a frozen teacher.

    L = (1 - a) * CE(z_s, y) + a * T^2 * KL( softmax(z_t / T) || softmax(z_s / T) )

KL summed over classes and averaged over samples (``reduction='batchmean'``; plain 'mean'
would also divide by the class count); for sequence labeling averaged over real tokens,
for multi-label the Bernoulli KL of sigmoid(z / T) summed over labels. T^2 keeps the soft
term's gradient scale independent of T.

The teacher is an earlier run, a tag or a path (``tricks.distill.teacher``): a folder path is
used as is; anything else is resolved with ``expctl show REF --json`` (``checkpoints.best``).
It is loaded once, put in eval mode with ``requires_grad_(False)``, moved to the device but
never ``prepare``d, and run under ``torch.no_grad``. Its logits can be precomputed once
into a file (``tricks.distill.logits_file``): with ``teacher`` set too, the trainer writes
the file before training when it does not exist (:func:`ensure_logits_file`, one teacher pass
over the training set) and reuses it afterwards; batches carry an ``index`` tensor of dataset
row ids to look them up. Not for ner (one logit row per example).

Settings: ``teacher``, ``alpha`` (0.5), ``temperature`` (2.0), ``logits_file``.
Cost: one teacher forward per step (none with a logits file).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .losses import kl_rows, masked_mean
from .specs import TrickConfigError, TrickSpec, fail

if TYPE_CHECKING:
    import torch


def _check_distill(values, task, on, settings):
    if not values["teacher"] and not values["logits_file"]:
        fail(
            "tricks.distill needs tricks.distill.teacher (a run id, tag or model folder) or tricks.distill.logits_file"
        )
    if not 0.0 <= values["alpha"] <= 1.0:
        fail("tricks.distill.alpha weighs the soft loss against CE: it must lie in [0, 1]")
    if values["temperature"] <= 0:
        fail("tricks.distill.temperature must be > 0")
    if values["logits_file"] and task == "ner":
        fail(
            "tricks.distill.logits_file holds one logit row per example: not for task ner "
            "(use tricks.distill.teacher alone)"
        )
    from trainers.runtime import data_path  # torch-free; relative paths: the project root, as the run reads it

    if values["logits_file"] and not values["teacher"] and not os.path.exists(data_path(values["logits_file"])):
        fail(
            f"tricks.distill.logits_file {values['logits_file']!r} does not exist: set "
            "tricks.distill.teacher too and the trainer writes it before training"
        )


def _build(values, tricks):
    """A teacher checkpoint, or its logits cached in a file (written first when a teacher is set)."""
    teacher, logits_file = values["teacher"], values["logits_file"]
    if teacher and logits_file:
        try:
            ensure_logits_file(teacher, tricks.task, tricks.context, logits_file)
        except (TeacherError, OSError) as exc:
            raise TrickConfigError(f"tricks.distill.logits_file: {exc}") from exc
    model = None
    if teacher and not logits_file:
        try:
            model = load_teacher(teacher, tricks.task, tricks.context)
        except (TeacherError, OSError) as exc:
            raise TrickConfigError(f"tricks.distill.teacher: {exc}") from exc
    return Distiller(model, tricks.task, values["alpha"], values["temperature"], logits_file)


SPEC = TrickSpec(
    "distill",
    {"teacher": None, "alpha": 0.5, "temperature": 2.0, "logits_file": None},
    nonnegative=("alpha", "temperature"),
    tasks=("classification", "pair", "multilabel", "ner"),
    why_not="tricks.distill is not available for task {task!r} (R-Drop, FGM, PGD, focal loss, "
    "label smoothing and SWA are)",
    check=_check_distill,
    order=30,
    build=_build,
)


class TeacherError(RuntimeError):
    pass


def kd_kl(teacher_logits, student_logits, task: str, temperature: float, mask=None) -> torch.Tensor:
    """T^2 * KL(teacher_T || student_T), batchmean (token mean for ner)."""
    kl = kl_rows(teacher_logits.detach(), student_logits, task, temperature)
    return temperature**2 * masked_mean(kl, mask)


def resolve_teacher_path(ref: str, expctl_cmd: list[str] | None = None) -> Path:
    """A folder path as is; a run id or tag through ``expctl show REF --json``."""
    path = Path(str(ref)).expanduser()
    if path.is_dir():
        return path.resolve()
    cmd = [*(expctl_cmd or ["expctl"]), "show", str(ref), "--json"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise TeacherError(f"teacher {ref!r} is not a folder and `expctl` could not run: {exc}") from exc
    if proc.returncode != 0:
        raise TeacherError(f"teacher {ref!r} is not a folder and `expctl show` failed: {proc.stderr.strip()}")
    try:
        best = json.loads(proc.stdout)["checkpoints"]["best"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TeacherError(f"`expctl show {ref} --json` gave no checkpoints.best") from exc
    if not best or not Path(best).is_dir():
        raise TeacherError(f"teacher {ref!r}: best checkpoint {best!r} does not exist")
    return Path(best)


def load_teacher(ref: str, task: str, context: dict):
    """Load, freeze and place the teacher (never prepared by accelerate)."""
    path = resolve_teacher_path(ref, context.get("expctl_cmd"))
    loader = context.get("load_model")
    if loader is not None:
        model = loader(str(path))
    else:
        import transformers

        from trainers.nets import register

        register()  # a bow / cnn / bilstm teacher loads too
        auto = (
            transformers.AutoModelForTokenClassification
            if task == "ner"
            else transformers.AutoModelForSequenceClassification
        )
        model = auto.from_pretrained(str(path))
    model.eval()
    model.requires_grad_(False)
    accelerator = context.get("accelerator")
    if accelerator is not None:
        model.to(accelerator.device)
    return model


class Distiller:
    def __init__(
        self, teacher, task: str, alpha: float = 0.5, temperature: float = 2.0, logits_file: str | None = None
    ):
        import torch

        self.teacher = teacher
        self.task = task
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.cache = torch.load(logits_file, map_location="cpu") if logits_file else None

    def teacher_logits(self, batch, inputs: dict) -> torch.Tensor:
        import torch

        if self.cache is not None:
            if "index" not in batch:
                raise TeacherError("tricks.distill.logits_file needs an `index` tensor (dataset row ids) in each batch")
            return self.cache[batch["index"].cpu()].to(batch["input_ids"].device)
        device = next(iter(inputs.values())).device
        if next(self.teacher.parameters()).device != device:
            self.teacher.to(device)
        self.teacher.eval()
        with torch.no_grad():
            return self.teacher(**inputs).logits.float()

    # the step hooks: the teacher's logits once per step, loss = (1 - alpha) CE + alpha KD
    @property
    def teacher_forwards(self) -> float:
        return 1.0 if self.cache is None else 0.0

    def begin_step(self, model, batch, state: dict) -> None:
        from . import model_inputs

        state["teacher"] = self.teacher_logits(batch, model_inputs(batch))

    def add_terms(self, loss, ce, parts, state: dict):
        """KD of each part; with mixup, of the mixed targets (lam, perm)."""
        t, T, mask = state["teacher"], self.temperature, state["mask"]
        lam, perm = state.get("lam", 1.0), state.get("perm")

        def kd(z):
            if lam == 1.0:
                return kd_kl(t, z, self.task, T, mask)
            return lam * kd_kl(t, z, self.task, T, mask) + (1 - lam) * kd_kl(t[perm], z, self.task, T, mask)

        kd_term = sum(kd(z) for z in parts) / len(parts)
        return (1 - self.alpha) * ce + self.alpha * kd_term, {"kd": kd_term.detach()}


def precompute_teacher_logits(teacher, batches, out_path) -> torch.Tensor:
    """Run the teacher once over ``batches`` (dicts with ``index``) and save the logits.

    Row i of the saved tensor holds the logits of dataset row i. Valid only while the inputs
    are deterministic (no random truncation or on-the-fly augmentation); sequence-labeling
    batches must all be padded to the same length.
    """
    import torch

    from . import model_inputs

    teacher.eval()
    rows: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for batch in batches:
            logits = teacher(**model_inputs(batch)).logits.float().cpu()
            for i, idx in enumerate(batch["index"].tolist()):
                rows[int(idx)] = logits[i]
    n = max(rows) + 1
    out = torch.zeros((n, *next(iter(rows.values())).shape))
    for idx, row in rows.items():
        out[idx] = row
    torch.save(out, out_path)
    return out


def ensure_logits_file(ref: str, task: str, context: dict, out_path: str) -> None:
    """Write ``out_path`` (the teacher's logits over the training set, row i = dataset row i)
    unless it exists. ``context["teacher_batches"]()`` yields the training set's batches in a
    fixed order; the write is atomic (every process may compute it; one rename wins)."""
    import torch

    if os.path.exists(out_path):
        return
    batches = context.get("teacher_batches")
    if batches is None:
        raise TeacherError("tricks.distill.logits_file: this task gives no training batches to precompute")
    teacher = load_teacher(ref, task, context)
    accelerator = context.get("accelerator")
    device = accelerator.device if accelerator is not None else "cpu"
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = f"{out_path}.{os.getpid()}.tmp"
    with torch.no_grad():
        placed = ({k: v.to(device) for k, v in b.items()} for b in batches())
        precompute_teacher_logits(teacher, placed, tmp)
    os.replace(tmp, out_path)
