"""trainers.tracking: the TensorBoard tracker's accelerator arguments and hparams."""

from __future__ import annotations

import importlib.util

import pytest

from trainers.runtime import TrainerError
from trainers.tracking import tensorboard_config, tensorboard_kwargs


def test_no_tracker_unless_asked():
    assert tensorboard_kwargs({"tensorboard": False}, "/run") == {}
    assert tensorboard_kwargs({}, "/run") == {}


def test_the_tracker_writes_under_the_run_folder_or_is_refused_with_advice():
    """With tensorboard installed (the test extra) the tracker is accelerate's; without it, one
    line of advice instead of a failure deep in accelerate."""
    if importlib.util.find_spec("tensorboard") is not None:
        assert tensorboard_kwargs({"tensorboard": True}, "/run") == {"log_with": "tensorboard", "project_dir": "/run"}
    else:
        with pytest.raises(TrainerError, match="pip install"):
            tensorboard_kwargs({"tensorboard": True}, "/run")


def test_hparams_are_flat_and_of_accepted_types():
    flat = tensorboard_config(
        {"lr": 0.1, "tiny": {"hidden_size": 32, "deep": {"x": True}}, "tricks": [1, "a"], "note": None, "name": "r"}
    )
    assert flat == {"lr": 0.1, "tiny.hidden_size": 32, "tiny.deep.x": True, "tricks": '[1, "a"]', "name": "r"}
