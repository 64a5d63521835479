"""Domain errors and the exit codes the CLI maps them to.

Library code raises these; the CLI turns them into one line on stderr and the exit code
below (a traceback only with ``--debug``). The codes are documented in docs/cli.md.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    RUN_FAILED = 1  # the program exited non-zero
    USAGE = 2  # bad command line (click's own usage errors use 2 as well)
    CONFIG = 3  # missing / malformed expctl.toml, unknown or invalid setting
    NOT_FOUND = 4  # run, tag, branch or file that does not exist
    GIT = 5  # not a git repository, git refused an operation, conflicts
    CHECK_FAILED = 6  # the program succeeded but the stage check failed
    REFUSED = 7  # refused to do something unsafe without --force
    INTERNAL = 70  # a bug in expctl (EX_SOFTWARE): one line, --debug for the traceback
    INTERRUPTED = 130  # Ctrl-C / SIGTERM


class ExpctlError(Exception):
    """An error the user can act on: shown as one line, no traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ExpctlError):
    exit_code = ExitCode.USAGE


class ConfigError(ExpctlError):
    exit_code = ExitCode.CONFIG


class NotFoundError(ExpctlError):
    exit_code = ExitCode.NOT_FOUND


class GitError(ExpctlError):
    exit_code = ExitCode.GIT


class RefusedError(ExpctlError):
    exit_code = ExitCode.REFUSED
