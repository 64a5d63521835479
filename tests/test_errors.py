"""expctl.errors: each domain error carries the exit code the CLI maps it to."""

from __future__ import annotations

import pytest

from expctl.errors import ConfigError, ExitCode, ExpctlError, GitError, NotFoundError, RefusedError, UsageError


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (UsageError, 2),
        (ConfigError, 3),
        (NotFoundError, 4),
        (GitError, 5),
        (RefusedError, 7),
    ],
)
def test_each_error_class_has_its_documented_exit_code(cls, code):
    err = cls("something went wrong")
    assert isinstance(err, ExpctlError)
    assert int(err.exit_code) == code
    assert str(err) == "something went wrong"


def test_an_explicit_exit_code_overrides_the_class_default_for_that_instance_only():
    err = GitError("disk full", exit_code=ExitCode.CHECK_FAILED)
    assert err.exit_code is ExitCode.CHECK_FAILED
    assert GitError("again").exit_code is ExitCode.GIT


def test_exit_codes_are_distinct_and_include_the_shell_conventions():
    values = [int(c) for c in ExitCode]
    assert len(values) == len(set(values))
    assert ExitCode.INTERRUPTED == 130 and ExitCode.INTERNAL == 70 and ExitCode.OK == 0
