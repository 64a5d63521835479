import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expctl.errors import ConfigError, UsageError
from expctl.settings import coerce, flatten, infer_value, resolve, split_assignment, unflatten

DEFAULTS = {
    "lr": 3e-5,
    "epochs": 3,
    "name": "x",
    "fp16": False,
    "layers": [1, 2],
    "model": {"hidden": 64, "dropout": 0.1},
    "tricks": {},
}


def test_precedence_defaults_stage_cli():
    out = resolve(DEFAULTS, {"epochs": 10, "model": {"hidden": 32}}, ["epochs=20", "model.dropout=0.3"])
    assert out["epochs"] == 20 and out["model"] == {"hidden": 32, "dropout": 0.3} and out["lr"] == 3e-5


def test_types_follow_default():
    out = resolve(DEFAULTS, {}, ["lr=1", "name=123", "fp16=true", "layers=[3,4]", "epochs=7"])
    assert out["lr"] == 1.0 and isinstance(out["lr"], float)
    assert out["name"] == "123"
    assert out["fp16"] is True
    assert out["layers"] == [3, 4]
    assert out["epochs"] == 7 and isinstance(out["epochs"], int)


def test_inferred_types_for_free_form_keys():
    out = resolve(
        DEFAULTS, {}, ["tricks.rdrop.alpha=4", "tricks.fgm.on=yes", "tricks.name=a,b", "tricks.l=[1, 2.5, x]"]
    )
    assert out["tricks"] == {"rdrop": {"alpha": 4}, "fgm": {"on": True}, "name": "a,b", "l": [1, 2.5, "x"]}


def test_unknown_key_did_you_mean():
    with pytest.raises(ConfigError, match=r"unknown setting 'epoch'.*did you mean 'epochs'"):
        resolve(DEFAULTS, {}, ["epoch=3"])
    with pytest.raises(ConfigError, match="did you mean 'model.dropout'"):
        resolve(DEFAULTS, {}, ["model.dropuot=0.2"])


def test_free_form_patterns():
    out = resolve({"a": 1}, {}, ["extra.x=1"], free_form=["extra.*"])
    assert out["extra"] == {"x": 1}


@pytest.mark.parametrize("bad", ["noequals", "=3", "a..b=1", "1a=2", "a b=3"])
def test_invalid_assignment_syntax(bad):
    with pytest.raises(UsageError):
        split_assignment(bad)


def test_bad_typed_values():
    with pytest.raises(UsageError, match="not an integer"):
        resolve(DEFAULTS, {}, ["epochs=2.5"])
    with pytest.raises(UsageError, match="not a boolean"):
        resolve(DEFAULTS, {}, ["fp16=maybe"])
    with pytest.raises(UsageError, match="NUL"):
        split_assignment("name=a\x00b")


def test_table_cannot_be_overwritten_by_scalar():
    with pytest.raises(UsageError, match="is a table"):
        resolve(DEFAULTS, {}, ["model=3"])


@given(st.text(min_size=0, max_size=200).filter(lambda s: "\x00" not in s))
def test_string_default_keeps_any_text_verbatim(text):
    out = resolve({"name": "x"}, {}, [f"name={text}"])
    assert out["name"] == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_int_roundtrip(n):
    assert infer_value(str(n)) == n and coerce("k", str(n), 0) == n


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_roundtrip(x):
    assert coerce("k", repr(x), 0.5) == x


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True),
        st.one_of(st.integers(), st.text(max_size=5), st.booleans()),
        max_size=6,
    )
)
def test_flatten_unflatten_roundtrip(d):
    nested = {"t": d, "top": 1}
    assert unflatten(flatten(nested)) == (nested if d else {"t": {}, "top": 1})


def test_nan_inf_inferred():
    assert math.isinf(infer_value("inf")) and math.isnan(infer_value("nan"))
