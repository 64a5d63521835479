"""The training loop: data -> model -> AdamW/warmup/linear decay under accelerate -> outputs.

Outputs (docs/program-interface.md): metrics.jsonl (train_* every log_steps, eval_* at eval
steps and the end), metrics.json (final, flat), predictions.jsonl (dev predictions),
checkpoints.json, and under ``checkpoints/``: ``step-N/`` (accelerate ``save_state``: model,
optimizer, scheduler, RNG, loop state - what ``resume`` needs), ``best/`` and ``last/``
(Hugging Face folders: ``save_pretrained`` model + tokenizer). Only the main process writes.

Host syncs: the running loss stays on the device; ``.item()`` happens at log steps only.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from typing import Any

import torch
import torch.nn.functional as F

from trainers.checkpoints import (  # noqa: F401 - STATE_MARKER, complete_checkpoints: re-exported
    STATE_MARKER,
    Checkpoints,
    LoopState,
    complete_checkpoints,
    link_last_to_best,
    expctl_show,
    find_resume,
)
from trainers.data import formats, sampling
from trainers.data.pipeline import (
    EpochSampler,
    LengthSortedSampler,
    encode,
    label_space,
    make_collate,
)
from trainers.metrics import classification_metrics, multilabel_metrics, ner_metrics
from trainers.optim import adamw, linear_schedule, plan_steps, resume_plan
from trainers.updates import train_updates
from trainers.settings import SettingsError, primary_metric, resolve_lr


class TrainerError(RuntimeError):
    """A user-facing failure (bad path, unresolvable init_from, ...): one line, exit 2."""


class Outputs:
    """Files of the run; every write is a no-op off the main process."""

    def __init__(self, run_dir: str, metrics_path: str, is_main: bool):
        self.run_dir = run_dir
        self.metrics_path = metrics_path
        self.is_main = is_main
        self.tracker = None  # the Accelerator when TensorBoard tracking is on
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


# --------------------------------------------------------------------------- helpers


def tensorboard_kwargs(settings: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """Accelerator arguments for the opt-in TensorBoard tracker (events under
    ``runs/<id>/tensorboard/``); {} when ``tensorboard`` is off. Refused with advice when
    the ``tensorboard`` package is missing, before any data or model work."""
    if not settings.get("tensorboard"):
        return {}
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise TrainerError("tensorboard = true needs the tensorboard package: pip install 'expctl[tensorboard]'") from None
    return {"log_with": "tensorboard", "project_dir": run_dir}


def tensorboard_config(settings: dict[str, Any]) -> dict[str, Any]:
    """The run's settings as TensorBoard hparams: flat, and only the types it accepts."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v) if isinstance(v, dict) else walk(f"{prefix}{k}", v)
        elif isinstance(value, (bool, int, float, str)):
            flat[prefix] = value
        elif value is not None:
            flat[prefix] = json.dumps(value, default=str)

    for key, value in settings.items():
        walk(f"{key}." if isinstance(value, dict) else key, value)
    return flat



def _project_root() -> str:
    return os.environ.get("EXPCTL_PROJECT_ROOT") or os.getcwd()


def _data_path(p: str) -> str:
    return p if os.path.isabs(p) else os.path.join(_project_root(), p)


def _cache_dir(settings) -> str:
    if settings["cache_dir"]:
        return _data_path(settings["cache_dir"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "expctl", "trainer")


def resolve_init_from(ref: str) -> str:
    """A folder path is used as is; otherwise ``expctl show REF --json`` -> checkpoints.best."""
    cand = _data_path(ref)
    if os.path.isdir(cand):
        return cand
    best = (expctl_show(ref, "init_from").get("checkpoints") or {}).get("best")
    if not best or not os.path.isdir(best):
        raise TrainerError(f"init_from={ref!r}: run has no best checkpoint on this machine ({best!r})")
    return best


def read_split(settings, which: str, out: Outputs):
    k = int(settings.get("num_folds") or 0)
    if not settings[f"{which}_file"] and not (k and which == "eval"):
        raise TrainerError(f"{which}_file is not set")
    path = _data_path(settings["train_file" if k else f"{which}_file"])
    task = settings["task"]
    limit = int(settings[f"max_{which}_samples"])
    opts = {k: settings[k] for k in ("format", "text_column", "text_pair_column", "label_column", "tokens_column",
                                     "tags_column", "has_header", "delimiter", "label_separator", "skip_malformed")}
    reports: list[formats.ReadReport] = []

    def make_iter():
        rep = formats.ReadReport()
        reports.append(rep)
        return formats.iter_examples(path, task, report=rep, **opts)

    label_of = (lambda ex: ex.label) if task in ("classification", "pair") else None
    seed = int(settings["seed"]) + (0 if which == "train" else 1)
    if k:
        # k-fold: both splits come from train_file; the fold assignment is seeded by fold_seed only
        path = _data_path(settings["train_file"])
        every = list(make_iter())
        folds = sampling.fold_assignment(every, k, int(settings.get("fold_seed") or 0), label_of)
        fold = int(settings["fold"])
        part = [ex for ex, f in zip(every, folds) if (f == fold) == (which == "eval")]
        examples, how, counts = sampling.sample(lambda: iter(part), limit, seed, label_of)
        how = f"fold {fold} of {k} ({'held out' if which == 'eval' else 'the other folds'}): {how}"
    else:
        examples, how, counts = sampling.sample(make_iter, limit, seed, label_of)
    if not examples:
        raise TrainerError(f"{which}_file {path}: no examples")
    if task == "multilabel":
        counts = Counter(lab for ex in examples for lab in ex.labels)
    elif task == "ner":
        counts = Counter(t[2:] for ex in examples for t in ex.tags if t.startswith("B-"))
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
    more = f" (+{len(counts) - 20} more)" if len(counts) > 20 else ""
    kind = {"multilabel": "label occurrences", "ner": "entities"}.get(task, "labels")
    out.log(f"{which}: {os.path.relpath(path, _project_root()) if path.startswith(_project_root()) else path}: {how}; "
            f"{kind}: {shown}{more}")
    rep = reports[-1]
    if rep.layout is not None:
        out.log(f"{which}: columns: {rep.layout.describe()}")
    if task in ("classification", "pair") and (limit <= 0 or how.startswith("all ")):
        single = sorted(lab for lab, c in counts.items() if c == 1)
        if single:
            out.log(f"WARNING: {which}: class(es) seen in a single example: {', '.join(map(repr, single[:10]))} "
                    "(a header row read as data? a typo in a label?)")
    if rep.skipped:
        first = "; ".join(f"line {ln}: {why}" for ln, why in rep.skipped_lines[:3])
        out.log(f"{which}: skipped {rep.skipped} malformed line(s) ({first})")
    return examples


def _save_hf(accelerator, model, tokenizer, dest: str) -> None:
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


# --------------------------------------------------------------------------- the run


def run(settings: dict[str, Any], run_dir: str, metrics_path: str) -> dict[str, float]:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    from trainers.modeling import (
        build_tiny_model,
        folder_labels,
        load_folder_model,
        tiny_tokenizer_cached,
    )
    from trainers.tricks import (
        build_tricks,
        long_text_settings,
        model_inputs,
        parse_tricks,
    )

    task = settings["task"]
    parse_tricks(settings)  # fail fast on an unknown trick or key, before reading any data
    use_cuda = torch.cuda.is_available() and not settings["cpu"]
    mp = settings["mixed_precision"]
    mp_note = None
    if mp == "fp16" and not use_cuda:
        mp_note = ("mixed_precision=fp16 does nothing on a CPU (accelerate ignores it): training in fp32. "
                   "Use mixed_precision=bf16 for reduced precision on a CPU.")
        mp = "no"
    tracking = tensorboard_kwargs(settings, run_dir)
    accelerator = Accelerator(cpu=not use_cuda, mixed_precision=mp,
                              gradient_accumulation_steps=int(settings["grad_accum_steps"]), **tracking)
    out = Outputs(run_dir, metrics_path, accelerator.is_main_process)
    if tracking:
        accelerator.init_trackers("tensorboard", config=tensorboard_config(settings))
        out.tracker = accelerator
    nproc = accelerator.num_processes
    out.log(f"task {task}; device {accelerator.device}; processes {nproc}; mixed precision {mp}; "
            f"torch threads {torch.get_num_threads()}")
    if mp_note:
        out.log(mp_note)
    set_seed(int(settings["seed"]))
    cache_dir = _cache_dir(settings)
    # resolve `resume` before any data or model work: a bad ref fails fast
    resume_from = find_resume(settings["resume"], os.path.join(run_dir, "checkpoints"), out) \
        if settings["do_train"] else None
    if task in ("seq2seq", "span"):
        from trainers import autobatch

        if settings.get("tricks") and task == "span":
            raise TrainerError("tricks are not supported for task=span yet (seq2seq has R-Drop, FGM, PGD, "
                               "focal loss, label smoothing and SWA)")
        mod = __import__(f"trainers.{task}", fromlist=["run"])

        def batch_size_fn(model, train_ds, collate):
            return autobatch.resolve(settings, accelerator, model, train_ds, collate, out)

        metrics = mod.run(settings, run_dir, metrics_path, accelerator, out, batch_size_fn, resume_from)
        accelerator.end_training()
        return metrics

    # ---- data
    train_ex = read_split(settings, "train", out) if settings["do_train"] else []
    eval_ex = read_split(settings, "eval", out)

    # ---- model + tokenizer
    source = settings["init_from"] or (settings["model"] if settings["model"] != "tiny" else "")
    if source:
        folder = resolve_init_from(source) if settings["init_from"] else _data_path(source)
        if not os.path.isdir(folder):
            raise TrainerError(f"model {source!r}: no such folder (model must be 'tiny' or a local HF model folder)")
        labels = label_space(task, train_ex, eval_ex, fixed=settings["labels"])
        stored = folder_labels(folder)
        if stored and set(stored) >= set(labels):
            labels = stored  # keep the folder's head (warm start / eval of a checkpoint)
        model, tokenizer = load_folder_model(folder, task, labels, settings["dropout"])
        what = "warm start from" if settings["init_from"] else "model"
        out.log(f"{what} {folder} ({type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} "
                f"parameters; head {'kept' if stored == labels else 're-initialised'})")
    else:
        if not train_ex:
            raise TrainerError("model=tiny builds its vocabulary from the training data: set do_train or init_from")
        labels = label_space(task, train_ex, eval_ex, fixed=settings["labels"])
        tokenizer, how = tiny_tokenizer_cached(train_ex, settings["tiny"], cache_dir, accelerator.is_main_process,
                                               accelerator.wait_for_everyone)
        model = build_tiny_model(task, labels, tokenizer, settings["tiny"], int(settings["max_seq_length"]),
                                 settings["dropout"])
        out.log(f"model tiny BERT ({settings['tiny']['num_layers']} layers x {settings['tiny']['hidden_size']}, "
                f"{sum(p.numel() for p in model.parameters()):,} parameters; vocabulary {len(tokenizer)} "
                f"{how} from the training data)")
    label2id = {lab: i for i, lab in enumerate(labels)}
    for ex in train_ex + eval_ex:
        names = ex.labels if task == "multilabel" else ex.tags if task == "ner" else [ex.label]
        for n in names:
            if n not in label2id:
                raise TrainerError(f"label {n!r} (line {ex.line}) is not in the label set {labels}")

    # ---- tokenize once (main process first; the others read its cache)
    max_len = int(settings["max_seq_length"])
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions and max_len > positions:
        out.log(f"max_seq_length {max_len} > the model's {positions} positions: using {positions}")
        max_len = positions
    long_text = long_text_settings(settings)
    if long_text is not None:
        if task not in ("classification", "multilabel"):
            raise TrainerError(f"tricks.long_text is for single-text tasks (classification, multilabel), not {task}")
        if long_text.get("strategy") == "windows":
            raise TrainerError("tricks.long_text.strategy=windows is not supported by the bundled trainer yet; "
                               "use head_tail, head or tail")
        from trainers.data.pipeline import _head_tail

        h, t = _head_tail(long_text, max_len)
        out.log(f"long text: keeping the first {h} and last {t} tokens of longer inputs (tricks.long_text)")
    with accelerator.main_process_first():
        t0 = time.perf_counter()
        train_ds, how_tr = encode(train_ex, tokenizer, task, label2id, max_len, cache_dir,
                                  write_cache=accelerator.is_main_process,
                                  long_text=long_text) if train_ex else (None, "-")
        eval_ds, how_ev = encode(eval_ex, tokenizer, task, label2id, max_len, cache_dir,
                                 write_cache=accelerator.is_main_process, long_text=long_text)
    out.log(f"data: train {how_tr}, eval {how_ev} ({time.perf_counter() - t0:.1f}s; cache {cache_dir})")
    collate = make_collate(tokenizer.pad_token_id, task)
    ebs = int(settings["eval_batch_size"])
    if settings["do_train"]:
        from trainers import autobatch

        bs = autobatch.resolve(settings, accelerator, model, train_ds, collate, out)
    else:
        bs = 32 if settings["batch_size"] == "auto" else int(settings["batch_size"])
    eval_dl = torch.utils.data.DataLoader(eval_ds, batch_size=ebs, sampler=LengthSortedSampler(eval_ds.lengths),
                                          collate_fn=collate, num_workers=int(settings["num_workers"]),
                                          generator=torch.Generator().manual_seed(0))

    metric_name = primary_metric(settings)
    state = LoopState()
    ckpts = Checkpoints(accelerator, out, run_dir, state, metric_name, int(settings["keep_last"]))
    ckpt_root = ckpts.root

    # ---- evaluation
    def evaluate(mdl) -> tuple[dict[str, float], list[dict] | None]:
        mdl.eval()
        parts: list[tuple] = []
        with torch.no_grad():
            for batch in eval_dl:
                logits = mdl(**model_inputs(batch)).logits.float()
                labels_t = batch["labels"]
                if task == "ner":
                    tok = F.cross_entropy(logits.transpose(1, 2), labels_t, reduction="none", ignore_index=-100)
                    valid = (labels_t != -100)
                    per = tok.sum(1) / valid.sum(1).clamp(min=1)
                    preds = torch.where(valid, logits.argmax(-1), torch.full_like(labels_t, -100))
                    preds = accelerator.pad_across_processes(preds, dim=1, pad_index=-100)
                    # the raw scores too: a word's first sub-token's logits go into its prediction row
                    scores = accelerator.pad_across_processes(logits, dim=1, pad_index=0)
                    g = accelerator.gather_for_metrics((batch["index"], per, preds, scores))
                elif task == "multilabel":
                    per = F.binary_cross_entropy_with_logits(logits, labels_t.float(), reduction="none").mean(-1)
                    g = accelerator.gather_for_metrics((batch["index"], per, torch.sigmoid(logits), logits))
                else:
                    per = F.cross_entropy(logits, labels_t, reduction="none")
                    g = accelerator.gather_for_metrics((batch["index"], per, logits))
                parts.append(tuple(t.cpu() for t in g))
        mdl.train()
        idx = torch.cat([p[0] for p in parts]).tolist()
        losses = torch.cat([p[1] for p in parts])
        if task == "ner":
            width = max(p[2].shape[1] for p in parts)
            outs = torch.cat([F.pad(p[2], (0, width - p[2].shape[1]), value=-100) for p in parts])
            scores = torch.cat([F.pad(p[3], (0, 0, 0, width - p[3].shape[1])) for p in parts])
        else:
            outs = torch.cat([p[2] for p in parts])
            scores = torch.cat([p[3] for p in parts]) if task == "multilabel" else None
        first: dict[int, int] = {}
        for row, i in enumerate(idx):
            first.setdefault(i, row)
        if len(first) != len(idx) or len(first) != len(eval_ex):
            out.log(f"WARNING: eval gathered {len(idx)} rows for {len(first)} distinct of {len(eval_ex)} samples")
        order = [first[i] for i in range(len(eval_ex)) if i in first]
        losses, outs = losses[order], outs[order]
        if scores is not None:
            scores = scores[order]
        exs = [eval_ex[i] for i in range(len(eval_ex)) if i in first]
        preds_out: list[dict] = []
        if task in ("classification", "pair"):
            logit_rows = outs
            outs = torch.softmax(outs, -1)
            pred_ids = outs.argmax(-1).tolist()
            y_pred = [labels[p] for p in pred_ids]
            m = classification_metrics([ex.label for ex in exs], y_pred, labels)
            for k, (ex, p) in enumerate(zip(exs, y_pred)):
                probs = outs[k].tolist()
                # raw logits (in label order) let `expctl ensemble` average runs without reloading models
                preds_out.append({"index": k, "text": ex.text, "text_pair": ex.text_pair, "label": ex.label, "pred": p,
                                  "confidence": round(max(probs), 6),
                                  "probs": {lab: round(v, 6) for lab, v in zip(labels, probs)},
                                  "logits": [float(v) for v in logit_rows[k].tolist()]})
        elif task == "multilabel":
            pred_sets = [[labels[j] for j, v in enumerate(row) if v >= 0.5] for row in outs.tolist()]
            m = multilabel_metrics([ex.labels for ex in exs], pred_sets, labels)
            for k, (ex, ps) in enumerate(zip(exs, pred_sets)):
                # raw logits in label order (sigmoid >= 0.5 predicts a label): for `expctl ensemble`
                preds_out.append({"index": k, "text": ex.text, "labels": ex.labels, "pred_labels": ps,
                                  "probs": {lab: round(v, 6) for lab, v in zip(labels, outs[k].tolist())},
                                  "logits": [float(v) for v in scores[k].tolist()]})
        else:
            y_true, y_pred = [], []
            for k, ex in enumerate(exs):
                row = outs[k]
                word_preds = [labels[int(v)] for v in row[row != -100].tolist()]
                word_preds = (word_preds + ["O"] * len(ex.tags))[:len(ex.tags)]  # truncated words: O
                y_true.append(ex.tags)
                y_pred.append(word_preds)
                # per word: the logits of its first sub-token in tag_names order (null: a word cut off by
                # max_seq_length, predicted O) - what `expctl ensemble` averages
                word_logits = [[round(v, 6) for v in w] for w in scores[k][row != -100].tolist()]
                word_logits = (word_logits + [None] * len(ex.tags))[:len(ex.tags)]
                preds_out.append({"index": k, "tokens": ex.tokens, "tags": ex.tags, "pred_tags": word_preds,
                                  "tag_names": list(labels), "word_logits": word_logits})
            m = ner_metrics(y_true, y_pred)
        m["loss"] = float(losses.mean()) if len(losses) else float("nan")
        return {f"eval_{k}": (v if isinstance(v, int) else float(v)) for k, v in m.items()}, preds_out

    def consider_best(mdl, metrics: dict[str, float]) -> None:
        if metric_name not in metrics:
            raise SettingsError(f"metric_for_best {metric_name!r} is not an eval metric "
                                f"(have: {', '.join(sorted(metrics))})")
        value = metrics[metric_name]
        if state.best_metric is None or value > state.best_metric:
            state.best_metric, state.best_step = value, state.global_step
            _save_hf(accelerator, mdl, tokenizer, os.path.join(ckpt_root, "best"))
            out.log(f"new best {metric_name} {value:.4f} at step {state.global_step}: saved checkpoints/best")
            ckpts.write_manifest()

    # ---- eval only
    if not settings["do_train"]:
        model = accelerator.prepare(model)
        eval_dl = accelerator.prepare(eval_dl)
        metrics, preds = evaluate(model)
        out.metrics(0, **metrics)
        _finish(out, metrics, preds, {}, metric_name)
        return metrics

    # ---- optimisation
    lr = resolve_lr(settings)
    if settings["lr"] == "auto":
        out.resolved(lr=lr)
    optimizer = adamw(model, settings, lr, accelerator.device.type)
    sampler = EpochSampler(train_ds.lengths, bs, int(settings["seed"]), bool(settings["group_by_length"]))
    # a private generator: creating a loader iterator must not draw from the global RNG (dropout),
    # or a resumed run (which creates one more iterator) would see different dropout masks
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=bs, sampler=sampler, collate_fn=collate,
                                           num_workers=int(settings["num_workers"]),
                                           generator=torch.Generator().manual_seed(int(settings["seed"])))
    model, optimizer, train_dl, eval_dl = accelerator.prepare(model, optimizer, train_dl, eval_dl)
    ga = int(settings["grad_accum_steps"])
    plan = plan_steps(settings, len(train_dl))
    steps_per_epoch, total, n_epochs, warmup = plan.steps_per_epoch, plan.total, plan.epochs, plan.warmup
    scheduler = linear_schedule(optimizer, total, warmup)
    ckpts.register(scheduler)
    tricks = build_tricks(settings, task=task, num_labels=len(labels), context={
        "accelerator": accelerator, "optimizer": optimizer, "total_steps": total, "tokenizer": tokenizer,
        "label_names": labels, "run_dir": run_dir, "model_source": source or "tiny",
    })
    if hasattr(tricks, "bind_optimizer"):
        tricks.bind_optimizer(optimizer)
    describe = tricks.describe() if hasattr(tricks, "describe") else "none"
    out.log(f"train: {len(train_ds)} examples, batch {bs} x {nproc} process(es) x {ga} accumulation, "
            f"{steps_per_epoch} updates/epoch, {total} updates ({n_epochs} epochs), lr {lr:g}, warmup {warmup}, "
            f"group_by_length {bool(settings['group_by_length'])}; tricks: {describe} "
            f"({getattr(tricks, 'passes_per_sample', 1.0):g} forward/backward passes per sample)")

    # ---- resume (the checkpoint was found before the data was read)
    ckpts.plan = resume_plan(settings, bs, nproc, plan)
    start_epoch, skip_batches = ckpts.restore(resume_from, steps_per_epoch, ga)

    # ---- train
    def evaluate_mid(mdl, step: int) -> None:
        metrics, _ = evaluate(mdl)
        out.metrics(step, step / steps_per_epoch, **metrics)
        progress.write(f"eval step {step}: " + _fmt(metrics), out)
        consider_best(mdl, metrics)

    progress = _Progress(total, state.global_step, enabled=accelerator.is_main_process and sys.stdout.isatty())
    timing = train_updates(settings=settings, accelerator=accelerator, out=out, model=model, optimizer=optimizer,
                           scheduler=scheduler, train_dl=train_dl, sampler=sampler, plan=plan, state=state,
                           ckpts=ckpts, step_fn=lambda mdl, batch: tricks.train_step(mdl, batch, accelerator),
                           tricks=tricks, evaluate_mid=evaluate_mid, start_epoch=start_epoch,
                           skip_batches=skip_batches, progress=progress)

    # ---- end: finalize, evaluate, save
    model = tricks.finalize(model)
    metrics, preds = evaluate(model)
    out.metrics(state.global_step, state.global_step / steps_per_epoch, **metrics)
    out.log(f"final eval step {state.global_step}: " + _fmt(metrics))
    consider_best(model, metrics)
    _save_hf(accelerator, model, tokenizer, os.path.join(ckpt_root, "last"))
    if accelerator.is_main_process:
        link_last_to_best(ckpt_root, out)
    ckpts.save()
    extra = {"train_runtime_s": round(timing.train_time, 3), "train_steps": state.global_step}
    if timing.samples_per_s(nproc) is not None:
        extra["train_samples_per_s"] = timing.samples_per_s(nproc)
    if state.last_train_loss is not None:
        extra["train_loss"] = state.last_train_loss
    _finish(out, metrics, preds, extra, metric_name, best=(state.best_metric, state.best_step))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


def _fmt(metrics: dict[str, float]) -> str:
    names = ("eval_loss", "eval_accuracy", "eval_f1_macro", "eval_f1_micro", "eval_entity_f1")
    keys = [k for k in names if k in metrics]
    return " | ".join(f"{k[5:]} {metrics[k]:.4f}" for k in keys)


def _finish(out: Outputs, metrics, preds, extra, metric_name, best=None) -> None:
    final = dict(metrics)
    final.update(getattr(out, "final_extra", None) or {})
    final.update(extra)
    if best and best[0] is not None:
        final[f"best_{metric_name}"] = best[0]
        final["best_step"] = best[1]
    out.write_json("metrics.json", {k: v for k, v in final.items() if isinstance(v, (int, float))})
    if out.is_main and preds is not None:
        path = os.path.join(out.run_dir, "predictions.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            for p in preds:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
        os.replace(path + ".tmp", path)
    out.log(f"wrote metrics.json, predictions.jsonl ({len(preds or [])} dev predictions) to {out.run_dir}")


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise (log lines carry the information)."""

    def __init__(self, total: int, start: int, enabled: bool):
        self.bar = None
        if enabled:
            try:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TimeRemainingColumn,
                )

                self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                    TimeRemainingColumn())
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
