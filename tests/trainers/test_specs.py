"""trainers/tricks/specs.py: what a TrickSpec declares is what parse_tricks / check_settings enforce.

Specs defined here are registered for the test (and unregistered after): each declared field
(settings and their types, choices, numbers, nonnegative, parse, tasks / why_not, check,
check_run, refuse, order) is shown to validate a good value and to refuse a bad one. Torch-free.
"""

from __future__ import annotations

import dataclasses

import pytest

from trainers.tricks import TrickConfigError, TrickSpec, check_settings, parse_tricks, register, schema, unregister
from trainers.tricks.specs import TASKS, TOKEN_TASKS, fail, no_crf

CALLS: list[tuple] = []


def _parse_pair(where, value):
    if not (isinstance(value, list) and len(value) == 2):
        raise TrickConfigError(f"{where} must be two numbers, got {value!r}")
    return [float(v) for v in value]


def _check(values, task, on, settings):
    CALLS.append(("check", task, sorted(on)))
    if values["steps"] > 5 and settings.get("max_steps") == 1:
        fail("tricks.spec_a.steps > 5 needs more than one step (a test's own check)")


def _check_run(values, settings):
    CALLS.append(("check_run", settings.get("task")))
    if settings.get("class_weights"):
        fail("tricks.spec_a does not go with class_weights (a test's own run check)")


SPEC_A = TrickSpec(
    "spec_a",
    {"weight": 1.0, "steps": 3, "flag": False, "mode": "mean", "cap": None, "pair": None},
    choices={"mode": ("mean", "max")},
    numbers=("cap",),
    nonnegative=("weight", "cap"),
    parse={"pair": _parse_pair},
    tasks=("classification", "ner"),
    why_not="tricks.spec_a is for classification and ner, not {task}",
    check=_check,
    check_run=_check_run,
    order=70,
)
SPEC_REFUSED = TrickSpec("spec_refused", refuse="tricks.spec_refused is an offline tool: run it by hand")


@pytest.fixture
def specs():
    register(SPEC_A)
    register(SPEC_REFUSED)
    CALLS.clear()
    yield
    unregister("spec_a")
    unregister("spec_refused")


def test_a_spec_is_frozen_with_the_documented_defaults():
    spec = TrickSpec("bare")
    assert spec.settings == {} and spec.choices == {} and spec.parse == {}
    assert spec.tasks == TASKS and spec.order == 100 and spec.build is None and spec.refuse == ""
    assert spec.check is None and spec.check_run is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.order = 1
    assert set(TOKEN_TASKS) <= set(TASKS)
    assert TrickSpec("x").settings is not TrickSpec("y").settings  # no shared mutable default


def test_the_main_value_defaults_and_the_off_switches(specs):
    defaults = {"weight": 1.0, "steps": 3, "flag": False, "mode": "mean", "cap": None, "pair": None}
    assert parse_tricks({"tricks": {"spec_a": "2"}}) == {"spec_a": {**defaults, "weight": 2.0}}  # the first key
    assert parse_tricks({"tricks": {"spec_a": {}}}) == {"spec_a": defaults}
    assert parse_tricks({"tricks": {"spec_a": 0}}) == {}  # main value 0: off
    assert parse_tricks({"tricks": {"spec_a": {"weight": 0, "steps": 4}}}) == {}  # in a table too
    assert parse_tricks({"tricks": {"spec_a": {"enabled": "off", "steps": 4}}}) == {}
    assert parse_tricks({"tricks": {"spec_a": None}}) == {}
    assert schema()["spec_a"] == defaults and "spec_refused" not in schema()


@pytest.mark.parametrize(
    "section, key, value",
    [
        ({"steps": "4"}, "steps", 4),
        ({"steps": 4.0}, "steps", 4),
        ({"flag": "yes"}, "flag", True),
        ({"flag": "0"}, "flag", False),
        ({"mode": "max"}, "mode", "max"),
        ({"cap": "0.5"}, "cap", 0.5),
        ({"pair": [1, "2"]}, "pair", [1.0, 2.0]),
    ],
)
def test_declared_types_coerce_good_values(specs, section, key, value):
    got = parse_tricks({"tricks": {"spec_a": section}})["spec_a"]
    assert got[key] == value and type(got[key]) is type(value)


@pytest.mark.parametrize(
    "section, message",
    [
        ({"steps": "2.5"}, "tricks.spec_a.steps must be an integer, got '2.5'"),
        ({"steps": "many"}, "tricks.spec_a.steps must be an integer"),
        ({"flag": "maybe"}, "tricks.spec_a.flag must be true or false, got 'maybe'"),
        ({"mode": "median"}, "tricks.spec_a.mode must be one of mean, max, got 'median'"),
        ({"cap": "x"}, "tricks.spec_a.cap must be a number, got 'x'"),
        ({"cap": -1}, "tricks.spec_a.cap must be >= 0, got -1.0"),
        ({"weight": -0.5}, "tricks.spec_a.weight must be >= 0, got -0.5"),
        ({"pair": [1]}, "tricks.spec_a.pair must be two numbers, got \\[1\\]"),
        ({"wieght": 1}, "unknown setting tricks.spec_a.wieght \\(did you mean 'weight'\\?\\); known: enabled, weight"),
        ({"enabled": "perhaps"}, "tricks.spec_a.enabled must be true or false"),
    ],
)
def test_declared_settings_refuse_bad_values(specs, section, message):
    with pytest.raises(TrickConfigError, match=message):
        parse_tricks({"tricks": {"spec_a": section}})


def test_a_refused_name_gives_its_advice(specs):
    with pytest.raises(TrickConfigError, match="^tricks.spec_refused is an offline tool: run it by hand$"):
        parse_tricks({"tricks": {"spec_refused": {}}})
    with pytest.raises(TrickConfigError, match="is an offline tool"):
        parse_tricks({"tricks": {"spec_refused": None}})  # refused even when switched off


def test_tasks_check_and_check_run_are_called_with_what_they_declare(specs):
    check_settings({"task": "ner", "tricks": {"spec_a": 1, "rdrop": 1}})
    assert CALLS == [("check_run", "ner"), ("check", "ner", ["rdrop", "spec_a"])]
    with pytest.raises(TrickConfigError, match="^tricks.spec_a is for classification and ner, not pair$"):
        check_settings({"task": "pair", "tricks": {"spec_a": 1}})
    with pytest.raises(TrickConfigError, match="a test's own check"):
        check_settings({"task": "classification", "max_steps": 1, "tricks": {"spec_a": {"steps": 6}}})
    check_settings({"task": "classification", "max_steps": 2, "tricks": {"spec_a": {"steps": 6}}})
    CALLS.clear()
    # the run check comes before the task checks: it is the one reported for task=pair too
    with pytest.raises(TrickConfigError, match="a test's own run check"):
        check_settings({"task": "pair", "class_weights": "balanced", "tricks": {"spec_a": 1}})
    assert CALLS == [("check_run", "pair")]
    CALLS.clear()
    check_settings({"task": "pair", "tricks": {"spec_a": 0}})  # off: no check runs
    assert CALLS == []


def test_fail_and_no_crf():
    with pytest.raises(TrickConfigError, match="^why$"):
        fail("why")
    assert issubclass(TrickConfigError, ValueError)
    check = no_crf("mixup")
    assert check({}, {"crf": False}) is None and check({}, {}) is None
    with pytest.raises(TrickConfigError, match="tricks.mixup replaces or mixes the per-token loss; with crf=true"):
        check({}, {"crf": True})


def test_hooks_are_built_in_the_declared_order(specs):
    pytest.importorskip("torch")
    from trainers.tricks import build_tricks

    built = []

    def builder(name):
        def build(values, tricks):
            built.append(name)
            return object()

        return build

    first = TrickSpec("spec_z", {"w": 1.0}, order=5, build=builder("spec_z"))
    last = TrickSpec("spec_b", {"w": 1.0}, order=95, build=builder("spec_b"))
    register(last)
    register(first)
    try:
        ts = build_tricks({"tricks": {"spec_b": 1, "rdrop": 1, "spec_z": 1}}, "classification", 3)
        assert built == ["spec_z", "spec_b"]
        assert list(ts.hooks) == ["spec_z", "rdrop", "spec_b"]  # 5 < rdrop's 40 < 95
    finally:
        unregister("spec_b")
        unregister("spec_z")
