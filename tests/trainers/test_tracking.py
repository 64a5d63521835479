"""trainers.tracking: the TensorBoard tracker's accelerator arguments and hparams."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from trainers.runtime import TrainerError
from trainers.settings import typed
from trainers.tracking import tensorboard_config, tensorboard_kwargs


def test_no_tracker_unless_asked():
    assert tensorboard_kwargs(typed({"tensorboard": False}), "/run") == {}
    assert tensorboard_kwargs(typed({}), "/run") == {}


def test_the_tracker_writes_under_the_run_folder_or_is_refused_with_advice():
    """With tensorboard installed (the test extra) the tracker is accelerate's; without it, one
    line of advice instead of a failure deep in accelerate."""
    if importlib.util.find_spec("tensorboard") is not None:
        assert tensorboard_kwargs(typed({"tensorboard": True}), "/run") == {
            "log_with": "tensorboard",
            "project_dir": "/run",
        }
    else:
        with pytest.raises(TrainerError, match="pip install"):
            tensorboard_kwargs(typed({"tensorboard": True}), "/run")


def test_hparams_are_flat_and_of_accepted_types():
    # the hparams are the recorded settings tree (Settings.source, what as_dict() copies)
    tree = {"lr": 0.1, "tiny": {"hidden_size": 32, "deep": {"x": True}}, "tricks": [1, "a"], "note": None, "name": "r"}
    flat = tensorboard_config(dataclasses.replace(typed({}), source=tree))
    assert flat == {"lr": 0.1, "tiny.hidden_size": 32, "tiny.deep.x": True, "tricks": '[1, "a"]', "name": "r"}


def test_hparams_of_typed_settings_are_every_setting_flat():
    flat = tensorboard_config(typed({"lr": 0.1, "tiny": {"hidden_size": 32}, "tricks": {"r": {"w": [1, "a"]}}}))
    assert flat["lr"] == 0.1 and flat["tiny.hidden_size"] == 32 and flat["tricks.r.w"] == '[1, "a"]'
    assert flat["net.kernel_sizes"] == "2,3,4" and flat["distill_data.n_aug"] == 4
    assert all(isinstance(v, (bool, int, float, str)) for v in flat.values())
