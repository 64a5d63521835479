"""The opt-in TensorBoard tracker (``tensorboard = true``), through accelerate's trackers.

Events go under ``runs/<id>/tensorboard/``; :class:`trainers.runtime.Outputs` mirrors every
metrics line into the tracker. ``expctl export tensorboard`` writes the same events for any
recorded run, from its metrics alone.
"""

from __future__ import annotations

import json
from typing import Any

from trainers.runtime import TrainerError
from trainers.settings import Settings


def tensorboard_kwargs(settings: Settings, run_dir: str) -> dict[str, Any]:
    """Accelerator arguments for the tracker; {} when ``tensorboard`` is off. Refused with
    advice when the ``tensorboard`` package is missing, before any data or model work."""
    if not settings.tensorboard:
        return {}
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise TrainerError(
            "tensorboard = true needs the tensorboard package: pip install 'expctl[tensorboard]'"
        ) from None
    return {"log_with": "tensorboard", "project_dir": run_dir}


def tensorboard_config(settings: Settings) -> dict[str, Any]:
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

    for key, value in settings.as_dict().items():
        walk(f"{key}." if isinstance(value, dict) else key, value)
    return flat
