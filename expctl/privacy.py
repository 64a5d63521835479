"""What a code snapshot may capture: secret-looking files stay out unless opted in.

A run's code snapshot holds the work tree's modified and untracked (not ignored) files,
and ``expctl push`` can send it anywhere. Files whose name looks like a secret (the
patterns below, configurable as ``snapshot.secret_files`` in expctl.toml) are never
captured; ``snapshot.allow_secret_files`` opts named files back in. A pattern matches
either the file's name or its path from the repository root (``fnmatch`` rules, case
sensitive).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

DEFAULT_SECRET_FILES = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*credentials*",
    "client_secret*",
    "secrets.*",
    "*.secret",
    "*.secrets",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
    ".git-credentials",
    "token.json",
    "*_token.json",
    "*-token.json",
    "*.kdbx",  # never tokenizer.json
)


def matches(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` (relative, '/'-separated) or its file name matches a pattern."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(path, p) for p in patterns)


def is_secret_file(path: str, patterns: Iterable[str] = DEFAULT_SECRET_FILES, allow: Iterable[str] = ()) -> bool:
    """A file the snapshot must not capture (unless ``allow`` names it)."""
    return matches(path, patterns) and not matches(path, allow)


def display_path(path: str) -> str:
    """A path as text that JSON and a terminal can hold: undecodable bytes become ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
