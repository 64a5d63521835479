"""Property-based tests (hypothesis): settings parsing, config validation, shell quoting
proved through bash itself, URL masking, and record round trips through git."""

from __future__ import annotations

import json
import math
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expctl import config as config_mod
from expctl import envinfo
from expctl.errors import ConfigError, UsageError
from expctl.fsutil import dumps
from expctl.gitlayer import Repo
from expctl.records import Store, new_run_id
from expctl.settings import coerce, infer_value, resolve, split_assignment
from tests.conftest import git

# text a program can receive in argv: anything but NUL (and lone surrogates, which are not text)
arg_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,10}(\.[A-Za-z_][A-Za-z0-9_\-]{0,10}){0,2}", fullmatch=True)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(keys, arg_text)
def test_assignment_splits_at_the_first_equals(key, value):
    assert split_assignment(f"{key}={value}") == (key, value)


@FAST
@given(arg_text)
def test_string_settings_keep_the_value_verbatim(value):
    assert coerce("name", value, "default") == value
    assert resolve({"name": "default", "lr": 0.1}, {}, [f"name={value}"])["name"] == value
    # an empty default means "type decided later": the value is inferred, never mangled
    got, want = resolve({"name": ""}, {}, [f"name={value}"])["name"], infer_value(value)
    assert got == want or (isinstance(want, float) and math.isnan(want) and math.isnan(got))


@FAST
@given(arg_text)
def test_inference_never_raises_and_is_typed(value):
    out = infer_value(value)
    assert out is None or isinstance(out, (bool, int, float, str, list))


@FAST
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans()))
def test_typed_values_round_trip(value):
    text = json.dumps(value) if isinstance(value, bool) else repr(value)
    default = {bool: False, int: 0, float: 0.5}[type(value)]
    got = coerce("k", text, default)
    assert got == value and type(got) is type(value)


@FAST
@given(arg_text, st.sampled_from([0, 0.5, True, [1]]))
def test_bad_typed_values_are_usage_errors(value, default):
    try:
        coerce("k", value, default)
    except UsageError:
        pass


toml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12,
)
config_keys = st.sampled_from(["project", "env", "settings", "stages", "metrics", "snapshot", "data", "other"])
project_keys = st.sampled_from(["name", "command", "pass_settings", "primary_metric", "direction", "free_form", "x"])


@FAST
@given(
    st.dictionaries(
        config_keys,
        st.one_of(
            toml_values,
            st.dictionaries(project_keys, toml_values, max_size=4),
            st.dictionaries(
                st.sampled_from(["smoke", "full"]),
                st.dictionaries(
                    st.sampled_from(["check", "settings", "requires", "converge_ratio", "expect_files", "regex"]),
                    toml_values,
                ),
            ),
        ),
        max_size=5,
    )
)
def test_config_validation_raises_only_config_errors(data):
    """Any structure a TOML file can hold: a Config or one ConfigError, never a crash."""
    data = {k: v for k, v in data.items()}
    try:
        config_mod.parse(data, Path("."))
    except ConfigError:
        pass


def bash_words(command_text: str) -> list[str]:
    out = subprocess.run(
        ["bash", "-c", "eval \"printf '%s\\\\0' $1\"", "-", command_text], capture_output=True, check=True
    ).stdout
    return [w.decode("utf-8", "surrogateescape") for w in out.split(b"\0")[:-1]]


@settings(max_examples=60, deadline=None)
@given(st.lists(arg_text, min_size=1, max_size=6))
def test_command_sh_round_trips_through_bash(argv):
    """command.sh holds shlex.join(argv): bash reads it back as exactly argv."""
    assert bash_words(shlex.join(argv)) == argv


@settings(max_examples=60, deadline=None)
@given(st.lists(arg_text, min_size=1, max_size=6))
def test_run_sh_printf_q_round_trips(argv):
    """run.sh run by hand writes command.sh with bash's printf %q: also exact."""
    quoted = subprocess.run(["bash", "-c", 'printf "%q " "$@"', "-", *argv], capture_output=True, check=True).stdout
    assert bash_words(quoted.decode("utf-8", "surrogateescape")) == argv


userinfo_chars = st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters="/?#\"'<>:@\x00\\")


@FAST
@given(
    st.text(userinfo_chars, max_size=10),
    st.text(
        st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters="/?#\"'<>\x00"),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["https", "http", "git+ssh", "s3"]),
    arg_text,
)
def test_url_passwords_are_masked(user, password, scheme, around):
    url = f"{scheme}://{user}:{password}Zq9@host.example/path"
    masked = envinfo.mask_value(f"{around} {url} {around}")
    assert f"{password}Zq9" not in masked.replace(around, "")
    assert envinfo.mask_value(masked) == masked  # idempotent


@FAST
@given(st.text(max_size=2000))
def test_masking_any_text_is_total(text):
    out = envinfo.mask_text(text, ["s3cr3t-value"])
    assert "s3cr3t-value" not in out


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(), arg_text)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(arg_text, inner, max_size=3)),
    max_leaves=15,
)


@pytest.fixture(scope="module")
def store_repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("records-roundtrip")
    git(path, "init", "-q", "-b", "main")
    (path / "f.txt").write_text("x\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "c")
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    settings_value=st.dictionaries(arg_text, json_values, max_size=5),
    name=st.one_of(st.none(), arg_text),
    status=st.sampled_from(["succeeded", "failed", "interrupted"]),
    metric=st.floats(),
)
def test_record_round_trip_through_git(store_repo, settings_value, name, status, metric):
    repo = Repo.open(store_repo)
    record = {
        "schema": 1,
        "id": new_run_id(),
        "name": name,
        "status": status,
        "started": "2026-01-01T00:00:00Z",
        "settings": settings_value,
        "metrics": {"final": {"m": metric}, "best": {}, "events": 0},
    }
    head = repo.head()
    commit = Store(repo).save(record, head)
    expected = json.loads(dumps(record))  # NaN / Inf are stored as "nan" / "inf" strings
    if isinstance(metric, float) and not math.isfinite(metric):
        assert expected["metrics"]["final"]["m"] == str(metric)
    for store in (Store(repo), Store(repo)):  # the second one reads through the records cache
        got = next(r for r in store.all() if r["id"] == record["id"])
        assert got.pop("_commit") == commit
        assert got == expected
    # and from git alone, cache gone
    (repo.common_dir / "expctl" / "records-cache.jsonl").unlink()
    got = next(r for r in Store(repo).all() if r["id"] == record["id"])
    got.pop("_commit")
    assert got == expected
    assert repo.rev_parse(f"refs/expctl/runs/{record['id']}^") == head
