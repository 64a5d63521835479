"""The bundled text trainer: ``python -m trainers.text [--key value ...]``.

Launch commands::

    python -m trainers.text --train_file data/train.tsv --eval_file data/dev.tsv   # CPU or one GPU
    python -m trainers.text --stage smoke --train_file data/train.tsv ...         # a stage, by hand
    python -m trainers.text --check [--key value ...]                             # validate settings only
    accelerate launch --multi_gpu --num_processes 4 -m trainers.text ...          # 4 GPUs (DDP)
    accelerate launch --multi_gpu --num_processes 2 -m trainers.text ...          # no GPU: 2 CPU processes (gloo)

(``accelerate launch --cpu`` alone starts a single process.)

Settings: ``trainers.settings.DEFAULTS`` < ``--stage NAME`` (smoke, converge, small, full; for
runs by hand) < the JSON file at ``$EXPCTL_SETTINGS`` < ``--key value`` flags (dotted keys:
``--tiny.hidden_size 32``, ``--tricks.rdrop.alpha 4``). Outputs go to ``$EXPCTL_RUN_DIR`` (or
``output_dir`` when run by hand); metrics to ``$EXPCTL_METRICS`` (or ``<output>/metrics.jsonl``).
docs/trainer.md has the reference.

``--check`` validates the settings (types, values, tricks and their combinations, and that
the data files the run will read exist) without importing torch and exits: what ``expctl run``
calls before a run exists (``project.check``).

Exit codes: 0 done, 2 a user error (one line on stderr: bad setting, data or path), 3 the
test-only ``debug_stop_after_step`` exit.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from trainers import settings as S
    from trainers.data.formats import FormatError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    check_only = "--check" in argv  # the pre-flight: validate the settings, torch-free, then stop
    argv = [a for a in argv if a != "--check"]
    try:
        env_settings = None
        path = os.environ.get("EXPCTL_SETTINGS")
        if path:
            with open(path, encoding="utf-8") as fh:
                env_settings = json.load(fh)
        stage = None
        for i, arg in enumerate(argv):  # --stage NAME: the stage's overrides, for runs by hand
            if arg == "--stage" and i + 1 < len(argv):
                stage = argv[i + 1]
                argv = argv[:i] + argv[i + 2 :]
                break
            if arg.startswith("--stage="):
                stage = arg.split("=", 1)[1]
                argv = argv[:i] + argv[i + 1 :]
                break
        settings = S.load(env_settings, argv, stage=stage)
        from trainers.tricks import check_settings  # torch-free: bad tricks fail before any work

        check_settings(settings)
        from trainers.data.splits import missing_files  # torch-free: a wrong path fails before any work

        missing = missing_files(settings)
        if missing:
            raise S.SettingsError(missing)
    except (S.SettingsError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if check_only:
        return 0
    run_dir = os.environ.get("EXPCTL_RUN_DIR") or os.path.abspath(settings.output_dir)
    metrics_path = os.environ.get("EXPCTL_METRICS") or os.path.join(run_dir, "metrics.jsonl")

    from trainers.loop import TrainerError, run
    from trainers.tricks import TrickConfigError

    if settings.distill_data.teacher:  # data distillation: label augmented data, no training
        from trainers import distill_data

        try:
            distill_data.distill(distill_data.args_from_settings(settings))
        except (FormatError, TrainerError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0

    try:
        run(settings, run_dir, metrics_path)
    except (S.SettingsError, FormatError, TrainerError, TrickConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
